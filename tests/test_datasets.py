"""micrograd_fast.datasets: shapes, labels, seeds and the geometry of each toy set."""

import math
import random

import pytest

from micrograd_fast.datasets import make_blobs, make_circles, make_moons


def test_make_moons_numbers_are_pinned():
    """Other code (benchmarks, the README) depends on these exact numbers."""
    X, y = make_moons(4, noise=0.1, random_state=0)
    assert X == [[-0.006700651572905798, 0.6194746678749998],
                 [0.8552876873572635, 0.09843395512466481],
                 [-1.0374076846986728, 0.10746503857790568],
                 [1.8108036436511497, 0.3906902195099998]]
    assert y == [1, 0, 0, 1]


@pytest.mark.parametrize("make", [make_moons, make_circles])
@pytest.mark.parametrize("n", [2, 7, 100])
def test_two_class_shapes_and_labels(make, n):
    X, y = make(n, noise=0.05, random_state=1)
    assert len(X) == len(y) == n
    assert all(len(row) == 2 and all(type(v) is float for v in row) for row in X)
    assert y.count(0) == n // 2 and y.count(1) == n - n // 2


@pytest.mark.parametrize("make", [make_moons, make_circles, make_blobs])
def test_same_seed_same_data(make):
    assert make(50, random_state=7) == make(50, random_state=7)
    assert make(50, random_state=7) != make(50, random_state=8)
    assert make(50, random_state=random.Random(7)) == make(50, random_state=7)


@pytest.mark.parametrize("factor", [0.0, 0.3, 0.8])
def test_circles_radii(factor):
    X, y = make_circles(40, random_state=0, factor=factor)
    for (a, b), label in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if label == 0 else factor, abs=1e-12)


def test_circles_unshuffled_order_and_bad_factor():
    X, y = make_circles(8, shuffle=False)
    assert y == [0] * 4 + [1] * 4
    assert X[0] == [1.0, 0.0] and X[4] == [0.8, 0.0]
    with pytest.raises(ValueError, match="factor"):
        make_circles(10, factor=1.0)


def test_blobs_default_shape():
    X, y = make_blobs(random_state=0)
    assert len(X) == 100 and all(len(row) == 2 for row in X)
    assert sorted(set(y)) == [0, 1, 2]
    assert [y.count(k) for k in range(3)] == [34, 33, 33]  # the remainder goes to the first


def test_blobs_cluster_means_and_spread():
    centers = [[0.0, 0.0, 0.0], [5.0, -5.0, 2.0]]
    X, y = make_blobs(2000, 3, centers=centers, cluster_std=[0.5, 2.0], random_state=3)
    for label, (center, std) in enumerate(zip(centers, [0.5, 2.0])):
        rows = [row for row, k in zip(X, y) if k == label]
        assert len(rows) == 1000
        for j in range(3):
            column = [row[j] for row in rows]
            mean = sum(column) / len(column)
            spread = math.sqrt(sum((v - mean) ** 2 for v in column) / len(column))
            assert mean == pytest.approx(center[j], abs=4 * std / math.sqrt(1000))
            assert spread == pytest.approx(std, rel=0.1)


def test_blobs_random_centers_in_the_box_and_counts_per_center():
    X, y = make_blobs([3, 1, 2], n_features=4, center_box=(2.0, 3.0), cluster_std=0.0,
                      shuffle=False, random_state=5)
    assert y == [0, 0, 0, 1, 2, 2]
    assert all(2.0 <= v <= 3.0 for row in X for v in row)  # std 0: each point is its center
    assert X[0] == X[1] == X[2] != X[3]
    with pytest.raises(ValueError, match="centers"):
        make_blobs([3, 1], centers=[[0.0, 0.0]])


def test_blobs_train_a_linear_neuron(engine):
    """The data sets feed any engine: two far blobs are split by one neuron in a few steps."""
    from micrograd_fast.nn import Neuron
    from micrograd_fast.optim import SGD
    X, y = make_blobs(20, centers=[[-3.0, -3.0], [3.0, 3.0]], cluster_std=0.5, random_state=0)
    random.seed(0)
    neuron = Neuron(2, nonlin=False, value_type=engine.Value)
    opt = SGD(neuron.parameters(), lr=0.1)
    for _ in range(10):
        scores = [neuron([engine.Value(a), engine.Value(b)]) for a, b in X]
        loss = sum((1 + -(2 * k - 1) * s).relu() for k, s in zip(y, scores)) * (1.0 / len(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all((s.data > 0) == (k == 1) for s, k in zip(scores, y))


# --- scikit-learn's arguments, and its errors where it raises ------------------------------

@pytest.mark.parametrize("make", [make_moons, make_circles])
def test_two_class_sets_take_a_pair_of_counts(make):
    X, y = make((6, 4), shuffle=False, random_state=0)
    assert len(X) == 10 and y == [0] * 6 + [1] * 4
    assert make((0, 3), random_state=0)[1] == [1, 1, 1]
    assert make(1, shuffle=False)[1] == [1]  # the outer class gets n_samples // 2 = 0 points


@pytest.mark.parametrize("make", [make_moons, make_circles])
@pytest.mark.parametrize("n_samples", [-3, (1, 2, 3), (5,), [6, 4], (2.5, 3), (-1, 2)])
def test_two_class_sets_refuse_what_scikit_learn_refuses(make, n_samples):
    with pytest.raises(ValueError, match="n_samples"):
        make(n_samples)


def test_zero_samples_as_scikit_learn():
    with pytest.raises(ValueError, match="n_samples must be at least 1"):
        make_moons(0)
    assert make_circles(0) == ([], [])


@pytest.mark.parametrize("make", [make_moons, make_circles])
def test_negative_noise_is_refused(make):
    with pytest.raises(ValueError, match="noise"):
        make(10, noise=-0.1)


def test_blobs_counts_per_center():
    X, y = make_blobs([5, 3, 0], random_state=0, shuffle=False)
    assert y == [0] * 5 + [1] * 3 and len(X) == 8
    X, y = make_blobs((2, 2), centers=[[0.0, 0.0, 0.0], [9.0, 9.0, 9.0]], cluster_std=0.0)
    assert sorted(map(tuple, X)) == [(0.0,) * 3] * 2 + [(9.0,) * 3] * 2


@pytest.mark.parametrize("kwargs, match", [
    ({"n_samples": [5, 5], "centers": 3}, "centers must be None or a list"),
    ({"n_samples": [5, 5], "centers": 2}, "centers must be None or a list"),
    ({"n_samples": [5, 5], "centers": [[0.0, 0.0]]}, "2 sample counts for 1 centers"),
    ({"centers": 0}, "centers must be at least 1"),
    ({"n_samples": 0}, "n_samples must be at least 1"),
    ({"n_samples": [3, -1]}, "n_samples must be an int or a list of counts"),
    ({"n_features": 0}, "n_features"),
    ({"centers": []}, "non-empty"),
    ({"centers": [[0.0, 0.0], [1.0]]}, "one length"),
    ({"centers": 2, "cluster_std": [1.0, 1.0, 1.0]}, "3 cluster_std values for 2 centers"),
    ({"cluster_std": -1.0}, "cluster_std must be >= 0"),
])
def test_blobs_refuse_what_scikit_learn_refuses(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_blobs(**kwargs)
