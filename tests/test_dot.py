"""Value.dot: micrograd's Neuron sum as one node, on both engines."""

import random
import struct

import pytest

from micrograd_fast import nn
from helpers import train_moons


def _bits(x):
    return struct.pack("<d", x)


def _operands(V, rng, n):
    ws = [V(rng.uniform(-2, 2)) for _ in range(n)]
    xs = [V(rng.uniform(-2, 2)) if rng.random() < 0.7 else rng.uniform(-2, 2) for _ in range(n)]
    return ws, xs, V(rng.uniform(-1, 1))


@pytest.mark.parametrize("n", [0, 1, 2, 7, 16])
def test_same_value_as_the_unfused_sum(engine, n):
    V = engine.Value
    ws, xs, b = _operands(V, random.Random(n), n)
    fused = V.dot(ws, xs, b)
    unfused = sum((w * x for w, x in zip(ws, xs)), b)
    assert _bits(fused.data) == _bits(unfused.data)
    (fused * 3.0).backward()
    fused_grads = [v.grad for v in ws + xs + [b] if isinstance(v, V)]
    for v in ws + xs + [b]:
        if isinstance(v, V):
            v.grad = 0.0
    (unfused * 3.0).backward()
    unfused_grads = [v.grad for v in ws + xs + [b] if isinstance(v, V)]
    assert list(map(_bits, fused_grads)) == list(map(_bits, unfused_grads))


def test_graph_and_labels(engine):
    V = engine.Value
    w, x, b = V(2.0), V(3.0), V(0.5)
    d = V.dot([w, w], [x, 4.0], b)
    assert d.data == 0.5 + 6.0 + 8.0
    assert d._op == 'dot'
    prev = d._prev
    assert {w, x, b} <= prev and any(c.data == 4.0 and c._prev == set() for c in prev - {w, x, b})
    d.backward()
    assert (w.grad, x.grad, b.grad) == (3.0 + 4.0, 2.0, 1.0)
    assert V.dot([], [], 1.5).data == 1.5 and V.dot([2.0], [3.0]).data == 6.0


def test_bad_operands(engine):
    V = engine.Value
    with pytest.raises(ValueError, match="as many weights as inputs"):
        V.dot([V(1.0)], [V(1.0), V(2.0)], V(0.0))
    with pytest.raises(TypeError, match="Values or real numbers, not 'str'"):
        V.dot([V(1.0)], ["a"], V(0.0))
    with pytest.raises(TypeError, match="Values or real numbers, not 'NoneType'"):
        V.dot([V(1.0), V(2.0), None], [1.0, 2.0, 3.0])  # fails with the operand tuple half filled


def test_any_iterables(engine):
    V = engine.Value
    ws, xs = [V(0.5), V(-1.5), 2.0], [V(3.0), 4, V(0.25)]
    expected = V.dot(ws, xs, 1.0).data
    for w_seq, x_seq in ((tuple(ws), tuple(xs)), (iter(ws), (x for x in xs)), (ws, range(3))):
        if isinstance(x_seq, range):
            assert V.dot(w_seq, x_seq, 1.0).data == 1.0 + 0.5 * 0 + -1.5 * 1 + 2.0 * 2
        else:
            assert V.dot(w_seq, x_seq, 1.0).data == expected


def test_bit_identical_on_both_engines(engine_pair):
    results = []
    for engine in engine_pair:
        V = engine.Value
        ws, xs, b = _operands(V, random.Random(5), 9)
        out = (V.dot(ws, xs, b).tanh() * V.dot(xs[:3], ws[:3], 0.25)).relu() + b
        out.backward()
        results.append([_bits(v.data) + _bits(v.grad) for v in ws + [b, out]])
    assert results[0] == results[1]


def test_fused_training_matches_micrograds_graph(engine):
    """The fused Neuron trains to the same numbers as micrograd's * and + nodes, bit for bit:
    each dot hands every operand the same product, and the walk reaches the neurons in the
    same order, so each gradient is summed in the same order."""
    fused = train_moons(nn, engine.Value, steps=3, fused=True)
    unfused = train_moons(nn, engine.Value, steps=3, fused=False)
    assert _bits_all(fused[0]) == _bits_all(unfused[0])
    assert [_bits_all(p) for p in fused[1]] == [_bits_all(p) for p in unfused[1]]


def _bits_all(values):
    return [_bits(v) for v in values]
