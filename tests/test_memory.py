"""Memory: long training stays flat, graphs are freed, and the collector sees only what it must.

The training run happens in a fresh interpreter (its resident size is its own);
the figures it measured are listed under "measured figures" after the run.
"""

import gc
import json
import os
import sys

import pytest

from engines import cpython_only
from helpers import alive, run_on, run_python

STEPS, WARMUP = 1000, 100

TRAINING = """
import gc, importlib, json, random, resource, sys, tracemalloc
from micrograd_fast import datasets, nn, optim

def resident_kb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 1024

Value = importlib.import_module(sys.argv[1]).Value
steps, warmup = int(sys.argv[2]), int(sys.argv[3])
random.seed(1337)
X, y = datasets.make_moons(n_samples=8, noise=0.1, random_state=1337)
Y = [2 * label - 1 for label in y]
model = nn.MLP(2, [16, 16, 1], value_type=Value)
adam = optim.Adam(model.parameters(), lr=0.01)
for p in model.parameters():
    p.velocity = 0.0  # an attribute on every parameter, as a hand-written optimizer keeps

def step():
    scores = [model(list(map(Value, row))) for row in X]
    loss = sum((1 + -yi * s).relu() for yi, s in zip(Y, scores)) * (1.0 / len(Y))
    adam.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.velocity = 0.9 * p.velocity + p.grad
    adam.step()
    return loss.data  # the graph goes with `loss` when step() returns

tracemalloc.start()  # from the start: its own tables reach their size in the warm-up
for _ in range(warmup):
    step()
gc.collect()
points = []  # (resident kB, traced bytes) after the warm-up, half way, at the end
for done in range(steps + 1):
    if done in (0, steps // 2, steps):
        gc.collect()
        points.append((resident_kb(), tracemalloc.get_traced_memory()[0]))
    if done < steps:
        last_loss = step()
print(json.dumps({"points": points, "last_loss": last_loss}))
"""


@cpython_only
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads /proc (Linux)")
def test_a_thousand_training_steps_leave_memory_flat(engine, figures):
    done = run_python(None, args=["-c", TRAINING, engine.__name__, str(STEPS), str(WARMUP)])
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    (rss_start, traced_start), (rss_half, traced_half), (rss_end, traced_end) = report["points"]
    figures.add(f"{STEPS} training steps, {engine.__name__}",
                f"after {WARMUP} warm-up steps: RSS {rss_start / 1024:.1f} MB, traced "
                f"{traced_start / 1024:.0f} kB; then RSS {rss_half - rss_start:+.0f} kB and traced "
                f"{traced_half - traced_start:+d} bytes by step {STEPS // 2}, RSS "
                f"{rss_end - rss_start:+.0f} kB and traced {traced_end - traced_start:+d} bytes "
                f"by step {STEPS}")
    # What the steps replace (new floats for data, optimizer state, attributes) moves
    # the traced total once (by 2.4 kB on CPython 3.10, whose function frames are among
    # it); a leak keeps growing it: one node or one float per step over the second half
    # would be 500 objects, 12 kB and more.
    assert traced_end - traced_half < 4 * 1024, "memory still grows in the second half"
    assert traced_end - traced_start < 16 * 1024
    # The allocator's pools settle in the first half
    assert rss_end - rss_half < 1024, f"resident size grew by {rss_end - rss_half:.0f} kB"
    assert rss_end - rss_start < 4 * 1024, f"resident size grew by {rss_end - rss_start:.0f} kB"
    assert report["last_loss"] < 1.0  # it trained


# -- a graph dies with its last reference ---------------------------------------

def _graph(V):
    x = V(3.0)
    y = ((x * 2 + 1).relu().tanh() ** 2 / 3 - V(1.0).exp()).sigmoid().log()
    z = V.dot([x, y], [y, 2.0], 0.5)
    z.backward()
    return z


@cpython_only
def test_a_graph_is_freed_by_reference_counting(engine):
    """No collector needed: a graph holds no cycle, so the last `del` frees it."""
    root = _graph(engine.Value)
    living = alive([root, next(iter(root._prev))])
    gc.disable()
    try:
        del root
        assert living() == [False, False]
    finally:
        gc.enable()


# -- what the collector sees -------------------------------------------------------
# Every node is tracked by the collector, as any Python object that refers to others:
# a cycle through a node is collected whatever it runs through and whenever it was made.

@cpython_only
@pytest.mark.c_extension
@pytest.mark.skipif(sys.maxsize < 2**32, reason="the sizes of a 64-bit build")
def test_a_compiled_node_holds_its_fields_and_nothing_else():
    # docs/ARCHITECTURE.md's table: the object header (16 bytes), data, grad, _a, _b, the
    # stamp and __dict__ (8 each): 64 bytes, 80 with the collector's header, one of Python's
    # allocator's size classes. A cdef method on Value would add a pointer to every node
    # (Cython's method table): 8 bytes, and the next size class, 96.
    from micrograd_fast._engine import Value
    assert (Value.__basicsize__, Value.__dictoffset__, Value.__weakrefoffset__) == (64, 56, 0)


@cpython_only
def test_every_node_is_tracked(engine):
    V = engine.Value
    a, b = V(1.0, label='a'), V(2.0)
    nodes = [a, b, a + b, a * 3, a ** b, 2 ** a, -a, a / b, a.tanh(), a.relu(), a.exp(),
             b.log(), a.sigmoid(), V.dot([a, b], [b, 1.5], 0.5), V(2.0, (a,), 'mine')]
    assert all(gc.is_tracked(v) for v in nodes)


@pytest.mark.parametrize("make_cycle", ["callback", "attribute", "subclass", "label", "op",
                                        "attached_later"])
def test_cycles_through_nodes_are_collected(engine, make_cycle):
    V = engine.Value
    a = V(1.0)
    if make_cycle == "callback":
        node = V(2.0, (a,), 'mine')

        def _backward():
            a.grad += node.grad  # the closure holds node, node holds the closure
        node._backward = _backward
    elif make_cycle == "attribute":
        node = a * 2
        node.itself = [node]
    elif make_cycle == "subclass":
        class Sub(V):
            pass
        node = Sub(2.0) * Sub(3.0)
        node.me = node
    elif make_cycle == "label":
        node = a * 2
        node.label = {}  # empty when set, holding the node later
        node.label['me'] = node
    elif make_cycle == "op":
        node = a * 2
        node._op = [node]
    else:  # a container put on a node after other nodes were built on it
        node = a * 2
        node.history = [(node * 3).relu()]  # built on node before the list was attached
    root = node + 1
    root.backward()
    living = alive([node, root])
    del node, root
    gc.collect()
    assert living() == [False, False]


@cpython_only
def test_a_training_loop_of_fused_neurons_starts_no_collection(engine_pair):
    """Each step frees the last step's graph and builds the next, node for node and tuple
    for tuple (a 16-input dot's 33 operands): the memory is reused, so the collector's
    allocation count does not grow and no collection starts. (Before the tuples were
    reused, the demo's 100 points made 1,700 of them a step: two collections a step.)"""
    compiled, _ = engine_pair
    from micrograd_fast import nn, training
    X, y = training.moons(100)
    model = training.new_mlp(nn.MLP, value_type=compiled.Value)
    fit = training.Training(model, X, y, steps=30, Value=compiled.Value)
    collections = []
    result = fit.step(0)
    result = fit.step(1)  # step 0's graph freed: from now on its memory is reused
    gc.collect()
    def record(phase, info):
        if phase == "start":
            collections.append(info["generation"])
    gc.callbacks.append(record)
    try:
        for k in range(2, 30):
            result = fit.step(k)  # the last step's graph is freed here
    finally:
        gc.callbacks.remove(record)
    assert len(collections) <= 4, f"{len(collections)} collections in 28 steps (generations {collections})"


REUSED_TUPLES = """
import gc, tracemalloc
ws, xs = [V(0.5) for _ in range(100)], [V(2.0) for _ in range(100)]
tracemalloc.start()
dots = [V.dot(ws, xs, float(i)) for i in range(10000)]  # 201 operands each: 16 MB of tuples
del dots
gc.collect()
print(tracemalloc.get_traced_memory()[0])
"""


@cpython_only
def test_kept_dot_operands_are_bounded(engine, figures):
    held = int(run_on(engine.__name__, REUSED_TUPLES))
    figures.add(f"held after 10,000 dots of 201 operands were freed, {engine.__name__}",
                f"{held} bytes")
    # the compiled engine keeps 1 MiB of tuples and the 10,000 nodes (80 bytes each)
    assert held < 2 * 2**20


@cpython_only
def test_reused_operand_tuples_start_clean(engine):
    V = engine.Value
    old_ws = [V(float(i)) for i in range(12)]
    old = [V.dot(old_ws, [V(2.0)] * 12, 1.0) for _ in range(100)]
    living = alive(old_ws + [old[0]._operands[2]])
    del old, old_ws
    assert not any(living()), "a kept tuple holds its operands"
    ws = [V(float(-i)) for i in range(12)]
    xs = [V(3.0) for _ in range(12)]
    new = [V.dot(ws, xs, 0.5) for _ in range(100)]
    assert all(n._operands == (n._operands[0], *[x for pair in zip(ws, xs) for x in pair])
               for n in new)
    assert all(n.data == 0.5 - 3.0 * 66 for n in new)
    new[-1].backward()
    assert [w.grad for w in ws] == [3.0] * 12 and [x.grad for x in xs] == [float(-i) for i in range(12)]
    assert all(gc.is_tracked(n._operands) for n in new)


@cpython_only
def test_reused_node_memory_starts_clean(engine_pair):
    """Freed nodes' memory is reused (a free list): nothing of the old node shows through."""
    compiled, _ = engine_pair
    V = compiled.Value
    old = [V(float(i), label=f'n{i}') * 2 for i in range(1000)]
    for v in old:
        v.grad = 5.0
    living = alive(old)
    del old, v
    new = [V(1.0) + 1.0 for _ in range(1000)]
    assert not any(living())
    assert all(n.grad == 0.0 and n.label == '' and n.data == 2.0 and n._op == '+' for n in new)
    assert all(gc.is_tracked(n) and vars(n) == {} for n in new)


@cpython_only  # (freed by reference counting: PyPy frees them in its own time)
def test_more_nodes_than_are_kept_for_reuse_are_freed_and_made_again(engine):
    """Three times over, 200,000 nodes (more than the compiled engine's free list keeps: the
    rest go back to the allocator) are made, read and freed. Under ASan with a small list
    (``FREE_NODES_MAX=64 tests/sanitize/run.sh asan tests/test_memory.py``), the list is
    filled and emptied past its bound: a write past its array is reported."""
    V = engine.Value
    for _ in range(3):
        nodes = [V(float(i)) * 2.0 for i in range(100_000)]
        assert all(n.data == 2.0 * i and n.grad == 0.0 and n._op == '*' for i, n in enumerate(nodes))
        living = alive(nodes[::997])
        del nodes
        assert not any(living())
