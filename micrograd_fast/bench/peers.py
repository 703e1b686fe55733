"""The engines the benchmarks compare, each behind one small adapter (a "backend").

A backend tells the workloads how to make a leaf that gets a gradient (``Value``),
an input that needs none (``constant``), read ``data`` and ``grad`` as floats, build
the demo's MLP and zero its grads. Micrograd-like engines need nothing more than
their ``Value``; plain floats, PyTorch and numpy override the few hooks where they
differ. ``batched`` (numpy, PyTorch) trains the same MLP as matrices over the batch.

``load(name)`` imports a backend by name: one of ``PEERS``, or the dotted name of any
module with a ``Value`` class (benchmarked with ``micrograd_fast.nn``). Heavy peers
(torch, numpy, micrograd) are imported here, inside functions, never at package import.
"""

import importlib
import importlib.metadata

from .. import training
from ..engine import ENGINES

# The table's columns, in order. "floats" is the floor: plain Python arithmetic.
PEERS = ("floats", "pure", "compiled", "micrograd", "torch", "numpy")


class Backend:
    """micrograd's API: ``Value(x)``, ``x.relu()``, ``v.data``, ``v.grad``, ``model.zero_grad()``."""

    differentiable = True
    relu = None  # a function for what has no relu() method (plain floats)
    batched = None  # a class that trains as matrices over the batch (numpy, PyTorch)

    def __init__(self, name, Value, mlp=None, Graph=None, about=""):
        self.name = name
        self.Value = Value
        self.constant = Value
        self.Graph = Graph  # micrograd_fast's replayable graph, where the engine has one
        self._mlp = mlp
        self.about = about  # what the report's header shows after the name: a version

    def mlp(self, fused=False):
        """The demo's MLP: micrograd's graph, or with ``fused`` each Neuron as one dot node."""
        if self._mlp is not None:
            return training.new_mlp(self._mlp)
        return training.new_mlp(value_type=self.Value, fused=fused)

    def data(self, v):
        return float(v.data)

    def grad(self, v):
        return float(v.grad)

    def zero_grad(self, model):
        model.zero_grad()


class FloatsBackend(Backend):
    """Plain Python floats doing the same arithmetic: the floor, no graph."""

    differentiable = False

    def __init__(self):
        super().__init__("floats", float)

    @staticmethod
    def relu(x):
        return x if x > 0.0 else 0.0

    def data(self, v):
        return float(v)


class TorchBackend(Backend):
    """0-dim float64 tensors on one thread; inputs do not require grad."""

    def __init__(self, torch):
        torch.set_num_threads(1)

        def leaf(x):
            return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)

        def constant(x):
            return torch.tensor(float(x), dtype=torch.float64)

        super().__init__("torch", leaf, about=torch.__version__)
        self.constant = constant
        from .batched import TorchTraining
        self.batched = TorchTraining

    def grad(self, v):
        return 0.0 if v.grad is None else float(v.grad)

    def zero_grad(self, model):
        for p in model.parameters():
            p.grad = None  # torch's own zero_grad(set_to_none=True); micrograd's `= 0` is an error here


class NumpyBackend(Backend):
    """numpy has no scalar graph: it runs the batched training only."""

    def __init__(self, numpy):
        super().__init__("numpy", None, about=numpy.__version__)
        from .batched import NumpyTraining
        self.batched = NumpyTraining

    def data(self, v):
        return float(v)


def engine_backend(module, name=None):
    """The backend of an engine module that has a ``Value`` (micrograd_fast's, or another)."""
    about = ""
    if module.__name__ == ENGINES["compiled"]:
        # recorded when the extension was built
        cython = getattr(module, "CYTHON_VERSION", None)
        about = f"(built with Cython {cython})" if cython else "(Cython version not recorded)"
    return Backend(name or module.__name__, module.Value, Graph=getattr(module, "Graph", None),
                   about=about)


def version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


def load(name):
    """The backend called ``name``; ImportError when that engine or peer is not installed."""
    if name == "floats":
        return FloatsBackend()
    if name in ENGINES:
        return engine_backend(importlib.import_module(ENGINES[name]), name)
    if name == "micrograd":
        engine = importlib.import_module("micrograd.engine")
        nn = importlib.import_module("micrograd.nn")
        # its own MLP: the same weights per seed
        return Backend("micrograd", engine.Value, mlp=nn.MLP, about=version("micrograd"))
    if name == "torch":
        return TorchBackend(importlib.import_module("torch"))
    if name == "numpy":
        return NumpyBackend(importlib.import_module("numpy"))
    return engine_backend(importlib.import_module(name), name)
