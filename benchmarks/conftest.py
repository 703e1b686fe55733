"""The benchmarks take the tests' --no-c-extensions option (tests/engines.py)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from engines import pytest_addoption, pytest_collection_modifyitems  # noqa: E402,F401
