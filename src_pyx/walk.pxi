# -- the backward walk ----------------------------------------------------------------------
# Every node gets a serial number when it is made (in its stamp), and a built-in node
# is made after its operands. So running the chain rule newest first, from the root
# down, reaches each node after every node that passes it a gradient: no search for
# an order is needed. backward() sweeps a window of slots indexed by age (the root's
# serial minus the node's): the root sits in slot 0; each node taken from the window
# runs its chain rule, then puts its children in their slots, further down. A node's
# slot comes up after all of its parents have run: its gradient is whole. The sweep
# reads each node once and writes nothing into it but its children's gradients; the
# window is left empty for the next walk. Plain leaves have no chain rule: they are
# not taken.
#
# That holds while every child is older than its parent and no node runs Python code,
# which only a node changed by hand breaks (made again with Value.__init__, given
# children or a _backward, shown with a leaf for a number operand: BY_HAND in
# node.pxi). Such nodes are counted while they live, and the sweep runs only when none
# does. Otherwise, and for what the sweep leaves when it stops early (a node with a
# chain rule too old for the window: a graph built over a long time), the walk reaches
# every node below the root (marking each SEEN) and sorts them by serial; when a child
# is not older than its parent it finds the order instead as micrograd's recursive
# build_topo does, by a depth-first search (on an explicit stack), children in operand
# order; a node reached again while it is still on the path from the root (IN_PATH)
# closes a cycle: an error, not a made-up order. Every path runs the chain rule in the
# same order where more than one can run, and the pure engine takes the same orders,
# so the grads sum alike.
#
# No Python code runs while the order is found: the nodes are held by borrowed
# pointers, which the root keeps alive, and every mark is cleared before the order
# is used (or an error raised). The garbage collector is paused meanwhile: a
# collection may start at any allocation and run user code (a __del__, a weakref
# callback, a gc.callbacks hook) that frees or changes nodes. When a node runs a
# Python _backward, every node of the order is held for the chain-rule loop, since
# that code may drop some.

import gc as _gc
from cpython.dict cimport PyDict_Next
from cpython.unicode cimport PyUnicode_Compare, PyUnicode_CheckExact
from libc.stdlib cimport qsort


cdef bint _pause_collector() except -1:
    """Keep the garbage collector from starting a collection (above); True when it was on."""
    if _gc.isenabled():
        _gc.disable()
        return True
    return False


cdef int _resume_collector(bint paused) except -1:
    if paused:
        _gc.enable()
    return 0

ctypedef struct _Walk:
    PyObject** topo         # the nodes of the full order, each after its children
    Py_ssize_t n
    Py_ssize_t topo_cap
    size_t* stack           # the depth-first search's stack, or the slots of the sort by serial
    Py_ssize_t stack_cap
    PyObject** window       # the sweep's slots, by age: all NULL between walks
    Py_ssize_t window_cap
    bint runs_python        # a node of the order runs a Python _backward

cdef enum:
    FINISHED = 1            # nodes are aligned, so the lowest address bit is free
    SPARE_MAX = 1 << 18     # arrays of at most this many entries are kept for the next walk

cdef _Walk _spare                  # the arrays of the last walk, for the next
cdef bint _spare_busy = False      # a walk inside a walk (from a Python _backward) gets new ones


cdef inline uint64_t* _stamp_of(PyObject* v) noexcept nogil:
    """A node's stamp, through a plain pointer: no reference counting in the loops."""
    return &(<Value>v)._stamp


cdef inline uint64_t _serial(PyObject* v) noexcept nogil:
    return _stamp_of(v)[0] >> SERIAL_SHIFT


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
    PyMem_Free(w.window)
    w.topo, w.stack, w.topo_cap, w.stack_cap, w.n = NULL, NULL, 0, 0, 0
    w.window, w.window_cap = NULL, 0


cdef void _unmark(PyObject** nodes, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(n):
        _stamp_of(nodes[i])[0] &= ~(<uint64_t>(SEEN | IN_PATH))


cdef PyObject* _own_item(dict attrs, str name) noexcept:
    """attrs[name] (borrowed), or NULL, found by looking at the keys, not by hashing name:
    a key of the user's whose hash is name's would have its __eq__ called, Python code
    running in the middle of the walk (which may free the nodes it holds)."""
    cdef Py_ssize_t position = 0
    cdef PyObject* key
    cdef PyObject* value
    while PyDict_Next(attrs, &position, &key, &value):
        if key == <PyObject*>name or (PyUnicode_CheckExact(<object>key)
                                      and PyUnicode_Compare(<object>key, name) == 0):
            return value
    return NULL


cdef tuple _given_children(Value v):
    """The children a node was given by hand (its __dict__'s '_prev'), or None."""
    cdef PyObject* given
    cdef dict attrs = _attrs(v)
    cdef Py_ssize_t i
    if attrs is None:
        return None
    given = _own_item(attrs, '_prev')
    if given == NULL or <object>given is None:
        return None
    if type(<object>given) is tuple:
        for i in range(PyTuple_GET_SIZE(given)):
            if not PyObject_TypeCheck(<object>PyTuple_GET_ITEM(<object>given, i), Value):
                break
        else:
            return <tuple>given
    raise TypeError("a node's _prev must be set as an attribute (v._prev = {a, b}), "
                    "not written into its __dict__")


cdef tuple _children(Value v, _Walk* w):
    """v's children in operand order, when they are a tuple (given by hand, or dot's); else None."""
    if v._stamp & PY:
        w.runs_python = True
        children = _given_children(v)
        if children is not None:
            return children
    if _opcode(v) == DOT:
        return <tuple>v._b
    return None


# -- reaching the nodes, in serial order ------------------------------------------------------

cdef inline bint _take(_Walk* w, PyObject* child, uint64_t parent) noexcept:
    """Take in one child of the node whose stamp is ``parent`` (w.topo has room for it);
    False when the child is not older than its parent (the serial order fails)."""
    cdef uint64_t* stamp = _stamp_of(child)
    if stamp[0] >> SERIAL_SHIFT >= parent >> SERIAL_SHIFT:
        return False
    if not stamp[0] & SEEN:
        stamp[0] |= SEEN
        w.topo[w.n] = child
        w.n += 1
    return True


cdef bint _reach(Value root, _Walk* w) except -1:
    """Every node below root, into w.topo (root first, then by distance), each marked SEEN.

    False as soon as a child is not older than its parent: w.topo then holds the
    nodes reached so far, still marked.
    """
    cdef Py_ssize_t i = 0, j
    cdef PyObject* v
    cdef uint64_t stamp
    cdef tuple children
    w.n = 0
    w.runs_python = False
    if w.topo_cap < 3:
        _grow(<void**>&w.topo, &w.topo_cap, sizeof(PyObject*), 3)
    root._stamp |= SEEN
    w.topo[0] = <PyObject*>root
    w.n = 1
    while i < w.n:  # w.topo is also the queue of nodes whose children are still to be taken
        v = w.topo[i]
        i += 1
        stamp = _stamp_of(v)[0]
        if stamp & PY or <int>(stamp & OPCODE_MASK) == DOT:
            children = _children(<Value>v, w)
            if children is not None:
                for j in range(len(children)):
                    if PyObject_TypeCheck(<object>PyTuple_GET_ITEM(children, j), Value):
                        if w.n == w.topo_cap:
                            _grow(<void**>&w.topo, &w.topo_cap, sizeof(PyObject*), w.n + 1)
                        if not _take(w, PyTuple_GET_ITEM(children, j), stamp):
                            return False
                continue
        if stamp & OPCODE_MASK == LEAF:
            continue
        if w.topo_cap - w.n < 2:  # room for both operands
            _grow(<void**>&w.topo, &w.topo_cap, sizeof(PyObject*), w.n + 2)
        if not _take(w, <PyObject*>(<Value>v)._a, stamp):
            return False
        if not stamp & K and (<Value>v)._b is not None:
            if not _take(w, <PyObject*>(<Value>v)._b, stamp):
                return False
    return True


cdef int _older(const void* a, const void* b) noexcept nogil:
    cdef uint64_t x = _serial((<PyObject**>a)[0]), y = _serial((<PyObject**>b)[0])
    return (x > y) - (x < y)


cdef int _sort_by_serial(_Walk* w) except -1:
    """Put w.topo in serial order, oldest first, and clear the nodes' marks.

    A graph is mostly made in one run of serials: each node within 2n of the newest
    goes straight to its own slot in a window of 2n slots, read back in order. The
    others (old leaves, such as a model's parameters) are sorted by comparison, and
    come first.
    """
    cdef Py_ssize_t n = w.n, width = 2 * w.n + 64, i, old = 0
    cdef uint64_t newest = _serial(w.topo[0]), age  # the root: every child is older
    cdef uint64_t* stamp
    cdef PyObject** slots
    try:
        if w.stack_cap < width:
            _grow(<void**>&w.stack, &w.stack_cap, sizeof(size_t), width)
    except MemoryError:
        _unmark(w.topo, n)
        raise
    slots = <PyObject**>w.stack
    memset(slots, 0, width * sizeof(PyObject*))
    for i in range(n):
        stamp = _stamp_of(w.topo[i])
        stamp[0] &= ~(<uint64_t>SEEN)
        age = newest - (stamp[0] >> SERIAL_SHIFT)
        if age < <uint64_t>width and slots[age] == NULL:
            slots[age] = w.topo[i]
        else:  # old (each node has a serial of its own: no two share a slot)
            w.topo[old] = w.topo[i]
            old += 1
    qsort(w.topo, old, sizeof(PyObject*), _older)
    for i in range(width - 1, -1, -1):
        if slots[i] != NULL:
            w.topo[old] = slots[i]
            old += 1
    return 0


# -- the sweep by age ---------------------------------------------------------------------------

cdef enum:
    # The window reaches SPARE_MAX slots below the root, or WINDOW_PER_NODE slots per
    # node taken so far when that is further; the sweep gives up after passing
    # WINDOW_EMPTY empty slots plus WINDOW_PER_NODE per node taken (a small graph
    # spread over a long time): the other walk costs less then.
    WINDOW_PER_NODE = 4
    WINDOW_EMPTY = 4096


cdef int _widen(_Walk* w, Py_ssize_t needed) except -1:
    """Room in the window for slot ``needed``; new slots start empty."""
    cdef Py_ssize_t old = w.window_cap
    _grow(<void**>&w.window, &w.window_cap, sizeof(PyObject*), needed + 1)
    memset(w.window + old, 0, (w.window_cap - old) * sizeof(PyObject*))
    return 0


cdef inline int _place(_Walk* w, PyObject* child, uint64_t parent, uint64_t newest,
                       Py_ssize_t taken, Py_ssize_t* last) except -1:
    """Put one child of the node whose stamp is ``parent`` in its slot: 1 when done or
    nothing to do (a plain leaf), 0 when the child is too old for the window."""
    cdef uint64_t stamp = _stamp_of(child)[0]
    cdef uint64_t age
    if stamp & (OPCODE_MASK | PY) == LEAF:
        return 1  # a plain leaf: its gradient is all it gets (it has no slot: its age does not matter)
    if stamp >> SERIAL_SHIFT >= parent >> SERIAL_SHIFT or stamp & PY:
        raise SystemError("micrograd_fast: backward() met a node changed by hand that is "
                          "not marked BY_HAND (an engine bug)")
    age = newest - (stamp >> SERIAL_SHIFT)
    if age >= <uint64_t>SPARE_MAX and age >= <uint64_t>(WINDOW_PER_NODE * taken):
        return 0  # too old for the window
    if <Py_ssize_t>age >= w.window_cap:
        _widen(w, age)
    w.window[age] = child  # the same child again lands on itself
    if <Py_ssize_t>age > last[0]:
        last[0] = age
    return 1


cdef inline int _place_operand(_Walk* w, PyObject* child, uint64_t parent, uint64_t newest,
                               Py_ssize_t taken, Py_ssize_t* last) except -1:
    """_place for a dot's operand, which may be a number (nothing to place)."""
    if not PyObject_TypeCheck(<object>child, Value):
        return 1
    return _place(w, child, parent, newest, taken, last)


cdef int _sweep_dot(Value v, _Walk* w, uint64_t stamp, uint64_t newest, Py_ssize_t taken,
                    Py_ssize_t* last) except -1:
    """A dot's chain rule (_dot_backward's loop), each operand put in its slot as it
    gets its share, in one pass over them: 1 when all were placed, 0 when one was too
    old for the window (every operand still gets its share)."""
    cdef tuple ops = <tuple>v._b
    cdef double g = v._grad
    cdef Py_ssize_t i
    cdef int placed = 1
    for i in range(len(ops) - 2, 0, -2):
        _product_backward(PyTuple_GET_ITEM(ops, i), PyTuple_GET_ITEM(ops, i + 1), g)
        if placed:
            placed = (_place_operand(w, PyTuple_GET_ITEM(ops, i), stamp, newest, taken, last)
                      and _place_operand(w, PyTuple_GET_ITEM(ops, i + 1), stamp, newest, taken, last))
    _bias_backward(PyTuple_GET_ITEM(ops, 0), g)
    if placed:
        placed = _place_operand(w, PyTuple_GET_ITEM(ops, 0), stamp, newest, taken, last)
    return placed


cdef bint _sweep(Value root, _Walk* w, uint64_t* below) except -1:
    """Run the chain rule at every node below root that has one, newest first.

    Only while no BY_HAND node lives: every child is then older than its parent,
    and no node runs Python code. False when the sweep stops early, at a node too old
    for the window or after too many empty slots: the nodes of serial ``below`` and
    newer have run then, the older ones are still to run. Either way the window is
    left empty.
    """
    cdef uint64_t newest = root._stamp >> SERIAL_SHIFT, stamp
    cdef Py_ssize_t age = 0, last = 0, empty = 0, taken = 0
    cdef PyObject* v
    cdef int placed
    if root._stamp & (OPCODE_MASK | PY) == LEAF:
        return True  # a plain leaf: nothing below it
    if w.window_cap == 0:
        _widen(w, 1024)
    w.window[0] = <PyObject*>root
    try:
        while age <= last:
            v = w.window[age]
            if v == NULL:
                empty += 1
                if empty > WINDOW_EMPTY + WINDOW_PER_NODE * taken:
                    below[0] = newest - age + 1  # (slot age is empty: nothing of that serial runs)
                    return False
                age += 1
                continue
            stamp = _stamp_of(v)[0]  # (never a plain leaf's: _place keeps them out)
            w.window[age] = NULL
            age += 1
            taken += 1
            # the node's chain rule, then its children go to their slots, further down
            if <int>(stamp & OPCODE_MASK) == DOT:
                placed = _sweep_dot(<Value>v, w, stamp, newest, taken, &last)  # both at once
            else:
                _BACKWARD[stamp & OPCODE_MASK](<Value>v, (<Value>v)._grad)
                placed = _place(w, <PyObject*>(<Value>v)._a, stamp, newest, taken, &last)
                if placed and not stamp & K and (<Value>v)._b is not None:
                    placed = _place(w, <PyObject*>(<Value>v)._b, stamp, newest, taken, &last)
            if not placed:
                below[0] = stamp >> SERIAL_SHIFT
                return False
    finally:
        if age <= last:  # stopped early: empty the slots still filled
            memset(w.window + age, 0, (last + 1 - age) * sizeof(PyObject*))
    return True


# -- the depth-first order, for children given by hand ---------------------------------------
# A node's entry is popped twice: first to mark it (SEEN, and IN_PATH while the search
# is inside its subgraph) and push its children, last operand first; then, tagged as
# FINISHED, to append it to the order, after all of its children. A node pushed again
# before its first pop is skipped when that later entry comes up, just as the
# recursion skips a visited child.

cdef inline int _push(_Walk* w, Py_ssize_t* depth, object node) except -1:
    if depth[0] == w.stack_cap:
        _grow(<void**>&w.stack, &w.stack_cap, sizeof(size_t), depth[0] + 1)
    w.stack[depth[0]] = <size_t><PyObject*>node
    depth[0] += 1
    return 0


cdef int _push_children(Value v, _Walk* w, Py_ssize_t* depth) except -1:
    """Push v's children, last first, so that the first child comes off first."""
    cdef tuple children = _children(v, w)
    cdef Py_ssize_t i
    if children is not None:
        for i in range(len(children) - 1, -1, -1):
            if PyObject_TypeCheck(<object>PyTuple_GET_ITEM(children, i), Value):
                _push(w, depth, <object>PyTuple_GET_ITEM(children, i))
        return 0
    if _opcode(v) == LEAF:
        return 0
    if not v._stamp & K and v._b is not None:
        _push(w, depth, v._b)
    _push(w, depth, v._a)
    return 0


cdef int _depth_first(Value root, _Walk* w, Py_ssize_t* depth) except -1:
    cdef size_t entry
    cdef PyObject* node
    w.n = 0
    w.runs_python = False
    _push(w, depth, root)
    while depth[0]:
        entry = w.stack[depth[0] - 1]
        node = <PyObject*>(entry & ~(<size_t>FINISHED))  # a plain pointer: no reference counting
        if entry & FINISHED:
            if w.n == w.topo_cap:
                _grow(<void**>&w.topo, &w.topo_cap, sizeof(PyObject*), w.n + 1)
            depth[0] -= 1
            (<Value>node)._stamp &= ~(<uint64_t>IN_PATH)
            w.topo[w.n] = node
            w.n += 1
        elif not (<Value>node)._stamp & SEEN:
            (<Value>node)._stamp |= SEEN | IN_PATH
            w.stack[depth[0] - 1] = entry | FINISHED
            _push_children(<Value>node, w, depth)
        elif (<Value>node)._stamp & IN_PATH:
            return 1  # a cycle through node, the entry on top of the stack
        else:
            depth[0] -= 1
    return 0


cdef int _depth_first_order(Value root, _Walk* w) except -1:
    """micrograd's order: each node after its children, found by a depth-first search."""
    cdef Py_ssize_t depth = 0, i
    cdef int cycle = 0
    cdef object node
    try:
        cycle = _depth_first(root, w, &depth)
    finally:  # clear the marks: the order's nodes, and those on the path from the root
        _unmark(w.topo, w.n)
        for i in range(depth):
            if w.stack[i] & FINISHED:
                (<Value><PyObject*>(w.stack[i] & ~(<size_t>FINISHED)))._stamp &= ~(<uint64_t>(SEEN | IN_PATH))
    if cycle:
        node = <object><PyObject*>(w.stack[depth - 1] & ~(<size_t>FINISHED))
        raise ValueError(f"the graph has a cycle: {node!r} ({node._op!r}) depends on itself, "
                         "so it has no order to backpropagate in")
    return 0




cdef int _topological_order(Value root, _Walk* w) except -1:
    """Fill w.topo with every node below root, each after its children: 1 when they
    are in serial order, 0 when in micrograd's."""
    cdef bint by_serial
    cdef bint paused = _pause_collector()
    try:
        try:
            by_serial = _reach(root, w)
        except BaseException:
            _unmark(w.topo, w.n)
            raise
        if by_serial:
            _sort_by_serial(w)
            return 1
        _unmark(w.topo, w.n)
        _depth_first_order(root, w)
        return 0
    finally:
        _resume_collector(paused)


cdef void _reverse(PyObject** nodes, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(n // 2):
        nodes[i], nodes[n - 1 - i] = nodes[n - 1 - i], nodes[i]


# -- the chain rule ----------------------------------------------------------------------------

cdef inline int _chain_rule(PyObject* v) except -1:
    """The chain rule at one node: its op's local derivative, or its Python _backward."""
    cdef uint64_t stamp = _stamp_of(v)[0]
    if stamp & PY:
        (<object>v)._backward()
        _sync()  # the Python code may have run a Graph
        return 0
    return _BACKWARD[stamp & OPCODE_MASK](<Value>v, (<Value>v)._grad)


cdef int _backward_walk(Value root) except -1:
    global _spare, _spare_busy
    cdef _Walk w
    cdef bint own_spare = not _spare_busy
    cdef bint holding = False
    cdef Py_ssize_t i = 0, j
    cdef uint64_t below = 0  # the nodes of this serial and newer have run: none yet
    if own_spare:
        w = _spare
        _spare_busy = True
    else:
        w = _Walk(NULL, 0, 0, NULL, 0, NULL, 0, False)
    _sync()
    try:
        if mgf_changed_alive() == 0:
            root._grad = 1.0
            if _sweep(root, &w, &below):
                return 0
        # the full order: the nodes the sweep did not run, or (a node marked
        # BY_HAND lives) all of them, in micrograd's order when the serial one fails
        if not _topological_order(root, &w) and below:
            raise SystemError("micrograd_fast: backward() found no serial order after the "
                              "sweep had begun, with no node marked BY_HAND (an engine bug)")
        _reverse(w.topo, w.n)  # newest first
        if below:
            while i < w.n and _serial(w.topo[i]) >= below:
                i += 1
        if w.runs_python:  # Python code may drop nodes: hold every node still to run
            for j in range(i, w.n):
                incref(w.topo[j])
            holding = True
        # go one variable at a time and apply the chain rule to get its gradient
        _sync()  # (reading a node's _prev may have run Python code)
        root._grad = 1.0
        for j in range(i, w.n):
            _chain_rule(w.topo[j])
    finally:
        if holding:
            for j in range(i, w.n):
                decref(w.topo[j])
        w.n = 0
        if own_spare and w.topo_cap <= SPARE_MAX and w.stack_cap <= SPARE_MAX and w.window_cap <= SPARE_MAX:
            _spare = w
        else:  # a huge walk's arrays go back to the allocator
            _free_walk(&w)
            if own_spare:
                _spare = w
        if own_spare:
            _spare_busy = False
    return 0


def _hand_changed_nodes():
    """How many nodes changed by hand (BY_HAND) are alive: backward() sweeps only at 0.
    For the tests; the pure engine has its own."""
    return mgf_changed_alive()
