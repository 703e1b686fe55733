"""Small seeded toy data sets, standard library only.

Each generator returns ``(X, y)`` as plain lists, in scikit-learn's shape and
label convention: ``X`` is ``n_samples`` lists of floats (2 per row, or
``n_features`` for ``make_blobs``), ``y`` the integer class of each row
(``0 .. n_classes-1``). micrograd's demo uses ``y*2 - 1`` to get labels in
{-1, 1}. ``random_state`` is a seed (or a ``random.Random``): the same seed gives
the same data on every machine, though not scikit-learn's numbers.

- ``make_moons``: two interleaving half circles (classes 0 and 1);
- ``make_circles``: a circle of radius 1 (class 0) around one of radius ``factor`` (class 1);
- ``make_blobs``: Gaussian clusters, one class per center.
"""

from __future__ import annotations

import math
import numbers
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Optional, Sequence, Union

    # a seed, as random.Random takes one, or a random.Random to draw from
    _RandomState = Union[int, float, str, bytes, bytearray, random.Random, None]
    _Data = tuple[list[list[float]], list[int]]  # (X, y)

__all__ = ["make_moons", "make_circles", "make_blobs"]


def _rng(random_state: _RandomState) -> random.Random:
    return random_state if isinstance(random_state, random.Random) else random.Random(random_state)


def _linspace(start: float, stop: float, n: int) -> list[float]:
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1)
    return [start + i * step for i in range(n)]


def _shuffle_and_noise(X: list[list[float]], y: list[int], shuffle: bool, noise: Optional[float],
                       rng: random.Random) -> _Data:
    if shuffle:
        order = list(range(len(X)))
        rng.shuffle(order)
        X = [X[i] for i in order]
        y = [y[i] for i in order]
    if noise:
        X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in X]
    return X, y


def _count(k: int) -> bool:
    return isinstance(k, numbers.Integral) and k >= 0


def _two_counts(n_samples: Union[int, tuple[int, int]], name: str, least: int) -> tuple[int, int]:
    """(outer, inner) counts: an int total split as scikit-learn does, or a pair of counts."""
    if isinstance(n_samples, numbers.Integral):
        if n_samples < least:
            raise ValueError(f"{name}: n_samples must be at least {least}, got {n_samples}")
        return n_samples // 2, n_samples - n_samples // 2
    if isinstance(n_samples, tuple) and len(n_samples) == 2 and all(map(_count, n_samples)):
        return n_samples
    raise ValueError(f"{name}: n_samples must be an int or a tuple of two counts "
                     f"(n_outer, n_inner), got {n_samples!r}")


def _check_noise(noise: Optional[float], name: str) -> None:
    if noise is not None and not noise >= 0:
        raise ValueError(f"{name}: noise must be None or a standard deviation >= 0, got {noise!r}")


def make_moons(n_samples: Union[int, tuple[int, int]] = 100, *, shuffle: bool = True,
               noise: Optional[float] = None, random_state: _RandomState = None) -> _Data:
    """Two interleaving half circles: class 0 above, class 1 below and to the right.

    ``n_samples`` is the total (the outer moon gets the smaller half) or a tuple
    ``(n_outer, n_inner)``; ``noise`` is the standard deviation of Gaussian noise added.
    """
    n_out, n_in = _two_counts(n_samples, "make_moons", least=1)
    _check_noise(noise, "make_moons")
    rng = _rng(random_state)
    outer = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)]
    inner = [[1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5] for t in _linspace(0.0, math.pi, n_in)]
    return _shuffle_and_noise(outer + inner, [0] * n_out + [1] * n_in, shuffle, noise, rng)


def make_circles(n_samples: Union[int, tuple[int, int]] = 100, *, shuffle: bool = True,
                 noise: Optional[float] = None, random_state: _RandomState = None,
                 factor: float = 0.8) -> _Data:
    """A large circle (class 0, radius 1) around a small one (class 1, radius ``factor``).

    ``n_samples`` is the total (the outer circle gets the smaller half) or a tuple
    ``(n_outer, n_inner)``.
    """
    n_out, n_in = _two_counts(n_samples, "make_circles", least=0)  # as scikit-learn: 0 is allowed
    _check_noise(noise, "make_circles")
    if not 0 <= factor < 1:
        raise ValueError(f"make_circles needs 0 <= factor < 1, got {factor}")
    rng = _rng(random_state)

    # n points evenly spaced, the first at angle 0
    def circle(n: int, radius: float) -> list[list[float]]:
        return [[radius * math.cos(2 * math.pi * i / n), radius * math.sin(2 * math.pi * i / n)]
                for i in range(n)]
    return _shuffle_and_noise(circle(n_out, 1.0) + circle(n_in, factor), [0] * n_out + [1] * n_in,
                              shuffle, noise, rng)


def make_blobs(n_samples: Union[int, Sequence[int]] = 100, n_features: int = 2, *,
               centers: Union[int, Sequence[Sequence[float]], None] = None,
               cluster_std: Union[float, Sequence[float]] = 1.0,
               center_box: tuple[float, float] = (-10.0, 10.0), shuffle: bool = True,
               random_state: _RandomState = None) -> _Data:
    """Gaussian clusters: points of class ``i`` are drawn around ``centers[i]``.

    ``n_samples`` is a total, shared out as evenly as can be (the first clusters get
    the remainder), or a list of counts, one per cluster. ``centers`` is a number of
    clusters (3 by default) whose centers are drawn uniformly in ``center_box``, or a
    list of center points (their length sets the number of features); with a list of
    counts it must be None or a list of as many centers. ``cluster_std`` is one
    standard deviation or one per cluster.
    """
    if not (isinstance(n_features, numbers.Integral) and n_features >= 1):
        raise ValueError(f"make_blobs: n_features must be an int >= 1, got {n_features!r}")
    rng = _rng(random_state)
    if isinstance(n_samples, numbers.Integral):
        if n_samples < 1:
            raise ValueError(f"make_blobs: n_samples must be at least 1, got {n_samples}")
        if centers is None:
            centers = 3
        if isinstance(centers, numbers.Integral) and centers < 1:
            raise ValueError(f"make_blobs: centers must be at least 1, got {centers}")
        n_centers = centers if isinstance(centers, numbers.Integral) else len(centers)
        counts = [n_samples // n_centers + (i < n_samples % n_centers) for i in range(n_centers)]
    else:
        counts = list(n_samples)
        if not all(map(_count, counts)):
            raise ValueError(f"make_blobs: n_samples must be an int or a list of counts, got {n_samples!r}")
        if centers is None:
            centers = len(counts)
        elif isinstance(centers, numbers.Integral):
            raise ValueError(f"make_blobs: with a list of counts, centers must be None or a list "
                             f"of as many center points, got centers={centers!r}")
        elif len(centers) != len(counts):
            raise ValueError(f"make_blobs: {len(counts)} sample counts for {len(centers)} centers")
    if isinstance(centers, numbers.Integral):
        low, high = center_box
        centers = [[rng.uniform(low, high) for _ in range(n_features)] for _ in range(centers)]
    else:
        centers = [[float(c) for c in center] for center in centers]
        if not centers or len({len(center) for center in centers}) != 1 or not centers[0]:
            raise ValueError("make_blobs: centers must be a non-empty list of points of one length")
    stds = list(cluster_std) if hasattr(cluster_std, "__len__") else [cluster_std] * len(centers)
    if len(stds) != len(centers):
        raise ValueError(f"make_blobs: {len(stds)} cluster_std values for {len(centers)} centers")
    if not all(std >= 0 for std in stds):
        raise ValueError(f"make_blobs: cluster_std must be >= 0, got {cluster_std!r}")

    X, y = [], []
    for label, (center, std, count) in enumerate(zip(centers, stds, counts)):
        X += [[rng.gauss(c, std) for c in center] for _ in range(count)]
        y += [label] * count
    if shuffle:
        order = list(range(len(X)))
        rng.shuffle(order)
        X = [X[i] for i in order]
        y = [y[i] for i in order]
    return X, y
