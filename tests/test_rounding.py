"""Each engine rounds as Python does: no fused multiply-add (FMA) in the compiled one.

A C compiler may contract ``c + a*b`` into one FMA instruction, which rounds once
instead of twice and so gives other numbers than Python. setup.py forbids it
(``-ffp-contract=off``, ``/fp:precise``); these cases catch a build where it did not.
"""

from fractions import Fraction

import pytest

# (a, b, c) where c + a*b, rounded twice as Python does, is 0.0, while the exact
# c + a*b, which an FMA rounds once, is not.
CASES = [
    (0.1, 10.0, -1.0),                      # 0.1 * 10.0 is 1 + 2**-54 before rounding
    (1.0 + 2.0**-30, 1.0 - 2.0**-30, -1.0),  # the product is 1 - 2**-60 before rounding
]


@pytest.mark.parametrize("a, b, c", CASES)
def test_the_cases_tell_an_fma_apart(a, b, c):
    fused = float(Fraction(a) * Fraction(b) + Fraction(c))  # exact, then rounded once
    assert c + a * b == 0.0
    assert fused != 0.0


@pytest.mark.parametrize("a, b, c", CASES)
def test_dot_forward_rounds_each_step(engine, a, b, c):
    # bias + w*x: the product is rounded before it is added
    out = engine.Value.dot([engine.Value(a)], [engine.Value(b)], engine.Value(c))
    assert out.data == c + a * b
    graph = engine.Graph(out)  # the replayed forward computes it again
    graph.forward()
    assert out.data == c + a * b


@pytest.mark.parametrize("a, b, c", CASES)
def test_mul_backward_rounds_each_step(engine, a, b, c):
    # x.grad += y.data * g, with x.grad already c and g == b
    x, y = engine.Value(1.0), engine.Value(a)
    x.grad = c
    ((x * y) * b).backward()
    assert x.grad == c + a * b


@pytest.mark.parametrize("a, b, c", CASES)
def test_dot_backward_rounds_each_step(engine, a, b, c):
    # w.grad += x.data * g in the fused neuron's backward walk
    w, x = engine.Value(1.0), engine.Value(a)
    w.grad = c
    (engine.Value.dot([w], [x]) * b).backward()
    assert w.grad == c + a * b


def test_a_nan_stays_a_nan_whatever_its_sign(engine):
    """A NaN's sign is not part of the engines' bit-identical promise (docs/ARCHITECTURE.md):
    the sum of two NaNs keeps one of theirs, and compilers put either operand first. What
    holds: NaNs in give NaNs out, on each engine, replayed or built again (an outsider's
    programs: opposite NaNs summed by two products, and by four dots run together)."""
    import math

    from helpers import each_kernel
    V, nan = engine.Value, float("nan")
    x, p, q = V(1.0), V(nan), V(-nan)
    y = x * p + x * q
    y.backward()
    assert math.isnan(y.data) and math.isnan(x.grad)
    x = V(nan)
    ws = [V(nan), V(nan), V(nan), V(-nan)]
    dots = [V.dot([w], [x]) for w in ws]  # one after another: run together on the tape
    root = sum(dots, V(0.0))
    graph = engine.Graph(root)
    for _ in each_kernel(engine):
        x.grad = 0.0
        graph.forward()
        graph.backward()
        assert math.isnan(root.data) and math.isnan(x.grad)
        assert all(math.isnan(w.grad) for w in ws)
