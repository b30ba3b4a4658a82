"""The classes and helpers the ``nn`` modules are written against.

The modules import metatensor classes only from this module. metatensor-torch
executes this ``nn`` package a second time (as ``metatensor.torch.learn.nn``)
with its own version of this module, binding the TorchScript classes, so that
the same modules script with ``torch.jit.script``. Both versions define the
names in ``__all__`` (a test checks it).

Here: the metatensor-core classes, holding torch arrays.
"""

import numpy as np
import torch

import metatensor
from metatensor import Labels, LabelsEntry, TensorBlock, TensorMap

__all__ = [
    "Labels",
    "LabelsEntry",
    "TensorBlock",
    "TensorMap",
    "labels_on",
    "make_labels",
    "load_buffer",
    "move",
    "sample_indices",
    "save_buffer",
]


def save_buffer(value) -> torch.Tensor:
    """``value`` (Labels, TensorBlock or TensorMap) in the ``.mts`` format, as a
    1-D uint8 tensor"""
    return torch.frombuffer(
        bytearray(metatensor.io.save_buffer(value)), dtype=torch.uint8
    )


def load_buffer(kind: str, buffer: torch.Tensor):
    """The object of class ``kind`` (``"Labels"``, ``"TensorBlock"`` or
    ``"TensorMap"``) in ``buffer`` (made by :py:func:`save_buffer`), with torch
    arrays on the CPU"""
    data = buffer.numpy().tobytes()
    if kind == "Labels":
        return metatensor.io.load_labels_buffer(data)
    elif kind == "TensorBlock":
        return metatensor.io.load_block_buffer_custom_array(
            data, metatensor.io.create_torch_array
        )
    return metatensor.io.load_buffer_custom_array(
        data, metatensor.io.create_torch_array
    )


def move(value, dtype, device):
    """``value`` (Labels, TensorBlock or TensorMap) converted to ``dtype``
    (ignored for Labels and when ``None``) and moved to ``device`` (when not
    ``None``). Data off the CPU is held in torch arrays."""
    arrays = None if device is None or str(device) == "cpu" else "torch"
    if isinstance(value, Labels):
        return value.to(device=device, arrays=arrays)
    return value.to(dtype=dtype, device=device, arrays=arrays)


def labels_on(labels: Labels, device: torch.device) -> Labels:
    """``labels`` on ``device`` (the device of some torch data)"""
    if str(labels.device) == str(device):
        return labels
    return move(labels, None, device)


def make_labels(names, values) -> Labels:
    """Labels with these ``names`` and ``values`` (a list of lists of int)"""
    array = np.array(values, dtype=np.int32).reshape(-1, len(names))
    return Labels(names, array)


def sample_indices(samples: Labels, device: torch.device) -> torch.Tensor:
    """The first column of gradient ``samples`` (the row of the values each
    gradient row refers to), as int64 indices on ``device``"""
    column = samples.values[:, 0]
    if isinstance(column, torch.Tensor):
        return column.to(dtype=torch.int64, device=device)
    return torch.from_numpy(column.astype(np.int64)).to(device)
