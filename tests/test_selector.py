"""engine.py picks the engine: compiled by default, pure on request or as a fallback."""

import pytest

from helpers import run_python


def _chosen(env=None, prelude=""):
    result = run_python(prelude + """
import warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from micrograd_fast import engine
print(engine.IMPLEMENTATION, engine.Value.__module__, [str(w.category.__name__) for w in caught])
""", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split(maxsplit=2)


@pytest.mark.c_extension
def test_compiled_by_default():
    assert _chosen(env={"MICROGRAD_FAST_PURE": ""})[:2] == ["compiled", "micrograd_fast._engine"]


def test_environment_variable_forces_pure():
    assert _chosen(env={"MICROGRAD_FAST_PURE": "1"})[:2] == ["pure", "micrograd_fast.pure"]


def test_missing_extension_falls_back_with_a_warning():
    # sys.modules[name] = None makes the import fail as a missing extension does
    chosen = _chosen(env={"MICROGRAD_FAST_PURE": ""},
                     prelude="import sys; sys.modules['micrograd_fast._engine'] = None\n")
    assert chosen[:2] == ["pure", "micrograd_fast.pure"]
    assert "RuntimeWarning" in chosen[2]


def test_both_engines_importable_by_name():
    from micrograd_fast import engine, pure
    assert engine.PureValue is pure.Value


def test_import_needs_only_the_standard_library():
    result = run_python("""
import sys
before = set(sys.modules)
import micrograd_fast, micrograd_fast.engine, micrograd_fast.nn, micrograd_fast.pure
# modules that came from files (Cython's own runtime modules are made in memory)
loaded = {name.split('.')[0] for name in set(sys.modules) - before
          if getattr(sys.modules[name], '__file__', None)}
print(sorted(loaded - set(sys.stdlib_module_names) - {'micrograd_fast'}))
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
