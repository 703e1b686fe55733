"""An unmodified micrograd program: the README example, then a small MLP trained with SGD.

tests/test_dropin.py runs it with ``python -m micrograd_fast run``; it prints which
module its Value came from, and its command-line arguments.
"""
import random
import sys

import micrograd
from micrograd.engine import Value
from micrograd.nn import MLP

a = Value(-4.0)
b = Value(2.0)
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
print(f'{g.data:.4f}')  # prints 24.7041, the outcome of this forward pass
g.backward()
print(f'{a.grad:.4f}')  # prints 138.8338, i.e. the numerical value of dg/da
print(f'{b.grad:.4f}')  # prints 645.5773, i.e. the numerical value of dg/db

random.seed(1337)
xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
ys = [1.0, -1.0, -1.0, 1.0]
model = MLP(3, [4, 4, 1])
for k in range(20):
    ypred = [model([Value(x) for x in row]) for row in xs]
    loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data += -0.05 * p.grad
    if k == 0:
        first_loss = loss.data
print(f"loss {first_loss:.4f} -> {loss.data:.4f}")
print("Value from", type(Value(1.0)).__module__)
print("nn from", micrograd.nn.MLP.__module__)
print("main", __name__ == "__main__", "argv", sys.argv[1:])
