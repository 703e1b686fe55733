# -- a graph to run again -------------------------------------------------------------------
# Graph(loss) compiles the graph once into a tape: the nodes in the order of the backward
# walk, node i's value and gradient at index i of two arrays of doubles (the numbers kept
# in nodes get indices of their own after the nodes), and one _Step per computed node
# (ops.pxi). forward() and backward() are each a loop over those arrays that runs the
# tape functions of the ops' blocks, between a pass that reads the nodes in and one that
# writes them out:
#
#   forward()   reads every node's data (the leaves' are the inputs), computes the steps
#               in order, writes the root's data back;
#   backward()  reads every node's data, the leaves' grads (the inner nodes' start at 0
#               and the root's at 1), runs the steps' chain rule in reverse, writes the
#               leaves' and the root's grads back.
#
# The inner nodes' numbers are written into the nodes only when something else is about
# to read or write one ("written back when needed", below). So a user sees the same data
# and grads, bit for bit, as if the nodes were run one by one. The reading pass also
# checks that no node changed since the tape was made: a node that runs a Python
# _backward now raises; a node made a leaf again, or whose number operand _prev turned
# into a leaf, has the tape made again from the same order.
#
# Most of the time nothing but the leaves can have changed: node.pxi counts every change
# of a node's shape and every write into a node's data. When no shape changed since the
# tape last read its nodes, forward() reads the leaves' data only; when nothing at all was
# written since its own forward() (forward() then backward(), as a training step runs
# them), backward() reads the leaves' grads only.
#
# backward() runs the steps in the walk's order, reversed. forward() runs them in that
# order but that the dots of a layer are put one after the other, to be summed side by
# side (_grouped, below; the dot's block in ops.pxi): reversed, that order made the
# backward loop about 5% slower, so the tape keeps both. A relu right after its dot runs
# in the dot's step (_with_relus_in_dots).
#
# The tape holds plain pointers to its nodes, and to each node's operands as they were:
# the Graph keeps all of them alive in tuples, so an address can never be reused while it
# is compared. No Python code runs inside the loops.

from cpython.dict cimport PyDict_GetItemWithError
from cpython.long cimport PyLong_FromVoidPtr
from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBuffer_Release, PyObject_CheckBuffer,
                             PyObject_GetBuffer)
from libc.string cimport memcpy, strcmp

cdef str _CHANGED = ("a node of this graph ({op!r}) was given a Python _backward after Graph() was "
                     "built: its forward computation is not known; build the graph again")
cdef str _NOT_COPIED = ("a Graph cannot be copied or pickled: it holds its nodes' links, which "
                        "copies of Values do not keep; build Graph(root) again over the copy")

ctypedef struct _Link:          # a node of the tape, as it was when the tape was made
    PyObject* node
    uint64_t shape              # its opcode and K and PY bits

ctypedef struct _Watch:         # a dot that keeps a number among its operands
    PyObject* node
    PyObject* operands          # its tuple, which reading _prev replaces

ctypedef struct _Block:         # a group of dots whose biases and weights are leaves (ops.pxi)
    Py_ssize_t at               # where the copy starts in tape.blocks: 8 biases, then 8 weights a row
    Py_ssize_t n                # rows of weights
    Py_ssize_t bias[DOT_GROUP_MAX]
    Py_ssize_t w[DOT_GROUP_MAX]  # the first weight of each; a group of fewer repeats its last dot

cdef enum:
    SHAPE = OPCODE_MASK | K | PY


@cython.final
@cython.no_gc_clear  # its links point into ``held``
cdef class _Compiled:
    """A tape's arrays, made by _compile."""
    cdef _Link* links           # node i of the tape: its value and grad at index i
    cdef Py_ssize_t n_links
    cdef _Watch* watch
    cdef Py_ssize_t n_watch
    cdef _Step* steps           # one per computed node, in the order of the walk, but for
                                # a layer's dots put together (_grouped): forward()'s
    cdef _Step* back            # the same steps in the walk's order: backward()'s
    cdef Py_ssize_t n_steps
    cdef _Block* blocks         # copied into tape.blocks before each forward()
    cdef Py_ssize_t n_blocks
    cdef _Tape tape             # val and grad (one per link, then one per number), the dots' runs
    cdef Py_ssize_t root        # the root's index
    cdef Py_ssize_t* inputs     # the inputs' indices
    cdef Py_ssize_t* leaves     # the leaves' indices
    cdef Py_ssize_t n_leaves
    cdef Py_ssize_t* inner      # the other nodes' indices
    cdef Py_ssize_t n_inner
    cdef int unwritten          # DATA | GRADS: what the tape holds for its inner nodes that they lack
    cdef uint64_t shape_seen    # _reshaped when the links were last checked
    cdef uint64_t data_seen     # _rewritten when val last held every node's data
    cdef tuple held             # the objects the links point to

    def __dealloc__(self):
        if _pending == <PyObject*>self:  # its nodes outlive it: they get their numbers
            _write_back(self)
        PyMem_Free(self.links)
        PyMem_Free(self.watch)
        PyMem_Free(self.steps)
        PyMem_Free(self.back)
        PyMem_Free(self.tape.val)
        PyMem_Free(self.tape.grad)
        PyMem_Free(self.tape.run)
        PyMem_Free(self.blocks)
        PyMem_Free(self.tape.blocks)
        PyMem_Free(self.inputs)
        PyMem_Free(self.leaves)
        PyMem_Free(self.inner)


cdef void* _array(Py_ssize_t n, size_t item) except NULL:
    cdef void* p = PyMem_Malloc(max(n, 1) * item)
    if p == NULL:
        raise MemoryError()
    return p


cdef inline object _id(object x):
    """id(x), without calling the builtin through Python's call protocol."""
    return PyLong_FromVoidPtr(<void*>x)


cdef _Compiled _compile(tuple order, tuple inputs):
    """The tape of the nodes of ``order`` (a topological order), each run as it is now.

    A node's index is chosen so that a dot's weights, and its inputs, are consecutive
    when they can be (a Neuron's weights, a layer's outputs): its tape functions then
    read them as two arrays (the K flag of a dot's step) instead of through ``run``.
    """
    cdef _Compiled c = _Compiled()
    cdef dict at = {}           # id(node) -> its index
    cdef list nodes = []        # by index
    cdef list numbers = []      # the numbers kept in nodes; index -1 - j until placed
    cdef list steps = []        # (op, k, out, a, b)
    cdef list run = []
    cdef list watch = []
    cdef Value v
    cdef Py_ssize_t i, j
    for node in order:
        if (<Value>node)._stamp & PY:  # given a _backward (or made again) since the Graph was built
            raise ValueError(_CHANGED.format(op=node._op))

    def claim(x):
        at[_id(x)] = len(nodes)
        nodes.append(x)

    def place(x):
        if not isinstance(x, Value):
            numbers.append(_k(x))
            return -len(numbers)
        if _id(x) not in at:  # a number that _prev has shown as a leaf since the order was found
            if _opcode(<Value>x) != LEAF or (<Value>x)._stamp & PY:
                raise ValueError(_CHANGED.format(op=x._op))
            claim(x)
        return at[_id(x)]

    in_order = {_id(node) for node in order}
    for node in order:  # first the dots' runs, as runs where they can be
        if _opcode(<Value>node) == DOT:
            operands = <tuple>(<Value>node)._b
            for j in (1, 2):  # the weights, then the inputs
                if _claimable(operands, j, in_order, at):
                    for i in range(j, len(operands), 2):
                        claim(operands[i])
    for node in order:
        if _id(node) not in at:
            claim(node)
    reads = []                  # the indices each step reads
    for node in order:
        v = <Value>node
        op = _opcode(v)
        if op == LEAF:
            continue
        if op == DOT:
            operands = <tuple>v._b
            if not all(isinstance(x, Value) for x in operands):
                watch.append(v)
            if _consecutive(operands, 1, at) and _consecutive(operands, 2, at) and len(operands) > 1:
                n = len(operands) // 2
                steps.append((op, True, at[_id(v)], len(run), n))
                run.extend([place(operands[0]), place(operands[1]), place(operands[2])])
                reads.append((run[-3], run[-2], run[-1], n))  # see _reads_any
            else:
                steps.append((op, False, at[_id(v)], len(run), len(operands)))
                run.extend([place(x) for x in operands])
                reads.append(set(run[len(run) - len(operands):]))
        elif v._b is None:
            steps.append((op, False, at[_id(v)], place(v._a), 0))
            reads.append({steps[-1][3]})
        else:
            steps.append((op, bool(v._stamp & K), at[_id(v)], place(v._a), place(v._b)))
            reads.append({steps[-1][3], steps[-1][4]})
    steps, reads = _with_relus_in_dots(steps, reads)
    c.held = tuple(nodes) + tuple([(<Value>v)._b for v in watch])
    c.n_links = len(nodes)
    c.n_watch = len(watch)
    c.n_steps = len(steps)
    c.root = at[_id(order[len(order) - 1])]

    def slot(j):  # a number's index, after the nodes'
        return j if j >= 0 else c.n_links - 1 - j

    c.links = <_Link*>_array(c.n_links, sizeof(_Link))
    c.watch = <_Watch*>_array(c.n_watch, sizeof(_Watch))
    c.steps = <_Step*>_array(c.n_steps, sizeof(_Step))
    c.back = <_Step*>_array(c.n_steps, sizeof(_Step))
    c.tape.val = <double*>_array(c.n_links + len(numbers), sizeof(double))
    c.tape.grad = <double*>_array(c.n_links + len(numbers), sizeof(double))
    c.tape.run = <Py_ssize_t*>_array(len(run), sizeof(Py_ssize_t))
    c.inputs = <Py_ssize_t*>_array(len(inputs), sizeof(Py_ssize_t))
    for i in range(c.n_links):
        v = <Value>nodes[i]
        c.links[i].node = <PyObject*>v
        c.links[i].shape = v._stamp & SHAPE
        c.tape.val[i] = v._data
    for i in range(c.n_watch):
        c.watch[i].node = <PyObject*>watch[i]
        c.watch[i].operands = <PyObject*>(<Value>watch[i])._b
    for j in range(len(numbers)):
        c.tape.val[c.n_links + j] = numbers[j]
    for j in range(c.n_links, c.n_links + len(numbers)):
        c.tape.grad[j] = 0.0
    tape_run = [slot(j) for j in run]  # the dots' operands as the tape has them
    for j in range(len(run)):
        c.tape.run[j] = tape_run[j]
    # the operands' indices as the tape has them (a dot's a and b: where its run starts, its length)
    steps = [step if step[0] == DOT else (*step[:3], slot(step[3]), slot(step[4]), -1) for step in steps]
    for i, (op, k, group, out, a, b, act) in enumerate(_grouped(steps, reads, run)):
        _set_step(&c.steps[i], op, k, group, out, a, b, act)
    for i, (op, k, out, a, b, act) in enumerate(steps):  # in this order, the backward loop runs faster
        _set_step(&c.back[i], op, k, 1, out, a, b, act)
    for i, group in _grouped_back(steps, tape_run):
        c.back[i].group = group
    _make_blocks(c)
    for i in range(len(inputs)):
        c.inputs[i] = at[_id(inputs[i])]
    leaves = [i for i in range(c.n_links) if c.links[i].shape == LEAF]
    c.leaves = <Py_ssize_t*>_array(len(leaves), sizeof(Py_ssize_t))
    c.n_leaves = len(leaves)
    for i in range(c.n_leaves):
        c.leaves[i] = leaves[i]
    inner = [i for i in range(c.n_links) if c.links[i].shape != LEAF]
    c.inner = <Py_ssize_t*>_array(len(inner), sizeof(Py_ssize_t))
    c.n_inner = len(inner)
    for i in range(c.n_inner):
        c.inner[i] = inner[i]
    c.shape_seen, c.data_seen = _reshaped, _rewritten  # val holds every node's data
    return c


cdef bint _claimable(tuple operands, Py_ssize_t start, set in_order, dict at) except -1:
    """Whether operands[start], operands[start + 2], ... (a dot's weights or inputs) can be
    given consecutive indices: distinct Values of the order, none placed yet."""
    seen = set()
    for i in range(start, len(operands), 2):
        x = operands[i]
        key = _id(x)
        if not isinstance(x, Value) or key not in in_order or key in at or key in seen:
            return False
        seen.add(key)
    return True


cdef bint _consecutive(tuple operands, Py_ssize_t start, dict at) except -1:
    """Whether operands[start], operands[start + 2], ... are Values at consecutive indices."""
    cdef Py_ssize_t first = 0, n = 0, index
    cdef PyObject* found
    for i in range(start, len(operands), 2):
        x = operands[i]
        if not isinstance(x, Value):
            return False
        found = PyDict_GetItemWithError(at, _id(x))  # (borrowed; an int key: nothing can fail)
        if found == NULL:
            return False
        index = <object>found
        if n > 0 and index != first + n:
            return False
        if n == 0:
            first = index
        n += 1
    return True


cdef void _set_step(_Step* s, int op, bint k, int group, Py_ssize_t out, Py_ssize_t a,
                    Py_ssize_t b, Py_ssize_t act) noexcept:
    s.op, s.k, s.group, s.out, s.a, s.b, s.act, s.block = op, k, group, out, a, b, act, -1


cdef int _make_blocks(_Compiled c) except -1:
    """A block for the forward() groups of the same dots (a layer's, once per input point:
    a block copied once is read by each) whose biases and weights are leaves (or numbers):
    nothing but the reading pass writes them, so a copy made before the loop holds their
    values. A group met once keeps reading the weights in place (a copy would cost it as
    much as its sums, and memory as much as its weights)."""
    cdef _Step* s
    cdef _Block* b
    cdef Py_ssize_t i, j, m, at = 0, made = 0
    blocks = {}                 # (biases, weights, rows) -> (index, at), or None: not fixed
    keys = {}                   # the forward() groups' first steps: their key
    uses = {}                   # key -> how many groups

    def fixed(first, n):
        return all(x >= c.n_links or c.links[x].shape == LEAF for x in range(first, first + n))

    for i in range(c.n_steps):
        s = &c.steps[i]
        if s.group > 1:
            dots = [i + min(j, s.group - 1) for j in range(DOT_GROUP_MAX)]
            key = (tuple([c.tape.run[c.steps[m].a] for m in dots]),
                   tuple([c.tape.run[c.steps[m].a + 1] for m in dots]), s.b)
            keys[i] = key
            uses[key] = uses.get(key, 0) + 1
    for key, count in uses.items():
        biases, weights, n = key
        if count > 1 and all(fixed(x, 1) for x in biases) and all(fixed(x, n) for x in set(weights)):
            blocks[key] = (made, at)
            made += 1
            at += DOT_GROUP_MAX * (n + 1)
    for i, key in keys.items():
        if key in blocks:
            c.steps[i].block = blocks[key][1]
    c.blocks = <_Block*>_array(len(blocks), sizeof(_Block))
    c.n_blocks = len(blocks)
    c.tape.blocks = <double*>_array(at, sizeof(double))
    for (biases, weights, n), (i, at) in blocks.items():
        b = &c.blocks[i]
        b.at, b.n = at, n
        for j in range(DOT_GROUP_MAX):
            b.bias[j], b.w[j] = biases[j], weights[j]
    return 0


cdef void _fill_blocks(_Compiled c) noexcept:
    """Copy the groups' biases and weights into their blocks, side by side."""
    cdef _Block* b
    cdef double* val = c.tape.val
    cdef double* row
    cdef Py_ssize_t k, i, j
    for k in range(c.n_blocks):
        b = &c.blocks[k]
        row = c.tape.blocks + b.at
        for j in range(DOT_GROUP_MAX):
            row[j] = val[b.bias[j]]
        for i in range(b.n):
            row += DOT_GROUP_MAX
            for j in range(DOT_GROUP_MAX):
                row[j] = val[b.w[j] + i]


cdef tuple _with_relus_in_dots(list steps, list reads):
    """The steps (op, k, out, a, b, act) and what each reads, with each relu of the dot
    just before it run in that dot's step (its block in ops.pxi): a Neuron's. Anything
    else that reads the dot comes after the relu, in either direction of the walk; the
    order of every other step stays."""
    fused, fused_reads = [], []
    cdef Py_ssize_t i = 0, n = len(steps), act
    while i < n:
        op, k, out, a, b = steps[i]
        act = -1
        if op == DOT and i + 1 < n and steps[i + 1][0] == RELU and steps[i + 1][3] == out:
            act = steps[i + 1][2]
        fused.append((op, k, out, a, b, act))
        fused_reads.append(reads[i])  # the dot's (its relu reads nothing else)
        i += 1 if act < 0 else 2
    return fused, fused_reads


# the ops whose forward cannot raise (the others: a power, a log, an exp that overflows)
cdef frozenset _NEVER_RAISE = frozenset([ADD, MUL, RELU, TANH, SIGMOID, DOT])


cdef bint _reads_any(object reads, set indices):
    """Whether a step that reads ``reads`` reads one of ``indices``: ``reads`` is a set of
    indices, or, for a K dot, (bias, first weight, first input, n), its runs kept as
    runs (a set of them cost a layer of 10,000 inputs a second and hundreds of MB)."""
    cdef Py_ssize_t bias, w, x, n
    if type(reads) is tuple:
        bias, w, x, n = reads
        return any(i == bias or w <= i < w + n or x <= i < x + n for i in indices)
    return not (<set>reads).isdisjoint(indices)


cdef list _grouped(list steps, list reads, list run):
    """forward()'s order: the steps, with up to DOT_GROUP_MAX K dots over the same inputs
    put one after the other, their forward done by the first (ops.pxi); each step as
    (op, k, group, out, a, b, act).

    A dot moves up to the first of its group only past steps whose values it does not
    read: it computes the same number from the same numbers; and only past steps whose
    forward cannot raise: when one does, the steps before it have run, and none after it
    (_forward_stopped). It is looked for among the next 16 steps. (backward() keeps the
    walk's order: the gradients are summed as before.)
    """
    cdef Py_ssize_t i, j, n = len(steps)
    done = [False] * n
    grouped = []
    for i in range(n):
        if done[i]:
            continue
        op, k, out, a, b, act = steps[i]
        group = [i]
        if op == DOT and k:
            written = {out, act} - {-1}  # by the steps from this one on, grouped or passed
            for j in range(i + 1, min(n, i + 16)):
                if done[j]:  # moved up into an earlier group: computed before this one
                    continue
                op_j, k_j, out_j, a_j, b_j, act_j = steps[j]
                if (op_j == DOT and k_j and b_j == b and run[a_j + 2] == run[a + 2]
                        and not _reads_any(reads[j], written)):
                    group.append(j)
                    if len(group) == DOT_GROUP_MAX:
                        break
                elif op_j not in _NEVER_RAISE:
                    break
                written.update({out_j, act_j} - {-1})
        for j in group:
            done[j] = True
            op, k, out, a, b, act = steps[j]
            grouped.append((op, k, len(group) if j == i else 0, out, a, b, act))
    return grouped


cdef list _grouped_back(list steps, list run):
    """backward()'s groups: (i, K) for each step i that runs the backward of the K K dots
    i, i - 1, ..., i + 1 - K (ops.pxi), which read the same inputs and run in that order.

    Run together, each dot's relu and gradient are found first, then the products', then
    the biases' additions: the same additions into each index in the same order as one
    dot after another, when no dot reads (its gradient or its relu's) an index that
    another's products or bias add to, no bias is added where a product is, and the
    weights of each are apart from the others' and from the inputs. (``run`` holds the
    tape's indices. A dot that runs later is older and cannot read a newer one's; that
    is checked too, for any order a graph changed by hand may bring.) The runs are kept
    as (first, past the last): a layer may have thousands of inputs.
    """
    cdef Py_ssize_t i, j, n = len(steps)
    groups = []
    i = n - 1
    while i > 0:
        op, k, out, a, b, act = steps[i]
        if not (op == DOT and k):
            i -= 1
            continue
        x = run[a + 2]
        products = [(x, x + b)]  # the inputs' and weights' runs
        biases, reads = set(), set()
        j = i
        while j >= 0 and i - j < DOT_GROUP_MAX:
            op_j, k_j, out_j, a_j, b_j, act_j = steps[j]
            if not (op_j == DOT and k_j and b_j == b and run[a_j + 2] == x):
                break
            weights = (run[a_j + 1], run[a_j + 1] + b)
            bias = run[a_j]
            read = {out_j, act_j} - {-1}
            if (any(_overlap(weights, r) for r in products) or _within(weights, biases)
                    or any(_within(r, {bias}) for r in products) or _within(weights, {bias})
                    or any(_within(r, read) for r in products) or _within(weights, read)
                    or read & biases or bias in read or _within(weights, reads) or bias in reads):
                break
            products.append(weights)
            biases.add(bias)
            reads |= read
            j -= 1
        if i - j > 1:
            groups.append((i, i - j))
        i = j if j < i else i - 1
    return groups


cdef inline bint _overlap(tuple r, tuple q):
    """Whether the runs [r0, r1) and [q0, q1) share an index."""
    return r[0] < q[1] and q[0] < r[1] and r[0] < r[1] and q[0] < q[1]


cdef bint _within(tuple r, set indices):
    """Whether one of ``indices`` lies in the run [r0, r1)."""
    return any(r[0] <= i < r[1] for i in indices)


cdef bint _read(_Compiled c, bint grads) noexcept:
    """Read every node's data (and grads: a leaf's, 0 for the others) into the tape.

    False when a node has changed since the tape was made. A node changes its
    operands only with its stamp (made a leaf again; a number shown as a leaf), but
    for a dot whose numbers _prev shows as leaves: its tuple is watched.
    """
    cdef _Link* links = c.links
    cdef PyObject* v  # not a Value variable: no reference counting in the loop
    cdef double* val = c.tape.val
    cdef double* grad = c.tape.grad
    cdef Py_ssize_t i, n = c.n_links
    for i in range(c.n_watch):
        if <PyObject*>(<Value>c.watch[i].node)._b != c.watch[i].operands:
            return False
    if grads:
        for i in range(n):
            v = links[i].node
            if ((<Value>v)._stamp & SHAPE) != links[i].shape:
                return False
            val[i] = (<Value>v)._data
            grad[i] = (<Value>v)._grad if links[i].shape == LEAF else 0.0
    else:
        for i in range(n):
            v = links[i].node
            if ((<Value>v)._stamp & SHAPE) != links[i].shape:
                return False
            val[i] = (<Value>v)._data
    c.shape_seen, c.data_seen = _reshaped, _rewritten
    return True


cdef void _read_leaves(_Compiled c, bint grads) noexcept:
    """Read the leaves' data (and grads: a leaf's, 0 for the others) into the tape, when
    nothing else can have changed (see above)."""
    cdef PyObject* v
    cdef Py_ssize_t i, j
    if grads:
        memset(c.tape.grad, 0, c.n_links * sizeof(double))
    for j in range(c.n_leaves):
        i = c.leaves[j]
        v = c.links[i].node
        c.tape.val[i] = (<Value>v)._data
        if grads:
            c.tape.grad[i] = (<Value>v)._grad


cdef int _run_forward(_Compiled c, Py_ssize_t* failed) except -1:
    """The forward loop; on an error, the index of the step that raised in ``failed``.
    A group of dots runs in its first step: the loop goes on past the group."""
    cdef Py_ssize_t i = 0
    _fill_blocks(c)
    try:
        while i < c.n_steps:
            _TAPE_FORWARD[c.steps[i].op](&c.tape, &c.steps[i])
            i += c.steps[i].group if c.steps[i].group > 1 else 1
    except BaseException:
        failed[0] = i
        raise
    return 0


cdef int _run_backward(_Compiled c) except -1:
    """The backward loop, the walk's order reversed; a group runs in its first step."""
    cdef Py_ssize_t i = c.n_steps - 1
    while i >= 0:
        _TAPE_BACKWARD[c.back[i].op](&c.tape, &c.back[i])
        i -= c.back[i].group
    return 0


# -- written back when needed ---------------------------------------------------------------
# After forward() the nodes would get their data, after backward() their grads. The
# root's and the leaves' are written at once: a loss is printed, an optimizer reads the
# parameters' grads. The inner nodes' stay in the tape, whose _Compiled becomes
# _pending (node.pxi), until _sync() writes them in: the next time anything else reads
# or writes a node's numbers (the getters and setters, an op, backward(), another
# Graph, an optimizer, copy and repr), or changes a node's shape, or when the tape is
# freed. Written at once, they took a quarter of a training step: a store into each of
# thousands of nodes spread over memory, which a training loop never reads.

cdef enum:
    DATA = 1
    GRADS = 2


cdef void _write_back(_Compiled c) noexcept:
    """Write what the tape holds for its inner nodes into them; nothing is pending after."""
    global _pending
    cdef _Link* links = c.links
    cdef Py_ssize_t i, j
    if c.unwritten & DATA:
        for j in range(c.n_inner):
            i = c.inner[j]
            (<Value>links[i].node)._data = c.tape.val[i]
    if c.unwritten & GRADS:
        for j in range(c.n_inner):
            i = c.inner[j]
            (<Value>links[i].node)._grad = c.tape.grad[i]
    c.unwritten = 0
    _pending = NULL


cdef void _leave_pending(_Compiled c, int what) noexcept:
    """c's tape holds ``what`` for its inner nodes; another tape's numbers go into theirs first."""
    global _pending
    if _pending != <PyObject*>c:
        _sync()
    c.unwritten |= what
    _pending = <PyObject*>c


cdef void _write_data(_Compiled c) noexcept:
    """After forward(): the root's data now, the other inner nodes' when needed."""
    global _rewritten
    _leave_pending(c, DATA)
    (<Value>c.links[c.root].node)._data = c.tape.val[c.root]
    _rewritten += 1  # for any other Graph sharing these nodes
    c.data_seen = _rewritten


cdef void _forward_stopped(_Compiled c, Py_ssize_t failed) noexcept:
    """forward() raised at step ``failed``: as after the pure engine's loop, the nodes of
    the steps before it have their new data, the others keep theirs, the root included.
    (No dot runs ahead of a step that may raise: _grouped.) Written at once: it is rare."""
    global _rewritten
    cdef _Step* s
    cdef Py_ssize_t j
    _sync()  # a pending tape's first: this one's, from its last run, holds the data of the nodes not reached
    for j in range(failed):
        s = &c.steps[j]
        (<Value>c.links[s.out].node)._data = c.tape.val[s.out]
        if s.act >= 0:
            (<Value>c.links[s.act].node)._data = c.tape.val[s.act]
    _rewritten += 1  # (and the tape no longer holds every node's data: backward() reads them)


cdef void _write_grads(_Compiled c) noexcept:
    """After backward(): the leaves' and the root's grads now, the other inner nodes' when needed."""
    cdef _Link* links = c.links
    cdef double* grad = c.tape.grad
    cdef Py_ssize_t i, j
    _leave_pending(c, GRADS)
    for j in range(c.n_leaves):
        i = c.leaves[j]
        (<Value>links[i].node)._grad = grad[i]
    (<Value>links[c.root].node)._grad = grad[c.root]


@cython.no_gc_clear  # its arrays point into its tuples: a cycle through it runs through a __dict__
cdef class Graph:
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

    cdef readonly Value root
    cdef readonly tuple inputs
    cdef tuple _nodes           # the topological order, holding the nodes alive
    cdef _Compiled _c
    cdef double* _values        # the values forward() was given, converted
    cdef object __weakref__

    def __cinit__(self, root, inputs=()):
        cdef _Walk w = _Walk(NULL, 0, 0, NULL, 0, NULL, 0, False)
        cdef bint paused
        if not isinstance(root, Value):
            raise TypeError(f"Graph() argument must be a Value, not {type(root).__name__!r}")
        inputs = _snapshot(inputs)
        for leaf in inputs:
            if not isinstance(leaf, Value):
                _refuse_other_engine(leaf)
                raise TypeError(f"Graph inputs must be Values, not {type(leaf).__name__!r}")
        # the collector waits until the tape is made (walk.pxi): the nodes are read one
        # by one, as they are when the order is found, and none may change meanwhile
        paused = _pause_collector()
        try:
            self._make(root, inputs, &w)
        finally:
            _free_walk(&w)
            _resume_collector(paused)
        self.root = root
        self.inputs = inputs
        self._values = <double*>_array(len(inputs), sizeof(double))

    cdef int _make(self, Value root, tuple inputs, _Walk* w) except -1:
        """The order and the tape of the graph below root."""
        cdef Py_ssize_t i
        _topological_order(root, w)
        self._nodes = tuple([<object>w.topo[i] for i in range(w.n)])
        for node in self._nodes:
            if (<Value>node)._stamp & PY:
                raise ValueError(
                    f"cannot replay a graph holding a node with a Python _backward ({node._op!r}): "
                    "its forward computation is not known; rebuild that graph each step instead")
        index = {id(node) for node in self._nodes}
        for i, leaf in enumerate(inputs):
            if id(leaf) not in index:
                raise ValueError(f"Graph input {i} ({leaf!r}) is not in the graph: "
                                 "the root does not depend on it")
            if _opcode(<Value>leaf) != LEAF:
                raise ValueError(f"Graph input {i} ({leaf!r}) is computed by the graph "
                                 f"(a {leaf._op!r} node): inputs must be leaves")
        _sync()  # the nodes' numbers are read
        self._c = _compile(self._nodes, inputs)
        return 0

    def __dealloc__(self):
        PyMem_Free(self._values)

    cdef int _check_made(self) except -1:
        """A Graph whose Graph() raised has no tape: user code run while it was being made
        (iterating the inputs) can still reach it, through gc.get_objects()."""
        if self._c is None or self._values == NULL:
            raise AttributeError("this Graph was never made: the Graph() call that made it raised")
        return 0

    def __len__(self):
        self._check_made()
        return len(self._nodes)

    def __reduce__(self):
        _check_self(self, Graph, "__reduce__")
        raise TypeError(_NOT_COPIED)

    cdef int _read(self, bint grads) except -1:
        """Read the nodes into the tape; make the tape again first if the graph has changed."""
        cdef bint paused
        while not _read(self._c, grads):
            paused = _pause_collector()  # (as in __cinit__)
            try:
                self._c = _compile(self._nodes, self.inputs)  # raises for a Python _backward
            finally:
                _resume_collector(paused)
        return 0

    cdef int _take(self, object values) except -1:
        """Convert ``values`` into self._values: one number per input."""
        cdef Py_ssize_t n = len(self.inputs), i
        cdef Py_buffer view
        cdef tuple numbers
        if _is_buffer_of_doubles(values, &view):
            try:
                _check_count(view.len // sizeof(double), n)
                memcpy(self._values, view.buf, n * sizeof(double))
            finally:
                PyBuffer_Release(&view)
            return 0
        numbers = _numbers_in(values)
        _check_count(len(numbers), n)
        for i in range(n):
            if not PyFloat_CheckExact(numbers[i]):
                return _convert(numbers, self._values, n)
            self._values[i] = PyFloat_AS_DOUBLE(numbers[i])
        return 0

    def forward(self, values=None):
        """Recompute every node from the leaves' current data; return the root's data.

        With ``values``, the inputs' data are set to them first, in the order of ``inputs``.
        """
        cdef Py_ssize_t i
        _check_self(self, Graph, "forward")
        self._check_made()
        if values is not None:
            self._take(values)  # before anything changes: a number's __float__ may run code
        if _reshaped == self._c.shape_seen:
            _read_leaves(self._c, False)  # (a leaf's numbers are always in the node)
        else:
            _sync()  # every node's data is read: another tape's, or this one's, go in first
            self._read(False)
        if values is not None:
            for i in range(len(self.inputs)):
                (<Value>self._c.links[self._c.inputs[i]].node)._data = self._values[i]
                self._c.tape.val[self._c.inputs[i]] = self._values[i]
        cdef Py_ssize_t failed = 0
        try:
            _run_forward(self._c, &failed)
        except BaseException:
            _forward_stopped(self._c, failed)
            raise
        _write_data(self._c)
        return self.root._data

    def backward(self):
        """Zero the grads between leaves and root, then backpropagate from the root."""
        _check_self(self, Graph, "backward")
        self._check_made()
        if _reshaped == self._c.shape_seen and _rewritten == self._c.data_seen:
            _read_leaves(self._c, True)
        else:
            _sync()
            self._read(True)
        self._c.tape.grad[self._c.root] = 1.0
        try:
            _run_backward(self._c)
        finally:
            _write_grads(self._c)


# -- a forward()'s values -----------------------------------------------------------------

cdef bint _is_buffer_of_doubles(object values, Py_buffer* view) except -1:
    """Whether ``values`` lends its memory as contiguous doubles (then ``view`` holds it)."""
    if not PyObject_CheckBuffer(values):
        return False
    try:
        PyObject_GetBuffer(values, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS)
    except (BufferError, ValueError, TypeError):  # not contiguous: read it as a sequence
        return False
    if view.itemsize == sizeof(double) and view.format != NULL and _is_double(view.format):
        return True
    PyBuffer_Release(view)
    return False


cdef bint _is_double(const char* format) noexcept:  # native doubles
    return strcmp(format, b"d") == 0 or strcmp(format, b"@d") == 0 or strcmp(format, b"=d") == 0


cdef tuple _numbers_in(object values):
    if type(values) is tuple:
        return <tuple>values
    try:
        iterator = iter(values)
    except TypeError:
        raise TypeError("Graph.forward(values) takes a sequence of numbers or a buffer of doubles, "
                        f"not {type(values).__name__!r}") from None
    return tuple(iterator)


cdef int _check_count(Py_ssize_t given, Py_ssize_t n) except -1:
    if given != n:
        if n == 0:
            raise ValueError("Graph.forward(values): this Graph has no inputs to set; "
                             "build it as Graph(root, inputs=leaves)")
        raise ValueError(f"Graph.forward(values) needs {n} values, one per input, not {given}")
    return 0


cdef int _convert(tuple numbers, double* values, Py_ssize_t n) except -1:
    """The numbers into ``values``, converted first into memory of their own: a number's
    __float__ may replay the same Graph with other values, which go into ``values`` too."""
    cdef double* converted = <double*>_array(n, sizeof(double))
    cdef Py_ssize_t i
    try:
        for i in range(n):
            converted[i] = _input_value(numbers[i], i)
        memcpy(values, converted, n * sizeof(double))
    finally:
        PyMem_Free(converted)
    return 0


cdef double _input_value(object x, Py_ssize_t i) except? -1.0:
    if PyFloat_CheckExact(x):
        return PyFloat_AS_DOUBLE(x)
    return _to_float(x, f"Graph.forward(values): values[{i}]")
