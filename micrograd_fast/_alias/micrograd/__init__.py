"""``import micrograd`` from this folder gives micrograd_fast (see ``micrograd_fast.dropin``).

``python -m micrograd_fast run`` puts this folder first on ``sys.path``, so that child
processes, which start with a fresh ``sys.modules``, get micrograd_fast as well.
"""

__micrograd_fast_alias__ = True  # how install() tells this module from Karpathy's micrograd

from micrograd_fast.dropin import install  # noqa: E402

install()  # replaces this module in sys.modules: the import returns micrograd_fast's package
