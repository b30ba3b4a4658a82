"""``metatensor.torch.learn``: the modules of metatensor-learn for the
TorchScript classes of metatensor-torch (they script with ``torch.jit.script``),
and its data loading helpers (the same as in ``metatensor.learn``, they handle
both kinds of TensorMap).

The ``nn`` modules are metatensor-learn's source executed a second time against
these classes, as ``metatensor.torch.learn.nn``.
"""

import importlib.util
import pathlib
import sys

if importlib.util.find_spec("metatensor_learn") is None:
    raise ImportError(
        "metatensor.torch.learn needs the metatensor-learn package, which is not "
        "installed: `pip install metatensor-learn`"
    )

import metatensor_learn  # noqa: E402
from metatensor_learn import data  # noqa: E402
from metatensor_learn.data import DataLoader, Dataset, IndexedDataset  # noqa: E402
from metatensor_operations._rebind import package_with_backend  # noqa: E402

from . import _learn_backend  # noqa: E402

_NAME = "metatensor.torch.learn"

nn = sys.modules.get(_NAME + ".nn")
if nn is None:
    nn = package_with_backend(
        _NAME + ".nn", _learn_backend, pathlib.Path(metatensor_learn.nn.__file__).parent
    )
sys.modules.setdefault(_NAME + ".data", data)

Linear = nn.Linear
ModuleMap = nn.ModuleMap
__version__ = metatensor_learn.__version__

__all__ = [
    "DataLoader",
    "Dataset",
    "IndexedDataset",
    "Linear",
    "ModuleMap",
    "data",
    "nn",
]
