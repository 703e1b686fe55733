"""The engine's boundary: user code and user hands cannot break it.

User code that runs in the middle of an operation (a number's ``__float__`` or
``__index__``, a ``__del__``, a weakref callback, a ``_backward``) may change
anything it can reach; a gradient hook wraps a node's ``_backward``; a reference
cycle may run through any attribute; a huge walk must not leave its scratch
memory behind; and nothing inside the engine may be reachable and mutable from
Python. A mistake here crashes the interpreter, so every program that could
crash runs in a child process (``run_on``): the test fails, the run goes on.
Where micrograd defines the outcome, the program also runs on micrograd (whose
Value has the same ``_backward`` and ``_prev``) and must print the same.
"""

import gc
import numbers
import sys

import pytest

from micrograd_fast.engine import ENGINES

from engines import cpython_only
from helpers import alive, run_on


MICROGRAD = "micrograd.engine"  # Karpathy's micrograd 0.1.0: + * ** relu, no label


# -- user code run in the middle of Value.dot ---------------------------------------------

DOT_WITH_A_NUMBER_THAT_CLEARS = """
class Clears:
    '''A number whose conversion changes the operand lists.'''
    def {method}(self):
        {mutation}
        return {value}

ws = {ws}
xs = [V(4.0), V(5.0), V(6.0)]
w0, w2 = ws[0], ws[2]
x0, x1, x2 = xs
out = V.dot(ws, xs, {bias})
out.backward()
show(out.data, w0.grad, w2.grad, x0.grad, x1.grad, x2.grad)
"""


@pytest.mark.parametrize("ws, bias, total", [
    ("[V(1.0), Clears(), V(3.0)]", "0.5", "32.5"),   # 0.5 + 1*4 + 2*5 + 3*6
    ("[V(1.0), V(2.0), V(3.0)]", "Clears()", "34.0"),  # 2 + 1*4 + 2*5 + 3*6
], ids=["a weight", "the bias"])
@pytest.mark.parametrize("mutation", ["ws.clear(); xs.clear()", "del xs[1:]; ws.pop()",
                                      "xs.append(V(100.0)); ws.insert(0, 7.0)"])
@pytest.mark.parametrize("method, value", [("__float__", "2.0"), ("__index__", "2")])
def test_dot_reads_its_operands_as_they_were_when_called(engine, method, value, mutation, ws, bias, total):
    """Whatever the number's conversion does to the lists, the sum is over them as they
    were. (With the bias converting, the compiled engine once read the cleared lists
    past their end: a crash.)"""
    program = DOT_WITH_A_NUMBER_THAT_CLEARS.format(method=method, value=value, mutation=mutation,
                                                   ws=ws, bias=bias)
    assert run_on(engine.__name__, program).split() == [total, "4.0", "6.0", "1.0", "2.0", "3.0"]


DOT_WHILE_A_COLLECTION_CHANGES_AN_OPERAND = """
import gc
gc.disable()
keep = [V(0.0) for _ in range(70_000)]  # more than are kept for reuse: the next node is a new allocation
w0, x0 = V(2.0), V(3.0)
ws, xs = [w0], [x0]
class Changes:
    def __del__(self):
        w0.data = 5.0
c = Changes(); c.me = c; del c  # garbage, for the next collection
gc.set_threshold(1)  # which the next allocation the collector counts starts
gc.enable()
out = V.dot(ws, xs, 0.5)
gc.disable()
show(out.data, w0.data)
"""


# CPython 3.12 and later run the collection an allocation starts at the interpreter's next
# check between bytecodes, not inside the allocation: C code runs to its end first.
COLLECTS_INSIDE_ALLOCATIONS = sys.version_info < (3, 12)


@cpython_only  # (CPython's collector: gc.set_threshold, gc.callbacks)
def test_dot_reads_its_operands_after_a_collection_while_it_is_made(engine):
    """0.5 + 5*3: the compiled engine sums the operands as it takes them, then makes the
    node, whose memory may start a collection that runs a __del__; a number changed
    then is read again (without that check the sum was 0.5 + 2*3). On CPython 3.12 and
    later the collection waits for the compiled dot to return: it is 0.5 + 2*3, and the
    number changes after it. The pure engine's dot is Python code: the collection runs
    inside it on every version."""
    inside = COLLECTS_INSIDE_ALLOCATIONS or engine.__name__ == ENGINES["pure"]
    expected = ["15.5", "5.0"] if inside else ["6.5", "5.0"]
    assert run_on(engine.__name__, DOT_WHILE_A_COLLECTION_CHANGES_AN_OPERAND).split() == expected


DOT_WHILE_A_COLLECTION_EMPTIES_ITS_LISTS = """
import gc
gc.disable()
ws, xs = [V(1.0) for _ in range(2000)], [V(2.0) for _ in range(2000)]
class Empties:
    def __del__(self):
        ws.clear()
        xs.clear()
        junk = [[V(1e9) for _ in range(20)] for _ in range(1000)]  # the lists' memory, reused
c = Empties(); c.me = c; del c  # garbage, for the next collection
gc.set_threshold(1)  # which the next allocation the collector counts starts
gc.enable()
try:
    out = V.dot(ws, xs, 0.5)
except ValueError as error:  # (the lists read at different times: 2000 and 0)
    print("unequal" if "as many weights as inputs" in str(error) else error)
else:
    show(out.data)
gc.disable()
"""


@cpython_only  # (CPython's collector: gc.set_threshold)
def test_dot_reads_its_lists_as_a_collection_while_it_is_made_leaves_them(engine):
    """The compiled dot took the lists' length, then made its operand tuple (4001 items:
    a new allocation, which starts the collection), then read the lists in place, past
    the end of the emptied lists: a crash. The pure engine's tuple(ws) crashed the same
    way, inside CPython 3.11. Now the lists are read as the collection left them: empty,
    the bias alone. From 3.12 on the collection waits for the interpreter's next check:
    after the compiled dot returns (all of both lists); in the pure dot, which is Python
    code, wherever that check comes (3.13: between copying the weights and the inputs)."""
    out = run_on(engine.__name__, DOT_WHILE_A_COLLECTION_EMPTIES_ITS_LISTS).split()
    if COLLECTS_INSIDE_ALLOCATIONS:
        assert out == ["0.5"]
    elif engine.__name__ == ENGINES["pure"]:
        assert out in (["0.5"], ["4000.5"], ["unequal"])
    else:
        assert out == ["4000.5"]


GRAPH_WHILE_A_COLLECTION_EMPTIES_ITS_INPUTS = """
import gc
gc.disable()
leaves = [V(float(i)) for i in range(2000)]
loss = V.dot(leaves, [1.0] * 2000)
inputs = list(leaves)
class Empties:
    def __del__(self):
        inputs.clear()
        junk = [[V(1e9) for _ in range(20)] for _ in range(1000)]  # the list's memory, reused
c = Empties(); c.me = c; del c  # garbage, for the next collection
gc.enable()
gc.set_threshold(gc.get_count()[0] + {later})  # the collection starts at one of the next allocations
graph = E.Graph(loss, inputs=inputs)
gc.disable()
graph.forward()
show(loss.data)
"""


@cpython_only
@pytest.mark.parametrize("later", range(4))
def test_a_graph_copies_its_inputs_as_a_collection_while_it_is_made_leaves_them(engine, later):
    """Graph(loss, inputs=a_list) copied the list with tuple(), which on CPython 3.11 takes
    the list's length, makes the tuple (an allocation, which may start the collection,
    here one allocation after the Graph's own) and then copies that many items from the
    list that the collection emptied: a crash, on both engines."""
    program = GRAPH_WHILE_A_COLLECTION_EMPTIES_ITS_INPUTS.format(later=later)
    assert run_on(engine.__name__, program).split() == ["1999000.0"]


A_KEY_WITH_THE_HASH_OF_PREV = """
state = {{}}
class SameHash:
    # a __dict__ key whose hash is '_prev''s: looking '_prev' up by its hash calls __eq__
    def __hash__(self):
        return hash('_prev')
    def __eq__(self, other):
        if state.pop("armed", False):
            print("__eq__ ran inside the walk")
            V.__init__(state["root"], 0.0)  # the root a leaf: the walk's nodes freed
            state["junk"] = [V(float(i)) * 2.0 for i in range(100_000)]  # their memory reused
        return False
x = V(2.0)
y = x * 3.0
z = V(y.data, (y,), 'f')  # made by hand: the walk reads its __dict__
z._backward = lambda: print("z's _backward ran")
attributes = dict(vars(z))
vars(z).clear()
vars(z)[SameHash()] = 1  # first in the dict, before '_prev'
vars(z).update(attributes)
root = state["root"] = z * 5.0
state["armed"] = True
{call}
print(root.data, state.get("armed"))
"""


@pytest.mark.parametrize("call", ["root.backward()", """
try:
    E.Graph(root)  # which refuses a node with a Python _backward, after finding the order
except ValueError:
    print("refused")"""], ids=["backward", "Graph"])
def test_the_walk_finds_a_hand_given_prev_without_running_a_key_s_eq(engine, call):
    """The compiled walk looked '_prev' up in the node's __dict__ by its hash: a key of
    the user's with the same hash ran its __eq__, which freed the nodes the walk holds
    (a use after free). Both engines now look at the keys themselves."""
    out = run_on(engine.__name__, A_KEY_WITH_THE_HASH_OF_PREV.format(call=call))
    assert out == ("z's _backward ran" if call == "root.backward()" else "refused") + "\n30.0 True\n"


def test_dot_reads_a_list_before_an_iterable_that_changes_it(engine):
    """The weights are taken as they were when dot was called, though iterating the
    inputs replaces or clears them (the compiled engine once kept the list in place)."""
    V = engine.Value
    a, b, c, d = V(1.0), V(2.0), V(10.0), V(20.0)
    ws = [a, b]

    def replaces():
        ws[:] = [c, d]
        yield 3.0
        yield 4.0

    assert V.dot(ws, replaces()).data == 11.0
    ws = [a, b]

    def clears():
        ws.clear()
        yield 3.0
        yield 4.0

    assert V.dot(ws, clears()).data == 11.0


def test_dot_reads_each_sequence_once_and_first(engine):
    """Any iterable: each is iterated once, before any operand is converted."""
    events = []

    class Seq:
        def __init__(self, name, items):
            self.name, self.items = name, items

        def __iter__(self):
            events.append(f"iter {self.name}")
            return iter(self.items)

    class Number:
        def __float__(self):
            events.append("float")
            return 2.0

    x = engine.Value(3.0)
    out = engine.Value.dot(Seq("ws", [Number(), 1.0]), Seq("xs", [x, Number()]), 0.0)
    assert out.data == 8.0
    assert events[:2] == ["iter ws", "iter xs"] and events.count("iter ws") == 1
    assert events.count("iter xs") == 1 and events.count("float") == 2


DOT_WHOSE_OPERAND_DIES = """
import weakref
class Number:
    def __float__(self):
        return 2.0
{extra}
def numbers():  # each number's last reference is the engine's
    yield 1.0
    yield {make}

xs = [V(4.0), V(5.0)]
x0, x1 = xs
out = V.dot(numbers(), xs, 0.5)
out.backward()
show(out.data, x0.grad, x1.grad)
"""


@pytest.mark.parametrize("how", ["__del__", "weakref callback"])
def test_dot_survives_an_operand_that_runs_code_when_dropped(engine, how):
    if how == "__del__":
        extra = "    def __del__(self):\n        xs.clear()\n"
        make = "Number()"
    else:
        extra = "keep = []\n"
        make = "keep.append(weakref.ref(n := Number(), lambda r: xs.clear())) or n"
    program = DOT_WHOSE_OPERAND_DIES.format(extra=extra, make=make)
    assert run_on(engine.__name__, program).split() == ["14.5", "1.0", "2.0"]


class _CountedNumber:
    """A real number that counts its conversions."""

    calls = 0

    def __float__(self):
        _CountedNumber.calls += 1
        return 2.0


numbers.Real.register(_CountedNumber)


def test_a_numbers_conversion_runs_once_where_it_is_read_once(engine):
    """A child given by hand and the base of a power: each number is converted once (the
    pure engine converted each twice, the compiled one once)."""
    V = engine.Value
    _CountedNumber.calls = 0
    node = V(1.0, (_CountedNumber(),))
    assert [child.data for child in node._prev] == [2.0] and _CountedNumber.calls == 1
    _CountedNumber.calls = 0
    assert (_CountedNumber() ** V(3.0)).data == 8.0 and _CountedNumber.calls == 1


# -- user code run in the middle of backward() ---------------------------------------------
# Only + * relu, so that micrograd runs the same program: its topological order is
# built first, with strong references, and each node's _backward is looked up when
# its turn comes.

BACKWARD_PROGRAMS = {
    # a user node's _backward makes a node above it a leaf again, dropping the last
    # reference to the nodes below that one, which the walk has still to visit
    "drops_the_rest_of_the_graph": """
x = V(3.0)
y = (x * 2 + 1).relu()
z = V(7.0, (y,), 'user')
def _backward():
    y.__init__(0.0)
z._backward = _backward
z.backward()
show(x.grad, y.grad, z.grad)
""",
    # the same, through a hand-set _prev that was the only holder of the children
    "empties_a_prev": """
x = V(3.0)
mid = V(5.0, (x * 2,), 'user')
mid._prev = {x * 3}
z = mid * mid
def _backward():
    mid._prev = set()
    mid.grad += 1.0
m2 = V(1.0, (z,), 'user')
m2._backward = _backward
m2.backward()
show(x.grad, mid.grad, z.grad)
""",
    # a _backward that gives nodes still to come (and one already done) another _backward
    "reassigns_other_backwards": """
x = V(3.0)
a = x * 2
b = a + 1
c = b * b
ran = []
def late():
    ran.append('late')
    a.grad += 100.0
def _backward():
    b._backward = late
    c._backward = lambda: ran.append('c, replaced')
    x.grad += 1000.0
root = V(0.0, (c,), 'user')
root._backward = _backward
root.backward()
show(x.grad, a.grad, b.grad)
print(ran)
""",
    # a _backward that gives plain leaves below it one of their own, under built-in nodes
    "gives_leaves_a_backward": """
x, w = V(3.0), V(2.0)
h = x * w + x
ran = []
def _backward():
    h.grad += u.grad
    x._backward = lambda: ran.append(('x', x.grad))
    w._backward = lambda: ran.append(('w', w.grad))
u = V(h.data, (h,), 'user')
u._backward = _backward
root = (u * 2 + 1).relu() * 3
root.backward()
show(x.grad, w.grad, h.grad)
print(sorted(ran))  # (micrograd walks a set: x and w come in either order)
""",
    # a _backward that reassigns its own _backward: the new one runs on the next backward
    "reassigns_its_own_backward": """
x = V(3.0)
y = x * 4
ran = []
first = y._backward
def swap():
    ran.append('swap')
    first()
    y._backward = lambda: ran.append('second')
y._backward = swap
y.backward()
y.backward()
show(x.grad)
print(ran)
""",
}


@pytest.mark.parametrize("name", sorted(BACKWARD_PROGRAMS))
def test_user_code_during_backward_as_micrograd(engine, name):
    program = BACKWARD_PROGRAMS[name]
    assert run_on(engine.__name__, program) == run_on(MICROGRAD, program)


BACKWARD_CLEARS_DICTS = """
x = V(3.0)
y = x * 2
y.label = 'y'
y.note = [1]
u = V(4.0, (y,), 'u')
u._backward = lambda: setattr(y, 'grad', y.grad + u.grad)
w = V(1.0, (u, y), 'w')
def _backward():
    for node in (u, y):
        vars(node).clear()  # whatever the engine keeps there is the user's to drop
    u.grad += 1.0
w._backward = _backward
try:
    w.backward()
    print('ok', x.grad, y.grad, u.grad)
except Exception as e:
    print(type(e).__name__, str(e).replace(E.__name__ + '.', ''))
print(sorted(vars(u)), sorted(vars(y)))
"""


def test_a_backward_that_clears_other_nodes_dicts(engine_pair):
    """No crash, and both engines do the same (micrograd keeps data and grad there too,
    so it has nothing to compare with)."""
    compiled, pure = (run_on(e.__name__, BACKWARD_CLEARS_DICTS) for e in engine_pair)
    assert compiled == pure


# -- user code run by the garbage collector while the engine reads a graph ------------------
# A collection may start at any allocation and run a __del__ or a gc.callbacks hook. While
# backward() finds its order (nodes held by borrowed pointers) and while Graph() reads the
# nodes into its tape, the compiled engine keeps the collector from starting: the code
# runs before or after, never in between. (When, exactly, differs between the engines: the
# pure one allocates all the time.)

WALK_WHILE_A_FINALIZER_FREES_NODES = """
import gc, math
x, y = V(2.0), V(3.0)
mid = (x * y).tanh()                 # x*y is held by mid alone
z = V(0.5)
py = V(z.data * 3, (z,), 'triple')   # a node with a Python _backward: the full walk
def bw():
    z.grad += 3 * py.grad
py._backward = bw
root = mid + py
class Trap:                          # garbage whose finalizer frees x*y
    def __init__(self):
        self.me = self
    def __del__(self):
        mid.__init__(0.0)
gc.disable(); Trap()
keep = [[] for _ in range(200)]      # empties the lists kept for reuse: the next list is counted
gc.set_threshold(1); gc.enable()
root.backward()
gc.set_threshold(700); gc.collect()
ran_first = x.grad == 0.0            # the finalizer ran before the order was found
print(ran_first, x.grad == (0.0 if ran_first else (1 - math.tanh(6.0) ** 2) * 3.0),
      y.grad == (0.0 if ran_first else (1 - math.tanh(6.0) ** 2) * 2.0), z.grad, mid.data)
"""


@cpython_only  # (CPython's collector: gc.set_threshold, gc.callbacks)
def test_backward_while_a_collection_frees_nodes(engine):
    """The finalizer frees a node of the graph: the compiled engine once read it after it
    was freed, in the middle of finding the order (a crash)."""
    ran_first, x_right, y_right, z_grad, mid = run_on(engine.__name__, WALK_WHILE_A_FINALIZER_FREES_NODES).split()
    assert (x_right, y_right, z_grad, mid) == ("True", "True", "3.0", "0.0")


GRAPH_WHILE_A_HOOK_CHANGES_A_NODE = """
import gc, math
state = {"count": 0, "fire_at": 0, "d": None}
def hook(phase, info):
    if phase == "start" and state["d"] is not None:
        state["count"] += 1
        if state["count"] == state["fire_at"]:
            list(state["d"]._prev)   # the dot's number operand 2.0 is shown as a leaf from now on
gc.callbacks.append(hook)
wrong = 0
for k in range(1, 40):               # the hook runs at the k-th collection inside Graph()
    w1, w2, x1 = V(0.5), V(-1.5), V(3.0)
    d = V.dot([w1, w2], [x1, 2.0], 0.25)
    state.update(count=0, fire_at=k, d=d)
    gc.set_threshold(1)
    g = E.Graph(d.tanh())
    gc.set_threshold(700)
    state["d"] = None
    leaf = [c for c in d._prev if c.data == 2.0][0]
    leaf.data = 5.0                  # the leaf is an operand now: the replay reads it
    got = g.forward()
    g.backward()
    wrong += got != math.tanh(0.25 + 0.5 * 3.0 - 1.5 * 5.0) or leaf.grad == 0.0
print(wrong)
"""


@cpython_only  # (CPython's collector: gc.set_threshold, gc.callbacks)
def test_a_graph_is_made_from_the_nodes_as_they_are_though_a_collection_changes_one(engine):
    """A gc.callbacks hook shows a dot's number as a leaf while Graph() reads the nodes:
    the compiled engine once made its tape from the dot as it was before, and marked it
    up to date with the dot as it was after, so every replay ignored the new leaf."""
    assert run_on(engine.__name__, GRAPH_WHILE_A_HOOK_CHANGES_A_NODE).split() == ["0"]


# -- _backward saved and restored: a gradient hook -----------------------------------------

HOOKS = """
x = V(3.0)
w = V(-2.0)
y = x * w + x
z = (y * y).relu()
{hook}
z.backward()
z.backward()
show(x.grad, w.grad, y.grad, z.grad)
print(calls)
"""

HOOK_CASES = {
    "none": "calls = []",
    "restored": "calls = []\nold = y._backward\ny._backward = old",
    "restored_twice": "calls = []\nfor n in (y, z, y):\n    n._backward = n._backward",
    "wrapped": """calls = []
old = y._backward
def hook():
    old()
    calls.append('y')
y._backward = hook""",
    "wrapped_in_a_chain": """calls = []
for i in range(50):
    def hook(old=y._backward, i=i):
        old()
        calls.append(i)
    y._backward = hook""",
    "wrapped_everywhere": """calls = []
for n in (x, w, y, z):
    def hook(old=n._backward, n=n):
        old()
        calls.append(n.data if n._prev else 'leaf')  # micrograd's set: leaves in any order
    n._backward = hook""",
}


@pytest.mark.parametrize("case", sorted(HOOK_CASES))
def test_gradient_hooks_as_micrograd(engine, case):
    """A node's own _backward, read and assigned back or wrapped, runs once per backward()."""
    program = HOOKS.format(hook=HOOK_CASES[case])
    out = run_on(engine.__name__, program)
    assert out == run_on(MICROGRAD, program)
    unhooked = run_on(engine.__name__, HOOKS.format(hook=HOOK_CASES["none"]))
    assert out.split("\n")[0] == unhooked.split("\n")[0]


SWAPPED = """
x = V(3.0)
y = x * x
z = (y + 1).relu()
oy, oz = y._backward, z._backward
y._backward = oz  # each node runs the other's local derivative
z._backward = oy
{more}
z.backward()
show(x.grad, y.grad, z.grad)
"""


@pytest.mark.parametrize("more", ["", "y._backward, z._backward = z._backward, y._backward",
                                  "x._backward = y._backward\ny._backward = x._backward"])
def test_backwards_swapped_between_nodes_as_micrograd(engine, more):
    """Never a recursion in C: the closures micrograd would have, run where they are put."""
    program = SWAPPED.format(more=more)
    assert run_on(engine.__name__, program) == run_on(MICROGRAD, program)


def test_hooks_agree_with_tanh_and_dot(engine_pair):
    """Ops micrograd lacks: the hooked graph's grads equal the unhooked one's, on both."""
    program = """
x = V(0.5)
y = V.dot([x, 2.0], [x.tanh(), x.exp()], x.sigmoid()).log()
{hook}
y.backward()
print(x.grad.hex(), calls)
"""
    hook = """calls = []
for n in (y, y):
    def wrapped(old=n._backward):
        old()
        calls.append(1)
    n._backward = wrapped"""
    outs = [run_on(e.__name__, program.format(hook=h)) for e in engine_pair
            for h in ("calls = [1, 1]", hook)]
    assert len(set(outs)) == 1, outs


# -- every reference cycle through a node is collected -----------------------------------

def _cycle_through_label_list(V):
    v = V(1.0) * 2
    v.label = [v]
    return [v]


def _cycle_through_label_dict(V):
    v = V(1.0) + 2
    v.label = {"me": v}
    return [v]


def _cycle_through_a_label_filled_later(V):
    v = V(1.0).relu()
    label = {}
    v.label = label
    label["me"] = v
    return [v]


def _cycle_through_op(V):
    v = V(1.0) * 3
    v._op = [v]
    return [v]


def _cycle_through_an_attribute_of_a_leaf(V):
    v = V(1.0)
    v.anything = {"me": v}
    return [v]


def _cycle_through_an_attribute_of_a_dot(V):
    v = V.dot([V(1.0)], [2.0])
    v.anything = [v]
    return [v]


def _cycle_through_a_dots_operands(V):
    w, x = V(1.0), V(2.0)
    d = V.dot([w, 3.0], [x, w], 0.5)  # a dot holds its operands in a tuple of its own
    w.outputs = [d]  # attached after d was built on w
    return [w, x, d]


def _cycle_through_a_dots_operands_deeper(V):
    w = V(1.0)
    h = V.dot([w], [2.0]).relu()
    out = V.dot([h, w], [w, h])
    w.outputs = {"out": out}
    return [w, h, out]


def _cycle_through_a_backward_closure(V):
    x = V(1.0)
    y = x * 2

    def _backward():
        x.grad += 2 * y.grad  # holds y; y holds it
    y._backward = _backward
    y.backward()
    return [x, y]


def _cycle_through_prev_set_by_hand(V):
    a, b = V(1.0), V(2.0)
    a._prev = {b}
    b._prev = {a}
    return [a, b]


def _cycle_through_a_container_attached_after(V):
    x = V(1.0)
    y = x * 2  # built on x first
    x.history = [y]
    return [x, y]


def _cycle_through_a_container_attached_after_deeper(V):
    x = V(1.0)
    z = (x * 2).relu()
    x.h = [z]
    return [x, z]


CYCLES = {f.__name__[len("_cycle_through_"):]: f for f in [
    _cycle_through_label_list, _cycle_through_label_dict, _cycle_through_a_label_filled_later,
    _cycle_through_op, _cycle_through_an_attribute_of_a_leaf, _cycle_through_an_attribute_of_a_dot,
    _cycle_through_a_dots_operands, _cycle_through_a_dots_operands_deeper,
    _cycle_through_a_backward_closure, _cycle_through_prev_set_by_hand,
    _cycle_through_a_container_attached_after, _cycle_through_a_container_attached_after_deeper]}


@pytest.mark.parametrize("make", sorted(CYCLES))
def test_every_cycle_through_a_node_is_collected(engine, make):
    nodes = CYCLES[make](engine.Value)
    living = alive(nodes)
    del nodes
    gc.collect()
    assert not any(living())


# -- a dot's operands released as its node is freed ------------------------------------------
# The compiled engine keeps a freed dot's long operand tuple for the next dot of that length
# (node.pxi): the operands' __del__ runs while that tuple is being emptied.

DOT_OPERANDS_RUN_CODE_WHEN_FREED = """
made = []
class Noisy(V):
    def __del__(self):  # runs while the dot that held it is being freed
        out = V.dot([V(1.0)] * 12, [V(2.0)] * 12, 0.0)  # a dot of the same length
        out.backward()
        made.append(out.data)
for k in range(50):
    ws = [Noisy(float(i)) for i in range(12)]
    d = V.dot(ws, [V(float(k))] * 12, 1.0)  # the last step's dot and its Noisy go here
    del ws
    d.backward()
    show(d.data, d._operands[1].grad, d._operands[2].grad)
import gc
gc.collect()  # PyPy runs a __del__ when it collects, not when the last reference goes
print(len(made), set(made))
"""


def test_a_dots_operands_may_run_code_as_it_is_freed(engine):
    out = run_on(engine.__name__, DOT_OPERANDS_RUN_CODE_WHEN_FREED).splitlines()
    assert out[:-1] == [f"{1.0 + 66.0 * k} {float(k)} 66.0" for k in range(50)]
    assert out[-1] == "588 {24.0}"  # 49 dots freed, 12 operands each


# -- scratch memory after a huge walk ------------------------------------------------------

SCRATCH = """
import gc, tracemalloc
x = V(0.5)
y = x
for _ in range(10**6):
    y = y + 1.0
tracemalloc.start()  # before the walk: its scratch memory is counted, the graph's is not
y.backward()
assert x.grad == 1.0
del x, y
gc.collect()
print(tracemalloc.get_traced_memory()[0])
"""


@cpython_only
def test_scratch_memory_is_returned_after_a_huge_walk(engine, figures):
    held = int(run_on(engine.__name__, SCRATCH))
    figures.add(f"held after a 10**6-node walk, {engine.__name__}", f"{held} bytes")
    assert held < 2**20


# -- nothing inside the engine can be reached and mutated ---------------------------------

MUTABLE = (list, dict, set, bytearray)


def _mutable_internals(roots, allowed):
    """Every list, dict, set or bytearray reachable from ``roots`` through
    gc.get_referents that is neither an object's own vars() (a node's, or a pure
    Graph's, which gc.get_referents shows where CPython keeps it as a dict: 3.10 and
    before) nor in ``allowed`` (objects the user put there, not looked into). Types and
    modules are not followed."""
    import sys
    modules = [m for m in list(sys.modules.values()) if m is not None]
    outside = {id(vars(m)) for m in modules if hasattr(m, "__dict__")}
    allowed_ids = {id(a) for a in allowed}
    seen, found, todo = set(), [], list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen or id(obj) in allowed_ids or id(obj) in outside:
            continue
        seen.add(id(obj))
        if isinstance(obj, type) or type(obj).__name__ in ("module", "code"):
            continue
        if isinstance(obj, MUTABLE):
            owners = [v for v in gc.get_referrers(obj) if getattr(v, "__dict__", None) is obj]
            if not owners:
                found.append(obj)
        todo.extend(gc.get_referents(obj))
    return found


def test_no_internal_object_is_mutable_from_python(engine):
    V = engine.Value
    label, extra = ["mine"], {"k": 1}
    x = V(2.0, label="x")
    w = V(-1.0)
    custom = V(1.0, (x,), 'f')
    mine = custom._backward = lambda: None
    custom.label = label
    custom.m = extra
    dot = V.dot([w, 3.0], [x, custom], 0.5)
    root = (dot * x + 2).relu().tanh() ** 2
    graph = engine.Graph((x * w + 1).tanh())
    found = _mutable_internals([x, custom, dot, root, graph], allowed=[label, extra, mine])
    assert found == []


GRAPH_LIST_CLEARED = """
import gc
x = V(0.5)
mid = (x * 1.5).tanh()
root = mid + 1.0
del mid
g = E.Graph(root)
for r in gc.get_referents(g):
    if isinstance(r, (list, dict)):
        r.clear()
root.__init__(0.0)  # nothing but the Graph holds the rest of the graph now
gc.collect()
k = V(7.0)
bystanders = [k * 1.0 for _ in range(20)]  # new nodes, perhaps in the freed memory
for b in bystanders:
    b.grad = 7.0
try:
    g.backward()
except Exception as e:
    print(type(e).__name__)
print(sorted({b.grad for b in bystanders}))
"""


def test_a_graphs_referents_cannot_break_its_backward(engine):
    """The known exploit: the compiled Graph's node list, emptied by hand, left its
    backward() writing through freed pointers, into unrelated nodes."""
    assert run_on(engine.__name__, GRAPH_LIST_CLEARED).split("\n")[-2] == "[7.0]"
