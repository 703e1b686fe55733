"""MLP.to_torch() / MLP.from_torch(): the same network in PyTorch, and back."""

import random

import pytest

from micrograd_fast import nn

torch = pytest.importorskip("torch")


@pytest.fixture
def mlp(engine):
    random.seed(7)
    return nn.MLP(3, [8, 5, 1], value_type=engine.Value)


def test_to_torch_computes_the_same_outputs(mlp, engine):
    seq = mlp.to_torch()
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    rng = random.Random(0)
    for _ in range(20):
        x = [rng.uniform(-3, 3) for _ in range(3)]
        ours = mlp([engine.Value(xi) for xi in x]).data
        theirs = seq(torch.tensor([x], dtype=torch.float64)).item()
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


def test_round_trip_keeps_every_weight_exactly(mlp, engine):
    back = nn.MLP.from_torch(mlp.to_torch(), value_type=engine.Value)
    assert type(back.parameters()[0]) is engine.Value
    assert repr(back) == repr(mlp)
    assert [p.data for p in back.parameters()] == [p.data for p in mlp.parameters()]


def test_load_torch_copies_trained_weights_back(mlp):
    seq = mlp.to_torch()
    with torch.no_grad():
        for p in seq.parameters():
            p.mul_(0.5)
    before = [p.data for p in mlp.parameters()]
    assert mlp.load_torch(seq) is mlp
    assert [p.data for p in mlp.parameters()] == [x * 0.5 for x in before]


def test_from_torch_refuses_what_is_not_an_mlp():
    with pytest.raises(ValueError, match="Linear"):
        nn.MLP.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.GELU(), torch.nn.Linear(3, 1)))
    with pytest.raises(ValueError, match="shapes"):
        nn.MLP(2, [3, 1]).load_torch(nn.MLP(2, [4, 1]).to_torch())


@pytest.mark.parametrize("activation, module", [("tanh", "Tanh"), ("sigmoid", "Sigmoid")])
def test_the_activation_goes_to_torch_and_back(engine, activation, module):
    random.seed(8)
    mlp = nn.MLP(3, [4, 4, 1], activation=activation, value_type=engine.Value)
    seq = mlp.to_torch()
    assert [type(m).__name__ for m in seq] == ["Linear", module, "Linear", module, "Linear"]
    x = [0.5, -1.0, 2.0]
    assert mlp(x).data == pytest.approx(seq(torch.tensor([x], dtype=torch.float64)).item(), rel=1e-12)
    back = nn.MLP.from_torch(seq, value_type=engine.Value)
    assert repr(back) == repr(mlp) and back(x).data == mlp(x).data
    with pytest.raises(ValueError, match=f"uses {module}"):
        nn.MLP(3, [4, 4, 1], value_type=engine.Value).load_torch(seq)


def test_mixed_activations_are_not_an_mlp():
    with pytest.raises(ValueError, match="one activation"):
        nn.MLP.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 3),
                                              torch.nn.ReLU(), torch.nn.Linear(3, 1)))
