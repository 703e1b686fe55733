"""The engine contract (docs/ARCHITECTURE.md, "The engines' contract"), on both engines."""

import copy
import gc
import math
import pickle
import random
import sys
import weakref

import pytest

from engines import cpython_only
from helpers import alive, karpathy_more_ops, karpathy_sanity


def test_sanity_check(engine):
    x, y = karpathy_sanity(engine.Value)
    assert y.data == -20.0
    assert x.grad == 46.0


def test_more_ops(engine):
    a, b, g = karpathy_more_ops(engine.Value)
    assert g.data == 24.70408163265306
    assert a.grad == 138.83381924198252
    assert b.grad == 645.5772594752186


def test_data_and_grad_are_floats(engine):
    v = engine.Value(2)
    assert type(v.data) is float and v.data == 2.0
    assert type(v.grad) is float and v.grad == 0.0
    v.grad = 0  # what Module.zero_grad writes
    assert type(v.grad) is float
    v.data -= 0.5 * 3
    assert v.data == 0.5
    assert repr(engine.Value(2)) == "Value(data=2.0, grad=0.0)"
    assert repr(engine.Value(-1.5) * 2) == "Value(data=-3.0, grad=0.0)"


def test_numbers_of_every_kind(engine):
    np = pytest.importorskip("numpy")
    V = engine.Value
    assert V(True).data == 1.0
    assert V(np.float64(1.5)).data == 1.5
    assert V(np.int64(3)).data == 3.0
    assert (V(2.0) * np.float32(0.5)).data == 1.0
    out = np.int64(-1) * V(3.0)  # the demo's -yi*scorei with a numpy label on the left
    assert isinstance(out, V) and out.data == -3.0
    assert (V(1.0) + 10**15).data == 1e15 + 1.0


def test_op_labels(engine):
    V = engine.Value
    a, b = V(2.0), V(3.0)
    assert (a + b)._op == '+' and (a + 1)._op == '+' and (1 + a)._op == '+'
    assert (a * b)._op == '*' and (a * 2)._op == '*'
    assert (a ** 2)._op == '**2' and (a ** 0.5)._op == '**0.5' and (a ** b)._op == '**'
    assert (a / b)._op == '*'
    assert a.relu()._op == 'ReLU'
    assert [a.tanh()._op, a.exp()._op, a.log()._op, a.sigmoid()._op] == \
        ['tanh', 'exp', 'log', 'sigmoid']
    assert a._op == ''


def test_prev(engine):
    V = engine.Value
    a, b = V(2.0), V(3.0)
    assert (a + b)._prev == {a, b}
    assert (a * a)._prev == {a}
    assert (a ** 2)._prev == {a}
    assert (a ** b)._prev == {a, b}
    assert a.relu()._prev == {a}
    assert a._prev == set()
    # a number operand is kept in the node and shown as a leaf
    prev = (a * 5)._prev
    assert a in prev and len(prev) == 2
    (const,) = prev - {a}
    assert const.data == 5.0 and const._prev == set()
    # x / y is micrograd's x * y**-1
    q = a / b
    (inv,) = q._prev - {a}
    assert inv._op == '**-1' and inv._prev == {b}


def test_label_and_attributes(engine):
    V = engine.Value
    a = V(2.0, label='a')
    assert a.label == 'a'
    e = a * V(3.0)
    assert e.label == ''
    e.label = 'e'
    assert e.label == 'e'
    assert e.data == 6.0
    p = V(1.0)
    p.m = 0.5  # as optimizers do
    p.v = [1, 2]
    assert p.m == 0.5 and p.v == [1, 2]
    del p.m
    assert not hasattr(p, 'm')
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        p.missing


def test_hash_and_equality_by_identity(engine):
    V = engine.Value
    a, b = V(1.0), V(1.0)
    assert a != b and a == a
    assert len({a, b, a}) == 2
    assert hash(a) == hash(a)


def test_subclass(engine):
    class Param(engine.Value):
        def double(self):
            return self * 2

    p = Param(1.5, label='p')
    assert isinstance(p, engine.Value) and p.label == 'p'
    p.note = "kept"
    assert p.note == "kept"
    out = p.double()
    out.backward()
    assert type(out) is engine.Value and out.data == 3.0 and p.grad == 2.0


def test_copy_and_pickle(engine):
    V = engine.Value
    a = V(2.5, label='a')
    a.grad = -1.25
    a.m = 0.5
    for b in (copy.copy(a), copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert type(b) is V and b is not a
        assert (b.data, b.grad, b.label, b.m) == (2.5, -1.25, 'a', 0.5)
    c = pickle.loads(pickle.dumps(a * 2))
    assert c.data == 5.0 and c._prev == set()  # graph links are not kept


def test_the_graph_dies_with_its_root(engine):
    import gc
    V = engine.Value
    x = V(3.0)
    y = (x * 2 + 1).relu()
    living = alive([y, next(iter(y._prev))])
    y.backward()
    del y
    gc.collect()
    assert living() == [False, False]


@pytest.mark.skipif(sys.implementation.name == "pypy", reason="PyPy gives every object weak references")
def test_a_value_cannot_be_weakly_referenced_on_either_engine(engine):
    # 8 bytes a node, kept for the weak reference list, would take a node from Python's
    # 80-byte size class to its 96-byte one (docs/ARCHITECTURE.md). micrograd's Value, a
    # plain class, allows them; a subclass of ours gets them back, as any Python subclass.
    with pytest.raises(TypeError, match="cannot create weak reference to '(.*\\.)?Value' object"):
        weakref.ref(engine.Value(1.0))

    class Weak(engine.Value):
        pass

    w = Weak(2.0)
    assert weakref.ref(w)() is w


def test_backward_accumulates_like_micrograd(engine):
    V = engine.Value
    a, b = V(2.0), V(-3.0)
    y = a * b + a
    y.backward()
    assert (a.grad, b.grad, y.grad) == (-2.0, 2.0, 1.0)
    y.backward()  # the root is reseeded with 1, every other node accumulates,
    # the inner a*b too (its grad is 2 now), exactly as micrograd does
    assert (a.grad, b.grad, y.grad) == (-2.0 + 1.0 + 2 * -3.0, 2.0 + 2 * 2.0, 1.0)


# How a graph came to be decides how backward() orders it (src_pyx/walk.pxi): built in one
# run, it is swept by age; with inner nodes far older than the rest, or children newer than
# their parent, it is found another way. Grads sum in the walk's order, so an order that
# differs between the engines shows in the last bits of a node with many parents.
_HISTORIES = ["built in one run", "inner nodes far older than the rest",
              "inner nodes older than the window", "unrelated nodes made in between",
              "a leaf made again", "children given by hand", "dot operands",
              "a node changed by hand lives elsewhere"]


def _many_parent_sum(V, history):
    rng = random.Random(history)
    xs = [V(rng.uniform(-2, 2)) for _ in range(5)]
    shared = (xs[0] * xs[1] + xs[2]).tanh()  # an inner node with many parents
    if history == "inner nodes far older than the rest":
        for _ in range(60_000):  # serial numbers go by: shared is now far below the root
            V(0.0)
    if history == "inner nodes older than the window":  # (walk.pxi: SPARE_MAX slots)
        for _ in range(300_000):
            V(0.0)
    terms, garbage = [], []
    if history == "a node changed by hand lives elsewhere":  # not in this graph
        elsewhere = V(1.0) * 2
        elsewhere._backward = lambda: None
        garbage.append(elsewhere)
    for i in range(60):
        scale = rng.choice([1e-9, 0.1, 3.0, 7e7])
        if history == "unrelated nodes made in between":
            garbage.append(V(1.0) * 3 + i)
        if history == "dot operands":
            t = V.dot([shared, xs[i % 5], 2.0], [scale, shared, xs[(i + 1) % 5]])
        else:
            t = (shared * scale + xs[i % 5] * shared).relu() * xs[(i + 3) % 5]
        terms.append(t)
    if history == "children given by hand":
        late = V(0.5)
        terms[7]._prev = [late, shared]  # a child newer than its parent (a list: one order)
    if history == "a leaf made again":
        xs[3].__init__(0.75)  # a leaf again, and newer than every node built on it
    rng.shuffle(terms)  # summed in another order than made: micrograd's order differs
    root = terms[0]
    for t in terms[1:]:
        root = root + t
    return root, xs + [shared]


@pytest.mark.parametrize("history", _HISTORIES)
def test_every_walk_order_sums_alike_on_both_engines(engine_pair, history):
    compiled, pure = engine_pair
    grads = []
    for engine in (compiled, pure):
        root, nodes = _many_parent_sum(engine.Value, history)
        root.backward()
        root.backward()  # a second walk over what the first left behind
        grads.append([v.grad for v in nodes])
    assert grads[0] == grads[1]


@cpython_only  # (PyPy frees the pure engine's count keepers in its own time)
def test_nodes_changed_by_hand_are_counted_while_they_live(engine):
    # backward() sweeps only while no such node lives (src_pyx/walk.pxi, pure.py)
    Value, changed_nodes = engine.Value, engine._hand_changed_nodes

    class Plain(Value):
        pass

    class WithInit(Value):
        def __init__(self, x):
            super().__init__(x)

    gc.collect()
    start = changed_nodes()
    x = Value(2.0)
    kept = [x, Value(x), Plain(1.0), copy.deepcopy(x), pickle.loads(pickle.dumps(x)),
            (x * 2 + x).relu(), Value.dot([x], [3.0]), WithInit(1.0), Value(1.0)]
    kept[-1].label = 'a label is not a change'
    made_late = Value.__new__(Value)  # (its serial comes with its memory: made now, it keeps it)
    Value.__init__(made_late, 1.0)
    assert changed_nodes() == start

    changed = [Value(3.0), Value(1.0), x * 3, x * 4, Value(1.0, (x,), 'f'), x * 5]
    Value.__init__(changed[0], 4.0)  # held here: it may be an operand of an older node
    changed[1]._prev = [x]
    changed[2]._backward = lambda: None
    del changed[3]._backward
    assert len(changed[5]._prev) == 2  # its number operand becomes a leaf, newer than itself
    assert changed_nodes() == start + len(changed)
    del changed
    gc.collect()
    assert changed_nodes() == start


def test_a_node_used_before_it_was_made_backpropagates(engine):
    # a compiled node made by __new__ alone has a value (0.0) and may be an operand before
    # __init__ runs (so may a subclass's before its __init__ calls Value's): its serial
    # came with its memory, older than the node built on it, and __init__ keeps it
    V = engine.Value
    early = V.__new__(V)
    try:
        early.data
    except AttributeError:  # the pure node has no fields before __init__
        V.__init__(early, 0.0)
    x = V(2.0)
    y = early * x + x
    V.__init__(early, 3.0)
    y.backward()
    assert (early.grad, x.grad) == (2.0, 4.0)


def test_walks_in_a_row_leave_nothing_behind(engine):
    # one walk cut short (a child newer than its parent) then one swept: the second must
    # find no trace of the first (the compiled sweep's window is emptied on every path)
    V = engine.Value
    for history in _HISTORIES * 2:
        root, nodes = _many_parent_sum(V, history)
        root.backward()
        x = V(1.5)
        y = (x * x + x).relu()
        y.backward()
        assert (y.data, x.grad) == (3.75, 4.0)


def test_reused_node_gets_every_path(engine):
    V = engine.Value
    a = V(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0 and b.grad == 2.0


def test_extension_pattern(engine):
    """Karpathy's pattern: out = Value(x, (a,), 'myop'); out._backward = fn."""
    V = engine.Value

    def cube(a):
        out = V(a.data ** 3, (a,), 'cube')

        def _backward():
            a.grad += 3 * a.data ** 2 * out.grad
        out._backward = _backward
        return out

    x = V(2.0)
    y = cube(x * 1.5) + x  # mixed freely with built-in ops
    assert y.data == 29.0
    y.backward()
    assert x.grad == 3 * 3.0 ** 2 * 1.5 + 1
    assert cube(x)._op == 'cube' and cube(x)._prev == {x}


def test_manual_backward_as_in_the_lecture(engine):
    """The lecture calls o._backward() node by node before writing backward()."""
    V = engine.Value
    x1, w1, b = V(2.0), V(-3.0), V(6.8813735870195432)
    n = x1 * w1 + b
    o = n.tanh()
    o.grad = 1.0
    o._backward()
    assert math.isclose(n.grad, 0.5, rel_tol=1e-9)
    n._backward()
    x1w1 = next(v for v in n._prev if v is not b)
    x1w1._backward()
    assert math.isclose(x1.grad, -1.5, rel_tol=1e-9) and math.isclose(w1.grad, 1.0, rel_tol=1e-9)
    x1._backward()  # a leaf's _backward does nothing


def test_replacing_a_builtin_backward(engine):
    V = engine.Value
    a, b = V(2.0), V(5.0)
    out = a * b
    calls = []
    out._backward = lambda: calls.append(out.grad)
    (out + 1).backward()
    assert calls == [1.0] and a.grad == 0.0 and b.grad == 0.0
    assert out._prev == {a, b} and out._op == '*'


def test_not_a_number_operands_defer(engine):
    V = engine.Value

    class Other:
        def __radd__(self, value):
            return "other"

        def __rmul__(self, value):
            return "other"

    assert V(1.0) + Other() == "other" and V(1.0) * Other() == "other"


OPS = [
    ("add", lambda v: v + 2.5, lambda x: 1.0, 0.7),
    ("radd", lambda v: 2.5 + v, lambda x: 1.0, 0.7),
    ("sub", lambda v: v - 2.5, lambda x: 1.0, 0.7),
    ("rsub", lambda v: 2.5 - v, lambda x: -1.0, 0.7),
    ("mul", lambda v: v * -1.5, lambda x: -1.5, 0.7),
    ("rmul", lambda v: -1.5 * v, lambda x: -1.5, 0.7),
    ("div", lambda v: v / 4.0, lambda x: 0.25, 0.7),
    ("rdiv", lambda v: 3.0 / v, lambda x: -3.0 / x**2, 0.7),
    ("neg", lambda v: -v, lambda x: -1.0, 0.7),
    ("square", lambda v: v ** 2, lambda x: 2 * x, 0.7),
    ("pow_float", lambda v: v ** 1.7, lambda x: 1.7 * x ** 0.7, 0.7),
    ("pow_neg", lambda v: v ** -2, lambda x: -2 * x ** -3, 0.7),
    ("rpow", lambda v: 2.0 ** v, lambda x: 2.0 ** x * math.log(2.0), 0.7),
    ("relu_pos", lambda v: v.relu(), lambda x: 1.0, 0.7),
    ("relu_neg", lambda v: v.relu(), lambda x: 0.0, -0.7),
    ("tanh", lambda v: v.tanh(), lambda x: 1 - math.tanh(x) ** 2, 0.7),
    ("exp", lambda v: v.exp(), lambda x: math.exp(x), 0.7),
    ("log", lambda v: v.log(), lambda x: 1 / x, 0.7),
    ("sigmoid", lambda v: v.sigmoid(), lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2, 0.7),
    ("sigmoid_neg", lambda v: v.sigmoid(), lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2, -3.0),
]


@pytest.mark.parametrize("name, f, df, x", OPS)
def test_each_op_against_finite_differences(engine, name, f, df, x):
    V = engine.Value
    v = V(x)
    out = f(v)
    out.backward()
    h = 1e-6
    numeric = (f(V(x + h)).data - f(V(x - h)).data) / (2 * h)
    assert math.isclose(v.grad, df(x), rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(v.grad, numeric, rel_tol=1e-6, abs_tol=1e-8)


@pytest.mark.parametrize("name, f, df, x", OPS)
def test_each_op_against_pytorch(engine, name, f, df, x):
    """The same expression on a float64 tensor: value and gradient to 1e-12 relative."""
    torch = pytest.importorskip("torch")
    v = engine.Value(x)
    out = f(v)
    out.backward()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    expected = f(t)
    expected.backward()
    assert math.isclose(out.data, expected.item(), rel_tol=1e-12)
    assert math.isclose(v.grad, t.grad.item(), rel_tol=1e-12, abs_tol=1e-300)


def test_value_exponent_against_pytorch(engine):
    torch = pytest.importorskip("torch")
    a, b = engine.Value(1.7), engine.Value(-2.3)
    y = (a ** b) * (2.0 ** a) / b
    y.backward()
    ta, tb = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (1.7, -2.3))
    ty = (ta ** tb) * (2.0 ** ta) / tb
    ty.backward()
    assert math.isclose(y.data, ty.item(), rel_tol=1e-12)
    assert math.isclose(a.grad, ta.grad.item(), rel_tol=1e-12)
    assert math.isclose(b.grad, tb.grad.item(), rel_tol=1e-12)


def test_value_exponent_gradients(engine):
    V = engine.Value
    a, b = V(1.7), V(2.3)
    y = a ** b
    y.backward()
    assert y.data == 1.7 ** 2.3
    assert math.isclose(a.grad, 2.3 * 1.7 ** 1.3, rel_tol=1e-12)
    assert math.isclose(b.grad, 1.7 ** 2.3 * math.log(1.7), rel_tol=1e-12)
    z = V(0.0) ** V(2.0)  # d/db at a zero base is 0, as in PyTorch
    z.backward()
    assert z.data == 0.0


def test_nan_and_inf_propagate_like_floats(engine):
    V = engine.Value
    inf, nan = math.inf, math.nan
    assert (V(inf) * 0).data != (V(inf) * 0).data  # nan
    assert (V(inf) + 1).data == inf
    assert math.isnan(V(nan).relu().data)
    assert V(inf).tanh().data == 1.0 and V(-inf).exp().data == 0.0
    assert V(inf).log().data == inf and math.isnan(V(nan).log().data)
    assert V(1000.0).tanh().data == 1.0 and V(-1000.0).sigmoid().data == 0.0
    assert (V(1e308) * 10).data == inf  # float multiplication overflows quietly


# -- every row of the op table, with no edit when a row is added ------------------------

from micrograd_fast.ops import OPS as TABLE  # noqa: E402

# inputs where each domain's ops are smooth: (first operand, second operand)
DOMAIN_POINTS = {"real": [(0.7, -1.3), (-0.4, 0.9)], "positive": [(0.7, 1.3), (1.9, -0.6)],
                 "nonzero": [(0.7, 1.3), (-0.4, 0.9)]}


def _apply(op, operands, make_dot):
    """The table's op on ``operands`` (Values or tensors): a method for arity 1 and 2."""
    if op.arity == 1:
        return getattr(operands[0], op.name)()
    if op.arity == 2:
        return getattr(operands[0], op.name)(operands[1])
    return make_dot(operands)


def _value_dot(V):
    return lambda xs: V.dot([xs[0], xs[1]], [xs[1], 2.5], xs[0])  # bias + w*x + w*2.5


def _tensor_dot(xs):
    return xs[0] + xs[0] * xs[1] + xs[1] * 2.5


CASES = [(op, point) for op in TABLE for point in DOMAIN_POINTS[op.domain]]


@pytest.mark.parametrize("op, point", CASES, ids=[f"{op.name}{p}" for op, p in CASES])
def test_each_table_row_against_finite_differences(engine, op, point):
    V = engine.Value
    leaves = [V(x) for x in point]
    _apply(op, leaves, _value_dot(V)).backward()
    h = 1e-6
    for i, leaf in enumerate(leaves):
        up, down = list(point), list(point)
        up[i] += h
        down[i] -= h
        numeric = (_apply(op, [V(x) for x in up], _value_dot(V)).data -
                   _apply(op, [V(x) for x in down], _value_dot(V)).data) / (2 * h)
        assert math.isclose(leaf.grad, numeric, rel_tol=1e-6, abs_tol=1e-8), (op.name, i)


@pytest.mark.parametrize("op, point", CASES, ids=[f"{op.name}{p}" for op, p in CASES])
def test_each_table_row_against_pytorch(engine, op, point):
    torch = pytest.importorskip("torch")
    leaves = [engine.Value(x) for x in point]
    out = _apply(op, leaves, _value_dot(engine.Value))
    out.backward()
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    expected = _apply(op, tensors, _tensor_dot)
    expected.backward()
    assert math.isclose(out.data, expected.item(), rel_tol=1e-12)
    for leaf, t in zip(leaves, tensors):
        grad = 0.0 if t.grad is None else t.grad.item()
        assert math.isclose(leaf.grad, grad, rel_tol=1e-12, abs_tol=1e-300), op.name


# -- the lecture's pictures: number operands as micrograd shows them ---------------------

def test_prev_gives_the_same_objects_and_micrograd_s_constant_gradients(engine):
    V = engine.Value
    x = V(3.0)
    y = (x * 2 + 1).relu()
    y.backward()
    (inner,) = y._prev
    assert inner._prev == inner._prev  # the same leaf object on every read
    (one,) = inner._prev - {n for n in inner._prev if n._op == '*'}
    (times,) = inner._prev - {one}
    (two,) = times._prev - {x}
    # micrograd wraps 2 and 1 in Values and backpropagates into them: d y/d 1 = 1, d y/d 2 = x
    assert (one.data, one.grad) == (1.0, 1.0) and (two.data, two.grad) == (2.0, 3.0)
    two.label = 'two'
    assert {n.label for n in times._prev} == {'', 'two'}  # the label stays
    x.grad = 0.0
    y.backward()  # the shown constants are children now, and accumulate as micrograd's do:
    # the inner nodes' grads add up too (times.grad is 3 now), so two.grad is 3 + 3 * 3
    assert (two.grad, x.grad) == (12.0, 6.0)


def test_dot_constants_shown_with_their_gradients(engine):
    V = engine.Value
    w, b = V(-3.0), V(0.5)
    n = V.dot([w, 4.0], [2.0, V(1.5)], b)
    n.backward()
    shown = {v.data: v.grad for v in n._prev}
    assert shown == {-3.0: 2.0, 4.0: 1.5, 2.0: -3.0, 1.5: 4.0, 0.5: 1.0}
    assert n._prev == n._prev


def test_value_of_a_value_is_a_leaf_with_its_data(engine):
    V = engine.Value
    inner = V(2.0) * 3
    v = V(inner)
    assert v.data == 6.0 and v._prev == set() and v._op == ''


def test_hand_built_children_may_be_numbers(engine):
    V = engine.Value
    a = V(1.5)
    out = V(4.0, (a, 2.0), 'f')
    assert {c.data for c in out._prev} == {1.5, 2.0}


def test_negative_base_with_an_integer_value_exponent(engine):
    V = engine.Value
    a, b = V(-2.0), V(3.0)
    y = a ** b
    assert y.data == -8.0
    y.backward()
    assert a.grad == 12.0
    assert math.isnan(b.grad)  # d/db (-2)**b is not real: NaN, as in PyTorch


def test_a_value_of_another_engine_is_named(engine_pair):
    compiled, pure = engine_pair
    for ours, theirs in ((compiled, pure), (pure, compiled)):
        for mix in (lambda: ours.Value(1.0) * theirs.Value(2.0),
                    lambda: ours.Value(1.0) + theirs.Value(2.0),
                    lambda: ours.Value.dot([theirs.Value(1.0)], [1.0]),
                    lambda: ours.Value(theirs.Value(1.0))):
            with pytest.raises(TypeError, match=f"a {theirs.__name__}.Value cannot be mixed with a "
                                                f"{ours.__name__}.Value: they belong to two"):
                mix()


def test_a_micrograd_value_is_named(engine):
    micrograd = pytest.importorskip("micrograd.engine")
    with pytest.raises(TypeError, match="a micrograd.engine.Value cannot be mixed"):
        engine.Value(1.0) * micrograd.Value(2.0)
    with pytest.raises(TypeError, match="call micrograd_fast.install()"):
        engine.Value(micrograd.Value(2.0))
