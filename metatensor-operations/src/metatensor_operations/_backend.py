"""The classes and shims the operations are written against.

Operations import metatensor classes (and anything torch-related) only from this
module. metatensor-torch executes the same operation modules a second time with
its own version of this module, which binds the TorchScript classes and the real
``torch``, and compiles them with ``torch.jit.script``: the operations are written
once for both. The two versions must define the same names (a test checks it).

Here, for metatensor-core, ``torch`` and ``TorchTensor`` are resolved lazily: torch
is never imported by the operations themselves, so ``import metatensor`` stays
fast, and a torch tensor can only reach an operation once the user imported
torch.
"""

import sys

from metatensor import Labels, LabelsEntry, TensorBlock, TensorMap

__all__ = [
    "Labels",
    "LabelsEntry",
    "LabelsIndexError",
    "TensorBlock",
    "TensorMap",
    "TorchTensor",  # noqa: F822 (resolved by __getattr__)
    "torch",  # noqa: F822 (resolved by __getattr__)
    "torch_jit_is_scripting",
    "torch_jit_script",
]


# the class of an index out of bounds in the Labels an operation changes:
# metatensor-core's Labels raise IndexError
LabelsIndexError = IndexError


def torch_jit_is_scripting() -> bool:
    """Whether the code runs inside TorchScript (never, with these classes)"""
    return False


def torch_jit_script(function):
    """Compile ``function`` with TorchScript (a no-op with these classes)"""
    return function


class _NoTorchTensor:
    """Stands for ``torch.Tensor`` while torch is not imported: no object is an
    instance of it"""


def __getattr__(name):
    # `TorchTensor` and `torch` are looked up when used, and cached once torch is
    # imported
    torch = sys.modules.get("torch")
    if name == "TorchTensor":
        if torch is None:
            return _NoTorchTensor
        globals()["TorchTensor"] = torch.Tensor
        return torch.Tensor
    elif name == "torch":
        if torch is None:
            import torch
        globals()["torch"] = torch
        return torch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
