"""metatomic-torch: atomistic models exported once and run in any simulation
engine.

:py:class:`System` holds the atoms an engine gives to a model,
:py:class:`NeighborListOptions` the neighbor lists a model asks for,
:py:class:`ModelOutput`, :py:class:`ModelCapabilities` and
:py:class:`ModelMetadata` describe a model, and :py:class:`AtomisticModel` wraps
a model to save it as one TorchScript file that any engine loads.

The classes are TorchScript classes written in Python, compiled when this package
is imported: an exported model carries their code and runs wherever libtorch
runs, without this package.
"""

import torch

# fails with installation instructions when metatensor-torch is out of range
from . import _version_check  # noqa: F401

# isort: split
from . import _python_api, utils
from ._ase_systems import systems_to_torch
from ._devices import pick_device, pick_output
from ._export import (
    check_atomistic_model,
    load_atomistic_model,
    load_model_extensions,
    read_model_metadata,
)
from ._metadata import ModelMetadata
from ._model import AtomisticModel, ModelInterface, is_atomistic_model
from ._neighbors import NeighborListOptions
from ._outputs import ModelCapabilities, ModelEvaluationOptions, ModelOutput
from ._quantities import unit_dimension_for_quantity
from ._serialization import load_system, load_system_buffer, save, save_buffer
from ._system import System, register_autograd_neighbors
from ._units import unit_conversion_factor
from ._version import __version__

# isort: split
# the O(3) wrappers, after the classes they use (importing them costs ~35 ms:
# scipy is only imported when a quadrature is computed)
from . import o3

_python_api.install()

for _class in (
    System,
    NeighborListOptions,
    ModelOutput,
    ModelCapabilities,
    ModelEvaluationOptions,
    ModelMetadata,
):
    # keep the TorchScript name (computed from the defining module) while showing
    # the public module
    _class._jit_override_qualname = torch._jit_internal._qualified_name(_class)
    _class.__module__ = "metatomic.torch"
del _class
for _function in (AtomisticModel, ModelInterface):
    _function.__module__ = "metatomic.torch"
del _function

__all__ = [
    "AtomisticModel",
    "ModelCapabilities",
    "ModelEvaluationOptions",
    "ModelInterface",
    "ModelMetadata",
    "ModelOutput",
    "NeighborListOptions",
    "System",
    "__version__",
    "check_atomistic_model",
    "is_atomistic_model",
    "load_atomistic_model",
    "load_model_extensions",
    "load_system",
    "load_system_buffer",
    "o3",
    "pick_device",
    "pick_output",
    "read_model_metadata",
    "register_autograd_neighbors",
    "save",
    "save_buffer",
    "systems_to_torch",
    "unit_conversion_factor",
    "unit_dimension_for_quantity",
    "utils",
]


def __getattr__(name):
    # the deprecated path of the ASE calculator, imported on first use (it needs
    # metatomic-ase, and ASE)
    if name == "ase_calculator":
        import importlib

        return importlib.import_module("metatomic.torch.ase_calculator")
    raise AttributeError(f"module 'metatomic.torch' has no attribute {name!r}")
