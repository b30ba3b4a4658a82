"""``torch.nn`` modules over metatensor TensorMaps: one torch module per block
(:py:class:`ModuleMap`), and the usual layers built on it.

The same modules exist in ``metatensor.torch.learn.nn``, for the TorchScript
classes of metatensor-torch: those script with ``torch.jit.script``.
"""

from ._activations import (
    InvariantReLU,
    InvariantSiLU,
    InvariantTanh,
    ReLU,
    SiLU,
    Tanh,
)
from ._equivariant import EquivariantTransformation
from ._layer_norm import InvariantLayerNorm, LayerNorm
from ._linear import EquivariantLinear, Linear
from ._module import Buffer, Module
from ._module_map import ModuleMap
from ._sequential import Sequential

__all__ = [
    "Buffer",
    "EquivariantLinear",
    "EquivariantTransformation",
    "InvariantLayerNorm",
    "InvariantReLU",
    "InvariantSiLU",
    "InvariantTanh",
    "LayerNorm",
    "Linear",
    "Module",
    "ModuleMap",
    "ReLU",
    "Sequential",
    "SiLU",
    "Tanh",
]
