# The package's names, typed; the Value API is described in pure.pyi.
from typing import Optional

from .engine import IMPLEMENTATION as IMPLEMENTATION
from .engine import Value as Value

__version__: str
__all__ = ["Value", "IMPLEMENTATION", "install", "__version__"]

def install(fused: Optional[bool] = ...) -> None: ...
