# -- a graph to run again -------------------------------------------------------------------

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
    cdef tuple _nodes           # the topological order, holding the nodes alive
    cdef PyObject** _order      # the same order, as plain pointers for the loops
    cdef Py_ssize_t _n
    cdef object __weakref__

    def __cinit__(self, root):
        global _walks
        cdef _Walk w = _Walk(NULL, 0, 0, NULL, 0, False)
        cdef Py_ssize_t i
        if not isinstance(root, Value):
            raise TypeError(f"Graph() argument must be a Value, not {type(root).__name__!r}")
        _walks += 1
        try:
            _topological_order(root, &w, _walks)
            self._nodes = tuple([<object>w.topo[i] for i in range(w.n)])
        finally:
            _free_walk(&w)
        for node in self._nodes:
            if (<Value>node)._stamp & PY:
                raise ValueError(
                    f"cannot replay a graph holding a node with a Python _backward ({node._op!r}): "
                    "its forward computation is not known; rebuild that graph each step instead")
        self._n = len(self._nodes)
        self._order = <PyObject**>PyMem_Malloc(max(self._n, 1) * sizeof(PyObject*))
        if self._order == NULL:
            raise MemoryError()
        for i in range(self._n):
            self._order[i] = PyTuple_GET_ITEM(self._nodes, i)
        self.root = root

    def __dealloc__(self):
        PyMem_Free(self._order)

    def __len__(self):
        return self._n

    def __reduce__(self):
        raise TypeError(_NOT_COPIED)

    cdef int _check_unchanged(self) except -1:
        cdef Py_ssize_t i
        for i in range(self._n):
            if (<Value>self._order[i])._stamp & PY:  # given a _backward (or made again) since
                raise ValueError(_CHANGED.format(op=(<Value>self._order[i])._op))
        return 0

    def forward(self):
        """Recompute every node from the leaves' current data; return the root's data."""
        cdef Py_ssize_t i
        self._check_unchanged()
        for i in range(self._n):
            _FORWARD[_opcode(<Value>self._order[i])](<Value>self._order[i])
        return self.root._data

    def backward(self):
        """Zero the grads between leaves and root, then backpropagate from the root."""
        cdef Py_ssize_t i
        cdef Value node
        self._check_unchanged()
        for i in range(self._n):
            node = <Value>self._order[i]
            if _opcode(node) != LEAF:
                node._grad = 0.0
        self.root._grad = 1.0
        for i in range(self._n - 1, -1, -1):
            _BACKWARD[_opcode(<Value>self._order[i])](<Value>self._order[i], (<Value>self._order[i])._grad)


cdef str _NOT_COPIED = ("a Graph cannot be copied or pickled: it holds its nodes' links, which "
                        "copies of Values do not keep; build Graph(root) again over the copy")
