"""``from micrograd_fast.engine import Value``: the one place that picks the engine.

The compiled ``Value`` (``micrograd_fast._engine``, built from ``src_pyx/``) is used
when it can be imported; the pure-Python one (``micrograd_fast.pure``) when
``MICROGRAD_FAST_PURE=1`` is set, on interpreters other than CPython, or, with a
``RuntimeWarning``, when the extension is missing. ``IMPLEMENTATION`` says which
one this process got: ``"compiled"`` or ``"pure"``. ``Graph`` (a built graph to
replay) comes from the same engine.
"""

import os
import sys
import warnings

from .pure import Graph as PureGraph
from .pure import Value as PureValue

__all__ = ["Value", "Graph", "PureValue", "PureGraph", "IMPLEMENTATION"]

# The engines by name, as the demo's --engine, the benchmarks and the tests' fixtures call them.
ENGINES = {"compiled": "micrograd_fast._engine", "pure": "micrograd_fast.pure"}

_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def switch(name, default):
    """The environment variable ``name`` read as on or off: 1, true, yes, on or 0, false,
    no, off, in any case; unset or empty gives ``default``, anything else a
    ``RuntimeWarning`` and ``default``."""
    text = os.environ.get(name, "").strip().lower()
    if text in _ON:
        return True
    if text in _OFF:
        return False
    if text:
        warnings.warn(f"micrograd_fast: {name}={os.environ[name]!r} is neither on (1, true, yes, on) "
                      f"nor off (0, false, no, off): it is taken as {'on' if default else 'off'}",
                      RuntimeWarning, stacklevel=3)
    return default


FORCE_PURE = switch("MICROGRAD_FAST_PURE", False)

if FORCE_PURE or sys.implementation.name != "cpython":
    Value, Graph = PureValue, PureGraph
    IMPLEMENTATION = "pure"
else:
    try:
        from ._engine import Graph, Value
        IMPLEMENTATION = "compiled"
    except ImportError as error:
        warnings.warn(
            f"micrograd_fast: the compiled engine is not available ({error}); "
            "using the pure-Python engine, which gives the same numbers more slowly. "
            "Reinstall with a C compiler to build it: pip install .",
            RuntimeWarning,
            stacklevel=2,
        )
        Value, Graph = PureValue, PureGraph
        IMPLEMENTATION = "pure"
