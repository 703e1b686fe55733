"""One suite, two engines: see engines.py for the fixtures."""

import os

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
