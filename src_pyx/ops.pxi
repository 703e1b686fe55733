# -- the ops -----------------------------------------------------------------------------
# One block per row of micrograd_fast/ops.py, in the table's order: the opcode, the
# forward value (what the operator and a replayed Graph compute), the local derivative
# (the chain rule at the node, given its grad ``g``), and the line that puts both in
# the dispatch tables. The operands' gradients get the same arithmetic, in the same
# order, as in pure.py's block of the same name.
#
# Operands: ``out._a`` is the first (a Value); ``_second(out)`` reads the second, a
# Value's data or the number kept in the node (the K bit). A dot node keeps its
# operands in the tuple ``out._b``: bias, w0, x0, w1, x1, ...
# The chain rules reach a Value operand held in an object field through a plain pointer
# (``b = <PyObject*>out._b``), and add to its grad as ``g = g + x``: a Value variable, or
# ``+=`` on a cast, would count a reference in and out of every node the walk passes,
# and the node holds its operands alive anyway.
#
# Each block also has the same two functions on a Graph's tape (graph.pxi), where a
# node is a _Step: its value and gradient live in the tape's arrays ``val`` and
# ``grad`` at index ``out``, its operands' at ``a`` and ``b`` (a number operand has an
# index of its own, which holds the number; K is set and its gradient is not
# wanted); a dot's operands are read through ``run`` from index ``a`` (see its block).

ctypedef struct _Step:         # 48 bytes
    int op
    unsigned char k         # the second operand is a number
    unsigned char group     # a dot's: see its block
    Py_ssize_t out, a, b
    Py_ssize_t act          # a dot's: the relu run in its step (see its block), or -1
    Py_ssize_t block        # a group of dots': where its block is in ``blocks``, or -1

ctypedef struct _Tape:
    double* val
    double* grad
    Py_ssize_t* run         # the dots' operands, one run after another
    double* blocks          # groups of dots' biases and weights, side by side (see the dot's block)

ctypedef int (*_Forward)(Value) except -1
ctypedef int (*_Backward)(Value, double) except -1
ctypedef int (*_TapeForward)(_Tape*, _Step*) except -1
ctypedef int (*_TapeBackward)(_Tape*, _Step*) except -1

cdef enum:
    MAX_OPS = OPCODE_MASK + 1

cdef _Forward _FORWARD[MAX_OPS]
cdef _Backward _BACKWARD[MAX_OPS]
cdef _TapeForward _TAPE_FORWARD[MAX_OPS]
cdef _TapeBackward _TAPE_BACKWARD[MAX_OPS]
cdef tuple _OP_TEXT = ('',) + tuple(op.text for op in OPS)  # by opcode; a leaf shows ''


cdef int _opcode_of(str name) except -1:
    """The opcode of the table's row ``name``: its position, counted from 1 (0 is a leaf)."""
    for i, op in enumerate(OPS):
        if op.name == name:
            return i + 1
    raise ImportError(f"micrograd_fast._engine has a block for {name!r}, which ops.py lacks")


cdef int _no_forward(Value out) except -1:
    raise SystemError(f"micrograd_fast._engine: opcode {_opcode(out)} has no forward block")


cdef int _no_backward(Value out, double g) except -1:
    raise SystemError(f"micrograd_fast._engine: opcode {_opcode(out)} has no backward block")


cdef int _no_tape_forward(_Tape* t, _Step* s) except -1:
    raise SystemError(f"micrograd_fast._engine: opcode {s.op} has no forward block")


cdef int _no_tape_backward(_Tape* t, _Step* s) except -1:
    raise SystemError(f"micrograd_fast._engine: opcode {s.op} has no backward block")


cdef int _leaf_forward(Value out) except -1:
    return 0  # a leaf keeps the value it was given


cdef int _leaf_chain_rule(Value out, double g) except -1:
    return 0  # nothing below a leaf


for _i in range(MAX_OPS):  # a leaf is never a step of a tape: its entries there raise
    _FORWARD[_i], _BACKWARD[_i] = _no_forward, _no_backward
    _TAPE_FORWARD[_i], _TAPE_BACKWARD[_i] = _no_tape_forward, _no_tape_backward
_FORWARD[LEAF], _BACKWARD[LEAF] = _leaf_forward, _leaf_chain_rule


cdef void _define(int op, _Forward forward, _Backward backward,
                  _TapeForward tape_forward, _TapeBackward tape_backward) noexcept:
    _FORWARD[op] = forward
    _BACKWARD[op] = backward
    _TAPE_FORWARD[op] = tape_forward
    _TAPE_BACKWARD[op] = tape_backward


cdef inline double _k(object c) noexcept:
    """The value of a number kept in a node: an exact float or int (see _constant).

    It cannot fail: an int beyond a float was refused when the node was made.
    """
    if PyFloat_CheckExact(c):
        return PyFloat_AS_DOUBLE(c)
    return PyLong_AsDouble(c)


cdef inline double _second(Value out) noexcept:
    """The second operand's value: the number kept in the node, or the Value's data."""
    cdef PyObject* b = <PyObject*>out._b
    if out._stamp & K:
        return _k(<object>b)
    return (<Value>b)._data


cdef object _binary(int op, Value a, object other):
    """``a <op> other`` as a new node: ``other`` a Value or a number, else NotImplemented."""
    cdef double k
    cdef Value out
    if PyFloat_CheckExact(other):  # the common number first: kept as it is
        out = _node(op, a, other, K)
    elif isinstance(other, Value):
        out = _node(op, a, other, 0)
    else:
        c = _constant(other, &k)
        if c is None:
            _refuse_other_engine(other)
            return NotImplemented
        out = _node(op, a, c, K)
    _sync()  # the operands' data (node.pxi: after anything that may run Python code)
    _FORWARD[op](out)  # a domain error drops the new node; the operands are untouched
    return out


cdef Value _unary(int op, Value a):
    cdef Value out = _node(op, a, None, 0)
    _sync()
    _FORWARD[op](out)
    return out


# + -------------------------------------------------------------------------------------
cdef int ADD = _opcode_of("__add__")

cdef int _add_forward(Value out) except -1:
    out._data = out._a._data + _second(out)
    return 0

cdef int _add_backward(Value out, double g) except -1:
    cdef PyObject* b = <PyObject*>out._b
    out._a._grad += g
    if not out._stamp & K:
        (<Value>b)._grad = (<Value>b)._grad + g
    return 0

cdef int _add_tape_forward(_Tape* t, _Step* s) except -1:
    t.val[s.out] = t.val[s.a] + t.val[s.b]
    return 0

cdef int _add_tape_backward(_Tape* t, _Step* s) except -1:
    cdef double g = t.grad[s.out]
    t.grad[s.a] += g
    if not s.k:
        t.grad[s.b] += g
    return 0

_define(ADD, _add_forward, _add_backward, _add_tape_forward, _add_tape_backward)


# * -------------------------------------------------------------------------------------
cdef int MUL = _opcode_of("__mul__")

cdef int _mul_forward(Value out) except -1:
    out._data = out._a._data * _second(out)
    return 0

cdef int _mul_backward(Value out, double g) except -1:
    cdef PyObject* b = <PyObject*>out._b
    if out._stamp & K:
        out._a._grad += _k(<object>b) * g
    else:
        out._a._grad += (<Value>b)._data * g
        (<Value>b)._grad = (<Value>b)._grad + out._a._data * g
    return 0

cdef int _mul_tape_forward(_Tape* t, _Step* s) except -1:
    t.val[s.out] = t.val[s.a] * t.val[s.b]
    return 0

cdef int _mul_tape_backward(_Tape* t, _Step* s) except -1:
    cdef double g = t.grad[s.out]
    t.grad[s.a] += t.val[s.b] * g
    if not s.k:
        t.grad[s.b] += t.val[s.a] * g
    return 0

_define(MUL, _mul_forward, _mul_backward, _mul_tape_forward, _mul_tape_backward)


# ** ------------------------------------------------------------------------------------
# a ** b for a number b (x**2) or a Value b; a negative base has a real power only for
# an integer exponent.
cdef int POW = _opcode_of("__pow__")

cdef int _pow_forward(Value out) except -1:
    out._data = _pow(out._a._data, _second(out))
    return 0

cdef double _pow_slope(double x, double k) except? -1.0:
    """d/dx x**k."""
    if x == 0.0 and k < 1.0:
        raise ZeroDivisionError(f"x ** {k!r} has no finite gradient at x = {x!r}: "
                                f"its derivative {k!r} * x ** {k - 1.0!r} divides by zero there")
    return k * _pow(x, k - 1.0)

cdef inline double _pow_exponent_slope(double y, double x) noexcept:
    """d/dk x**k, given y = x**k: as in PyTorch, NaN for a negative x (the power is complex)."""
    return y * (log(x) if x > 0.0 else NAN)

cdef int _pow_backward(Value out, double g) except -1:
    cdef PyObject* b = <PyObject*>out._b
    cdef double x = out._a._data, k = _second(out)
    out._a._grad += _pow_slope(x, k) * g
    if not out._stamp & K and x != 0.0:  # 0 at x == 0, as in PyTorch
        (<Value>b)._grad = (<Value>b)._grad + _pow_exponent_slope(out._data, x) * g
    return 0

cdef int _pow_tape_forward(_Tape* t, _Step* s) except -1:
    t.val[s.out] = _pow(t.val[s.a], t.val[s.b])
    return 0

cdef int _pow_tape_backward(_Tape* t, _Step* s) except -1:
    cdef double g = t.grad[s.out], x = t.val[s.a]
    t.grad[s.a] += _pow_slope(x, t.val[s.b]) * g
    if not s.k and x != 0.0:
        t.grad[s.b] += _pow_exponent_slope(t.val[s.out], x) * g
    return 0

_define(POW, _pow_forward, _pow_backward, _pow_tape_forward, _pow_tape_backward)


# relu ----------------------------------------------------------------------------------
cdef int RELU = _opcode_of("relu")

cdef inline double _relu(double x) noexcept:
    return 0.0 if x < 0 else x

cdef inline double _relu_chain(double y, double g) noexcept:
    """What a relu of value y and gradient g passes on to its operand."""
    return (y > 0) * g

cdef int _relu_forward(Value out) except -1:
    out._data = _relu(out._a._data)
    return 0

cdef int _relu_backward(Value out, double g) except -1:
    out._a._grad += _relu_chain(out._data, g)
    return 0

cdef int _relu_tape_forward(_Tape* t, _Step* s) except -1:
    t.val[s.out] = _relu(t.val[s.a])
    return 0

cdef int _relu_tape_backward(_Tape* t, _Step* s) except -1:
    t.grad[s.a] += _relu_chain(t.val[s.out], t.grad[s.out])
    return 0

_define(RELU, _relu_forward, _relu_backward, _relu_tape_forward, _relu_tape_backward)


# tanh ----------------------------------------------------------------------------------
cdef int TANH = _opcode_of("tanh")

cdef int _tanh_forward(Value out) except -1:
    out._data = tanh(out._a._data)
    return 0

cdef int _tanh_backward(Value out, double g) except -1:
    cdef double t = out._data
    out._a._grad += (1.0 - t * t) * g  # t*t, exact on every engine (t**2 may not be)
    return 0

cdef int _tanh_tape_forward(_Tape* t, _Step* s) except -1:
    t.val[s.out] = tanh(t.val[s.a])
    return 0

cdef int _tanh_tape_backward(_Tape* t, _Step* s) except -1:
    cdef double y = t.val[s.out]
    t.grad[s.a] += (1.0 - y * y) * t.grad[s.out]
    return 0

_define(TANH, _tanh_forward, _tanh_backward, _tanh_tape_forward, _tanh_tape_backward)


# exp -----------------------------------------------------------------------------------
cdef int EXP = _opcode_of("exp")

cdef int _exp_forward(Value out) except -1:
    out._data = _exp(out._a._data)
    return 0

cdef int _exp_backward(Value out, double g) except -1:
    out._a._grad += out._data * g
    return 0

cdef int _exp_tape_forward(_Tape* t, _Step* s) except -1:
    t.val[s.out] = _exp(t.val[s.a])
    return 0

cdef int _exp_tape_backward(_Tape* t, _Step* s) except -1:
    t.grad[s.a] += t.val[s.out] * t.grad[s.out]
    return 0

_define(EXP, _exp_forward, _exp_backward, _exp_tape_forward, _exp_tape_backward)


# log -----------------------------------------------------------------------------------
cdef int LOG = _opcode_of("log")

cdef int _log_forward(Value out) except -1:
    out._data = _log(out._a._data)
    return 0

cdef double _log_slope(double x) except? -1.0:
    if x == 0.0:  # its data was set to 0 after the node was made
        raise ZeroDivisionError("float division by zero")
    return 1.0 / x

cdef int _log_backward(Value out, double g) except -1:
    out._a._grad += _log_slope(out._a._data) * g
    return 0

cdef int _log_tape_forward(_Tape* t, _Step* s) except -1:
    t.val[s.out] = _log(t.val[s.a])
    return 0

cdef int _log_tape_backward(_Tape* t, _Step* s) except -1:
    t.grad[s.a] += _log_slope(t.val[s.a]) * t.grad[s.out]
    return 0

_define(LOG, _log_forward, _log_backward, _log_tape_forward, _log_tape_backward)


# sigmoid -------------------------------------------------------------------------------
cdef int SIGMOID = _opcode_of("sigmoid")

cdef inline double _sigmoid(double x) noexcept:
    cdef double e
    if x >= 0.0:
        return 1.0 / (1.0 + exp(-x))
    e = exp(x)  # the same function, written so that exp cannot overflow
    return e / (1.0 + e)

cdef int _sigmoid_forward(Value out) except -1:
    out._data = _sigmoid(out._a._data)
    return 0

cdef int _sigmoid_backward(Value out, double g) except -1:
    cdef double s = out._data
    out._a._grad += (s * (1.0 - s)) * g
    return 0

cdef int _sigmoid_tape_forward(_Tape* t, _Step* s) except -1:
    t.val[s.out] = _sigmoid(t.val[s.a])
    return 0

cdef int _sigmoid_tape_backward(_Tape* t, _Step* s) except -1:
    cdef double y = t.val[s.out]
    t.grad[s.a] += (y * (1.0 - y)) * t.grad[s.out]
    return 0

_define(SIGMOID, _sigmoid_forward, _sigmoid_backward, _sigmoid_tape_forward, _sigmoid_tape_backward)


# dot: bias + w0*x0 + w1*x1 + ..., one node for micrograd's Neuron sum ------------------
cdef int DOT = _opcode_of("dot")

cdef tuple _snapshot(object seq):
    """seq's items, read once, as a tuple. A list is first copied into a list of its own:
    CPython 3.11's tuple(a_list) reads the list's length, then makes the tuple, which may
    run a collection and a __del__ that empties the list, then copies as many items."""
    if type(seq) is list:
        seq = list(seq)
    return tuple(seq)


cdef inline bint _resized(object seq, Py_ssize_t n) noexcept:
    return type(seq) is list and PyList_GET_SIZE(seq) != n


cdef int _check_lengths(Py_ssize_t n, Py_ssize_t m) except -1:
    if n != m:
        raise ValueError(f"Value.dot needs as many weights as inputs, got {n} and {m}")
    return 0


cdef Value _dot(object ws, object xs, object bias):
    cdef Py_ssize_t n, i
    if type(ws) is not list and type(ws) is not tuple:
        ws = _snapshot(ws)
    if type(xs) is not list and type(xs) is not tuple:
        if type(ws) is list:
            ws = _snapshot(ws)  # iterating xs may change the list
        xs = _snapshot(xs)
    if not (_plain(bias) or isinstance(bias, Value)) and (type(ws) is list or type(xs) is list):
        ws, xs = _snapshot(ws), _snapshot(xs)  # the bias's __float__ runs first, and may change the lists
    n = len(ws)
    _check_lengths(n, len(xs))
    b = _dot_operand(bias)
    cdef tuple operands = _operand_tuple(2 * n + 1)  # bias, w0, x0, w1, x1, ...: untracked until filled
    if _resized(ws, n) or _resized(xs, n):
        # Making the tuple ran a collection, and code (a __del__) that changed a list:
        # the lists are read again, once, as they are now.
        ws, xs = _snapshot(ws), _snapshot(xs)
        n = len(ws)
        _check_lengths(n, len(xs))
        operands = _operand_tuple(2 * n + 1)
    _fill(operands, 0, b)
    # A layer's dots are Values times Values: those pairs are taken as they come, which
    # runs no Python code, and summed meanwhile. From the first pair that is not, a list
    # is read in place only when reading the rest runs none either (floats and ints);
    # otherwise each sequence is read once, first, so that a number's __float__ cannot
    # change what is being read.
    _sync()  # the data are read
    cdef uint64_t seen = _rewritten
    cdef double total = _operand(<PyObject*>b)
    cdef Py_ssize_t done = _fill_values(operands, ws, xs, n, &total)
    if done < n and (type(ws) is list or type(xs) is list):
        for i in range(done, n):
            if not (_plain(<object>PySequence_Fast_GET_ITEM(ws, i)) and
                    _plain(<object>PySequence_Fast_GET_ITEM(xs, i))):
                ws, xs = _snapshot(ws), _snapshot(xs)
                if len(ws) != n or len(xs) != n:  # (a collection while they were copied)
                    return _dot(ws, xs, b)
                break
    for i in range(done, n):
        _fill(operands, 2 * i + 1, _dot_operand(<object>PySequence_Fast_GET_ITEM(ws, i)))
        _fill(operands, 2 * i + 2, _dot_operand(<object>PySequence_Fast_GET_ITEM(xs, i)))
    PyObject_GC_Track(<PyObject*>operands)
    cdef Value out = _node(DOT, None, operands, 0)
    if done == n and _rewritten == seen:  # (making the node may run a collection, and a __del__)
        out._data = total  # what _dot_forward(out) computes: no number has changed since
    else:
        _sync()
        _dot_forward(out)
    return out

# A layer of neurons, for micrograd_fast/nn.py (_same_dots), which calls it when the dot
# and the activation are the engine's own: the interpreter's loop over the neurons, in C.
cdef dict _UNARY_OPCODES = {op.name: _opcode_of(op.name) for op in OPS if op.arity == 1}


def _layer(neurons, x, how, activation):
    """For each neuron ``n`` whose ``_how`` is ``how``, in order: ``Value.dot(n.w, x, n.b)``,
    then, unless ``activation`` is None, that activation of it, as ``d.relu()`` makes it.
    The same attribute reads, calls and nodes, in the same order, as nn's comprehension."""
    cdef int act = -1 if activation is None else _UNARY_OPCODES[activation]
    cdef list out = []
    cdef Value d
    for n in neurons:
        if n._how is not how:
            continue
        d = _dot(n.w, x, n.b)
        out.append(d if act < 0 else _unary(act, d))
    return out


cdef Py_ssize_t _fill_values(tuple operands, object ws, object xs, Py_ssize_t n, double* total) noexcept:
    """Put the pairs ws[i], xs[i] in the operands, from the first on, while both are
    Values of the engine's own type, and add their products to ``total`` as _dot_forward
    does; how many pairs were put."""
    cdef PyObject* w
    cdef PyObject* x
    cdef Py_ssize_t i
    cdef double t = total[0]
    for i in range(n):
        w = PySequence_Fast_GET_ITEM(ws, i)
        x = PySequence_Fast_GET_ITEM(xs, i)
        if Py_TYPE(w) != <_TypeSlots*>Value or Py_TYPE(x) != <_TypeSlots*>Value:
            return i
        _fill(operands, 2 * i + 1, <object>w)
        _fill(operands, 2 * i + 2, <object>x)
        t = t + (<Value>w)._data * (<Value>x)._data
    total[0] = t
    return n

cdef inline bint _plain(object x) noexcept:
    """A Value, float or int: nothing of the user's runs when it is read."""
    return type(x) is Value or PyFloat_CheckExact(x) or PyLong_CheckExact(x)

cdef inline void _fill(tuple operands, Py_ssize_t i, object x) noexcept:
    Py_INCREF(x)
    PyTuple_SET_ITEM(operands, i, x)

cdef object _dot_operand(object x):
    cdef double k
    if isinstance(x, Value):
        return x
    c = _constant(x, &k)
    if c is None:
        _refuse_other_engine(x)
        raise TypeError(f"Value.dot operands must be Values or real numbers, not {type(x).__name__!r}")
    return c

cdef inline double _operand(PyObject* x) noexcept:
    """A dot operand's value (borrowed: the node's tuple holds it)."""
    if PyObject_TypeCheck(<object>x, Value):
        return (<Value>x)._data
    return _k(<object>x)

cdef int _dot_forward(Value out) except -1:
    # left to right, as sum(w*x for ..., bias) adds in micrograd's Neuron
    cdef tuple ops = <tuple>out._b
    cdef double total = _operand(PyTuple_GET_ITEM(ops, 0))
    cdef Py_ssize_t i
    for i in range(1, len(ops), 2):
        total = total + _operand(PyTuple_GET_ITEM(ops, i)) * _operand(PyTuple_GET_ITEM(ops, i + 1))
    out._data = total
    return 0

cdef int _dot_backward(Value out, double g) except -1:
    # as the unfused graph does: the last product first, each w before its x, the bias last
    # (the backward walk's sweep runs the same loop, placing the operands as it goes)
    cdef tuple ops = <tuple>out._b
    cdef Py_ssize_t i
    for i in range(len(ops) - 2, 0, -2):
        _product_backward(PyTuple_GET_ITEM(ops, i), PyTuple_GET_ITEM(ops, i + 1), g)
    _bias_backward(PyTuple_GET_ITEM(ops, 0), g)
    return 0

cdef inline void _product_backward(PyObject* w, PyObject* x, double g) noexcept:
    """One product w*x of a dot passes on g."""
    cdef double w_data = _operand(w)  # both read before either grad changes: the same numbers when w is x
    cdef double x_data = _operand(x)
    if PyObject_TypeCheck(<object>w, Value):
        (<Value>w)._grad = (<Value>w)._grad + x_data * g
    if PyObject_TypeCheck(<object>x, Value):
        (<Value>x)._grad = (<Value>x)._grad + w_data * g

cdef inline void _bias_backward(PyObject* b, double g) noexcept:
    if PyObject_TypeCheck(<object>b, Value):
        (<Value>b)._grad = (<Value>b)._grad + g

# On the tape, a dot's operands are either a run (its step's K flag unset): bias, w0, x0,
# w1, x1, ... as indices, a number's gradient summed into its own index, which nothing
# reads; or (K set, for b pairs) the bias's index and those of w0 and x0, the weights
# and the inputs being consecutive. Either way, the same arithmetic in the same order.
#
# The dots of a layer's neurons read the same inputs. Up to eight such K dots whose steps
# follow one another (the tape puts them together: graph.pxi) are summed side by side by
# the first one's forward (its ``group`` says how many; the others' is 0, and the loop
# skips them): each sum is the same sequence of additions, but the processor no longer
# waits for one addition before it starts the next. When their biases and weights are
# leaves (a Neuron's) and other groups read the same (a layer's, once per input point),
# forward() first copies them side by side into the groups' ``block``, which the sums
# read a row at a time. backward() runs up to eight such dots in a row in the walk
# together, in the first one's step (graph.pxi, _grouped_back): each input's gradient
# gets their products in the same order, read and written once.
#
# A Neuron's relu comes right after its dot and reads it: the tape runs that relu in the
# dot's step (``act``, the relu's index; graph.pxi), the relu's forward right after the
# sum and its backward right before the dot's, as the two steps would in a row.
cdef extern from "dot_kernels.h":  # the loops of the dot's tape functions, in C
    void _dots_forward "mgf_dots_forward"(double* total, const double* val, const Py_ssize_t* bias,
                                          const Py_ssize_t* w, Py_ssize_t x, Py_ssize_t n) noexcept
    void _dots_block_forward "mgf_dots_block_forward"(double* total, const double* val, const double* block,
                                                      Py_ssize_t x, Py_ssize_t n) noexcept
    void _dot_backward_apart "mgf_dot_backward_apart"(double* w_grad, double* x_grad, const double* w,
                                                      const double* x, double g, Py_ssize_t n) noexcept
    void _dots4_backward "mgf_dots4_backward"(double* grad, const double* val, const Py_ssize_t* w,
                                              Py_ssize_t x, const double* g, Py_ssize_t n) noexcept
    int _pick_kernels "mgf_pick_kernels"(int wide) noexcept

cdef bint _wide_kernels = _pick_kernels(True)


def _use_wide_kernels(bint wide):
    """For the tests: use the AVX kernels of dot_kernels.h (where the processor has AVX)
    or the baseline's; whether the AVX ones were in use before."""
    global _wide_kernels
    before = _wide_kernels
    _wide_kernels = _pick_kernels(wide)
    return before


cdef enum:
    DOT_GROUP_MAX = 8

cdef int _dot_group_forward(_Tape* t, _Step* s) except -1:
    """The forward of the K dots s[0], ..., s[s.group - 1], which read the same inputs."""
    cdef double total[DOT_GROUP_MAX]
    cdef Py_ssize_t bias[DOT_GROUP_MAX]
    cdef Py_ssize_t w[DOT_GROUP_MAX]
    cdef Py_ssize_t j, g = s.group
    if s.block >= 0:
        _dots_block_forward(total, t.val, t.blocks + s.block, t.run[s.a + 2], s.b)
    else:
        for j in range(DOT_GROUP_MAX):  # a group of fewer repeats its last dot, not stored
            bias[j] = t.run[s[min(j, g - 1)].a]
            w[j] = t.run[s[min(j, g - 1)].a + 1]
        _dots_forward(total, t.val, bias, w, t.run[s.a + 2], s.b)
    for j in range(g):
        _dot_output(t.val, &s[j], total[j])
    return 0

cdef inline void _dot_output(double* val, _Step* s, double total) noexcept:
    """The dot's value, and that of the relu run in its step."""
    val[s.out] = total
    if s.act >= 0:
        val[s.act] = _relu(total)

cdef int _dot_tape_forward(_Tape* t, _Step* s) except -1:
    cdef Py_ssize_t* ops = t.run + s.a
    cdef double* val = t.val
    cdef double* w
    cdef double* x
    cdef double total = val[ops[0]]
    cdef Py_ssize_t i
    if s.group > 1:  # the first of a group (the loop goes on past the others)
        return _dot_group_forward(t, s)
    if s.k:
        w, x = val + ops[1], val + ops[2]
        for i in range(s.b):
            total = total + w[i] * x[i]
    else:
        for i in range(1, s.b, 2):
            total = total + val[ops[i]] * val[ops[i + 1]]
    _dot_output(val, s, total)
    return 0

cdef int _dot_group_backward(_Tape* t, _Step* s) except -1:
    """The backward of the K dots s[0], s[-1], ..., s[1 - K] (K = s.group), which read the
    same inputs, in that order (graph.pxi puts them together when this gives the same
    numbers as running them one by one): first every dot's relu and gradient, then the
    products four dots at a time, then the biases."""
    cdef double g[DOT_GROUP_MAX]
    cdef Py_ssize_t w[DOT_GROUP_MAX]
    cdef double* val = t.val
    cdef double* grad = t.grad
    cdef Py_ssize_t j, k = s.group, x = t.run[s.a + 2], n = s.b
    cdef _Step* d
    for j in range(k):
        d = s - j
        if d.act >= 0:
            grad[d.out] += _relu_chain(val[d.act], grad[d.act])
        g[j] = grad[d.out]
        w[j] = t.run[d.a + 1]
    j = 0
    while j + 4 <= k:
        _dots4_backward(grad, val, w + j, x, g + j, n)
        j += 4
    while j < k:
        _dot_backward_apart(grad + w[j], grad + x, val + w[j], val + x, g[j], n)
        j += 1
    for j in range(k):
        grad[t.run[(s - j).a]] += g[j]
    return 0

cdef int _dot_tape_backward(_Tape* t, _Step* s) except -1:
    cdef Py_ssize_t* ops = t.run + s.a
    cdef double* val = t.val
    cdef double* grad = t.grad
    cdef double* w
    cdef double* x
    cdef double* w_grad
    cdef double* x_grad
    cdef double g, w_data, x_data
    cdef Py_ssize_t i
    if s.group > 1:  # with the next dots to run: see above
        return _dot_group_backward(t, s)
    if s.act >= 0:
        grad[s.out] += _relu_chain(val[s.act], grad[s.act])
    g = grad[s.out]
    if s.k and (ops[1] + s.b <= ops[2] or ops[2] + s.b <= ops[1]):
        _dot_backward_apart(grad + ops[1], grad + ops[2], val + ops[1], val + ops[2], g, s.b)
    elif s.k:
        w, x, w_grad, x_grad = val + ops[1], val + ops[2], grad + ops[1], grad + ops[2]
        for i in range(s.b - 1, -1, -1):
            w_data = w[i]
            x_data = x[i]
            w_grad[i] += x_data * g
            x_grad[i] += w_data * g
    else:
        for i in range(s.b - 2, 0, -2):
            w_data = val[ops[i]]
            x_data = val[ops[i + 1]]
            grad[ops[i]] += x_data * g
            grad[ops[i + 1]] += w_data * g
    grad[ops[0]] += g
    return 0

_define(DOT, _dot_forward, _dot_backward, _dot_tape_forward, _dot_tape_backward)


# -- every row has its block ---------------------------------------------------------------

for _i in range(1, len(OPS) + 1):
    if (_FORWARD[_i] == _no_forward or _BACKWARD[_i] == _no_backward
            or _TAPE_FORWARD[_i] == _no_tape_forward or _TAPE_BACKWARD[_i] == _no_tape_backward):
        raise ImportError(f"micrograd_fast._engine has no block for {OPS[_i - 1].name!r} "
                          "of micrograd_fast/ops.py")


# -- reading a built-in node -----------------------------------------------------------------

cdef str _op_text(Value v):
    cdef int op = _opcode(v)
    if op == POW and v._stamp & K:
        return f'**{v._b}'  # micrograd's '**2': the number exponent is part of the op
    return _OP_TEXT[op]


cdef int _local_backward(Value v) except -1:
    """The node's op's local derivative: what the walk runs, and a built-in node's _backward()."""
    _sync()
    return _BACKWARD[_opcode(v)](v, v._grad)


cdef list _operand_nodes(Value v):
    """A built-in node's operands, as micrograd's _prev holds them.

    micrograd wraps a number operand of + and * (and of its Neuron's sum) in a leaf
    Value, whose gradient the walk fills in. Shown here for the first time, the number
    becomes that leaf: kept in the node from now on, so every later read gives the same
    object, with the gradient it would have now (the op's local derivative at the
    number, times the node's grad). A ``**`` exponent is part of the op, as in micrograd.
    """
    global _reshaped
    cdef int op = _opcode(v)
    cdef list grads = []
    if op == LEAF:
        return []
    _sync()  # the operands' grads are read, and the node's shape may change
    _reshaped += 1  # a number may become a leaf operand (and a graph's tape must see it)
    if op == DOT:
        if any(not isinstance(x, Value) for x in <tuple>v._b):
            grads = [(x, (<Value>x)._grad) for x in <tuple>v._b if isinstance(x, Value)]
            v._b = tuple(x if isinstance(x, Value) else Value(x) for x in <tuple>v._b)
            _mark_changed(v)  # its new leaves are newer than itself
            _give_constants_their_grads(v, grads)
        return [x for x in <tuple>v._b]
    if v._stamp & K and op != POW:
        grads = [(v._a, v._a._grad)]
        v._b = Value(v._b)
        v._stamp &= ~(<uint64_t>K)
        _mark_changed(v)  # its new leaf is newer than itself
        _give_constants_their_grads(v, grads)
    if v._stamp & K or v._b is None:
        return [v._a]
    return [v._a, v._b]


cdef int _give_constants_their_grads(Value v, list grads) except -1:
    """Run the op's local derivative once, then put back the grads of the nodes that were Values already."""
    try:
        _local_backward(v)
    finally:
        for node, grad in reversed(grads):
            (<Value>node)._grad = grad
    return 0
