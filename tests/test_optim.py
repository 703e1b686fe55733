"""micrograd_fast.optim: SGD, Adam and LambdaLR, checked against torch.optim and by hand."""

import math
import random
from array import array
from decimal import Decimal
from fractions import Fraction

import pytest

from helpers import train_moons
from micrograd_fast import nn
from micrograd_fast.datasets import make_moons
from micrograd_fast.optim import SGD, Adam, LambdaLR

CONFIGS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd-momentum": ("SGD", dict(lr=0.1, momentum=0.9)),
    "sgd-all": ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True)),
    "sgd-dampening": ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam-all": ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
}


def tiny_problem(Value, seed=3):
    """A small MLP and a closure computing its max-margin loss on 12 moons points."""
    random.seed(seed)
    model = nn.MLP(2, [4, 1], value_type=Value)
    X, y = make_moons(12, noise=0.1, random_state=seed)

    def loss():
        scores = [model([Value(a), Value(b)]) for a, b in X]
        return sum((1 + -(2 * yi - 1) * s).relu() for yi, s in zip(y, scores)) * (1.0 / len(y))
    return model, loss


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("schedule", [False, True], ids=["fixed-lr", "lambda-lr"])
def test_matches_torch_optim(engine, name, schedule):
    torch = pytest.importorskip("torch")
    kind, options = CONFIGS[name]
    model, loss = tiny_problem(engine.Value)
    params = model.parameters()
    tensors = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in params]
    ours = {"SGD": SGD, "Adam": Adam}[kind](params, **options)
    theirs = getattr(torch.optim, kind)(tensors, **options)
    if schedule:
        decay = lambda k: 1.0 - 0.09 * k  # noqa: E731
        ours_lr, theirs_lr = LambdaLR(ours, decay), torch.optim.lr_scheduler.LambdaLR(theirs, decay)
    for _ in range(8):
        ours.zero_grad()
        loss().backward()
        for p, t in zip(params, tensors):  # the same gradients: only the updates are compared
            t.grad = torch.tensor(p.grad, dtype=torch.float64)
        ours.step()
        theirs.step()
        if schedule:
            ours_lr.step()
            theirs_lr.step()
            assert ours.lr == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-15)
        for p, t in zip(params, tensors):
            assert p.data == pytest.approx(t.item(), rel=1e-12, abs=1e-300)
            p.data = t.item()  # keep the two on the same path, so rounding cannot build up


def test_sgd_with_lambda_lr_is_micrograds_demo_loop(engine):
    """SGD(lr=1) + LambdaLR(1 - 0.9 k/steps) is the demo's hand-written update, bit for bit."""
    steps = 4
    expected, _ = train_moons(nn, engine.Value, steps=steps, n_samples=20)
    random.seed(1337)
    X, y = make_moons(n_samples=20, noise=0.1, random_state=1337)
    model = nn.MLP(2, [16, 16, 1], value_type=engine.Value)
    opt = SGD(model.parameters(), lr=1.0)
    scheduler = LambdaLR(opt, lambda k: 1.0 - 0.9 * k / steps)
    losses = []
    for _ in range(steps):
        scores = [model([engine.Value(a), engine.Value(b)]) for a, b in X]
        data_loss = sum((1 + -(2 * yi - 1) * s).relu() for yi, s in zip(y, scores)) * (1.0 / len(y))
        loss = data_loss + 1e-4 * sum(p * p for p in model.parameters())
        opt.zero_grad()
        loss.backward()
        opt.step()
        scheduler.step()
        losses.append(loss.data)
    assert losses == expected


def test_sgd_by_hand(engine):
    p = engine.Value(1.0)
    opt = SGD([p], lr=0.5, momentum=0.5, weight_decay=0.1)
    p.grad = 2.0
    opt.step()  # d = 2 + 0.1 = 2.1; b = d; p = 1 - 0.5 * 2.1
    assert p.data == 1.0 - 0.5 * 2.1
    p.grad = 2.0
    opt.step()  # d = 2 + 0.1 * p; b = 0.5 * 2.1 + d
    assert p.data == pytest.approx(-0.05 - 0.5 * (0.5 * 2.1 + 2.0 + 0.1 * -0.05), rel=1e-15)
    opt.zero_grad()
    assert p.grad == 0.0


def test_adam_first_step_is_lr_times_sign(engine):
    """On step 1 the bias corrections cancel: each parameter moves by lr against its gradient."""
    ps = [engine.Value(1.0), engine.Value(-2.0), engine.Value(0.5)]
    opt = Adam(ps, lr=0.01, eps=0.0)
    for p, g in zip(ps, [3.0, -0.25, 1e-3]):
        p.grad = g
    opt.step()
    assert [p.data for p in ps] == pytest.approx([0.99, -1.99, 0.49], rel=1e-14)


@pytest.mark.parametrize("kind", [SGD, Adam])
def test_minimizes_a_quadratic(engine, kind):
    x, y = engine.Value(3.0), engine.Value(-2.0)
    opt = kind([x, y], lr=0.1)
    for _ in range(300):
        loss = (x - 1) ** 2 + 3 * (y + 0.5) ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert x.data == pytest.approx(1.0, abs=1e-3)
    assert y.data == pytest.approx(-0.5, abs=1e-3)


def test_lr_is_settable_between_steps(engine):
    p = engine.Value(0.0)
    opt = SGD([p], lr=1.0)
    p.grad = 1.0
    opt.step()
    opt.lr = 0.25
    opt.step()
    assert p.data == -1.25


def test_state_is_kept_in_the_optimizer_not_on_values(engine):
    ps = [engine.Value(1.0), engine.Value(2.0)]
    opt = Adam(ps)
    for p in ps:
        p.grad = 1.0
    opt.step()
    assert not any(hasattr(p, name) for p in ps for name in ("m", "v", "t"))
    assert opt.t == 1 and len(opt.m) == len(opt.v) == 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        Adam([object()], lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        Adam([object()], betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([object()], lr=0.1, nesterov=True)
    assert LambdaLR(SGD([object()], lr=2.0), lambda k: 0.5).get_last_lr() == 1.0


# -- the compiled engine's loops --------------------------------------------------

def _trajectory(Value, name, subclass=False, steps=6, n=7, seed=11):
    """Every parameter's data after each of ``steps`` steps, fed the same random gradients."""
    kind, options = CONFIGS[name]
    rng = random.Random(seed)
    cls = type("MyValue", (Value,), {}) if subclass else Value
    params = [cls(rng.uniform(-2.0, 2.0)) for _ in range(n)]
    opt = {"SGD": SGD, "Adam": Adam}[kind](params, **options)
    schedule = LambdaLR(opt, lambda k: 1.0 - 0.09 * k)
    seen = []
    for _ in range(steps):
        opt.zero_grad()
        assert [p.grad for p in params] == [0.0] * n
        for p in params:
            p.grad = rng.choice([rng.uniform(-3.0, 3.0), 0.0, -1e-300, 1e300])
        opt.step()
        schedule.step()
        seen.append([p.data for p in params])
    return seen


@pytest.mark.parametrize("name", CONFIGS)
def test_the_compiled_loops_give_the_python_loops_numbers(engine_pair, name):
    """The C loop (compiled Values), the Python loop (pure Values, and a subclass of the
    compiled Value, which may have its own data and grad): the same numbers, bit for bit."""
    compiled, pure = engine_pair
    in_c = _trajectory(compiled.Value, name)
    assert in_c == _trajectory(pure.Value, name) == _trajectory(compiled.Value, name, subclass=True)
    assert all(map(math.isfinite, in_c[-1]))


def test_the_compiled_loops_run_for_compiled_values_only(engine_pair):
    compiled, pure = engine_pair
    steps = compiled._sgd_step
    buffers = array("d", [0.0])
    assert steps([compiled.Value(1.0)], buffers, 0.1, 0.0, 0.0, 0.0, False, True) is True
    for others in ([pure.Value(1.0)], [type("V", (compiled.Value,), {})(1.0)], [compiled.Value(1.0), 2.0]):
        before = [getattr(p, "data", p) for p in others]
        assert steps(others, array("d", [0.0] * len(others)), 0.1, 0.0, 0.0, 0.0, False, True) is False
        assert [getattr(p, "data", p) for p in others] == before
    with pytest.raises(ValueError, match="2 state entries for 1 parameters"):
        compiled._adam_step([compiled.Value(1.0)], array("d", [0.0, 0.0]), array("d", [0.0]),
                            0.9, 0.999, 1e-8, 0.0, 0.1, 1.0)


@pytest.mark.parametrize("kind", [SGD, Adam])
def test_a_parameter_added_after_the_optimizer_was_made_is_refused_clearly(engine, kind):
    p = engine.Value(1.0)
    opt = kind([p], lr=0.1)
    opt.params.append(engine.Value(2.0))
    for q in opt.params:
        q.grad = 1.0
    with pytest.raises(ValueError, match="has 1 state entries for 2 parameters"):
        opt.step()
    assert [q.data for q in opt.params] == [1.0, 2.0]


class _OwnArithmetic(float):
    """A float whose products are its own: the Python loop's arithmetic shows it."""

    def __mul__(self, other):
        return 0.0

    __rmul__ = __mul__


@pytest.mark.parametrize("kind, options", [
    ("SGD", dict(lr=Decimal("0.1"))),
    ("SGD", dict(lr=0.1, momentum=Decimal("0.9"))),
    ("SGD", dict(lr=0.1, weight_decay=Decimal("0.01"))),
    ("SGD", dict(lr=Fraction(1, 3))),
    ("SGD", dict(lr=True)),
    ("SGD", dict(lr=_OwnArithmetic(0.1))),
    ("SGD", dict(lr=0.1, momentum=_OwnArithmetic(0.9))),
    ("Adam", dict(lr=0.1, eps=Decimal("1e-8"))),
    ("Adam", dict(lr=0.1, weight_decay=Fraction(1, 3))),
    ("Adam", dict(lr=Decimal("0.1"))),
], ids=str)
def test_hyperparameters_of_other_number_types_do_their_own_arithmetic(engine_pair, kind, options):
    """A Decimal, a Fraction or a float subclass with operators of its own: the compiled
    loops took each as a double (float()), where the Python loop does its arithmetic
    with it (a Decimal times a float is a TypeError); now they leave it to the Python loop."""
    seen = []
    for engine in engine_pair:
        params = [engine.Value(1.0), engine.Value(2.0)]
        for p in params:
            p.grad = 0.3
        try:
            opt = {"SGD": SGD, "Adam": Adam}[kind](params, **options)
            opt.step()
            opt.step()
            seen.append([p.data for p in params])
        except TypeError as error:
            seen.append(str(error))
    assert seen[0] == seen[1]


def _state_of_another_kind(opt, make):
    """Replace each of the optimizer's states with ``make(its numbers)``."""
    for name in ("buffers", "m", "v"):
        if hasattr(opt, name):
            setattr(opt, name, make(list(getattr(opt, name))))


@pytest.mark.parametrize("kind, options", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1))])
@pytest.mark.parametrize("make", [
    lambda numbers: array("f", numbers),                     # floats: rounded as they are stored
    lambda numbers: array("b", [int(x) for x in numbers]),   # bytes: a float is refused
    lambda numbers: array("d", numbers * 1000)[:len(numbers)],  # doubles again, another array
    list,
    lambda numbers: type("Doubles", (array,), {})("d", numbers),  # a subclass may have its own items
], ids=["array f", "array b", "array d", "list", "array subclass"])
def test_a_state_the_user_replaced_is_stored_into_as_python_stores(engine_pair, kind, options, make):
    """The compiled loops read and write the state in place as doubles: an array of another
    typecode was written past its end (8 bytes an item into 1- or 4-byte items), a list
    refused. Now only an array('d') is; anything else gets the Python loop, as pure Values."""
    seen = []
    for engine in engine_pair:
        params = [engine.Value(1.0), engine.Value(-2.0)]
        for p in params:
            p.grad = 0.3
        opt = {"SGD": SGD, "Adam": Adam}[kind](params, **options)
        try:
            for _ in range(3):
                _state_of_another_kind(opt, make)
                opt.step()
            seen.append([p.data for p in params])
        except TypeError as error:
            seen.append(str(error))
    assert seen[0] == seen[1]


def test_parameters_the_user_made_a_tuple_still_step(engine_pair):
    seen = []
    for engine in engine_pair:
        params = [engine.Value(1.0), engine.Value(-2.0)]
        opt = SGD(params, lr=0.1)
        opt.params = tuple(opt.params)
        for p in params:
            p.grad = 0.3
        opt.step()
        opt.zero_grad()
        seen.append([(p.data, p.grad) for p in params])
    assert seen[0] == seen[1] == [(1.0 - 0.1 * 0.3, 0.0), (-2.0 - 0.1 * 0.3, 0.0)]


@pytest.mark.parametrize("kind, options", [("SGD", dict(momentum=0.9, dampening=0.5)), ("Adam", {})])
def test_a_step_that_raised_is_not_counted(engine, kind, options):
    """Adam counted the step (t) before computing it: a step that raised on the way (a
    bad learning rate, a MemoryError) left the next one with the bias correction of a
    later step; SGD's first-step rule for its buffers was lost the same way."""
    def trained(fail_first):
        params = [engine.Value(0.5), engine.Value(-1.0)]
        for p in params:
            p.grad = 1.0
        opt = {"SGD": SGD, "Adam": Adam}[kind](params, lr=0.1, **options)
        if fail_first:
            opt.lr = "0.1"
            with pytest.raises(TypeError):
                opt.step()
            opt.lr = 0.1
        opt.step()
        opt.step()
        return [p.data for p in params], opt.t
    assert trained(True) == trained(False)
