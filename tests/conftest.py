"""One suite, two engines: see engines.py for the fixtures."""

from engines import engine, engine_pair, pytest_addoption, pytest_collection_modifyitems  # noqa: F401

pytest_plugins = ["figures"]  # the measured figures listed after the run

try:
    from hypothesis import settings
except ImportError:  # the property tests skip without it
    pass
else:
    import os

    # test_properties.py: "ci", the default, checks the same examples on every run (no
    # database to replay from); "soak", for a local run of a few minutes, draws new ones
    settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                              max_examples=300, print_blob=True)
    settings.register_profile("soak", deadline=None, max_examples=20_000, print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
