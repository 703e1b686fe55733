"""W1..W5 (ARCHITECTURE.md) on both engines, with pytest-benchmark.

    pytest benchmarks --benchmark-only --benchmark-group-by=group

Each group holds one workload, pure and compiled side by side. The workloads are
``micrograd_fast._workloads``, the same code ``micrograd-fast-bench`` runs, at a
quarter of its sizes so the suite takes about a minute. pytest-benchmark times
whole calls: divide by the sizes below for a time per op. W5 records resident
bytes per node, measured in a fresh process, in ``extra_info``.
"""

import gc
import json
import subprocess
import sys
import tempfile

import pytest

from micrograd_fast import _peers
from micrograd_fast import _workloads as w

SIZE = 0.25
SIZES = w.Sizes().scaled(SIZE)
ROUNDS = 10


@pytest.fixture
def backend(engine):
    return _peers.engine_backend(engine)


def collect(*_):
    gc.collect()  # the graphs of the round just timed (pure nodes sit in reference cycles)


@pytest.mark.benchmark(group="W1 forward", disable_gc=True)
def test_w1_forward(benchmark, backend):
    leaf_values, chains = w.forward_plan(SIZES)
    leaves = [backend.Value(v) for v in leaf_values]
    benchmark.extra_info["op_calls"] = w.op_calls(SIZES)
    benchmark.pedantic(w.build_forward, args=(backend, leaves, chains), teardown=collect,
                       rounds=ROUNDS, warmup_rounds=1)


@pytest.mark.benchmark(group="W2 backward", disable_gc=True)
def test_w2_backward(benchmark, backend):
    leaf_values, chains = w.forward_plan(SIZES)
    leaves = [backend.Value(v) for v in leaf_values]

    def fresh_graph():
        _, root = w.build_forward(backend, leaves, chains)
        return (root,), {}

    benchmark.extra_info["op_calls"] = w.op_calls(SIZES)
    benchmark.pedantic(lambda root: root.backward(), setup=fresh_graph, teardown=collect,
                       rounds=ROUNDS, warmup_rounds=1)


@pytest.mark.benchmark(group="W3 deep chain", disable_gc=True)
def test_w3_deep_chain(benchmark, backend):
    benchmark.extra_info["steps"] = SIZES.deep_steps
    benchmark.pedantic(w.deep_chain, args=(backend, SIZES.deep_steps), rounds=ROUNDS, warmup_rounds=1)


def training(backend, variant="W4"):
    """A step function over one model and data set; the step number advances on each call.

    W4: micrograd's graph, rebuilt each step; W4F: the fused neuron, rebuilt each step;
    W4R: the fused neuron's graph built once and replayed.
    """
    X, y = w.moons(SIZES.points)
    model = w.new_model(backend, fused=variant != "W4")
    replayed = w.ReplayedTraining(backend, model, X, y) if variant == "W4R" else None
    state = {"k": 0, "loss": None}

    def step():
        if replayed:
            state["loss"] = replayed.step(state["k"])
        else:
            state["loss"] = w.training_step(backend, model, X, y, state["k"])  # frees the last graph
        state["k"] += 1

    return step, state


VARIANTS = {"W4": "W4 training step", "W4F": "W4F fused neuron", "W4R": "W4R replayed graph"}


def _collector_off(benchmark, backend, variant):
    step, state = training(backend, variant)
    benchmark.extra_info["points"] = SIZES.points

    def free_graph():
        if variant != "W4R":  # a replayed graph is kept: it is the same graph every step
            state["loss"] = None
        gc.collect()

    benchmark.pedantic(step, teardown=free_graph, rounds=ROUNDS, warmup_rounds=1)


def _as_users_run_it(benchmark, backend, variant):
    step, _ = training(backend, variant)
    benchmark.extra_info["points"] = SIZES.points
    benchmark.pedantic(step, rounds=ROUNDS, warmup_rounds=1)


# one test per group: pytest-benchmark names each benchmark after its test
@pytest.mark.benchmark(group=VARIANTS["W4"] + ", collector off", disable_gc=True)
def test_w4_training_collector_off(benchmark, backend):
    _collector_off(benchmark, backend, "W4")


@pytest.mark.benchmark(group=VARIANTS["W4"] + ", as users run it")
def test_w4_training_as_users_run_it(benchmark, backend):
    _as_users_run_it(benchmark, backend, "W4")


@pytest.mark.benchmark(group=VARIANTS["W4F"] + ", collector off", disable_gc=True)
def test_w4f_fused_collector_off(benchmark, backend):
    _collector_off(benchmark, backend, "W4F")


@pytest.mark.benchmark(group=VARIANTS["W4F"] + ", as users run it")
def test_w4f_fused_as_users_run_it(benchmark, backend):
    _as_users_run_it(benchmark, backend, "W4F")


@pytest.mark.benchmark(group=VARIANTS["W4R"] + ", collector off", disable_gc=True)
def test_w4r_replayed_collector_off(benchmark, backend):
    _collector_off(benchmark, backend, "W4R")


@pytest.mark.benchmark(group=VARIANTS["W4R"] + ", as users run it")
def test_w4r_replayed_as_users_run_it(benchmark, backend):
    _as_users_run_it(benchmark, backend, "W4R")


@pytest.mark.benchmark(group="W5 product nodes", disable_gc=True)
def test_w5_memory(benchmark, backend, engine):
    leaves = w.product_leaves(backend, SIZES)

    def empty_holder():
        return (leaves, [None] * SIZES.products), {}

    benchmark.extra_info["nodes"] = SIZES.products
    benchmark.pedantic(w.fill_products, setup=empty_holder, teardown=collect, rounds=ROUNDS)
    benchmark.extra_info["bytes_per_node"] = bytes_per_node(engine.__name__)


def bytes_per_node(module):
    """W5's resident growth per node, measured by the bench's worker in a fresh process."""
    done = subprocess.run([sys.executable, "-m", "micrograd_fast.bench", "--worker", module,
                           "--time", "W5", "--size", str(SIZE)],
                          capture_output=True, text=True, check=True,
                          cwd=tempfile.gettempdir())  # a source checkout would shadow the build
    result = json.loads(done.stdout)["results"]["W5"]
    return result["samples"][0] / result["per"]
