"""Saving and loading metatensor.torch data in the ``.mts`` format, the same as
metatensor-core (``metatensor.io``). The buffer functions also work inside
TorchScript, with buffers as 1-D uint8 CPU tensors. Files need Python: there is
no file API inside TorchScript."""

from typing import Union

import torch

from . import _eager
from ._block import TensorBlock
from ._labels import Labels, paths_error
from ._tensor import TensorMap


def save(file: str, data: Union[TensorMap, TensorBlock, Labels]):
    """Save ``data`` to ``file`` (in Python a str, a ``pathlib.Path`` or a binary
    file object). The file name is used as given (no extension is added), and the
    file is written atomically, like :py:func:`metatensor.io.save` does: a process
    killed while saving never leaves a truncated file."""
    if not torch.jit.is_scripting():
        return _eager.save(file, data)
    raise ValueError(paths_error())


def save_buffer(data: Union[TensorMap, TensorBlock, Labels]) -> torch.Tensor:
    """``data`` serialized in memory, as a 1-D uint8 tensor"""
    if not torch.jit.is_scripting():
        return _eager.save_buffer(data)
    if isinstance(data, TensorMap):
        return data.save_buffer()
    elif isinstance(data, TensorBlock):
        return data.save_buffer()
    else:
        return data.save_buffer()


def load(file: str) -> TensorMap:
    """Load a TensorMap saved with :py:func:`save`.

    Files are read as metatensor-core reads them (gradients of gradients
    included), and malformed files raise the same errors, except that inside
    TorchScript (with :py:func:`load_buffer`) DEFLATE-compressed members are
    refused."""
    return TensorMap.load(file)


def load_block(file: str) -> TensorBlock:
    """Load a TensorBlock saved with :py:func:`save`"""
    return TensorBlock.load(file)


def load_labels(file: str) -> Labels:
    """Load Labels saved with :py:func:`save`"""
    return Labels.load(file)


def load_buffer(buffer: torch.Tensor) -> TensorMap:
    """Load a TensorMap from a buffer made by :py:func:`save_buffer`"""
    return TensorMap.load_buffer(buffer)


def load_block_buffer(buffer: torch.Tensor) -> TensorBlock:
    """Load a TensorBlock from a buffer made by :py:func:`save_buffer`"""
    return TensorBlock.load_buffer(buffer)


def load_labels_buffer(buffer: torch.Tensor) -> Labels:
    """Load Labels from a buffer made by :py:func:`save_buffer`"""
    return Labels.load_buffer(buffer)
