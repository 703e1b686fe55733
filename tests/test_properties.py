"""Property tests: random expression graphs over every operation.

Hypothesis draws *programs*: a few leaf values, then steps that each apply one
operation (+ - * / ** with Values and numbers on either side, unary -, relu,
tanh, exp, log, sigmoid, Value.dot) to earlier nodes and numbers, so that nodes
are shared (a DAG, not a tree). The root is the sum of the nodes that no step
uses, so every step is on the way to the gradients. A failing program is shown
as the Python code that builds it.

Every program gives, on each engine:

- the same data and grads, bit for bit, on the compiled and the pure engine,
  or the same exception class in the same phase (building or backward);
- leaf gradients that agree with central finite differences;
- the data and leaf gradients of PyTorch in float64, and of micrograd itself
  (on the operations it has), to 1e-12 relative, or within the rounding error
  bound of the computation where it is too ill-conditioned for that;
- the same numbers when a Graph replays it with new leaf values as when it is
  built again from them, or the same exception.

The "ci" profile (registered in conftest.py, the default) is derandomized: each
run checks the same 500 examples per test. A local soak draws new ones, 20,000
per test (about half an hour):

    HYPOTHESIS_PROFILE=soak .venv/bin/pytest tests/test_properties.py
"""

import math
import operator
import struct
from dataclasses import dataclass
from typing import NamedTuple

import pytest

pytest.importorskip("hypothesis")
from hypothesis import assume, event, given, reject, strategies as st  # noqa: E402

from helpers import each_kernel  # noqa: E402

# -- programs --------------------------------------------------------------------


class Node(NamedTuple):
    """An operand that is an earlier node: the leaves come first, then one node per step."""
    index: int

    def __repr__(self):
        return f"v{self.index}"


BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "**": operator.pow}
UNARY = ("neg", "relu", "tanh", "exp", "log", "sigmoid")
ALL_OPS = (*BINARY, *UNARY, "dot")
MICROGRAD_OPS = ("+", "-", "*", "/", "**", "neg", "relu", "dot")  # micrograd 0.1.0's, dot unfused


def _flat_operands(step):
    """A step's operands in the engines' order: Value.dot's are bias, w0, x0, w1, x1, ..."""
    op, *operands = step
    if op == "dot":
        bias, ws, xs = operands
        return [bias, *(o for pair in zip(ws, xs) for o in pair)]
    return operands


def _text(operand):
    if isinstance(operand, Node):
        return repr(operand)
    # a negative number in parentheses: -2.0 ** v1 would be -(2.0 ** v1)
    return f"({operand!r})" if math.copysign(1, operand) < 0 else repr(operand)


def _source(step):
    op, *operands = step
    if op == "dot":
        bias, ws, xs = operands
        return (f"Value.dot([{', '.join(map(_text, ws))}], [{', '.join(map(_text, xs))}], "
                f"{_text(bias)})")
    if op in BINARY:
        return f"{_text(operands[0])} {op} {_text(operands[1])}"
    if op == "neg":
        return f"-{_text(operands[0])}"
    return f"{_text(operands[0])}.{op}()"


@dataclass(frozen=True)
class Program:
    leaves: tuple  # the leaves' data
    steps: tuple  # (op, *operands): an operand is a Node or a number; dot's are (bias, ws, xs)

    def __repr__(self):  # the code that builds it, for a failing example
        lines = [f"v{i} = Value({x!r})" for i, x in enumerate(self.leaves)]
        lines += [f"v{i} = {_source(step)}" for i, step in enumerate(self.steps, len(self.leaves))]
        return "\n    ".join(["Program:", *lines, f"# the root is v{len(lines) - 1}"])

    def _repr_pretty_(self, printer, cycle):  # how Hypothesis shows an example
        printer.text(repr(self))


# small ints for exact arithmetic, and -0.0, which floats() seldom draws, for the sign of zeros
LEAF_DATA = st.one_of(st.floats(-3, 3), st.integers(-3, 3).map(float), st.just(-0.0))
NUMBERS = st.one_of(st.integers(-3, 3), st.floats(-3, 3), st.just(-0.0))  # an int stays an int
EXPONENTS = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, -0.5, 1.5, 2.5]), st.floats(-3, 3))
# the base of number ** Value: a negative one always raises; 0.0 raises in backward below 1
BASES = st.one_of(st.sampled_from([0.0, 0.5, 2.0, math.e]), st.floats(0.25, 4))


def _draw_node(draw, n_nodes):
    """An earlier node: half the time the last one, which makes chains, else any, which
    shares nodes."""
    last = n_nodes - 1
    return Node(last if draw(st.booleans()) else draw(st.integers(0, last)))


def _draw_binary(draw, op, n_nodes, value_exponents):
    def node():
        return _draw_node(draw, n_nodes)

    if op == "**" and not value_exponents:  # micrograd: int and float exponents only
        return (op, node(), draw(EXPONENTS))
    form = draw(st.integers(0, 2))
    if form == 0:
        return (op, node(), draw(EXPONENTS if op == "**" else NUMBERS))
    if form == 1:
        return (op, node(), node())
    return (op, draw(BASES if op == "**" else NUMBERS), node())


def _draw_dot(draw, n_nodes):
    def operand():
        return _draw_node(draw, n_nodes) if draw(st.booleans()) else draw(NUMBERS)

    n = draw(st.integers(0, 3))
    ws, xs = tuple(operand() for _ in range(n)), tuple(operand() for _ in range(n))
    # at least one Value: a dot of numbers is a number to the oracles, a node to the engines
    has_node = any(isinstance(o, Node) for o in ws + xs)
    return ("dot", operand() if has_node else _draw_node(draw, n_nodes), ws, xs)


def _sum_of_sinks(n_nodes, steps):
    """The steps that add up the nodes no step uses, left to right: the root."""
    used = {o.index for step in steps for o in _flat_operands(step) if isinstance(o, Node)}
    sinks = [Node(i) for i in range(n_nodes) if i not in used]
    total, added = sinks[0], []
    for sink in sinks[1:]:
        added.append(("+", total, sink))
        total = Node(n_nodes + len(added) - 1)
    return added


@st.composite
def programs(draw, ops=ALL_OPS, value_exponents=True, max_steps=25):
    leaves = draw(st.lists(LEAF_DATA, min_size=1, max_size=4))
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        n_nodes = len(leaves) + len(steps)
        op = ops[draw(st.integers(0, len(ops) - 1))]
        if op in UNARY:
            steps.append((op, _draw_node(draw, n_nodes)))
        elif op == "dot":
            steps.append(_draw_dot(draw, n_nodes))
        else:
            steps.append(_draw_binary(draw, op, n_nodes, value_exponents))
    steps += _sum_of_sinks(len(leaves) + len(steps), steps)
    return Program(tuple(leaves), tuple(steps))


def _renumber(step, new_index):
    def renumbered(operand):
        return Node(new_index[operand.index]) if isinstance(operand, Node) else operand

    op, *operands = step
    if op == "dot":
        bias, ws, xs = operands
        return (op, renumbered(bias), tuple(map(renumbered, ws)), tuple(map(renumbered, xs)))
    return (op, *map(renumbered, operands))


def in_walk_order(program):
    """The same program, its steps in the order that a Graph computes them: the order of
    the backward walk, which is the order the nodes were made in (no step is given
    children by hand), of the steps the root depends on."""
    first = len(program.leaves)
    needed = {first + len(program.steps) - 1}
    for node in range(first + len(program.steps) - 1, first - 1, -1):
        if node in needed:
            needed.update(operand.index for operand in _flat_operands(program.steps[node - first])
                          if isinstance(operand, Node))
    order = sorted(node for node in needed if node >= first)
    new_index = {**{leaf: leaf for leaf in range(first)},
                 **{node: i for i, node in enumerate(order, first)}}
    return Program(program.leaves,
                   tuple(_renumber(program.steps[node - first], new_index) for node in order))


def leaf_data(n):
    return st.lists(LEAF_DATA, min_size=n, max_size=n)


# -- running a program ---------------------------------------------------------------


def build(program, leaves, apply):
    """All the nodes of ``program``: ``leaves``, then ``apply(op, *args)`` for each step."""
    nodes = list(leaves)

    def arg(operand):
        return nodes[operand.index] if isinstance(operand, Node) else operand

    for op, *operands in program.steps:
        if op == "dot":
            bias, ws, xs = operands
            args = (arg(bias), [arg(w) for w in ws], [arg(x) for x in xs])
        else:
            args = [arg(o) for o in operands]
        nodes.append(apply(op, *args))
    return nodes


def unfused_dot(bias, ws, xs):
    """What Value.dot computes, as micrograd's Neuron does it: one + and one * at a time."""
    total = bias
    for w, x in zip(ws, xs):
        total = total + w * x
    return total


def value_ops(dot):
    """How a Value-like class runs a step; ``dot(bias, ws, xs)`` runs Value.dot's."""
    def apply(op, *args):
        if op in BINARY:
            return BINARY[op](*args)
        if op == "neg":
            return -args[0]
        if op == "dot":
            return dot(*args)
        return getattr(args[0], op)()  # relu, tanh, exp, log, sigmoid
    return apply


def engine_ops(Value):
    return value_ops(lambda bias, ws, xs: Value.dot(ws, xs, bias))


# Bad arithmetic (log(-1), 1/0, exp(1000), ...); any other exception is a bug.
ERRORS = (ZeroDivisionError, ValueError, OverflowError)


class Raised(NamedTuple):
    phase: str  # "forward" (building, or Graph.forward) or "backward"
    error: type


class Ran(NamedTuple):
    data: list  # of every node, in program order
    grads: list


def run(Value, program, leaf_values=None):
    """Build ``program`` on an engine and backpropagate from its root."""
    try:
        leaves = map(Value, program.leaves if leaf_values is None else leaf_values)
        nodes = build(program, leaves, engine_ops(Value))
    except ERRORS as e:
        return Raised("forward", type(e))
    try:
        nodes[-1].backward()
    except ERRORS as e:
        return Raised("backward", type(e))
    return Ran([v.data for v in nodes], [v.grad for v in nodes])


def replay(graph, nodes):
    """Graph.forward() and .backward(), as run() does it."""
    try:
        graph.forward()
    except ERRORS as e:
        return Raised("forward", type(e))
    try:
        graph.backward()
    except ERRORS as e:
        return Raised("backward", type(e))
    return Ran([v.data for v in nodes], [v.grad for v in nodes])


def _bits(x):
    return struct.pack("<d", x)


def assert_identical(outcome, expected):
    """The same exception, or the same floats bit for bit (nan is nan, -0.0 is not 0.0)."""
    if isinstance(outcome, Ran) and isinstance(expected, Ran):
        for what in ("data", "grads"):
            ours, theirs = getattr(outcome, what), getattr(expected, what)
            assert list(map(_bits, ours)) == list(map(_bits, theirs)), f"{what}: {ours} != {theirs}"
    else:
        assert outcome == expected


def succeeded(outcome):
    """Ran, and every number in it finite."""
    return isinstance(outcome, Ran) and all(map(math.isfinite, outcome.data + outcome.grads))


def describe(outcome):
    return "ran" if isinstance(outcome, Ran) else f"{outcome.error.__name__} in {outcome.phase}"


# -- how much rounding can move a result -----------------------------------------
# A first-order bound on |computed - exact| for the data and the grad of every node,
# for any evaluation that computes each operation as the engines do within a few
# units of roundoff: the engines themselves, PyTorch, micrograd. The data error of
# a step is its operands' errors times its local derivatives, plus its own
# rounding; a grad's error is the errors of the grads and of the local derivatives
# it is made from, plus the rounding of each product and of the sum (in any order).

U = 2.0 ** -53  # float64's unit roundoff: a correctly rounded result is within U * |result|
ETA = 2.0 ** -1074  # ... or within ETA where it underflows (the least subnormal: half is 0.0)


def _rounded(y, ulps=1):
    """The error bound of rounding y ``ulps`` times (about: 2 for a libm function)."""
    return ulps * (U * abs(y) + ETA)


def _power(a, b):
    try:
        return a ** b
    except (ZeroDivisionError, OverflowError):  # a singular derivative: no bound
        return math.inf


def _times(coefficient, error):
    """coefficient * error, where an exact operand (error 0) adds nothing, even at a singularity."""
    return abs(coefficient) * error if error else 0.0


def _step_errors(op, x, e, y):
    """The error bound of a step's value y, and (local derivative, its error bound) for each
    operand: ``x`` are the operands' data (flattened as in _flat_operands), ``e`` their
    errors (0 for a number). Libm functions are allowed 1 ulp (2 roundings), pow 2 ulps:
    PyTorch computes x**2 as x*x, x**-1 as 1/x and so on."""
    if op == "dot":
        total, ey, local = x[0], e[0], [(1.0, 0.0)]
        for w, v, ew, ev in zip(x[1::2], x[2::2], e[1::2], e[2::2]):
            total += w * v
            ey += _times(v, ew) + _times(w, ev) + _rounded(w * v) + _rounded(total)
            local += [(v, ev), (w, ew)]
        return ey, local
    a, ea = x[0], e[0]
    if op in ("+", "-"):
        return ea + e[1] + _rounded(y), [(1.0, 0.0), (1.0 if op == "+" else -1.0, 0.0)]
    if op == "*":
        b, eb = x[1], e[1]
        return _times(b, ea) + _times(a, eb) + _rounded(y), [(b, eb), (a, ea)]
    # where the engines compute a small factor that may underflow before multiplying it by
    # a large one, the factor's rounding is scaled by the large one (ETA * |large|)
    if op == "/":  # a * b**-1; its d/db is (-1 * b**-2) * (a * grad)
        b, eb = x[1], e[1]
        inv = 1.0 / b
        local = [(inv, _times(inv * inv, eb) + _rounded(inv)),
                 (-a * inv * inv, _times(inv * inv, ea) + _times(2 * a * inv * inv * inv, eb)
                  + abs(a) * _rounded(inv * inv, 4))]
        return _times(inv, ea) + _times(a * inv * inv, eb) + abs(a) * _rounded(inv, 2), local
    if op == "**":  # d/da is b * a**(b - 1), d/db is a**b * log(a)
        b, eb = x[1], e[1]
        # at a == 0 the log terms vanish (a power of a multiplies them) and the engines skip
        # d/db; a < 0 only comes with a number exponent, whose derivative is not used
        log_a = math.log(a) if a > 0 else 0.0
        da = b * _power(a, b - 1)
        db = y * log_a
        d_da_db = _power(a, b - 1) * (1 + b * log_a) if log_a else 0.0
        local = [(da, _times(b * (b - 1) * _power(a, b - 2), ea) + _times(d_da_db, eb)
                  + abs(b) * _rounded(_power(a, b - 1), 3)),
                 (db, _times(d_da_db, ea) + _times(y * log_a * log_a, eb)
                  + abs(log_a) * _rounded(y, 4))]
        return _times(da, ea) + _times(db, eb) + _rounded(y, 4), local
    if op == "neg":
        return ea, [(-1.0, 0.0)]
    if op == "relu":  # 1-Lipschitz; its derivative is exact on the right side of the kink
        return ea, [(1.0 if y > 0 else 0.0, 0.0)]
    if op == "tanh":
        d = 1.0 - y * y
        ey = _times(d, ea) + _rounded(y, 2)
        return ey, [(d, 2 * abs(y) * ey + _rounded(1.0, 3))]
    if op == "exp":
        ey = _times(y, ea) + _rounded(y, 2)
        return ey, [(y, ey)]
    if op == "log":
        inv = 1.0 / a
        return _times(inv, ea) + _rounded(y, 2), [(inv, _times(inv * inv, ea) + _rounded(inv))]
    if op == "sigmoid":
        d = y * (1.0 - y)
        ey = _times(d, ea) + _rounded(y, 4)
        return ey, [(d, abs(1 - 2 * y) * ey + _rounded(d, 2))]
    raise AssertionError(op)


def data_errors(program, data):
    """The bound of the rounding error in each node's data, and each step's operands with
    their (local derivative, its error bound)."""
    first = len(program.leaves)
    data_error = [0.0] * len(data)
    local = []
    for node, step in enumerate(program.steps, first):
        operands = _flat_operands(step)
        x = [data[o.index] if isinstance(o, Node) else o for o in operands]
        e = [data_error[o.index] if isinstance(o, Node) else 0.0 for o in operands]
        data_error[node], derivatives = _step_errors(step[0], x, e, data[node])
        local.append(list(zip(operands, derivatives)))
    return data_error, local


def error_bounds(program, ran):
    """The bound of the rounding error in each node's data and grad (see above)."""
    first = len(program.leaves)
    data_error, local = data_errors(program, ran.data)
    grad_error = [0.0] * len(ran.data)
    summed = [0.0] * len(ran.data)  # the sum of |terms| of each grad, and how many
    terms = [0] * len(ran.data)
    for node in reversed(range(len(ran.data))):
        # every term of this grad is in: its users come after it
        grad_error[node] += terms[node] * _rounded(summed[node])
        if node < first:
            continue
        g, eg = ran.grads[node], grad_error[node]
        for operand, (d, ed) in local[node - first]:
            if isinstance(operand, Node):
                term = abs(d * g)
                grad_error[operand.index] += _times(d, eg) + _times(g, ed) + _rounded(term)
                summed[operand.index] += term
                terms[operand.index] += 1
    return data_error, grad_error


def bounds_that_hold(program, ran):
    """error_bounds(), or reject the example where they do not hold: past a singularity
    (no finite bound), or where a relu's input is within rounding of 0, as another
    evaluation may take the other side of the kink."""
    data_error, grad_error = error_bounds(program, ran)
    assume(all(map(math.isfinite, data_error + grad_error)))
    assume(not any(0 < data_error[i] and abs(ran.data[i]) <= 4 * data_error[i]
                   for i in (step[1].index for step in program.steps if step[0] == "relu")))
    return data_error, grad_error


REL = 1e-12


def assert_close(ours, theirs, bounds, what):
    """Within 1e-12 relative, or within the error bounds where rounding allows more:
    2 bounds for the two computations, times 2 for what a first-order bound leaves out."""
    for i, (a, b, bound) in enumerate(zip(ours, theirs, bounds)):
        if abs(a - b) > REL * abs(b):
            event(f"{what}: beyond 1e-12 relative, within the error bound")
            assert abs(a - b) <= 4 * bound, f"{what}[{i}]: {a!r} vs {b!r}, bound {bound!r}"


# -- the properties ------------------------------------------------------------------


@given(program=programs())
def test_compiled_and_pure_agree_bit_for_bit(engine_pair, program):
    compiled, pure = engine_pair
    outcome = run(compiled.Value, program)
    event(describe(outcome))
    assert_identical(outcome, run(pure.Value, program))


def _kinks_and_poles(program):
    """The nodes where the root is not smooth as they cross 0: relu inputs, divisors, and
    the bases of negative powers (any other crossing raises: log, fractional powers)."""
    for op, *operands in program.steps:
        if op == "relu":
            yield operands[0]
        elif op == "/" and isinstance(operands[1], Node):
            yield operands[1]
        elif op == "**" and isinstance(operands[0], Node) and not isinstance(operands[1], Node) \
                and operands[1] < 0:
            yield operands[0]


def _root_at(Value, program, leaf, x):
    """The root's data with one leaf moved to x, its error bound, and which side of 0 each
    kink and pole is on; None where that evaluation raises or is not finite."""
    leaves = list(program.leaves)
    leaves[leaf] = x
    try:
        data = [v.data for v in build(program, map(Value, leaves), engine_ops(Value))]
    except ERRORS:
        return None
    error = data_errors(program, data)[0][-1]
    if not (math.isfinite(data[-1]) and math.isfinite(error)):
        return None
    return data[-1], error, [data[node.index] > 0 for node in _kinks_and_poles(program)]


def central_difference(Value, program, leaf, grad):
    """d root / d leaf by central differences, and a bound on that estimate's error; None
    where the differences cannot tell: an evaluation raises, crosses a kink or a pole, or
    the steps are too large for the function."""
    x = program.leaves[leaf]
    at_x = _root_at(Value, program, leaf, x)
    if at_x is None:
        return None
    f, _, sides = at_x
    # the steps must be small against the scale on which the root changes, which may be
    # far below 1 (v0 / 1e-89): the gradient tells, h * |grad| is 1e-5 of the root at most
    h = 1e-5 * min(max(1.0, abs(x)), max(1.0, abs(f)) / abs(grad) if grad else math.inf)
    steps = [h / 2 ** k for k in range(3)]
    if x + steps[-1] == x - steps[-1]:
        return None
    slopes, rounding = [], []
    for h in steps:
        ends = [_root_at(Value, program, leaf, x + h), _root_at(Value, program, leaf, x - h)]
        if None in ends or any(end[2] != sides for end in ends):
            return None
        (f_plus, e_plus, _), (f_minus, e_minus, _) = ends
        slopes.append((f_plus - f_minus) / ((x + h) - (x - h)))
        rounding.append((e_plus + e_minus) / (2 * h))
    coarse, fine = abs(slopes[0] - slopes[1]), abs(slopes[1] - slopes[2])
    noise = 2 * (rounding[1] + rounding[2])  # in `fine` and in the estimate; 2x for safety
    # halving h cuts a central difference's error 4-fold (the h**2 term) when h is small
    # enough for the function; where it does not, h is not
    if fine > coarse / 2 + noise:
        return None
    # Richardson extrapolation cancels the h**2 term; what is left is far below it (fine/3)
    return slopes[2] + (slopes[2] - slopes[1]) / 3, fine + noise


@given(program=programs())
def test_gradients_match_central_differences(engine, program):
    V = engine.Value
    ran = run(V, program)
    assume(succeeded(ran))
    _, grad_error = error_bounds(program, ran)
    checked = 0
    for leaf, grad in enumerate(ran.grads[:len(program.leaves)]):
        estimate = central_difference(V, program, leaf, grad)
        if estimate is None:
            continue
        numeric, error = estimate
        tolerance = error + 4 * grad_error[leaf]
        # a tolerance this loose could hide a wrong derivative: this leaf cannot tell
        if not tolerance <= 1e-3 * max(1.0, abs(grad)):  # nan too
            event("finite differences: a leaf too ill-conditioned to check")
            continue
        assert abs(grad - numeric) <= tolerance, f"leaf v{leaf}: {grad!r} vs {numeric!r}"
        checked += 1
    assume(checked)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_run(torch, program):
    """The program in PyTorch float64, with the engines' arithmetic: a / b is a * b**-1."""
    tensor_apply = value_ops(unfused_dot)  # tensors have the methods relu(), tanh(), ... too

    def apply(op, *args):
        if op == "/":
            a, b = args
            return a * (b ** -1 if isinstance(b, torch.Tensor) else b ** -1.0)
        return tensor_apply(op, *args)

    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in program.leaves]
    nodes = build(program, leaves, apply)
    nodes[-1].backward()
    return [v.item() for v in map(torch.Tensor.detach, nodes)], [v.grad.item() for v in leaves]


@given(program=programs())
def test_agrees_with_torch_float64(engine, torch, program):
    ours = run(engine.Value, program)
    assume(succeeded(ours))
    data_error, grad_error = bounds_that_hold(program, ours)
    data, leaf_grads = torch_run(torch, program)
    assert_close(ours.data, data, data_error, "data")
    n = len(program.leaves)
    assert_close(ours.grads[:n], leaf_grads, grad_error[:n], "leaf grads")


@pytest.fixture(scope="module")
def micrograd_value():
    return pytest.importorskip("micrograd.engine").Value


@given(program=programs(ops=MICROGRAD_OPS, value_exponents=False))
def test_agrees_with_micrograd(engine, micrograd_value, program):
    ours = run(engine.Value, program)
    assume(succeeded(ours))
    leaves = list(map(micrograd_value, program.leaves))
    nodes = build(program, leaves, value_ops(unfused_dot))
    nodes[-1].backward()
    # the same operations on the same floats: the same data (the sign of a zero aside:
    # micrograd's relu gives the int 0, which int arithmetic keeps positive, -0 * 1 is 0)
    assert ours.data == [float(v.data) for v in nodes]
    # micrograd walks its children as a set: grads sum in another order, rounding apart
    _, grad_error = bounds_that_hold(program, ours)
    n = len(program.leaves)
    assert_close(ours.grads[:n], [float(v.grad) for v in leaves], grad_error[:n], "leaf grads")


@given(program=programs(), data=st.data())
def test_replay_equals_rebuilding(engine, program, data):
    V = engine.Value
    leaves = list(map(V, program.leaves))
    try:
        nodes = build(program, leaves, engine_ops(V))
    except ERRORS:
        reject()  # no graph to replay
    graph = engine.Graph(nodes[-1])
    replay(graph, nodes)  # as a training step does before the next: every grad is set
    new_data = data.draw(leaf_data(len(leaves)), label="new leaf data")
    for leaf, x in zip(leaves, new_data):
        leaf.data, leaf.grad = x, 0.0
    replayed = replay(graph, nodes)
    event(describe(replayed))
    rebuilt = run(V, program, new_data)
    if isinstance(replayed, Raised) and replayed.phase == "forward":
        # Graph.forward computes only the nodes the root depends on: where a node it skips
        # would raise first, the rebuilt program raises there. Built of the nodes the root
        # depends on, in the walk's order, the program raises what the replay raises.
        assert isinstance(rebuilt, Raised) and rebuilt.phase == "forward"
        assert replayed == run(V, in_walk_order(program), new_data)
    else:
        assert_identical(replayed, rebuilt)


# -- layers of dots on a Graph's tape ----------------------------------------------

WEIGHTS = ("a row of leaves", "half a row on", "the inputs", "the outputs before")
BIASES = ("a leaf", "an input", "a weight of another", "a number", "the dot before")
INPUT_LEAVES, WEIGHT_LEAVES = 8, 96


@st.composite
def layered_dots(draw):
    """A network of dots as nn builds them and as a notebook may tangle them: a list of
    layers over 2 * INPUT_LEAVES + WEIGHT_LEAVES leaves. A layer's neurons read the same
    inputs (input leaves in a row, or the layer before's outputs); a neuron's weights
    are a row of weight leaves (row r: another neuron's row when it draws the same r),
    or a row half a row on (overlapping two), or the inputs themselves, or the layer
    before's outputs; its bias a leaf, an input, another neuron's weight, a number or the
    dot made before; its activation relu or none. A neuron: (weights, r, bias, which, relu).
    Half the layers are as nn makes them: a row of its own for each neuron, leaf biases."""
    layers = []
    width_before = 0
    for _ in range(draw(st.integers(1, 3), label="layers")):
        if width_before and draw(st.booleans()):
            inputs, n = None, width_before
        else:
            inputs = draw(st.integers(0, INPUT_LEAVES - 1))
            n = draw(st.integers(1, INPUT_LEAVES - inputs))
        if draw(st.booleans(), label="a layer as nn makes it"):  # rows of their own, leaf biases
            neurons = [("a row of leaves", r, "a leaf", which, relu) for r, (which, relu) in
                       enumerate(draw(st.lists(st.tuples(st.integers(0, 99), st.booleans()),
                                               min_size=1, max_size=10), label="neurons"))]
        else:
            neuron = st.tuples(st.sampled_from(WEIGHTS), st.integers(0, 11),
                               st.sampled_from(BIASES), st.integers(0, 99), st.booleans())
            neurons = draw(st.lists(neuron, min_size=1, max_size=10), label="neurons")
        layers.append((inputs, n, neurons))
        width_before = len(neurons)
    return layers


def build_layered(V, layers, leaves):
    """The root of ``layers`` (layered_dots) run on two points, as a batch (the first
    INPUT_LEAVES leaves, then the next: a forward() group of the same dots met twice gets
    a block), every output summed, plus a product of an input and a weight leaf (a third
    term in their gradients)."""
    return sum((_layered_point(V, layers, leaves, point) for point in (0, 1)),
               leaves[0] * leaves[2 * INPUT_LEAVES])


def _layered_point(V, layers, leaves, point):
    outputs, dots, made = [], [], []
    weight_leaves = leaves[2 * INPUT_LEAVES:]
    for inputs, n, neurons in layers:
        xs = outputs if inputs is None else leaves[point * INPUT_LEAVES + inputs:][:n]
        rows, layer = [], []
        for weights, r, bias, which, relu in neurons:
            start = (r * n + (n // 2 if weights == "half a row on" else 0)) % (WEIGHT_LEAVES - n + 1)
            if weights == "the outputs before" and len(outputs) == n and outputs is not xs:
                ws = outputs
            elif weights == "the inputs" or n > WEIGHT_LEAVES:
                ws = xs
            else:
                ws = weight_leaves[start:start + n]
            b = {"a leaf": lambda: leaves[which % len(leaves)],
                 "an input": lambda: xs[which % n],
                 "a weight of another": lambda: rows[which % len(rows)][which % n] if rows else 0.5,
                 "a number": lambda: -2.0,
                 "the dot before": lambda: dots[-1] if dots else leaves[0]}[bias]()
            dots.append(V.dot(ws, xs, b))
            rows.append(ws)
            layer.append(dots[-1].relu() if relu else dots[-1])  # right after its dot, as nn's
        made += layer
        outputs = layer
    return sum(made[1:], made[0])


@given(layers=layered_dots(), seed=st.integers(0, 2**32 - 1))
def test_layers_of_dots_replay_as_built(engine, layers, seed):
    """A Graph runs a layer's dots together (graph.pxi: forward from a block of their
    weights, backward in groups): its replay gives the bits of the network built again
    over new leaves, whatever the neurons share, with either of the tape's kernels.
    (Gaussian leaves: their sums round, so a term added in another order shows.)"""
    import random
    rng = random.Random(seed)
    V = engine.Value
    leaves = [V(rng.gauss(0, 1)) for _ in range(2 * INPUT_LEAVES + WEIGHT_LEAVES)]
    graph = engine.Graph(build_layered(V, layers, leaves))
    new_data = [rng.gauss(0, 1) for _ in leaves]
    for kernels in each_kernel(engine):
        for leaf, x in zip(leaves, new_data):
            leaf.data, leaf.grad = x, 0.0
        graph.forward()
        graph.backward()
        fresh = [V(x) for x in new_data]
        root = build_layered(V, layers, fresh)
        root.backward()
        assert _bits(graph.root.data) == _bits(root.data), kernels
        assert list(map(_bits, [v.grad for v in leaves])) == list(map(_bits, [v.grad for v in fresh])), kernels
