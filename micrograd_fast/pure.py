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

__all__ = ["Value"]


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


def _check_log(x):
    if not x > 0.0 and not math.isnan(x):
        raise ValueError(f"log({x!r}): the logarithm needs a positive number")


def _leaf_backward():
    pass


# -- the Value -----------------------------------------------------------------

class Value:
    """ stores a single scalar value and its gradient """

    __slots__ = ("_data", "_grad", "_children", "_constant", "_backward", "_op",
                 "label", "__dict__", "__weakref__")

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        # internal variables used for autograd graph construction
        self._children = tuple(_children)  # ordered: the walk depends only on the graph
        for child in self._children:
            if not isinstance(child, Value):
                raise TypeError(f"Value children must be Values, not {type(child).__name__!r}")
        self._constant = None  # the number in `x + 2` or `x * 2`, shown by _prev
        self._backward = _leaf_backward
        self._op = _op  # the op that produced this node, for graphviz / debugging / etc
        self.label = label

    # data and grad are floats, whatever number was given
    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        self._data = value if type(value) is float else _to_float(value, "Value.data")

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = value if type(value) is float else _to_float(value, "Value.grad")

    @property
    def _prev(self):
        """The children of this node, as micrograd's set."""
        prev = set(self._children)
        if self._constant is not None:
            prev.add(Value(self._constant))
        return prev

    def __add__(self, other):  # self + other
        if isinstance(other, Value):
            out = Value(self.data + other.data, (self, other), '+')

            def _backward():
                self.grad += out.grad
                other.grad += out.grad
        else:
            k = _as_float(other)
            if k is None:
                return NotImplemented
            out = Value(self.data + k, (self,), '+')
            out._constant = k

            def _backward():
                self.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):  # self * other
        if isinstance(other, Value):
            out = Value(self.data * other.data, (self, other), '*')

            def _backward():
                self.grad += other.data * out.grad
                other.grad += self.data * out.grad
        else:
            k = _as_float(other)
            if k is None:
                return NotImplemented
            out = Value(self.data * k, (self,), '*')
            out._constant = k

            def _backward():
                self.grad += k * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other, modulo=None):  # self ** other
        if modulo is not None:
            return NotImplemented
        if isinstance(other, Value):
            if self.data < 0.0:
                raise ValueError(f"{self.data!r} ** Value: a negative base has no real "
                                 f"power for a Value exponent")
            out = Value(_pow(self.data, other.data), (self, other), '**')

            def _backward():
                self.grad += (other.data * _pow(self.data, other.data - 1.0)) * out.grad
                # d/db a**b = a**b * log(a); 0 at a == 0, as in PyTorch
                if self.data != 0.0:
                    other.grad += (out.data * math.log(self.data)) * out.grad
        else:
            k = _as_float(other)
            if k is None:
                return NotImplemented
            shown = other if isinstance(other, (int, float)) else k  # numpy scalars as floats
            out = Value(_pow(self.data, k), (self,), f'**{shown}')

            def _backward():
                self.grad += (k * _pow(self.data, k - 1.0)) * out.grad
        out._backward = _backward
        return out

    def __rpow__(self, other):  # other ** self
        k = _as_float(other)
        if k is None:
            return NotImplemented
        return Value(k) ** self

    def relu(self):
        out = Value(0.0 if self.data < 0 else self.data, (self,), 'ReLU')

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), 'tanh')

        def _backward():
            t = out.data
            self.grad += (1.0 - t * t) * out.grad  # t*t, exact on every engine (t**2 may not be)
        out._backward = _backward
        return out

    def exp(self):
        out = Value(_exp(self.data), (self,), 'exp')

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def log(self):
        _check_log(self.data)
        out = Value(math.log(self.data), (self,), 'log')

        def _backward():
            self.grad += (1.0 / self.data) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        x = self.data
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:  # the same function, written so that exp cannot overflow
            e = math.exp(x)
            s = e / (1.0 + e)
        out = Value(s, (self,), 'sigmoid')

        def _backward():
            s = out.data
            self.grad += (s * (1.0 - s)) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        # topological order all of the children in the graph: the recursive
        # build_topo of micrograd, run on an explicit stack of (node, next child)
        topo = []
        visited = {id(self)}
        stack = [(self, 0)]
        while stack:
            v, i = stack[-1]
            if i < len(v._children):
                stack[-1] = (v, i + 1)
                child = v._children[i]
                if id(child) not in visited:
                    visited.add(id(child))
                    stack.append((child, 0))
            else:
                stack.pop()
                topo.append(v)

        # go one variable at a time and apply the chain rule to get its gradient
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self.__add__(other)  # not self + other: a non-number must get NotImplemented

    def __sub__(self, other):  # self - other
        if not isinstance(other, Value) and _as_float(other) is None:
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
        if self.label:
            attrs["label"] = self.label
        return (_rebuild, (type(self), self.data, self.grad, attrs))


def _rebuild(cls, data, grad, attrs):
    v = cls.__new__(cls)
    Value.__init__(v, data)
    v.grad = grad
    for name, value in attrs.items():
        setattr(v, name, value)
    return v
