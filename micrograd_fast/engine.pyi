# engine.py picks an engine at import time; both have the API described in pure.pyi.
from .pure import Graph as Graph
from .pure import Graph as PureGraph
from .pure import Value as PureValue
from .pure import Value as Value

__all__ = ["Value", "Graph", "PureValue", "PureGraph", "IMPLEMENTATION"]

ENGINES: dict[str, str]  # engine name -> module name
FORCE_PURE: bool
IMPLEMENTATION: str
