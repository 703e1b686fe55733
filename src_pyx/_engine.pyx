# cython: language_level=3, embedsignature=True
"""The compiled engine: micrograd's Value as a C struct, backward as a C loop.

Each node is 64 bytes (80 with the garbage collector's header): the value and
its gradient as doubles, two operand slots, one word that holds the opcode and
the number of the last backward walk that reached the node, and a weak
reference list. There is no per-node closure, dict or set: the walk switches
on the opcode and applies the local derivative written beside the operation.

What a node rarely needs (a label, a user's ``_backward`` callback, a
user-built node's children, optimizer attributes such as ``p.m``) lives in an
``_Extras`` object that takes the place of the second operand slot, which it
keeps.

The pure engine (micrograd_fast/pure.py) is the reference: every forward value,
local derivative, exception class and message here must match it bit for bit.
"""

cimport cython
from cpython.ref cimport PyObject
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_Check, PyFloat_CheckExact, PyFloat_AsDouble
from cpython.long cimport PyLong_Check, PyLong_CheckExact, PyLong_AsDouble
from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free
from cpython.number cimport PyNumber_Power
from cpython.object cimport PyObject_GenericSetAttr
from cpython.ref cimport Py_INCREF
from cpython.sequence cimport PySequence_Fast_GET_ITEM
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.float cimport DBL_MIN
from libc.math cimport INFINITY, exp, fabs, floor, fmod, isfinite, isinf, isnan, log, pow, tanh
from libc.stdint cimport uint64_t
from libc.string cimport memset

from functools import partial

cdef extern from "Python.h":
    # the raw, borrowed-pointer forms of what the walk needs
    void incref "Py_INCREF"(PyObject*)
    void decref "Py_DECREF"(PyObject*)
    PyObject* PyTuple_GET_ITEM(object, Py_ssize_t)
    bint PyObject_IS_GC(object)
    bint PyObject_GC_IsTracked(object)
    void PyObject_GC_Track(object)
    void PyObject_GC_UnTrack(object)
    int generic_setattr "PyObject_GenericSetAttr"(object, object, PyObject*) except -1
    # allocation of Value nodes (see _allocate_untracked)
    ctypedef struct _TypeSlots "PyTypeObject":
        Py_ssize_t tp_basicsize
        PyObject* (*tp_alloc)(_TypeSlots*, Py_ssize_t) noexcept
        void (*tp_free)(void*) noexcept
    PyObject* _PyObject_GC_New(_TypeSlots*)
    void PyObject_GC_Del(void*)
    PyObject* PyObject_Init(PyObject*, _TypeSlots*)
    _TypeSlots* Py_TYPE(PyObject*)


# -- opcodes -------------------------------------------------------------------
# `_K` ops take a plain number operand, kept in the second slot as the int or
# float the user gave (anything else is stored as its float).

cdef enum:
    LEAF = 0    # an input or parameter
    ADD         # a + b
    ADD_K       # a + k
    MUL         # a * b
    MUL_K       # a * k
    POW_K       # a ** k
    POW         # a ** b
    RELU
    TANH
    EXP
    LOG
    SIGMOID
    DOT         # bias + w0*x0 + w1*x1 + ...: the operands in a tuple
    CUSTOM      # built by the user as Value(data, children, op): calls its _backward

# how many operand slots each opcode uses (-1: a tuple of operands, DOT and CUSTOM)
cdef int[14] _ARITY
_ARITY[:] = [0, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, -1, -1]

cdef tuple _OP_TEXT = ('', '+', '+', '*', '*', '**', '**', 'ReLU', 'tanh', 'exp', 'log',
                       'sigmoid', 'dot', '')


# -- numbers -------------------------------------------------------------------
# Same classes and messages as micrograd_fast/pure.py.

cdef inline bint _is_real(object x):
    """A real number, as Python's float() and PyFloat_AsDouble see one."""
    if PyFloat_Check(x) or PyLong_Check(x):
        return True
    return hasattr(type(x), '__float__') or hasattr(type(x), '__index__')


cdef object _constant(object x, double* k):
    """A number operand as it will be stored (None when `x` is not a real number), its value in *k.

    An int or a float is kept as it is; any other number (bool, numpy scalars,
    subclasses of int and float, Fraction, ...) is converted by float() once,
    here: the walk must never run a user's __float__ while it holds borrowed nodes.
    """
    if PyFloat_CheckExact(x):
        k[0] = PyFloat_AS_DOUBLE(x)
        return x
    if PyLong_CheckExact(x):
        k[0] = PyLong_AsDouble(x)  # OverflowError for a huge int, as in micrograd
        return x
    if not _is_real(x):
        return None
    try:
        k[0] = PyFloat_AS_DOUBLE(float(x))
    except TypeError:  # a __float__ that returns something else
        return None
    return k[0]


cdef double _to_float(object x, str what) except? -1.0:
    if PyFloat_Check(x):
        return PyFloat_AS_DOUBLE(x)
    if _is_real(x):
        try:
            return PyFloat_AsDouble(x)
        except TypeError:
            pass
    raise TypeError(f"{what} must be a real number, not {type(x).__name__!r}")


cdef double _python_pow(double base, double exponent) except? -1.0:
    """Python's own float ** (its special cases and exceptions), but never complex."""
    try:
        result = PyNumber_Power(base, exponent, None)
    except OverflowError:
        raise OverflowError(f"{base!r} ** {exponent!r} is too large for a float") from None
    if type(result) is complex:
        raise ValueError(f"{base!r} ** {exponent!r}: a negative number has no real power "
                         f"with a fractional exponent")
    return result


cdef inline bint _is_odd(double integer) noexcept:
    return fmod(fabs(integer), 2.0) == 1.0


cdef inline double _pow(double base, double exponent) except? -1.0:
    """base ** exponent for floats, exactly as Python's float ** computes it, never complex.

    The common cases are computed here the way CPython's float_pow does them
    (a zero base by rule; pow() on the absolute value of a negative base, the
    sign put back for an odd integer exponent); anything else, and any result
    that Python might reject (infinite or subnormal), is left to Python itself.
    """
    cdef double r
    if exponent == 1.0:
        return base  # what pow() returns too: a representable result is exact (x**2's gradient)
    if not (isfinite(base) and isfinite(exponent)):
        return _python_pow(base, exponent)
    if base > 0.0:
        r = pow(base, exponent)
    elif base == 0.0:
        if exponent > 0.0:
            return base if _is_odd(exponent) else 0.0
        return _python_pow(base, exponent)  # 1.0, or ZeroDivisionError
    elif floor(exponent) == exponent:
        r = -pow(-base, exponent) if _is_odd(exponent) else pow(-base, exponent)
    else:
        return _python_pow(base, exponent)  # ValueError: no real power
    if r == 0.0 or DBL_MIN <= fabs(r) < INFINITY:
        return r
    return _python_pow(base, exponent)


cdef inline double _exp(double x) except? -1.0:
    cdef double r = exp(x)
    if isinf(r) and isfinite(x):
        raise OverflowError(f"exp({x!r}) is too large for a float")
    return r


cdef inline double _log(double x) except? -1.0:
    if not x > 0.0 and not isnan(x):
        raise ValueError(f"log({x!r}): the logarithm needs a positive number")
    return log(x)


def _leaf_backward():
    pass


# -- rarely used parts of a node -----------------------------------------------

@cython.final
cdef class _Extras:
    cdef object b           # the node's second operand slot, moved here
    cdef tuple children     # the children of a user-built (CUSTOM) node
    cdef object backward    # the _backward of a CUSTOM node
    cdef object op          # a user's _op text, or None for the opcode's
    cdef object label
    cdef dict attrs         # any other attribute (optimizer state, ...)


cdef inline bint _is_no_label(object label):
    return isinstance(label, str) and len(<str>label) == 0


cdef inline _Extras _extras(Value v):
    """The node's extras, or None."""
    if type(v._b) is _Extras:
        return <_Extras>v._b
    return None


cdef _Extras _make_extras(Value v):
    cdef _Extras e = _extras(v)
    if e is None:
        e = _Extras.__new__(_Extras)
        e.b = v._b
        e.label = ''
        v._b = e
    return e


cdef inline object _operand_b(Value v):
    """The second operand slot: a Value, a number, or None."""
    cdef object b = v._b
    if type(b) is _Extras:
        return (<_Extras>b).b
    return b


cdef inline bint _may_be_in_cycle(object x) noexcept:
    # CPython's rule for tuples of atoms: only a container can lead back
    return PyObject_IS_GC(x) and PyObject_GC_IsTracked(x)


cdef void _update_tracking(Value v) noexcept:
    """Track the node with the collector only if it can be part of a reference cycle."""
    cdef _Extras e = _extras(v)
    cdef bint needed = type(v) is not Value or _operands_tracked(v)
    if not needed and e is not None:
        needed = e.children is not None or _may_be_in_cycle(e.label)
        if not needed and e.attrs is not None:
            for value in e.attrs.values():
                if PyObject_IS_GC(value):
                    needed = True
                    break
    _set_tracked(v, needed)


# -- the node ------------------------------------------------------------------

@cython.trashcan(True)
@cython.no_gc_clear  # a cycle always passes through an _Extras, which the collector clears
cdef class Value:
    """ stores a single scalar value and its gradient """

    cdef double _data
    cdef double _grad
    cdef Value _a           # first operand, or None
    cdef object _b          # second operand (a Value or a number), None, or the _Extras
    cdef uint64_t _stamp    # (walk number << 8) | TRACKED | IN_PATH | opcode
    cdef object __weakref__

    def __init__(self, data, _children=(), _op='', label=''):
        cdef tuple children = tuple(_children)
        cdef _Extras old = _extras(self)
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"Value children must be Values, not {type(child).__name__!r}")
        self._data = _to_float(data, "Value.data")
        self._grad = 0.0
        self._a = None
        self._b = None
        if old is not None and old.attrs:  # called again: other attributes stay, as on an object
            _make_extras(self).attrs = old.attrs
        self._stamp = LEAF | (self._stamp & TRACKED)
        if children:
            e = _make_extras(self)
            e.children = children
            e.backward = _leaf_backward
            self._stamp = CUSTOM
        if _op:
            _make_extras(self).op = _op
        if not _is_no_label(label):
            _make_extras(self).label = label
        _update_tracking(self)

    # data and grad are floats, whatever number was given
    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        self._data = _to_float(value, "Value.data")

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = _to_float(value, "Value.grad")

    @property
    def label(self):
        e = _extras(self)
        return '' if e is None else e.label

    @label.setter
    def label(self, value):
        if _is_no_label(value) and _extras(self) is None:
            return
        _make_extras(self).label = value
        _update_tracking(self)

    @property
    def _op(self):
        e = _extras(self)
        if e is not None and e.op is not None:
            return e.op
        if _opcode(self) == POW_K:
            return f'**{_operand_b(self)}'
        return _OP_TEXT[_opcode(self)]

    @_op.setter
    def _op(self, value):
        _make_extras(self).op = value
        _update_tracking(self)

    @property
    def _prev(self):
        """The children of this node, as micrograd's set; numbers are shown as leaves."""
        cdef int op = _opcode(self)
        if op == CUSTOM:
            return set(_extras(self).children)
        if op == LEAF:
            return set()
        if op == DOT:
            return {x if isinstance(x, Value) else Value(x) for x in <tuple>_b(self)}
        b = _operand_b(self)
        if op == ADD or op == MUL or op == POW:
            return {self._a, b}
        if op == ADD_K or op == MUL_K:
            return {self._a, Value(b)}
        return {self._a}

    @property
    def _backward(self):
        if _opcode(self) == CUSTOM:
            return _extras(self).backward
        if _opcode(self) == LEAF:
            return _leaf_backward
        return partial(_local_backward, self)

    @_backward.setter
    def _backward(self, fn):
        # Karpathy's extension pattern: the node now runs the user's function
        cdef _Extras e
        if _opcode(self) != CUSTOM:
            if _opcode(self) == DOT:  # the tuple stays in the node: the collector must see it
                _set_object_tracked(<object>_b(self), True)
            children = tuple(self._prev) if _opcode(self) == LEAF else _operands(self)
            text = self._op
            e = _make_extras(self)
            e.children = children
            e.op = text
            _set_opcode(self, CUSTOM)
        e = _extras(self)
        e.backward = fn
        _update_tracking(self)

    # attributes that are not Value's own live in the extras
    def __setattr__(self, name, value):
        if name in _VALUE_ATTRIBUTES:
            PyObject_GenericSetAttr(self, name, value)
            return
        if type(self) is not Value:  # a subclass: its own __dict__ or slots first
            try:
                PyObject_GenericSetAttr(self, name, value)
                return
            except AttributeError:
                pass
        e = _make_extras(self)
        if e.attrs is None:
            e.attrs = {}
        e.attrs[name] = value
        _update_tracking(self)

    def __getattr__(self, name):
        e = _extras(self)
        if e is not None and e.attrs is not None and name in e.attrs:
            return e.attrs[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        e = _extras(self)
        if e is not None and e.attrs is not None and name in e.attrs:
            del e.attrs[name]
            _update_tracking(self)
            return
        generic_setattr(self, name, NULL)  # delete

    # operators: the arithmetic is micrograd's, op for op (see the blocks below)
    def __add__(Value self, other):  # self + other
        return _add(self, other)

    def __radd__(Value self, other):  # other + self
        return _add(self, other)

    def __mul__(Value self, other):  # self * other
        return _mul(self, other)

    def __rmul__(Value self, other):  # other * self
        return _mul(self, other)

    def __pow__(Value self, other, modulo):  # self ** other
        if modulo is not None:
            return NotImplemented
        return _power(self, other)

    def __rpow__(Value self, other, modulo):  # other ** self
        cdef double k
        if modulo is not None or _constant(other, &k) is None:
            return NotImplemented
        return _power(Value(k), self)

    def __neg__(self):  # -self
        return _mul(self, -1)

    def __sub__(Value self, other):  # self + (-other)
        cdef double k
        if isinstance(other, Value):
            return _add(self, _mul(<Value>other, -1))
        if not (PyFloat_Check(other) or PyLong_Check(other)):
            other = _constant(other, &k)  # numpy's bool has no unary minus: negate its float
            if other is None:
                return NotImplemented
        return _add(self, -other)

    def __rsub__(Value self, other):  # other + (-self)
        if not _is_real(other):
            return NotImplemented
        return _add(_mul(self, -1), other)

    def __truediv__(Value self, other):  # self * other**-1
        cdef double k
        if isinstance(other, Value):
            if (<Value>other)._data == 0.0:
                raise ZeroDivisionError("Value division by zero")
            return _mul(self, _power(<Value>other, -1))
        if _constant(other, &k) is None:
            return NotImplemented
        if k == 0.0:
            raise ZeroDivisionError("Value division by zero")
        return _mul(self, _pow(k, -1.0))  # micrograd's other**-1, on the number

    def __rtruediv__(Value self, other):  # other * self**-1
        cdef double k
        if _constant(other, &k) is None:
            return NotImplemented
        if self._data == 0.0:
            raise ZeroDivisionError("Value division by zero")
        return _mul(_power(self, -1), other)

    def relu(self):
        return _made(_node(RELU, self, None), _relu_value(self._data))

    def tanh(self):
        return _made(_node(TANH, self, None), _tanh_value(self._data))

    def exp(self):
        return _made(_node(EXP, self, None), _exp_value(self._data))

    def log(self):
        return _made(_node(LOG, self, None), _log_value(self._data))

    def sigmoid(self):
        return _made(_node(SIGMOID, self, None), _sigmoid_value(self._data))

    @staticmethod
    def dot(ws, xs, bias=0.0):
        """bias + ws[0]*xs[0] + ws[1]*xs[1] + ..., as one node: what Neuron computes.

        The value is the same left-to-right sum micrograd's Neuron builds from
        separate * and + nodes; each operand may be a Value or a number.
        """
        return _dot(ws, xs, bias)

    def backward(self):
        """Fill in d(self)/d(node) in the .grad of every node below self (accumulating)."""
        _backward_walk(self)

    def __repr__(self):
        return f"Value(data={self._data}, grad={self._grad})"

    def __reduce__(self):
        # data, grad and attributes survive copy and pickle; graph links do not
        e = _extras(self)
        attrs = dict(getattr(self, "__dict__", {}))
        if e is not None:
            if e.attrs:
                attrs.update(e.attrs)
            if not _is_no_label(e.label):
                attrs["label"] = e.label
        return (_rebuild, (type(self), self._data, self._grad, attrs))


def _rebuild(cls, data, grad, attrs):
    v = cls.__new__(cls)
    Value.__init__(v, data)
    v.grad = grad
    for name, value in attrs.items():
        setattr(v, name, value)
    return v


cdef frozenset _VALUE_ATTRIBUTES = frozenset(
    name for name, attr in vars(Value).items() if hasattr(type(attr), '__set__'))


# The stamp: bits 0-5 the opcode, bit 6 set while a walk is inside the node's
# subgraph, bit 7 set while the collector tracks the node, bits 8-63 the number
# of the last backward walk that reached it.
cdef enum:
    OPCODE_MASK = 0x3F
    IN_PATH = 0x40
    TRACKED = 0x80


cdef inline int _opcode(Value v) noexcept:
    return <int>(v._stamp & OPCODE_MASK)


cdef inline void _set_opcode(Value v, int op) noexcept:
    v._stamp = (v._stamp & ~(<uint64_t>OPCODE_MASK)) | <uint64_t>op


cdef inline bint _tracked(Value v) noexcept:
    """Can v be part of a reference cycle? (A subclass instance has a __dict__.)"""
    return (v._stamp & TRACKED) != 0 or type(v) is not Value


cdef void _set_tracked(Value v, bint tracked) noexcept:
    _set_object_tracked(v, tracked)
    if _opcode(v) == DOT:  # the collector must see through the operand tuple of a tracked node
        _set_object_tracked(<object>_b(v), tracked)
    v._stamp = (v._stamp | TRACKED) if tracked else (v._stamp & ~(<uint64_t>TRACKED))


cdef inline void _set_object_tracked(object x, bint tracked) noexcept:
    if tracked and not PyObject_GC_IsTracked(x):
        PyObject_GC_Track(x)
    elif not tracked and PyObject_GC_IsTracked(x):
        PyObject_GC_UnTrack(x)


cdef tuple _operands(Value v):
    """The Value operands of a built-in node, in order."""
    if _opcode(v) == DOT:
        return tuple(x for x in <tuple>_b(v) if isinstance(x, Value))
    b = _operand_b(v)
    return (v._a, b) if isinstance(b, Value) else (v._a,)


cdef Value _node(int op, Value a, object b):
    """A new node made by an operation (its value still to be set): no constructor call, no closure."""
    cdef Value out = Value.__new__(Value)
    out._stamp = op
    out._a = a
    out._b = b
    # A new node starts untracked (see _allocate_untracked). Holding only
    # untracked nodes and numbers, it cannot be part of a cycle: it is left to
    # reference counting, as CPython does for a tuple of atoms.
    if _operands_tracked(out):
        _set_tracked(out, True)
    elif op == DOT:
        _set_object_tracked(b, False)  # its tuple holds untracked nodes and numbers only
    return out


cdef inline bint _operands_tracked(Value v) noexcept:
    """Is any operand of v (a built-in node) tracked by the collector?"""
    cdef int op = _opcode(v)
    if v._a is not None and _tracked(v._a):
        return True
    if _ARITY[op] == 2:
        return _tracked(<Value>_b(v))
    if op == DOT:
        for x in <tuple>_b(v):
            if isinstance(x, Value) and _tracked(<Value>x):
                return True
    return False


# A node's memory comes from a free list of released nodes when it can. A
# training loop frees one step's graph and builds the next, node for node: the
# free list hands the memory back with neither the allocator nor the garbage
# collector's bookkeeping (which counts every allocation, tracked or not). The
# list is bounded; a node on it is linked through its first field, and zeroed
# when it is handed out again.

cdef extern from *:
    """
    /* At most 5 MiB of released nodes kept for reuse. A sanitizer build sets it to 0
       (tests/sanitize/run.sh), so that every freed node goes back to the allocator,
       where a use after free is seen. */
    #ifndef MICROGRAD_FAST_FREE_NODES_MAX
    #define MICROGRAD_FAST_FREE_NODES_MAX (1 << 16)
    #endif
    """
    const Py_ssize_t FREE_NODES_MAX "MICROGRAD_FAST_FREE_NODES_MAX"

cdef PyObject* _free_nodes = NULL
cdef Py_ssize_t _free_count = 0


cdef PyObject* _allocate_untracked(_TypeSlots* cls, Py_ssize_t nitems) noexcept:
    """Value's tp_alloc: zeroed memory, not yet tracked by the garbage collector.

    The generic allocator tracks every object at once; a node that turns out to
    need no tracking would then be untracked again straight away. Subclasses
    defined in Python keep the generic allocator.
    """
    global _free_nodes, _free_count
    cdef PyObject* o = _free_nodes
    if o != NULL and cls == <_TypeSlots*>Value:
        _free_nodes = (<PyObject**>(<char*>o + sizeof(PyObject)))[0]
        _free_count -= 1
        PyObject_Init(o, cls)  # a reference count of one again
    else:
        o = _PyObject_GC_New(cls)
        if o == NULL:
            return NULL
    memset(<char*>o + sizeof(PyObject), 0, cls.tp_basicsize - sizeof(PyObject))
    return o


cdef void _release(void* memory) noexcept:
    """Value's tp_free: keep the node's memory on the free list, or give it back.

    The node's tp_dealloc has untracked it and dropped its references already.
    """
    global _free_nodes, _free_count
    cdef PyObject* o = <PyObject*>memory
    if _free_count < FREE_NODES_MAX and Py_TYPE(o) == <_TypeSlots*>Value:
        (<PyObject**>(<char*>o + sizeof(PyObject)))[0] = _free_nodes
        _free_nodes = o
        _free_count += 1
    else:
        PyObject_GC_Del(memory)


(<_TypeSlots*>Value).tp_alloc = _allocate_untracked
(<_TypeSlots*>Value).tp_free = _release


# -- one block per operation: forward, then its local derivative ----------------
# Each block computes the op's value from its operands' values (`_<op>_value`,
# which both the operator and a replayed Graph call), makes the node, and
# applies the chain rule (`_<op>_backward`, given the node's grad): the operands
# get their gradients in the same order and with the same arithmetic as pure.py.
# `_b(out)` is the second operand slot, borrowed: a Value for ADD, MUL and POW,
# the number for ADD_K, MUL_K and POW_K, the operand tuple for DOT.

cdef inline PyObject* _b(Value v) noexcept:
    cdef object b = v._b
    if type(b) is _Extras:
        return <PyObject*>(<_Extras>b).b
    return <PyObject*>b


cdef inline double _k(PyObject* c) noexcept:
    """The value of a stored number operand: an exact float or int (see _constant).

    It cannot fail: an int that does not fit a float was refused when the node was made.
    """
    if PyFloat_CheckExact(<object>c):
        return PyFloat_AS_DOUBLE(<object>c)
    return PyLong_AsDouble(<object>c)


cdef inline double _b_value(Value v) except? -1.0:
    """The value of the second operand: a Value's data or the number."""
    cdef PyObject* b = _b(v)
    if _ARITY[_opcode(v)] == 2:
        return (<Value>b)._data
    return _k(b)


cdef inline Value _made(Value out, double data):
    out._data = data
    return out


# +
cdef inline double _add_value(double a, double b) noexcept:
    return a + b

cdef object _add(Value a, object other):
    cdef double k
    if PyFloat_CheckExact(other):
        return _made(_node(ADD_K, a, other), _add_value(a._data, PyFloat_AS_DOUBLE(other)))
    if isinstance(other, Value):
        return _made(_node(ADD, a, other), _add_value(a._data, (<Value>other)._data))
    c = _constant(other, &k)
    if c is None:
        return NotImplemented
    return _made(_node(ADD_K, a, c), _add_value(a._data, k))

cdef inline void _add_backward(Value out, double g) noexcept:
    out._a._grad += g
    if _opcode(out) == ADD:
        (<Value>_b(out))._grad += g

# *
cdef inline double _mul_value(double a, double b) noexcept:
    return a * b

cdef object _mul(Value a, object other):
    cdef double k
    if PyFloat_CheckExact(other):
        return _made(_node(MUL_K, a, other), _mul_value(a._data, PyFloat_AS_DOUBLE(other)))
    if isinstance(other, Value):
        return _made(_node(MUL, a, other), _mul_value(a._data, (<Value>other)._data))
    c = _constant(other, &k)
    if c is None:
        return NotImplemented
    return _made(_node(MUL_K, a, c), _mul_value(a._data, k))

cdef inline int _mul_backward(Value out, double g) except -1:
    cdef PyObject* b = _b(out)
    if _opcode(out) == MUL:
        out._a._grad += (<Value>b)._data * g
        (<Value>b)._grad += out._a._data * g
    else:
        out._a._grad += _k(b) * g
    return 0

# **
cdef inline double _pow_value(double a, double b, bint b_is_value) except? -1.0:
    if b_is_value and a < 0.0:
        raise ValueError(f"{a!r} ** Value: a negative base has no real power for a Value exponent")
    return _pow(a, b)

cdef object _power(Value a, object other):
    cdef double k
    if isinstance(other, Value):
        k = (<Value>other)._data
        return _made(_node(POW, a, other), _pow_value(a._data, k, True))
    c = _constant(other, &k)
    if c is None:
        return NotImplemented
    return _made(_node(POW_K, a, c), _pow_value(a._data, k, False))

cdef inline int _pow_backward(Value out, double g) except -1:
    cdef double k = _b_value(out)
    out._a._grad += (k * _pow(out._a._data, k - 1.0)) * g
    # d/db a**b = a**b * log(a); 0 at a == 0, as in PyTorch
    if _opcode(out) == POW and out._a._data != 0.0:
        (<Value>_b(out))._grad += (out._data * _log(out._a._data)) * g
    return 0

# relu
cdef inline double _relu_value(double x) noexcept:
    return 0.0 if x < 0 else x

cdef inline void _relu_backward(Value out, double g) noexcept:
    out._a._grad += (out._data > 0) * g

# tanh
cdef inline double _tanh_value(double x) noexcept:
    return tanh(x)

cdef inline void _tanh_backward(Value out, double g) noexcept:
    cdef double t = out._data
    out._a._grad += (1.0 - t * t) * g  # t*t, exact on every engine (t**2 may not be)

# exp
cdef inline double _exp_value(double x) except? -1.0:
    return _exp(x)

cdef inline void _exp_backward(Value out, double g) noexcept:
    out._a._grad += out._data * g

# log
cdef inline double _log_value(double x) except? -1.0:
    return _log(x)

cdef inline int _log_backward(Value out, double g) except -1:
    if out._a._data == 0.0:  # its data was set to 0 after the node was made
        raise ZeroDivisionError("float division by zero")
    out._a._grad += (1.0 / out._a._data) * g
    return 0

# sigmoid
cdef inline double _sigmoid_value(double x) noexcept:
    cdef double e
    if x >= 0.0:
        return 1.0 / (1.0 + exp(-x))
    e = exp(x)  # the same function, written so that exp cannot overflow
    return e / (1.0 + e)

cdef inline void _sigmoid_backward(Value out, double g) noexcept:
    cdef double s = out._data
    out._a._grad += (s * (1.0 - s)) * g

# dot: bias + w0*x0 + w1*x1 + ..., one node for micrograd's Neuron sum
cdef Value _dot(object ws, object xs, object bias):
    # a Neuron's lists are read in place; any other iterable is made a tuple first
    if type(ws) is not list and type(ws) is not tuple:
        ws = tuple(ws)
    if type(xs) is not list and type(xs) is not tuple:
        xs = tuple(xs)
    cdef Py_ssize_t n = len(ws), i
    if n != len(xs):
        raise ValueError(f"Value.dot needs as many weights as inputs, got {n} and {len(xs)}")
    cdef tuple operands = PyTuple_New(2 * n + 1)  # bias, w0, x0, w1, x1, ...
    _set_operand(operands, 0, bias)
    for i in range(n):
        _set_operand(operands, 2 * i + 1, <object>PySequence_Fast_GET_ITEM(ws, i))
        _set_operand(operands, 2 * i + 2, <object>PySequence_Fast_GET_ITEM(xs, i))
    cdef Value out = _node(DOT, None, operands)
    return _made(out, _dot_value(out))

cdef inline int _set_operand(tuple operands, Py_ssize_t i, object x) except -1:
    """Fill slot i of the new operand tuple (which takes a reference) with x as stored."""
    cdef object stored = _dot_operand(x)
    Py_INCREF(stored)
    PyTuple_SET_ITEM(operands, i, stored)
    return 0

cdef object _dot_operand(object x):
    cdef double k
    if type(x) is Value or isinstance(x, Value):
        return x
    c = _constant(x, &k)
    if c is None:
        raise TypeError(f"Value.dot operands must be Values or real numbers, not {type(x).__name__!r}")
    return c

cdef inline bint _is_value(PyObject* x) noexcept:
    return type(<object>x) is Value or isinstance(<object>x, Value)

cdef inline double _operand_value(PyObject* x) noexcept:
    return (<Value>x)._data if _is_value(x) else _k(x)

cdef double _dot_value(Value out) noexcept:
    # left to right, as sum(w*x for ..., bias) adds in micrograd's Neuron
    cdef tuple ops = <tuple>_b(out)
    cdef double total = _operand_value(PyTuple_GET_ITEM(ops, 0))
    cdef Py_ssize_t i
    for i in range(1, len(ops), 2):
        total = total + _operand_value(PyTuple_GET_ITEM(ops, i)) * _operand_value(PyTuple_GET_ITEM(ops, i + 1))
    return total

cdef int _dot_backward(Value out, double g) except -1:
    # as the unfused graph does: the last product first, each w before its x, the bias last
    cdef tuple ops = <tuple>_b(out)
    cdef PyObject* w
    cdef PyObject* x
    cdef bint w_is_value, x_is_value
    cdef double w_data, x_data
    cdef Py_ssize_t i
    for i in range(len(ops) - 2, 0, -2):
        w = PyTuple_GET_ITEM(ops, i)
        x = PyTuple_GET_ITEM(ops, i + 1)
        w_is_value, x_is_value = _is_value(w), _is_value(x)
        w_data = (<Value>w)._data if w_is_value else _k(w)  # read before either grad changes:
        x_data = (<Value>x)._data if x_is_value else _k(x)  # the same numbers when w is x
        if w_is_value:
            (<Value>w)._grad += x_data * g
        if x_is_value:
            (<Value>x)._grad += w_data * g
    w = PyTuple_GET_ITEM(ops, 0)
    if _is_value(w):
        (<Value>w)._grad += g
    return 0


cdef double _forward(Value v) except? -1.0:
    """A built-in node's value from its operands' current values: what Graph.forward runs."""
    cdef int op = _opcode(v)
    if op == LEAF or op == CUSTOM:
        return v._data  # a leaf keeps the value it was given
    if op == DOT:
        return _dot_value(v)
    cdef double a = v._a._data
    if op == ADD or op == ADD_K:
        return _add_value(a, _b_value(v))
    elif op == MUL or op == MUL_K:
        return _mul_value(a, _b_value(v))
    elif op == POW or op == POW_K:
        return _pow_value(a, _b_value(v), op == POW)
    elif op == RELU:
        return _relu_value(a)
    elif op == TANH:
        return _tanh_value(a)
    elif op == EXP:
        return _exp_value(a)
    elif op == LOG:
        return _log_value(a)
    else:  # SIGMOID
        return _sigmoid_value(a)


cdef int _apply_local_backward(Value v) except -1:
    """The chain rule at one node: the switch the walk runs for every node."""
    cdef int op = _opcode(v)
    cdef double g = v._grad
    if op == LEAF:
        pass
    elif op == ADD or op == ADD_K:
        _add_backward(v, g)
    elif op == MUL or op == MUL_K:
        _mul_backward(v, g)
    elif op == POW or op == POW_K:
        _pow_backward(v, g)
    elif op == RELU:
        _relu_backward(v, g)
    elif op == TANH:
        _tanh_backward(v, g)
    elif op == EXP:
        _exp_backward(v, g)
    elif op == LOG:
        _log_backward(v, g)
    elif op == SIGMOID:
        _sigmoid_backward(v, g)
    elif op == DOT:
        _dot_backward(v, g)
    elif op == CUSTOM:
        _extras(v).backward()
    return 0


def _local_backward(Value v):
    """What `node._backward()` runs for a built-in node, as in the lecture."""
    _apply_local_backward(v)


# -- the backward walk -----------------------------------------------------------
# A depth-first search on an explicit stack gives the order of micrograd's
# recursive build_topo, children taken in operand order. A node's entry is
# popped twice: first to mark it visited (by writing the walk's number into its
# stamp) and push its children, last operand first; then, tagged as finished,
# to append it to the order, after all of its children. A node pushed again
# before its first pop is skipped when that later entry comes up, just as the
# recursion skips a visited child. A node reached again while it is still on
# the path from the root (IN_PATH: visited, not yet finished) closes a cycle,
# which only a user-built node can make: an error, not a made-up order. Then
# one loop runs the chain rule from the root down. The arrays are kept for the
# next walk.

ctypedef struct _Walk:
    PyObject** topo         # the nodes in topological order (borrowed: the root holds them)
    Py_ssize_t n
    Py_ssize_t topo_cap
    size_t* stack           # node addresses; FINISHED tags the second entry of a node
    Py_ssize_t stack_cap
    bint has_custom         # a user's callback runs Python code, which could drop nodes

cdef enum:
    FINISHED = 1            # nodes are aligned, so the lowest address bit is free

cdef uint64_t _walks = 0           # walks started so far; stamps nodes
cdef _Walk _spare                  # the arrays of the last walk, for the next
cdef bint _spare_busy = False      # a user callback walking inside a walk gets new ones


cdef inline bint _seen(Value v, uint64_t walk) noexcept:
    return (v._stamp >> 8) == walk


cdef inline void _see(Value v, uint64_t walk) noexcept:
    v._stamp = (walk << 8) | IN_PATH | (v._stamp & (TRACKED | OPCODE_MASK))


cdef int _grow(void** array, Py_ssize_t* capacity, size_t item, Py_ssize_t needed) except -1:
    cdef Py_ssize_t cap = capacity[0] * 2 if capacity[0] else 1024
    cdef void* bigger
    while cap < needed:
        cap *= 2
    bigger = PyMem_Realloc(array[0], cap * item)
    if bigger == NULL:
        raise MemoryError()
    array[0] = bigger
    capacity[0] = cap
    return 0


cdef inline int _push_children(Value v, _Walk* w, Py_ssize_t* depth) except -1:
    """Push v's children, last first, so that the first child comes off first."""
    cdef int arity = _ARITY[_opcode(v)]
    cdef object b
    cdef tuple children
    cdef Py_ssize_t i
    if arity < 0:  # a tuple of operands: DOT's (which holds numbers too) or CUSTOM's
        children = <tuple>_b(v) if _opcode(v) == DOT else _extras(v).children
        if depth[0] + len(children) > w.stack_cap:
            _grow(<void**>&w.stack, &w.stack_cap, sizeof(size_t), depth[0] + len(children))
        for i in range(len(children) - 1, -1, -1):
            if isinstance(<object>PyTuple_GET_ITEM(children, i), Value):
                w.stack[depth[0]] = <size_t>PyTuple_GET_ITEM(children, i)
                depth[0] += 1
        return 0
    if depth[0] + 2 > w.stack_cap:
        _grow(<void**>&w.stack, &w.stack_cap, sizeof(size_t), depth[0] + 2)
    if arity == 2:
        b = v._b
        if type(b) is _Extras:
            b = (<_Extras>b).b
        w.stack[depth[0]] = <size_t><PyObject*>b
        depth[0] += 1
    if arity >= 1:
        w.stack[depth[0]] = <size_t><PyObject*>v._a
        depth[0] += 1
    return 0


cdef int _topological_order(Value root, _Walk* w, uint64_t walk) except -1:
    cdef Py_ssize_t depth = 0
    cdef size_t entry
    cdef PyObject* node
    w.n = 0
    w.has_custom = False
    if w.stack_cap == 0:
        _grow(<void**>&w.stack, &w.stack_cap, sizeof(size_t), 1)
    w.stack[depth] = <size_t><PyObject*>root
    depth += 1
    while depth:
        depth -= 1
        entry = w.stack[depth]
        node = <PyObject*>(entry & ~(<size_t>FINISHED))  # a plain pointer: no reference counting
        if entry & FINISHED:
            (<Value>node)._stamp &= ~(<uint64_t>IN_PATH)
            if w.n == w.topo_cap:
                _grow(<void**>&w.topo, &w.topo_cap, sizeof(PyObject*), w.n + 1)
            w.topo[w.n] = node
            w.n += 1
        elif not _seen(<Value>node, walk):
            _see(<Value>node, walk)
            if _opcode(<Value>node) == CUSTOM:
                w.has_custom = True
            w.stack[depth] = entry | FINISHED  # its slot is still there: depth was just lowered
            depth += 1
            _push_children(<Value>node, w, &depth)
        elif (<Value>node)._stamp & IN_PATH:
            # reached again from inside its own subgraph: only a user-built node
            # given a child after the fact (v.__init__(x, (w,))) can do that
            raise ValueError(f"the graph has a cycle: {(<Value>node)!r} ({(<Value>node)._op!r}) "
                             "depends on itself, so it has no order to backpropagate in")
    return 0


cdef int _backward_walk(Value root) except -1:
    global _walks, _spare, _spare_busy
    cdef _Walk w
    cdef bint own_spare = not _spare_busy
    cdef bint holding = False
    cdef Py_ssize_t i
    cdef PyObject* node
    if own_spare:
        w = _spare
        _spare_busy = True
    else:
        w = _Walk(NULL, 0, 0, NULL, 0, False)
    w.n = 0
    _walks += 1
    try:
        _topological_order(root, &w, _walks)
        if w.has_custom:  # keep every node alive while user code runs
            for i in range(w.n):
                incref(w.topo[i])
            holding = True
        # go one variable at a time and apply the chain rule to get its gradient
        root._grad = 1.0
        i = w.n - 1
        while i >= 0:
            node = w.topo[i]
            _apply_local_backward(<Value>node)
            i -= 1
    finally:
        if holding:
            for i in range(w.n):
                decref(w.topo[i])
        w.n = 0
        if own_spare:
            _spare = w
            _spare_busy = False
        else:
            PyMem_Free(w.topo)
            PyMem_Free(w.stack)
    return 0


# -- a graph to run again ---------------------------------------------------------

cdef str _CHANGED = ("a node of this graph ({op!r}) was given a Python _backward after Graph() was "
                     "built: its forward computation is not known; build the graph again")

cdef class Graph:
    """A built graph, kept to be run again with new leaf values.

    ``Graph(loss)`` finds the topological order once. ``forward()`` recomputes
    every node from its leaves' current ``data`` (returning the root's);
    ``backward()`` zeroes the grads of the nodes between the leaves and the
    root, then runs the chain rule as ``loss.backward()`` does. A training loop
    with a fixed structure builds its graph once and then only replays it: the
    numbers are the same, bit for bit, as building the graph again each step.
    """

    cdef readonly Value root
    cdef list _nodes            # the topological order: holds the nodes alive
    cdef PyObject** _order      # the same order, as plain pointers for the loops
    cdef Py_ssize_t _n

    def __cinit__(self, Value root):
        global _walks
        cdef _Walk w = _Walk(NULL, 0, 0, NULL, 0, False)
        cdef Py_ssize_t i
        _walks += 1
        try:
            _topological_order(root, &w, _walks)
            self._nodes = [<object>w.topo[i] for i in range(w.n)]
        finally:
            PyMem_Free(w.topo)
            PyMem_Free(w.stack)
        for node in self._nodes:
            if _opcode(node) == CUSTOM:
                raise ValueError(
                    f"cannot replay a graph holding a node with a Python _backward ({node._op!r}): "
                    "its forward computation is not known; rebuild that graph each step instead")
        self._n = len(self._nodes)
        self._order = <PyObject**>PyMem_Malloc(max(self._n, 1) * sizeof(PyObject*))
        if self._order == NULL:
            raise MemoryError()
        for i in range(self._n):
            self._order[i] = <PyObject*>self._nodes[i]
        self.root = root

    def __dealloc__(self):
        PyMem_Free(self._order)

    def __len__(self):
        return self._n

    def forward(self):
        """Recompute every node from the leaves' current data; return the root's data."""
        cdef Py_ssize_t i
        cdef PyObject* node
        cdef int op
        for i in range(self._n):
            node = self._order[i]
            op = _opcode(<Value>node)
            if op == CUSTOM:  # given a _backward (or made again) since the Graph was built
                raise ValueError(_CHANGED.format(op=(<Value>node)._op))
            if op != LEAF:
                (<Value>node)._data = _forward(<Value>node)
        return self.root._data

    def backward(self):
        """Zero the grads between leaves and root, then backpropagate from the root."""
        cdef Py_ssize_t i
        cdef PyObject* node
        for i in range(self._n):
            node = self._order[i]
            if _opcode(<Value>node) != LEAF:
                (<Value>node)._grad = 0.0
        self.root._grad = 1.0
        for i in range(self._n - 1, -1, -1):
            node = self._order[i]
            _apply_local_backward(<Value>node)
