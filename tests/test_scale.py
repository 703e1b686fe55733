"""Scale: graphs of 10**6 nodes build, backpropagate twice and are freed, on both engines.

Each graph runs in a fresh interpreter, so a RecursionError, a C stack overflow
or a crash while freeing fails the test instead of ending the run. The child
reports its results as hex floats (bit for bit) and, on Linux (from /proc), its
peak memory, which the run lists under "measured figures".
"""

import functools
import json
import math

import pytest

from helpers import run_python

NODES = 10**6
K = 1.0000001

PROGRAM = """
import gc, importlib, json, os, sys

PROC = os.path.exists("/proc/self/statm")  # Linux; elsewhere memory is not measured

def peak_mb():  # this program's high-water mark (getrusage's would count the parent's, forked)
    if not PROC:
        return None
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024

def resident_mb():
    if not PROC:
        return None
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

Value = importlib.import_module(sys.argv[1]).Value
shape, nodes = sys.argv[2], int(sys.argv[3])
before = resident_mb()
if shape == "chain":  # y = x * k * k * ... : one node per multiplication
    leaves = [Value(0.5)]
    y = leaves[0]
    for _ in range(nodes):
        y = y * %(K)r
else:  # "wide": sum() of nodes // 2 leaves, one + node per leaf
    leaves = [Value(i * 1e-6) for i in range(nodes // 2)]
    y = sum(leaves)
y.backward()
first = [y.data.hex(), leaves[0].grad.hex(), leaves[-1].grad.hex()]
y.backward()  # again: the root is reseeded, every other node accumulates
second = [leaves[0].grad.hex(), leaves[-1].grad.hex()]
peak = peak_mb()
del y, leaves  # free the whole graph: a chain of 10**6 nodes must not overflow the C stack
gc.collect()
print(json.dumps({"first": first, "second": second, "peak_mb": peak, "base_mb": before}))
""" % {"K": K}


@functools.lru_cache(maxsize=None)
def run_graph(module, shape):
    """Build, backpropagate twice and free one graph in a child; its report."""
    done = run_python(None, args=["-c", PROGRAM, module, shape, str(NODES)], timeout=600)
    assert done.returncode == 0, f"{module} {shape}: exit {done.returncode}\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout)
    report["first"] = [float.fromhex(x) for x in report["first"]]
    report["second"] = [float.fromhex(x) for x in report["second"]]
    return report


def _record(figures, engine, shape, report):
    """Bytes per node above the interpreter's own size, or 0 where it is not measured."""
    if report["peak_mb"] is None:
        figures.add(f"10**6-node {shape}, {engine.__name__}", "memory not measured (no /proc)")
        return 0
    grown = report["peak_mb"] - report["base_mb"]
    figures.add(f"10**6-node {shape}, {engine.__name__}",
                f"peak RSS {report['peak_mb']:.0f} MB ({grown * 2**20 / NODES:.0f} bytes per node "
                f"above the interpreter's {report['base_mb']:.0f} MB)")
    return grown * 2**20 / NODES


# A node of the compiled engine is 80 bytes and the walk adds 24 per node; the pure
# engine's, with its closures, about 850. The bounds leave room, not an order of magnitude.
BYTES_PER_NODE_BOUND = {"micrograd_fast._engine": 200, "micrograd_fast.pure": 1600}


def test_deep_chain(engine, figures):
    report = run_graph(engine.__name__, "chain")
    data, leaf_grad, _ = report["first"]
    # d/dx (x * k**n) = k**n; x = 0.5 makes the value exactly half the gradient
    assert math.isclose(leaf_grad, math.exp(NODES * math.log(K)), rel_tol=1e-8)
    assert data == 0.5 * leaf_grad
    # micrograd's second backward(): the node at depth d has (d + 1) * k**d
    assert math.isclose(report["second"][0], (NODES + 1) * leaf_grad, rel_tol=1e-8)
    assert _record(figures, engine, "chain", report) < BYTES_PER_NODE_BOUND[engine.__name__]


def test_wide_sum(engine, figures):
    report = run_graph(engine.__name__, "wide")
    leaves = NODES // 2
    data, first_grad, last_grad = report["first"]
    assert math.isclose(data, sum(i * 1e-6 for i in range(leaves)), rel_tol=1e-12)
    assert first_grad == last_grad == 1.0
    # again: the last leaf hangs off the root (1 + 1), the first off the deepest + node
    assert report["second"] == [float(leaves + 1), 2.0]
    assert _record(figures, engine, "wide sum", report) < BYTES_PER_NODE_BOUND[engine.__name__]


@pytest.mark.parametrize("shape", ["chain", "wide"])
def test_both_engines_bit_identical_at_scale(engine_pair, shape):
    compiled, pure = (run_graph(engine.__name__, shape) for engine in engine_pair)
    assert compiled["first"] == pure["first"] and compiled["second"] == pure["second"]
