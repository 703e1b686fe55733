"""One engine's side of the benchmark, run in its own process by the command line.

``python -m micrograd_fast.bench --worker ENGINE --check`` prints the engine's
checksums on the small instance; ``--worker ENGINE --time W1,W2,...`` prints its
measurements of those rows. The answer is one JSON object on stdout; an engine that
cannot be imported answers ``{"missing": "why"}`` instead.

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

from . import peers
from .checks import checksums
from .workloads import ROWS

STACK_BYTES = 512 * 2**20
RECURSION_LIMIT = 10**6
WARMUP = 1  # untimed runs before the timed ones, per row


@contextmanager
def collector(on):
    """Python's garbage collector on or off (as it was, afterwards)."""
    enabled = gc.isenabled()
    (gc.enable if on else gc.disable)()
    try:
        yield
    finally:
        (gc.enable if enabled else gc.disable)()


def time_job(job, repeat):
    """``repeat`` timings of ``job.run()`` in ns, after ``WARMUP`` untimed ones."""
    samples = []
    for _ in range(WARMUP + repeat):
        with collector(job.collector_on):
            job.setup()
            start = perf_counter_ns()
            job.run()
            samples.append(perf_counter_ns() - start)
        job.teardown()
    return samples[WARMUP:]


def resident_bytes():
    """This process's resident set size."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak, which here only grows
        import resource
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def measure_memory(job):
    """The growth of the resident set while ``job.run()`` runs, once (a fresh process each)."""
    with collector(False):
        job.setup()  # allocates what is not counted
        before = resident_bytes()
        job.run()
        return [resident_bytes() - before]


def work(engine, check, rows, sizes, repeat):
    """The worker's answer, as a JSON-ready dict."""
    try:
        backend = peers.load(engine)
    except Exception as error:  # any failure to import counts as "not installed"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return {"missing": f"{type(error).__name__}: {reason}" if reason else type(error).__name__}
    if check:
        return {"checks": checksums(backend), "about": backend.about}
    results = {}
    for row_id in rows:
        row = ROWS[row_id]
        job = row.workload.job(backend, sizes, row.collector_on)
        samples = measure_memory(job) if row.workload.memory else time_job(job, repeat)
        results[row_id] = {"samples": samples, "per": job.per}
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
