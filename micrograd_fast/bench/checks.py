"""The check before timing: every engine's numbers on a small seeded instance.

The bench compares each engine's checksums with the pure engine's and does not
time a workload whose numbers differ.
"""

from .workloads import BY_ID, Sizes, runs_on

CHECK_SIZES = Sizes(chains=20, deep_steps=1000, points=20, products=3000)


def checksums(backend, sizes=CHECK_SIZES):
    """Per workload that runs on ``backend``, its numbers: lists of floats, one per kind
    (outputs, gradients, ...), so that each is compared on its own scale."""
    return {workload.id: workload.job(backend, sizes).checksums()
            for workload in BY_ID.values() if runs_on(workload, backend.name)}


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
