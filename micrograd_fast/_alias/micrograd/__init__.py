"""``import micrograd`` from this folder gives micrograd_fast (see ``micrograd_fast.dropin``).

``python -m micrograd_fast run`` puts this folder first on ``sys.path``, so that child
processes, which start with a fresh ``sys.modules``, get micrograd_fast as well.
"""

from micrograd_fast.dropin import install

install()  # replaces this module in sys.modules: the import returns micrograd_fast's package
