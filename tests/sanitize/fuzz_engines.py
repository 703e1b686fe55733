"""Differential fuzz target: random op sequences on the compiled and the pure engine.

Each input is decoded into a short program over a pool of nodes (every operator
with Value / number / bad operands, their reflected forms, unary minus, relu,
tanh, exp, log, sigmoid, Value.dot, backward once or twice, zeroing and setting
grads and data, Graph(root) built and replayed after leaf data changed, a node's
own ``_backward()``, user-built nodes with a Python ``_backward`` (Karpathy's
extension pattern, including one that raises and one that runs a nested
backward), labels and other attributes, reference cycles through them, copy,
deepcopy and pickle, ``__init__`` called again on a built node, dropped references
and garbage collection), and the moves of the engine's boundary (MOVES_BY_NAME below:
gradient hooks that read, wrap or swap ``_backward``, callbacks that reassign
``_backward`` mid-walk, ``Value.dot`` operand lists mutated by a number's
``__float__``, cycles through labels, ``_op`` and attributes, ``_prev`` set by hand,
methods attached to the class or shadowed on an instance). The program
runs step by step on ``micrograd_fast._engine`` and on ``micrograd_fast.pure``
in lockstep; after each step the target checks that

- either both engines raised, the same exception class with the same message
  (the compiled class's full name read as ``Value``, as tests/test_errors.py
  does), or neither did;
- every node in the pool has bit-identical ``data`` and ``grad`` on both (any
  NaN equals any NaN; the sign of zero counts), and returned numbers, ``_op``,
  ``label``, ``repr``, ``_prev`` and hook counts agree, and a dropped node is
  collected on both engines or on neither.

A difference raises AssertionError with the program decoded so far, as Python,
which atheris reports as a crash (the input is saved as crash-<sha1>).

Usage (from the checkout, with its .venv; atheris is on PyPI: pip install atheris)::

    .venv/bin/python tests/sanitize/fuzz_engines.py -runs=200000          # the normal build
    .venv/bin/python tests/sanitize/fuzz_engines.py -max_total_time=600 corpus/
    tests/sanitize/run.sh fuzz -max_total_time=600                          # ASan+UBSan build
    .venv/bin/python tests/sanitize/fuzz_engines.py --show crash-1234...    # print a program
    .venv/bin/python tests/sanitize/fuzz_engines.py --random 100000         # no atheris needed
    .venv/bin/python tests/sanitize/fuzz_engines.py --random 20000 1 --keep-going  # a survey
    tests/sanitize/run.sh fuzz --random 100000 1 corpus/                    # ASan, corpus mutated

Crash files (and --random's crash-random-*) are written to the current directory: run it
from a scratch directory, or give libFuzzer -artifact_prefix=DIR/.

``--show FILE`` prints the decoded program of an input (a reproducer to paste);
``--random N [SEED [CORPUS]]`` feeds N pseudo-random inputs without atheris (no
coverage guidance), half of them mutated from CORPUS's files when it is given: the way to
fuzz the ASan build, under which libFuzzer gets no coverage (see README.md); with
``--keep-going`` it saves the first input of each kind of difference, goes on, and counts
them; ``--start K`` skips the first K-1 inputs (to go on after a crash, whose input is
left in crash-random-SEED-COUNT-running). Any other
arguments go to libFuzzer (-runs, -max_total_time, -max_len, -seed, corpus directories,
crash files to replay). The pure engine is
instrumented for coverage; the compiled one is C and is not.

MGF_FUZZ_SKIP: comma-separated names of known, reported differences to stop
checking (KNOWN below), or of moves to turn off (MOVES_BY_NAME), so that a long run
can look for other problems.
"""

import copy
import faulthandler
import gc
import math
import os
import pickle
import re
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
from micrograd_fast.bench.workloads import watch  # a weak reference that dies with a node

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
# The moves of the engine's boundary (tests/test_boundary.py and test_object_model.py hold
# their tests); each name in MGF_FUZZ_SKIP turns its move (or check) off, so that an engine
# that still fails one can be fuzzed for the others:
MOVES_BY_NAME = {
    "hooks": "a node's _backward read and assigned back, wrapped, or another node's given to it",
    "reassigner": "a user node whose _backward gives other nodes (or itself) a new _backward mid-walk",
    "dot_mutating": "Value.dot with a number whose __float__ or __index__ changes the operand lists",
    "cycles": "cycles through a late-filled dict label, _op, an attribute, a container attached later",
    "collected": "the check, after del and gc.collect(), that a node is gone on both engines or on neither",
    "prev_by_hand": "_prev assigned by hand",
    "class_methods": "a method attached to the class (a new name, or tanh replaced)",
    "shadowing": "an instance attribute that shadows a method (n.relu = n.tanh)",
}
SKIP = {s for s in os.environ.get("MGF_FUZZ_SKIP", "").split(",") if s}

MAX_POOL = 40
MAX_STEPS = 48
MOVES = 31  # step() picks one of this many moves


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
        op = r.pick(MOVES)
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
            i, what = self.node(), r.pick(6)
            a = self.pool[i]
            n = self.name(i)
            if what == 0:
                self.run(f"{n}._op", lambda: _norm(repr(a.c._op)), lambda: _norm(repr(a.p._op)), "string")
            elif what == 1:
                self.run(f"repr({n})", lambda: _norm(repr(a.c)), lambda: _norm(repr(a.p)), "string")
            elif what == 2:
                self.run(f"{n}.label", lambda: _label(a.c), lambda: _label(a.p), "string")
            elif what == 3:
                if "prev_after_custom" in SKIP and _is_replaced(a.p):
                    return
                self.run(f"sorted(v.data for v in {n}._prev)", lambda: _prev(a.c), lambda: _prev(a.p), "string")
            elif what == 4:
                self.run(f"{n}.m", lambda: repr(getattr(a.c, "m")), lambda: repr(getattr(a.p, "m")), "string")
            else:  # how often a gradient hook on the node ran
                self.run(f"getattr({n}, 'hooked', 0)", lambda: getattr(a.c, "hooked", 0),
                         lambda: getattr(a.p, "hooked", 0), "number")
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
            refs = watch(self.pool[i].c), watch(self.pool[i].p)
            del self.pool[i]
            if r.pick(4) == 0:
                self.say("gc.collect()  # then: is it gone on both engines?")
                gc.collect()
                if "collected" not in SKIP and (refs[0]() is None) != (refs[1]() is None):
                    self.fail(f"collected on one engine only: compiled {refs[0]() is None}, "
                              f"pure {refs[1]() is None}")
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
        elif op >= 25 and _MOVE_NAMES[op](r) in SKIP:
            return
        elif op == 25:  # a gradient hook: a node's _backward restored, wrapped or swapped
            i, j, kind = self.node(), self.node(), r.pick(4)
            a, b = self.pool[i], self.pool[j]
            self.run(f"hook({self.name(i)}, kind={kind}, other={self.name(j)})",
                     lambda: _hook(a.c, kind, b.c), lambda: _hook(a.p, kind, b.p))
        elif op == 26:  # Value.dot with a number that changes the operand lists as it is read
            self.dot_mutating()
        elif op == 27:  # a cycle through a label, _op or an attribute, maybe attached later
            self.cycle()
        elif op == 28:  # _prev assigned by hand (maybe the node itself: a cycle for the walk)
            # as a list: a set's order follows the objects' ids, which differ between the
            # engines (and between runs), so two engines walk it in different orders
            i = self.node()
            kids = [self.node() for _ in range(r.pick(4))]
            a, pairs = self.pool[i], [self.pool[j] for j in kids]
            names = ", ".join(self.name(j) for j in kids)
            self.run(f"{self.name(i)}._prev = [{names}]",
                     lambda: setattr(a.c, "_prev", [p.c for p in pairs]),
                     lambda: setattr(a.p, "_prev", [p.p for p in pairs]))
        elif op == 29:  # a method attached to the class, or shadowed on the instance
            what, i = r.pick(3), self.node()
            a = self.pool[i]
            if what < 2:
                self.run(f"with_class_method(E, {self.name(i)}, {'swish' if what == 0 else 'tanh'!r})",
                         lambda: _with_class_method(C, a.c, what), lambda: _with_class_method(P, a.p, what),
                         "node")
            else:
                self.run(f"{self.name(i)}.relu = {self.name(i)}.tanh",
                         lambda: setattr(a.c, "relu", a.c.tanh), lambda: setattr(a.p, "relu", a.p.tanh))
        elif op == 30:  # a user node whose _backward reassigns _backward of other nodes
            i, j, kind = self.node(), self.node(), r.pick(3)
            a, b = self.pool[i], self.pool[j]
            self.run(f"reassigner(E, {self.name(i)}, {self.name(j)}, kind={kind})",
                     lambda: _reassigner(C, a.c, b.c, kind), lambda: _reassigner(P, a.p, b.p, kind), "node")
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

    def dot_mutating(self):
        r = self.r
        n = r.pick(4)
        ops = [self.operand() for _ in range(2 * n + 1)]
        ws, xs, bias = ops[:n], ops[n:2 * n], ops[-1]
        where, pos, target, how, index = r.pick(2), r.pick(n + 1), r.pick(2), r.pick(3), r.pick(2)
        text = (f"dot_mutating(E, [{', '.join(o[2] for o in ws)}], [{', '.join(o[2] for o in xs)}], "
                f"{bias[2]}, where={where}, pos={pos}, target={target}, how={how}, index={index})")
        self.run(text, lambda: _dot_mutating(C, [o[0] for o in ws], [o[0] for o in xs], bias[0], where,
                                             pos, target, how, index),
                 lambda: _dot_mutating(P, [o[1] for o in ws], [o[1] for o in xs], bias[1], where, pos,
                                       target, how, index), "node")

    def cycle(self):
        i, j, what = self.node(), self.node(), self.r.pick(5)
        a, b = self.pool[i], self.pool[j]
        n, m = self.name(i), self.name(j)
        if what == 0:  # a dict label, empty when set, given the node later
            self.run(f"{n}.label = d = {{}}; d['k'] = {m}", lambda: _late_label(a.c, b.c),
                     lambda: _late_label(a.p, b.p))
        elif what == 1:
            self.run(f"{n}._op = [{m}]", lambda: setattr(a.c, "_op", [b.c]), lambda: setattr(a.p, "_op", [b.p]))
        elif what == 2:
            self.run(f"{n}.x = {{'k': {m}}}", lambda: setattr(a.c, "x", {"k": b.c}),
                     lambda: setattr(a.p, "x", {"k": b.p}))
        else:  # a container attached to a node after other nodes were built on it
            deeper = what == 4
            out = self.run(f"({n} * 2){'.relu()' if deeper else ''}",
                           lambda: _built_on(a.c, deeper), lambda: _built_on(a.p, deeper), "node")
            if out is not None:
                new = next(p for p in self.pool if p.serial == self.serial)
                self.run(f"{n}.history = [{out}]", lambda: setattr(a.c, "history", [new.c]),
                         lambda: setattr(a.p, "history", [new.p]))

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


def _move_29(r):  # peeks at the byte that chooses between its two kinds
    return "shadowing" if r.pos < len(r.data) and r.data[r.pos] % 3 == 2 else "class_methods"


_MOVE_NAMES = {25: lambda r: "hooks", 26: lambda r: "dot_mutating", 27: lambda r: "cycles",
               28: lambda r: "prev_by_hand", 29: _move_29, 30: lambda r: "reassigner"}


def _hook(v, kind, other):
    """A gradient hook on v: 0 reads its _backward and assigns it back, 1 wraps it (counting the
    calls in v.hooked), 2 gives v other's _backward, 3 a wrapper that, when it runs, wraps
    other's current _backward and puts v's old one back."""
    old = v._backward
    if kind == 0:
        v._backward = old
    elif kind == 1:
        v._backward = _counting(v, old)
    elif kind == 2:
        v._backward = other._backward
    else:
        def reassigning():
            old()
            other._backward = _counting(other, other._backward)
            v._backward = old
        v._backward = reassigning


def _counting(v, old):
    def hook():
        old()
        v.hooked = getattr(v, "hooked", 0) + 1
    return hook


def _reassigner(E, a, b, kind):
    """A user node over a and b whose _backward, mid-walk, gives b (kind 0), itself (1) or
    a (2) a new _backward."""
    out = E.Value(a.data, (a, b), "reassigner")

    def _backward():
        a.grad += out.grad
        if kind == 0:
            b._backward = _counting(b, b._backward)
        elif kind == 1:
            out._backward = _counting(out, lambda: None)
        else:
            a._backward = lambda: None
    out._backward = _backward
    return out


class _Mutation:
    """A number whose conversion changes a list that Value.dot is reading: how 0 clears it,
    1 drops its second half, 2 appends to it."""

    def __init__(self, target, how):
        self.target, self.how = target, how

    def mutate(self):
        t = self.target
        if self.how == 0:
            t.clear()
        elif self.how == 1:
            del t[len(t) // 2:]
        else:
            t.append(t[0] if t else 1.0)

    def __repr__(self):
        return f"{type(self).__name__}(how={self.how})"


class _Mutator(_Mutation):
    def __float__(self):
        self.mutate()
        return 2.0


class _IndexMutator(_Mutation):
    """float() falls back to __index__."""

    def __index__(self):
        self.mutate()
        return 2


def _dot_mutating(E, ws, xs, bias, where, pos, target, how, index):
    lists = [list(ws), list(xs)]
    mutator = (_IndexMutator if index else _Mutator)(lists[target], how)
    lists[where].insert(pos, mutator)
    lists[1 - where].insert(pos, 1.0)  # the lengths stay equal
    return E.Value.dot(lists[0], lists[1], bias)


def _late_label(v, node):
    label = {}
    v.label = label
    label["k"] = node


def _built_on(v, deeper):
    out = v * 2
    return out.relu() if deeper else out


def _swish(self):
    return self * self.sigmoid()


def _tanh_from_sigmoid(self):
    return (self * 2.0).sigmoid() * 2.0 - 1.0


def _with_class_method(E, v, what):
    """A method attached to the class (a new one, or tanh replaced), called on v; the class
    is put back as it was."""
    V = E.Value
    if what == 0:
        V.swish = _swish
        try:
            return v.swish()
        finally:
            del V.swish
    original = vars(V)["tanh"]
    V.tanh = _tanh_from_sigmoid
    try:
        return v.tanh()
    finally:
        V.tanh = original


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
        op = prog.r.pick(MOVES)
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


def _random_inputs(n, seed, corpus=None, keep_going=False, start=1):
    """n inputs without atheris: random bytes, or (given a corpus directory) half of them
    corpus entries with bytes flipped, inserted, erased or spliced from another entry.

    Each input is written to crash-random-SEED-COUNT-running while it runs (a crash leaves it
    there, and --start COUNT+1 goes on after it). keep_going: save every difference and go on, then count them by kind. start:
    run from input number ``start`` on (the same inputs as a run that stopped there).
    """
    import random
    import time
    from collections import Counter
    rng = random.Random(seed)
    kinds = Counter()
    seeds = []
    if corpus:
        for name in sorted(os.listdir(corpus)):
            with open(os.path.join(corpus, name), "rb") as f:
                seeds.append(f.read())
    began = time.monotonic()
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
        if count < start:
            continue
        current = f"crash-random-{seed}-{count}-running"
        with open(current, "wb") as f:
            f.write(data)
        try:
            execute(data)
        except Mismatch as e:
            kind = re.sub(r"\bn\d+", "nN", str(e).split("\n")[0].split(":")[0])
            kinds[kind] += 1
            if kinds[kind] > 1 and keep_going:
                os.remove(current)
                continue  # only the first input of each kind is kept
            name = f"crash-random-{seed}-{count}"
            os.replace(current, name)
            print(f"mismatch on input {count} ({kind}), saved as {name}", file=sys.stderr)
            if not keep_going:
                raise
        else:
            os.remove(current)
        if count % 10000 == 0:
            print(f"{count} inputs, {time.monotonic() - began:.0f} s", file=sys.stderr)
    for kind, times in kinds.most_common():
        print(f"{times:6d}  {kind}", file=sys.stderr)
    found = sum(kinds.values())
    print(f"inputs {start} to {n}: {found or 'no'} difference{'' if found == 1 else 's'} "
          f"({time.monotonic() - began:.0f} s)", file=sys.stderr)


def main():
    if "--show" in sys.argv:
        return _show_program(sys.argv[sys.argv.index("--show") + 1])
    if "--random" in sys.argv:
        args = sys.argv[1:]
        keep_going = "--keep-going" in args
        start = 1
        if "--start" in args:
            k = args.index("--start")
            start = int(args[k + 1])
            del args[k:k + 2]
        args = [a for a in args if a != "--keep-going"]
        i = args.index("--random")
        n = int(args[i + 1])
        seed = int(args[i + 2]) if len(args) > i + 2 else 0
        corpus = args[i + 3] if len(args) > i + 3 else None
        faulthandler.enable()  # a crash prints where it happened; the input is on disk
        _random_inputs(n, seed, corpus, keep_going, start)
        return 0
    if atheris is None:
        sys.exit("atheris is not installed (pip install atheris); --random N runs without it")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    sys.exit(main())
