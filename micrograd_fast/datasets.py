"""Small seeded toy data sets, standard library only.

Each generator returns ``(X, y)`` as plain lists, in scikit-learn's shape and
label convention: ``X`` is ``n_samples`` lists of 2 floats, ``y`` the integer
class of each row (``0 .. n_classes-1``). micrograd's demo uses ``y*2 - 1`` to
get labels in {-1, 1}. The same ``random_state`` gives the same data on every
machine (Python's ``random.Random``), though not scikit-learn's numbers.
"""

import math
import random

__all__ = ["make_moons"]


def _rng(random_state):
    return random_state if isinstance(random_state, random.Random) else random.Random(random_state)


def _linspace(start, stop, n):
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1)
    return [start + i * step for i in range(n)]


def _shuffle_and_noise(X, y, shuffle, noise, rng):
    if shuffle:
        order = list(range(len(X)))
        rng.shuffle(order)
        X = [X[i] for i in order]
        y = [y[i] for i in order]
    if noise:
        X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in X]
    return X, y


def make_moons(n_samples=100, *, shuffle=True, noise=None, random_state=None):
    """Two interleaving half circles: class 0 above, class 1 below and to the right."""
    if n_samples < 2:
        raise ValueError(f"make_moons needs n_samples >= 2, got {n_samples}")
    rng = _rng(random_state)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)]
    inner = [[1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5] for t in _linspace(0.0, math.pi, n_in)]
    return _shuffle_and_noise(outer + inner, [0] * n_out + [1] * n_in, shuffle, noise, rng)
