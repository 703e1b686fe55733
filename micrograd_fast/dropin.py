"""``micrograd_fast.install()``: make ``import micrograd`` give micrograd_fast.

After ``install()``, unmodified code doing ``from micrograd.engine import Value``,
``from micrograd.nn import MLP`` or ``import micrograd`` gets this package's engine
and nn, even when Karpathy's ``micrograd`` is installed too: the names are put
into ``sys.modules``, which the import system looks in first.

If the real ``micrograd`` was already imported, its modules are replaced with a
``RuntimeWarning``: Values made before the call stay micrograd's own.
Calling ``install()`` again only applies its ``fused`` argument.

Child processes do not inherit ``sys.modules``. For them there is ``ALIAS_PATH``, a
folder holding a ``micrograd`` package whose import calls ``install()``: with it first
on ``sys.path``, a fresh interpreter's ``import micrograd`` gives micrograd_fast too.
``python -m micrograd_fast run`` puts it there, and multiprocessing's spawn and
forkserver children get the parent's ``sys.path``.
"""

import importlib.machinery
import os
import sys
import types
import warnings

from . import engine, nn

ALIASES = {"micrograd.engine": engine, "micrograd.nn": nn}
ALIAS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_alias")


def _alias_package():
    """A stand-in for the ``micrograd`` package: its ``engine`` and ``nn`` are ours."""
    package = types.ModuleType("micrograd", "micrograd_fast, installed as micrograd")
    # a package with no files of its own: micrograd.engine and micrograd.nn are found in
    # sys.modules, any other micrograd.* import fails
    package.__spec__ = importlib.machinery.ModuleSpec("micrograd", None, is_package=True)
    package.__path__ = package.__spec__.submodule_search_locations = []
    package.engine = engine
    package.nn = nn
    # "which micrograd is this?": micrograd.__file__ answers with micrograd_fast's package
    package.__file__ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__init__.py")
    package.__micrograd_fast__ = True
    return package


def is_installed():
    """True when ``import micrograd`` gives micrograd_fast in this process."""
    return getattr(sys.modules.get("micrograd"), "__micrograd_fast__", False)


def install(fused=None):
    """Put micrograd_fast into ``sys.modules`` as ``micrograd``, ``micrograd.engine``, ``micrograd.nn``.

    ``fused=False`` makes every Neuron made afterwards build micrograd's own graph of
    ``*`` and ``+`` nodes (what ``MICROGRAD_FAST_FUSED=0`` does), so that pictures of it
    look as in micrograd; ``fused=True`` goes back to one dot node per neuron.
    """
    if fused is not None:
        nn.FUSED = bool(fused)
    if is_installed():
        return
    already = sorted(name for name in sys.modules if name == "micrograd" or name.startswith("micrograd."))
    # the alias package, being imported, is in sys.modules already: it is not micrograd
    already = [name for name in already if not _is_our_alias(sys.modules[name])]
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


def _is_our_alias(module):
    # marked, not compared by path: another copy of micrograd_fast's folder is ours too
    return getattr(module, "__micrograd_fast_alias__", False)
