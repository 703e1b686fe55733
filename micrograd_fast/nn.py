"""Module, Neuron, Layer, MLP: micrograd's nn, engine-agnostic.

The same classes, reprs and calls to ``random.uniform`` in the same order as
micrograd, so a seeded model starts from the same weights. Parameters are made
with ``micrograd_fast.engine.Value`` unless ``value_type`` names another engine's
``Value`` (the tests and benchmarks run both engines side by side that way).

``activation`` is ``'relu'`` (micrograd's), ``'tanh'`` (the lecture's) or
``'sigmoid'``; as in micrograd, the last layer of an MLP is linear.

A Neuron computes ``b + w0*x0 + w1*x1 + ...`` as one ``Value.dot`` node: the
same numbers as micrograd's separate ``*`` and ``+`` nodes, with one node to
build and walk instead of ``2 * nin``. It builds micrograd's own graph instead
when ``fused=False`` is given, when ``FUSED`` is False (set by
``MICROGRAD_FAST_FUSED=0`` or ``micrograd_fast.install(fused=False)``), and when an
input is of a Value subclass with its own ``+`` or ``*`` (so that its operators run,
as in micrograd).
"""

import random
import sys
import warnings

from . import engine
from .engine import Value
from .optim import _compiled_engine

# micrograd's nn has no __all__: `from micrograd.nn import *` gives these (random included)
__all__ = ["random", "Value", "Module", "Neuron", "Layer", "MLP"]

ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}  # name -> repr prefix

# Whether a Neuron made without fused= builds one dot node (True) or micrograd's graph.
FUSED = engine.switch("MICROGRAD_FAST_FUSED", True)


class Module:

    def zero_grad(self):
        parameters = self.parameters()
        compiled = _compiled_engine()
        if type(parameters) is list and compiled is not None and compiled._zero_grads(parameters):
            return  # every parameter is a compiled Value: one C loop (as optim's zero_grad)
        for p in parameters:
            p.grad = 0

    def parameters(self):
        return []


class Neuron(Module):

    _how = None  # (see _same_dots) what a Neuron unpickled from an older version reads
    # What a subclass whose __init__ sets only micrograd's w, b and nonlin reads: the
    # default activation, and micrograd's graph of * and + nodes (fusing is decided in
    # __init__, which it skipped).
    activation = "relu"
    _fused = False
    _dot = False
    _warned = False

    def __init__(self, nin, nonlin=True, *, activation="relu", value_type=None, fused=None):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                             f"not {activation!r}")
        Value = value_type or engine.Value
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin
        self.activation = activation
        self.fused = FUSED if fused is None else fused
        self._warned = False

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if name in _HOW_DEPENDS_ON:
            object.__setattr__(self, "_how", _how(self))

    @property
    def fused(self):
        """Whether this neuron builds one dot node (when its inputs allow it)."""
        return self._fused

    @fused.setter
    def fused(self, fused):
        # the weights' type is read here, once: a Value subclass with its own + or * gets
        # micrograd's graph, so that its operators run
        self._fused = bool(fused)
        self._dot = self._fused and _fusable({type(self.b), *map(type, self.w)})

    def __call__(self, x):
        x = x if type(x) is list or type(x) is tuple else list(x)
        fusable = _fusable_inputs(x, self.b)
        return self._call(x, fusable)

    def _call(self, x, fusable):
        """The neuron's output; ``fusable``: the types of the inputs allow one dot node."""
        if fusable and self._dot:
            try:
                act = self.b.dot(self.w, x, self.b)
            except ValueError:  # a length mismatch (dot has no other ValueError)
                if len(x) == len(self.w):
                    raise
                w, x = self._zip(x)
                act = self.b.dot(w, x, self.b)
        else:
            w = self.w
            if len(x) != len(w):
                w, x = self._zip(x)
            act = sum((wi*xi for wi, xi in zip(w, x)), self.b)
        return getattr(act, self.activation)() if self.nonlin else act

    def _zip(self, x):
        """What micrograd's zip(self.w, x) pairs: the shorter of the two sets the length."""
        n = min(len(self.w), len(x))
        if not self._warned:
            self._warned = True
            what = (f"the last {len(x) - n} are ignored" if len(x) > n else
                    f"its last {len(self.w) - n} weights are unused")
            warnings.warn(f"{self!r} got {len(x)} inputs: it has {len(self.w)} weights, so {what} "
                          "(micrograd's zip does the same; this warning is given once per Neuron)",
                          UserWarning, stacklevel=_first_caller_outside())
        return self.w[:n], x[:n]

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{ACTIVATIONS[self.activation] if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        return self._call(x, False)[0]

    def _call(self, x, checked):
        """(the output, as __call__ gives it; whether it is a list of an engine's own Values,
        which the next layer's neurons take without looking). ``checked``: x is such a list."""
        x = x if type(x) is list or type(x) is tuple else list(x)
        neurons = self.neurons
        # checked once for every neuron (any object may be a neuron: micrograd calls n(x))
        fusable = checked or _fusable_inputs(x, getattr(neurons[0], "b", None))
        made = _same_dots(neurons, x) if fusable else None
        if made is None:
            # Neuron's own __call__ is skipped (its inputs are checked above) only for a
            # Neuron itself, while the class keeps it: a subclass's or a notebook's runs
            direct = Neuron.__call__ is _NEURON_CALL and Neuron._call is _NEURON_OUTPUT
            made = [n._call(x, fusable) if direct and type(n) is Neuron else n(x) for n in neurons], False
        out, own = made
        return (out[0], False) if len(out) == 1 else (out, own)  # micrograd's behaviour, kept for drop-in use

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):

    def __init__(self, nin, nouts, *, activation="relu", value_type=None, fused=None):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i+1], nonlin=i != len(nouts)-1, activation=activation,
                             value_type=value_type, fused=fused)
                       for i in range(len(nouts))]

    def __call__(self, x):
        checked = False
        for layer in self.layers:
            if type(layer) is Layer:  # (a subclass's own __call__ runs)
                x, checked = layer._call(x, checked)
            else:
                x, checked = layer(x), False
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"

    def to_torch(self):
        """An equivalent ``torch.nn.Sequential`` (float64 Linear layers, the activation
        between each two) with these weights."""
        from .torch_bridge import to_torch
        return to_torch(self)

    @classmethod
    def from_torch(cls, seq, **options):
        """An MLP with the shape, activation and weights of ``seq`` (Linear, ReLU, ...,
        Linear; or Tanh, or Sigmoid); ``options`` (``value_type=``, ``fused=``) go to the
        constructor."""
        from .torch_bridge import from_torch
        return from_torch(cls, seq, **options)

    def load_torch(self, seq):
        """Copy the weights of ``seq`` (shaped as this MLP) into this MLP's Values; returns self."""
        from .torch_bridge import load_torch
        return load_torch(self, seq)


# The operand types with which Value.dot computes what micrograd's w*x and + would, and
# those with which it does not, as classified so far. Numbers and our Values can; a Value
# subclass with its own + or * cannot (micrograd would call its operators); anything else
# is left to the engine, which accepts numbers and raises TypeError otherwise.
_FUSABLE = {int, float, engine.PureValue, engine.Value}
_NOT_FUSABLE = set()
_OPERATORS = ("__add__", "__radd__", "__mul__", "__rmul__")


# A layer's neurons, as built, all make a dot node of the same engine and apply the same
# activation. Layer.__call__ then makes them in one comprehension instead of calling each
# Neuron: the same calls on the same Values in the same order (each Neuron's dot, then its
# activation as x.relu() finds it), for a quarter fewer instructions per fused training
# step. Each Neuron keeps in ``_how`` what its output depends on besides its weights and
# inputs, made again whenever one of those attributes is set; equal ones are one object,
# so the comprehension compares identities. When the dot and the activation are the
# engine's own, the outputs are that engine's Values, which the next layer of an MLP takes
# without looking at their types, and the engine's _layer runs the comprehension.

_HOW_DEPENDS_ON = frozenset({"b", "nonlin", "activation", "_dot", "__class__"})
_NEURON_CALL, _NEURON_OUTPUT = Neuron.__call__, Neuron._call
_HOWS = {}
_UNSET = object()

# an engine's own dot -> (its Value class, its activations as it defines them: a notebook
# may set its own activation on the class; its module's _layer, which makes a layer's dots
# and activations as the comprehension below does, in C on the compiled engine)
_OWN = {cls.dot: (cls, {name: vars(cls)[name] for name in ACTIVATIONS}, sys.modules[cls.__module__]._layer)
        for cls in {engine.Value, engine.PureValue}}


def _how(neuron):
    """(the bias's type, nonlin, activation, the neuron's class) when the neuron makes a
    dot node, else None."""
    # (getattr, not vars(): a __dict__ taken out makes every later attribute read slower)
    nonlin, activation = getattr(neuron, "nonlin", _UNSET), getattr(neuron, "activation", _UNSET)
    if not getattr(neuron, "_dot", False) or nonlin is _UNSET or activation is _UNSET:
        return None
    how = (type(neuron.b), nonlin, activation, type(neuron))
    return _HOWS.setdefault(how, how)


def _same_dots(neurons, x):
    """The neurons' outputs on inputs ``x`` (of types a dot takes), as each Neuron's _call
    gives them, and whether they are an engine's own Values, when every neuron has the
    first one's _how; None otherwise, or when a neuron's weights are not as many as the
    inputs (micrograd's zip then decides)."""
    try:
        how = neurons[0]._how
        # a neuron whose class has a __call__ of its own (a subclass's, or one a notebook
        # set on Neuron) is called, as micrograd's Layer calls it
        if how[3].__call__ is not _NEURON_CALL or how[3]._call is not _NEURON_OUTPUT:
            return None
    except (AttributeError, TypeError, IndexError):  # not a Neuron; no dot (None); an older pickle's
        return None
    dot = how[0].dot
    engine_value, activations, layer = _OWN.get(dot, (None, {}, None))
    activate = activations.get(how[2]) if how[1] else None
    own = activate is not None and vars(engine_value).get(how[2]) is activate
    try:
        if layer is not None:
            # [activate(dot(n.w, x, n.b)) for n in neurons if n._how is how], or the dots alone
            out = layer(neurons, x, how, how[2] if own else None)
        else:
            out = [dot(n.w, x, n.b) for n in neurons if n._how is how]
    # a length mismatch (dot and the own activations raise no other ValueError), or a
    # neuron of the user's own, without _how (micrograd calls it)
    except (ValueError, AttributeError):
        return None
    if len(out) != len(neurons):
        return None
    if not how[1]:
        return out, engine_value is not None
    if not own:
        out = [getattr(d, how[2])() for d in out]
    return out, own


def _first_caller_outside():
    """The warnings stacklevel, seen from the caller, of the first frame outside this module:
    the line of the user's code that called the model."""
    frame, level = sys._getframe(1), 1  # the caller of warn() is stacklevel 1
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame, level = frame.f_back, level + 1
    return level


def _fusable_inputs(x, bias):
    """Whether the inputs ``x`` let a Neuron build one dot node; a TypeError if they are
    micrograd's Values and the Neuron's are ours."""
    types = set(map(type, x))
    if types <= _FUSABLE or _fusable(types):
        return True
    _check_not_mixed(types, bias)
    return False


def _fusable(types):
    """True when operands of these ``types`` let a Neuron build one dot node."""
    for t in types:
        if t not in _FUSABLE and t not in _NOT_FUSABLE:
            (_FUSABLE if _classify(t) else _NOT_FUSABLE).add(t)
        if t in _NOT_FUSABLE:
            return False
    return True


def _classify(t):
    # the first of the MRO that is one of our engines' Values (the compiled one may be
    # in use even when engine.Value is the pure one: value_type= picks an engine)
    mro = t.__mro__
    base = next((k for k in mro if k.__name__ == "Value" and k.__module__ in _ENGINE_MODULES), None)
    if base is not None:
        return not any(name in vars(k) for k in mro[:mro.index(base)] for name in _OPERATORS)
    return not _is_micrograds(t)


_ENGINE_MODULES = ("micrograd_fast._engine", "micrograd_fast.pure")


def _is_micrograds(t):
    """Whether ``t`` is the Value of Karpathy's micrograd package (not ours installed as it)."""
    return t.__name__ == "Value" and t.__module__.partition(".")[0] == "micrograd"


def _check_not_mixed(types, bias):
    if not _is_micrograds(type(bias)) and any(_is_micrograds(t) for t in types):
        raise TypeError(
            "a Neuron got a Value of micrograd (Karpathy's package), and its weights are "
            f"micrograd_fast Values ({type(bias).__module__}.Value): the two cannot be mixed. "
            "Make the inputs with micrograd_fast.engine.Value, or call micrograd_fast.install() "
            "before anything imports micrograd, so that `from micrograd.engine import Value` "
            "gives micrograd_fast's Value")
