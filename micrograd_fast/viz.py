"""``draw_dot(root)``: the lecture's picture of a graph, with graphviz.

Each Value is a record ``label | data | grad``; a node made by an operation has
a small circle with the op (``+``, ``*``, ``tanh``, ...) between it and its
children, as in micrograd's trace_graph.ipynb. In a notebook the returned
``graphviz.Digraph`` shows itself; elsewhere ``draw_dot(loss).render("graph")``
writes ``graph.svg``.

It draws micrograd's own Values too (they have no ``label``: their box shows none).
Needs the ``graphviz`` Python package (``pip install ".[viz]"`` in a clone of
micrograd_fast, or ``pip install graphviz``) and, to render, the ``dot`` program from
the system's graphviz package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Literal

    from .pure import Value  # any engine's Value: engine.pyi and _engine.pyi alias pure.pyi's

__all__ = ["draw_dot", "trace"]


def trace(root: Value) -> tuple[list[Value], list[tuple[Value, Value, str]]]:
    """All Values that ``root`` depends on, and the (child, parent, role) edges between them.

    The role names a fused neuron's operands (``b``, ``w0``, ``x0``, ``w1``, ...), so
    that its picture shows which weight multiplies which input; it is empty elsewhere.
    """
    nodes: list[Value] = []
    edges: list[tuple[Value, Value, str]] = []
    seen = {id(root)}
    stack = [root]
    while stack:  # a loop, not recursion: deep graphs do not hit the recursion limit
        v = stack.pop()
        nodes.append(v)
        children = _children_in_order(v)
        edges += [(child, v, _role(v, i)) for i, child in enumerate(children)]
        for child in reversed(children):  # so that the first child comes off the stack first
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return nodes, edges


def draw_dot(root: Value, format: str = "svg", rankdir: Literal["LR", "TB"] = "LR") -> Any:
    """A ``graphviz.Digraph`` of the graph that ends in ``root``, drawn left to right ("LR")
    or top to bottom ("TB")."""
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    try:
        from graphviz import Digraph  # type: ignore  # it has no types, and it may be missing
    except ImportError as error:
        raise ImportError(
            "draw_dot needs the graphviz Python package: pip install graphviz "
            "(or, in a clone of micrograd_fast, pip install \".[viz]\"); rendering also needs "
            "the dot program, from your system's graphviz package "
            "(e.g. apt install graphviz or brew install graphviz)") from error

    nodes, edges = trace(root)
    # Names are positions in the walk, not id()s: the source is the same on every run.
    name = {id(v): f"v{i}" for i, v in enumerate(nodes)}
    dot = Digraph(format=format, graph_attr={"rankdir": rankdir})
    for v in nodes:
        label = _escape_record(_label(v))
        dot.node(name[id(v)], label=f"{{ {label} | data {v.data:.4f} | grad {v.grad:.4f} }}",
                 shape="record")
        if v._op:
            dot.node(name[id(v)] + "_op", label=v._op, shape="circle", fontsize="10",
                     margin="0.02")
            dot.edge(name[id(v)] + "_op", name[id(v)])
    for child, parent, role in edges:
        dot.edge(name[id(child)], name[id(parent)] + ("_op" if parent._op else ""), label=role)
    return dot


def _children_in_order(v: Value) -> list[Value]:
    """micrograd_fast's Values know their operands' order (a child used twice is drawn
    once, as micrograd's set holds it, except in a dot, where each operand has its role);
    micrograd's _prev is a set, sorted here so that the picture is the same on every run."""
    ordered = getattr(v, "_operands", None)
    if ordered is None:
        return sorted(v._prev, key=lambda c: (_label(c), c._op, c.data, c.grad))
    if v._op == "dot":
        return list(ordered)
    return list({id(c): c for c in ordered}.values())


def _role(v: Value, i: int) -> str:
    if v._op != "dot" or not hasattr(v, "_operands"):
        return ""
    return "b" if i == 0 else f"{'wx'[(i - 1) % 2]}{(i - 1) // 2}"


def _label(v: Value) -> str:
    return str(getattr(v, "label", ""))  # micrograd's own Value has no label


def _escape_record(text: str) -> str:
    """A label as text inside a graphviz record, where { } | < > would be structure."""
    for char in "\\{}|<>":
        text = text.replace(char, "\\" + char)
    return text
