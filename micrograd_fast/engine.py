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

FORCE_PURE = os.environ.get("MICROGRAD_FAST_PURE", "") not in ("", "0")

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
