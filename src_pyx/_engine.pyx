# cython: language_level=3, embedsignature=True
"""The compiled engine: micrograd's Value as a C struct, backward as a C loop.

The source is split by concern, in the order of the pure twin (micrograd_fast/pure.py):

- numbers.pxi  what counts as a real number; Python's float arithmetic and its errors
- node.pxi     the Value: its fields, its Python face (data, grad, label, _op, _prev,
               _backward, the operators), memory and the garbage collector
- ops.pxi      one block per row of micrograd_fast/ops.py: forward value, local derivative
               and domain errors side by side, and the dispatch tables they fill
- dot_kernels.h  the C loops of the dot's block on a Graph's tape (several dots at once)
- walk.pxi     backward(): the topological order and the chain rule
- graph.pxi    Graph: a built graph compiled into a tape, to be replayed
- optim.pxi    the optimizers' steps (micrograd_fast/optim.py) over compiled Values

The pure engine is the reference: every value, gradient, exception class and message
here matches it bit for bit (the tests compare the two on every operation).
"""

cimport cython
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_Check, PyFloat_CheckExact
from cpython.long cimport PyLong_AsDouble, PyLong_Check, PyLong_CheckExact
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.number cimport PyNumber_Power
from cpython.ref cimport Py_INCREF, PyObject
from cpython.sequence cimport PySequence_Fast_GET_ITEM
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.float cimport DBL_MIN
from libc.math cimport INFINITY, NAN, exp, fabs, floor, fmod, isfinite, isinf, isnan, log, pow, tanh
from libc.stdint cimport uint64_t
from libc.string cimport memset

from micrograd_fast.ops import OPS

cdef extern from "Python.h":
    # borrowed-pointer forms for the loops that must not count references
    void incref "Py_INCREF"(PyObject*)
    void decref "Py_DECREF"(PyObject*)
    PyObject* PyTuple_GET_ITEM(object, Py_ssize_t)
    PyObject* PyDict_GetItemWithError(object, object) except? NULL
    bint PyObject_TypeCheck(object, type)
    void PyObject_GC_UnTrack(object)

cdef extern from *:
    """
    /* Recorded by setup.py when the extension is built. */
    #ifndef MICROGRAD_FAST_CYTHON_VERSION
    #define MICROGRAD_FAST_CYTHON_VERSION "unknown"
    #endif
    """
    const char* MICROGRAD_FAST_CYTHON_VERSION

CYTHON_VERSION = MICROGRAD_FAST_CYTHON_VERSION.decode("ascii")

include "numbers.pxi"
include "node.pxi"
include "ops.pxi"
include "walk.pxi"
include "graph.pxi"
include "optim.pxi"
