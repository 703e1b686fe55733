"""Programs that the tests run on each engine, and a subprocess runner."""

import os
import random
import subprocess
import sys
import tempfile
import textwrap


def run_python(code, timeout=300, env=None, args=None):
    """Run ``code`` (or ``python ARGS`` when given) in a fresh interpreter: a crash fails a
    test instead of the run.

    It runs in the temporary folder: ``python -c`` and ``-m`` put the current folder first
    on sys.path, and a source checkout there holds the package without its built extension.
    """
    environ = dict(os.environ, **(env or {}))
    command = [sys.executable, *(args if args is not None else ["-c", textwrap.dedent(code)])]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environ,
                          cwd=tempfile.gettempdir())


def karpathy_sanity(Value):
    """micrograd's test_sanity_check: y = -20, dy/dx = 46."""
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return x, y


def karpathy_more_ops(Value):
    """micrograd's test_more_ops: g = 24.70408163265306, dg/da = 138.83..., dg/db = 645.57..."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return a, b, g


def _moons(n_samples, seed):
    from micrograd_fast.datasets import make_moons
    X, y = make_moons(n_samples=n_samples, noise=0.1, random_state=seed)
    return X, [yi * 2 - 1 for yi in y]


def _loss(model, inputs, y):
    """micrograd's demo.ipynb loss: max-margin on the scores, plus L2."""
    scores = list(map(model, inputs))
    data_loss = sum((1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)) * (1.0 / len(y))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def _sgd(model, k, steps):
    learning_rate = 1.0 - 0.9 * k / steps
    for p in model.parameters():
        p.data -= learning_rate * p.grad


def train_moons(nn, Value, steps=5, n_samples=40, seed=1337, **model_options):
    """micrograd's demo.ipynb training loop (SGD), the graph built again each step."""
    random.seed(seed)
    X, y = _moons(n_samples, seed)
    model = nn.MLP(2, [16, 16, 1], value_type=Value, **model_options)
    losses = []
    for k in range(steps):
        loss = _loss(model, [list(map(Value, xrow)) for xrow in X], y)
        model.zero_grad()
        loss.backward()
        _sgd(model, k, steps)
        losses.append(loss.data)
    return losses, [(p.data, p.grad) for p in model.parameters()]


def train_moons_replayed(nn, Value, Graph, steps=5, n_samples=40, seed=1337, **model_options):
    """The same training, the graph built once and replayed: inputs are set, not rebuilt."""
    random.seed(seed)
    X, y = _moons(n_samples, seed)
    model = nn.MLP(2, [16, 16, 1], value_type=Value, **model_options)
    inputs = [[Value(0.0), Value(0.0)] for _ in X]
    loss = _loss(model, inputs, y)
    graph = Graph(loss)
    losses = []
    for k in range(steps):
        for row, xrow in zip(inputs, X):
            row[0].data, row[1].data = xrow
        graph.forward()
        model.zero_grad()
        graph.backward()
        _sgd(model, k, steps)
        losses.append(loss.data)
    return losses, [(p.data, p.grad) for p in model.parameters()]
