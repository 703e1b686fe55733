"""micrograd's demo.ipynb training, written once: the moons, the loss and the SGD step.

``MLP(2, [16, 16, 1])`` on the moons (labels -1 and 1), max-margin loss on the scores
plus L2 (alpha 1e-4), and SGD with the learning rate ``1.0 - 0.9 * k / steps``. The
demo, the benchmarks and the tests all train with this module, on any engine whose
``Value`` has micrograd's API (micrograd's own too), so the same seed gives the same
numbers everywhere, bit for bit.

    X, y = moons(100)
    model = new_mlp(value_type=Value)
    training = Training(model, X, y, steps=100, Value=Value)
    for k in range(100):
        loss, scores = training.step(k)
"""

import random
from array import array

from .datasets import make_moons
from .optim import SGD

SEED = 1337
LAYERS = [16, 16, 1]  # after the 2 inputs
L2 = 1e-4


def moons(n_samples=100, seed=SEED):
    """The demo's data: seeded moons, the points and their labels in {-1, 1}."""
    X, y = make_moons(n_samples=n_samples, noise=0.1, random_state=seed)
    return X, [yi * 2 - 1 for yi in y]


def new_mlp(MLP=None, seed=SEED, **options):
    """``MLP(2, [16, 16, 1], **options)`` (micrograd_fast.nn's by default), its weights
    drawn after ``random.seed(seed)``: the same seed gives the same weights on every engine."""
    if MLP is None:
        from .nn import MLP
    random.seed(seed)
    return MLP(2, list(LAYERS), **options)


def loss(model, inputs, y):
    """The loss over ``inputs`` (rows of Values) with labels ``y``, and the model's scores."""
    scores = [model(row) for row in inputs]
    data_loss = sum((1 + -yi * s).relu() for yi, s in zip(y, scores)) * (1.0 / len(y))
    reg_loss = L2 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss, scores


def learning_rate(k, steps):
    return 1.0 - 0.9 * k / steps


def sgd_update(parameters, k, steps):
    lr = learning_rate(k, steps)
    for p in parameters:
        p.data -= lr * p.grad


def zero_grads(model):
    model.zero_grad()


class Training:
    """The training loop's step: ``step(k)``, for k = 0 .. steps - 1, returns (loss, scores).

    Each step builds the graph again from new input Values (``Value(x)``), as micrograd
    does, and updates the parameters with micrograd's loop. ``zero_grad(model)`` resets
    the gradients (by default ``model.zero_grad()``). With ``Graph`` (micrograd_fast's),
    the graph is built once over input leaves and replayed, as a user who wants speed
    writes it: ``graph.forward(points)`` sets the leaves to the points (one flat array)
    and recomputes, and an ``optim.SGD`` zeroes the gradients and takes the step. The
    numbers are the same, bit for bit.

    The step keeps no reference to the graph it returns: the caller decides when it is freed.
    """

    def __init__(self, model, X, y, steps, Value, Graph=None, zero_grad=None):
        self.model, self.X, self.y, self.steps, self.Value = model, X, y, steps, Value
        self.zero_grad = zero_grad or zero_grads
        if Graph is None:
            self.step = self.rebuilt_step
        else:
            self.inputs = [[Value(0.0) for _ in row] for row in X]
            self.replayed = loss(model, self.inputs, y)
            self.graph = Graph(self.replayed[0], inputs=[x for row in self.inputs for x in row])
            self.points = array("d", [x for row in X for x in row])
            self.optimizer = SGD(model.parameters(), lr=learning_rate(0, steps))
            self.step = self.replayed_step

    def rebuilt_step(self, k):
        Value = self.Value
        total, scores = loss(self.model, [[Value(x) for x in row] for row in self.X], self.y)
        self.zero_grad(self.model)
        total.backward()
        sgd_update(self.model.parameters(), k, self.steps)
        return total, scores

    def replayed_step(self, k):
        self.graph.forward(self.points)
        self.optimizer.zero_grad()
        self.graph.backward()
        self.optimizer.lr = learning_rate(k, self.steps)
        self.optimizer.step()
        return self.replayed
