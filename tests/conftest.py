"""One suite, two engines: see engines.py for the fixtures."""

from engines import engine, engine_pair, pytest_addoption, pytest_collection_modifyitems  # noqa: F401
