"""The pure-Python reference engine: micrograd's Value, kept readable.

This is the engine the compiled one is checked against, the fallback when the
extension is not built, and the baseline of the benchmarks. It is laid out as the
compiled engine is (src_pyx/): numbers, the node, one block per op of the table in
``micrograd_fast/ops.py`` (forward value and local derivative side by side), the
backward walk, and Graph. It differs from micrograd where the compiled engine must
match it bit for bit or where micrograd misbehaves:

- ``data`` and ``grad`` are always Python floats;
- each node keeps its operands in order and a serial number, so the order of the
  backward walk (and with it every floating-point sum) depends only on the graph;
- a plain number operand (``x * 2``) is kept inside the node; ``_prev`` shows it
  as a leaf ``Value``, with the gradient micrograd would give it;
- ``backward()`` uses an explicit stack, so deep graphs do not recurse;
- bad input raises a clear exception instead of returning a complex number.
"""

import copyreg
import math
from itertools import count
from operator import attrgetter

from .ops import OPS

__all__ = ["Value", "Graph"]


# -- numbers -------------------------------------------------------------------------
# The compiled engine (src_pyx/numbers.pxi) raises the same classes with the same
# messages: tests/test_errors.py compares them.

def _constant(x):
    """A number operand as a node keeps it, or None when ``x`` is not a real number.

    An exact int or float is kept as given (``_op`` shows ``**2`` for 2). A subclass of
    float or int counts as the number it holds, as Python's arithmetic reads it (its own
    __float__ is not called); any other number (numpy scalars, Fraction, ...) goes
    through float() once, here, before any node exists.
    """
    cls = type(x)
    if cls is float or cls is int:
        if cls is int:
            float(x)  # OverflowError for an int beyond a float, as in Python
        return x
    if isinstance(x, float):
        return float.__float__(x)
    if isinstance(x, int):
        return int.__float__(x)
    if not (hasattr(cls, '__float__') or hasattr(cls, '__index__')):
        return None
    try:
        return float(x)
    except TypeError:  # a __float__ that returns something else
        return None


def _to_float(x, what):
    """``x`` as a float (see _constant), or a TypeError naming ``what`` was given."""
    if type(x) is float:
        return x
    k = _constant(x)
    if k is None:
        if isinstance(x, Value):  # (not another engine's: this one's)
            raise TypeError(f"{what} must be a real number, not a Value: its number is its .data")
        _refuse_other_engine(x)
        raise TypeError(f"{what} must be a real number, not {type(x).__name__!r}")
    return float(k)


def _refuse_other_engine(x):
    """A Value of another engine (micrograd's, or the other of ours) is named, with the fix."""
    cls = type(x)
    if cls.__name__ == 'Value' and hasattr(cls, 'backward') and hasattr(x, 'grad'):
        raise TypeError(
            f"a {cls.__module__}.Value cannot be mixed with a {__name__}.Value: they belong "
            "to two different engines. Make every Value with one of them (from "
            "micrograd_fast.engine import Value), or call micrograd_fast.install() before "
            "micrograd is imported")


def _pow(base, exponent):
    """``base ** exponent`` for floats, as Python computes it, but never complex."""
    try:
        result = base ** exponent
        if (type(result) is float and math.isinf(result)
                and math.isfinite(base) and math.isfinite(exponent)):
            raise OverflowError  # what CPython raises (PyPy returns inf)
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


# -- the node ----------------------------------------------------------------------------
# A node keeps its value and gradient, its operands (``_a``, and ``_b``: a Value, the
# number itself when ``_number`` is set, or dot's tuple of operands), the position of
# its op in the table (``_opcode``, 0 for a leaf), ``_python``, set when it runs
# the Python function in its __dict__'s '_backward' (and walks the tuple in its
# '_prev', when it has one) instead of its op's local derivative, and ``_serial``,
# which counts the nodes made (by an op or by Value()): the walk orders nodes by it.
# Its __dict__ holds
# label and what micrograd keeps in its own __dict__ when a user sets it (_op, _prev,
# _backward), and any other attribute.

LEAF = 0
_serials = count(1)
_LINKS = ('_prev', '_backward', '_op')  # micrograd's names, which are graph links here


def _leaf_backward():
    """A leaf's _backward, as micrograd's: nothing to pass on."""


class Value:
    """ stores a single scalar value and its gradient """

    __slots__ = ("_data", "_grad", "_a", "_b", "_opcode", "_number", "_python", "_serial", "_walk",
                 "_changed", "__dict__")  # no "__weakref__", as the compiled node (docs/ARCHITECTURE.md)

    def __init__(self, data, _children=(), _op='', label=''):
        value = data._data if isinstance(data, Value) else _to_float(data, "Value.data")
        children = _children_of(_children)
        again = hasattr(self, "_opcode")
        old = (self._a, self._b) if again else None  # released last: their __del__ may run code
        if again:  # the new serial may be newer than a parent the node already has
            _mark_changed(self)
        self._opcode, self._number, self._python = LEAF, False, False
        self._serial, self._walk = next(_serials), None  # a new node for the walk's order
        self._a = self._b = None
        self._data = value
        self._grad = 0.0
        if again:  # called again on a node: other attributes stay
            for name in _LINKS + ('label',):
                self.__dict__.pop(name, None)
        if children:
            self._prev = children
        if _op:
            self.__dict__['_op'] = _op
        if not _is_no_label(label):
            self.__dict__['label'] = label
        del old

    # data and grad are floats, whatever real number was given (read through attrgetter, in C)
    def _set_data(self, value):
        self._data = value if type(value) is float else _to_float(value, "Value.data")

    def _set_grad(self, value):
        self._grad = value if type(value) is float else _to_float(value, "Value.grad")

    data = property(attrgetter("_data"), _set_data)
    grad = property(attrgetter("_grad"), _set_grad)

    @property
    def label(self):
        return self.__dict__.get('label', '')

    @label.setter
    def label(self, value):
        if not (_is_no_label(value) and not self.__dict__):
            self.__dict__['label'] = value

    @property
    def _op(self):
        """The op that produced this node, for graphviz / debugging / etc."""
        if '_op' in self.__dict__:
            return self.__dict__['_op']
        return _op_text(self)

    @_op.setter
    def _op(self, value):
        self.__dict__['_op'] = value

    @property
    def _prev(self):
        """The children of this node, as micrograd's set; a number operand is shown as a leaf."""
        return set(self._operands)

    @property
    def _operands(self):
        """The children in operand order (a dot's: bias, w0, x0, w1, x1, ...), as _prev shows them."""
        if self._python and '_prev' in self.__dict__:
            return tuple(self.__dict__['_prev'])
        return tuple(_operand_nodes(self))

    @_prev.setter
    def _prev(self, children):
        # micrograd's backward walks _prev and calls _backward: so does this node now
        backward = self._backward
        self.__dict__['_prev'] = _children_of(children)
        self.__dict__['_backward'] = backward
        self._python = True
        _mark_changed(self)

    @property
    def _backward(self):
        """The local chain rule: passes this node's grad on to its children."""
        if self._python:
            if '_backward' not in self.__dict__:
                raise AttributeError("'Value' object has no attribute '_backward'")
            return self.__dict__['_backward']
        if self._opcode == LEAF:
            return _leaf_backward
        return _LocalBackward(self)

    @_backward.setter
    def _backward(self, fn):
        # Karpathy's extension pattern: the node runs the user's function from now on.
        # Given back its own local derivative (a hook's save and restore), it is built-in again.
        if type(fn) is _LocalBackward and fn.node is self and '_prev' not in self.__dict__:
            self.__dict__.pop('_backward', None)
            self._python = False
            return
        self.__dict__['_backward'] = fn
        self._python = True
        _mark_changed(self)

    @_backward.deleter
    def _backward(self):
        self.__dict__.pop('_backward', None)
        self._python = True  # backward() now raises AttributeError, as micrograd's would
        _mark_changed(self)

    # the operators: + * ** are ops (below); the rest are micrograd's one-liners on top.
    # A subclass's own operators are honoured: it goes through Python's operators, as do
    # the derived ones once the class's own + * ** or - are replaced (_own_operators).
    def __add__(self, other):  # self + other
        return _binary(ADD, self, other)

    def __mul__(self, other):  # self * other
        return _binary(MUL, self, other)

    def __pow__(self, other, modulo=None):  # self ** other
        if modulo is not None:
            return NotImplemented
        return _binary(POW, self, other)

    def relu(self):
        if type(self) is not Value:
            _check_self(self, Value, "relu")
        return _unary(RELU, self)

    def tanh(self):
        if type(self) is not Value:
            _check_self(self, Value, "tanh")
        return _unary(TANH, self)

    def exp(self):
        if type(self) is not Value:
            _check_self(self, Value, "exp")
        return _unary(EXP, self)

    def log(self):
        if type(self) is not Value:
            _check_self(self, Value, "log")
        return _unary(LOG, self)

    def sigmoid(self):
        if type(self) is not Value:
            _check_self(self, Value, "sigmoid")
        return _unary(SIGMOID, self)

    @staticmethod
    def dot(ws, xs, bias=0.0):
        """bias + ws[0]*xs[0] + ws[1]*xs[1] + ..., as one node: what Neuron computes.

        The value is the same left-to-right sum micrograd's Neuron builds from
        separate * and + nodes; each operand may be a Value or a number.
        """
        return _dot(ws, xs, bias)

    def backward(self):
        """Fill in d(self)/d(node) in the .grad of every node below self (accumulating)."""
        _check_self(self, Value, "backward")
        below = None  # the nodes of this serial and newer have run: none yet
        if _HAND_CHANGED[0] == 0:
            self._grad = 1.0
            below = _sweep(self)
            if below == 0:
                return
        topo = _topological_order(self)

        # go one variable at a time and apply the chain rule to get its gradient
        self._grad = 1.0
        for v in reversed(topo):
            if below is not None and v._serial >= below:
                continue  # the sweep ran it
            if v._python:
                v._backward()
            else:
                _BACKWARD[v._opcode](v, v._grad)

    def __rpow__(self, other, modulo=None):  # other ** self
        k = None if modulo is not None else _constant(other)
        if k is None:
            return NotImplemented
        return _binary(POW, Value(k), self)

    def __neg__(self):  # -self
        if type(self) is Value and _own_operators():
            return _binary(MUL, self, -1)
        return self * -1

    def __radd__(self, other):  # other + self
        if type(self) is Value and _own_operators():
            return _binary(ADD, self, other)
        return self.__add__(other)  # not self + other: a non-number must get NotImplemented

    def __sub__(self, other):  # self - other
        if isinstance(other, Value):
            if type(self) is Value and type(other) is Value and _own_operators():
                return _binary(ADD, self, _binary(MUL, other, -1))
            return self + (-other)
        other = _constant(other)  # numpy's bool has no unary minus: its float is negated
        if other is None:
            return NotImplemented
        if type(self) is Value and _own_operators():
            return _binary(ADD, self, -other)
        return self + (-other)

    def __rsub__(self, other):  # other - self
        if _constant(other) is None:
            return NotImplemented
        if type(self) is Value and _own_operators():
            return _binary(ADD, _binary(MUL, self, -1), other)
        return other + (-self)

    def __rmul__(self, other):  # other * self
        if type(self) is Value and _own_operators():
            return _binary(MUL, self, other)
        return self.__mul__(other)

    def __truediv__(self, other):  # self * other**-1
        if isinstance(other, Value):
            if other._data == 0.0:
                raise ZeroDivisionError("Value division by zero")
            if type(self) is Value and type(other) is Value and _own_operators():
                return _binary(MUL, self, _binary(POW, other, -1))
            return self * other**-1
        k = _constant(other)
        if k is None:
            return NotImplemented
        if k == 0.0:
            raise ZeroDivisionError("Value division by zero")
        if type(self) is Value and _own_operators():
            return _binary(MUL, self, _pow(float(k), -1.0))  # micrograd's other**-1, on the number
        return self * _pow(float(k), -1.0)

    def __rtruediv__(self, other):  # other * self**-1
        if _constant(other) is None:
            return NotImplemented
        if self._data == 0.0:
            raise ZeroDivisionError("Value division by zero")
        if type(self) is Value and _own_operators():
            return _binary(MUL, _binary(POW, self, -1), other)
        return other * self**-1

    def __repr__(self):
        return f"Value(data={self._data}, grad={self._grad})"

    def __reduce__(self):
        # data, grad and attributes (a subclass's slots too) survive copy and pickle; graph links do not
        _check_self(self, Value, "__reduce__")
        state = {name: value for name, value in self.__dict__.items() if name not in _LINKS}
        return (_rebuild, (type(self), self._data, self._grad), _with_slots(self, state or None))


_OWN_OPERATORS = {name: vars(Value)[name] for name in ("__add__", "__mul__", "__pow__", "__neg__")}


def _own_operators():
    """Whether Value's + * ** and unary - are still its own. micrograd derives -, / and the
    reflected operators from them (a - b is a + (-b), a / b is a * b**-1), so an operator a
    user sets on the class (Value.__pow__ = f) runs for those too; while they are its own,
    the derived operators make their nodes directly."""
    get = vars(Value).get
    own = _OWN_OPERATORS
    return (get("__add__") is own["__add__"] and get("__mul__") is own["__mul__"]
            and get("__pow__") is own["__pow__"] and get("__neg__") is own["__neg__"])


def _check_self(self, cls, method):
    """Value.relu(2.0) and the like: the compiled engine's methods refuse another object as
    self (as C types' methods do); these do the same."""
    if not isinstance(self, cls):
        raise TypeError(f"descriptor {method!r} for {cls.__name__!r} objects doesn't apply "
                        f"to a {type(self).__name__!r} object")


def _with_slots(v, state):
    """``state``, with the slots a subclass of Value declares, as copy and pickle take
    them: (state, {slot: value}) when one is set."""
    if type(v) is Value:
        return state
    slots = {}
    for name in copyreg._slotnames(type(v)):
        try:
            slots[name] = getattr(v, name)
        except AttributeError:  # (a slot never set)
            pass
    return (state, slots) if slots else state


def _rebuild(cls, data, grad):
    v = cls.__new__(cls)
    Value.__init__(v, data)
    v.grad = grad
    return v


def _is_no_label(label):
    return type(label) is str and len(label) == 0


def _children_of(children):
    """Children given by hand, as a tuple of Values: a number becomes a leaf, as micrograd's ops do."""
    out = []
    for child in children:
        if isinstance(child, Value):
            out.append(child)
            continue
        k = _constant(child)  # (once: its __float__ is called once, as by the compiled engine)
        if k is None:
            _refuse_other_engine(child)
            raise TypeError(f"Value children must be Values, not {type(child).__name__!r}")
        out.append(Value(k))
    return tuple(out)


class _LocalBackward:
    """A built-in node's _backward: its op's local derivative, whatever the node runs now."""

    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node

    def __call__(self):
        _local_backward(self.node)

    def __eq__(self, other):
        return type(other) is _LocalBackward and other.node is self.node

    def __hash__(self):
        return hash((_LocalBackward, id(self.node)))

    def __repr__(self):
        return f"<local derivative of {self.node._op!r} node {self.node!r}>"


def _node(op, a, b, number):
    """A new node of op ``op`` (its value still to be computed): no constructor call, no closure."""
    out = Value.__new__(Value)
    out._data = out._grad = 0.0
    out._opcode, out._a, out._b, out._number, out._python = op, a, b, number, False
    out._serial, out._walk = next(_serials), None
    return out


# -- the ops ------------------------------------------------------------------------------
# One block per row of micrograd_fast/ops.py, in the table's order, as in the compiled
# engine's src_pyx/ops.pxi: the opcode, the forward value (what the operator and a
# replayed Graph compute), the local derivative (the chain rule at the node, given its
# grad ``g``), and the line that puts both in the dispatch tables.
#
# Operands: ``out._a`` is the first (a Value); ``_second(out)`` reads the second, a
# Value's data or the number kept in the node. A dot node keeps its operands in the
# tuple ``out._b``: bias, w0, x0, w1, x1, ...

_FORWARD = [None] * (len(OPS) + 1)  # by opcode
_BACKWARD = [None] * (len(OPS) + 1)
_OP_TEXT = ('',) + tuple(op.text for op in OPS)  # by opcode; a leaf shows ''


def _opcode_of(name):
    """The opcode of the table's row ``name``: its position, counted from 1 (0 is a leaf)."""
    for i, op in enumerate(OPS):
        if op.name == name:
            return i + 1
    raise ImportError(f"micrograd_fast.pure has a block for {name!r}, which ops.py lacks")


def _leaf_forward(out):
    pass  # a leaf keeps the value it was given


def _leaf_chain_rule(out, g):
    pass  # nothing below a leaf


_FORWARD[LEAF], _BACKWARD[LEAF] = _leaf_forward, _leaf_chain_rule


def _define(op, forward, backward):
    _FORWARD[op] = forward
    _BACKWARD[op] = backward


def _second(out):
    """The second operand's value: the number kept in the node, or the Value's data."""
    return out._b if out._number else out._b._data


def _binary(op, a, other):
    """``a <op> other`` as a new node: ``other`` a Value or a number, else NotImplemented."""
    if type(other) is float:  # the common number first: kept as it is
        out = _node(op, a, other, True)
    elif isinstance(other, Value):
        out = _node(op, a, other, False)
    else:
        k = _constant(other)
        if k is None:
            _refuse_other_engine(other)
            return NotImplemented
        out = _node(op, a, k, True)
    _FORWARD[op](out)  # a domain error drops the new node; the operands are untouched
    return out


def _unary(op, a):
    out = _node(op, a, None, False)
    _FORWARD[op](out)
    return out


# + -------------------------------------------------------------------------------------
ADD = _opcode_of("__add__")


def _add_forward(out):
    out._data = out._a._data + _second(out)


def _add_backward(out, g):
    out._a._grad += g
    if not out._number:
        out._b._grad += g


_define(ADD, _add_forward, _add_backward)


# * -------------------------------------------------------------------------------------
MUL = _opcode_of("__mul__")


def _mul_forward(out):
    out._data = out._a._data * _second(out)


def _mul_backward(out, g):
    a, b = out._a, out._b
    if out._number:
        a._grad += b * g
    else:
        a._grad += b._data * g
        b._grad += a._data * g


_define(MUL, _mul_forward, _mul_backward)


# ** ------------------------------------------------------------------------------------
# a ** b for a number b (x**2) or a Value b; a negative base has a real power only for
# an integer exponent.
POW = _opcode_of("__pow__")


def _pow_forward(out):
    out._data = _pow(out._a._data, float(_second(out)))


def _pow_backward(out, g):
    a = out._a
    x, k = a._data, (float(out._b) if out._number else out._b._data)  # _second(out), as a float
    if x == 0.0 and k < 1.0:
        raise ZeroDivisionError(f"x ** {k!r} has no finite gradient at x = {x!r}: "
                                f"its derivative {k!r} * x ** {k - 1.0!r} divides by zero there")
    a._grad += (k * _pow(x, k - 1.0)) * g
    # d/db a**b = a**b * log(a), as in PyTorch: 0 at a == 0, NaN for a negative a (complex)
    if not out._number and x != 0.0:
        out._b._grad += (out._data * (math.log(x) if x > 0.0 else math.nan)) * g


_define(POW, _pow_forward, _pow_backward)


# relu ----------------------------------------------------------------------------------
RELU = _opcode_of("relu")


def _relu_forward(out):
    x = out._a._data
    out._data = 0.0 if x < 0 else x


def _relu_backward(out, g):
    out._a._grad += (out._data > 0) * g


_define(RELU, _relu_forward, _relu_backward)


# tanh ----------------------------------------------------------------------------------
TANH = _opcode_of("tanh")


def _tanh_forward(out):
    out._data = math.tanh(out._a._data)


def _tanh_backward(out, g):
    t = out._data
    out._a._grad += (1.0 - t * t) * g  # t*t, exact on every engine (t**2 may not be)


_define(TANH, _tanh_forward, _tanh_backward)


# exp -----------------------------------------------------------------------------------
EXP = _opcode_of("exp")


def _exp_forward(out):
    out._data = _exp(out._a._data)


def _exp_backward(out, g):
    out._a._grad += out._data * g


_define(EXP, _exp_forward, _exp_backward)


# log -----------------------------------------------------------------------------------
LOG = _opcode_of("log")


def _log_forward(out):
    out._data = _log(out._a._data)


def _log_backward(out, g):
    x = out._a._data
    if x == 0.0:  # its data was set to 0 after the node was made
        raise ZeroDivisionError("float division by zero")
    out._a._grad += (1.0 / x) * g


_define(LOG, _log_forward, _log_backward)


# sigmoid -------------------------------------------------------------------------------
SIGMOID = _opcode_of("sigmoid")


def _sigmoid_forward(out):
    x = out._a._data
    if x >= 0.0:
        out._data = 1.0 / (1.0 + math.exp(-x))
    else:
        e = math.exp(x)  # the same function, written so that exp cannot overflow
        out._data = e / (1.0 + e)


def _sigmoid_backward(out, g):
    s = out._data
    out._a._grad += (s * (1.0 - s)) * g


_define(SIGMOID, _sigmoid_forward, _sigmoid_backward)


# dot: bias + w0*x0 + w1*x1 + ..., one node for micrograd's Neuron sum ------------------
DOT = _opcode_of("dot")


_UNARY_OPCODES = {op.name: _opcode_of(op.name) for op in OPS if op.arity == 1}


def _layer(neurons, x, how, activation):
    """For each neuron ``n`` whose ``_how`` is ``how``, in order: ``Value.dot(n.w, x, n.b)``,
    then, unless ``activation`` is None, that activation of it, as ``d.relu()`` makes it:
    nn's layer (micrograd_fast/nn.py, _same_dots), which the compiled engine runs in C."""
    op = None if activation is None else _UNARY_OPCODES[activation]
    out = []
    for n in neurons:
        if n._how is not how:
            continue
        d = _dot(n.w, x, n.b)
        out.append(d if op is None else _unary(op, d))
    return out


def _snapshot(seq):
    """seq's items, read once, as a tuple. A list is first copied into a list of its own:
    CPython 3.11's tuple(a_list) reads the list's length, then makes the tuple, which may
    run a collection and a __del__ that empties the list, then copies as many items."""
    if type(seq) is list:
        seq = list(seq)
    return tuple(seq)


def _dot(ws, xs, bias):
    # Each read once, first: a number's __float__ cannot change them. Copied as lists, not
    # tuples (see _snapshot), and once: nothing else holds these copies.
    ws, xs = list(ws), list(xs)
    if len(ws) != len(xs):
        raise ValueError(f"Value.dot needs as many weights as inputs, got {len(ws)} and {len(xs)}")
    operands = [_dot_operand(bias)]  # bias, w0, x0, w1, x1, ...
    for w, x in zip(ws, xs):
        operands += [_dot_operand(w), _dot_operand(x)]
    out = _node(DOT, None, tuple(operands), False)
    _dot_forward(out)
    return out


def _dot_operand(x):
    if isinstance(x, Value):
        return x
    k = _constant(x)
    if k is None:
        _refuse_other_engine(x)
        raise TypeError(f"Value.dot operands must be Values or real numbers, not {type(x).__name__!r}")
    return k


def _operand(x):
    return x._data if isinstance(x, Value) else float(x)


def _dot_forward(out):
    # left to right, as sum(w*x for ..., bias) adds in micrograd's Neuron
    ops = out._b
    total = _operand(ops[0])
    for i in range(1, len(ops), 2):
        total = total + _operand(ops[i]) * _operand(ops[i + 1])
    out._data = total


def _dot_backward(out, g):
    # as the unfused graph does: the last product first, each w before its x, the bias last
    ops = out._b
    for i in range(len(ops) - 2, 0, -2):
        w, x = ops[i], ops[i + 1]
        w_data, x_data = _operand(w), _operand(x)  # both read before either grad changes
        if isinstance(w, Value):
            w._grad += x_data * g
        if isinstance(x, Value):
            x._grad += w_data * g
    if isinstance(ops[0], Value):
        ops[0]._grad += g


_define(DOT, _dot_forward, _dot_backward)


# -- every row has its block ---------------------------------------------------------------

for _op in range(1, len(OPS) + 1):
    if _FORWARD[_op] is None or _BACKWARD[_op] is None:
        raise ImportError(f"micrograd_fast.pure has no block for {OPS[_op - 1].name!r} "
                          "of micrograd_fast/ops.py")


# -- reading a built-in node -----------------------------------------------------------------

def _op_text(v):
    if v._opcode == POW and v._number:
        return f'**{v._b}'  # micrograd's '**2': the number exponent is part of the op
    return _OP_TEXT[v._opcode]


def _local_backward(v):
    """The node's op's local derivative: what the walk runs, and a built-in node's _backward()."""
    _BACKWARD[v._opcode](v, v._grad)


def _operand_nodes(v):
    """A built-in node's operands, as micrograd's _prev holds them.

    micrograd wraps a number operand of + and * (and of its Neuron's sum) in a leaf
    Value, whose gradient the walk fills in. Shown here for the first time, the number
    becomes that leaf: kept in the node from now on, so every later read gives the same
    object, with the gradient it would have now (the op's local derivative at the
    number, times the node's grad). A ``**`` exponent is part of the op, as in micrograd.
    """
    op = v._opcode
    if op == LEAF:
        return []
    if op == DOT:
        if any(not isinstance(x, Value) for x in v._b):
            grads = [(x, x._grad) for x in v._b if isinstance(x, Value)]
            v._b = tuple(x if isinstance(x, Value) else Value(x) for x in v._b)
            _mark_changed(v)  # its new leaves are newer than itself
            _give_constants_their_grads(v, grads)
        return list(v._b)
    if v._number and op != POW:
        grads = [(v._a, v._a._grad)]
        v._b, v._number = Value(v._b), False
        _mark_changed(v)  # its new leaf is newer than itself
        _give_constants_their_grads(v, grads)
    if v._number or v._b is None:
        return [v._a]
    return [v._a, v._b]


def _give_constants_their_grads(v, grads):
    """Run the op's local derivative once, then put back the grads of the nodes that were Values already."""
    try:
        _local_backward(v)
    finally:
        for node, grad in reversed(grads):
            node._grad = grad


# -- the backward walk ---------------------------------------------------------------------
# Every node gets a serial number when it is made, and a built-in node is made after its
# operands. So running the chain rule newest first reaches each node after every node
# that passes it a gradient: no search for an order is needed. While no node changed by
# hand lives, backward() sweeps a window of slots by age (the root's serial minus the
# node's), running each node's chain rule as its slot comes up and putting its children
# in theirs. A node changed by hand (made again, given children or a _backward, shown
# with a leaf for a number operand) holds a _HandChange, which counts it until it is
# freed. Otherwise the walk reaches every node below the root and puts them in serial
# order; children given by hand may be newer than their parent, or close a cycle: when
# the walk meets a child that is not older than its parent, it takes micrograd's order
# instead, found by a depth-first search that also finds cycles. The compiled engine
# (src_pyx/walk.pxi) takes the same orders, so the grads sum alike.

_SERIAL = attrgetter("_serial")
_HAND_CHANGED = [0]  # the nodes changed by hand that are alive


class _HandChange:
    """Kept by a node changed by hand, and by nothing else: freed with it."""

    __slots__ = ()

    def __del__(self, changed=_HAND_CHANGED):  # (bound here: at exit the module's names may be gone)
        changed[0] -= 1


def _mark_changed(v):
    if getattr(v, "_changed", None) is None:
        v._changed = _HandChange()
        _HAND_CHANGED[0] += 1


def _hand_changed_nodes():
    """How many nodes changed by hand are alive: backward() sweeps only at 0. For the tests."""
    return _HAND_CHANGED[0]


_WINDOW_PER_NODE, _WINDOW_EMPTY, _WINDOW_MAX = 4, 4096, 1 << 18  # as the compiled sweep's


def _sweep(root):
    """Run the chain rule at every node below root that has one, newest first; 0 when
    done, else a serial: the nodes of that serial and newer have run, the older ones are
    still to run (a node too old for the window, or too many empty slots)."""
    if root._opcode == LEAF:
        return 0
    newest = root._serial
    window = [root] + [None] * 1023  # by age: the root's serial minus the node's
    size = len(window)
    last = 0  # the last slot filled
    chain_rule = _BACKWARD
    empty = run = 0  # the empty slots passed, in all and since the latest node
    latest = root
    for v in window:  # (read while it grows; no counter: a big int is an allocation)
        if v is None:
            empty += 1
            run += 1
            passed = newest - latest._serial + run + 1  # slots, this one included
            if passed > last + 1:
                return 0  # past the last slot filled: every node has run
            if empty > _WINDOW_EMPTY + _WINDOW_PER_NODE * (passed - empty):
                return newest - passed + 2
            continue
        latest, run = v, 0
        op = v._opcode
        chain_rule[op](v, v._grad)
        serial = v._serial
        # _children(v), written out (no node here runs Python code): the call cost 14% of W2
        if op == DOT:
            children = [x for x in v._b if isinstance(x, Value)]
        elif v._number or v._b is None:
            children = (v._a,)
        else:
            children = (v._a, v._b)
        for child in children:  # into their slots, further down
            if child._opcode:  # (a plain leaf, opcode 0, has no chain rule: it is not taken)
                child_serial = child._serial
                if child_serial >= serial:
                    raise SystemError("micrograd_fast: backward() met a node newer than its "
                                      "parent with no node changed by hand alive (an engine bug)")
                slot = newest - child_serial
                if slot >= size:
                    if slot >= _WINDOW_MAX and slot >= _WINDOW_PER_NODE * (newest - serial):
                        return serial  # too old for the window
                    window += [None] * max(size, slot + 1 - size)
                    size = len(window)
                window[slot] = child
                if slot > last:
                    last = slot
    return 0


def _given_children(v):
    """The children a node was given by hand (its __dict__'s '_prev'), or None. Found by
    looking at the keys, as the compiled walk does: looking '_prev' up by its hash would
    call the __eq__ of a key of the user's with the same hash, in the middle of the walk."""
    given = next((value for key, value in v.__dict__.items() if type(key) is str and key == '_prev'), None)
    if given is None:
        return None
    if type(given) is not tuple or not all(isinstance(c, Value) for c in given):
        raise TypeError("a node's _prev must be set as an attribute (v._prev = {a, b}), "
                        "not written into its __dict__")
    return given


def _children(v):
    """The nodes the walk goes to from v, in operand order."""
    if v._python:
        given = _given_children(v)
        if given is not None:
            return given
    op = v._opcode
    if op == DOT:
        return [x for x in v._b if isinstance(x, Value)]
    if op == LEAF:
        return ()
    if v._number or v._b is None:
        return (v._a,)
    return (v._a, v._b)


def _reach(root):
    """Every node below root (root first, then by distance), or None as soon as a child
    is not older than its parent."""
    walk = root._walk = object()  # a mark of this walk, left on each node it reaches
    nodes = [root]
    take = nodes.append
    for v in nodes:  # nodes grows while it is read: it is also the queue of nodes to expand
        serial = v._serial
        if v._python or v._opcode == DOT:
            for child in _children(v):
                if child._serial >= serial:
                    return None
                if child._walk is not walk:
                    child._walk = walk
                    take(child)
        elif v._opcode != LEAF:  # _children's operands, written out: this loop is the walk's cost
            child = v._a
            if child._serial >= serial:
                return None
            if child._walk is not walk:
                child._walk = walk
                take(child)
            child = v._b
            if not v._number and child is not None:
                if child._serial >= serial:
                    return None
                if child._walk is not walk:
                    child._walk = walk
                    take(child)
    return nodes


def _in_serial_order(nodes, newest):
    """nodes, oldest first: each within 2n of the newest serial straight into its slot of
    a window, the older ones (a model's parameters, say) sorted by comparison, first."""
    width = 2 * len(nodes) + 64
    slots = [None] * width
    old = []
    for v in nodes:
        age = newest - v._serial
        if age < width:
            slots[age] = v
        else:
            old.append(v)
    old.sort(key=_SERIAL)
    old.extend(v for v in reversed(slots) if v is not None)
    return old


def _depth_first_order(root):
    """micrograd's recursive build_topo, children in order, run on an explicit stack.

    A node comes off the stack twice: first to be marked visited and to put its
    children on (the last one first, so the first comes off first), then, wrapped
    in a 1-tuple, to be appended after all of its children. A node reached again
    between the two (still on the path from the root) closes a cycle.
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
            stack.extend(reversed(_children(v)))
        elif not finished[v]:
            raise ValueError(f"the graph has a cycle: {v!r} ({v._op!r}) depends on itself, "
                             "so it has no order to backpropagate in")
    return topo


def _topological_order(root):
    """Every node below root, each after its children: in serial order, or micrograd's."""
    nodes = _reach(root)
    if nodes is None:
        return _depth_first_order(root)
    return _in_serial_order(nodes, root._serial)


# -- a graph to run again -------------------------------------------------------------------
# The compiled Graph (src_pyx/graph.pxi) compiles the graph into flat arrays and runs them
# in C; this one runs the same nodes, in the same order, one by one: the same numbers.

_CHANGED = ("a node of this graph ({op!r}) was given a Python _backward after Graph() was "
            "built: its forward computation is not known; build the graph again")
_NOT_COPIED = ("a Graph cannot be copied or pickled: it holds its nodes' links, which "
               "copies of Values do not keep; build Graph(root) again over the copy")


class Graph:
    """A built graph, kept to be run again with new leaf values.

    ``Graph(loss)`` compiles the graph once. ``forward()`` recomputes every
    node from its leaves' current ``data`` (returning the root's);
    ``backward()`` zeroes the grads of the nodes between the leaves and the
    root, then runs the chain rule as ``loss.backward()`` does. A training loop
    with a fixed structure builds its graph once and then only replays it: the
    numbers are the same, bit for bit, as building the graph again each step.

    ``Graph(loss, inputs=leaves)`` names leaves that ``forward(values)`` sets
    from one flat sequence of numbers (a list, an ``array.array('d')``, a numpy
    array: any buffer of doubles is read directly) before it recomputes.
    """

    def __init__(self, root, inputs=()):
        if not isinstance(root, Value):
            raise TypeError(f"Graph() argument must be a Value, not {type(root).__name__!r}")
        inputs = _snapshot(inputs)
        for leaf in inputs:
            if not isinstance(leaf, Value):
                _refuse_other_engine(leaf)
                raise TypeError(f"Graph inputs must be Values, not {type(leaf).__name__!r}")
        nodes = tuple(_topological_order(root))
        for node in nodes:
            if node._python:
                raise ValueError(
                    f"cannot replay a graph holding a node with a Python _backward ({node._op!r}): "
                    "its forward computation is not known; rebuild that graph each step instead")
        in_graph = {id(node) for node in nodes}
        for i, leaf in enumerate(inputs):
            if id(leaf) not in in_graph:
                raise ValueError(f"Graph input {i} ({leaf!r}) is not in the graph: "
                                 "the root does not depend on it")
            if leaf._opcode != LEAF:
                raise ValueError(f"Graph input {i} ({leaf!r}) is computed by the graph "
                                 f"(a {leaf._op!r} node): inputs must be leaves")
        self._nodes = nodes
        self.root = root
        self.inputs = inputs

    def __len__(self):
        self._check_made()
        return len(self._nodes)

    def __reduce__(self):
        _check_self(self, Graph, "__reduce__")
        raise TypeError(_NOT_COPIED)

    def _check_made(self):
        """A Graph whose Graph() raised has no tape: user code run while it was being made
        (iterating the inputs) can still reach it, through gc.get_objects()."""
        if "inputs" not in self.__dict__:
            raise AttributeError("this Graph was never made: the Graph() call that made it raised")

    def _check_unchanged(self):
        self._check_made()
        for node in self._nodes:
            if node._python:  # given a _backward (or made again) since the Graph was built
                raise ValueError(_CHANGED.format(op=node._op))

    def forward(self, values=None):
        """Recompute every node from the leaves' current data; return the root's data.

        With ``values``, the inputs' data are set to them first, in the order of ``inputs``.
        """
        _check_self(self, Graph, "forward")
        self._check_made()
        if values is not None:
            values = _input_values(values, len(self.inputs))
        self._check_unchanged()
        if values is not None:
            for leaf, x in zip(self.inputs, values):
                leaf._data = x
        for node in self._nodes:
            _FORWARD[node._opcode](node)
        return self.root._data

    def backward(self):
        """Zero the grads between leaves and root, then backpropagate from the root."""
        _check_self(self, Graph, "backward")
        self._check_unchanged()
        for node in self._nodes:
            if node._opcode != LEAF:
                node._grad = 0.0
        self.root._grad = 1.0
        for node in reversed(self._nodes):
            _BACKWARD[node._opcode](node, node._grad)


# -- a forward()'s values -----------------------------------------------------------------

_DOUBLE_FORMATS = ("d", "@d", "=d")  # native doubles


def _input_values(values, n):
    """``values`` as a list of n floats: a buffer of doubles as it is, else a sequence of numbers."""
    try:
        view = memoryview(values)
    except (BufferError, ValueError, TypeError):  # as the compiled engine: read it as a sequence
        view = None
    if view is not None and view.format in _DOUBLE_FORMATS and view.c_contiguous:
        numbers = view.cast("B").cast("d").tolist()
        _check_count(len(numbers), n)
        return numbers
    if type(values) is not tuple:
        try:
            iterator = iter(values)
        except TypeError:
            raise TypeError("Graph.forward(values) takes a sequence of numbers or a buffer of "
                            f"doubles, not {type(values).__name__!r}") from None
        values = tuple(iterator)
    _check_count(len(values), n)
    return [_input_value(x, i) for i, x in enumerate(values)]


def _check_count(given, n):
    if given != n:
        if n == 0:
            raise ValueError("Graph.forward(values): this Graph has no inputs to set; "
                             "build it as Graph(root, inputs=leaves)")
        raise ValueError(f"Graph.forward(values) needs {n} values, one per input, not {given}")


def _input_value(x, i):
    return _to_float(x, f"Graph.forward(values): values[{i}]")
