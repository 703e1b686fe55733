"""micrograd_fast: Karpathy's micrograd, compiled.

``from micrograd_fast.engine import Value`` and ``from micrograd_fast.nn import MLP``
work as micrograd's do; ``micrograd_fast.engine.IMPLEMENTATION`` says whether the
compiled or the pure-Python engine is in use. ``micrograd_fast.install()`` makes
unmodified ``import micrograd`` code use micrograd_fast.
"""

from .dropin import install
from .engine import IMPLEMENTATION, Value

__version__ = "0.1.0"
__all__ = ["Value", "IMPLEMENTATION", "install", "__version__"]
