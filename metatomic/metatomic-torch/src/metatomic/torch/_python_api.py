"""Python-only parts of the API of the TorchScript classes, set on the classes
after they were compiled (TorchScript code uses the typed methods)."""

import copy

import torch

from metatensor_torch._python_api import _split_to_arguments

from ._serialization import system_getstate, system_setstate
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


def _system_deepcopy(self, memo):
    """A copy of every tensor, neighbor list and data of this system (pickling
    goes through the ``.mta`` format, which stores positions as float64)"""
    result = System(
        copy.deepcopy(self._types, memo),
        copy.deepcopy(self._positions, memo),
        copy.deepcopy(self._cell, memo),
        copy.deepcopy(self._pbc, memo),
    )
    for options, neighbors in zip(self._neighbor_options, self._neighbor_lists):
        result._neighbor_options.append(copy.deepcopy(options, memo))
        result._neighbor_lists.append(copy.deepcopy(neighbors, memo))
    for name, data in self._data.items():
        result._data[name] = copy.deepcopy(data, memo)
    return result


def install():
    """Add the Python-only methods to the (already compiled) classes"""
    System.to = _system_to
    # pickling uses the `.mta` format, like upstream
    System.__getstate__ = system_getstate
    System.__setstate__ = system_setstate
    System.__deepcopy__ = _system_deepcopy
