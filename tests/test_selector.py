"""engine.py picks the engine: compiled by default, pure on request or as a fallback."""

import sys

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


@pytest.mark.c_extension
@pytest.mark.parametrize("text, chosen, warned", [
    ("0", "compiled", False), ("false", "compiled", False), ("No", "compiled", False),
    (" off ", "compiled", False), ("true", "pure", False), ("YES", "pure", False),
    ("on", "pure", False), ("maybe", "compiled", True), ("2", "compiled", True)])
def test_the_environment_variable_reads_on_and_off_words(text, chosen, warned):
    """MICROGRAD_FAST_PURE=false once chose the pure engine (anything but 0 was on)."""
    result = _chosen(env={"MICROGRAD_FAST_PURE": text})
    assert result[0] == chosen
    assert result[2].strip() == ("['RuntimeWarning']" if warned else "[]")


def test_missing_extension_falls_back_to_pure():
    # sys.modules[name] = None makes the import fail as a missing extension does
    chosen = _chosen(env={"MICROGRAD_FAST_PURE": ""},
                     prelude="import sys; sys.modules['micrograd_fast._engine'] = None\n")
    assert chosen[:2] == ["pure", "micrograd_fast.pure"]
    # a warning on CPython, where the build should have made it; none on PyPy and the
    # other interpreters, where it is never built and pure is the engine
    expected = ["'RuntimeWarning'"] if sys.implementation.name == "cpython" else []
    assert chosen[2].strip() == f"[{', '.join(expected)}]"


def test_both_engines_importable_by_name():
    from micrograd_fast import engine, pure
    assert engine.PureValue is pure.Value


def test_import_needs_only_the_standard_library():
    result = run_python("""
import os, sys, sysconfig
before = set(sys.modules)
import micrograd_fast, micrograd_fast.engine, micrograd_fast.nn, micrograd_fast.pure
paths = sysconfig.get_paths()
installed = tuple(os.path.join(os.path.realpath(paths[key]), "") for key in ("purelib", "platlib"))
stdlib = tuple(os.path.join(os.path.realpath(paths[key]), "") for key in ("stdlib", "platstdlib"))
def from_stdlib(path):  # site-packages may lie inside the stdlib folder
    return path.startswith(stdlib) and not path.startswith(installed)
# modules that came from files (Cython's own runtime modules are made in memory)
loaded = {name.split('.')[0] for name in set(sys.modules) - before
          if getattr(sys.modules[name], '__file__', None)
          and not from_stdlib(os.path.realpath(sys.modules[name].__file__))}
print(sorted(loaded - {'micrograd_fast'}))
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
