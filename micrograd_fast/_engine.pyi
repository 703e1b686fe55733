# The compiled engine has the pure engine's API, described once in pure.pyi.
from .pure import Graph as Graph
from .pure import Value as Value

CYTHON_VERSION: str  # the Cython that built this module
