"""micrograd_fast.viz: draw_dot's nodes and edges, a real SVG, and the missing-package message."""

import shutil
import sys

import pytest

from micrograd_fast.viz import draw_dot, trace


def lecture_neuron(Value):
    """The lecture's neuron: o = tanh(x1*w1 + x2*w2 + b), after backward."""
    x1, x2 = Value(2.0, label='x1'), Value(0.0, label='x2')
    w1, w2 = Value(-3.0, label='w1'), Value(1.0, label='w2')
    b = Value(6.8813735870195432, label='b')
    n = x1 * w1 + x2 * w2 + b
    n.label = 'n'
    o = n.tanh()
    o.label = 'o'
    o.backward()
    return o


def test_trace_finds_every_node_and_edge_once(engine):
    o = lecture_neuron(engine.Value)
    nodes, edges = trace(o)
    assert len(nodes) == 10  # 5 leaves, 2 products, 2 sums, tanh
    assert len({id(v) for v in nodes}) == 10
    assert len(edges) == 9
    assert {v.label for v in nodes} >= {'x1', 'x2', 'w1', 'w2', 'b', 'n', 'o'}


def test_trace_shared_node_and_deep_chain(engine):
    a = engine.Value(1.0)
    y = a * a + a  # a is a child twice over
    nodes, edges = trace(y)
    assert len(nodes) == 3 and len(edges) == 3  # a->*, *->+, a->+: _prev is a set, a is in it once
    x = engine.Value(0.5)
    for _ in range(5000):  # deeper than the recursion limit
        x = x.tanh()
    assert len(trace(x)[0]) == 5001


def test_draw_dot_source(engine):
    pytest.importorskip("graphviz")
    dot = draw_dot(lecture_neuron(engine.Value))
    src = dot.source
    assert "rankdir=LR" in src
    assert src.count("shape=record") == 10
    assert src.count("shape=circle") == 5  # one per op: *, *, +, +, tanh
    assert src.count("->") == 9 + 5  # the edges, plus op circle -> its result
    assert "{ o | data 0.7071 | grad 1.0000 }" in src
    assert "{ x1 | data 2.0000 | grad -1.5000 }" in src
    assert "label=tanh" in src
    assert src == draw_dot(lecture_neuron(engine.Value)).source  # the same on every run
    assert "rankdir=TB" in draw_dot(lecture_neuron(engine.Value), rankdir="TB").source


def test_a_fused_neuron_shows_which_weight_multiplies_which_input(engine):
    pytest.importorskip("graphviz")
    V = engine.Value
    w0, w1, b = V(-3.0, label='w0'), V(1.0, label='w1'), V(6.5, label='b')
    x0, x1 = V(2.0, label='x0'), V(0.0, label='x1')
    n = V.dot([w0, w1], [x0, x1], b)
    nodes, edges = trace(n)
    roles = {(child.label, role) for child, parent, role in edges if parent is n}
    assert roles == {('b', 'b'), ('w0', 'w0'), ('x0', 'x0'), ('w1', 'w1'), ('x1', 'x1')}
    src = draw_dot(n).source
    assert "-> v0_op [label=w0]" in src and "-> v0_op [label=x1]" in src  # the edges name them


def test_draw_dot_escapes_record_characters(engine):
    pytest.importorskip("graphviz")
    v = engine.Value(1.0, label='a|b {c}')
    assert r"a\|b \{c\}" in draw_dot(v).source


def test_draw_dot_renders_svg(engine):
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("the dot program (system package graphviz) is not installed")
    svg = draw_dot(lecture_neuron(engine.Value)).pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert "grad &#45;1.5000" in svg and ">tanh<" in svg  # dot writes a minus sign as &#45;


def test_bad_rankdir(engine):
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(engine.Value(1.0), rankdir="RL")


def test_missing_graphviz_says_what_to_install(engine, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    with pytest.raises(ImportError, match=r'pip install graphviz .*pip install "\.\[viz\]"') as info:
        draw_dot(engine.Value(1.0))
    assert "dot program" in str(info.value)


def test_draw_dot_draws_micrograds_own_values():
    pytest.importorskip("graphviz")
    micrograd_engine = pytest.importorskip("micrograd.engine")
    x = micrograd_engine.Value(3.0)
    y = (x * 2 + 1).relu()
    y.backward()
    src = draw_dot(y).source
    assert src.count("shape=record") == 6 and src.count("shape=circle") == 3  # x, 2, 1 and 3 results
    assert "{  | data 3.0000 | grad 2.0000 }" in src  # micrograd's Values have no label
    assert "{  | data 2.0000 | grad 3.0000 }" in src  # its constant 2, with its gradient
    assert "label=ReLU" in src
