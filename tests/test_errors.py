"""Bad input: the same exception class and message on both engines, never a crash.

Each case is a function of the Value class; both engines must raise the same
class with the same message, and the graph built before stays usable.
"""

import math

import pytest

from engines import ENGINES


def _negative_fractional_power(V):
    return V(-8.0) ** (1 / 3)


def _log_of_what_became_zero(V):
    x = V(1.0)
    y = x.log()
    x.data = 0.0
    y.backward()


CASES = {
    "value_of_str": (TypeError, lambda V: V("a")),
    "value_of_none": (TypeError, lambda V: V(None)),
    "value_of_list": (TypeError, lambda V: V([1])),
    "value_of_huge_int": (OverflowError, lambda V: V(10**400)),
    "children_not_values": (TypeError, lambda V: V(1.0, ("a",), 'op')),
    "add_str": (TypeError, lambda V: V(1.0) + "a"),
    "radd_str": (TypeError, lambda V: "a" + V(1.0)),
    "sub_str": (TypeError, lambda V: V(1.0) - "a"),
    "rsub_str": (TypeError, lambda V: "a" - V(1.0)),
    "mul_none": (TypeError, lambda V: V(1.0) * None),
    "div_list": (TypeError, lambda V: V(1.0) / [1]),
    "rdiv_str": (TypeError, lambda V: "a" / V(1.0)),
    "pow_str": (TypeError, lambda V: V(1.0) ** "a"),
    "pow_modulo": (TypeError, lambda V: pow(V(2.0), 2, 3)),
    "add_huge_int": (OverflowError, lambda V: V(1.0) + 10**400),
    "rmul_huge_int": (OverflowError, lambda V: -10**400 * V(1.0)),
    "rdiv_huge_int": (OverflowError, lambda V: 10**400 / V(1.0)),
    "pow_huge_int": (OverflowError, lambda V: V(2.0) ** 10**400),
    "value_of_complex": (TypeError, lambda V: V(1j)),
    "rdiv_huge_int_by_zero": (OverflowError, lambda V: 10**400 / V(0.0)),  # as 10**400 / 0.0
    "dot_lengths_before_operands": (ValueError, lambda V: V.dot([], [1.0], [1.0])),
    "log_backward_at_zero": (ZeroDivisionError, lambda V: _log_of_what_became_zero(V)),
    "mul_complex": (TypeError, lambda V: V(1.0) * 1j),
    "zero_to_negative_power": (ZeroDivisionError, lambda V: V(0.0) ** -1),
    "divide_by_zero_number": (ZeroDivisionError, lambda V: V(1.0) / 0),
    "divide_by_zero_value": (ZeroDivisionError, lambda V: V(1.0) / V(0.0)),
    "divide_number_by_zero_value": (ZeroDivisionError, lambda V: 1.0 / V(0.0)),
    "negative_fractional_power": (ValueError, _negative_fractional_power),
    "negative_base_fractional_value_exponent": (ValueError, lambda V: V(-2.0) ** V(0.5)),
    "zero_to_a_fractional_power_backward": (ZeroDivisionError, lambda V: (V(0.0) ** 0.5).backward()),
    "number_to_value_power_negative": (ValueError, lambda V: (-2.0) ** V(0.5)),
    "power_overflow": (OverflowError, lambda V: V(1e300) ** 2),
    "exp_overflow": (OverflowError, lambda V: V(1000.0).exp()),
    "log_zero": (ValueError, lambda V: V(0.0).log()),
    "log_negative": (ValueError, lambda V: V(-1.0).log()),
    "log_minus_inf": (ValueError, lambda V: V(-math.inf).log()),
    "compare": (TypeError, lambda V: V(1.0) < V(2.0)),
}


def _raised(fn, V):
    with pytest.raises(Exception) as info:
        fn(V)
    return info.value


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_raises(engine, case):
    expected, fn = CASES[case]
    error = _raised(fn, engine.Value)
    assert type(error) is expected, f"{case}: {error!r}"
    assert str(error), "the message says what was wrong"


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_class_and_message_on_both_engines(engine_pair, case):
    compiled, pure = engine_pair
    _, fn = CASES[case]
    c, p = _raised(fn, compiled.Value), _raised(fn, pure.Value)
    assert type(c) is type(p)
    # Python names the compiled class by its full name in its own messages
    assert str(c).replace("micrograd_fast._engine.Value", "Value") == str(p)


@pytest.mark.parametrize("attr", ["data", "grad"])
@pytest.mark.parametrize("bad", ["1.0", None, [1.0], 1j])
def test_assigning_a_non_number(engine, attr, bad):
    v = engine.Value(1.0)
    with pytest.raises(TypeError, match=f"Value.{attr} must be a real number"):
        setattr(v, attr, bad)
    assert getattr(v, attr) == (1.0 if attr == "data" else 0.0)


@pytest.mark.parametrize("attr", ["data", "grad"])
def test_assigning_a_value_of_the_same_engine_says_to_take_its_number(engine, attr):
    """It said the two Values belonged to two different engines."""
    v, w = engine.Value(1.0), engine.Value(2.0)
    with pytest.raises(TypeError, match=f"^Value.{attr} must be a real number, not a Value: "
                                        r"its number is its \.data$"):
        setattr(v, attr, w)


def test_backward_errors_leave_the_graph_usable(engine):
    V = engine.Value
    x = V(0.0)
    y = x ** 0.5  # forward is fine: 0.0
    assert y.data == 0.0
    with pytest.raises(ZeroDivisionError):
        y.backward()  # d/dx x**0.5 = 0.5 * 0.0**-0.5, as micrograd computes it
    x.data = 4.0
    z = x ** 0.5
    z.backward()
    assert z.grad == 1.0 and x.grad == 0.25


def test_a_custom_backward_that_raises(engine):
    V = engine.Value
    a = V(2.0)
    out = V(a.data * 3, (a,), 'boom')

    def _backward():
        raise RuntimeError("custom backward failed")
    out._backward = _backward
    y = out * 2 + a
    with pytest.raises(RuntimeError, match="custom backward failed") as info:
        y.backward()
    assert info.traceback[-1].name == "_backward"
    assert a.grad == 1.0  # the path through + ran before the failing node
    out._backward = lambda: None
    a.grad = 0.0
    y.backward()
    assert a.grad == 1.0 and out.grad == 2.0 + 4.0  # out*2 kept its grad of 1 from the first walk


def test_errors_in_operations_keep_operands_intact(engine):
    V = engine.Value
    a = V(3.0)
    b = a * 2
    for bad in (lambda: b + "x", lambda: b / 0, lambda: (b - 10).log(), lambda: (b * 200).exp()):
        with pytest.raises((TypeError, ZeroDivisionError, ValueError, OverflowError)):
            bad()
    c = b * b
    c.backward()
    assert c.data == 36.0 and a.grad == 24.0


# -- numbers of every kind as operands, on either side ---------------------------

def _operand_kinds():
    kinds = {"bool": True, "int": 3, "float": 2.5, "big_int": 2**53 + 1, "negative_int": -7}
    try:
        import numpy as np
    except ImportError:
        return kinds
    kinds.update(np_float64=np.float64(2.5), np_float32=np.float32(0.1), np_int64=np.int64(-4),
                 np_bool=np.bool_(True))
    return kinds


OPERAND_KINDS = _operand_kinds()
BINARY = {  # the operation, and micrograd's arithmetic for it on floats
    "add": (lambda v, k: v + k, lambda x, k: x + k),
    "radd": (lambda v, k: k + v, lambda x, k: k + x),
    "sub": (lambda v, k: v - k, lambda x, k: x + -k),
    "rsub": (lambda v, k: k - v, lambda x, k: k + -x),
    "mul": (lambda v, k: v * k, lambda x, k: x * k),
    "rmul": (lambda v, k: k * v, lambda x, k: k * x),
    "div": (lambda v, k: v / k, lambda x, k: x * k**-1),
    "rdiv": (lambda v, k: k / v, lambda x, k: k * x**-1),
    "pow": (lambda v, k: v ** k, lambda x, k: x ** k),
}


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("kind", sorted(OPERAND_KINDS))
def test_every_kind_of_number_as_an_operand(engine_pair, op, kind):
    """bool, int, float and numpy scalars work like the float they equal, on both engines."""
    apply, on_floats = BINARY[op]
    number = OPERAND_KINDS[kind]
    try:
        expected = on_floats(1.5, float(number))
    except OverflowError:  # 1.5 ** (2**53 + 1): the engines raise as floats do
        for engine in engine_pair:
            with pytest.raises(OverflowError):
                apply(engine.Value(1.5), number)
        return
    results = []
    for engine in engine_pair:
        x = engine.Value(1.5)
        out = apply(x, number)
        assert isinstance(out, engine.Value), f"{op} with {kind} gave {type(out).__name__}"
        out.backward()
        results.append((out.data, x.grad))
    assert results[0] == results[1]
    assert results[0][0] == expected


@pytest.mark.parametrize("x", [1e308, -1e308, 1000.0, -1000.0, math.inf, -math.inf])
def test_saturating_functions_of_huge_values(engine, x):
    """tanh and sigmoid saturate at huge inputs without overflow, nan or an exception."""
    for name, saturated in (("tanh", math.copysign(1.0, x)), ("sigmoid", 1.0 if x > 0 else 0.0)):
        v = engine.Value(x)
        out = getattr(v, name)()
        out.backward()
        assert out.data == saturated and v.grad == 0.0, (name, x, out.data, v.grad)


# -- a cycle made by hand ------------------------------------------------------
# Built-in nodes only point at older nodes, so a cycle needs a user-built node
# given a child after the fact, by calling __init__ again.

def _self_loop(V):
    v = V(1.0)
    v.__init__(1.0, (v,), 'loop')
    return v, v


def _loop_through_builtin_nodes(V):
    a = V(1.0)
    c = a * 2 + 1
    a.__init__(5.0, (c,), 'feedback')
    return c, a


@pytest.mark.parametrize("make", [_self_loop, _loop_through_builtin_nodes])
def test_a_cycle_is_an_error_not_a_hang(engine, make):
    root, user_node = make(engine.Value)
    with pytest.raises(ValueError, match="the graph has a cycle"):
        root.backward()
    with pytest.raises(ValueError, match="the graph has a cycle"):
        engine.Graph(root)
    user_node.__init__(2.0)  # a leaf again: the graph is usable
    root.backward()
    assert root.grad == 1.0


@pytest.mark.parametrize("make", [_self_loop, _loop_through_builtin_nodes])
def test_a_cycle_reads_the_same_on_both_engines(engine_pair, make):
    messages = []
    for engine in engine_pair:
        root, _ = make(engine.Value)
        messages.append(str(_raised(lambda V: root.backward(), engine.Value)))
    assert messages[0] == messages[1]


# -- found by the fuzzer (tests/sanitize/fuzz_engines.py) ------------------------

class _IntWithItsOwnFloat(int):
    calls = 0

    def __float__(self):
        type(self).calls += 1
        return 2.5


def test_a_number_operand_is_converted_once(engine_pair):
    """An int subclass counts as the int it holds, as Python's arithmetic (and so micrograd)
    reads it: its own __float__ never runs, neither when the node is made nor in backward().

    The compiled walk holds borrowed node pointers: user code run in the middle of it
    (which could drop the graph) read freed memory before the conversion moved out of it.
    """
    results = []
    for engine in engine_pair:
        x = engine.Value(1.0)
        y = (x * _IntWithItsOwnFloat(3) + _IntWithItsOwnFloat(1)) ** _IntWithItsOwnFloat(2)
        made = _IntWithItsOwnFloat.calls
        y.backward()
        engine.Graph(y).forward()
        assert _IntWithItsOwnFloat.calls == made == 0
        results.append((y.data, x.grad, y._op))
    assert results[0] == results[1]
    assert results[0][0] == 16.0 and results[0][2] == '**2.0'  # (1.0 * 3 + 1) ** 2


@pytest.mark.parametrize("change", ["backward", "init_with_children", "leaf_backward"])
def test_a_graph_changed_after_it_was_built(engine, change):
    V = engine.Value
    x = V(2.0)
    y = x * 3
    z = y + x
    graph = engine.Graph(z)
    if change == "backward":
        y._backward = lambda: None
    elif change == "init_with_children":
        y.__init__(5.0, (x,), 'mine')
    else:
        x._backward = lambda: None
    with pytest.raises(ValueError, match="was given a Python _backward after Graph"):
        graph.forward()
    with pytest.raises(ValueError, match="cannot replay a graph holding a node with a Python"):
        engine.Graph(z)


def test_a_node_made_a_leaf_again_keeps_its_data_in_a_replay(engine):
    V = engine.Value
    x = V(2.0)
    y = x * 3
    z = y + x
    graph = engine.Graph(z)
    y.__init__(10.0)
    assert graph.forward() == 12.0


@pytest.mark.parametrize("label", [0, None, [1], "x"])
def test_labels_of_any_kind_survive_copy(engine, label):
    import copy
    v = engine.Value(1.0)
    v.label = label
    assert copy.copy(v).label == label


def test_a_label_that_compares_elementwise(engine):
    np = pytest.importorskip("numpy")
    v = engine.Value(1.0)
    v.label = np.array([1.0, 2.0])
    assert list(v.label) == [1.0, 2.0]


def test_init_again_keeps_other_attributes(engine):
    v = engine.Value(1.0, label='v')
    v.m = 0.5
    v.__init__(2.0)
    assert (v.data, v.m, v.label) == (2.0, 0.5, '')


@pytest.mark.parametrize("method", ["relu", "tanh", "exp", "log", "sigmoid", "backward", "__reduce__"])
@pytest.mark.parametrize("other", [2.0, None, "a", 3])
def test_a_method_called_on_the_class_with_another_object_is_refused(engine, method, other):
    """Value.relu(2.0): Cython's methods took any object as self and read its memory as a
    node's (relu of a float gave a Value; backward of an int crashed). Both engines now
    refuse it, as a C type's method does."""
    with pytest.raises(TypeError, match=f"^descriptor '{method}' for 'Value' objects doesn't apply "
                                        f"to a '{type(other).__name__}' object$"):
        getattr(engine.Value, method)(other)


@pytest.mark.parametrize("method", ["forward", "backward", "__reduce__"])
def test_a_graph_method_called_on_the_class_with_another_object_is_refused(engine, method):
    with pytest.raises(TypeError, match=f"^descriptor '{method}' for 'Graph' objects doesn't apply "
                                        "to a 'Value' object$"):
        getattr(engine.Graph, method)(engine.Value(1.0))


def test_a_value_s_local_derivative_needs_its_node(engine):
    """The compiled engine's node field took None, and calling it read None as a node (a
    crash); the pure engine's is Python code, which fails when called (AttributeError)."""
    fn = (engine.Value(1.0) * 2)._backward
    if engine.__name__ == ENGINES["pure"]:
        with pytest.raises(AttributeError):
            type(fn)(None)()
    else:
        with pytest.raises(TypeError):
            type(fn)(None)
