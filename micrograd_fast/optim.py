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

When every parameter is a Value of the compiled engine (and the hyperparameters are
floats or ints), ``zero_grad()`` and ``step()`` run as one C loop in the engine,
with the same arithmetic in the same order as the Python loops here: the same
numbers, bit for bit.
"""

from __future__ import annotations

import math
import sys
from array import array
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType
    from typing import Callable, Iterable, MutableSequence, Optional, Sized

    from .pure import Value  # any engine's Value: engine.pyi and _engine.pyi alias pure.pyi's

__all__ = ["Optimizer", "SGD", "Adam", "LambdaLR"]


def _compiled_engine() -> Optional[ModuleType]:
    """The compiled engine's module when it is loaded (it is, when its Values exist), else None."""
    return sys.modules.get("micrograd_fast._engine")


def _zeros(n: int) -> array[float]:
    return array("d", bytes(8 * n))


def _plain(*numbers: object) -> bool:
    """Whether the C loops may take these hyperparameters as doubles: each is a float or
    an int, whose arithmetic with a float is the double's. Any other number (a Decimal, a
    float subclass with operators of its own) gets the Python loop, which does the
    arithmetic with it as given, as the pure engine's Values get."""
    return all(type(x) is float or type(x) is int or type(x) is bool for x in numbers)


class Optimizer:
    """What SGD and Adam share: the parameters, the learning rate, zero_grad."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        if not lr >= 0.0:
            raise ValueError(f"invalid learning rate: {lr}")
        self.lr = lr
        # its loops return False, having done nothing, unless every parameter is its Value
        self._engine = _compiled_engine()

    def zero_grad(self) -> None:
        if self._engine is not None and self._engine._zero_grads(self.params):
            return
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError

    def _check_state(self, *states: Sized) -> None:
        """Parameters added to ``params`` after the optimizer was made have no state."""
        for state in states:
            if len(state) != len(self.params):
                raise ValueError(f"the optimizer has {len(state)} state entries for "
                                 f"{len(self.params)} parameters")


class SGD(Optimizer):
    """Stochastic gradient descent, with torch's momentum, dampening, Nesterov and weight decay.

    d = grad + weight_decay * p; the buffer is d on the first step, then
    b = momentum * b + (1 - dampening) * d; p -= lr * b (or, with Nesterov,
    p -= lr * (d + momentum * b)).
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, lr)
        if momentum < 0.0 or weight_decay < 0.0:
            raise ValueError(f"invalid momentum {momentum} or weight_decay {weight_decay}")
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        # a momentum buffer per parameter ...
        self.buffers: MutableSequence[float] = _zeros(len(self.params))
        self.t = 0  # ... which is d on the first step (torch's), then the running sum

    def step(self) -> None:
        self._check_state(self.buffers)
        first = self.t == 0
        if not (self._engine is not None
                and _plain(self.lr, self.momentum, self.dampening, self.weight_decay)
                and self._engine._sgd_step(self.params, self.buffers, self.lr, self.momentum,
                                           self.dampening, self.weight_decay, self.nesterov, first)):
            for i, p in enumerate(self.params):
                d = p.grad
                if self.weight_decay != 0.0:
                    d = d + self.weight_decay * p.data
                if self.momentum != 0.0:
                    b = self.buffers[i]
                    b = d if first else b * self.momentum + (1.0 - self.dampening) * d
                    self.buffers[i] = b
                    d = d + self.momentum * b if self.nesterov else b
                p.data = p.data - self.lr * d
        self.t += 1  # counted once taken: a step that raised is not


class Adam(Optimizer):
    """Adam (Kingma & Ba), with torch's L2 ``weight_decay`` added to the gradient (not AdamW).

    m and v are running averages of the gradient and its square; the step is
    lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps).
    """

    def __init__(self, params: Iterable[Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
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
        self.m: MutableSequence[float] = _zeros(len(self.params))
        self.v: MutableSequence[float] = _zeros(len(self.params))

    def step(self) -> None:
        self._check_state(self.m, self.v)
        beta1, beta2 = self.betas
        t = self.t + 1  # this step's number, kept once the step is taken: one that raised is not
        step_size = self.lr / (1.0 - beta1 ** t)
        bias_correction2_sqrt = (1.0 - beta2 ** t) ** 0.5
        if not (self._engine is not None
                and _plain(beta1, beta2, self.eps, self.weight_decay, step_size, bias_correction2_sqrt)
                and self._engine._adam_step(self.params, self.m, self.v, beta1, beta2, self.eps,
                                            self.weight_decay, step_size, bias_correction2_sqrt)):
            for i, p in enumerate(self.params):
                g = p.grad
                if self.weight_decay != 0.0:
                    g = g + self.weight_decay * p.data
                # beta1 * m + (1 - beta1) * g, written as torch's lerp computes it
                m = self.m[i] = self.m[i] + (1.0 - beta1) * (g - self.m[i])
                v = self.v[i] = self.v[i] * beta2 + (1.0 - beta2) * g * g
                denom = math.sqrt(v) / bias_correction2_sqrt + self.eps
                p.data = p.data - step_size * (m / denom)
        self.t = t


class LambdaLR:
    """Sets ``optimizer.lr = base_lr * lr_lambda(epoch)``; ``step()`` moves to the next epoch.

    As torch's LambdaLR: the lr of epoch 0 is set at once, and you call
    ``scheduler.step()`` after ``optimizer.step()``. micrograd's demo schedule
    is ``LambdaLR(SGD(params, lr=1.0), lambda k: 1.0 - 0.9 * k / steps)``.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]) -> None:
        self.optimizer = optimizer
        self.lr_lambda = lr_lambda
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        optimizer.lr = self.base_lr * lr_lambda(0)

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.lr = self.base_lr * self.lr_lambda(self.last_epoch)

    def get_last_lr(self) -> float:
        return self.optimizer.lr
