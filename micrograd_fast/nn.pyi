# micrograd's nn, typed. A Layer of one neuron returns a bare Value (micrograd's behaviour),
# so Layer and MLP calls are typed Any: a Value or a list of Values.
import random as random
from typing import Any, Iterable, Literal, Optional, Union

from .pure import Value as Value

__all__ = ["random", "Value", "Module", "Neuron", "Layer", "MLP"]

_Input = Union[Value, int, float]
_Activation = Literal["relu", "tanh", "sigmoid"]

ACTIVATIONS: dict[str, str]
FUSED: bool

class Module:
    def zero_grad(self) -> None: ...
    def parameters(self) -> list[Value]: ...

class Neuron(Module):
    w: list[Value]
    b: Value
    nonlin: bool
    activation: _Activation
    fused: bool
    def __init__(
        self, nin: int, nonlin: bool = ..., *, activation: _Activation = ...,
        value_type: Optional[type[Value]] = ..., fused: Optional[bool] = ...
    ) -> None: ...
    def __call__(self, x: Iterable[_Input]) -> Value: ...

class Layer(Module):
    neurons: list[Neuron]
    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None: ...
    def __call__(self, x: Iterable[_Input]) -> Any: ...

class MLP(Module):
    layers: list[Layer]
    def __init__(
        self, nin: int, nouts: list[int], *, activation: _Activation = ...,
        value_type: Optional[type[Value]] = ..., fused: Optional[bool] = ...
    ) -> None: ...
    def __call__(self, x: Iterable[_Input]) -> Any: ...
    def to_torch(self) -> Any: ...  # a torch.nn.Sequential
    @classmethod
    def from_torch(cls, seq: Any, **options: Any) -> MLP: ...
    def load_torch(self, seq: Any) -> MLP: ...
