"""SGD and Adam, shaped like ``torch.optim``, for any engine's ``Value``.

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for k in range(steps):
        loss = ...
        opt.zero_grad()
        loss.backward()
        opt.step()

The updates are PyTorch's formulas, in PyTorch's order of operations, so the
same gradients give the same parameters as ``torch.optim`` (to rounding). The
optimizer keeps its state (momentum buffers, Adam's moments) in lists indexed
like ``params``, not as attributes on the Values.

The learning rate is ``opt.lr``: set it yourself between steps, or let a
``LambdaLR`` set it to ``base_lr * lr_lambda(epoch)`` as torch's does.
"""

import math

__all__ = ["Optimizer", "SGD", "Adam", "LambdaLR"]


class Optimizer:
    """What SGD and Adam share: the parameters, the learning rate, zero_grad."""

    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        if not lr >= 0.0:
            raise ValueError(f"invalid learning rate: {lr}")
        self.lr = lr

    def zero_grad(self):
        for p in self.params:
            p.grad = 0.0

    def step(self):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with torch's momentum, dampening, Nesterov and weight decay.

    d = grad + weight_decay * p; the buffer is d on the first step, then
    b = momentum * b + (1 - dampening) * d; p -= lr * b (or, with Nesterov,
    p -= lr * (d + momentum * b)).
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        if momentum < 0.0 or weight_decay < 0.0:
            raise ValueError(f"invalid momentum {momentum} or weight_decay {weight_decay}")
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self.buffers = [None] * len(self.params)  # a momentum buffer per parameter, from step 1

    def step(self):
        for i, p in enumerate(self.params):
            d = p.grad
            if self.weight_decay != 0.0:
                d = d + self.weight_decay * p.data
            if self.momentum != 0.0:
                b = self.buffers[i]
                b = d if b is None else b * self.momentum + (1.0 - self.dampening) * d
                self.buffers[i] = b
                d = d + self.momentum * b if self.nesterov else b
            p.data = p.data - self.lr * d


class Adam(Optimizer):
    """Adam (Kingma & Ba), with torch's L2 ``weight_decay`` added to the gradient (not AdamW).

    m and v are running averages of the gradient and its square; the step is
    lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        beta1, beta2 = betas
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0):
            raise ValueError(f"invalid betas: {betas}")
        if eps < 0.0 or weight_decay < 0.0:
            raise ValueError(f"invalid eps {eps} or weight_decay {weight_decay}")
        self.betas = (beta1, beta2)
        self.eps = eps
        self.weight_decay = weight_decay
        self.t = 0  # steps taken
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def step(self):
        beta1, beta2 = self.betas
        self.t += 1
        step_size = self.lr / (1.0 - beta1 ** self.t)
        bias_correction2_sqrt = (1.0 - beta2 ** self.t) ** 0.5
        for i, p in enumerate(self.params):
            g = p.grad
            if self.weight_decay != 0.0:
                g = g + self.weight_decay * p.data
            # beta1 * m + (1 - beta1) * g, written as torch's lerp computes it
            m = self.m[i] = self.m[i] + (1.0 - beta1) * (g - self.m[i])
            v = self.v[i] = self.v[i] * beta2 + (1.0 - beta2) * g * g
            denom = math.sqrt(v) / bias_correction2_sqrt + self.eps
            p.data = p.data - step_size * (m / denom)


class LambdaLR:
    """Sets ``optimizer.lr = base_lr * lr_lambda(epoch)``; ``step()`` moves to the next epoch.

    As torch's LambdaLR: the lr of epoch 0 is set at once, and you call
    ``scheduler.step()`` after ``optimizer.step()``. micrograd's demo schedule
    is ``LambdaLR(SGD(params, lr=1.0), lambda k: 1.0 - 0.9 * k / steps)``.
    """

    def __init__(self, optimizer, lr_lambda):
        self.optimizer = optimizer
        self.lr_lambda = lr_lambda
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        optimizer.lr = self.base_lr * lr_lambda(0)

    def step(self):
        self.last_epoch += 1
        self.optimizer.lr = self.base_lr * self.lr_lambda(self.last_epoch)

    def get_last_lr(self):
        return self.optimizer.lr
