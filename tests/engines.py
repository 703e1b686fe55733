"""The engine fixtures, shared by tests/ and benchmarks/ (each conftest imports them).

``engine`` is the module that holds a ``Value`` (``micrograd_fast._engine`` or
``micrograd_fast.pure``); every test or benchmark that takes it runs on both.
``engine_pair`` gives both at once for comparisons. The compiled cases carry the
``c_extension`` mark; ``--no-c-extensions`` skips them where the extension
cannot be built. Without that flag a missing extension is an error, not a skip.
"""

import argparse
import importlib

import pytest

from micrograd_fast.engine import ENGINES


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


@pytest.fixture(scope="session", ids=str,
                params=[pytest.param("compiled", marks=pytest.mark.c_extension), "pure"])
def engine(request):
    return importlib.import_module(ENGINES[request.param])


@pytest.fixture(scope="session")
def engine_pair(request):
    """(compiled, pure), for tests that compare the two."""
    if not request.config.getoption("--c-extensions"):
        pytest.skip("--no-c-extensions")
    return importlib.import_module(ENGINES["compiled"]), importlib.import_module(ENGINES["pure"])
