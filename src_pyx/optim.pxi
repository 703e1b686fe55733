# -- the optimizers' steps ----------------------------------------------------------------
# micrograd_fast/optim.py's SGD and Adam run these when every parameter is a Value of this
# engine: the arithmetic of their Python loops, in the same order, as one C loop over the
# parameters. The optimizer's state is its array.array('d')s. Each returns False, having
# done nothing, when the parameters are not a list of Values of this engine (exactly: a
# subclass may have its own data or grad) or a state is not an array of doubles (a user
# may put a list there, or an array of floats); the optimizer then runs its Python loop,
# which stores into the state as Python does.

from cpython cimport array
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from libc.math cimport sqrt


cdef bint _all_values(object params) noexcept:
    cdef Py_ssize_t i
    if type(params) is not list:
        return False
    for i in range(PyList_GET_SIZE(params)):
        if Py_TYPE(PyList_GET_ITEM(params, i)) != <_TypeSlots*>Value:
            return False
    return True


cdef inline Value _param(list params, Py_ssize_t i):
    return <Value>PyList_GET_ITEM(params, i)


cdef inline bint _doubles(object state) noexcept:
    """An array.array('d') itself: its items are read and written in place, as doubles."""
    return type(state) is array.array and (<array.array>state).ob_descr.typecode == b'd'


cdef int _check_state(list params, array.array state) except -1:
    if len(state) != PyList_GET_SIZE(params):
        raise ValueError(f"the optimizer has {len(state)} state entries for "
                         f"{PyList_GET_SIZE(params)} parameters")
    return 0


def _zero_grads(object params):
    """``p.grad = 0.0`` for every parameter."""
    cdef Py_ssize_t i
    if not _all_values(params):
        return False
    for i in range(PyList_GET_SIZE(params)):
        _sync_node(_param(params, i))  # (a parameter is a leaf, as a rule: nothing to do)
        _param(params, i)._grad = 0.0
    return True


def _sgd_step(object params, object buffers, double lr, double momentum, double dampening,
              double weight_decay, bint nesterov, bint first):
    """SGD's step (optim.SGD.step); ``first``: the momentum buffers start with this step's d."""
    global _rewritten
    cdef Py_ssize_t i
    cdef double* b
    cdef double d
    cdef Value p
    if not (_all_values(params) and _doubles(buffers)):
        return False
    b = (<array.array>buffers).data.as_doubles
    _check_state(params, buffers)
    _rewritten += 1  # the parameters' data change (node.pxi)
    for i in range(PyList_GET_SIZE(params)):
        p = _param(params, i)
        _sync_node(p)
        d = p._grad
        if weight_decay != 0.0:
            d = d + weight_decay * p._data
        if momentum != 0.0:
            b[i] = d if first else b[i] * momentum + (1.0 - dampening) * d
            d = d + momentum * b[i] if nesterov else b[i]
        p._data = p._data - lr * d
    return True


def _adam_step(object params, object m, object v, double beta1, double beta2,
               double eps, double weight_decay, double step_size, double bias_correction2_sqrt):
    """Adam's step (optim.Adam.step), given the step's size and bias correction."""
    global _rewritten
    cdef Py_ssize_t i
    cdef double* ms
    cdef double* vs
    cdef double g, denom
    cdef Value p
    if not (_all_values(params) and _doubles(m) and _doubles(v)):
        return False
    ms = (<array.array>m).data.as_doubles
    vs = (<array.array>v).data.as_doubles
    _check_state(params, m)
    _check_state(params, v)
    _rewritten += 1  # the parameters' data change (node.pxi)
    for i in range(PyList_GET_SIZE(params)):
        p = _param(params, i)
        _sync_node(p)
        g = p._grad
        if weight_decay != 0.0:
            g = g + weight_decay * p._data
        ms[i] = ms[i] + (1.0 - beta1) * (g - ms[i])
        vs[i] = vs[i] * beta2 + (1.0 - beta2) * g * g
        denom = sqrt(vs[i]) / bias_correction2_sqrt + eps
        p._data = p._data - step_size * (ms[i] / denom)
    return True
