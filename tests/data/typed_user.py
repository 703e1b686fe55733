"""A user's typed program: tests/test_typing.py checks it with ``mypy --strict``."""
from array import array

from micrograd_fast.datasets import make_moons
from micrograd_fast.engine import Graph, Value
from micrograd_fast.nn import MLP
from micrograd_fast.optim import SGD, Adam, LambdaLR
from micrograd_fast.viz import draw_dot


def neuron(x1: Value, x2: Value) -> Value:
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    n = x1 * w1 + x2 * w2 + 6.8813735870195432
    n.label = "n"
    return n.tanh()


def all_ops(a: Value, b: Value) -> Value:
    out = a + b + 1 + 2.5 + (1 + a) + (2.0 - b) + (a - 1) + (a - b)
    out = out * b * 2 + 3 * a + 0.5 * b
    out = out / b / 2 + 1 / a + 1.0 / b
    out = out ** 2 + a ** b + 2 ** a + 1.5 ** b + (-a)
    out = out.relu() + a.exp() + b.log() + a.sigmoid()
    return out + Value.dot([a, b], [1.0, b], 0.5)


def custom_op(a: Value) -> Value:
    out = Value(a.data * 3, (a,), "triple")

    def _backward() -> None:
        a.grad += 3 * out.grad

    out._backward = _backward
    return out


x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
o = neuron(x1, x2)
o.backward()
grads: list[float] = [x1.grad, x2.grad]
ops: list[str] = [child._op for child in o._prev]
y = all_ops(Value(0.5), Value(2.0))
graph = Graph(y)  # replayable: built-in ops only
z = custom_op(y)
z.backward()
loss: float = graph.forward()
graph.backward()
x1.data = 3
x1.grad = 0.0
print(grads, ops, loss, len(graph), repr(z))

model = MLP(2, [4, 1])
score = model([Value(1.0), 2.0])
params: list[Value] = model.parameters()
model.zero_grad()
print(model, score, len(params), model.layers[0].neurons[0].w[0].data)

points = [Value(0.0), Value(0.0)]
fed = Graph(model(points), inputs=points)
fed_inputs: tuple[Value, ...] = fed.inputs
print(fed.forward([0.5, -1.0]), fed.forward(array("d", [1.0, 2.0])), len(fed_inputs))

# the README's tour: a data set, the optimizers and a schedule, a picture of the graph
X, labels = make_moons(n_samples=50, noise=0.1, random_state=0)
targets = [2 * label - 1 for label in labels]
tour, steps = MLP(2, [16, 16, 1]), 3
opt = SGD(tour.parameters(), lr=1.0)
adam = Adam(tour.parameters(), lr=1e-2)
schedule = LambdaLR(opt, lambda k: 1.0 - 0.9 * k / steps)
for k in range(steps):
    scores = [tour([Value(a), Value(b)]) for a, b in X]
    tour_loss = sum((1 + -yi * s).relu() for yi, s in zip(targets, scores)) * (1.0 / len(targets))
    opt.zero_grad()
    tour_loss.backward()
    opt.step()
    schedule.step()
adam.zero_grad()
adam.step()
lr: float = schedule.get_last_lr()
dot = draw_dot(o)  # shows itself in Jupyter; dot.render("neuron") writes neuron.svg
print(tour_loss.data, lr, len(dot.body))
