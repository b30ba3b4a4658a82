"""metatensor: labelled block-sparse tensors for atomistic machine learning.

``Labels`` describe the entries along one axis, ``TensorBlock`` holds one dense
array (numpy or torch) with its labels and gradients, and ``TensorMap`` is a
collection of blocks identified by keys. ``metatensor.io`` reads and writes them in
the ``.mts`` format. The operations of the metatensor-operations package (when it
is installed) are available here too, e.g. ``metatensor.add``.
"""

import importlib
import importlib.util
import typing
import warnings

import numpy as np

from . import io, utils
from ._block import TensorBlock
from ._errors import MetatensorError
from ._labels import Labels, LabelsEntry
from ._tensor import TensorMap
from ._version import __version__
from .io import load, load_block, load_labels, save

#: Any array type metatensor can store: a numpy ndarray or a torch Tensor
Array = typing.NewType("Array", typing.Union[np.ndarray, "torch.Tensor"])  # noqa: F821

HAS_METATENSOR_OPERATIONS = (
    importlib.util.find_spec("metatensor_operations") is not None
)

for _class in (Labels, LabelsEntry, TensorBlock, TensorMap, MetatensorError):
    _class.__module__ = "metatensor"
del _class

__all__ = [
    "Array",
    "Labels",
    "LabelsEntry",
    "MetatensorError",
    "TensorBlock",
    "TensorMap",
    "__version__",
    "io",
    "load",
    "load_block",
    "load_labels",
    "save",
    "utils",
]


class _DeviceWarning(UserWarning):
    """Former warning about data on different devices, no longer emitted"""


def __getattr__(name):
    if name == "DeviceWarning":
        warnings.warn(
            "metatensor.DeviceWarning is deprecated and never emitted anymore, "
            "stop using it",
            DeprecationWarning,
            stacklevel=2,
        )
        return _DeviceWarning
    # operations (metatensor.add, metatensor.sum_over_samples, ...) are resolved
    # lazily, so that `import metatensor` stays fast
    if name.startswith("__"):
        raise AttributeError(f"module 'metatensor' has no attribute '{name}'")
    if not HAS_METATENSOR_OPERATIONS:
        raise AttributeError(
            f"module 'metatensor' has no attribute '{name}'; if it is an operation, "
            "it comes from the metatensor-operations package, which is not "
            "installed: `pip install metatensor-operations`"
        )
    operations = importlib.import_module("metatensor.operations")
    if name == "operations":
        return operations
    try:
        return getattr(operations, name)
    except AttributeError:
        raise AttributeError(f"module 'metatensor' has no attribute '{name}'") from None
