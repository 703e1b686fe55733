"""``micrograd_fast.install()``: make ``import micrograd`` give micrograd_fast.

After ``install()``, unmodified code doing ``from micrograd.engine import Value``,
``from micrograd.nn import MLP`` or ``import micrograd`` gets this package's engine
and nn, even when Karpathy's ``micrograd`` is installed too: the names are put
into ``sys.modules``, which the import system looks in first.

If the real ``micrograd`` was already imported, its modules are replaced with a
``RuntimeWarning``: Values made before the call stay micrograd's own.
Calling ``install()`` again does nothing.
"""

import sys
import types
import warnings

from . import engine, nn

ALIASES = {"micrograd.engine": engine, "micrograd.nn": nn}


def _alias_package():
    """A stand-in for the ``micrograd`` package: its ``engine`` and ``nn`` are ours."""
    package = types.ModuleType("micrograd", "micrograd_fast, installed as micrograd")
    package.__path__ = []  # a package with no files: other micrograd.* imports fail
    package.engine = engine
    package.nn = nn
    package.__micrograd_fast__ = True
    return package


def is_installed():
    """True when ``import micrograd`` gives micrograd_fast in this process."""
    return getattr(sys.modules.get("micrograd"), "__micrograd_fast__", False)


def install():
    """Put micrograd_fast into ``sys.modules`` as ``micrograd``, ``micrograd.engine``, ``micrograd.nn``."""
    if is_installed():
        return
    already = sorted(name for name in sys.modules if name == "micrograd" or name.startswith("micrograd."))
    if already:
        warnings.warn(
            f"micrograd_fast.install(): {', '.join(already)} already imported; replacing them. "
            "Objects made before this call still come from micrograd: call install() first.",
            RuntimeWarning,
            stacklevel=2,
        )
        for name in already:
            del sys.modules[name]
    sys.modules["micrograd"] = _alias_package()
    sys.modules.update(ALIASES)
