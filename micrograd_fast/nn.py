"""Module, Neuron, Layer, MLP: micrograd's nn, engine-agnostic.

The same classes, reprs and calls to ``random.uniform`` in the same order as
micrograd, so a seeded model starts from the same weights. Parameters are made
with ``micrograd_fast.engine.Value`` unless ``value_type`` names another engine's
``Value`` (the tests and benchmarks run both engines side by side that way).

A Neuron computes ``b + w0*x0 + w1*x1 + ...`` as one ``Value.dot`` node: the
same numbers as micrograd's separate ``*`` and ``+`` nodes, with one node to
build and walk instead of ``2 * nin``. ``fused=False`` builds micrograd's graph.
"""

import random

from . import engine


class Module:

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0

    def parameters(self):
        return []


class Neuron(Module):

    def __init__(self, nin, nonlin=True, *, value_type=None, fused=True):
        Value = value_type or engine.Value
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin
        self.fused = fused

    def __call__(self, x):
        if self.fused:
            act = type(self.b).dot(self.w, x, self.b)
        else:
            act = sum((wi*xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out  # micrograd's behaviour, kept for drop-in use

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):

    def __init__(self, nin, nouts, *, value_type=None, fused=True):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i+1], nonlin=i != len(nouts)-1, value_type=value_type,
                             fused=fused)
                       for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"

    def to_torch(self):
        """An equivalent ``torch.nn.Sequential`` (float64 Linear and ReLU) with these weights."""
        from .torch_bridge import to_torch
        return to_torch(self)

    @classmethod
    def from_torch(cls, seq, **options):
        """An MLP with the shape and weights of ``seq`` (Linear, ReLU, ..., Linear);
        ``options`` (``value_type=``, ``fused=``) go to the constructor."""
        from .torch_bridge import from_torch
        return from_torch(cls, seq, **options)

    def load_torch(self, seq):
        """Copy the weights of ``seq`` (shaped as this MLP) into this MLP's Values; returns self."""
        from .torch_bridge import load_torch
        return load_torch(self, seq)
