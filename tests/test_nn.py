"""micrograd's nn on both engines: same weights, same reprs, same training numbers."""

import copy
import math
import random
import struct
import warnings

import pytest

from micrograd_fast import nn
from engines import settable_class
from helpers import run_python, train_moons


def test_reprs(engine):
    model = nn.MLP(2, [3, 1], value_type=engine.Value)
    assert repr(model) == ("MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2), ReLUNeuron(2)], "
                           "Layer of [LinearNeuron(3)]]")
    assert repr(nn.Neuron(4, nonlin=False, value_type=engine.Value)) == "LinearNeuron(4)"


def test_parameters_and_zero_grad(engine):
    model = nn.MLP(3, [4, 4, 1], value_type=engine.Value)
    params = model.parameters()
    assert len(params) == (3 * 4 + 4) + (4 * 4 + 4) + (4 + 1)
    assert all(isinstance(p, engine.Value) for p in params)
    out = model([1.0, -2.0, 3.0])
    assert isinstance(out, engine.Value)  # a 1-neuron layer returns the Value itself
    out.backward()
    assert any(p.grad != 0.0 for p in params)
    model.zero_grad()
    assert all(p.grad == 0.0 and type(p.grad) is float for p in params)


def test_zero_grad_reaches_every_parameter_however_they_are_given(engine):
    """A list of the engine's Values (the compiled engine zeroes them in one C loop), a
    list with a Value subclass among them, and parameters() giving an iterator."""
    V = engine.Value

    class Param(V):
        pass

    class Iterated(nn.MLP):
        def parameters(self):
            return iter(super().parameters())

    plain = nn.MLP(2, [3, 1], value_type=V)
    mixed = nn.MLP(2, [3, 1], value_type=V)
    mixed.layers[0].neurons[0].w[0] = Param(0.5)
    for model in (plain, mixed, Iterated(2, [3, 1], value_type=V)):
        for p in model.parameters():
            p.grad = 1.5
        model.zero_grad()
        assert [p.grad for p in model.parameters()] == [0.0] * 13


def test_same_weights_as_micrograd(engine):
    micrograd_nn = pytest.importorskip("micrograd.nn")
    random.seed(42)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(42)
    ours = nn.MLP(2, [16, 16, 1], value_type=engine.Value)
    assert [p.data for p in ours.parameters()] == [float(p.data) for p in theirs.parameters()]
    x = [0.5, -1.25]
    assert ours(x).data == pytest.approx(theirs(x).data, rel=1e-12)


def test_default_engine_is_the_selected_one():
    from micrograd_fast import engine
    assert type(nn.Neuron(2).b) is engine.Value


def _bits(x):
    return struct.pack("<d", x)


def test_training_is_bit_identical_on_both_engines(engine_pair):
    compiled, pure = engine_pair
    c_losses, c_params = train_moons(nn, compiled.Value, steps=4)
    p_losses, p_params = train_moons(nn, pure.Value, steps=4)
    assert c_losses[-1] < c_losses[0]
    assert list(map(_bits, c_losses)) == list(map(_bits, p_losses))
    assert [(_bits(d), _bits(g)) for d, g in c_params] == [(_bits(d), _bits(g)) for d, g in p_params]


def test_training_agrees_with_micrograd(engine):
    micrograd_engine = pytest.importorskip("micrograd.engine")
    micrograd_nn = pytest.importorskip("micrograd.nn")

    class Shim:  # micrograd's nn, with micrograd's Value, driven by the same loop
        MLP = staticmethod(lambda nin, nouts, value_type, **options: micrograd_nn.MLP(nin, nouts))

    ours, _ = train_moons(nn, engine.Value, steps=3)
    theirs, _ = train_moons(Shim, micrograd_engine.Value, steps=3)
    assert ours == pytest.approx(theirs, rel=1e-12)


# --- activations: the lecture's tanh network -------------------------------------------------

LECTURE_XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
LECTURE_YS = [1.0, -1.0, -1.0, 1.0]


def lecture_mlp(Value):
    """The lecture's hand-written MLP, with micrograd's nn conventions (bias 0, last layer linear)."""

    class Neuron:
        def __init__(self, nin, nonlin):
            self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
            self.b = Value(0)
            self.nonlin = nonlin

        def __call__(self, x):
            act = sum((wi*xi for wi, xi in zip(self.w, x)), self.b)
            return act.tanh() if self.nonlin else act

        def parameters(self):
            return self.w + [self.b]

    class Layer:
        def __init__(self, nin, nout, nonlin):
            self.neurons = [Neuron(nin, nonlin) for _ in range(nout)]

        def __call__(self, x):
            outs = [n(x) for n in self.neurons]
            return outs[0] if len(outs) == 1 else outs

        def parameters(self):
            return [p for n in self.neurons for p in n.parameters()]

    class MLP:
        def __init__(self, nin, nouts):
            sz = [nin] + nouts
            self.layers = [Layer(sz[i], sz[i+1], i != len(nouts)-1) for i in range(len(nouts))]

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

        def parameters(self):
            return [p for layer in self.layers for p in layer.parameters()]

    return MLP(3, [4, 4, 1])


def train_lecture(model, steps):
    """The lecture's loop: squared error on the 4 examples, a step of 0.05."""
    losses = []
    for _ in range(steps):
        ypred = [model(x) for x in LECTURE_XS]
        loss = sum((yout - ygt)**2 for ygt, yout in zip(LECTURE_YS, ypred))
        for p in model.parameters():
            p.grad = 0.0
        loss.backward()
        for p in model.parameters():
            p.data += -0.05 * p.grad
        losses.append(loss.data)
    return losses


@pytest.mark.parametrize("fused", [True, False])
def test_tanh_mlp_trains_as_the_lecture_does(engine, fused):
    random.seed(1337)
    theirs = train_lecture(lecture_mlp(engine.Value), steps=30)
    random.seed(1337)
    model = nn.MLP(3, [4, 4, 1], activation='tanh', value_type=engine.Value, fused=fused)
    ours = train_lecture(model, steps=30)
    assert list(map(_bits, ours)) == list(map(_bits, theirs))
    assert ours[0] > 1.0 and ours[-1] < 1e-3
    assert repr(model) == ("MLP of [Layer of [TanhNeuron(3), TanhNeuron(3), TanhNeuron(3), "
                           "TanhNeuron(3)], Layer of [TanhNeuron(4), TanhNeuron(4), TanhNeuron(4), "
                           "TanhNeuron(4)], Layer of [LinearNeuron(4)]]")


def test_relu_stalls_where_tanh_learns(engine):
    """Why the lecture uses tanh: from the same start, ReLU neurons die on its 4 examples."""
    random.seed(1337)
    relu = train_lecture(nn.MLP(3, [4, 4, 1], value_type=engine.Value), steps=30)
    assert relu[-1] > 1.0


def test_sigmoid_neuron(engine):
    random.seed(3)
    neuron = nn.Neuron(2, activation='sigmoid', value_type=engine.Value)
    assert repr(neuron) == "SigmoidNeuron(2)"
    out = neuron([1.5, -0.5])
    act = neuron.w[0].data * 1.5 + neuron.w[1].data * -0.5 + neuron.b.data
    assert out.data == pytest.approx(1 / (1 + math.exp(-act)), rel=1e-15)
    assert out._op == "sigmoid"
    assert repr(nn.Layer(2, 1, nonlin=False, activation='sigmoid', value_type=engine.Value)) == \
        "Layer of [LinearNeuron(2)]"


def test_unknown_activation():
    with pytest.raises(ValueError, match="'relu', 'tanh', 'sigmoid'"):
        nn.MLP(2, [1], activation='gelu')


# --- what micrograd's zip does with the wrong number of inputs --------------------------------

@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("n_inputs", [2, 5])
def test_wrong_number_of_inputs_computes_micrograds_zip_and_warns_once(engine, fused, n_inputs):
    random.seed(5)
    neuron = nn.Neuron(3, nonlin=False, value_type=engine.Value, fused=fused)
    x = [engine.Value(float(i + 1)) for i in range(n_inputs)]
    with pytest.warns(UserWarning, match=rf"^LinearNeuron\(3\) got {n_inputs} inputs: it has 3 weights"):
        out = neuron(x)
    expected = sum((w * xi for w, xi in zip(neuron.w, x)), neuron.b)
    assert _bits(out.data) == _bits(expected.data)
    out.backward()
    used = min(3, n_inputs)
    assert [w.grad for w in neuron.w] == [float(i + 1) for i in range(used)] + [0.0] * (3 - used)
    assert [xi.grad for xi in x] == [w.data for w in neuron.w[:used]] + [0.0] * (n_inputs - used)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per Neuron: the second call is silent
        neuron(x)
        layer = nn.Layer(3, 2, value_type=engine.Value, fused=fused)
        with pytest.warns(UserWarning, match=r"ReLUNeuron\(3\) got") as caught:
            layer(x)
        assert len(caught) == 2  # each neuron of the layer warns for itself


def test_the_learners_mistake_is_named_in_its_terms(engine):
    model = nn.MLP(2, [3, 1], value_type=engine.Value)
    with pytest.warns(UserWarning, match=r"ReLUNeuron\(2\) got 3 inputs: .* the last 1 are ignored"):
        model([1, 2, 3])


def test_dot_still_refuses_a_length_mismatch(engine):
    with pytest.raises(ValueError, match="as many weights as inputs"):
        engine.Value.dot([engine.Value(1.0)], [1.0, 2.0])


# --- operands the fused node cannot take as micrograd would ------------------------------------

def traced_value(Value):
    """A user's Value with its own + and * (micrograd style), each result of its own type."""

    class Traced(Value):
        def __add__(self, other):
            other = other if isinstance(other, Value) else Traced(other)
            out = Traced(self.data + other.data, (self, other), '+')

            def _backward():
                self.grad += out.grad
                other.grad += out.grad
            out._backward = _backward
            return out

        def __mul__(self, other):
            other = other if isinstance(other, Value) else Traced(other)
            out = Traced(self.data * other.data, (self, other), '*')

            def _backward():
                self.grad += other.data * out.grad
                other.grad += self.data * out.grad
            out._backward = _backward
            return out

        __radd__ = __add__
        __rmul__ = __mul__

    return Traced


def test_a_subclass_with_its_own_operators_comes_out_of_a_linear_layer(engine):
    Traced = traced_value(engine.Value)
    random.seed(2)
    layer = nn.Layer(3, 1, nonlin=False, value_type=engine.Value)
    x = [Traced(1.0), Traced(-2.0), Traced(0.5)]
    out = layer(x)
    assert type(out) is Traced and out._op == '+'
    random.seed(2)
    plain = nn.Layer(3, 1, nonlin=False, value_type=engine.Value)([1.0, -2.0, 0.5])
    assert _bits(out.data) == _bits(plain.data)
    out.backward()
    assert [xi.grad for xi in x] == [w.data for w in layer.neurons[0].w]
    # weights of such a type make the neuron build micrograd's graph too
    random.seed(2)
    neuron = nn.Neuron(3, nonlin=False, value_type=Traced)
    assert type(neuron([1.0, -2.0, 0.5])) is Traced
    # a subclass without operators of its own is computed by the fused node, as before
    Plain = type("Plain", (engine.Value,), {})
    assert nn.Neuron(3, value_type=engine.Value)([Plain(1.0)] * 3)._op == "ReLU"
    assert nn.Neuron(3, nonlin=False, value_type=engine.Value)([Plain(1.0)] * 3)._op == "dot"


def test_micrograds_value_is_named_with_the_fix(engine):
    micrograd_engine = pytest.importorskip("micrograd.engine")
    model = nn.MLP(2, [3, 1], value_type=engine.Value)
    for fused in (True, False):
        for neuron in model.layers[0].neurons:
            neuron.fused = fused
        with pytest.raises(TypeError, match=r"Value of micrograd \(Karpathy's package\).*"
                                            r"micrograd_fast.engine.Value.*install\(\)"):
            model([micrograd_engine.Value(1.0), micrograd_engine.Value(2.0)])


def test_micrograds_own_values_as_weights_build_micrograds_graph():
    micrograd_engine = pytest.importorskip("micrograd.engine")
    random.seed(4)
    model = nn.MLP(2, [3, 1], value_type=micrograd_engine.Value)
    out = model([micrograd_engine.Value(1.0), 2.0])
    assert type(out) is micrograd_engine.Value and out._op == '+'


# --- micrograd's graph on request, and micrograd's names --------------------------------------

def karpathy_trace(root):
    """trace_graph.ipynb's trace: every node and edge reachable through _prev."""
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges


def _picture(root):
    nodes, edges = karpathy_trace(root)
    return (sorted((v._op, round(float(v.data), 9), round(float(v.grad), 9)) for v in nodes),
            len(edges))


def test_unfused_setting_draws_micrograds_graph(engine, monkeypatch):
    """With FUSED off (MICROGRAD_FAST_FUSED=0, install(fused=False)) a model made with no
    option builds micrograd's nodes: trace_graph's code finds the same nodes, values, grads."""
    micrograd_nn = pytest.importorskip("micrograd.nn")
    micrograd_engine = pytest.importorskip("micrograd.engine")
    monkeypatch.setattr(nn, "FUSED", False)
    random.seed(11)
    ours = nn.MLP(2, [3, 1], value_type=engine.Value)
    random.seed(11)
    theirs = micrograd_nn.MLP(2, [3, 1])
    # the inputs are Values: a number input is a constant, whose grad the engines keep apart
    a = ours([engine.Value(1.5), engine.Value(-2.0)])
    b = theirs([micrograd_engine.Value(1.5), micrograd_engine.Value(-2.0)])
    a.backward()
    b.backward()
    assert _picture(a) == _picture(b)
    monkeypatch.setattr(nn, "FUSED", True)
    assert nn.MLP(2, [3, 1], value_type=engine.Value)([1.5, -2.0])._op == "dot"


def test_fused_environment_variable():
    code = """
        from micrograd_fast import nn
        print(nn.FUSED, nn.MLP(2, [3, 1])([1.0, 2.0])._op)
    """
    assert run_python(code, env={"MICROGRAD_FAST_FUSED": "0"}).stdout == "False +\n"
    assert run_python(code, env={"MICROGRAD_FAST_FUSED": "1"}).stdout == "True dot\n"
    # as MICROGRAD_FAST_PURE reads it (engine.switch): false once left fusion on
    assert run_python(code, env={"MICROGRAD_FAST_FUSED": "false"}).stdout == "False +\n"
    assert run_python(code, env={"MICROGRAD_FAST_FUSED": "Off"}).stdout == "False +\n"


def test_install_fused_false_changes_no_code():
    result = run_python("""
        import micrograd_fast
        micrograd_fast.install(fused=False)
        from micrograd.nn import MLP
        print(MLP(2, [3, 1])([1.0, 2.0])._op)
        micrograd_fast.install(fused=True)
        print(MLP(2, [3, 1])([1.0, 2.0])._op)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "+\ndot\n"


def test_star_import_gives_micrograds_names():
    pytest.importorskip("micrograd.nn")
    theirs = {}
    exec("from micrograd.nn import *", theirs)
    result = run_python("""
        import micrograd_fast
        micrograd_fast.install()
        names = {}
        exec("from micrograd.nn import *", names)
        assert names["Value"] is micrograd_fast.engine.Value and names["MLP"] is micrograd_fast.nn.MLP
        print(" ".join(sorted(set(names) - {"__builtins__"})))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == sorted(set(theirs) - {"__builtins__"})


def test_methods_attached_to_module_reach_every_module(engine, monkeypatch):
    model = nn.MLP(2, [3, 1], value_type=engine.Value)
    monkeypatch.setattr(nn.Module, "count", lambda self: len(self.parameters()), raising=False)
    assert (model.count(), model.layers[0].count(), model.layers[0].neurons[0].count()) == (13, 9, 3)


def _shape(v, depth=3):
    """What a user can see of an output: its type, op, data and, a few levels down, its operands'."""
    if not hasattr(v, "_op"):
        return (type(v).__name__, v)
    below = [] if depth == 0 else sorted((_shape(c, depth - 1) for c in v._prev), key=repr)
    return (type(v).__name__, v._op, _bits(v.data), below)


def _each_layer_by_hand(model, x):
    """micrograd's MLP.__call__ and Layer.__call__, each Neuron called by itself."""
    for layer in model.layers:
        out = [n(x) for n in layer.neurons]
        x = out[0] if len(out) == 1 else out
    return x


def _changes(engine):
    V = engine.Value

    def relu_of_the_class(self):  # a notebook's own activation, set on the class
        return self * 2.0

    Traced = traced_value(V)

    def relu_into_a_traced_value(self):  # whose own + and * the next layer must call
        return Traced(max(self.data, 0.0), (self,), "ReLU")

    class OwnDot(V):  # a Value whose dot makes one of those
        @staticmethod
        def dot(ws, xs, bias=0.0):
            return Traced(V.dot(ws, xs, bias).data, (bias,), "dot")

    def linear_with_its_own_dot(m):
        for n in m.layers[0].neurons:
            n.nonlin, n.b = False, OwnDot(n.b.data)

    return {
        "as built": lambda m: None,
        "one neuron not fused": lambda m: setattr(m.layers[1].neurons[3], "fused", False),
        "one neuron linear": lambda m: setattr(m.layers[1].neurons[0], "nonlin", False),
        "one neuron tanh": lambda m: setattr(m.layers[0].neurons[5], "activation", "tanh"),
        "every neuron sigmoid": lambda m: [setattr(n, "activation", "sigmoid")
                                           for layer in m.layers for n in layer.neurons],
        "a bias of a subclass": lambda m: setattr(m.layers[1].neurons[2], "b",
                                                  type("Sub", (V,), {})(0.25)),
        "a neuron replaced": lambda m: m.layers[1].neurons.__setitem__(4, nn.Neuron(16, value_type=V)),
        "a weight fewer": lambda m: m.layers[1].neurons[1].w.pop(),
        "relu set on the class": lambda m: setattr(V, "relu", relu_of_the_class),
        "relu set on the class, of a type with operators": lambda m: setattr(
            V, "relu", relu_into_a_traced_value),
        "a copied model": lambda m: m.layers.__setitem__(1, copy.deepcopy(m.layers[1])),
        "a linear layer whose bias has its own dot": linear_with_its_own_dot,
        "a neuron pickled by an older version": lambda m: vars(m.layers[1].neurons[6]).pop("_how"),
    }


@pytest.mark.parametrize("change", ["as built", "one neuron not fused", "one neuron linear",
                                    "one neuron tanh", "every neuron sigmoid", "a bias of a subclass",
                                    "a neuron replaced", "a weight fewer", "relu set on the class",
                                    "relu set on the class, of a type with operators",
                                    "a copied model", "a linear layer whose bias has its own dot",
                                    "a neuron pickled by an older version"])
def test_a_layer_computes_what_its_neurons_compute_one_by_one(engine, change, monkeypatch):
    """Layer.__call__ makes a layer's dots in one go when its neurons are alike: whatever
    was changed on a neuron, a layer or the Value class, the outputs are those of each
    Neuron called by itself (micrograd's loop), with the same nodes below them."""
    if settable_class(engine):
        monkeypatch.setattr(engine.Value, "relu", engine.Value.relu)  # restored after the test
    elif "on the class" in change:
        pytest.skip("the compiled Value class takes no new attributes before Python 3.10")
    random.seed(5)
    model = nn.MLP(2, [16, 16, 1], value_type=engine.Value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the weight fewer's zip warning
        _changes(engine)[change](model)
        x = [engine.Value(0.75), engine.Value(-1.5)]
        assert _shape(model(x)) == _shape(_each_layer_by_hand(model, x))
        hidden = model.layers[0](x)
        assert [_shape(h) for h in model.layers[1](hidden)] == [
            _shape(n(hidden)) for n in model.layers[1].neurons]


def test_backward_twice_on_one_graph_gives_micrograds_numbers_unfused(engine):
    """The README's one exception to "the same numbers": a second backward() on the same
    graph passes the inner nodes' first gradients down again, which a fused neuron keeps
    in fewer nodes. Unfused, node for node, the numbers are micrograd's."""
    micrograd_nn = pytest.importorskip("micrograd.nn")
    micrograd_engine = pytest.importorskip("micrograd.engine")

    def twice(make, V):
        random.seed(3)
        model = make()
        loss = (model([V(0.5), V(-1.5)]) - 1.0) ** 2
        loss.backward()
        loss.backward()
        return [p.grad for p in model.parameters()]

    unfused = twice(lambda: nn.MLP(2, [4, 1], fused=False, value_type=engine.Value), engine.Value)
    theirs = twice(lambda: micrograd_nn.MLP(2, [4, 1]), micrograd_engine.Value)
    fused = twice(lambda: nn.MLP(2, [4, 1], value_type=engine.Value), engine.Value)
    assert unfused == pytest.approx(theirs, rel=1e-12, abs=1e-15)
    assert fused != pytest.approx(theirs, rel=1e-6)


@pytest.mark.parametrize("fused", [True, False])
def test_a_layer_reads_an_iterator_once_for_all_its_neurons(engine, fused):
    """The README's difference: every neuron gets all of a generator's inputs, where
    micrograd's first neuron uses it up."""
    random.seed(0)
    model = nn.MLP(3, [4, 1], fused=fused, value_type=engine.Value)
    assert model(x for x in [1.0, 2.0, 3.0]).data == model([1.0, 2.0, 3.0]).data


# -- neurons of the user's own, as other projects write them ----------------------------

def _by_hand(neuron, x):
    """micrograd's Neuron.__call__, computed on plain floats."""
    act = neuron.b.data + sum(w.data * xi for w, xi in zip(neuron.w, x))
    return max(act, 0.0) if neuron.nonlin else act


@pytest.mark.parametrize("fused", [True, False])
def test_a_neuron_subclass_s_own_call_runs_in_a_layer(engine, fused):
    """A Neuron subclass with a __call__ of its own, in a Layer or an MLP: the Layer made
    the neurons' outputs itself and never called it (micrograd's Layer calls n(x))."""
    calls = []

    class Square(nn.Neuron):
        def __call__(self, x):
            calls.append(self)
            act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
            return act * act

    random.seed(0)
    layer = nn.Layer(2, 3, fused=fused, value_type=engine.Value)
    layer.neurons = [Square(2, fused=fused, value_type=engine.Value) for _ in range(3)]
    out = layer([1.0, 2.0])
    assert calls == layer.neurons
    assert [o.data for o in out] == [(n.b.data + n.w[0].data + 2 * n.w[1].data) ** 2 for n in layer.neurons]
    model = nn.MLP(2, [3, 1], fused=fused, value_type=engine.Value)
    model.layers[0] = layer
    model([1.0, 2.0])
    assert len(calls) == 6


def test_a_call_set_on_the_neuron_class_runs_in_a_layer(engine, monkeypatch):
    """A notebook may set its own Neuron.__call__ (the lecture's tanh): micrograd's Layer
    calls it."""
    original = nn.Neuron.__call__
    monkeypatch.setattr(nn.Neuron, "__call__", lambda self, x: original(self, x) * 2)
    random.seed(1)
    layer = nn.Layer(2, 2, value_type=engine.Value)
    assert [o.data for o in layer([1.0, -1.0])] == [2 * _by_hand(n, [1.0, -1.0]) for n in layer.neurons]


def test_a_neuron_subclass_that_skips_neurons_init_works(engine):
    """A subclass setting micrograd's w, b and nonlin itself (its own initialisation)
    without super().__init__: it read attributes only Neuron.__init__ sets."""
    class Ones(nn.Neuron):
        def __init__(self, nin, nonlin=True):
            self.w = [engine.Value(1.0 / (i + 1)) for i in range(nin)]
            self.b = engine.Value(-0.25)
            self.nonlin = nonlin

    layer = nn.Layer(3, 2, value_type=engine.Value)
    layer.neurons = [Ones(3), Ones(3, nonlin=False)]
    x = [0.5, -1.0, 2.0]
    out = layer(x)
    assert [o.data for o in out] == [_by_hand(n, x) for n in layer.neurons]
    out[0].backward()
    assert layer.neurons[0].w[0].grad == 0.5 and repr(layer.neurons[0]) == "ReLUNeuron(3)"


def test_any_callable_with_parameters_may_be_a_neuron(engine):
    """micrograd's Layer only calls n(x) and n.parameters(): an object of the user's own."""
    class Unit:
        def __init__(self):
            self.w = engine.Value(3.0)

        def __call__(self, x):
            return self.w * x[0]

        def parameters(self):
            return [self.w]

    layer = nn.Layer(1, 2, value_type=engine.Value)
    layer.neurons = [Unit(), Unit()]
    assert [o.data for o in layer([1.0])] == [3.0, 3.0]
    layer.neurons = [nn.Neuron(1, value_type=engine.Value), Unit()]  # behind a Neuron too
    assert layer([1.0])[1].data == 3.0
    assert len(layer.parameters()) == 3
