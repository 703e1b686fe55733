"""Graph: a built graph replayed with new leaf values, on both engines."""

import struct

import pytest

from micrograd_fast import nn
from helpers import train_moons, train_moons_replayed


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
