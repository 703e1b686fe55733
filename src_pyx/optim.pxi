# -- the optimizers' steps ----------------------------------------------------------------
# micrograd_fast/optim.py's SGD and Adam run these when every parameter is a Value of this
# engine: the arithmetic of their Python loops, in the same order, as one C loop over the
# parameters. The optimizer's state is its array.array('d')s. Each returns False, having
# done nothing, when a parameter is not a Value of this engine (exactly: a subclass may
# have its own data or grad); the optimizer then runs its Python loop.

from cpython cimport array
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from libc.math cimport sqrt


cdef bint _all_values(list params) noexcept:
    cdef Py_ssize_t i
    for i in range(PyList_GET_SIZE(params)):
        if Py_TYPE(PyList_GET_ITEM(params, i)) != <_TypeSlots*>Value:
            return False
    return True


cdef inline Value _param(list params, Py_ssize_t i):
    return <Value>PyList_GET_ITEM(params, i)


cdef int _check_state(list params, array.array state) except -1:
    if len(state) != PyList_GET_SIZE(params):
        raise ValueError(f"the optimizer has {len(state)} state entries for "
                         f"{PyList_GET_SIZE(params)} parameters")
    return 0


def _zero_grads(list params):
    """``p.grad = 0.0`` for every parameter."""
    cdef Py_ssize_t i
    if not _all_values(params):
        return False
    for i in range(PyList_GET_SIZE(params)):
        _sync_node(_param(params, i))  # (a parameter is a leaf, as a rule: nothing to do)
        _param(params, i)._grad = 0.0
    return True


def _sgd_step(list params, array.array buffers, double lr, double momentum, double dampening,
              double weight_decay, bint nesterov, bint first):
    """SGD's step (optim.SGD.step); ``first``: the momentum buffers start with this step's d."""
    global _rewritten
    cdef Py_ssize_t i
    cdef double* b = buffers.data.as_doubles
    cdef double d
    cdef Value p
    if not _all_values(params):
        return False
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


def _adam_step(list params, array.array m, array.array v, double beta1, double beta2,
               double eps, double weight_decay, double step_size, double bias_correction2_sqrt):
    """Adam's step (optim.Adam.step), given the step's size and bias correction."""
    global _rewritten
    cdef Py_ssize_t i
    cdef double* ms = m.data.as_doubles
    cdef double* vs = v.data.as_doubles
    cdef double g, denom
    cdef Value p
    if not _all_values(params):
        return False
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
