"""Python-only parts of the API of the TorchScript classes, set on the classes
after they were compiled (TorchScript code uses the typed methods)."""

import torch

from metatensor_torch._python_api import _split_to_arguments

from ._system import System

_compiled_system_to = System.to


def _system_to(self, *args, dtype=None, device=None, non_blocking=False):
    """This system converted to ``dtype`` and/or moved to ``device`` (the dtype and
    device can be given positionally, in any order); the neighbor lists and data
    follow"""
    dtype, device = _split_to_arguments(args, dtype, device)
    if isinstance(device, str):
        device = torch.device(device)
    return _compiled_system_to(self, dtype, device, non_blocking)


def install():
    """Add the Python-only methods to the (already compiled) classes"""
    System.to = _system_to
