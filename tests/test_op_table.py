"""One op, one place: the table in micrograd_fast/ops.py, both engines and the stubs agree.

Every row is a method of each engine's Value and of the stub; no engine and no stub has an
op method that the table lacks. The tests of every op (test_engine.py's finite differences
and PyTorch checks, test_properties.py, test_errors.py, the fuzzer) read the same table.
"""

import ast
import importlib.util
import math
from pathlib import Path

import pytest

from micrograd_fast.ops import OPS

# Value's methods that are not ops of the table: micrograd's operators written on top of
# + * ** (as micrograd writes them), and the rest of its API
DERIVED = {"__neg__", "__radd__", "__sub__", "__rsub__", "__rmul__", "__truediv__",
           "__rtruediv__", "__rpow__"}
API = {"backward", "data", "grad", "label"}


def _public_methods(cls):
    return {name for name in dir(cls) if not name.startswith("_") or name in DERIVED or
            (name.startswith("__") and name.endswith("__") and name not in dir(object)
             and callable(getattr(cls, name)) and name not in ("__init__", "__reduce__"))}


def _stub_methods():
    spec = importlib.util.find_spec("micrograd_fast")
    stub = Path(spec.origin).with_name("pure.pyi")
    tree = ast.parse(stub.read_text())
    (value,) = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Value"]
    names = {node.name for node in value.body if isinstance(node, ast.FunctionDef)}
    names |= {node.target.id for node in value.body if isinstance(node, ast.AnnAssign)}
    return {n for n in names if not n.startswith("_") or n in DERIVED or
            (n.startswith("__") and n not in ("__init__",))}


def test_every_row_is_a_method_of_both_engines_and_the_stub(engine):
    stub = _stub_methods()
    for op in OPS:
        assert callable(getattr(engine.Value, op.name, None)), f"{engine.__name__} lacks {op.name}"
        assert op.name in stub, f"pure.pyi lacks {op.name}"


def test_no_engine_and_no_stub_has_an_op_the_table_lacks(engine):
    table = {op.name for op in OPS}
    assert _public_methods(engine.Value) - table - DERIVED - API == set()
    assert _stub_methods() - table - DERIVED - API == set()


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_each_row_makes_a_node_showing_its_text(engine, op):
    V = engine.Value
    x, y = V(0.5), V(1.5)
    node = {1: lambda: getattr(x, op.name)(),
            2: lambda: getattr(x, op.name)(y),
            -1: lambda: V.dot([x], [y], 0.25)}[op.arity]()
    assert node._op == op.text and x in node._prev
    assert math.isfinite(node.data)


def test_table_rows_are_unique_and_well_formed():
    names = [op.name for op in OPS]
    assert len(names) == len(set(names))
    for op in OPS:
        assert op.arity in (1, 2, -1) and op.text and op.domain in ("real", "positive", "nonzero")
