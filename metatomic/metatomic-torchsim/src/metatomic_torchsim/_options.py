"""Checking the arguments of :py:class:`MetatomicModel` and choosing the outputs
(and their variants) it requests from the model.

The variants are resolved with the rules of the ASE calculator
(``metatomic_ase``), so that both engines use the same outputs of a model for
the same arguments.
"""

import os
import sys
import warnings
from typing import Dict, NamedTuple, Optional

import numpy as np
import torch
import torch_sim

from metatensor.torch import TensorBlock
from metatomic.torch import (
    AtomisticModel,
    ModelOutput,
    is_atomistic_model,
    load_atomistic_model,
    pick_output,
)
from metatomic_ase._options import has_output, pick_derived_output, resolve_variants

# frames of torch-sim (integrators, runners) and torch (Module.__call__) are
# skipped to point warnings at the code of the user
_SKIPPED = tuple(
    os.path.dirname(os.path.abspath(module.__file__)) + os.sep
    for module in (sys.modules[__name__], torch_sim, torch)
)

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def warn(message: str, category=UserWarning):
    """``warnings.warn``, pointing at the first caller outside of this package,
    torch-sim and torch"""
    frame = sys._getframe(0)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_SKIPPED):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def load_model(model, extensions_directory) -> AtomisticModel:
    """The :py:class:`AtomisticModel` given as ``model``: a path to a saved
    model, an :py:class:`AtomisticModel` or a scripted one (wrapped in the
    Python class, as :py:func:`load_atomistic_model` does, for its checks and
    readable errors)"""
    if isinstance(model, (str, os.PathLike)):
        if extensions_directory is not None:
            extensions_directory = os.fspath(extensions_directory)
        return load_atomistic_model(os.fspath(model), extensions_directory)
    if isinstance(model, torch.jit.ScriptModule) and is_atomistic_model(model):
        return AtomisticModel(model, model.metadata(), model.capabilities())
    if not is_atomistic_model(model):
        raise TypeError(
            "`model` must be the path to a saved model, an AtomisticModel or a "
            f"scripted AtomisticModel, got {type(model).__name__}"
        )
    return model


def check_number(value, name: str, allow_zero: bool):
    """Check that ``value`` is a positive number (or zero with ``allow_zero``)"""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.number)
    ):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    if not (value >= 0.0 if allow_zero else value > 0.0):
        raise ValueError(f"`{name}` must be positive, got {value}")


def check_non_conservative(value):
    if not isinstance(value, (bool, str)) or value not in (
        False,
        True,
        "forces",
        "stress",
    ):
        raise ValueError(
            "`non_conservative` must be False, True, 'forces' or 'stress', got "
            f"{value!r}"
        )


def check_additional_outputs(
    additional_outputs, outputs: Dict[str, ModelOutput]
) -> Dict[str, ModelOutput]:
    """The ``additional_outputs`` (``{}`` for ``None``), checked against the
    ``outputs`` of the model"""
    if additional_outputs is None:
        return {}
    if not isinstance(additional_outputs, dict) or not all(
        isinstance(name, str) and isinstance(output, ModelOutput)
        for name, output in additional_outputs.items()
    ):
        raise TypeError(
            "`additional_outputs` must be a dict of output name (str) => "
            f"ModelOutput, got {additional_outputs!r}"
        )
    for name in additional_outputs:
        if name not in outputs:
            raise ValueError(
                f"the model does not have the output {name!r} requested in "
                f"`additional_outputs`, its outputs are {sorted(outputs)}"
            )
    return dict(additional_outputs)


class OutputNames(NamedTuple):
    """The names (with their variant) of the outputs used by the engine"""

    #: the energy
    energy: str
    #: the per-atom energy uncertainty to check, if any
    uncertainty: Optional[str]
    #: the non-conservative forces replacing the gradients of the energy, if any
    nc_force: Optional[str]
    #: the non-conservative stress replacing the gradient of the energy, if any
    nc_stress: Optional[str]


def choose_outputs(
    outputs: Dict[str, ModelOutput],
    variants: Optional[Dict[str, Optional[str]]],
    non_conservative,
    uncertainty_threshold: Optional[float],
) -> OutputNames:
    """The outputs of a model (``outputs``) to use with the given arguments

    :raises ValueError: when the model has no energy, or not the requested
        variants or non-conservative outputs
    """
    resolved, given = resolve_variants(variants)
    if not (has_output("energy", outputs) or "energy" in given):
        raise ValueError(
            "this model has no 'energy' output, which torch-sim needs: its "
            f"outputs are {sorted(outputs)}"
        )
    energy = pick_output("energy", outputs, resolved["energy"])

    uncertainty = None
    if uncertainty_threshold is not None and (
        has_output("energy_uncertainty", outputs) or "energy_uncertainty" in given
    ):
        name = pick_derived_output(
            "energy_uncertainty", outputs, resolved["energy_uncertainty"], given
        )
        # a per-system uncertainty can not be compared to a per-atom threshold
        if outputs[name].sample_kind == "atom":
            uncertainty = name

    nc_force = None
    if non_conservative in (True, "forces"):
        nc_force = pick_derived_output(
            "non_conservative_force",
            outputs,
            resolved["non_conservative_force"],
            given,
        )
    nc_stress = None
    if non_conservative in (True, "stress"):
        nc_stress = pick_derived_output(
            "non_conservative_stress",
            outputs,
            resolved["non_conservative_stress"],
            given,
        )
    return OutputNames(energy, uncertainty, nc_force, nc_stress)


def uncertainty_message(block: TensorBlock, threshold: float) -> str:
    """Why the per-atom uncertainties in ``block`` are too large, or ``""``
    when all are below ``threshold`` (in the unit of ``block``, eV)"""
    values = block.values.detach().reshape(-1)
    above = values > threshold
    if not bool(torch.any(above)):
        return ""
    samples = block.samples.values[above.to(block.samples.values.device)]
    entries = [f"({system}, {atom})" for system, atom in samples.tolist()]
    shown = ", ".join(entries[:10])
    if len(entries) > 10:
        shown += f", ... ({len(entries)} in total)"
    return (
        f"the energy uncertainty of some atoms is above the threshold of {threshold} "
        f"eV, the predictions may be unreliable: (system, atom) {shown} (maximal "
        f"uncertainty: {float(values.max()):.4g} eV)"
    )
