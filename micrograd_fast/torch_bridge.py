"""An MLP as a ``torch.nn.Sequential`` and back: ``MLP.to_torch()``, ``MLP.from_torch(seq)``.

The Sequential is float64 ``Linear`` layers with the MLP's activation (``ReLU``,
``Tanh`` or ``Sigmoid``) after each but the last, as micrograd's MLP computes; row ``j`` of a Linear's weight is neuron ``j``'s ``w``, its
bias is the neurons' ``b``. Weights are copied as float64 both ways, so a round trip
is exact. PyTorch is imported only when called.
"""


# the MLP's activation -> its torch module's class name
TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def to_torch(mlp):
    """A ``torch.nn.Sequential`` computing what ``mlp`` does, with a copy of its weights."""
    import torch

    modules = []
    for layer in mlp.layers:
        neurons = layer.neurons
        linear = torch.nn.Linear(len(neurons[0].w), len(neurons), dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in neurons],
                                              dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n.b.data for n in neurons], dtype=torch.float64))
        modules.append(linear)
        if neurons[0].nonlin:
            modules.append(getattr(torch.nn, TORCH_ACTIVATIONS[neurons[0].activation])())
    return torch.nn.Sequential(*modules)


def linear_layers(seq):
    """The Linear layers of ``seq`` and its activation's name, checked to be an MLP:
    Linear, ReLU, ..., Linear (or Tanh, or Sigmoid, the same one throughout)."""
    import torch

    modules = list(seq)
    linears = modules[0::2]
    # each module between two Linear layers, as the MLP's activation name (None if it is none)
    activations = {next((a for a, name in TORCH_ACTIVATIONS.items()
                         if type(m) is getattr(torch.nn, name)), None) for m in modules[1::2]}
    shaped_like_mlp = (
        len(modules) % 2 == 1
        and all(isinstance(m, torch.nn.Linear) and m.bias is not None for m in linears)
        and None not in activations and len(activations) <= 1
    )
    if not shaped_like_mlp:
        raise ValueError("from_torch needs a Sequential of Linear layers (with bias) with one "
                         "activation (ReLU, Tanh or Sigmoid) between each two, as micrograd's "
                         f"MLP; got {seq}")
    return linears, (activations.pop() if activations else "relu")


def load_torch(mlp, seq):
    """Copy the weights of ``seq`` (as to_torch makes it) into ``mlp``, which must have its shape."""
    linears, activation = linear_layers(seq)
    if activation != mlp.layers[0].neurons[0].activation and len(linears) > 1:
        raise ValueError(f"{seq} uses {TORCH_ACTIVATIONS[activation]}, and {mlp} does not")
    if [(lin.in_features, lin.out_features) for lin in linears] != \
            [(len(layer.neurons[0].w), len(layer.neurons)) for layer in mlp.layers]:
        raise ValueError(f"the shapes of {seq} and {mlp} differ")
    for layer, linear in zip(mlp.layers, linears):
        weights = linear.weight.detach().double().tolist()
        biases = linear.bias.detach().double().tolist()
        for neuron, row, bias in zip(layer.neurons, weights, biases):
            for w, number in zip(neuron.w, row):
                w.data = number
            neuron.b.data = bias
    return mlp


def from_torch(mlp_class, seq, **mlp_options):
    """A new ``mlp_class`` (an MLP) with the shape and weights of ``seq``."""
    linears, activation = linear_layers(seq)
    mlp = mlp_class(linears[0].in_features, [lin.out_features for lin in linears],
                    activation=activation, **mlp_options)
    return load_torch(mlp, seq)
