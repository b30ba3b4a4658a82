"""Consistency checks of the inputs and outputs of a model (SPEC §2), run by
``AtomisticModel.forward`` when ``check_consistency=True``.

Before the model runs, :py:func:`check_inputs` verifies that

* the systems share one dtype and one device, and use the dtype of the model;
* every requested output is declared in the capabilities, with its explicit
  gradients; an ``"atom"`` request is refused for an output declared per
  ``"system"``, and ``"atom_pair"`` requests and declarations must match exactly;
* ``selected_atoms`` has the names ``["system", "atom"]`` and only refers to
  existing atoms;
* every system has every requested neighbor list and every requested input, and
  the inputs follow the rules below (data the model did not request is not
  checked).

After the model ran, :py:func:`check_outputs` verifies that the model returned
exactly the requested outputs, following the rules below.

The rules of one quantity (:py:func:`check_quantity`):

* a single block, with the key ``Labels(["_"], [[0]])``, whose values have the
  dtype of the model;
* samples by ``sample_kind``: ``["system"]`` (a subset of the systems, only those
  of ``selected_atoms`` when given), ``["system", "atom"]`` (a subset of the atoms,
  only those of ``selected_atoms`` when given) or ``["system", "first_atom",
  "second_atom", "cell_shift_a", "cell_shift_b", "cell_shift_c"]`` (atom indices
  within the bounds of their system);
* custom quantities (``domain::name``) are not checked at all, other names must
  be standard quantities, possibly with a variant (``energy/pbe0``), which follow
  the rules of their base:

  ======================= ============ ============ ===========================
  quantity                sample kinds components   properties
  ======================= ============ ============ ===========================
  energy                  system, atom              ``energy`` = [0]
  energy_uncertainty      system, atom              ``energy`` = [0]
  energy_ensemble         system, atom              ``energy`` = 0 .. n - 1
  feature                 system, atom              anything
  non_conservative_force  atom         xyz          its name = [0]
  non_conservative_stress system       xyz_1, xyz_2 its name = [0]
  position                atom         xyz          its name = [0]
  momentum                atom         xyz          its name = [0]
  velocity                atom         xyz          its name = [0]
  mass                    atom                      its name = [0]
  charge                  system, atom              its name = [0]
  heat_flux               system       xyz          its name = [0]
  spin_multiplicity       system                    its name = [0]
  ======================= ============ ============ ===========================

  every component has the values 0, 1, 2; the energy family may have explicit
  gradients with respect to ``positions`` (samples ``["sample", "system",
  "atom"]``, component ``xyz``) and ``strain`` (samples ``["sample"]``,
  components ``xyz_1``, ``xyz_2``), other quantities none; position, momentum,
  velocity, mass and non_conservative_force also accept the deprecated plural
  property name (``positions``, ...), with a warning.

The data of a system (the inputs) describe that system alone: their ``system``
sample dimension is always 0.

Every check raises ``ValueError``; the functions compile with TorchScript, which
turns the errors into ``torch.jit.Error`` with the same message.
"""

from typing import Dict, List, Optional, Tuple

import torch

from metatensor.torch import Labels, TensorBlock, TensorMap

from ._neighbors import NeighborListOptions
from ._outputs import ModelCapabilities, ModelOutput
from ._quantities import invalid_name_message, is_custom, new_name, split_variant
from ._system import System
from ._warnings import warn_once

# ==================================================================================== #
#                                   text helpers                                      #
# ==================================================================================== #


def _names_text(names: List[str]) -> str:
    """``names`` as Python prints a list of str (TorchScript does not quote them)"""
    quoted: List[str] = []
    for name in names:
        quoted.append("'" + name + "'")
    return "[" + ", ".join(quoted) + "]"


def _values_text(values: torch.Tensor) -> str:
    """A 1-D integer tensor as a list, shortened after 8 entries"""
    items: List[int] = values.to(torch.int64).cpu().tolist()
    texts: List[str] = []
    for i in range(min(len(items), 8)):
        texts.append(str(items[i]))
    if len(items) > 8:
        texts.append("...")
    return "[" + ", ".join(texts) + "]"


def _entry_text(names: List[str], row: torch.Tensor) -> str:
    """One entry of Labels, as ``(system=0, atom=3)``"""
    values: List[int] = row.to(torch.int64).cpu().tolist()
    parts: List[str] = []
    for i in range(len(names)):
        parts.append(names[i] + "=" + str(values[i]))
    return "(" + ", ".join(parts) + ")"


def _count(n: int, noun: str) -> str:
    """``"1 atom"``, ``"2 atoms"``"""
    if n == 1:
        return "1 " + noun
    return str(n) + " " + noun + "s"


def _dtype_text(dtype: torch.dtype) -> str:
    """Name of a floating point dtype (TorchScript prints dtypes as integers)"""
    if dtype == torch.float64:
        return "torch.float64"
    if dtype == torch.float32:
        return "torch.float32"
    if dtype == torch.float16:
        return "torch.float16"
    if dtype == torch.bfloat16:
        return "torch.bfloat16"
    return str(dtype)


def _where(what: str, name: str, context: str) -> str:
    """The start of every error about one quantity"""
    return "invalid " + what + " '" + name + "'" + context


# ==================================================================================== #
#                          indices of systems and atoms                               #
# ==================================================================================== #


def _system_sizes(systems: List[System], device: torch.device) -> torch.Tensor:
    """Number of atoms of each system, an int64 tensor"""
    sizes: List[int] = []
    for system in systems:
        sizes.append(len(system))
    return torch.tensor(sizes, dtype=torch.int64, device=device)


def _out_of_bounds(
    system: torch.Tensor, atoms: List[torch.Tensor], sizes: torch.Tensor
) -> torch.Tensor:
    """Mask of the rows whose ``system`` index is not one of the systems, or whose
    ``atoms`` indices are not atoms of that system"""
    system = system.to(torch.int64)
    bad = torch.logical_or(system < 0, system >= sizes.shape[0])
    if sizes.shape[0] == 0:
        return torch.ones_like(bad)
    n_atoms = sizes[torch.where(bad, torch.zeros_like(system), system)]
    for atom in atoms:
        atom = atom.to(torch.int64)
        bad = torch.logical_or(bad, torch.logical_or(atom < 0, atom >= n_atoms))
    return bad


def _bounds_error(labels: Labels, atom_names: List[str], sizes: torch.Tensor) -> str:
    """``""`` if every entry of ``labels`` refers to an existing system (in the
    ``system`` dimension) and to atoms of that system (in the ``atom_names``
    dimensions), else the description of the first entry that does not"""
    atoms: List[torch.Tensor] = []
    for atom_name in atom_names:
        atoms.append(labels.column(atom_name))
    bad = _out_of_bounds(labels.column("system"), atoms, sizes)
    if not bool(torch.any(bad)):
        return ""
    index = int(torch.nonzero(bad)[0, 0])
    entry = _entry_text(labels.names, labels.values[index])
    system = int(labels.column("system")[index])
    n_systems = sizes.shape[0]
    if system < 0 or system >= n_systems:
        return (
            entry
            + " refers to system "
            + str(system)
            + ", but the model got "
            + _count(n_systems, "system")
        )
    n_atoms = int(sizes[system])
    for i in range(len(atom_names)):
        atom = int(atoms[i][index])
        if atom < 0 or atom >= n_atoms:
            return (
                entry
                + " refers to atom "
                + str(atom)
                + " of system "
                + str(system)
                + ", which has "
                + _count(n_atoms, "atom")
            )
    return entry + " is out of bounds"


def _pair_ids(system: torch.Tensor, atom: torch.Tensor, stride: int) -> torch.Tensor:
    """One integer per (system, atom) pair, unique when ``0 <= atom < stride``"""
    return system.to(torch.int64) * stride + atom.to(torch.int64)


def _selection_error(
    samples: Labels, kind: str, selected_atoms: Labels, sizes: torch.Tensor
) -> str:
    """``""`` if the (in bounds) ``samples`` of ``kind`` "system" or "atom" only
    refer to the systems or atoms of ``selected_atoms``, else the description of
    the first sample that does not"""
    device = samples.values.device
    selected_systems = selected_atoms.column("system").to(device=device)
    selected_atom = selected_atoms.column("atom").to(device=device)
    if kind == "system":
        allowed = torch.isin(samples.column("system"), selected_systems)
    else:
        # compare (system, atom) pairs as single integers, keeping only the
        # selected atoms that exist so that the encoding is unique
        existing = torch.logical_not(
            _out_of_bounds(selected_systems, [selected_atom], sizes)
        )
        stride = 1
        if sizes.shape[0] > 0:
            stride = int(sizes.max()) + 1
        selected = _pair_ids(
            selected_systems[existing], selected_atom[existing], stride
        )
        actual = _pair_ids(samples.column("system"), samples.column("atom"), stride)
        allowed = torch.isin(actual, selected)
    if bool(torch.all(allowed)):
        return ""
    index = int(torch.nonzero(torch.logical_not(allowed))[0, 0])
    what = "a system"
    if kind == "atom":
        what = "an atom"
    return (
        "the sample "
        + _entry_text(samples.names, samples.values[index])
        + " refers to "
        + what
        + " that is not in `selected_atoms`: only return samples for the "
        + "selected atoms"
    )


# ==================================================================================== #
#                               metadata of one block                                 #
# ==================================================================================== #


def _sample_names(kind: str) -> List[str]:
    if kind == "system":
        return ["system"]
    if kind == "atom":
        return ["system", "atom"]
    return [
        "system",
        "first_atom",
        "second_atom",
        "cell_shift_a",
        "cell_shift_b",
        "cell_shift_c",
    ]


def _atom_dimensions(kind: str) -> List[str]:
    """The sample dimensions holding atom indices, for ``kind``"""
    if kind == "system":
        return []
    if kind == "atom":
        return ["atom"]
    return ["first_atom", "second_atom"]


def _check_names(where: str, axis: str, actual: List[str], expected: List[str]):
    if actual != expected:
        raise ValueError(
            where
            + ": expected the "
            + axis
            + " names to be "
            + _names_text(expected)
            + ", got "
            + _names_text(actual)
        )


def _check_range(where: str, axis: str, labels: Labels, name: str, size: int):
    """``labels`` must be ``name`` = ``0 .. size - 1``"""
    _check_names(where, axis, labels.names, [name])
    expected = torch.arange(size, dtype=torch.int32, device=labels.values.device)
    actual = labels.values.reshape(-1)
    if not torch.equal(actual, expected):
        raise ValueError(
            where
            + ": expected the values of the '"
            + name
            + "' "
            + axis
            + " to be "
            + _values_text(expected)
            + ", got "
            + _values_text(actual)
        )


def _check_samples(
    where: str,
    samples: Labels,
    kind: str,
    systems: List[System],
    selected_atoms: Optional[Labels],
):
    """The samples of ``kind`` must refer to existing systems and atoms, and only
    to those of ``selected_atoms`` (for "system" and "atom" samples)"""
    _check_names(where, "samples", samples.names, _sample_names(kind))
    sizes = _system_sizes(systems, samples.values.device)
    message = _bounds_error(samples, _atom_dimensions(kind), sizes)
    if message != "":
        raise ValueError(where + ": the sample " + message)
    if selected_atoms is not None and kind != "atom_pair":
        message = _selection_error(samples, kind, selected_atoms, sizes)
        if message != "":
            raise ValueError(where + ": " + message)


def _check_sample_kind(where: str, kind: str, allowed: List[str]):
    if kind not in allowed:
        raise ValueError(
            where
            + ": this quantity can not have sample_kind='"
            + kind
            + "', expected one of "
            + _names_text(allowed)
        )


def _check_components(where: str, components: List[Labels], names: List[str]):
    """One component per entry of ``names``, each with the values 0, 1, 2"""
    actual: List[str] = []
    for component in components:
        for name in component.names:
            actual.append(name)
    if len(components) != len(names):
        raise ValueError(
            where
            + ": expected "
            + str(len(names))
            + " components "
            + _names_text(names)
            + ", got "
            + str(len(components))
            + " "
            + _names_text(actual)
        )
    for i in range(len(names)):
        _check_range(where, "components", components[i], names[i], 3)


def _check_property(where: str, properties: Labels, name: str, plural: str):
    """A single property ``name`` = [0]; the deprecated ``plural`` name (when not
    empty) is accepted with a warning"""
    if plural != "" and properties.names == [plural]:
        warn_once(
            "the property name '"
            + plural
            + "' is deprecated, name the property '"
            + name
            + "' instead",
            True,
        )
        name = plural
    _check_range(where, "properties", properties, name, 1)


def _check_no_gradients(where: str, block: TensorBlock):
    gradients = block.gradients_list()
    if len(gradients) != 0:
        raise ValueError(
            where
            + ": this quantity can not have explicit gradients, got gradients with "
            + "respect to "
            + _names_text(gradients)
        )


def _check_energy_gradients(where: str, block: TensorBlock, systems: List[System]):
    """Explicit gradients of the energy family: ``positions`` (one gradient row
    per atom, component ``xyz``) and ``strain`` (one row per sample, components
    ``xyz_1`` and ``xyz_2``)"""
    for parameter in block.gradients_list():
        gradient = block.gradient(parameter)
        gradient_where = where + " (gradient with respect to '" + parameter + "')"
        if parameter == "positions":
            samples = gradient.samples
            _check_names(
                gradient_where, "samples", samples.names, ["sample", "system", "atom"]
            )
            sizes = _system_sizes(systems, samples.values.device)
            message = _bounds_error(samples, ["atom"], sizes)
            if message != "":
                raise ValueError(gradient_where + ": the sample " + message)
            _check_components(gradient_where, gradient.components, ["xyz"])
        elif parameter == "strain":
            _check_names(gradient_where, "samples", gradient.samples.names, ["sample"])
            _check_components(gradient_where, gradient.components, ["xyz_1", "xyz_2"])
        else:
            raise ValueError(
                where
                + ": energy outputs can only have explicit gradients with respect to "
                + "'positions' and 'strain', got a gradient with respect to '"
                + parameter
                + "'"
            )


# ==================================================================================== #
#                                 standard quantities                                 #
# ==================================================================================== #


def _standard_rules() -> Dict[str, Tuple[List[str], List[str], str]]:
    """Standard quantities other than the energy family and features =>
    (allowed sample kinds, component names, deprecated plural property name or
    ``""``). Each has one property named after the quantity, with the value 0,
    and no gradients; each component has the values 0, 1, 2."""
    scalar: List[str] = []
    return {
        "non_conservative_force": (["atom"], ["xyz"], "non_conservative_forces"),
        "non_conservative_stress": (["system"], ["xyz_1", "xyz_2"], ""),
        "position": (["atom"], ["xyz"], "positions"),
        "momentum": (["atom"], ["xyz"], "momenta"),
        "velocity": (["atom"], ["xyz"], "velocities"),
        "mass": (["atom"], scalar, "masses"),
        "charge": (["system", "atom"], scalar, ""),
        "heat_flux": (["system"], ["xyz"], ""),
        "spin_multiplicity": (["system"], scalar, ""),
    }


def _check_energy(where: str, base: str, block: TensorBlock, systems: List[System]):
    """``energy``, ``energy_ensemble`` (one property per member) and
    ``energy_uncertainty``"""
    _check_components(where, block.components, [])
    size = 1
    if base == "energy_ensemble":
        size = len(block.properties)
    _check_range(where, "properties", block.properties, "energy", size)
    _check_energy_gradients(where, block, systems)


def _check_standard(
    where: str, base: str, block: TensorBlock, kind: str, systems: List[System]
):
    """Sample kind, components, properties and gradients of the standard
    quantity ``base``"""
    if base in ["energy", "energy_ensemble", "energy_uncertainty"]:
        _check_sample_kind(where, kind, ["system", "atom"])
        _check_energy(where, base, block, systems)
    elif base == "feature":
        _check_sample_kind(where, kind, ["system", "atom"])
        _check_components(where, block.components, [])
        _check_no_gradients(where, block)
    else:
        kinds, components, plural = _standard_rules()[base]
        _check_sample_kind(where, kind, kinds)
        _check_components(where, block.components, components)
        _check_property(where, block.properties, base, plural)
        _check_no_gradients(where, block)


def _check_quantity(
    name: str,
    tensor: TensorMap,
    systems: List[System],
    request: ModelOutput,
    selected_atoms: Optional[Labels],
    model_dtype: torch.dtype,
    what: str,
    context: str,
):
    if is_custom(name):
        return
    message = invalid_name_message(name, what)
    if message != "":
        raise ValueError(message)
    where = _where(what, name, context)
    keys = tensor.keys
    single_key = keys.names == ["_"] and len(keys) == 1
    if not single_key or int(keys.values[0, 0]) != 0:
        raise ValueError(
            where
            + ": expected a single block with the key Labels(['_'], [[0]]), got "
            + _count(len(keys), "key")
            + " with the names "
            + _names_text(keys.names)
        )
    block = tensor.block_by_id(0)
    if block.values.dtype != model_dtype:
        raise ValueError(
            where
            + ": expected the values to have the dtype of the model ("
            + _dtype_text(model_dtype)
            + "), got "
            + _dtype_text(block.values.dtype)
        )
    base = split_variant(new_name(name))[0]
    kind = request.sample_kind
    _check_standard(where, base, block, kind, systems)
    _check_samples(where, block.samples, kind, systems, selected_atoms)


def check_quantity(
    name: str,
    tensor: TensorMap,
    systems: List[System],
    request: ModelOutput,
    selected_atoms: Optional[Labels],
    model_dtype: torch.dtype,
    what: str,
):
    """Check the metadata of the quantity ``name`` (a model output or input).

    :param name: name of the quantity (standard, with a variant, or custom);
        custom quantities are not checked
    :param tensor: the values of the quantity
    :param systems: the systems the quantity describes
    :param request: the request for this quantity, giving its ``sample_kind``
    :param selected_atoms: the atoms the quantity must be restricted to, or
        ``None`` for all atoms
    :param model_dtype: dtype the values must have
    :param what: ``"output"`` or ``"input"``, for the error messages
    :raises ValueError: if the metadata do not follow the rules of the quantity
    """
    _check_quantity(
        name, tensor, systems, request, selected_atoms, model_dtype, what, ""
    )


# ==================================================================================== #
#                                 inputs and outputs                                  #
# ==================================================================================== #


def _check_systems(systems: List[System], model_dtype: torch.dtype):
    """Same dtype and device for all systems, and the dtype of the model"""
    if len(systems) == 0:
        return
    dtype = systems[0].dtype
    device = systems[0].device
    for i in range(len(systems)):
        if systems[i].dtype != dtype:
            raise ValueError(
                "all systems must have the same dtype, got "
                + _dtype_text(dtype)
                + " for system 0 and "
                + _dtype_text(systems[i].dtype)
                + " for system "
                + str(i)
            )
        if systems[i].device != device:
            raise ValueError(
                "all systems must be on the same device, got "
                + str(device)
                + " for system 0 and "
                + str(systems[i].device)
                + " for system "
                + str(i)
            )
    if dtype != model_dtype:
        raise ValueError(
            "the systems have the dtype "
            + _dtype_text(dtype)
            + " but the model uses "
            + _dtype_text(model_dtype)
            + ": convert the systems with `System.to(dtype=...)`"
        )


def _check_requested_outputs(
    requested_outputs: Dict[str, ModelOutput], capabilities: ModelCapabilities
):
    """Every request is declared in the capabilities, with compatible explicit
    gradients and sample kind"""
    declared_outputs = capabilities.outputs
    for name, request in requested_outputs.items():
        if name not in declared_outputs:
            available: List[str] = []
            for declared_name in declared_outputs.keys():
                available.append(declared_name)
            raise ValueError(
                "this model can not compute the requested output '"
                + name
                + "', the available outputs are "
                + _names_text(available)
            )
        declared = declared_outputs[name]
        for parameter in request.explicit_gradients:
            if parameter not in declared.explicit_gradients:
                raise ValueError(
                    "the model can not compute explicit gradients of '"
                    + name
                    + "' with respect to '"
                    + parameter
                    + "', it only supports "
                    + _names_text(declared.explicit_gradients)
                )
        kind = request.sample_kind
        declared_kind = declared.sample_kind
        refused = kind == "atom" and declared_kind == "system"
        if kind != declared_kind and (
            kind == "atom_pair" or declared_kind == "atom_pair"
        ):
            refused = True
        if refused:
            raise ValueError(
                "the output '"
                + name
                + "' was requested with sample_kind='"
                + kind
                + "', but the model declares it with sample_kind='"
                + declared_kind
                + "': request it with sample_kind='"
                + declared_kind
                + "'"
            )


def _check_selected_atoms(selected_atoms: Optional[Labels], systems: List[System]):
    if selected_atoms is None:
        return
    if selected_atoms.names != ["system", "atom"]:
        raise ValueError(
            "invalid `selected_atoms`: expected the names ['system', 'atom'], got "
            + _names_text(selected_atoms.names)
        )
    sizes = _system_sizes(systems, selected_atoms.values.device)
    message = _bounds_error(selected_atoms, ["atom"], sizes)
    if message != "":
        raise ValueError("invalid `selected_atoms`: the entry " + message)


def _check_neighbor_lists(
    systems: List[System], requested_neighbor_lists: List[NeighborListOptions]
):
    for i in range(len(systems)):
        known = systems[i].known_neighbor_lists()
        for options in requested_neighbor_lists:
            found = False
            for existing in known:
                if existing == options:
                    found = True
            if not found:
                raise ValueError(
                    "missing neighbor list for "
                    + options.__repr__()
                    + " in system "
                    + str(i)
                    + ": the engine must give every neighbor list of the model's "
                    + "`requested_neighbor_lists()`"
                )


def _check_requested_inputs(
    systems: List[System],
    requested_inputs: Dict[str, ModelOutput],
    model_dtype: torch.dtype,
):
    """Every requested input is in every system, following its rules"""
    for name, request in requested_inputs.items():
        for i in range(len(systems)):
            if name not in systems[i].known_data():
                raise ValueError(
                    "missing input '"
                    + name
                    + "' in system "
                    + str(i)
                    + ": the model requested it, add it with `System.add_data`"
                )
            _check_quantity(
                name,
                systems[i].get_data(name),
                [systems[i]],
                request,
                None,
                model_dtype,
                "input",
                " in system " + str(i),
            )


def check_inputs(
    systems: List[System],
    requested_outputs: Dict[str, ModelOutput],
    selected_atoms: Optional[Labels],
    capabilities: ModelCapabilities,
    requested_neighbor_lists: List[NeighborListOptions],
    requested_inputs: Dict[str, ModelOutput],
    model_dtype: torch.dtype,
):
    """Check what an engine gives to a model before running it.

    :param systems: the systems to run the model on
    :param requested_outputs: the outputs the engine asks for
    :param selected_atoms: the atoms to compute the outputs for, or ``None``
    :param capabilities: the capabilities of the model
    :param requested_neighbor_lists: neighbor lists the model needs
    :param requested_inputs: inputs the model needs in every system's data
    :param model_dtype: the dtype of the model
    :raises ValueError: if anything does not match the model (see the module
        documentation for the rules)
    """
    _check_systems(systems, model_dtype)
    _check_requested_outputs(requested_outputs, capabilities)
    _check_selected_atoms(selected_atoms, systems)
    _check_neighbor_lists(systems, requested_neighbor_lists)
    _check_requested_inputs(systems, requested_inputs, model_dtype)


def check_outputs(
    systems: List[System],
    requested_outputs: Dict[str, ModelOutput],
    selected_atoms: Optional[Labels],
    outputs: Dict[str, TensorMap],
    model_dtype: torch.dtype,
):
    """Check what a model returned.

    :param systems: the systems the model ran on
    :param requested_outputs: the outputs the engine asked for
    :param selected_atoms: the atoms the engine asked for, or ``None``
    :param outputs: what the model returned
    :param model_dtype: the dtype of the model
    :raises ValueError: if the model returned an output that was not requested,
        missed a requested one, or returned one that does not follow the rules of
        its quantity
    """
    for name in outputs.keys():
        if name not in requested_outputs:
            raise ValueError(
                "the model returned the output '"
                + name
                + "', which was not requested: only return the outputs given to "
                + "`forward`"
            )
    for name in requested_outputs.keys():
        if name not in outputs:
            raise ValueError(
                "the model did not return the requested output '" + name + "'"
            )
    for name, request in requested_outputs.items():
        check_quantity(
            name,
            outputs[name],
            systems,
            request,
            selected_atoms,
            model_dtype,
            "output",
        )
