"""metatensor-torch: ``Labels``, ``TensorBlock`` and ``TensorMap`` for PyTorch,
usable from eager Python and inside TorchScript, with every operation of
metatensor-operations (e.g. ``metatensor.torch.sum_over_samples``).

The classes are TorchScript classes written in Python and compiled when this
package is imported: a model scripted and saved with them carries their code and
runs wherever libtorch runs, without this package.
"""

import sys

import torch

import metatensor

# fails with installation instructions when metatensor-core is out of range
from . import (  # noqa: E402
    _backend,
    _eager,
    _python_api,
    _saveable,
    _version_check,  # noqa: F401, I001
    utils,
)
from ._block import TensorBlock, dtype_name  # noqa: E402
from ._io import (  # noqa: E402
    load,
    load_block,
    load_block_buffer,
    load_buffer,
    load_labels,
    load_labels_buffer,
    save,
    save_buffer,
)
from ._labels import Labels, LabelsEntry  # noqa: E402
from ._tensor import TensorMap  # noqa: E402
from ._version import __version__  # noqa: E402

_eager.bind(Labels, LabelsEntry, TensorBlock, TensorMap)
_python_api.install()


for _class in (Labels, LabelsEntry, TensorBlock, TensorMap):
    # keep the TorchScript name (computed from the module that defines the class)
    # when showing the public module name
    _class._jit_override_qualname = torch._jit_internal._qualified_name(_class)
    _class.__module__ = "metatensor.torch"
del _class


def version() -> str:
    """Version of metatensor-torch, also inside TorchScript (which can not read
    ``__version__``: a test checks that the two agree)"""
    return "0.10.8"


from metatensor_operations._rebind import operations_with_backend  # noqa: E402

operations = sys.modules.get("metatensor.torch.operations")
if operations is None:
    operations = operations_with_backend("metatensor.torch.operations", _backend)

_OPERATIONS = [name for name in operations.__all__ if not name.startswith("__")]
_saveable.make_saveable(operations, _OPERATIONS)
globals().update({name: getattr(operations, name) for name in _OPERATIONS})

__all__ = [
    "Labels",
    "LabelsEntry",
    "TensorBlock",
    "TensorMap",
    "__version__",
    "dtype_name",
    "load",
    "load_block",
    "load_block_buffer",
    "load_buffer",
    "load_labels",
    "load_labels_buffer",
    "operations",
    "save",
    "save_buffer",
    "utils",
    "version",
] + _OPERATIONS


def __getattr__(name):
    # `metatensor.torch.learn` is built on first use: it needs metatensor-learn,
    # an optional dependency, and compiling its modules takes time
    if name == "learn":
        import importlib

        return importlib.import_module("metatensor.torch.learn")
    raise AttributeError(f"module 'metatensor.torch' has no attribute {name!r}")


# `import metatensor.torch` gives this module (the `metatensor/torch.py` of
# metatensor-core imports it), also when metatensor_torch was imported first
sys.modules["metatensor.torch"] = sys.modules[__name__]
metatensor.torch = sys.modules[__name__]
