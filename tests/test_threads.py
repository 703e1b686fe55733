"""Threads: separate graphs used from several threads at once give the numbers of a serial run.

Each thread trains its own model on its own data (a graph, its parameters and its
walk belong to one thread); the interpreter is told to switch threads as often
as it can, and a user-built node with a Python _backward makes every walk run
Python code half way, where another thread's walk can start. Sharing one graph
or one model between threads that call backward() at once is not supported
(README, "Threads").
"""

import random
import sys
import threading

import pytest

from micrograd_fast import datasets, nn

THREADS = 4
STEPS = 5


def _cube(V, a):
    """Karpathy's extension pattern: a node whose local derivative is Python code."""
    out = V(a.data ** 3, (a,), 'cube')

    def _backward():
        a.grad += 3 * a.data ** 2 * out.grad
    out._backward = _backward
    return out


def prepare(engine, seed, replay):
    """A small moons run of its own, to be started: it returns its losses and final weights.

    The model is made here, in the calling thread: nn draws its initial weights
    from the random module's shared generator, which threads would take turns on.
    """
    V = engine.Value
    random.seed(seed)
    X, y = datasets.make_moons(n_samples=12, noise=0.1, random_state=seed)
    model = nn.MLP(2, [8, 8, 1], value_type=V, fused=seed % 2 == 0)
    inputs = [[V(x) for x in row] for row in X]
    return lambda: train(engine, model, inputs, y, replay)


def train(engine, model, inputs, y, replay):
    V = engine.Value

    def loss_of():
        scores = [model(row) for row in inputs]
        loss = sum((1 + -(2 * yi - 1) * s).relu() for yi, s in zip(y, scores)) * (1.0 / len(y))
        if replay:
            return loss
        return loss + 1e-3 * _cube(V, scores[0])  # a Python _backward cannot be replayed

    losses = []
    graph = engine.Graph(loss_of()) if replay else None
    for _ in range(STEPS):
        if replay:
            losses.append(graph.forward())
            graph.backward()
        else:
            loss = loss_of()
            model.zero_grad()
            loss.backward()
            losses.append(loss.data)
        for p in model.parameters():
            p.data -= 0.1 * p.grad
    return losses, [p.data for p in model.parameters()]


@pytest.fixture
def eager_switching():
    """Ask the interpreter to switch threads every microsecond."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.parametrize("replay", [False, True], ids=["rebuilt", "replayed"])
def test_separate_graphs_in_threads_match_a_serial_run(engine, replay, eager_switching):
    serial = [prepare(engine, seed, replay)() for seed in range(THREADS)]
    runs = [prepare(engine, seed, replay) for seed in range(THREADS)]
    results = [None] * THREADS
    errors = []
    start = threading.Barrier(THREADS)

    def work(i):
        try:
            start.wait()
            results[i] = runs[i]()
        except BaseException as error:  # reported below: a thread's exception is not raised
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert results == serial
