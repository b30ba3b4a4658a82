"""The backend of the operations for metatensor-torch: the TorchScript classes of
this package and the real TorchScript functions (see
``metatensor_operations._backend`` for the contract)"""

import torch

from ._block import TensorBlock
from ._labels import Labels, LabelsEntry
from ._tensor import TensorMap

__all__ = [
    "Labels",
    "LabelsEntry",
    "LabelsIndexError",
    "TensorBlock",
    "TensorMap",
    "TorchTensor",
    "torch",
    "torch_jit_is_scripting",
    "torch_jit_script",
]

# upstream's operations are TorchScript functions calling C++ code, where an index
# out of bounds in Labels surfaces as a RuntimeError
LabelsIndexError = RuntimeError
TorchTensor = torch.Tensor
torch_jit_is_scripting = torch.jit.is_scripting
torch_jit_script = torch.jit.script
