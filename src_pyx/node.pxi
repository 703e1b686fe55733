# -- the node ------------------------------------------------------------------------
# A node is 64 bytes (80 with the garbage collector's header), and no more: Value has no
# cdef methods (they would add a pointer to Cython's method table to every node), and no
# weak reference list (docs/ARCHITECTURE.md says why).
#
#   _data, _grad    the value and its gradient, as doubles
#   _a              the first operand: a Value, or None for a leaf and for dot
#   _b              the second operand: a Value, or the number itself when the K bit
#                   is set (x * 2 keeps the 2); for dot, the tuple of its operands
#   _stamp          the opcode, the flags below, and the node's serial number
#   _attributes     the node's __dict__, NULL until an attribute is set: label, and
#                   what micrograd keeps in its own __dict__ when a user sets it (_op,
#                   _prev, _backward), and any other attribute (p.m for an optimizer)
#
# The opcode is the position of the node's op in micrograd_fast/ops.py's table (0 is
# a leaf). A node with the PY bit runs the Python function in its __dict__'s
# '_backward' instead of its op's local derivative, and walks the tuple in its
# '_prev' when there is one (a node made as Value(data, children, op), or given a
# _prev by hand) instead of its operands. The serial number counts the nodes made:
# each gets the next when its memory is allocated (by an op, by Value(), by __new__),
# before anything can be built on it, and keeps it when Value.__init__ first runs on it
# (MADE is set then, and by an op). The walk orders nodes by it (see walk.pxi). A node
# with the BY_HAND bit was changed by hand: made again (Value.__init__ on a MADE node:
# the new serial may be newer than a parent it already has), given children or a
# _backward, or shown with a leaf for a number operand. It may run Python code in a
# walk, have a child not older than itself or a parent older than itself; while one
# lives, backward() takes the full walk.

import copyreg as _copyreg

cdef enum:
    OPCODE_MASK = 0x1F
    K = 0x20            # the second operand is a number, not a Value
    PY = 0x40           # backward runs __dict__['_backward']
    IN_PATH = 0x80      # a walk's depth-first search is inside the node's subgraph
    SEEN = 0x100        # a walk has reached the node (cleared before the walk ends)
    BY_HAND = 0x200     # changed by hand (above): counted while it lives
    MADE = 0x400        # made by an op or by Value.__init__ (above)
    SERIAL_SHIFT = 11   # bits 11-63: the serial number

cdef uint64_t _serials = 0  # the last serial number given

# What a Graph's tape may have missed since it last read its nodes (graph.pxi): every
# change to a node's shape (opcode, operands, K and PY bits) counts in _reshaped, every
# write into the data of a node that may be in a tape (a setter, an optimizer's step, a
# Graph's forward()) in _rewritten. Nothing else changes either.
cdef uint64_t _reshaped = 1
cdef uint64_t _rewritten = 1

# The other way round, a Graph keeps the numbers it computed for its inner nodes in its
# tape and writes them into the nodes only when something else is about to read or
# write a node's data or grad (graph.pxi, "written back when needed"). _pending is that
# Graph's tape, or NULL. Every reader and writer of _data and _grad outside a tape
# first calls _sync(), or _sync_node(v) for one node: a leaf's numbers are always in
# the node. The call comes after any Python code the reader runs (a __float__, an
# iterable), right before the fields are touched: that code may have run a Graph.
cdef PyObject* _pending = NULL


cdef inline void _sync() noexcept:
    if _pending != NULL:
        _write_back(<_Compiled>_pending)


cdef inline void _sync_node(Value v) noexcept:
    if _pending != NULL and (v._stamp & OPCODE_MASK) != LEAF:
        _write_back(<_Compiled>_pending)

cdef enum:
    LEAF = 0

# the names micrograd keeps in a node's __dict__, which are graph links here
cdef tuple _LINKS = ('_prev', '_backward', '_op')


def _leaf_backward():
    """A leaf's _backward, as micrograd's: nothing to pass on."""


@cython.trashcan(True)   # as mgf_dealloc, which replaces its tp_dealloc ("memory" below)
@cython.no_gc_clear      # a cycle always runs through a __dict__ or a closure, which are cleared
cdef class Value:
    """ stores a single scalar value and its gradient """

    cdef double _data
    cdef double _grad
    cdef Value _a
    cdef object _b
    cdef uint64_t _stamp
    cdef object _attributes  # the __dict__: NULL until needed (see "memory" below)

    def __init__(self, data, _children=(), _op='', label=''):
        _initialize(self, data, _children, _op, label)

    # data and grad are floats, whatever real number was given
    @property
    def data(self):
        _sync_node(self)
        return self._data

    @data.setter
    def data(self, value):
        global _rewritten
        cdef double x = _to_float(value, "Value.data")
        _sync_node(self)
        self._data = x
        _rewritten += 1

    @property
    def grad(self):
        _sync_node(self)
        return self._grad

    @grad.setter
    def grad(self, value):
        cdef double x = _to_float(value, "Value.grad")
        _sync_node(self)
        self._grad = x

    @property
    def label(self):
        return _get(self, 'label', '')

    @label.setter
    def label(self, value):
        if not (_is_no_label(value) and _attrs(self) is None):
            _set(self, 'label', value)

    @property
    def _op(self):
        """The op that produced this node, for graphviz / debugging / etc."""
        if _attrs(self) is not None and '_op' in _attrs(self):
            return _attrs(self)['_op']
        return _op_text(self)

    @_op.setter
    def _op(self, value):
        _set(self, '_op', value)

    @property
    def _prev(self):
        """The children of this node, as micrograd's set; a number operand is shown as a leaf."""
        return set(self._operands)

    @property
    def _operands(self):
        """The children in operand order (a dot's: bias, w0, x0, w1, x1, ...), as _prev shows them."""
        if self._stamp & PY and _attrs(self) is not None and '_prev' in _attrs(self):
            return tuple(_attrs(self)['_prev'])
        return tuple(_operand_nodes(self))

    @_prev.setter
    def _prev(self, children):
        # micrograd's backward walks _prev and calls _backward: so does this node now
        _give_children(self, _children_of(children))

    @property
    def _backward(self):
        """The local chain rule: passes this node's grad on to its children."""
        if self._stamp & PY:
            if _attrs(self) is None or '_backward' not in _attrs(self):
                raise AttributeError("'Value' object has no attribute '_backward'")
            return _attrs(self)['_backward']
        if _opcode(self) == LEAF:
            return _leaf_backward
        return _LocalBackward(self)

    @_backward.setter
    def _backward(self, fn):
        # Karpathy's extension pattern: the node runs the user's function from now on.
        # Given back its own local derivative (a hook's save and restore), it is built-in again.
        global _reshaped
        _sync()  # a shape changes: what a tape holds goes into the nodes first
        _reshaped += 1  # (either way, a Graph holding the node must look again)
        if (type(fn) is _LocalBackward and (<_LocalBackward>fn).node is self
                and not (_attrs(self) is not None and '_prev' in _attrs(self))):
            if _attrs(self) is not None:
                _attrs(self).pop('_backward', None)
            self._stamp &= ~(<uint64_t>PY)
            return
        _set(self, '_backward', fn)
        self._stamp |= PY
        _mark_changed(self)

    @_backward.deleter
    def _backward(self):
        global _reshaped
        _sync()
        _reshaped += 1
        if _attrs(self) is not None:
            _attrs(self).pop('_backward', None)
        self._stamp |= PY  # backward() now raises AttributeError, as micrograd's would
        _mark_changed(self)

    # the operators: + * ** are ops (ops.pxi); the rest are micrograd's one-liners on top.
    # A subclass's own operators are honoured: it goes through Python's operators, as do
    # the derived ones once the class's own + * ** or - are replaced ("operators a
    # notebook sets on the class", below).
    def __add__(Value self, other):  # self + other
        return _binary(ADD, self, other)

    def __mul__(Value self, other):  # self * other
        return _binary(MUL, self, other)

    def __pow__(Value self, other, modulo):  # self ** other
        if modulo is not None:
            return NotImplemented
        return _binary(POW, self, other)

    # The methods are Cython functions, which CPython calls on its fast path (no bound
    # method is made for x.relu()). They bind as Python methods do (x.relu is a method
    # object), so that copy.deepcopy rebinds a Value's bound method kept as an attribute
    # to the copy, as it does with micrograd's; a plain C method (binding=False) would be
    # about 90 instructions cheaper per call, and deepcopy would keep the original's.
    # CPython 3.11 does not specialize the lookup of x.relu either: its LOAD_METHOD has a
    # form for a type without a __dict__ slot and one for an instance with a dict in it,
    # none for a slot still NULL, as a node's is until an attribute is set. 3.12 has one
    # (LOAD_ATTR_METHOD_LAZY_DICT): x.relu() costs about 200 instructions more than x + y
    # on 3.11, 86 on 3.12 and 49 on 3.13.
    def relu(self):
        _check_self(self, Value, "relu")
        return _unary(RELU, self)

    def tanh(self):
        _check_self(self, Value, "tanh")
        return _unary(TANH, self)

    def exp(self):
        _check_self(self, Value, "exp")
        return _unary(EXP, self)

    def log(self):
        _check_self(self, Value, "log")
        return _unary(LOG, self)

    def sigmoid(self):
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
        _backward_walk(self)

    def __rpow__(Value self, other, modulo):  # other ** self
        cdef double k
        if modulo is not None or _constant(other, &k) is None:
            return NotImplemented
        return _binary(POW, Value(k), self)

    def __neg__(Value self):  # -self
        if type(self) is Value and _own_operators():
            return _binary(MUL, self, -1)
        return self * -1

    def __radd__(Value self, other):  # other + self
        if type(self) is Value and _own_operators():
            return _binary(ADD, self, other)
        return self.__add__(other)  # not self + other: a non-number must get NotImplemented

    def __sub__(Value self, other):  # self - other
        cdef double k
        if isinstance(other, Value):
            if type(self) is Value and type(other) is Value and _own_operators():
                return _binary(ADD, self, _binary(MUL, <Value>other, -1))
            return self + (-other)
        other = _constant(other, &k)  # numpy's bool has no unary minus: its float is negated
        if other is None:
            return NotImplemented
        if type(self) is Value and _own_operators():
            return _binary(ADD, self, -other)
        return self + (-other)

    def __rsub__(Value self, other):  # other - self
        cdef double k
        if _constant(other, &k) is None:
            return NotImplemented
        if type(self) is Value and _own_operators():
            return _binary(ADD, _binary(MUL, self, -1), other)
        return other + (-self)

    def __rmul__(Value self, other):  # other * self
        if type(self) is Value and _own_operators():
            return _binary(MUL, self, other)
        return self.__mul__(other)

    def __truediv__(Value self, other):  # self * other**-1
        cdef double k
        if isinstance(other, Value):
            _sync_node(<Value>other)
            if (<Value>other)._data == 0.0:
                raise ZeroDivisionError("Value division by zero")
            if type(self) is Value and type(other) is Value and _own_operators():
                return _binary(MUL, self, _binary(POW, <Value>other, -1))
            return self * other**-1
        if _constant(other, &k) is None:
            return NotImplemented
        if k == 0.0:
            raise ZeroDivisionError("Value division by zero")
        if type(self) is Value and _own_operators():
            return _binary(MUL, self, _pow(k, -1.0))  # micrograd's other**-1, on the number
        return self * _pow(k, -1.0)

    def __rtruediv__(Value self, other):  # other * self**-1
        cdef double k
        if _constant(other, &k) is None:
            return NotImplemented
        _sync_node(self)
        if self._data == 0.0:
            raise ZeroDivisionError("Value division by zero")
        if type(self) is Value and _own_operators():
            return _binary(MUL, _binary(POW, self, -1), other)
        return other * self**-1

    def __repr__(self):
        _sync_node(self)
        return f"Value(data={self._data}, grad={self._grad})"

    def __reduce__(self):
        # data, grad and attributes (a subclass's slots too) survive copy and pickle; graph links do not
        _check_self(self, Value, "__reduce__")
        state = {name: value for name, value in (_attrs(self) or {}).items() if name not in _LINKS}
        _sync_node(self)
        return (_rebuild, (type(self), self._data, self._grad), _with_slots(self, state or None))


cdef inline int _check_self(object self, type cls, str method) except -1:
    """Value.relu(2.0) and the like: Cython's methods take any object as self (only the
    operators, the properties and __init__ check it), and would read it as a node."""
    if not PyObject_TypeCheck(self, cls):
        raise TypeError(f"descriptor {method!r} for {cls.__name__!r} objects doesn't apply "
                        f"to a {type(self).__name__!r} object")
    return 0


def _with_slots(v, state):
    """``state``, with the slots a subclass of Value declares, as copy and pickle take
    them: (state, {slot: value}) when one is set."""
    if type(v) is Value:
        return state
    slots = {}
    for name in _copyreg._slotnames(type(v)):
        try:
            slots[name] = getattr(v, name)
        except AttributeError:  # (a slot never set)
            pass
    return (state, slots) if slots else state


def _rebuild(cls, data, grad):
    v = cls.__new__(cls)
    _initialize(v, data, (), '', '')  # (not v.__init__: a subclass's may take other arguments)
    v.grad = grad
    return v


cdef int _initialize(Value v, object data, object children_given, object op, object label) except -1:
    """Value.__init__: v becomes a leaf of value ``data`` (keeping the serial number it got
    with its memory the first time, a new one when made again), or, given children, a
    node that walks them and runs the _backward set on it."""
    global _reshaped, _rewritten
    if mgf_attributes(v) == <PyObject*>None:  # made by Cython's tp_new: no dict yet
        mgf_no_dict_yet(v)
    cdef double value
    if isinstance(data, Value):
        _sync_node(<Value>data)
        value = (<Value>data)._data
    else:
        value = _to_float(data, "Value.data")
    cdef tuple children = _children_of(children_given)
    _sync()  # v's numbers and shape change
    cdef object old_a = v._a, old_b = v._b  # released last: their __del__ may run code
    _reshaped += 1  # a node made again: a Graph holding it must look (the counters above)
    _rewritten += 1
    if v._stamp & MADE:  # made again: a new node for the walk's order, maybe newer than a parent
        v._stamp = _next_serial() | MADE | (v._stamp & BY_HAND)
        _mark_changed(v)
    else:  # (a leaf) first made: the serial it got with its memory is older than any parent
        v._stamp = (v._stamp >> SERIAL_SHIFT << SERIAL_SHIFT) | MADE | (v._stamp & BY_HAND)
    v._a = None
    v._b = None
    v._data = value
    v._grad = 0.0
    if _attrs(v) is not None:  # called again on a node: other attributes stay
        for name in _LINKS + ('label',):
            _attrs(v).pop(name, None)
    if children:
        _give_children(v, children)
    if op:
        _set(v, '_op', op)
    if not _is_no_label(label):
        _set(v, 'label', label)
    old_a = old_b = None
    return 0


cdef int _give_children(Value v, tuple children) except -1:
    """v walks ``children`` from now on, and runs its _backward (kept as it is)."""
    global _reshaped
    cdef object backward = v._backward
    _sync()  # v's shape changes
    _set(v, '_prev', children)
    _set(v, '_backward', backward)
    v._stamp |= PY
    _mark_changed(v)
    _reshaped += 1
    return 0


cdef inline void _mark_changed(Value v) noexcept:
    """v was changed by hand: counted until it is freed (walk.pxi)."""
    if not v._stamp & BY_HAND:
        v._stamp |= BY_HAND
        mgf_count_changed()


cdef extern from "Python.h":
    dict PyObject_GenericGetDict(object, void*)


cdef inline dict _attrs(Value v):
    """The node's __dict__, or None before its first attribute."""
    cdef PyObject* attrs = mgf_attributes(v)
    return None if attrs == NULL else <dict>attrs


# (functions, not cdef methods: a cdef method would give every node a pointer to its table)
cdef _set(Value v, str name, object value):
    PyObject_GenericGetDict(v, NULL)[name] = value  # the dict is made when first needed


cdef object _get(Value v, str name, object default):
    return default if _attrs(v) is None else _attrs(v).get(name, default)


cdef inline bint _is_no_label(object label):
    return type(label) is str and len(<str>label) == 0


cdef tuple _children_of(object children):
    """Children given by hand, as a tuple of Values: a number becomes a leaf, as micrograd's ops do."""
    cdef list out = []
    cdef double k
    for child in children:
        if isinstance(child, Value):
            out.append(child)
        elif _constant(child, &k) is not None:
            out.append(Value(k))
        else:
            _refuse_other_engine(child)
            raise TypeError(f"Value children must be Values, not {type(child).__name__!r}")
    return tuple(out)


@cython.final
cdef class _LocalBackward:
    """A built-in node's _backward: its op's local derivative, whatever the node runs now."""

    cdef readonly Value node

    def __cinit__(self, Value node not None):
        self.node = node

    def __call__(self):
        _local_backward(self.node)

    def __eq__(self, other):
        return type(other) is _LocalBackward and (<_LocalBackward>other).node is self.node

    def __hash__(self):
        return hash((_LocalBackward, id(self.node)))

    def __repr__(self):
        return f"<local derivative of {self.node._op!r} node {self.node!r}>"


# -- the stamp -------------------------------------------------------------------------

cdef inline int _opcode(Value v) noexcept:
    return <int>(v._stamp & OPCODE_MASK)


cdef inline uint64_t _next_serial() noexcept:
    """A stamp with the next serial number, no opcode and no flags."""
    global _serials
    _serials += 1
    return _serials << SERIAL_SHIFT


cdef inline Value _node(int op, Value a, object b, uint64_t flags):
    """A new node of op ``op`` (its value still to be computed): no constructor call, no closure.

    Its memory comes straight from _allocate (zeroed, tracked, its serial stamped), and
    the operands go into its empty fields: Cython's tp_new would first fill them with
    None, to be replaced at once. The __dict__ field stays NULL (see "memory" below).
    """
    cdef PyObject* o = _allocate(<_TypeSlots*>Value, 0)
    if o == NULL:
        raise MemoryError()
    return mgf_made(o, <PyObject*>a, <PyObject*>b, MADE | <uint64_t>op | flags)


# -- memory ------------------------------------------------------------------------------
# A node's __dict__ is made when its first attribute is set, not with the node: the
# type's dict offset points at ``_attributes``, which starts NULL. (Cython's own
# ``cdef dict __dict__`` would make an empty dict for every node: 64 more bytes and
# two allocations.)
#
# Every node is tracked by the garbage collector, as any Python object that refers
# to others: a reference cycle through a node, whatever it runs through, is
# collected. A graph never is a cycle by itself, so it is freed by reference
# counting the moment its last reference goes.
#
# A node's memory comes from a free list of released nodes when it can. A training
# loop frees one step's graph and builds the next, node for node: the free list hands
# the memory back with neither the allocator nor the collector's allocation count
# (which would start a collection every 700 nodes). The list is bounded, and zeroed
# when it is handed out again. It is an array of the released nodes' addresses, not a
# chain through the nodes: taking a node reads nothing from its memory, which has
# usually left the cache since it was freed, and the node to be taken next is fetched
# ahead (for writing: it is zeroed then), while the interpreter runs the code in between.

cdef extern from "Python.h":
    ctypedef struct _TypeSlots "PyTypeObject":
        Py_ssize_t tp_basicsize
        PyObject* (*tp_alloc)(_TypeSlots*, Py_ssize_t) noexcept
        void (*tp_free)(void*) noexcept
    PyObject* _PyObject_GC_New(_TypeSlots*)
    void PyObject_GC_Del(void*)
    void PyObject_GC_Track(void*)
    PyObject* PyObject_Init(PyObject*, _TypeSlots*)
    _TypeSlots* Py_TYPE(PyObject*)

cdef extern from *:
    """
    /* At most 5 MiB of released nodes kept for reuse. The sanitizer build sets it to 0
       (tests/sanitize/run.sh), so that every freed node goes back to the allocator,
       where a use after free is seen. */
    #ifndef MICROGRAD_FAST_FREE_NODES_MAX
    #define MICROGRAD_FAST_FREE_NODES_MAX (1 << 16)
    #endif
    static PyObject *mgf_free_nodes[MICROGRAD_FAST_FREE_NODES_MAX > 0 ? MICROGRAD_FAST_FREE_NODES_MAX : 1];

    /* Ask for an object's memory to be in the cache soon, to be written: its first and
       last cache lines (a node's are all of it; the lines of a longer tuple in between
       are written in order, which the processor follows). The memory starts with the
       collector's header, two pointers before the object. Only a hint, which never
       faults: compilers without it skip it. */
    static inline void mgf_prefetch_object(PyObject *o, Py_ssize_t size) {
    #if defined(__GNUC__) || defined(__clang__)
        __builtin_prefetch((char *)o - 2 * sizeof(void *), 1, 3);
        __builtin_prefetch((char *)o + size - 1, 1, 3);
    #else
        (void)o; (void)size;
    #endif
    }

    /* Let Python code attach methods to Value (Value.tanh = tanh), as to micrograd's
       class. A static type is immutable from Python 3.10 on; before, it cannot be. */
    static void mgf_allow_class_attributes(PyObject *cls) {
        PyTypeObject *type = (PyTypeObject *)cls;
    #ifdef Py_TPFLAGS_IMMUTABLETYPE
        type->tp_flags &= ~Py_TPFLAGS_IMMUTABLETYPE;
        PyType_Modified(type);
    #endif
    }

    /* The instance dict lives in the field at `offset`, NULL until it is needed: the
       generic attribute machinery makes it there, vars() and copy reach it through a
       __dict__ descriptor; Cython's own code visits and releases it. */
    static Py_ssize_t mgf_dict_offset;
    static newfunc mgf_new_fields;

    static inline PyObject *mgf_attributes(PyObject *o) {
        return *(PyObject **)((char *)o + mgf_dict_offset);
    }

    static inline void mgf_no_dict_yet(PyObject *o) {
        Py_CLEAR(*(PyObject **)((char *)o + mgf_dict_offset));  /* tp_new set it to None */
    }

    static PyObject *mgf_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
        PyObject *o = mgf_new_fields(type, args, kwargs);
        if (o != NULL) mgf_no_dict_yet(o);
        return o;
    }

    static PyGetSetDef mgf_dict_getset[] = {
        {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL}};

    static int mgf_give_instances_a_dict(PyObject *cls, Py_ssize_t offset) {
        PyTypeObject *type = (PyTypeObject *)cls;
        PyObject *descr = PyDescr_NewGetSet(type, mgf_dict_getset);
        int error;
        if (descr == NULL) return -1;
        error = PyDict_SetItemString(type->tp_dict, "__dict__", descr);
        Py_DECREF(descr);
        if (error) return -1;
        mgf_dict_offset = offset;
        type->tp_dictoffset = offset;
        mgf_new_fields = type->tp_new;
        type->tp_new = mgf_new;
        PyType_Modified(type);
        return 0;
    }
    """
    const Py_ssize_t FREE_NODES_MAX "MICROGRAD_FAST_FREE_NODES_MAX"
    PyObject** _free_nodes "mgf_free_nodes"
    void _prefetch_object "mgf_prefetch_object"(PyObject*, Py_ssize_t) noexcept
    void mgf_allow_class_attributes(object)
    int mgf_give_instances_a_dict(object, Py_ssize_t) except -1
    PyObject* mgf_attributes(object)
    void mgf_no_dict_yet(object)

cdef Py_ssize_t _free_count = 0  # the nodes in _free_nodes[0 .. _free_count - 1]

cdef enum:  # the bytes of a node's fields: _data, _grad, _stamp; _a, _b, _attributes
    NODE_FIELDS = 2 * sizeof(double) + sizeof(uint64_t) + 3 * sizeof(PyObject*)


cdef PyObject* _allocate(_TypeSlots* cls, Py_ssize_t nitems) noexcept:
    """Value's tp_alloc: a zeroed, tracked node, from the free list when it has one."""
    global _free_count
    cdef PyObject* o
    if _free_count > 0 and cls == <_TypeSlots*>Value:
        _free_count -= 1
        o = _free_nodes[_free_count]
        if _free_count > 0:
            _prefetch_object(_free_nodes[_free_count - 1], cls.tp_basicsize)
        PyObject_Init(o, cls)  # a reference count of one again
        memset(<char*>o + sizeof(PyObject), 0, NODE_FIELDS)  # a constant: a few stores
    else:
        o = _PyObject_GC_New(cls)
        if o == NULL:
            return NULL
        memset(<char*>o + sizeof(PyObject), 0, cls.tp_basicsize - sizeof(PyObject))
    (<Value>o)._stamp = _next_serial()  # a leaf, not yet MADE (above)
    PyObject_GC_Track(o)  # fields NULL until tp_new or _node sets them: the collector skips NULL
    return o


cdef void _release(void* memory) noexcept:
    """Value's tp_free: keep the node's memory on the free list, or give it back.

    The node's tp_dealloc has untracked it and dropped its references already.
    """
    global _free_count
    cdef PyObject* o = <PyObject*>memory
    if _free_count < FREE_NODES_MAX and Py_TYPE(o) == <_TypeSlots*>Value:
        _free_nodes[_free_count] = o
        _free_count += 1
    else:
        PyObject_GC_Del(memory)


# A dot's operand tuple is kept for reuse too, when its node is freed and nothing else
# holds it. CPython keeps tuples of up to 20 items on free lists of its own; a Neuron of
# 10 or more inputs makes longer ones, each counted by the collector as a new object:
# a training step's 1,700 of them, kept until the step's graph is freed, started two
# collections a step, each looking through every node made since the last one. Kept
# here, emptied, by length; at most 2^17 items in all (1 MiB); none in the sanitizer
# build, which keeps no nodes either.

cdef enum:
    TUPLE_REUSE_MIN = 21     # shorter ones come from CPython's own free lists
    TUPLE_REUSE_MAX = 1024   # longer ones go back to the allocator
    TUPLE_ITEMS_MAX = 1 << 17

cdef extern from *:
    """
    /* Value's tp_dealloc, in place of Cython's, which does the same but for offering a
       dot's operand tuple for reuse before the fields are released. The fields are
       found by their offsets; _object_fields (below) checks that there are no others.
       In the trashcan, as Cython's: freeing a chain of a million nodes does not recurse. */
    static Py_ssize_t mgf_a_offset, mgf_b_offset;  /* _a and _b (__dict__: mgf_dict_offset) */
    static void (*mgf_offer_operands)(PyObject *);
    #define MGF_FIELD(o, offset) (*(PyObject **)((char *)(o) + (offset)))

    /* The nodes alive with the stamp's BY_HAND bit (node.pxi, walk.pxi). */
    static Py_ssize_t mgf_stamp_offset;
    static uint64_t mgf_changed_bit;
    static Py_ssize_t mgf_changed_nodes;
    static inline void mgf_count_changed(void) { mgf_changed_nodes++; }
    static inline Py_ssize_t mgf_changed_alive(void) { return mgf_changed_nodes; }

    static void mgf_dealloc(PyObject *o) {
        PyObject *operands;
        if (Py_TYPE(o)->tp_finalize != NULL && Py_TYPE(o)->tp_dealloc == mgf_dealloc
                && !PyObject_GC_IsFinalized(o)) {  /* a __del__ put on Value itself */
            if (PyObject_CallFinalizerFromDealloc(o)) return;  /* resurrected */
        }
        PyObject_GC_UnTrack(o);
        Py_TRASHCAN_BEGIN(o, mgf_dealloc)
        if (*(uint64_t *)((char *)o + mgf_stamp_offset) & mgf_changed_bit) mgf_changed_nodes--;
        operands = MGF_FIELD(o, mgf_b_offset);
        if (operands != NULL && PyTuple_CheckExact(operands)) mgf_offer_operands(operands);
        Py_CLEAR(MGF_FIELD(o, mgf_a_offset));
        Py_CLEAR(MGF_FIELD(o, mgf_b_offset));
        Py_CLEAR(MGF_FIELD(o, mgf_dict_offset));
        Py_TYPE(o)->tp_free(o);
        Py_TRASHCAN_END
    }

    /* _node's new node `o` (from _allocate, a reference of its own) given its operands
       and its stamp's op bits: its fields were NULL. It returns `o`, with that reference. */
    static inline PyObject *mgf_made(PyObject *o, PyObject *a, PyObject *b, uint64_t bits) {
        Py_INCREF(a);
        MGF_FIELD(o, mgf_a_offset) = a;
        Py_INCREF(b);
        MGF_FIELD(o, mgf_b_offset) = b;
        *(uint64_t *)((char *)o + mgf_stamp_offset) |= bits;
        return o;
    }

    static void mgf_set_fields(PyObject *cls, Py_ssize_t a, Py_ssize_t b, void (*offer)(PyObject *),
                               Py_ssize_t stamp, uint64_t changed) {
        mgf_a_offset = a;
        mgf_b_offset = b;
        mgf_offer_operands = offer;
        mgf_stamp_offset = stamp;
        mgf_changed_bit = changed;
        ((PyTypeObject *)cls)->tp_dealloc = mgf_dealloc;
    }

    /* The kept tuples of one length are linked through their first item. The one that
       comes out next is fetched ahead, as a node (mgf_prefetch_object): it is filled then. */
    static inline PyObject *mgf_pop_tuple(PyObject **head) {
        PyObject *t = *head;
        *head = PyTuple_GET_ITEM(t, 0);
        PyTuple_SET_ITEM(t, 0, NULL);
        if (*head != NULL)
            mgf_prefetch_object(*head, (char *)&PyTuple_GET_ITEM(t, PyTuple_GET_SIZE(t)) - (char *)t);
        return t;
    }

    static inline void mgf_push_tuple(PyObject **head, PyObject *t) {
        PyTuple_SET_ITEM(t, 0, *head);
        *head = t;
    }

    /* Each slot is NULL before its item is released: the item's __del__ may run code. */
    static void mgf_empty_tuple(PyObject *t) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t); i++) {
            PyObject *item = PyTuple_GET_ITEM(t, i);
            PyTuple_SET_ITEM(t, i, NULL);
            Py_XDECREF(item);
        }
    }
    """
    Value mgf_made(PyObject*, PyObject*, PyObject*, uint64_t)
    void mgf_set_fields(object, Py_ssize_t, Py_ssize_t, void (*)(PyObject*) noexcept, Py_ssize_t, uint64_t)
    void mgf_count_changed()
    Py_ssize_t mgf_changed_alive()
    PyObject* mgf_pop_tuple(PyObject**)
    void mgf_push_tuple(PyObject**, PyObject*)
    void mgf_empty_tuple(PyObject*)
    Py_ssize_t Py_REFCNT(PyObject*)
    Py_ssize_t PyTuple_GET_SIZE(PyObject*)
    void PyObject_GC_UnTrack_ptr "PyObject_GC_UnTrack"(PyObject*)

cdef PyObject* _free_tuples[TUPLE_REUSE_MAX + 1]  # by length
cdef Py_ssize_t _free_tuple_items = 0


cdef tuple _operand_tuple(Py_ssize_t n):
    """A tuple of ``n`` empty (NULL) items, not tracked by the collector until it is filled."""
    global _free_tuple_items
    cdef PyObject* t
    if TUPLE_REUSE_MIN <= n <= TUPLE_REUSE_MAX and _free_tuples[n] != NULL:
        t = mgf_pop_tuple(&_free_tuples[n])
        _free_tuple_items -= n
        operands = <tuple>t  # a second reference: the list's is dropped
        decref(t)
        return operands
    operands = PyTuple_New(n)
    PyObject_GC_UnTrack(operands)
    return operands


cdef void _offer_operands(PyObject* t) noexcept:
    """A node holding the tuple ``t`` is being freed: keep ``t`` if nothing else holds it."""
    global _free_tuple_items
    cdef Py_ssize_t n = PyTuple_GET_SIZE(t)
    if (FREE_NODES_MAX == 0 or n < TUPLE_REUSE_MIN or n > TUPLE_REUSE_MAX or Py_REFCNT(t) != 1
            or _free_tuple_items + n > TUPLE_ITEMS_MAX):
        return
    _free_tuple_items += n  # counted first: releasing the items may free other nodes
    incref(t)               # the list's reference; the node's goes with the node
    PyObject_GC_UnTrack_ptr(t)
    mgf_empty_tuple(t)
    mgf_push_tuple(&_free_tuples[n], t)


cdef Py_ssize_t _offset_of(Value probe, object marker) except -1:
    """Where in ``probe`` the pointer to ``marker`` is."""
    cdef Py_ssize_t offset
    for offset in range(sizeof(PyObject), (<_TypeSlots*>Value).tp_basicsize, sizeof(PyObject*)):
        if (<PyObject**>(<char*><PyObject*>probe + offset))[0] == <PyObject*>marker:
            return offset
    raise ImportError("micrograd_fast._engine: a field of the node was not found")


cdef tuple _object_fields():
    """The offsets of _a, _b and _attributes: the node's only objects (mgf_dealloc)."""
    cdef Value probe = Value.__new__(Value)
    probe._a, probe._b, probe._attributes = Value.__new__(Value), object(), object()
    offsets = (_offset_of(probe, probe._a), _offset_of(probe, probe._b),
               _offset_of(probe, probe._attributes))
    if (<_TypeSlots*>Value).tp_basicsize != sizeof(PyObject) + NODE_FIELDS:
        raise ImportError("micrograd_fast._engine: Value has a field that mgf_dealloc does not know")
    return offsets


cdef Py_ssize_t _stamp_at():
    cdef Value probe = Value.__new__(Value)
    return <char*>&probe._stamp - <char*><PyObject*>probe


cdef Py_ssize_t _a_at, _b_at, _attributes_at
_a_at, _b_at, _attributes_at = _object_fields()
mgf_give_instances_a_dict(Value, _attributes_at)
(<_TypeSlots*>Value).tp_alloc = _allocate
(<_TypeSlots*>Value).tp_free = _release
mgf_set_fields(Value, _a_at, _b_at, _offer_operands, _stamp_at(), BY_HAND)
mgf_allow_class_attributes(Value)


# -- operators a notebook sets on the class ----------------------------------------------
# micrograd derives -, / and the reflected operators from + * ** (a - b is a + (-b), -a is
# a * -1, a / b is a * b**-1), so an operator a user sets on the class (Value.__pow__ = f)
# runs for them too. While Value's + * ** and unary - are its own, the derived operators
# make their nodes directly; once one is not, they go through Python's operators. The
# type's version tag changes whenever its dict does: the operators are looked at again
# only then.

cdef extern from *:
    """
    static inline unsigned int mgf_type_version(PyObject *type) {
        return ((PyTypeObject *)type)->tp_version_tag;  /* 0: none assigned yet */
    }
    static inline PyObject *mgf_type_dict(PyObject *type) {
        return ((PyTypeObject *)type)->tp_dict;
    }
    """
    unsigned int mgf_type_version(object)
    PyObject* mgf_type_dict(object)

cdef tuple _OWN_OPERATORS = tuple((name, vars(Value)[name]) for name in
                                  ("__add__", "__mul__", "__pow__", "__neg__"))
cdef unsigned int _operators_seen = 0  # the type's version when they were last found its own


cdef inline bint _own_operators() except -1:
    """Whether Value's + * ** and unary - are still its own (above)."""
    cdef unsigned int version = mgf_type_version(Value)
    if version != 0 and version == _operators_seen:
        return True
    return _look_at_operators(version)


cdef bint _look_at_operators(unsigned int version) except -1:
    global _operators_seen
    cdef PyObject* attrs = mgf_type_dict(Value)
    for name, operator in _OWN_OPERATORS:
        # (a type's dict holds exact str keys only: no user code runs)
        if PyDict_GetItemWithError(<object>attrs, name) != <PyObject*>operator:
            return False
    _operators_seen = version
    return True
