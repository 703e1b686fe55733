"""One engine's side of the benchmark, run in its own process by ``micrograd_fast.bench``.

``python -m micrograd_fast.bench --worker ENGINE --check`` prints the engine's
checksums on the small instance; ``--worker ENGINE --time W1,W2,...`` prints its
timings. The answer is one JSON object on stdout; an engine that cannot be
imported answers ``{"missing": "why"}`` instead.

Everything runs in a thread with a 512 MiB stack and a raised recursion limit:
Karpathy's micrograd sorts the graph recursively, one level per node of depth.
"""

import gc
import json
import os
import sys
import threading
from contextlib import contextmanager
from time import perf_counter_ns

from . import _peers
from ._workloads import (CHECK_SIZES, ReplayedTraining, build_forward, checksums, deep_chain,
                         fill_products, forward_plan, moons, new_model, op_calls, product_leaves,
                         training_step)

STACK_BYTES = 512 * 2**20
RECURSION_LIMIT = 10**6
WARMUP = 1  # untimed runs before the timed ones, per workload


@contextmanager
def collector_off():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def time_forward(backend, sizes, repeat):
    """W1: build the graph; it is freed after the clock stops."""
    leaf_values, chains = forward_plan(sizes)
    leaves = [backend.Value(v) for v in leaf_values]
    samples = []
    for _ in range(WARMUP + repeat):
        with collector_off():
            start = perf_counter_ns()
            graph = build_forward(backend, leaves, chains)
            samples.append(perf_counter_ns() - start)
        del graph
        gc.collect()
    return samples[WARMUP:], op_calls(sizes)


def time_backward(backend, sizes, repeat):
    """W2: ``backward()`` on a freshly built W1 graph."""
    leaf_values, chains = forward_plan(sizes)
    leaves = [backend.Value(v) for v in leaf_values]
    samples = []
    for _ in range(WARMUP + repeat):
        with collector_off():
            _, root = build_forward(backend, leaves, chains)
            start = perf_counter_ns()
            root.backward()
            samples.append(perf_counter_ns() - start)
        del root
        gc.collect()
    return samples[WARMUP:], op_calls(sizes)


def time_deep_chain(backend, sizes, repeat):
    """W3: forward, backward and freeing (the collection included) of the deep chain."""
    samples = []
    for _ in range(WARMUP + repeat):
        gc.collect()
        with collector_off():
            start = perf_counter_ns()
            deep_chain(backend, sizes.deep_steps)
            samples.append(perf_counter_ns() - start)
    return samples[WARMUP:], sizes.deep_steps


def time_training(backend, sizes, repeat, as_users_run_it, variant="W4"):
    """W4 (micrograd's graph), W4F (fused neuron), W4R (replayed graph): one sample per step.

    Collector off: the step runs with gc disabled and its graph is freed (and
    collected) after the clock stops. As users run it: gc stays on and the previous
    step's graph is freed inside the step, when the loss is rebound, as in a loop.
    A replayed graph is never freed: it is the same graph every step.
    """
    X, y = moons(sizes.points)
    model = new_model(backend, fused=variant != "W4")
    if variant == "W4R":
        step = ReplayedTraining(backend, model, X, y).step
    else:
        def step(k):
            return training_step(backend, model, X, y, k)
    gc.collect()
    samples = []
    loss = None
    for k in range(WARMUP + repeat):
        if as_users_run_it:
            start = perf_counter_ns()
            loss = step(k)
            samples.append(perf_counter_ns() - start)
        else:
            with collector_off():
                start = perf_counter_ns()
                loss = step(k)
                samples.append(perf_counter_ns() - start)
            loss = None
            gc.collect()
    return samples[WARMUP:], 1


def resident_bytes():
    """This process's resident set size."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak, which here only grows
        import resource
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def measure_memory(backend, sizes, repeat):
    """W5: resident growth while ``sizes.products`` nodes fill a list allocated beforehand."""
    leaves = product_leaves(backend, sizes)
    holder = [None] * sizes.products  # allocated before the baseline: the list is not counted
    with collector_off():
        before = resident_bytes()
        fill_products(leaves, holder)
        grown = resident_bytes() - before
    return [grown], sizes.products


TIMERS = {
    "W1": time_forward,
    "W2": time_backward,
    "W3": time_deep_chain,
    "W4off": lambda backend, sizes, repeat: time_training(backend, sizes, repeat, False),
    "W4on": lambda backend, sizes, repeat: time_training(backend, sizes, repeat, True),
    "W4Foff": lambda backend, sizes, repeat: time_training(backend, sizes, repeat, False, "W4F"),
    "W4Fon": lambda backend, sizes, repeat: time_training(backend, sizes, repeat, True, "W4F"),
    "W4Roff": lambda backend, sizes, repeat: time_training(backend, sizes, repeat, False, "W4R"),
    "W4Ron": lambda backend, sizes, repeat: time_training(backend, sizes, repeat, True, "W4R"),
    "W5": measure_memory,
}


def work(engine, check, rows, sizes, repeat):
    """The worker's answer, as a JSON-ready dict."""
    try:
        backend = _peers.load(engine)
    except Exception as error:  # any failure to import counts as "not installed"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return {"missing": f"{type(error).__name__}: {reason}" if reason else type(error).__name__}
    if check:
        return {"checks": {w: checksums(backend, w, CHECK_SIZES) for w in _peers.workloads_of(engine)}}
    results = {}
    for row in rows:
        samples, per = TIMERS[row](backend, sizes, repeat)
        results[row] = {"samples": samples, "per": per}
    return {"results": results}


def run(engine, check, rows, sizes, repeat):
    """``work`` in a thread whose stack is deep enough for micrograd; prints the JSON answer."""
    sys.setrecursionlimit(RECURSION_LIMIT)
    threading.stack_size(STACK_BYTES)
    answer = {}

    def target():
        answer.update(work(engine, check, rows, sizes, repeat))

    thread = threading.Thread(target=target, name=f"bench-{engine}")
    thread.start()
    thread.join()
    if not answer:
        return 1  # the thread's traceback is on stderr already
    json.dump(answer, sys.stdout)
    sys.stdout.write("\n")
    return 0
