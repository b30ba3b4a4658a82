"""The backend of metatensor-learn's ``nn`` modules for metatensor-torch: the
TorchScript classes of this package (see ``metatensor_learn/nn/_backend.py`` for
the contract). The functions called by ``forward`` methods are TorchScript
compatible."""

from typing import List

import torch

from ._block import TensorBlock
from ._io import save_buffer
from ._labels import Labels, LabelsEntry
from ._tensor import TensorMap

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

_CLASSES = {"Labels": Labels, "TensorBlock": TensorBlock, "TensorMap": TensorMap}


def load_buffer(kind: str, buffer: torch.Tensor):
    """The object of class ``kind`` (``"Labels"``, ``"TensorBlock"`` or
    ``"TensorMap"``) in ``buffer`` (made by :py:func:`save_buffer`)"""
    return _CLASSES[kind].load_buffer(buffer)


def move(value, dtype, device):
    """``value`` (Labels, TensorBlock or TensorMap) converted to ``dtype``
    (ignored for Labels and when ``None``) and moved to ``device`` (when not
    ``None``)"""
    if isinstance(value, Labels):
        return value if device is None else value.to(device)
    return value.to(dtype=dtype, device=device)


def labels_on(labels: Labels, device: torch.device) -> Labels:
    """``labels`` on ``device`` (the device of some torch data)"""
    return labels.to(device)


def make_labels(names: List[str], values: List[List[int]]) -> Labels:
    """Labels with these ``names`` and ``values``"""
    array = torch.tensor(values, dtype=torch.int32).reshape(-1, len(names))
    return Labels(names, array)


def sample_indices(samples: Labels, device: torch.device) -> torch.Tensor:
    """The first column of gradient ``samples`` (the row of the values each
    gradient row refers to), as int64 indices on ``device``"""
    return samples.values[:, 0].to(dtype=torch.int64, device=device)
