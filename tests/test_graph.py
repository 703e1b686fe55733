"""Graph: a built graph replayed with new leaf values, on both engines."""

import copy
import gc
import numbers
import pickle
import struct
from array import array
from types import SimpleNamespace

import pytest

from micrograd_fast import nn, optim
from helpers import each_kernel, train_moons, train_moons_replayed


def _bits(values):
    return [struct.pack("<d", v) for v in values]


@pytest.mark.parametrize("fused", [True, False])
def test_replayed_training_equals_rebuilt_training(engine, fused):
    rebuilt = train_moons(nn, engine.Value, steps=4, fused=fused)
    replayed = train_moons_replayed(nn, engine.Value, engine.Graph, steps=4, fused=fused)
    assert _bits(rebuilt[0]) == _bits(replayed[0])
    assert [_bits(pair) for pair in rebuilt[1]] == [_bits(pair) for pair in replayed[1]]


def test_every_op_replays(engine):
    V = engine.Value
    a, b = V(1.5), V(0.5)

    def build():
        return (((a * b + 2.0) ** 2 - a / b).tanh() + (a ** b).log() + (-a).exp()
                + (2.0 ** b).sigmoid() + a.relu() + V.dot([a, b], [b, 3.0], 1.0)) / 3

    graph = engine.Graph(build())
    for new_a, new_b in [(2.0, 0.25), (0.75, 1.5)]:
        a.data, b.data = new_a, new_b
        a.grad = b.grad = 0.0
        assert graph.forward() == graph.root.data
        graph.backward()
        replayed = (graph.root.data, a.grad, b.grad)
        a.grad = b.grad = 0.0
        fresh = build()
        fresh.backward()
        assert _bits(replayed) == _bits((fresh.data, a.grad, b.grad))


def test_replay_raises_what_building_raises(engine):
    V = engine.Value
    x = V(2.0)
    graph = engine.Graph(x.log() * 2)
    x.data = -1.0
    with pytest.raises(ValueError, match="logarithm needs a positive number"):
        graph.forward()
    x.data = 3.0
    assert graph.forward() == V(3.0).log().data * 2


def test_a_python_backward_is_refused(engine):
    V = engine.Value
    a = V(2.0)
    custom = V(a.data ** 3, (a,), 'cube')
    custom._backward = lambda: None
    with pytest.raises(ValueError, match=r"cannot replay a graph holding a node with a Python "
                                         r"_backward \('cube'\)"):
        engine.Graph(custom + 1)
    replaced = a * 3
    replaced._backward = lambda: None
    with pytest.raises(ValueError, match="cannot replay"):
        engine.Graph(replaced)


def test_size_and_root(engine):
    V = engine.Value
    x = V(1.0)
    y = x * x + x
    graph = engine.Graph(y)
    assert len(graph) == 3 and graph.root is y


# -- inputs: forward(values) -------------------------------------------------------

def _small_net(V):
    """Two input leaves and two weights; the graph of w0*x0 + w1*x1 + 0.5, through tanh."""
    xs = [V(0.0), V(0.0)]
    ws = [V(0.3), V(-1.2)]
    return xs, ws, (xs[0] * ws[0] + V.dot([ws[1]], [xs[1]], 0.5)).tanh()


def _value_sources():
    yield "list", lambda xs: list(xs)
    yield "tuple of ints", lambda xs: tuple(int(x) for x in xs)
    yield "array('d')", lambda xs: array("d", xs)
    yield "array('f')", lambda xs: array("f", xs)  # not doubles: read as a sequence
    yield "memoryview", lambda xs: memoryview(array("d", xs))
    yield "generator", lambda xs: (x for x in xs)
    try:
        import numpy as np
    except ImportError:
        return
    yield "numpy", lambda xs: np.array(xs)
    yield "numpy 2-d", lambda xs: np.array(xs).reshape(len(xs) // 2, 2)
    yield "numpy strided", lambda xs: np.array([x for x in xs for _ in (0, 1)])[::2]
    yield "numpy float32", lambda xs: np.array(xs, dtype=np.float32)
    yield "numpy int", lambda xs: np.array(xs).astype(np.int64)


@pytest.mark.parametrize("kind, make", list(_value_sources()), ids=[k for k, _ in _value_sources()])
def test_forward_sets_the_inputs_from_values(engine, kind, make):
    V = engine.Value
    xs, ws, root = _small_net(V)
    graph = engine.Graph(root, inputs=xs)
    assert graph.inputs == tuple(xs)
    for new in ([1.5, -2.0], [0.25, 4.0]):
        given = make(new)
        expected = [float(x) for x in (list(given) if kind != "numpy 2-d" else given.ravel())] \
            if kind != "generator" else new
        result = graph.forward(given)
        graph.backward()
        assert [x.data for x in xs] == expected
        fresh_xs = [V(x) for x in expected]
        fresh = (fresh_xs[0] * V(ws[0].data) + V.dot([V(ws[1].data)], [fresh_xs[1]], 0.5)).tanh()
        fresh.backward()
        assert _bits([result, root.data, xs[0].grad, xs[1].grad]) == \
            _bits([fresh.data, fresh.data, fresh_xs[0].grad, fresh_xs[1].grad])
        xs[0].grad = xs[1].grad = 0.0


def test_inputs_are_checked_when_the_graph_is_built(engine):
    V = engine.Value
    xs, ws, root = _small_net(V)
    with pytest.raises(TypeError, match="Graph inputs must be Values, not 'float'"):
        engine.Graph(root, inputs=[xs[0], 1.0])
    with pytest.raises(ValueError, match=r"Graph input 1 \(Value\(data=2.0, grad=0.0\)\) is not in "
                                         "the graph: the root does not depend on it"):
        engine.Graph(root, inputs=[xs[0], V(2.0)])
    with pytest.raises(ValueError, match=r"Graph input 0 .* is computed by the graph \(a 'tanh' node\): "
                                         "inputs must be leaves"):
        engine.Graph(root, inputs=[root])


@pytest.mark.parametrize("values, error, message", [
    ([1.0], ValueError, r"Graph.forward\(values\) needs 2 values, one per input, not 1"),
    (array("d", [1.0, 2.0, 3.0]), ValueError, "needs 2 values, one per input, not 3"),
    ([1.0, "2"], TypeError, r"Graph.forward\(values\): values\[1\] must be a real number, not 'str'"),
    ([None, 1.0], TypeError, r"values\[0\] must be a real number, not 'NoneType'"),
    (3.0, TypeError, r"Graph.forward\(values\) takes a sequence of numbers or a buffer of doubles, "
                     "not 'float'"),
])
def test_wrong_values_are_refused_before_anything_changes(engine, values, error, message):
    V = engine.Value
    xs, ws, root = _small_net(V)
    graph = engine.Graph(root, inputs=xs)
    graph.forward([0.5, 0.5])
    before = [v.data for v in (xs[0], xs[1], root)]
    with pytest.raises(error, match=message):
        graph.forward(values)
    assert [v.data for v in (xs[0], xs[1], root)] == before


def test_values_without_inputs_are_refused(engine):
    V = engine.Value
    x = V(1.0)
    graph = engine.Graph(x * 2)
    with pytest.raises(ValueError, match="this Graph has no inputs to set; build it as "
                                         r"Graph\(root, inputs=leaves\)"):
        graph.forward([3.0])
    assert graph.forward([]) == 2.0 and graph.inputs == ()


def test_wrong_values_read_the_same_on_both_engines(engine_pair):
    wrong = [[1.0], [1.0, object()], 7, [2**2000, 1.0]]
    try:
        import numpy
    except ImportError:
        pass
    else:  # a buffer whose export fails with a ValueError: read as a sequence, on both engines
        wrong.append(numpy.array(["2020-01-01", "2020-01-02"], dtype="M8[D]"))
    messages = []
    for engine in engine_pair:
        xs, ws, root = _small_net(engine.Value)
        graph = engine.Graph(root, inputs=xs)
        found = []
        for values in wrong:
            with pytest.raises(Exception) as raised:
                graph.forward(values)
            found.append((type(raised.value), str(raised.value)))
        messages.append(found)
    assert messages[0] == messages[1]


class _ReplaysWithOtherValues:
    """An input value whose __float__ replays the same graph with other values first."""

    def __init__(self, graph, value):
        self.graph, self.value = graph, value

    def __float__(self):
        self.graph.forward([100.0, 200.0])
        return self.value


numbers.Real.register(_ReplaysWithOtherValues)  # a real number, as numpy's are


def test_values_are_the_ones_given_though_converting_one_replays_the_graph(engine):
    """The inner forward(values) runs to its end; then the outer one sets its own values
    (the compiled engine once converted into the graph's own buffer, which the inner call
    overwrote: a silent wrong answer)."""
    V = engine.Value
    a, b = V(0.0), V(0.0)
    graph = engine.Graph(a * 10 + b, inputs=[a, b])
    assert graph.forward([1.0, _ReplaysWithOtherValues(graph, 2.0)]) == 12.0
    assert (a.data, b.data) == (1.0, 2.0)
    assert graph.forward([_ReplaysWithOtherValues(graph, 3.0), 4.0]) == 34.0
    assert (a.data, b.data) == (3.0, 4.0)


def test_a_forward_that_raises_leaves_the_nodes_as_the_loop_does(engine):
    """As the pure engine's loop over the nodes: those before the one that raises have
    their new data, the others (the root too) keep theirs, and backward() reads them.
    (The compiled engine once wrote the tape's old numbers into every node after an error,
    and had summed a dot ahead of the failing step, its group leader being before it.)"""
    V = engine.Value
    xs = [V(1.0), V(2.0)]
    d1 = V.dot([V(0.5), V(0.25)], xs)
    z = V(2.0)
    bad = z.log()
    d2 = V.dot([V(3.0), V(-1.0)], xs)  # over the same inputs as d1, after the log
    q = (d2 * 2.0).tanh()
    root = d1 + bad + q
    graph = engine.Graph(root, inputs=xs + [z])
    graph.forward([1.0, 2.0, 2.0])
    q.data = 0.5  # a node changed since: the failed forward() does not reach it
    root.data = 99.0
    with pytest.raises(ValueError, match="logarithm"):
        graph.forward([5.0, 7.0, -1.0])
    assert (d1.data, d2.data, q.data, root.data) == (0.5 * 5.0 + 0.25 * 7.0, 1.0, 0.5, 99.0)
    graph.backward()
    assert xs[1].grad == 0.25 + (1.0 - 0.5 ** 2) * 2.0 * -1.0  # through q's data as it is


def test_an_input_may_be_given_twice(engine):
    V = engine.Value
    x = V(0.0)
    graph = engine.Graph(x * x, inputs=[x, x])
    assert graph.forward([2.0, 3.0]) == 9.0 and x.data == 3.0


# -- the compiled tape keeps what a user sees ------------------------------------------

def test_inner_nodes_show_the_replayed_data_and_grads(engine):
    V = engine.Value
    a, b = V(1.0), V(2.0)
    mid = a * b
    root = (mid + a).relu()
    graph = engine.Graph(root)
    a.data = 3.0
    graph.forward()
    assert (mid.data, root.data) == (6.0, 9.0)
    mid.grad = 5.0  # an inner grad starts from 0 in backward(), a leaf's accumulates
    b.grad = 0.5
    graph.backward()
    assert (root.grad, mid.grad, a.grad, b.grad) == (1.0, 1.0, 1.0 + 2.0, 0.5 + 3.0)


def test_backward_differentiates_at_the_nodes_current_data(engine):
    """As loss.backward() does: data set between forward() and backward() counts."""
    V = engine.Value
    a, b = V(1.0), V(2.0)
    root = a * b
    graph = engine.Graph(root)
    graph.forward()
    b.data = 7.0
    graph.backward()
    assert a.grad == 7.0


# The ways a node's data changes between a Graph's forward() and its backward(); ``s``
# holds the nodes and ``others``, a Graph that sets a, and so mid's data too.
_WRITES = {
    "nothing": lambda s: None,
    "an inner node's data": lambda s: setattr(s.mid, "data", -0.75),
    "a leaf's data": lambda s: setattr(s.a, "data", 2.5),
    "an SGD step": lambda s: optim.SGD([s.a, s.b, s.mid], lr=0.25).step(),  # mid: an inner node
    "an Adam step": lambda s: optim.Adam([s.a, s.b, s.mid], lr=0.25).step(),
    "another Graph's forward": lambda s: s.others.forward([3.5]),
    "another Graph's backward then forward": lambda s: (s.others.backward(), s.others.forward()),
    "Value.__init__ on a leaf": lambda s: s.a.__init__(1.5),
    "Value.__init__ on an inner node": lambda s: s.mid.__init__(0.3),
}


@pytest.mark.parametrize("write", _WRITES)
def test_a_replay_sees_every_write_between_its_steps(engine, write):
    """forward() then backward(), with one write between (and one before the next forward()):
    the grads and data are those of loss.backward() and of a Graph built again, on the nodes
    as they are at that moment. The compiled Graph reads only its leaves when nothing else
    can have changed: every way of changing something must be seen."""
    V = engine.Value
    a, b = V(0.5), V(1.25)  # every branch alive: each node's data counts in some gradient
    mid = a * b + a
    root = (mid * mid + b).relu() + mid.tanh() * a
    graph = engine.Graph(root)
    s = SimpleNamespace(a=a, b=b, mid=mid, others=engine.Graph(mid * 2.0, inputs=[a]))

    def change():
        _WRITES[write](s)

    for _ in range(2):
        graph.forward()
        change()
        a.grad = b.grad = 0.0
        graph.backward()
        replayed = [n.grad for n in (a, b, mid)]
        for n in _below(root):
            n.grad = 0.0
        root.backward()  # the walk, at the nodes' current data
        assert replayed == [n.grad for n in (a, b, mid)]
        change()
        again = engine.Graph(root).forward()  # a graph built again over the nodes as they are
        assert graph.forward() == again


class _RunsTheGraph:
    """A number whose __float__ replays a graph first: code running inside a setter."""

    def __init__(self, graph, value):
        self.graph, self.value = graph, value

    def __float__(self):
        self.graph.forward([0.25])
        self.graph.backward()
        return self.value


def _divide(s):
    s.graph.forward([0.0])  # mid = a * b + a is 0 now
    try:
        return [1.0 / s.mid]
    except ZeroDivisionError as error:
        return [str(error)]


def _set_during_a_replay(s):
    s.mid.data = _RunsTheGraph(s.graph, 9.0)
    seen = [s.mid.data, s.ab.data, s.ab.grad]
    s.mid.grad = _RunsTheGraph(s.graph, 4.0)
    return seen + [s.mid.grad, s.mid.data, s.ab.grad]


def _zero_then_replay(s):
    optim.SGD([s.mid, s.ab], lr=0.5).zero_grad()
    s.graph.forward([1.5])
    return [s.mid.grad, s.ab.grad, s.mid.data]


def _free_the_graph(s):
    s.graph = None
    gc.collect()
    return [s.mid.data, s.mid.grad, s.ab.data, s.ab.grad]


# The ways a node's numbers are read or written after a replay; each gives what it saw.
# ``s`` holds the nodes, the replayed graph, and ``other`` and ``below``: Graphs over some
# of the same nodes, built before the replay.
_READS = {
    "the getters": lambda s: [s.mid.data, s.mid.grad, s.ab.data, s.ab.grad, s.top.data, s.top.grad],
    "ops on inner nodes": lambda s: [(s.mid * 2.0).data, (s.ab + s.mid).data, s.mid.relu().data,
                                     (2.0 ** s.mid).data, s.V.dot([s.mid], [s.ab], 1.0).data,
                                     (-s.mid).data],
    "backward() from an inner node": lambda s: (s.mid.backward(), [s.ab.grad, s.a.grad, s.mid.grad])[1],
    "another Graph over inner nodes": lambda s: [s.Graph(s.mid * s.ab).forward(), s.ab.grad, s.mid.data],
    "another Graph's replay": lambda s: (
        s.Graph(s.mid * s.ab).backward(), [s.ab.grad, s.mid.grad, s.a.grad])[1],
    "copy, pickle and repr": lambda s: [copy.copy(s.mid).data, pickle.loads(pickle.dumps(s.ab)).grad,
                                        repr(s.mid), s.V(s.mid).data],
    "an SGD step on inner nodes": lambda s: (
        optim.SGD([s.mid, s.ab], lr=0.5).step(), [s.mid.data, s.ab.data])[1],
    "an Adam step on inner nodes": lambda s: (
        optim.Adam([s.mid, s.ab], lr=0.5).step(), [s.mid.data, s.ab.data])[1],
    "zero_grad then a replay": _zero_then_replay,
    "Value.__init__ on an inner node": lambda s: (
        s.mid.__init__(2.0), s.graph.forward([1.0]), [s.mid.data, s.mid.grad, s.top.data, s.ab.data])[2],
    "a setter then a replay": lambda s: (
        setattr(s.ab, "grad", 5.0), s.graph.forward([1.0]), [s.ab.grad, s.ab.data])[2],
    "a setter running the graph": _set_during_a_replay,
    "_prev and a node's _backward()": lambda s: (
        sorted(c.data for c in s.top._prev), s.mid._backward(), [s.ab.grad, s.a.grad])[2],
    "a _backward given by hand": lambda s: (
        setattr(s.mid, "_backward", lambda: None), s.top.backward(), [s.ab.grad, s.mid.grad])[2],
    "a Python _backward running a Graph": lambda s: (
        setattr(s.mid, "_backward", lambda: (s.below.forward([0.25]), s.below.backward())),
        s.top.backward(), [s.ab.grad, s.ab.data, s.a.grad])[2],
    "a Graph built before, replayed": lambda s: (
        setattr(s.a, "data", 2.0), s.other.forward(), [s.mid.data, s.ab.data, s.top.data])[2],
    "a Graph built before, run back": lambda s: (
        s.other.backward(), [s.mid.grad, s.ab.grad, s.mid.data])[1],
    "division by an inner node": _divide,
    "the graph freed": _free_the_graph,
}


@pytest.mark.parametrize("read", _READS)
def test_inner_nodes_read_after_a_replay_hold_its_numbers(engine_pair, read):
    """The compiled Graph writes its inner nodes' numbers into them only when something
    reads or writes one: every such way sees what the pure engine, which writes them at
    once, shows, bit for bit."""
    seen = []
    for engine in engine_pair:
        V = engine.Value
        a, b = V(0.5), V(1.25)
        ab = a * b
        mid = ab + a
        top = (mid * mid + b).relu() + mid.tanh() * a
        s = SimpleNamespace(V=V, Graph=engine.Graph, a=a, ab=ab, mid=mid, top=top,
                            graph=engine.Graph(top, inputs=[a]), other=engine.Graph(mid),
                            below=engine.Graph(ab * 3.0, inputs=[a]))
        s.graph.forward([0.75])
        s.graph.backward()
        s.graph.forward([1.25])  # data newer than the grads: both wait in the compiled tape
        observed = _READS[read](s)
        del s  # (the graph freed: its last reference was there)
        seen.append([_bits([x]) if isinstance(x, float) else x for x in observed]
                    + _bits([a.grad, b.grad, a.data, b.data]))
    assert seen[0] == seen[1]


def _below(root):
    seen, todo = {id(root): root}, [root]
    while todo:
        for child in todo.pop()._prev:
            if id(child) not in seen:
                seen[id(child)] = child
                todo.append(child)
    return list(seen.values())


def test_a_number_shown_as_a_leaf_after_the_graph_was_built(engine):
    """Reading _prev turns a number operand into a leaf: a replay uses it, as the walk would."""
    V = engine.Value
    x = V(2.0)
    y = x * 3.0
    d = V.dot([x, 0.5], [1.0, x], 1.0)
    graph = engine.Graph(y + d)
    shown = [c for c in y._prev if c is not x][0]
    bias = [c for c in d._operands][0]
    shown.data, bias.data = 4.0, 10.0
    assert graph.forward() == 2.0 * 4.0 + (10.0 + 2.0 * 1.0 + 0.5 * 2.0)
    shown.grad = bias.grad = 0.0
    graph.backward()
    assert (shown.grad, bias.grad, x.grad) == (2.0, 1.0, 4.0 + 1.0 + 0.5)


def test_many_replays_of_a_graph_that_changed(engine):
    V = engine.Value
    x = V(2.0)
    y = x * 3
    z = (y + x).relu()
    graph = engine.Graph(z)
    assert graph.forward() == 8.0
    y.__init__(10.0)  # made a leaf again
    for _ in range(3):
        x.grad = y.grad = 0.0
        assert graph.forward() == 12.0
        graph.backward()
        assert (x.grad, y.grad) == (1.0, 1.0)


@pytest.mark.parametrize("pattern", ["apart", "same", "overlapping", "repeated", "numbers", "empty",
                                     "bias is a weight"])
def test_dots_replay_whatever_their_operands(engine, pattern):
    """The tape reads a dot's weights and inputs as two arrays where it can: every pattern
    of shared operands gives the numbers of the graph built again."""
    V = engine.Value

    def build(a, b, c, d):
        ws, xs, bias = {
            "apart": ([a, b], [c, d], 0.5),
            "same": ([a, b, c], [a, b, c], d),
            "overlapping": ([a, b], [b, c], d),
            "repeated": ([a, a, b], [c, c, d], 1),
            "numbers": ([a, 2.0, b], [c, d, 3], 0.25),
            "empty": ([], [], a),
            "bias is a weight": ([a, b], [c, d], a),
        }[pattern]
        first = V.dot(ws, xs, bias)
        return (V.dot(ws, xs, bias) * first + first.relu()).tanh()

    _replays_as_built(engine, lambda leaves: build(*leaves), [0.3, -0.7, 1.1, 0.4],
                      [[0.5, 0.25, -1.5, 2.0], [-0.1, 0.9, 0.6, -0.3]])


def _replays_as_built(engine, build, first, values):
    """A Graph of ``build(leaves)``, replayed with each of ``values`` as the leaves' data, gives
    the bits (the root's data, the leaves' grads) of the graph built again over new leaves."""
    V = engine.Value
    leaves = [V(x) for x in first]
    graph = engine.Graph(build(leaves))
    for new in values:
        for leaf, x in zip(leaves, new):
            leaf.data, leaf.grad = x, 0.0
        graph.forward()
        graph.backward()
        replayed = [graph.root.data] + [leaf.grad for leaf in leaves]
        fresh_leaves = [V(x) for x in new]
        fresh = build(fresh_leaves)
        fresh.backward()
        assert _bits(replayed) == _bits([fresh.data] + [leaf.grad for leaf in fresh_leaves])


@pytest.mark.parametrize("pattern", ["a layer of 4", "a layer of 7", "a layer of 8", "a layer of 11",
                                     "a dot's bias from the one before",
                                     "a dot's bias from a relu before", "a weight read between",
                                     "an input read between"])
def test_dots_over_the_same_inputs_replay_as_built(engine, pattern):
    """The compiled tape's forward sums a layer's dots side by side, moving a dot up to the
    one before it when they read the same inputs: never past a step whose value it reads.
    Reading the same nodes as a step passed over is no reason to stay: the backward pass
    keeps the walk's order, so three terms of a gradient are summed in the same order (the
    numbers are Gaussian, whose sums round, unlike uniform(-1, 1)'s: another order would
    show)."""
    import random
    V = engine.Value
    rng = random.Random(7)

    def build(leaves):
        xs, ws, bs = leaves[:5], [leaves[5 + 5 * j:10 + 5 * j] for j in range(11)], leaves[60:71]
        d0 = V.dot(ws[0], xs, bs[0])
        if pattern.startswith("a layer of "):  # summed eight at a time, and the rest
            outs = [d0.relu()] + [V.dot(ws[j], xs, bs[j]).relu() for j in range(1, int(pattern[11:]))]
            return sum(outs[1:], outs[0]) * 0.5
        if pattern == "a dot's bias from the one before":
            d1 = V.dot(ws[1], xs, d0)
            return d1 * d0.relu()
        if pattern == "a dot's bias from a relu before":
            d1 = V.dot(ws[1], xs, d0.relu())
            return d1 + d0
        shared = ws[1][0] if pattern == "a weight read between" else xs[2]
        between = shared * leaves[71]
        d1 = V.dot(ws[1], xs, bs[1])
        return d0 + between + d1 + shared * leaves[72]  # three terms in the shared grad

    _replays_as_built(engine, build, [rng.gauss(0, 1) for _ in range(73)],
                      [[rng.gauss(0, 1) for _ in range(73)] for _ in range(20)])


@pytest.mark.parametrize("pattern", ["a layer of 16 over 9 inputs", "a layer of 6 over 2 inputs",
                                     "a bias that is a later dot's weight",
                                     "a bias that is an input",
                                     "a layer's outputs as a dot's weights"])
def test_dots_run_backward_together_as_one_by_one(engine, pattern):
    """The compiled tape runs the backward of up to eight dots over the same inputs, in a
    row in the walk, together (graph.pxi, _grouped_back): each input's gradient gets their
    products in the same order. Not when a dot's bias is added where a product of another
    is, or a dot reads a gradient another adds to: the first three terms would come in
    another order (a gradient that holds a third term from a newer node shows it), the
    last would miss a term."""
    import random
    V = engine.Value
    rng = random.Random(13)
    n = 2 if "over 2" in pattern else 9 if "over 9" in pattern else 4

    def build(leaves):
        xs, extra = leaves[:n], leaves[-2:]
        ws = [leaves[n + n * j:2 * n + n * j] for j in range(16)]
        bs = leaves[17 * n:17 * n + 16]
        if pattern.startswith("a layer of "):
            outs = [V.dot(ws[j], xs, bs[j]).relu() for j in range(int(pattern.split()[3]))]
            return sum(outs[1:], outs[0]) + xs[0] * extra[0]
        d0 = V.dot(ws[0], xs, bs[0])
        if pattern == "a bias that is a later dot's weight":
            d1 = V.dot(ws[1], xs, ws[0][0])
            return d0 + d1 + ws[0][0] * extra[0]
        if pattern == "a bias that is an input":
            d1 = V.dot(ws[1], xs, xs[0])
            return d0 + d1 + xs[0] * extra[0]
        hidden = [d0.relu()] + [V.dot(ws[j], xs, bs[j]).relu() for j in range(1, n)]
        return V.dot(hidden, xs, bs[n]) + hidden[1] * extra[0]

    size = 17 * n + 16 + 2
    for _ in each_kernel(engine):
        _replays_as_built(engine, build, [rng.gauss(0, 1) for _ in range(size)],
                          [[rng.gauss(0, 1) for _ in range(size)] for _ in range(20)])


@pytest.mark.parametrize("pattern", ["a layer of neurons", "the relu is the root",
                                     "the sum read elsewhere", "a node made between",
                                     "numbers in the dot"])
def test_a_neurons_relu_replays_as_built(engine, pattern):
    """The compiled tape runs a relu in the step of the dot just before it when nothing
    else reads that dot (ops.pxi): every node's data and grad, the dot's and the relu's
    included, are those of the graph built again. (Gaussian numbers: about half of the
    sums are negative, and their relus 0.)"""
    import random
    V = engine.Value
    rng = random.Random(11)

    def build(leaves):
        xs, ws, bs = leaves[:3], [leaves[3 + 3 * j:6 + 3 * j] for j in range(4)], leaves[15:19]
        nodes = []
        if pattern in ("a layer of neurons", "the relu is the root"):
            layer = []
            for j in range(3):
                nodes.append(V.dot(ws[j], xs, bs[j]))
                layer.append(nodes[-1].relu())
            nodes += layer
            nodes.append(V.dot(ws[3], layer, bs[3]))
            nodes.append(nodes[-1].relu())
            if pattern == "a layer of neurons":
                nodes.append(nodes[-1] * xs[0])
        elif pattern == "the sum read elsewhere":
            nodes.append(V.dot(ws[0], xs, bs[0]))
            nodes.append(nodes[-1].relu())
            nodes.append(nodes[-1] * nodes[-2])
        elif pattern == "a node made between":
            nodes.append(V.dot(ws[0], xs, bs[0]))
            nodes.append(xs[1] * 2.0)
            nodes.append(nodes[0].relu())
            nodes.append(nodes[-1] + nodes[1])
        else:
            nodes.append(V.dot([ws[0][0], 2.0], [xs[0], 3], 0.25))
            nodes.append(nodes[-1].relu())
            nodes.append(nodes[-1] * xs[1])
        return nodes

    first = [rng.gauss(0, 1) for _ in range(19)]
    leaves = [V(x) for x in first]
    nodes = build(leaves)
    graph = engine.Graph(nodes[-1])
    for _ in range(12):
        new = [rng.gauss(0, 1) for _ in range(19)]
        for leaf, x in zip(leaves, new):
            leaf.data, leaf.grad = x, 0.0
        graph.forward()
        graph.backward()
        fresh_leaves = [V(x) for x in new]
        fresh = build(fresh_leaves)
        fresh[-1].backward()
        assert _bits([v.data for v in nodes] + [v.grad for v in nodes + leaves]) == \
            _bits([v.data for v in fresh] + [v.grad for v in fresh + fresh_leaves])


@pytest.mark.parametrize("call", ["forward", "backward", "len"])
def test_a_graph_whose_making_raised_refuses_to_run(engine, call):
    """Iterating the inputs runs user code while the Graph is being made, and
    gc.get_objects() hands it the half-made Graph: running it read a tape never made
    (a crash, found by an outsider). It is refused, as by the pure engine."""
    stash = []
    others = {id(o) for o in gc.get_objects() if type(o) is engine.Graph}

    class Inputs:
        def __iter__(self):
            stash.extend(o for o in gc.get_objects() if type(o) is engine.Graph and id(o) not in others)
            raise RuntimeError("no inputs today")

    a = engine.Value(2.0)
    with pytest.raises(RuntimeError, match="no inputs today"):
        engine.Graph(a * a, inputs=Inputs())
    (half_made,) = stash
    run = {"forward": lambda: half_made.forward([1.0]), "backward": half_made.backward,
           "len": lambda: len(half_made)}[call]
    with pytest.raises(AttributeError, match=r"^this Graph was never made: the Graph\(\) call that made it raised$"):
        run()
