"""The engines the benchmarks compare, each behind one small adapter (a "backend").

A backend tells the workloads (``_workloads``) how to make a leaf that gets a
gradient (``Value``), an input that needs none (``constant``), apply ReLU, read
``data`` and ``grad`` as floats, build ``MLP(nin, nouts)`` and zero its grads.
Micrograd-like engines need nothing more than their ``Value``; PyTorch and plain
floats override the few hooks where they differ.

``load(name)`` imports a backend by name: one of ``ENGINES``, or the dotted name of
any module with a ``Value`` class (benchmarked with ``micrograd_fast.nn``). Heavy
peers (torch, micrograd) are imported here, inside functions, never at package import.
"""

import importlib

# The table's columns, in order. "floats" is the floor: plain Python arithmetic.
ENGINES = ("floats", "pure", "compiled", "micrograd", "torch")
WORKLOADS = ("W1", "W2", "W3", "W4", "W4F", "W4R", "W5")
WORKLOADS_OF_FLOATS = ("W1", "W3")
WORKLOADS_OF_PEERS = ("W1", "W2", "W3", "W4", "W5")  # no fused neuron, no replayable graph


class Backend:
    """micrograd's API: ``Value(x)``, ``x.relu()``, ``v.data``, ``v.grad``, ``model.zero_grad()``."""

    differentiable = True

    def __init__(self, name, Value, mlp=None, relu=None, Graph=None):
        self.name = name
        self.Value = Value
        self.constant = Value
        self.relu = relu or Value.relu
        self.Graph = Graph  # micrograd_fast's replayable graph, where the engine has one
        self._mlp = mlp

    def mlp(self, nin, nouts, fused=False):
        """``MLP(nin, nouts)``: micrograd's graph, or with ``fused`` the Neuron as one dot node."""
        if self._mlp is not None:
            return self._mlp(nin, nouts)
        from . import nn
        return nn.MLP(nin, nouts, value_type=self.Value, fused=fused)

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
        super().__init__("floats", float, relu=_float_relu)

    def data(self, v):
        return float(v)


def _float_relu(x):
    return x if x > 0.0 else 0.0


class TorchBackend(Backend):
    """0-dim float64 tensors on one thread; inputs do not require grad."""

    def __init__(self, torch):
        torch.set_num_threads(1)

        def leaf(x):
            return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)

        def constant(x):
            return torch.tensor(float(x), dtype=torch.float64)

        super().__init__("torch", leaf, relu=torch.relu)
        self.constant = constant

    def grad(self, v):
        return 0.0 if v.grad is None else float(v.grad)

    def zero_grad(self, model):
        for p in model.parameters():
            p.grad = None  # torch's own zero_grad(set_to_none=True); micrograd's `= 0` is an error here


def engine_backend(module, name=None):
    """The backend of an engine module that has a ``Value`` (the tests' ``engine`` fixture)."""
    return Backend(name or module.__name__, module.Value, Graph=getattr(module, "Graph", None))


def load(name):
    """The backend called ``name``; ImportError when that engine or peer is not installed."""
    if name == "floats":
        return FloatsBackend()
    if name == "pure":
        return engine_backend(importlib.import_module("micrograd_fast.pure"), "pure")
    if name == "compiled":
        return engine_backend(importlib.import_module("micrograd_fast._engine"), "compiled")
    if name == "micrograd":
        engine = importlib.import_module("micrograd.engine")
        nn = importlib.import_module("micrograd.nn")
        return Backend("micrograd", engine.Value, mlp=nn.MLP)  # its own MLP: same weights per seed
    if name == "torch":
        return TorchBackend(importlib.import_module("torch"))
    return engine_backend(importlib.import_module(name), name)


def workloads_of(name):
    """The workloads that make sense for an engine: plain floats have no backward, and only
    micrograd_fast's engines have the fused neuron (Value.dot) and the replayable Graph."""
    if name == "floats":
        return WORKLOADS_OF_FLOATS
    if name in ("pure", "compiled"):
        return WORKLOADS
    return WORKLOADS_OF_PEERS
