"""micrograd's nn on both engines: same weights, same reprs, same training numbers."""

import random
import struct

import pytest

from micrograd_fast import nn
from helpers import train_moons


def test_reprs(engine):
    model = nn.MLP(2, [3, 1], value_type=engine.Value)
    assert repr(model) == ("MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2), ReLUNeuron(2)], "
                           "Layer of [LinearNeuron(3)]]")
    assert repr(nn.Neuron(4, nonlin=False, value_type=engine.Value)) == "LinearNeuron(4)"


def test_parameters_and_zero_grad(engine):
    model = nn.MLP(3, [4, 4, 1], value_type=engine.Value)
    params = model.parameters()
    assert len(params) == (3 * 4 + 4) + (4 * 4 + 4) + (4 + 1)
    assert all(isinstance(p, engine.Value) for p in params)
    out = model([1.0, -2.0, 3.0])
    assert isinstance(out, engine.Value)  # a 1-neuron layer returns the Value itself
    out.backward()
    assert any(p.grad != 0.0 for p in params)
    model.zero_grad()
    assert all(p.grad == 0.0 and type(p.grad) is float for p in params)


def test_same_weights_as_micrograd(engine):
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(42)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(42)
    ours = nn.MLP(2, [16, 16, 1], value_type=engine.Value)
    assert [p.data for p in ours.parameters()] == [float(p.data) for p in theirs.parameters()]
    x = [0.5, -1.25]
    assert ours(x).data == pytest.approx(theirs(x).data, rel=1e-12)


def test_default_engine_is_the_selected_one():
    from micrograd_fast import engine
    assert type(nn.Neuron(2).b) is engine.Value


def _bits(x):
    return struct.pack("<d", x)


def test_training_is_bit_identical_on_both_engines(engine_pair):
    compiled, pure = engine_pair
    c_losses, c_params = train_moons(nn, compiled.Value, steps=4)
    p_losses, p_params = train_moons(nn, pure.Value, steps=4)
    assert c_losses[-1] < c_losses[0]
    assert list(map(_bits, c_losses)) == list(map(_bits, p_losses))
    assert [(_bits(d), _bits(g)) for d, g in c_params] == [(_bits(d), _bits(g)) for d, g in p_params]


def test_training_agrees_with_micrograd(engine):
    micrograd_engine = pytest.importorskip("micrograd.engine")
    micrograd_nn = pytest.importorskip("micrograd.nn")

    class Shim:  # micrograd's nn, with micrograd's Value, driven by the same loop
        MLP = staticmethod(lambda nin, nouts, value_type, **options: micrograd_nn.MLP(nin, nouts))

    ours, _ = train_moons(nn, engine.Value, steps=3)
    theirs, _ = train_moons(Shim, micrograd_engine.Value, steps=3)
    assert ours == pytest.approx(theirs, rel=1e-12)
