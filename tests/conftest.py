"""One suite, two engines: every test that takes ``engine`` runs on both.

``engine`` is the module that holds a ``Value`` (``micrograd_fast._engine`` or
``micrograd_fast.pure``); ``engine_pair`` gives both at once for comparisons.
The compiled cases carry the ``c_extension`` mark; ``--no-c-extensions``
deselects them where the extension cannot be built. Without that flag a missing
extension is an error, not a skip.
"""

import argparse
import importlib
import os
import subprocess
import sys
import textwrap

import pytest

ENGINES = {"compiled": "micrograd_fast._engine", "pure": "micrograd_fast.pure"}


def pytest_addoption(parser):
    parser.addoption("--c-extensions", action=argparse.BooleanOptionalAction, default=True,
                     help="test the compiled engine too (default: yes)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--c-extensions"):
        return
    skip = pytest.mark.skip(reason="--no-c-extensions")
    for item in items:
        if "c_extension" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session",
                params=[pytest.param("compiled", marks=pytest.mark.c_extension), "pure"])
def engine(request):
    return importlib.import_module(ENGINES[request.param])


@pytest.fixture(scope="session")
def engine_pair(request):
    """(compiled, pure), for tests that compare the two."""
    if not request.config.getoption("--c-extensions"):
        pytest.skip("--no-c-extensions")
    return importlib.import_module(ENGINES["compiled"]), importlib.import_module(ENGINES["pure"])


def run_python(code, timeout=300, env=None):
    """Run ``code`` in a fresh interpreter: a crash fails a test instead of the run."""
    environ = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=environ)
