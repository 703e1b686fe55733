"""W4B: the demo's training as a numpy or PyTorch user writes it, as matrices over the batch.

The same MLP (the weights ``micrograd_fast.nn`` draws for the same seed), the same
max-margin loss plus L2, the same learning rates: the losses agree with the scalar
engines' to rounding (the sums run in another order), which the bench checks before
timing. Both run in float64; PyTorch on one thread. ``step(k)`` returns (loss, scores);
``parameters()`` and ``gradients()`` list the numbers in ``MLP.parameters()``'s order.
"""

from .. import training
from ..pure import Value


def initial_layers(seed=training.SEED):
    """Each layer's (weights, biases) as lists: row j of the weights is neuron j's ``w``."""
    mlp = training.new_mlp(seed=seed, value_type=Value)
    return [([[w.data for w in n.w] for n in layer.neurons], [n.b.data for n in layer.neurons])
            for layer in mlp.layers]


def flat(layers):
    """Weights and biases as ``MLP.parameters()`` lists them: per neuron, its w then its b."""
    return [float(x) for weights, biases in layers
            for row, bias in zip(weights.tolist(), biases.tolist()) for x in row + [bias]]


class NumpyTraining:
    """Forward and backward written by hand, as numpy has no autograd."""

    def __init__(self, X, y, steps, seed=training.SEED):
        import numpy as np
        self.np = np
        self.X = np.array(X, dtype=np.float64)
        self.y = np.array(y, dtype=np.float64)
        self.steps = steps
        self.layers = [(np.array(w, dtype=np.float64), np.array(b, dtype=np.float64))
                       for w, b in initial_layers(seed)]
        self.grads = [(np.zeros_like(w), np.zeros_like(b)) for w, b in self.layers]

    def step(self, k):
        np, y, last = self.np, self.y, len(self.layers) - 1
        # forward, keeping each layer's input and its pre-activation for the backward pass
        h, inputs, pre = self.X, [], []
        for i, (w, b) in enumerate(self.layers):
            inputs.append(h)
            z = h @ w.T + b
            pre.append(z)
            h = np.maximum(z, 0.0) if i < last else z
        scores = h[:, 0]
        margins = 1.0 + -y * scores
        data_loss = np.maximum(margins, 0.0).sum() * (1.0 / len(y))
        reg_loss = training.L2 * sum((w * w).sum() + (b * b).sum() for w, b in self.layers)
        loss = data_loss + reg_loss
        # backward: d is the gradient of the loss with respect to the current layer's output
        d = (np.where(margins > 0.0, -y, 0.0) * (1.0 / len(y)))[:, None]
        for i in range(last, -1, -1):
            w, b = self.layers[i]
            if i < last:
                d = d * (pre[i] > 0.0)
            self.grads[i] = (d.T @ inputs[i] + 2 * training.L2 * w,
                             d.sum(axis=0) + 2 * training.L2 * b)
            d = d @ w
        lr = training.learning_rate(k, self.steps)
        for (w, b), (dw, db) in zip(self.layers, self.grads):
            w -= lr * dw
            b -= lr * db
        return loss, scores

    def parameters(self):
        return flat(self.layers)

    def gradients(self):
        return flat(self.grads)


class TorchTraining:
    """``torch.nn.Sequential`` (``MLP.to_torch()``), autograd and ``torch.optim.SGD``."""

    def __init__(self, X, y, steps, seed=training.SEED):
        import torch
        self.torch = torch
        torch.set_num_threads(1)
        mlp = training.new_mlp(seed=seed, value_type=Value)
        self.model = mlp.to_torch()
        self.X = torch.tensor(X, dtype=torch.float64)
        self.y = torch.tensor(y, dtype=torch.float64)
        self.params = list(self.model.parameters())
        self.optimizer = torch.optim.SGD(self.params, lr=1.0)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda k: training.learning_rate(k, steps))

    def step(self, k):
        # the schedule counts the steps itself; k is the same count
        torch = self.torch
        scores = self.model(self.X)[:, 0]
        data_loss = torch.relu(1.0 + -self.y * scores).sum() * (1.0 / len(self.y))
        loss = data_loss + training.L2 * sum((p * p).sum() for p in self.params)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.schedule.step()
        return loss, scores

    def parameters(self):
        return flat([(w.detach(), b.detach()) for w, b in zip(self.params[0::2], self.params[1::2])])

    def gradients(self):
        return flat([(w.grad, b.grad) for w, b in zip(self.params[0::2], self.params[1::2])])
