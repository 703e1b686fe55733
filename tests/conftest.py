"""One suite, two engines: see engines.py for the fixtures."""

import gc
import os
import sys

import pytest

from engines import engine, engine_pair, pytest_addoption, pytest_collection_modifyitems  # noqa: F401

pytest_plugins = ["figures"]  # the measured figures listed after the run

try:
    from hypothesis import settings
except ImportError:  # the property tests skip without it
    pass
else:
    # test_properties.py, chosen by HYPOTHESIS_PROFILE: "ci", the default, checks the same
    # examples on every run (about 25 s), with no database to replay from; "soak", for a
    # local run of about half an hour, draws new ones and keeps failures in .hypothesis/
    settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                              max_examples=500, print_blob=True)
    settings.register_profile("soak", deadline=None, max_examples=20_000, print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _start_with_no_node_changed_by_hand():
    """A node changed by hand (a Python _backward, say) that an earlier test left in a
    reference cycle would send every walk of this test down the full walk instead of the
    sweep (src_pyx/walk.pxi): collected first, so that each test walks as it would alone."""
    for name in ("micrograd_fast._engine", "micrograd_fast.pure"):
        module = sys.modules.get(name)
        if module is not None and module._hand_changed_nodes():
            gc.collect()
            break
    yield
