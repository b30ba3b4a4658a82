"""``torch.jit.save`` for the operations.

Upstream, every operation of ``metatensor.torch`` is a ``torch.jit.ScriptFunction``
that ``torch.jit.save`` accepts. Here the operations stay Python functions (they
keep their eager fast paths, and TorchScript compiles them where scripted code
calls them), with the ``save`` and ``save_to_buffer`` methods ``torch.jit.save``
calls: they compile the function on first use and save the compiled function.
"""

import functools
import inspect
import types

import torch


@functools.cache
def _scripted(function) -> torch.jit.ScriptFunction:
    return torch.jit.script(function)


def make_saveable(module: types.ModuleType, names):
    """Give the functions ``names`` of ``module`` the ``save`` and
    ``save_to_buffer`` methods of a ``torch.jit.ScriptFunction``"""
    for name in names:
        function = getattr(module, name)
        if not inspect.isfunction(function):
            continue

        def save(file, _extra_files=None, function=function):
            """Compile this operation and save it (see ``torch.jit.save``)"""
            _scripted(function).save(file, _extra_files=_extra_files or {})

        def save_to_buffer(_extra_files=None, function=function) -> bytes:
            """Compile this operation and save it in memory"""
            return _scripted(function).save_to_buffer(_extra_files=_extra_files or {})

        function.save = save
        function.save_to_buffer = save_to_buffer
