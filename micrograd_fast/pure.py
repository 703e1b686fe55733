"""The pure-Python reference engine: micrograd's Value, kept readable.

This is the engine the compiled one is checked against, the fallback when the
extension is not built, and the baseline of the benchmarks. It follows
Karpathy's micrograd line by line where it can: every operation is one block
that computes the forward value and defines the local derivative right under
it. It differs from micrograd where the compiled engine must match it bit for
bit or where micrograd misbehaves:

- ``data`` and ``grad`` are always Python floats;
- children are kept as an ordered tuple, so the topological order (and with it
  every floating-point sum) depends only on the graph;
- a plain number operand (``x * 2``) is kept inside the node, not wrapped in a
  child ``Value``; ``_prev`` still shows it as a leaf, whose grad is not kept;
- ``backward()`` uses an explicit stack, so deep graphs do not recurse;
- bad input raises a clear exception instead of returning a complex number.
"""

import math
from operator import attrgetter

__all__ = ["Value", "Graph"]


# -- numbers -------------------------------------------------------------------
# The compiled engine (src_pyx/_engine.pyx) raises the same classes with the
# same messages: tests/test_errors.py compares them.

def _as_float(x):
    """``x`` as a float, or None when ``x`` is not a real number.

    A real number is what has ``__float__`` or ``__index__`` (int, bool, numpy
    scalars, Fraction, Decimal, ...): float() itself would also parse strings.
    """
    if type(x) is float:
        return x
    if not (hasattr(type(x), '__float__') or hasattr(type(x), '__index__')):
        return None
    try:
        return float(x)
    except TypeError:  # a __float__ that returns something else
        return None


def _to_float(x, what):
    """``x`` as a float, or a TypeError naming ``what`` was given."""
    f = _as_float(x)
    if f is None:
        raise TypeError(f"{what} must be a real number, not {type(x).__name__!r}")
    return f


def _pow(base, exponent):
    """``base ** exponent`` for floats, as Python computes it, but never complex."""
    try:
        result = base ** exponent
    except OverflowError:
        raise OverflowError(f"{base!r} ** {exponent!r} is too large for a float") from None
    if type(result) is complex:  # Python's answer for a negative base and a fractional exponent
        raise ValueError(f"{base!r} ** {exponent!r}: a negative number has no real power "
                         f"with a fractional exponent")
    return result


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp({x!r}) is too large for a float") from None


def _log(x):
    if not x > 0.0 and not math.isnan(x):
        raise ValueError(f"log({x!r}): the logarithm needs a positive number")
    return math.log(x)


def _leaf_backward():
    pass


# -- the Value -----------------------------------------------------------------

class Value:
    """ stores a single scalar value and its gradient """

    __slots__ = ("_data", "_grad", "_children", "_constants", "_forward", "_local_backward",
                 "_op", "label", "__dict__", "__weakref__")

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        # internal variables used for autograd graph construction
        self._children = tuple(_children)  # ordered: the walk depends only on the graph
        for child in self._children:
            if not isinstance(child, Value):
                raise TypeError(f"Value children must be Values, not {type(child).__name__!r}")
        self._constants = ()  # the numbers among the operands (the 2 in x * 2), shown by _prev
        self._forward = None  # recomputes data from the operands: built-in ops only
        self._local_backward = _leaf_backward
        self._op = _op  # the op that produced this node, for graphviz / debugging / etc
        self.label = label

    # data and grad are floats, whatever number was given (read through attrgetter, in C)
    def _set_data(self, value):
        self._data = value if type(value) is float else _to_float(value, "Value.data")

    def _set_grad(self, value):
        self._grad = value if type(value) is float else _to_float(value, "Value.grad")

    data = property(attrgetter("_data"), _set_data)
    grad = property(attrgetter("_grad"), _set_grad)

    @property
    def _prev(self):
        """The children of this node, as micrograd's set; numbers are shown as leaves."""
        return set(self._children) | {Value(k) for k in self._constants}

    @property
    def _backward(self):
        return self._local_backward

    @_backward.setter
    def _backward(self, fn):  # Karpathy's extension pattern: your own local derivative
        self._local_backward = fn
        self._forward = None  # what the node computes is yours now: a Graph cannot replay it

    def _made_by(self, _forward, _backward):
        """Give a new node its operation: compute its value, keep its local derivative."""
        self._forward = _forward
        self._local_backward = _backward
        _forward()
        return self

    def __add__(self, other):  # self + other
        if isinstance(other, Value):
            out = Value(0.0, (self, other), '+')

            def _forward():
                out.data = self.data + other.data

            def _backward():
                self.grad += out.grad
                other.grad += out.grad
        else:
            k = _as_float(other)
            if k is None:
                return NotImplemented
            out = Value(0.0, (self,), '+')
            out._constants = (k,)

            def _forward():
                out.data = self.data + k

            def _backward():
                self.grad += out.grad
        return out._made_by(_forward, _backward)

    def __mul__(self, other):  # self * other
        if isinstance(other, Value):
            out = Value(0.0, (self, other), '*')

            def _forward():
                out.data = self.data * other.data

            def _backward():
                self.grad += other.data * out.grad
                other.grad += self.data * out.grad
        else:
            k = _as_float(other)
            if k is None:
                return NotImplemented
            out = Value(0.0, (self,), '*')
            out._constants = (k,)

            def _forward():
                out.data = self.data * k

            def _backward():
                self.grad += k * out.grad
        return out._made_by(_forward, _backward)

    def __pow__(self, other, modulo=None):  # self ** other
        if modulo is not None:
            return NotImplemented
        if isinstance(other, Value):
            out = Value(0.0, (self, other), '**')

            def _forward():
                if self.data < 0.0:
                    raise ValueError(f"{self.data!r} ** Value: a negative base has no real "
                                     f"power for a Value exponent")
                out.data = _pow(self.data, other.data)

            def _backward():
                self.grad += (other.data * _pow(self.data, other.data - 1.0)) * out.grad
                # d/db a**b = a**b * log(a); 0 at a == 0, as in PyTorch
                if self.data != 0.0:
                    other.grad += (out.data * _log(self.data)) * out.grad
        else:
            k = _as_float(other)
            if k is None:
                return NotImplemented
            shown = other if type(other) in (int, float) else k  # numpy scalars, bool: as floats
            out = Value(0.0, (self,), f'**{shown}')

            def _forward():
                out.data = _pow(self.data, k)

            def _backward():
                self.grad += (k * _pow(self.data, k - 1.0)) * out.grad
        return out._made_by(_forward, _backward)

    def __rpow__(self, other):  # other ** self
        k = _as_float(other)
        if k is None:
            return NotImplemented
        return Value(k) ** self

    def relu(self):
        out = Value(0.0, (self,), 'ReLU')

        def _forward():
            out.data = 0.0 if self.data < 0 else self.data

        def _backward():
            self.grad += (out.data > 0) * out.grad
        return out._made_by(_forward, _backward)

    def tanh(self):
        out = Value(0.0, (self,), 'tanh')

        def _forward():
            out.data = math.tanh(self.data)

        def _backward():
            t = out.data
            self.grad += (1.0 - t * t) * out.grad  # t*t, exact on every engine (t**2 may not be)
        return out._made_by(_forward, _backward)

    def exp(self):
        out = Value(0.0, (self,), 'exp')

        def _forward():
            out.data = _exp(self.data)

        def _backward():
            self.grad += out.data * out.grad
        return out._made_by(_forward, _backward)

    def log(self):
        out = Value(0.0, (self,), 'log')

        def _forward():
            out.data = _log(self.data)

        def _backward():
            self.grad += (1.0 / self.data) * out.grad
        return out._made_by(_forward, _backward)

    def sigmoid(self):
        out = Value(0.0, (self,), 'sigmoid')

        def _forward():
            x = self.data
            if x >= 0.0:
                out.data = 1.0 / (1.0 + math.exp(-x))
            else:  # the same function, written so that exp cannot overflow
                e = math.exp(x)
                out.data = e / (1.0 + e)

        def _backward():
            s = out.data
            self.grad += (s * (1.0 - s)) * out.grad
        return out._made_by(_forward, _backward)

    @staticmethod
    def dot(ws, xs, bias=0.0):
        """bias + ws[0]*xs[0] + ws[1]*xs[1] + ..., as one node: what Neuron computes.

        The value is the same left-to-right sum micrograd's Neuron builds from
        separate * and + nodes; each operand may be a Value or a number.
        """
        ws, xs = tuple(ws), tuple(xs)
        if len(ws) != len(xs):
            raise ValueError(f"Value.dot needs as many weights as inputs, got {len(ws)} and {len(xs)}")
        operands = [_dot_operand(bias)]  # bias, w0, x0, w1, x1, ...
        for w, x in zip(ws, xs):
            operands += [_dot_operand(w), _dot_operand(x)]
        out = Value(0.0, [o for o in operands if isinstance(o, Value)], 'dot')
        out._constants = tuple(o for o in operands if not isinstance(o, Value))

        def _forward():
            total = _value_of(operands[0])
            for i in range(1, len(operands), 2):
                total = total + _value_of(operands[i]) * _value_of(operands[i + 1])
            out.data = total

        def _backward():
            # as the unfused graph does: the last product first, each w before its x, the bias last
            g = out.grad
            for i in range(len(operands) - 2, 0, -2):
                w, x = operands[i], operands[i + 1]
                if isinstance(w, Value):
                    w.grad += _value_of(x) * g
                if isinstance(x, Value):
                    x.grad += _value_of(w) * g
            if isinstance(operands[0], Value):
                operands[0].grad += g
        return out._made_by(_forward, _backward)

    def backward(self):
        topo = _topological_order(self)

        # go one variable at a time and apply the chain rule to get its gradient
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self.__add__(other)  # not self + other: a non-number must get NotImplemented

    def __sub__(self, other):  # self - other
        if not isinstance(other, (Value, int, float)):
            other = _as_float(other)  # numpy's bool has no unary minus: negate its float
            if other is None:
                return NotImplemented
        return self + (-other)

    def __rsub__(self, other):  # other - self
        if _as_float(other) is None:
            return NotImplemented
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self.__mul__(other)

    def __truediv__(self, other):  # self / other
        if isinstance(other, Value):
            if other.data == 0.0:
                raise ZeroDivisionError("Value division by zero")
            return self * other**-1
        k = _as_float(other)
        if k is None:
            return NotImplemented
        if k == 0.0:
            raise ZeroDivisionError("Value division by zero")
        return self * _pow(k, -1.0)  # micrograd's other**-1, on the number

    def __rtruediv__(self, other):  # other / self
        if _as_float(other) is None:
            return NotImplemented
        if self.data == 0.0:
            raise ZeroDivisionError("Value division by zero")
        return other * self**-1

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __reduce__(self):
        # data, grad and attributes survive copy and pickle; graph links do not
        attrs = dict(getattr(self, "__dict__", {}))
        if not (isinstance(self.label, str) and self.label == ''):
            attrs["label"] = self.label
        return (_rebuild, (type(self), self.data, self.grad, attrs))


def _rebuild(cls, data, grad, attrs):
    v = cls.__new__(cls)
    Value.__init__(v, data)
    v.grad = grad
    for name, value in attrs.items():
        setattr(v, name, value)
    return v


def _dot_operand(x):
    if isinstance(x, Value):
        return x
    k = _as_float(x)
    if k is None:
        raise TypeError(f"Value.dot operands must be Values or real numbers, not {type(x).__name__!r}")
    return k


def _value_of(operand):
    return operand.data if isinstance(operand, Value) else operand


def _topological_order(root):
    """micrograd's recursive build_topo, children in order, run on an explicit stack.

    A node comes off the stack twice: first to be marked visited and to put its
    children on (the last one first, so the first comes off first), then, wrapped
    in a 1-tuple, to be appended after all of its children. A node reached again
    between the two (still on the path from the root) closes a cycle, which only
    a user-built node given a child after the fact can make.
    """
    topo = []
    finished = {}  # node -> False while on the path from the root, True once in topo
    stack = [root]
    while stack:
        v = stack.pop()
        if type(v) is tuple:  # (node,): its children are all in topo
            topo.append(v[0])
            finished[v[0]] = True
        elif v not in finished:
            finished[v] = False
            stack.append((v,))
            stack.extend(reversed(v._children))
        elif not finished[v]:
            raise ValueError(f"the graph has a cycle: {v!r} ({v._op!r}) depends on itself, "
                             "so it has no order to backpropagate in")
    return topo


# -- a graph to run again ---------------------------------------------------------

_CHANGED = ("a node of this graph ({op!r}) was given a Python _backward after Graph() was "
            "built: its forward computation is not known; build the graph again")


def _has_python_backward(node):
    """A user-built node, or any node whose _backward the user replaced."""
    return bool(node._children) or node._local_backward is not _leaf_backward


class Graph:
    """A built graph, kept to be run again with new leaf values.

    ``Graph(loss)`` finds the topological order once. ``forward()`` recomputes
    every node from its leaves' current ``data`` (returning the root's);
    ``backward()`` zeroes the grads of the nodes between the leaves and the
    root, then runs the chain rule as ``loss.backward()`` does. A training loop
    with a fixed structure builds its graph once and then only replays it: the
    numbers are the same, bit for bit, as building the graph again each step.
    """

    def __init__(self, root):
        self.root = root
        self._nodes = _topological_order(root)
        for node in self._nodes:
            if node._forward is None and _has_python_backward(node):
                raise ValueError(
                    f"cannot replay a graph holding a node with a Python _backward ({node._op!r}): "
                    "its forward computation is not known; rebuild that graph each step instead")

    def __len__(self):
        return len(self._nodes)

    def forward(self):
        """Recompute every node from the leaves' current data; return the root's data."""
        for node in self._nodes:
            forward = node._forward
            if forward is not None:
                forward()
            elif _has_python_backward(node):  # given one since the Graph was built
                raise ValueError(_CHANGED.format(op=node._op))
            # else: a leaf (perhaps made one again by __init__): it keeps its data
        return self.root.data

    def backward(self):
        """Zero the grads between leaves and root, then backpropagate from the root."""
        for node in self._nodes:
            if node._forward is not None or _has_python_backward(node):  # not a leaf
                node.grad = 0.0
        self.root.grad = 1.0
        for node in reversed(self._nodes):
            node._backward()
