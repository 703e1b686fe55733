"""Differential fuzz target: random op sequences on the compiled and the pure engine.

Each input is decoded into a short program over a pool of nodes (every operator
with Value / number / bad operands, their reflected forms, unary minus, relu,
tanh, exp, log, sigmoid, Value.dot, backward once or twice, zeroing and setting
grads and data, Graph(root) built and replayed after leaf data changed, a node's
own ``_backward()``, user-built nodes with a Python ``_backward`` (Karpathy's
extension pattern, including one that raises and one that runs a nested
backward), labels and other attributes, reference cycles through them, copy,
deepcopy and pickle, ``__init__`` called again on a built node, dropped references
and garbage collection). The program
runs step by step on ``micrograd_fast._engine`` and on ``micrograd_fast.pure``
in lockstep; after each step the target checks that

- either both engines raised, the same exception class with the same message
  (the compiled class's full name read as ``Value``, as tests/test_errors.py
  does), or neither did;
- every node in the pool has bit-identical ``data`` and ``grad`` on both (any
  NaN equals any NaN; the sign of zero counts), and returned numbers, ``_op``,
  ``label``, ``repr`` and ``_prev`` agree.

A difference raises AssertionError with the program decoded so far, as Python,
which atheris reports as a crash (the input is saved as crash-<sha1>).

Usage (from the checkout, with its .venv; atheris is on PyPI: pip install atheris)::

    .venv/bin/python tests/sanitize/fuzz_engines.py -runs=200000          # the normal build
    .venv/bin/python tests/sanitize/fuzz_engines.py -max_total_time=600 corpus/
    tests/sanitize/run.sh fuzz -max_total_time=600                          # ASan+UBSan build
    .venv/bin/python tests/sanitize/fuzz_engines.py --show crash-1234...    # print a program
    .venv/bin/python tests/sanitize/fuzz_engines.py --random 100000         # no atheris needed
    tests/sanitize/run.sh fuzz --random 100000 1 corpus/                    # ASan, corpus mutated

Crash files (and --random's crash-random-*) are written to the current directory: run it
from a scratch directory, or give libFuzzer -artifact_prefix=DIR/.

``--show FILE`` prints the decoded program of an input (a reproducer to paste);
``--random N [SEED [CORPUS]]`` feeds N pseudo-random inputs without atheris (no
coverage guidance), half of them mutated from CORPUS's files when it is given: the way to
fuzz the ASan build, under which libFuzzer gets no coverage (see README.md). Any other
arguments go to libFuzzer (-runs, -max_total_time, -max_len, -seed, corpus directories,
crash files to replay). The pure engine is
instrumented for coverage; the compiled one is C and is not.

MGF_FUZZ_SKIP: comma-separated names of known, reported differences to stop
checking so that a long run can look for others (see KNOWN below).
"""

import copy
import gc
import math
import os
import pickle
import struct
import sys
from decimal import Decimal
from fractions import Fraction

try:
    import atheris
except ImportError:  # --random and --show work without it
    atheris = None

if atheris is not None and "--show" not in sys.argv and "--random" not in sys.argv:
    with atheris.instrument_imports(include=["micrograd_fast"]):
        import micrograd_fast.pure as P
else:
    import micrograd_fast.pure as P
import micrograd_fast._engine as C

import numpy as np

# Known differences between the engines (reported, not fixed); MGF_FUZZ_SKIP names them.
# The fuzzer's first runs found ten more (a Graph over a leaf given a _backward, a Graph
# replayed after a node changed, labels that are not strings, __init__ called again on a node
# with attributes, the order of checks in Value.dot and number / Value, two messages, and an
# int subclass whose __float__ the compiled walk called mid-walk: a use after free); all are
# fixed, and the fuzzer checks them like everything else.
KNOWN = {
    # _prev of a built node with a number operand after its _backward was replaced: compiled
    # keeps only the Value operands, pure still shows the number as a leaf.
    "prev_after_custom",
    # "messages": compare exception classes only, not messages.
}
SKIP = {s for s in os.environ.get("MGF_FUZZ_SKIP", "").split(",") if s}

MAX_POOL = 40
MAX_STEPS = 48


class _BadFloat:
    """Has __float__, but it returns a str: both engines must raise TypeError."""

    def __float__(self):
        return "1.0"

    def __repr__(self):
        return "_BadFloat()"


class _IntWithFloat(int):
    """An int subclass whose __float__ says something else: both engines convert a number
    operand once, with float(), when they build the node (the compiled walk once called it
    mid-walk, see KNOWN's comment)."""

    def __float__(self):
        return int(self) + 0.5

    def __repr__(self):
        return f"_IntWithFloat({int(self)})"


FLOATS = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 1 / 3, 0.1, 1e-300, -1e-300,
          5e-324, 2.2250738585072014e-308, 1e300, -1e300, 1.7976931348623157e308, math.inf,
          -math.inf, math.nan, 709.0, 710.0, -745.0, -746.0, 1e-8, 37.5, 1e16, -1e16,
          4.5, -0.75, 100.0, 1e-20]
INTS = [0, 1, -1, 2, 3, -3, 4, -2, 10**400, -10**400, 2**53 + 1, True, False, 1023, 1024, -1075,
        10**15, 7]
ODD = [np.float64(1.5), np.float32(0.1), np.int64(-2), np.float64(-0.0), Fraction(1, 3),
       Decimal("0.1"), np.bool_(True), np.float64("nan"), _IntWithFloat(3)]
BAD = ["a", None, [1.0], 1j, _BadFloat()]
NUMBERS = FLOATS + INTS + ODD
CONSTANTS = NUMBERS + BAD
LABELS = ["", "x", "n", 0, None, [1], np.array([1.0, 2.0])]


class Reader:
    """The fuzz input as a stream of small integers and doubles; zeros when it runs out."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def left(self):
        return len(self.data) - self.pos

    def byte(self):
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def pick(self, n):
        return self.byte() % n if n else 0

    def double(self):
        raw = self.data[self.pos:self.pos + 8].ljust(8, b"\0")
        self.pos += 8
        return struct.unpack("<d", raw)[0]

    def constant(self, numbers_only=False):
        table = NUMBERS if numbers_only else CONSTANTS
        i = self.byte()
        if i >= 250:  # any double at all
            return self.double()
        return table[i % len(table)]


class Mismatch(AssertionError):
    pass


def _bits(x):
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if isinstance(x, float):
        return struct.pack("<d", x)
    return x


def _same_number(a, b):
    return type(a) is type(b) and _bits(a) == _bits(b)


def _norm(msg):
    return msg.replace("micrograd_fast._engine.Value", "Value").replace("micrograd_fast.pure.Value", "Value")


def _show(x):
    if isinstance(x, float):
        return repr(x) if math.isfinite(x) else f"float({str(x)!r})"
    if isinstance(x, (np.generic, np.ndarray, Fraction, Decimal)):
        return f"{type(x).__module__}.{type(x).__name__}({x!r})" if not isinstance(x, np.ndarray) else "np.array([1.0, 2.0])"
    if isinstance(x, int) and abs(x) > 10**20:
        return ("-" if x < 0 else "") + "10**400"
    return repr(x)


class Pair:
    """One node on both engines, with its creation number (for nested backward order)."""

    __slots__ = ("c", "p", "serial")

    def __init__(self, c, p, serial):
        self.c, self.p, self.serial = c, p, serial


class Program:
    def __init__(self, data):
        self.r = Reader(data)
        self.pool = []
        self.graphs = []
        self.serial = 0
        self.log = []

    # -- helpers --------------------------------------------------------------------
    def say(self, line):
        self.log.append(line)

    def fail(self, what):
        raise Mismatch(f"{what}\n--- program (E is the engine module) ---\n" + "\n".join(self.log))

    def name(self, i):
        return f"n{self.pool[i].serial}"

    def node(self):
        return self.r.pick(len(self.pool))

    def add(self, c, p):
        if not (isinstance(c, C.Value) and isinstance(p, P.Value)):
            self.fail(f"results of different kinds: {c!r} / {p!r}")
        self.serial += 1
        pair = Pair(c, p, self.serial)
        if len(self.pool) >= MAX_POOL:
            self.pool[self.r.pick(MAX_POOL)] = pair  # the old node may die here
        else:
            self.pool.append(pair)
        return f"n{self.serial}"

    def run(self, text, fc, fp, result="none"):
        """Run fc() on the compiled engine and fp() on the pure one; compare the outcome.

        result: 'none' (ignore), 'node' (add to the pool), 'number', 'string'.
        """
        outcome = []
        for fn in (fc, fp):
            try:
                outcome.append(("ok", fn()))
            except Mismatch:
                raise
            except Exception as e:  # noqa: BLE001 - any exception must be the same on both
                outcome.append(("raise", e))
        (kc, vc), (kp, vp) = outcome
        if kc != kp:
            self.say(text)
            self.fail(f"only one engine raised: compiled {vc!r}, pure {vp!r}")
        if kc == "raise":
            self.say(f"{text}  # raises {type(vp).__name__}: {vp}")
            if type(vc) is not type(vp):
                self.fail(f"exception classes differ: compiled {type(vc).__name__}({vc}), "
                          f"pure {type(vp).__name__}({vp})")
            if "messages" not in SKIP and _norm(str(vc)) != _norm(str(vp)):
                self.fail(f"messages differ: compiled {vc!s}, pure {vp!s}")
            return None
        if result == "node":
            out = self.add(vc, vp)
            self.say(f"{out} = {text}")
            return out
        self.say(text)
        if result == "number" and not _same_number(vc, vp):
            self.fail(f"results differ: compiled {vc!r}, pure {vp!r}")
        if result == "string" and vc != vp:
            self.fail(f"results differ: compiled {vc!r}, pure {vp!r}")
        return vc

    def check_pool(self):
        for pair in self.pool:
            for attr in ("data", "grad"):
                c, p = getattr(pair.c, attr), getattr(pair.p, attr)
                if not _same_number(c, p):
                    self.fail(f"n{pair.serial}.{attr}: compiled {c!r}, pure {p!r}")

    # -- the steps --------------------------------------------------------------------
    def step(self):
        r = self.r
        op = r.pick(25)
        if op == 0 or not self.pool:  # a leaf
            k = r.constant()
            self.run(f"E.Value({_show(k)})", lambda: C.Value(k), lambda: P.Value(k), "node")
        elif op <= 3:  # Value (op) Value
            i, j, b = self.node(), self.node(), r.pick(5)
            sym = "+-*/"[b] if b < 4 else "**"
            a, c = self.pool[i], self.pool[j]
            f = _BINARY[sym]
            self.run(f"{self.name(i)} {sym} {self.name(j)}", lambda: f(a.c, c.c), lambda: f(a.p, c.p), "node")
        elif op <= 5:  # Value (op) number
            i, b, k = self.node(), r.pick(5), r.constant()
            if r.pick(4) == 0:
                k = r.pick(9) - 4  # small int exponents / operands
            sym = "+-*/"[b] if b < 4 else "**"
            a, f = self.pool[i], _BINARY[sym]
            self.run(f"{self.name(i)} {sym} {_show(k)}", lambda: f(a.c, k), lambda: f(a.p, k), "node")
        elif op == 6:  # number (op) Value: the reflected forms
            i, b, k = self.node(), r.pick(5), r.constant()
            sym = "+-*/"[b] if b < 4 else "**"
            a, f = self.pool[i], _BINARY[sym]
            self.run(f"{_show(k)} {sym} {self.name(i)}", lambda: f(k, a.c), lambda: f(k, a.p), "node")
        elif op <= 8:  # unary
            i, u = self.node(), r.pick(6)
            name = ["neg", "relu", "tanh", "exp", "log", "sigmoid"][u]
            a = self.pool[i]
            if u == 0:
                self.run(f"-{self.name(i)}", lambda: -a.c, lambda: -a.p, "node")
            else:
                self.run(f"{self.name(i)}.{name}()", lambda: getattr(a.c, name)(),
                         lambda: getattr(a.p, name)(), "node")
        elif op == 9:  # Value.dot(ws, xs, bias)
            n = r.pick(5)
            m = n if r.pick(8) else r.pick(5)
            ops = [self.operand() for _ in range(n + m + 1)]
            ws, xs, bias = ops[:n], ops[n:n + m], ops[-1]
            text = (f"E.Value.dot([{', '.join(o[2] for o in ws)}], [{', '.join(o[2] for o in xs)}], "
                    f"{bias[2]})")
            self.run(text, lambda: C.Value.dot([o[0] for o in ws], [o[0] for o in xs], bias[0]),
                     lambda: P.Value.dot([o[1] for o in ws], [o[1] for o in xs], bias[1]), "node")
        elif op <= 11:  # backward, once or twice
            i, twice = self.node(), r.pick(3) == 0
            a = self.pool[i]
            for _ in range(2 if twice else 1):
                self.run(f"{self.name(i)}.backward()", lambda: a.c.backward(), lambda: a.p.backward())
        elif op == 12:  # zero every grad, or set one grad
            if r.pick(2):
                self.say("for v in nodes: v.grad = 0")
                for pair in self.pool:
                    pair.c.grad = 0
                    pair.p.grad = 0
            else:
                i, k = self.node(), r.constant()
                a = self.pool[i]
                self.run(f"{self.name(i)}.grad = {_show(k)}", lambda: setattr(a.c, "grad", k),
                         lambda: setattr(a.p, "grad", k))
        elif op == 13:  # set data
            i, k = self.node(), r.constant()
            a = self.pool[i]
            self.run(f"{self.name(i)}.data = {_show(k)}", lambda: setattr(a.c, "data", k),
                     lambda: setattr(a.p, "data", k))
        elif op == 14:  # Graph(root): run by execute(), which keeps both graphs
            pass
        elif op == 15:  # replay a graph
            if not self.graphs:
                return
            g = self.graphs[r.pick(len(self.graphs))]
            gi = self.graphs.index(g)
            if r.pick(2):
                self.run(f"g{gi}.forward()", lambda: g[0].forward(), lambda: g[1].forward(), "number")
            else:
                self.run(f"g{gi}.backward()", lambda: g[0].backward(), lambda: g[1].backward())
            self.run(f"len(g{gi})", lambda: len(g[0]), lambda: len(g[1]), "number")
        elif op == 16:  # a node's own local backward
            i = self.node()
            a = self.pool[i]
            self.run(f"{self.name(i)}._backward()", lambda: a.c._backward(), lambda: a.p._backward())
        elif op == 17:  # a user-built node, or a replaced _backward
            self.custom()
        elif op == 18:  # labels and other attributes, maybe making a cycle
            i, what = self.node(), r.pick(4)
            a = self.pool[i]
            if what == 0:
                lab = LABELS[r.pick(len(LABELS))]
                self.run(f"{self.name(i)}.label = {_show(lab)}", lambda: setattr(a.c, "label", lab),
                         lambda: setattr(a.p, "label", lab))
            elif what == 1:  # a cycle through the label or an attribute
                j = self.node()
                b = self.pool[j]
                attr = ["label", "m", "v"][r.pick(3)]
                self.run(f"{self.name(i)}.{attr} = [{self.name(j)}]", lambda: setattr(a.c, attr, [b.c]),
                         lambda: setattr(a.p, attr, [b.p]))
            elif what == 2:
                k = r.constant()
                self.run(f"{self.name(i)}.m = {_show(k)}", lambda: setattr(a.c, "m", k),
                         lambda: setattr(a.p, "m", k))
            else:
                self.run(f"del {self.name(i)}.m", lambda: delattr(a.c, "m"), lambda: delattr(a.p, "m"))
        elif op == 19:  # read-only views
            i, what = self.node(), r.pick(5)
            a = self.pool[i]
            n = self.name(i)
            if what == 0:
                self.run(f"{n}._op", lambda: a.c._op, lambda: a.p._op, "string")
            elif what == 1:
                self.run(f"repr({n})", lambda: _norm(repr(a.c)), lambda: _norm(repr(a.p)), "string")
            elif what == 2:
                self.run(f"{n}.label", lambda: _label(a.c), lambda: _label(a.p), "string")
            elif what == 3:
                if "prev_after_custom" in SKIP and _is_replaced(a.p):
                    return
                self.run(f"sorted(v.data for v in {n}._prev)", lambda: _prev(a.c), lambda: _prev(a.p), "string")
            else:
                self.run(f"{n}.m", lambda: repr(getattr(a.c, "m")), lambda: repr(getattr(a.p, "m")), "string")
        elif op == 20:  # copy, deepcopy, pickle
            i, how = self.node(), r.pick(3)
            a = self.pool[i]
            fn = [copy.copy, copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))][how]
            text = ["copy.copy", "copy.deepcopy", "pickle.loads(pickle.dumps"][how]
            close = ")" if how == 2 else ""
            out = self.run(f"{text}({self.name(i)}){close}", lambda: fn(a.c), lambda: fn(a.p), "node")
            if out is not None:
                new = self.pool[-1] if self.pool[-1].serial == self.serial else next(
                    p for p in self.pool if p.serial == self.serial)
                self.run(f"{out}.label", lambda: _label(new.c), lambda: _label(new.p), "string")
                self.run(f"{out}.m", lambda: repr(getattr(new.c, "m")), lambda: repr(getattr(new.p, "m")),
                         "string")
        elif op == 21:  # drop a node (its graph may live on through others), maybe collect
            i = self.node()
            self.say(f"del {self.name(i)}")
            del self.pool[i]
            if r.pick(4) == 0:
                self.say("gc.collect()")
                gc.collect()
        elif op == 22:  # comparisons and other unsupported operators
            i, j = self.node(), self.node()
            a, b = self.pool[i], self.pool[j]
            self.run(f"{self.name(i)} < {self.name(j)}", lambda: a.c < b.c, lambda: a.p < b.p)
            k = r.constant()
            self.run(f"pow({self.name(i)}, {_show(k)}, 3)", lambda: pow(a.c, k, 3), lambda: pow(a.p, k, 3))
        elif op == 24:  # __init__ called again on a node: it becomes a leaf or a user-built node
            i, k = self.node(), r.constant(numbers_only=True)
            kids = [self.node() for _ in range(r.pick(3))]  # may be itself or above it: a cycle
            a, pairs = self.pool[i], [self.pool[j] for j in kids]
            names = ", ".join(self.name(j) for j in kids)
            self.run(f"{self.name(i)}.__init__({_show(k)}, ({names}{',' if len(kids) == 1 else ''}))",
                     lambda: a.c.__init__(k, tuple(p.c for p in pairs)),
                     lambda: a.p.__init__(k, tuple(p.p for p in pairs)))
        else:  # a chain of the same op, to make deeper graphs
            i, n = self.node(), 2 + r.pick(30)
            a = self.pool[i]
            mul = r.pick(2)
            k = r.constant(numbers_only=True)

            def chain(v):
                for _ in range(n):
                    v = (v * k if mul else v + k).tanh()
                return v
            self.run(f"chain({self.name(i)}, {n}, {'*' if mul else '+'}{_show(k)})",
                     lambda: chain(a.c), lambda: chain(a.p), "node")

    def operand(self):
        """A dot operand: a node of the pool or a number (or a bad one); (compiled, pure, text)."""
        if self.pool and self.r.pick(3):
            i = self.node()
            return self.pool[i].c, self.pool[i].p, self.name(i)
        k = self.r.constant()
        return k, k, _show(k)

    def custom(self):
        r = self.r
        kind = r.pick(4)
        # 0: child.grad += out.grad * 2 for each child; 1: raises; 2: a nested backward of an
        # older node; 3: does nothing
        if r.pick(2) or not self.pool:  # a user-built node Value(data, children, op)
            kids = [self.node() for _ in range(r.pick(4))] if self.pool else []
            kid_pairs = [self.pool[i] for i in kids]
            data = r.constant(numbers_only=True)
            older = self.pool[self.node()] if self.pool else None
            fc = lambda: _user_node(C, data, [k.c for k in kid_pairs], kind, older and older.c)
            fp = lambda: _user_node(P, data, [k.p for k in kid_pairs], kind, older and older.p)
            names = ", ".join(self.name(i) for i in kids)
            self.run(f"user_node(E, {_show(data)}, [{names}], kind={kind}"
                     f"{', older=n%d' % older.serial if older else ''})", fc, fp, "node")
        else:  # Karpathy's pattern on an existing node: replace its _backward (never nested:
            i = self.node()  # the node may be below the one whose backward it would run)
            kind = kind % 2 if kind != 3 else 3
            a = self.pool[i]
            self.run(f"replace_backward({self.name(i)}, kind={kind})",
                     lambda: _replace_backward(a.c, kind), lambda: _replace_backward(a.p, kind))


def _label(v):
    lab = v.label
    return repr(lab)


def _prev(v):
    return repr(sorted((_bits(x.data) for x in v._prev), key=repr))


def _is_replaced(v):
    return bool(v._constants) and v._forward is None  # a built node with a number operand


def _user_node(E, data, children, kind, older):
    out = E.Value(data, tuple(children), "user")
    if kind == 0:
        def _backward():
            for c in children:
                c.grad += out.grad * 2.0
    elif kind == 1:
        def _backward():
            raise RuntimeError("user backward failed")
    elif kind == 2 and older is not None:
        running = []

        def _backward():  # not again while it runs: __init__ may have made a cycle back to out
            if not running:
                running.append(1)
                try:
                    older.backward()
                finally:
                    running.pop()
    else:
        def _backward():
            pass
    out._backward = _backward
    return out


def _replace_backward(v, kind):
    if kind == 0:
        def _backward():
            v.grad += 1.0
    elif kind == 1:
        def _backward():
            raise RuntimeError("replaced backward failed")
    else:
        def _backward():
            pass
    v._backward = _backward


_BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a ** b,
}


# Graph(root) on both engines, the two graphs kept as a pair for later replay steps.
def _make_graphs(prog, i):
    a = prog.pool[i]
    made = {}

    def fc():
        made["c"] = C.Graph(a.c)

    def fp():
        made["p"] = P.Graph(a.p)
    prog.run(f"g{len(prog.graphs)} = E.Graph({prog.name(i)})", fc, fp)
    if "c" in made and "p" in made:
        prog.graphs = (prog.graphs + [(made["c"], made["p"])])[-4:]
        prog.run(f"len(g{len(prog.graphs) - 1})", lambda: len(made["c"]), lambda: len(made["p"]), "number")


def execute(data):
    prog = Program(data)
    steps = 0
    while prog.r.left() > 0 and steps < MAX_STEPS:
        steps += 1
        pos = prog.r.pos
        op = prog.r.pick(25)
        prog.r.pos = pos
        if op == 14 and prog.pool:  # Graph(root): handled here to keep both graphs
            prog.r.byte()
            i = prog.node()
            _make_graphs(prog, i)
        else:
            prog.step()
        prog.check_pool()
    return prog


def test_one_input(data):
    execute(data)


def _show_program(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        prog = execute(data)
    except Mismatch as e:
        print(e)
        return 1
    print("\n".join(prog.log))
    print("# no difference")
    return 0


def _random_inputs(n, seed, corpus=None):
    """n inputs without atheris: random bytes, or (given a corpus directory) half of them
    corpus entries with bytes flipped, inserted, erased or spliced from another entry."""
    import random
    import time
    rng = random.Random(seed)
    seeds = []
    if corpus:
        for name in sorted(os.listdir(corpus)):
            with open(os.path.join(corpus, name), "rb") as f:
                seeds.append(f.read())
    start = time.monotonic()
    for count in range(1, n + 1):
        if seeds and rng.random() < 0.5:
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 6)):
                what = rng.randrange(4)
                pos = rng.randrange(len(data) + 1)
                if what == 0 and data:
                    data[min(pos, len(data) - 1)] = rng.getrandbits(8)
                elif what == 1:
                    data[pos:pos] = bytes([rng.getrandbits(8)])
                elif what == 2:
                    del data[pos:pos + rng.randrange(1, 8)]
                else:
                    other = rng.choice(seeds)
                    data[pos:] = other[rng.randrange(len(other) + 1):]
            data = bytes(data)
        else:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 200)))
        try:
            execute(data)
        except Mismatch:
            name = f"crash-random-{seed}-{count}"
            with open(name, "wb") as f:
                f.write(data)
            print(f"mismatch on input {count}, saved as {name}", file=sys.stderr)
            raise
        if count % 10000 == 0:
            print(f"{count} inputs, {time.monotonic() - start:.0f} s", file=sys.stderr)
    print(f"{n} inputs, no difference ({time.monotonic() - start:.0f} s)", file=sys.stderr)


def main():
    if "--show" in sys.argv:
        return _show_program(sys.argv[sys.argv.index("--show") + 1])
    if "--random" in sys.argv:
        i = sys.argv.index("--random")
        n = int(sys.argv[i + 1])
        seed = int(sys.argv[i + 2]) if len(sys.argv) > i + 2 else 0
        corpus = sys.argv[i + 3] if len(sys.argv) > i + 3 else None
        _random_inputs(n, seed, corpus)
        return 0
    if atheris is None:
        sys.exit("atheris is not installed (pip install atheris); --random N runs without it")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    sys.exit(main())
