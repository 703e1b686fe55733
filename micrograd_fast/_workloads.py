"""The benchmark workloads W1..W5 (ARCHITECTURE.md, "Measured, not guessed"), written once.

W4 has two variants of micrograd_fast's own: W4F, the same training with the fused
neuron (``Value.dot``), and W4R, that training with its graph built once and replayed.

Both the ``micrograd-fast-bench`` CLI and the pytest-benchmark suite in
``benchmarks/`` run these functions. Each takes a backend (``micrograd_fast._peers``)
that says how to make a leaf, read ``data`` and ``grad`` and build an MLP on one
engine, so the same code drives the pure and compiled engines, Karpathy's
micrograd, PyTorch scalar tensors and, for W1 and W3, plain floats.

Every size is a parameter and every random choice is seeded. ``Sizes`` holds the
reference sizes and scales them (``--size``); ``CHECK_SIZES`` is the small instance
whose outputs and gradients are compared across engines before anything is timed.
"""

import gc
import random
import weakref
from dataclasses import dataclass

from .datasets import make_moons

SEED = 1337


@dataclass(frozen=True)
class Sizes:
    chains: int = 2000       # W1/W2: independent chains ...
    chain_steps: int = 50    # ... of this many steps ...
    leaves: int = 200        # ... each step reading one of these leaves
    deep_steps: int = 100_000  # W3: length of the chain
    points: int = 100        # W4: moons points per training step
    products: int = 1_000_000  # W5: product nodes ...
    product_leaves: int = 1000  # ... over this many leaves

    def scaled(self, factor):
        """These sizes times ``factor`` (at least a handful of everything)."""
        return Sizes(chains=max(2, round(self.chains * factor)), chain_steps=self.chain_steps,
                     leaves=self.leaves, deep_steps=max(10, round(self.deep_steps * factor)),
                     points=max(4, round(self.points * factor)),
                     products=max(100, round(self.products * factor)),
                     product_leaves=self.product_leaves)


CHECK_SIZES = Sizes(chains=20, deep_steps=1000, points=20, products=3000)
CHECK_TRAINING_STEPS = 3


# -- W1 forward, W2 backward ---------------------------------------------------

def forward_plan(sizes, seed=SEED):
    """The leaf values and, per chain, its start leaf and (op, leaf) steps: drawn before timing."""
    rng = random.Random(seed)
    leaf_values = [rng.uniform(-1.0, 1.0) for _ in range(sizes.leaves)]
    chains = [(rng.randrange(sizes.leaves),
               [(rng.randrange(4), rng.randrange(sizes.leaves)) for _ in range(sizes.chain_steps)])
              for _ in range(sizes.chains)]
    return leaf_values, chains


def op_calls(sizes):
    """What W1 and W2 are reported per: every chain step and every addition of the final sum."""
    return sizes.chains * sizes.chain_steps + sizes.chains - 1


def build_forward(backend, leaves, chains):
    """W1: run every chain, then add the chain ends as a balanced tree; returns (ends, root)."""
    relu = backend.relu
    ends = []
    for start, steps in chains:
        x = leaves[start]
        for op, j in steps:
            if op == 0:
                x = (x + leaves[j]) * 0.5
            elif op == 1:
                x = x * leaves[j]
            elif op == 2:
                x = x ** 2
            else:
                x = relu(x)
        ends.append(x)
    return ends, pairwise_sum(ends)


def pairwise_sum(xs):
    while len(xs) > 1:
        pairs = [xs[i] + xs[i + 1] for i in range(0, len(xs) - 1, 2)]
        if len(xs) % 2:
            pairs.append(xs[-1])
        xs = pairs
    return xs[0]


# -- W3 deep chain -------------------------------------------------------------

def deep_chain(backend, steps):
    """W3: ``x = x*1.0001 + 0.1`` ``steps`` times, backward, then free the chain.

    When dropping the last reference does not free the chain, freeing includes
    ``gc.collect()``: the pure engine's and micrograd's nodes sit in reference cycles
    (each node's ``_backward`` closure holds the node), so only the collector frees
    them. Plain floats have no graph to differentiate or free.
    Returns ``(x.data, leaf.grad)``.
    """
    leaf = backend.Value(1.0)
    x = leaf
    for _ in range(steps):
        x = x * 1.0001 + 0.1
    if not backend.differentiable:
        return backend.data(x), None
    x.backward()
    result = backend.data(x), backend.grad(leaf)
    still_alive = weakref.ref(x)
    del x
    if still_alive() is not None:
        gc.collect()
    return result


# -- W4 training ---------------------------------------------------------------

def moons(points, seed=SEED):
    """The demo's data: seeded moons with labels in {-1, 1}."""
    X, y = make_moons(n_samples=points, noise=0.1, random_state=seed)
    return X, [yi * 2 - 1 for yi in y]


def new_model(backend, seed=SEED, fused=False):
    """``MLP(2, [16, 16, 1])``; the same seed gives the same weights on every engine.

    W4 uses micrograd's graph (``fused=False``); W4F and W4R the fused neuron, as
    ``micrograd_fast.nn`` builds it by default.
    """
    random.seed(seed)
    return backend.mlp(2, [16, 16, 1], fused=fused)


def demo_loss(model, inputs, y):
    """micrograd's demo.ipynb loss: max-margin on the scores plus L2 (alpha 1e-4)."""
    scores = list(map(model, inputs))
    data_loss = sum((1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)) * (1.0 / len(y))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def sgd_update(model, k, lr_steps=100):
    learning_rate = 1.0 - 0.9 * k / lr_steps
    for p in model.parameters():
        p.data -= learning_rate * p.grad


def training_step(backend, model, X, y, k, lr_steps=100):
    """W4 and W4F: one step of micrograd's demo, as tests/helpers.py ``train_moons`` runs it.

    Returns the loss, which holds the step's whole graph: the caller decides when it is freed.
    """
    Value = backend.constant
    loss = demo_loss(model, [list(map(Value, xrow)) for xrow in X], y)
    backend.zero_grad(model)
    loss.backward()
    sgd_update(model, k, lr_steps)
    return loss


class ReplayedTraining:
    """W4R: the same training, its graph built once (``Graph``) and replayed every step."""

    def __init__(self, backend, model, X, y):
        self.backend, self.model, self.X = backend, model, X
        self.inputs = [[backend.constant(0.0) for _ in xrow] for xrow in X]
        self.loss = demo_loss(model, self.inputs, y)
        self.graph = backend.Graph(self.loss)

    def step(self, k, lr_steps=100):
        for row, xrow in zip(self.inputs, self.X):
            for leaf, x in zip(row, xrow):
                leaf.data = x
        self.graph.forward()
        self.backend.zero_grad(self.model)
        self.graph.backward()
        sgd_update(self.model, k, lr_steps)
        return self.loss


# -- W5 memory -----------------------------------------------------------------

def product_leaves(backend, sizes, seed=SEED):
    rng = random.Random(seed)
    return [backend.Value(rng.uniform(-1.0, 1.0)) for _ in range(sizes.product_leaves)]


def fill_products(leaves, holder):
    """W5: ``holder[i] = x[i] * x[(i + 7) % n]`` for every slot of the pre-allocated ``holder``."""
    n = len(leaves)
    for i in range(len(holder)):
        holder[i] = leaves[i % n] * leaves[(i + 7) % n]


# -- the correctness check -----------------------------------------------------

def checksums(backend, workload, sizes=CHECK_SIZES):
    """The outputs (and gradients) of ``workload`` on a small seeded instance: lists of floats,
    one per kind of number (outputs, gradients, ...), so that each is compared on its own scale.

    The bench compares every engine's lists with the pure engine's before timing it.
    """
    data, grad = backend.data, backend.grad
    if workload in ("W1", "W2"):
        leaf_values, chains = forward_plan(sizes)
        leaves = [backend.Value(v) for v in leaf_values]
        ends, root = build_forward(backend, leaves, chains)
        if workload == "W1":
            return [[data(e) for e in ends], [data(root)]]
        root.backward()
        return [[grad(leaf) for leaf in leaves]]
    if workload == "W3":
        out, leaf_grad = deep_chain(backend, sizes.deep_steps)
        return [[out]] if leaf_grad is None else [[out], [leaf_grad]]
    if workload in ("W4", "W4F", "W4R"):
        X, y = moons(sizes.points)
        model = new_model(backend, fused=workload != "W4")
        if workload == "W4R":
            step = ReplayedTraining(backend, model, X, y).step
        else:
            def step(k):
                return training_step(backend, model, X, y, k)
        losses = [data(step(k)) for k in range(CHECK_TRAINING_STEPS)]
        params = model.parameters()
        return [losses, [data(p) for p in params], [grad(p) for p in params]]
    if workload == "W5":
        holder = [None] * sizes.products
        fill_products(product_leaves(backend, sizes), holder)
        return [[data(v) for v in holder]]
    raise ValueError(f"unknown workload {workload!r}")


def mismatch(reference, candidate, rel=1e-12):
    """None when every list of ``candidate`` matches ``reference``'s to ``rel``, else what differs.

    Gradients summed in another order can cancel to a tiny number, so each number
    is compared relative to the larger of itself and the largest number of its list.
    """
    if len(reference) != len(candidate):
        return f"{len(candidate)} lists of numbers, expected {len(reference)}"
    for group, (expected, got) in enumerate(zip(reference, candidate)):
        if len(expected) != len(got):
            return f"list {group}: {len(got)} numbers, expected {len(expected)}"
        scale = max((abs(r) for r in expected), default=0.0)
        for i, (r, c) in enumerate(zip(expected, got)):
            if not abs(r - c) <= rel * max(abs(r), abs(c), scale):
                return f"list {group}, number {i}: {c!r}, expected {r!r}"
    return None
