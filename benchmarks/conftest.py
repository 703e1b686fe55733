"""The benchmarks reuse the tests' engine fixtures (tests/engines.py): pure and compiled."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from engines import engine, engine_pair, pytest_addoption, pytest_collection_modifyitems  # noqa: E402,F401
