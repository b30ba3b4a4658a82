"""What the Python engines running metatomic models share (the ASE calculator of
metatomic-ase and the torch-sim model of metatomic-torchsim): checking their
arguments, loading the model, choosing the outputs (and their variants) they
request and the units they request them in, and warning about the uncertainty
of the energy.

The engines document the behaviour; the messages name the engine (``caller``)
where they differ. Warnings point at the code of the user: the frames of this
module and of the packages given as ``skip`` (the engine, the simulation
package calling it) are passed over.
"""

import importlib
import os
import sys
import warnings
from typing import Dict, NamedTuple, Optional, Tuple, Union

import numpy as np
import torch

from metatensor.torch import TensorBlock

from ._devices import pick_output
from ._engine_neighbors import ENGINE_LENGTH_UNIT
from ._export import load_atomistic_model
from ._model import AtomisticModel, is_atomistic_model
from ._outputs import ModelCapabilities, ModelEvaluationOptions, ModelOutput

# outputs whose variant can be chosen with `variants`
VARIANT_KEYS = (
    "energy",
    "energy_uncertainty",
    "non_conservative_force",
    "non_conservative_stress",
)

_DTYPES = {"float32": torch.float32, "float64": torch.float64}

# the units of the outputs of the engines (those of ASE and of torch-sim's "metal"
# units), with lengths in ENGINE_LENGTH_UNIT
_ENERGY_UNIT = "eV"
_FORCE_UNIT = "eV/Angstrom"
_STRESS_UNIT = "eV/Angstrom^3"


# ==================================================================================== #
#                                      warnings                                        #
# ==================================================================================== #


def package_folders(*names: str) -> Tuple[str, ...]:
    """The folders (ending with a path separator) of the packages ``names``, to
    skip with :py:func:`warn`

    >>> (folder,) = package_folders("metatomic.torch")
    >>> folder.endswith(os.sep)
    True
    """
    folders = []
    for name in names:
        module = importlib.import_module(name)
        folder = os.path.dirname(os.path.abspath(module.__file__))
        folders.append(os.path.join(folder, ""))
    return tuple(folders)


def warn(message: str, skip: Tuple[str, ...], category=UserWarning):
    """``warnings.warn``, pointing at the first caller outside of this module and
    of the folders ``skip`` (from :py:func:`package_folders`)"""
    frame = sys._getframe(0)
    level = 1
    while frame.f_back is not None and (
        frame.f_code.co_filename == __file__
        or frame.f_code.co_filename.startswith(skip)
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def uncertainty_message(block: TensorBlock, threshold: float, by_atom: bool) -> str:
    """Why the per-atom energy uncertainties in ``block`` (in eV, samples
    ``system, atom``) are too large, or ``""`` when none is above ``threshold``
    (in eV); ``by_atom`` names the atoms by their index only (for a single
    system), else by ``(system, atom)``"""
    values = block.values.detach().reshape(-1).to(torch.float64).cpu().numpy()
    above = values > threshold
    if not np.any(above):
        return ""
    atom = block.samples.column("atom").cpu().numpy()[above].tolist()
    if by_atom:
        entries = [str(entry) for entry in atom]
        what = "atoms"
    else:
        system = block.samples.column("system").cpu().numpy()[above].tolist()
        entries = [f"({s}, {a})" for s, a in zip(system, atom)]
        what = "(system, atom)"
    shown = ", ".join(entries[:10])
    if len(entries) > 10:
        shown += f", ... ({len(entries)} in total)"
    return (
        f"the energy uncertainty of some atoms is above the threshold of {threshold} "
        f"eV, the predictions may be unreliable: {what} {shown} (maximal "
        f"uncertainty: {values.max():.4g} eV)"
    )


def check_uncertainty(
    block: TensorBlock, threshold: float, by_atom: bool, skip: Tuple[str, ...]
):
    """Warn (skipping the frames in ``skip``) when some per-atom energy
    uncertainties in ``block`` are above ``threshold``, see
    :py:func:`uncertainty_message`"""
    message = uncertainty_message(block, threshold, by_atom)
    if message:
        warn(message, skip)


# ==================================================================================== #
#                                 argument checks                                      #
# ==================================================================================== #


def check_bool(value, name: str):
    """Check that the argument ``name`` is a bool (numpy bools included)"""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {type(value).__name__}")


def _check_number(value, name: str, allow_zero: bool, none_means: str = ""):
    """Check that the argument ``name`` is a positive number (or zero with
    ``allow_zero``); with ``none_means``, ``None`` is also accepted (it
    disables what ``none_means`` says)

    >>> _check_number(-1, "skin", allow_zero=True)
    Traceback (most recent call last):
        ...
    ValueError: `skin` must be positive, got -1
    >>> _check_number(0, "threshold", False, none_means="disable the check")
    Traceback (most recent call last):
        ...
    ValueError: `threshold` must be positive (or None to disable the check), got 0
    """
    if none_means and value is None:
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.number)
    ):
        expected = "a number or None" if none_means else "a number"
        raise TypeError(f"`{name}` must be {expected}, got {type(value).__name__}")
    if not (value >= 0.0 if allow_zero else value > 0.0):
        alternative = f" (or None to {none_means})" if none_means else ""
        raise ValueError(f"`{name}` must be positive{alternative}, got {value}")


def _check_device(device) -> Optional[str]:
    """Check the ``device`` argument, and return it as a string (``None`` to
    pick the device from the model)"""
    if device is None:
        return None
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            f"`device` must be a string, a torch.device or None, got "
            f"{type(device).__name__}"
        )
    return str(device)


def _check_non_conservative(value):
    """Check the ``non_conservative`` argument"""
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


def check_outputs(outputs, name: str) -> Dict[str, ModelOutput]:
    """Check that the argument ``name`` is a dict of output name =>
    :py:class:`ModelOutput`, and return a copy of it (``{}`` for ``None``)"""
    if outputs is None:
        return {}
    if not isinstance(outputs, dict) or not all(
        isinstance(key, str) and isinstance(output, ModelOutput)
        for key, output in outputs.items()
    ):
        raise TypeError(
            f"`{name}` must be a dict of output name (str) => ModelOutput, got "
            f"{outputs!r}"
        )
    return dict(outputs)


class Variants(NamedTuple):
    """The variants chosen with the ``variants`` argument of an engine"""

    #: the variant of each output of ``VARIANT_KEYS`` (``None`` for the output
    #: without variant)
    chosen: Dict[str, Optional[str]]
    #: the outputs whose variant was given (others take the energy's)
    given: frozenset


def resolve_variants(variants, caller: str, skip: Tuple[str, ...]) -> Variants:
    """The variants of the outputs of ``VARIANT_KEYS`` given by the ``variants``
    argument of the engine ``caller`` (the variant of ``energy`` by default).
    The deprecated key ``non_conservative_forces`` is renamed (with a
    warning), and keys outside of ``VARIANT_KEYS`` ignored (with a warning,
    skipping the frames in ``skip``)."""
    if variants is None:
        variants = {}
    if not isinstance(variants, dict):
        raise TypeError(
            "`variants` must be a dict (output name => variant name or None), got "
            f"{type(variants).__name__}"
        )
    variants = dict(variants)
    if "non_conservative_forces" in variants:
        if "non_conservative_force" in variants:
            raise ValueError(
                "`variants` can not contain both 'non_conservative_forces' and "
                "'non_conservative_force', only use 'non_conservative_force'"
            )
        warn(
            "the 'non_conservative_forces' key of `variants` is deprecated, use "
            "'non_conservative_force' instead",
            skip,
            DeprecationWarning,
        )
        variants["non_conservative_force"] = variants.pop("non_conservative_forces")

    for key, variant in variants.items():
        if not isinstance(key, str):
            raise TypeError(
                f"the keys of `variants` must be strings, got {type(key).__name__}"
            )
        if variant is not None and not isinstance(variant, str):
            raise TypeError(
                f"the variant of {key!r} in `variants` must be a string or None, got "
                f"{type(variant).__name__}"
            )
    ignored = sorted(set(variants) - set(VARIANT_KEYS))
    if ignored:
        warn(
            f"the variants of {ignored} are ignored: {caller} only uses the variants "
            f"of {list(VARIANT_KEYS)} (use `additional_outputs` or `run_model` to "
            "compute other outputs)",
            skip,
        )

    default = variants.get("energy")
    chosen = {key: variants.get(key, default) for key in VARIANT_KEYS}
    return Variants(chosen, frozenset(variants))


class EngineArguments(NamedTuple):
    """The arguments shared by the engines, checked"""

    #: run the checks of the model (slow)
    check_consistency: bool
    #: the device requested for the model (``None`` to pick it from the model)
    device: Optional[str]
    #: the variants of the outputs
    variants: Variants
    #: ``False``, ``True``, ``"forces"`` or ``"stress"``: which of the forces and
    #: stress come from the non-conservative outputs of the model
    non_conservative: Union[bool, str]
    #: the per-atom energy uncertainty above which to warn (eV), ``None`` to
    #: never warn
    uncertainty_threshold: Optional[float]
    #: the Verlet skin of the neighbor lists (Å)
    neighbor_skin: float
    #: the other outputs to compute (output name => ModelOutput)
    additional_outputs: Dict[str, ModelOutput]


def check_arguments(
    caller: str,
    skip: Tuple[str, ...],
    *,
    check_consistency,
    device,
    variants,
    non_conservative,
    uncertainty_threshold,
    neighbor_skin,
    additional_outputs,
) -> EngineArguments:
    """Check the arguments shared by the engines (the constructor arguments of
    the engine ``caller``, documented there), warning about ignored or
    deprecated variants with :py:func:`warn` (skipping ``skip``)"""
    check_bool(check_consistency, "check_consistency")
    additional_outputs = check_outputs(additional_outputs, "additional_outputs")
    _check_non_conservative(non_conservative)
    _check_number(
        uncertainty_threshold,
        "uncertainty_threshold",
        allow_zero=False,
        none_means="disable the uncertainty check",
    )
    _check_number(neighbor_skin, "neighbor_skin", allow_zero=True)
    device = _check_device(device)
    return EngineArguments(
        check_consistency=bool(check_consistency),
        device=device,
        variants=resolve_variants(variants, caller, skip),
        non_conservative=non_conservative,
        uncertainty_threshold=uncertainty_threshold,
        neighbor_skin=float(neighbor_skin),
        additional_outputs=additional_outputs,
    )


# ==================================================================================== #
#                                 the model and its outputs                            #
# ==================================================================================== #


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


def model_dtype(capabilities: ModelCapabilities, caller: str) -> torch.dtype:
    """The torch dtype of a model, which the engine ``caller`` must support"""
    if capabilities.dtype not in _DTYPES:
        raise ValueError(
            f"the model uses the dtype {capabilities.dtype!r}, which {caller} does "
            "not support (it supports 'float32' and 'float64')"
        )
    return _DTYPES[capabilities.dtype]


class OutputNames(NamedTuple):
    """The names (with their variant) of the outputs an engine uses"""

    #: the energy, if the model has one
    energy: Optional[str]
    #: the per-atom energy uncertainty to check, if any
    uncertainty: Optional[str]
    #: the non-conservative forces replacing the gradients of the energy, if any
    nc_force: Optional[str]
    #: the non-conservative stress replacing the gradient of the energy, if any
    nc_stress: Optional[str]


def choose_outputs(
    outputs: Dict[str, ModelOutput], arguments: EngineArguments, needs_energy: str = ""
) -> OutputNames:
    """The outputs of a model (``outputs``) that an engine uses with the given
    ``arguments``.

    :param needs_energy: the engine, when it can not run a model without energy
    :raises ValueError: when the model does not have the requested variants,
        non-conservative outputs or additional outputs, or has no energy and
        ``needs_energy`` is given
    """
    variants = arguments.variants
    for name in arguments.additional_outputs:
        if name not in outputs:
            raise ValueError(
                f"the model does not have the output {name!r} requested in "
                f"`additional_outputs`, its outputs are {sorted(outputs)}"
            )

    energy = None
    if _has_output("energy", outputs) or "energy" in variants.given:
        energy = pick_output("energy", outputs, variants.chosen["energy"])
    elif needs_energy:
        raise ValueError(
            f"this model has no 'energy' output, which {needs_energy} needs: its "
            f"outputs are {sorted(outputs)}"
        )

    uncertainty = None
    if (
        energy is not None
        and arguments.uncertainty_threshold is not None
        and (
            _has_output("energy_uncertainty", outputs)
            or "energy_uncertainty" in variants.given
        )
    ):
        name = _pick_derived_output("energy_uncertainty", outputs, variants)
        # a per-system uncertainty can not be compared to a per-atom threshold
        if outputs[name].sample_kind == "atom":
            uncertainty = name

    nc_force = None
    if arguments.non_conservative in (True, "forces"):
        nc_force = _pick_derived_output("non_conservative_force", outputs, variants)
    nc_stress = None
    if arguments.non_conservative in (True, "stress"):
        nc_stress = _pick_derived_output("non_conservative_stress", outputs, variants)
    return OutputNames(energy, uncertainty, nc_force, nc_stress)


def _has_output(base: str, outputs: Dict[str, ModelOutput]) -> bool:
    """Whether ``outputs`` has ``base`` or one of its variants"""
    prefix = base + "/"
    return any(name == base or name.startswith(prefix) for name in outputs)


def _pick_derived_output(
    base: str, outputs: Dict[str, ModelOutput], variants: Variants
) -> str:
    """``pick_output`` for an output whose variant may come from the energy's"""
    variant = variants.chosen[base]
    try:
        return pick_output(base, outputs, variant)
    except ValueError as error:
        if base in variants.given:
            raise
        raise ValueError(
            f"{error} (the variant {variant!r} comes from the energy variant: set "
            f"`variants[{base!r}]` to choose another one, None for the output "
            "without variant)"
        ) from error


def evaluation_options(
    names: OutputNames,
    *,
    energy: bool,
    per_atom: bool,
    nc_force: bool,
    nc_stress: bool,
    additional: Dict[str, ModelOutput],
) -> ModelEvaluationOptions:
    """The options requesting the outputs ``names`` of a model in the units of
    the engines: the energy (per atom with ``per_atom``) and its uncertainty
    with ``energy``, the non-conservative forces and stress with ``nc_force``
    and ``nc_stress``, and the ``additional`` outputs"""
    outputs = dict(additional)
    if energy:
        outputs[names.energy] = ModelOutput(
            unit=_ENERGY_UNIT, sample_kind="atom" if per_atom else "system"
        )
        if names.uncertainty is not None:
            outputs[names.uncertainty] = ModelOutput(
                unit=_ENERGY_UNIT, sample_kind="atom"
            )
    if nc_force:
        outputs[names.nc_force] = ModelOutput(unit=_FORCE_UNIT, sample_kind="atom")
    if nc_stress:
        outputs[names.nc_stress] = ModelOutput(unit=_STRESS_UNIT, sample_kind="system")
    return ModelEvaluationOptions(length_unit=ENGINE_LENGTH_UNIT, outputs=outputs)
