"""The op table: every operation both engines have, one row each.

Each engine has one block per row, in this order (``pure.py``, and the compiled
engine's ``src_pyx/ops.pxi``); the compiled engine numbers its opcodes by position in
this table and refuses to import when a row has no compiled block. The stubs and the
tests read it too: the tests run every row against finite differences, PyTorch, the
property tests and the fuzzer (a torch tensor has
the same method for every op but dot), and fail when an engine or the stubs lack a row.

Adding an op: a row here, a block in each engine, a line in ``pure.pyi``
(docs/ARCHITECTURE.md walks through it).
"""

from typing import NamedTuple, Tuple


class Op(NamedTuple):
    name: str     # the method that makes it (a unary op's name is its method: x.relu())
    arity: int    # operands: 1, 2, or -1 for a run of them (dot)
    text: str     # what ``_op`` shows (``**`` with a number exponent shows it: ``**2``)
    domain: str   # where its derivative exists, for the tests: "real", "positive", "nonzero"


OPS: Tuple[Op, ...] = (
    Op("__add__", 2, "+", "real"),
    Op("__mul__", 2, "*", "real"),
    Op("__pow__", 2, "**", "positive"),
    Op("relu", 1, "ReLU", "nonzero"),
    Op("tanh", 1, "tanh", "real"),
    Op("exp", 1, "exp", "real"),
    Op("log", 1, "log", "positive"),
    Op("sigmoid", 1, "sigmoid", "real"),
    Op("dot", -1, "dot", "real"),
)

BY_NAME = {op.name: op for op in OPS}
UNARY = tuple(op for op in OPS if op.arity == 1)
BINARY = tuple(op for op in OPS if op.arity == 2)
