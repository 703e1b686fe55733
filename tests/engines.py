"""The engine fixtures, shared by tests/ and benchmarks/ (each conftest imports them).

``engine`` is the module that holds a ``Value`` (``micrograd_fast._engine`` or
``micrograd_fast.pure``); every test or benchmark that takes it runs on both.
``engine_pair`` gives both at once for comparisons. The compiled cases carry the
``c_extension`` mark (a test taking ``engine_pair`` counts as one); with
``--no-c-extensions`` they are deselected, and that is the default on an
interpreter other than CPython (PyPy), where the extension is not built. On
CPython a missing extension is an error, not a skip.
"""

import argparse
import importlib
import sys

import pytest

from micrograd_fast.engine import ENGINES

# What only CPython has: reference counting (a graph freed at its last `del`),
# tracemalloc, gc.is_tracked. PyPy frees in its own collector and has none of them.
cpython_only = pytest.mark.skipif(sys.implementation.name != "cpython",
                                  reason="CPython's reference counting, tracemalloc, gc.is_tracked")


def settable_class(engine):
    """Whether Python code can give the engine's Value class new attributes (Value.tanh =
    tanh): the compiled one is a static type, which CPython lets change from 3.10 on."""
    return engine.__name__ != ENGINES["compiled"] or sys.version_info >= (3, 10)


def pytest_addoption(parser):
    parser.addoption("--c-extensions", action=argparse.BooleanOptionalAction,
                     default=sys.implementation.name == "cpython",
                     help="test the compiled engine too (default: yes on CPython, no elsewhere)")


def pytest_collection_modifyitems(config, items):
    for item in items:  # so that -m c_extension selects them too
        if "engine_pair" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.c_extension)
    if config.getoption("--c-extensions"):
        return
    kept, deselected = [], []
    for item in items:
        (deselected if "c_extension" in item.keywords else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session", ids=str,
                params=[pytest.param("compiled", marks=pytest.mark.c_extension), "pure"])
def engine(request):
    return importlib.import_module(ENGINES[request.param])


@pytest.fixture(scope="session")
def engine_pair(request):
    """(compiled, pure), for tests that compare the two."""
    return importlib.import_module(ENGINES["compiled"]), importlib.import_module(ENGINES["pure"])
