"""metatensor-learn: ``torch.nn`` modules over metatensor TensorMaps
(:py:mod:`metatensor.learn.nn`) and data loading helpers that batch them
(:py:mod:`metatensor.learn.data`).

The modules here work with the metatensor-core classes holding torch arrays;
``metatensor.torch.learn`` has the same modules for the TorchScript classes of
metatensor-torch.
"""

import importlib.util
import sys

if importlib.util.find_spec("torch") is None:
    raise ImportError(
        "metatensor-learn needs torch, which is not installed: install it with "
        "`pip install torch` (see https://pytorch.org for the CUDA builds), or "
        '`pip install "metatensor-learn[torch]"`'
    )

import metatensor  # noqa: E402

# fails with installation instructions when a sibling is out of range
from . import (  # noqa: E402
    _version_check,  # noqa: E402, F401, I001
    data,
    nn,
)
from ._version import __version__  # noqa: E402
from .data import DataLoader, Dataset, IndexedDataset  # noqa: E402
from .nn import Linear, ModuleMap  # noqa: E402

__all__ = [
    "DataLoader",
    "Dataset",
    "IndexedDataset",
    "Linear",
    "ModuleMap",
    "__version__",
    "data",
    "nn",
]

# `import metatensor.learn` (through metatensor-core's `metatensor/learn.py`)
# gives this package, and `metatensor.learn.nn` its `nn` module, whichever is
# imported first
sys.modules["metatensor.learn"] = sys.modules[__name__]
sys.modules["metatensor.learn.nn"] = nn
sys.modules["metatensor.learn.data"] = data
metatensor.learn = sys.modules[__name__]
