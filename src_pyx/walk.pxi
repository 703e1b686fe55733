# -- the backward walk ----------------------------------------------------------------------
# A depth-first search on an explicit stack gives the order of micrograd's recursive
# build_topo, children taken in operand order. A node's entry is popped twice: first
# to mark it visited (by writing the walk's number into its stamp) and push its
# children, last operand first; then, tagged as finished, to append it to the order,
# after all of its children. A node pushed again before its first pop is skipped when
# that later entry comes up, just as the recursion skips a visited child. A node
# reached again while it is still on the path from the root (IN_PATH: visited, not
# yet finished) closes a cycle, which only children given by hand can make: an error,
# not a made-up order. Then one loop runs the chain rule from the root down.
#
# No Python code runs while the order is found: the nodes are held by borrowed
# pointers, which the root keeps alive. When a node runs a Python _backward, every
# node of the order is held for the chain-rule loop, since that code may drop some.

ctypedef struct _Walk:
    PyObject** topo         # the nodes in topological order
    Py_ssize_t n
    Py_ssize_t topo_cap
    size_t* stack           # node addresses; FINISHED tags the second entry of a node
    Py_ssize_t stack_cap
    bint runs_python        # a node of the order runs a Python _backward

cdef enum:
    FINISHED = 1            # nodes are aligned, so the lowest address bit is free
    SPARE_MAX = 1 << 16     # arrays of at most this many entries are kept for the next walk

cdef uint64_t _walks = 0           # walks started so far; stamps the nodes
cdef _Walk _spare                  # the arrays of the last walk, for the next
cdef bint _spare_busy = False      # a walk inside a walk (from a Python _backward) gets new ones


cdef inline bint _seen(Value v, uint64_t walk) noexcept:
    return (v._stamp >> WALK_SHIFT) == walk


cdef inline void _see(Value v, uint64_t walk) noexcept:
    v._stamp = (walk << WALK_SHIFT) | IN_PATH | (v._stamp & (IN_PATH - 1))


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


cdef void _free_walk(_Walk* w) noexcept:
    PyMem_Free(w.topo)
    PyMem_Free(w.stack)
    w.topo, w.stack, w.topo_cap, w.stack_cap, w.n = NULL, NULL, 0, 0, 0


cdef tuple _given_children(Value v):
    """The children a node was given by hand (its __dict__'s '_prev'), or None."""
    cdef PyObject* given
    cdef dict attrs = _attrs(v)
    if attrs is None:
        return None
    given = PyDict_GetItemWithError(attrs, '_prev')  # str keys: no Python code runs
    if given == NULL:
        return None
    if type(<object>given) is not tuple or not all(
            [PyObject_TypeCheck(<object>PyTuple_GET_ITEM(<object>given, i), Value)
             for i in range(len(<tuple>given))]):
        raise TypeError("a node's _prev must be set as an attribute (v._prev = {a, b}), "
                        "not written into its __dict__")
    return <tuple>given


cdef inline int _push(_Walk* w, Py_ssize_t* depth, object node) except -1:
    if depth[0] == w.stack_cap:
        _grow(<void**>&w.stack, &w.stack_cap, sizeof(size_t), depth[0] + 1)
    w.stack[depth[0]] = <size_t><PyObject*>node
    depth[0] += 1
    return 0


cdef int _push_children(Value v, _Walk* w, Py_ssize_t* depth) except -1:
    """Push v's children, last first, so that the first child comes off first."""
    cdef int op = _opcode(v)
    cdef tuple children = None
    cdef Py_ssize_t i
    if v._stamp & PY:
        w.runs_python = True
        children = _given_children(v)
    if children is None and op == DOT:
        children = <tuple>v._b
    if children is not None:
        for i in range(len(children) - 1, -1, -1):
            if PyObject_TypeCheck(<object>PyTuple_GET_ITEM(children, i), Value):
                _push(w, depth, <object>PyTuple_GET_ITEM(children, i))
        return 0
    if op == LEAF:
        return 0
    if not v._stamp & K and v._b is not None:
        _push(w, depth, v._b)
    _push(w, depth, v._a)
    return 0


cdef int _topological_order(Value root, _Walk* w, uint64_t walk) except -1:
    cdef Py_ssize_t depth = 0
    cdef size_t entry
    cdef PyObject* node
    w.n = 0
    w.runs_python = False
    _push(w, &depth, root)
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
            w.stack[depth] = entry | FINISHED  # its slot is still there: depth was just lowered
            depth += 1
            _push_children(<Value>node, w, &depth)
        elif (<Value>node)._stamp & IN_PATH:
            raise ValueError(f"the graph has a cycle: {(<Value>node)!r} ({(<Value>node)._op!r}) "
                             "depends on itself, so it has no order to backpropagate in")
    return 0


cdef int _chain_rule(Value v) except -1:
    """The chain rule at one node: its op's local derivative, or its Python _backward."""
    if v._stamp & PY:
        v._backward()
        return 0
    return _BACKWARD[_opcode(v)](v, v._grad)


cdef int _backward_walk(Value root) except -1:
    global _walks, _spare, _spare_busy
    cdef _Walk w
    cdef bint own_spare = not _spare_busy
    cdef bint holding = False
    cdef Py_ssize_t i
    if own_spare:
        w = _spare
        _spare_busy = True
    else:
        w = _Walk(NULL, 0, 0, NULL, 0, False)
    _walks += 1
    try:
        _topological_order(root, &w, _walks)
        if w.runs_python:  # Python code may drop nodes: hold every node of the order
            for i in range(w.n):
                incref(w.topo[i])
            holding = True
        # go one variable at a time and apply the chain rule to get its gradient
        root._grad = 1.0
        for i in range(w.n - 1, -1, -1):
            _chain_rule(<Value>w.topo[i])
    finally:
        if holding:
            for i in range(w.n):
                decref(w.topo[i])
        w.n = 0
        if own_spare and w.topo_cap <= SPARE_MAX and w.stack_cap <= SPARE_MAX:
            _spare = w
        else:  # a huge walk's arrays go back to the allocator
            _free_walk(&w)
            if own_spare:
                _spare = w
        if own_spare:
            _spare_busy = False
    return 0
