"""``AtomisticModel``: the wrapper that turns a model into something any engine can
run, checking what goes in and out and converting units; and ``ModelInterface``,
the protocol the wrapped model implements."""

import inspect
from typing import Dict, List, Optional, Protocol, Tuple

import torch

from metatensor.torch import Labels, TensorBlock, TensorMap

from ._checks import check_inputs, check_outputs
from ._metadata import ModelMetadata
from ._neighbors import NeighborListOptions, pair_vectors
from ._outputs import ModelCapabilities, ModelEvaluationOptions, ModelOutput
from ._quantities import check_name, new_name, old_name
from ._system import System
from ._units import unit_conversion_factor
from ._warnings import warn_once


class ModelInterface(Protocol):
    """What a model wrapped by :py:class:`AtomisticModel` implements (a
    ``torch.nn.Module`` compatible with TorchScript).

    ``requested_neighbor_lists`` and ``requested_inputs`` are optional, and may
    be defined on any submodule: :py:class:`AtomisticModel` collects them all.
    """

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        """Compute the requested ``outputs`` for ``systems`` (only for the atoms in
        ``selected_atoms``, with names ``["system", "atom"]``, if given)"""

    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        """The neighbor lists this module reads from the systems"""

    def requested_inputs(self) -> Dict[str, ModelOutput]:
        """The extra inputs (system data) this module reads, with their unit"""


def is_atomistic_model(module) -> bool:
    """Whether ``module`` is an :py:class:`AtomisticModel`, in Python or compiled
    by TorchScript (e.g. loaded with ``torch.jit.load``)"""
    if isinstance(module, AtomisticModel):
        return True
    if isinstance(module, torch.jit.RecursiveScriptModule):
        return module.original_name == "AtomisticModel"
    return False


# ==================================================================================== #
#                      unit conversions (TorchScript compatible)                       #
# ==================================================================================== #


def _scaled_neighbors(neighbors: TensorBlock, factor: float) -> TensorBlock:
    return TensorBlock(
        neighbors.values * factor,
        neighbors.samples,
        neighbors.components,
        neighbors.properties,
    )


def _system_copy(system: System, length_factor: float) -> System:
    """A new system sharing the data of ``system``, with lengths (positions, cell,
    neighbor lists) multiplied by ``length_factor``"""
    if length_factor == 1.0:
        copy = System(system.types, system.positions, system.cell, system.pbc)
    else:
        copy = System(
            system.types,
            system.positions * length_factor,
            system.cell * length_factor,
            system.pbc,
        )
    for options in system.known_neighbor_lists():
        neighbors = system.get_neighbor_list(options)
        if length_factor != 1.0:
            neighbors = _scaled_neighbors(neighbors, length_factor)
        copy._neighbor_options.append(options)
        copy._neighbor_lists.append(neighbors)
    for name in system.known_data():
        copy._data[name] = system.get_data(name)
    return copy


def _scaled_tensor(tensor: TensorMap, factor: float, length_factor: float) -> TensorMap:
    """``tensor`` with its values multiplied by ``factor``, the gradients with
    respect to positions and cell by ``factor * length_factor`` (they carry an
    inverse length) and the other gradients by ``factor``"""
    blocks: List[TensorBlock] = []
    for block in tensor.blocks():
        new_block = TensorBlock(
            block.values * factor, block.samples, block.components, block.properties
        )
        for parameter, gradient in block.gradients():
            gradient_factor = factor
            if parameter == "positions" or parameter == "cell":
                gradient_factor = factor * length_factor
            new_block.add_gradient(
                parameter,
                TensorBlock(
                    gradient.values * gradient_factor,
                    gradient.samples,
                    gradient.components,
                    gradient.properties,
                ),
            )
        blocks.append(new_block)
    result = TensorMap(tensor.keys, blocks)
    for key, value in tensor.info().items():
        result.set_info(key, value)
    return result


# the atomic types of models, as tensors on each device (eager mode only)
_ATOMIC_TYPES: Dict[Tuple[Tuple[int, ...], torch.device], torch.Tensor] = {}


def _types_tensor(atomic_types: List[int], device: torch.device) -> torch.Tensor:
    if not torch.jit.is_scripting():
        key = (tuple(atomic_types), device)
        if key not in _ATOMIC_TYPES:
            _ATOMIC_TYPES[key] = torch.tensor(
                atomic_types, dtype=torch.int32, device=device
            )
        return _ATOMIC_TYPES[key]
    return torch.tensor(atomic_types, dtype=torch.int32, device=device)


def _check_atomic_types(systems: List[System], atomic_types: List[int]):
    """Refuse systems containing atomic types the model does not handle"""
    for i in range(len(systems)):
        types = systems[i].types
        allowed = _types_tensor(atomic_types, types.device)
        known = torch.isin(types, allowed)
        if not bool(torch.all(known)):
            unknown = torch.unique(types[torch.logical_not(known)])
            unknown_list: List[str] = []
            unknown_values: List[int] = unknown.tolist()
            for value in unknown_values:
                unknown_list.append(str(value))
            supported: List[str] = []
            for value in atomic_types:
                supported.append(str(value))
            raise ValueError(
                "this model can not handle the atomic type(s) ["
                + ", ".join(unknown_list)
                + "] found in system "
                + str(i)
                + ": it only supports the types ["
                + ", ".join(supported)
                + "]"
            )


# ==================================================================================== #
#                          collecting requests from submodules                         #
# ==================================================================================== #


def _module_name(module: torch.nn.Module) -> str:
    if isinstance(module, torch.jit.RecursiveScriptModule):
        return module.original_name
    return module.__class__.__name__


def _add_neighbor_list(
    requested: List[NeighborListOptions],
    options: NeighborListOptions,
    requestor: str,
    length_unit: str,
):
    """Add ``options`` to ``requested``, merging the requestors of equal options"""
    options.add_requestor(requestor)
    for existing in requested:
        if existing == options:
            for name in options.requestors():
                existing.add_requestor(name)
            return
    if options.length_unit not in ("", length_unit):
        raise ValueError(
            f"the neighbor list options requested by {requestor} already have a "
            f"length unit ('{options.length_unit}') which does not match the "
            f"model's length unit ('{length_unit}')"
        )
    options.length_unit = length_unit
    requested.append(options)


def _add_input(
    requested: Dict[str, ModelOutput], name: str, request: ModelOutput, path: str
):
    name = check_name(name, "model input")
    if name in requested:
        existing = requested[name]
        if existing.unit != request.unit or existing.sample_kind != request.sample_kind:
            raise NotImplementedError(
                f"the input '{name}' is requested twice with different units or "
                f"sample kinds (the second time by {path}: unit '{request.unit}', "
                f"sample_kind '{request.sample_kind}'; before: unit "
                f"'{existing.unit}', sample_kind '{existing.sample_kind}'): this is "
                "not supported"
            )
        return
    requested[name] = request


def _collect_requests(
    module: torch.nn.Module,
    length_unit: str,
    neighbor_lists: List[NeighborListOptions],
    inputs: Dict[str, ModelOutput],
):
    """Collect ``requested_neighbor_lists()`` and ``requested_inputs()`` of
    ``module`` and every submodule; requestors are module paths (``Model``,
    ``Model.sub``)"""
    root = _module_name(module)
    for path, submodule in module.named_modules():
        requestor = root if path == "" else root + "." + path
        if hasattr(submodule, "requested_neighbor_lists"):
            for options in submodule.requested_neighbor_lists():
                _add_neighbor_list(neighbor_lists, options, requestor, length_unit)
        if hasattr(submodule, "requested_inputs"):
            for name, request in submodule.requested_inputs().items():
                _add_input(inputs, name, request, requestor)


_FORWARD_SIGNATURE = (
    "forward(self, systems: List[System], outputs: Dict[str, ModelOutput], "
    "selected_atoms: Optional[Labels]) -> Dict[str, TensorMap]"
)


def _check_forward(module: torch.nn.Module):
    """The wrapped module's ``forward`` has the annotations of
    :py:class:`ModelInterface` (only checked for Python modules: TorchScript checks
    the types of compiled ones when the wrapper is compiled)"""
    if isinstance(module, torch.jit.ScriptModule):
        return
    try:
        signature = inspect.signature(module.forward)
    except (TypeError, ValueError):  # builtins without a signature
        return
    hints = {
        name: parameter.annotation for name, parameter in signature.parameters.items()
    }
    expected = {
        "systems": List[System],
        "outputs": Dict[str, ModelOutput],
        "selected_atoms": Optional[Labels],
    }
    if (
        list(hints) != list(expected)
        or any(hints[name] != expected[name] for name in expected)
        or signature.return_annotation != Dict[str, TensorMap]
    ):
        raise TypeError(
            f"`{_module_name(module)}.forward` must be declared as "
            f"`{_FORWARD_SIGNATURE}`, got `forward{signature}`"
        )


def _advertised_outputs(outputs: Dict[str, ModelOutput]) -> Dict[str, ModelOutput]:
    """``outputs`` plus, for each name with a deprecated plural (or a singular)
    form, the same output under the other name"""
    advertised = dict(outputs)
    for name, output in outputs.items():
        for alias in (new_name(name), old_name(name)):
            if alias != "" and alias not in advertised:
                advertised[alias] = output
    return advertised


# ==================================================================================== #


class AtomisticModel(torch.nn.Module):
    """Wrap a model implementing :py:class:`ModelInterface` with its metadata and
    capabilities, so that it can be saved as one file (:py:meth:`save`) and run by
    any engine.

    :param module: the model, in eval mode; an :py:class:`AtomisticModel` (in
        Python or compiled) is unwrapped
    :param metadata: who made the model and what to cite
    :param capabilities: what the model computes, for which atomic types, in
        which units, on which devices and with which dtype

    The parameters of ``module`` stop requiring gradients. The neighbor lists and
    extra inputs requested by ``module`` and its submodules are collected here
    (see :py:meth:`requested_neighbor_lists` and :py:meth:`requested_inputs`).
    """

    _capabilities: ModelCapabilities
    _metadata: ModelMetadata
    _model_capabilities_outputs_names: List[str]
    _requested_neighbor_lists: List[NeighborListOptions]
    _requested_inputs: Dict[str, ModelOutput]

    def __init__(
        self,
        module: torch.nn.Module,
        metadata: ModelMetadata,
        capabilities: ModelCapabilities,
    ):
        super().__init__()
        if not isinstance(module, torch.nn.Module):
            raise TypeError(
                "`module` must be a torch.nn.Module, got "
                f"{type(module).__module__}.{type(module).__name__}"
            )
        if not isinstance(metadata, ModelMetadata):
            raise TypeError(
                f"`metadata` must be a ModelMetadata, got {type(metadata).__name__}"
            )
        if not isinstance(capabilities, ModelCapabilities):
            raise TypeError(
                "`capabilities` must be a ModelCapabilities, got "
                f"{type(capabilities).__name__}"
            )

        neighbor_lists: List[NeighborListOptions] = []
        inputs: Dict[str, ModelOutput] = {}
        wrapped_names = None
        compiled_wrapper = None
        if is_atomistic_model(module):
            if isinstance(module, torch.jit.RecursiveScriptModule):
                compiled_wrapper = module
            else:
                compiled_wrapper = module._compiled_wrapper
            for options in module.requested_neighbor_lists():
                for requestor in options.requestors() or [""]:
                    _add_neighbor_list(
                        neighbor_lists, options, requestor, capabilities.length_unit
                    )
            for name, request in module.requested_inputs(True).items():
                _add_input(inputs, name, request, "the wrapped model")
            wrapped_names = list(module._model_capabilities_outputs_names)
            module = module.module

        if module.training:
            raise ValueError(
                "the module is in training mode: call `module.eval()` before "
                "wrapping it in an AtomisticModel"
            )
        _check_forward(module)
        for parameter in module.parameters():
            parameter.requires_grad_(False)

        range_ = capabilities.interaction_range
        if not range_ >= 0.0:
            raise ValueError(
                "`capabilities.interaction_range` must be a positive number or "
                f"infinity, got {range_}"
            )
        if len(capabilities.supported_devices) == 0:
            raise ValueError(
                "`capabilities.supported_devices` can not be empty: list the device "
                "types the model can run on (e.g. ['cuda', 'cpu'])"
            )
        if capabilities.dtype == "":
            raise ValueError(
                "`capabilities.dtype` must be set, to 'float32' or 'float64'"
            )

        _collect_requests(module, capabilities.length_unit, neighbor_lists, inputs)

        declared = list(capabilities.outputs)
        if wrapped_names is not None:
            # drop the names advertised for the wrapped module in place of others
            declared = [
                name
                for name in declared
                if name in wrapped_names
                or (
                    new_name(name) not in wrapped_names
                    and old_name(name) not in wrapped_names
                )
            ]

        advertised = ModelCapabilities(
            atomic_types=list(capabilities.atomic_types),
            interaction_range=capabilities.interaction_range,
            length_unit=capabilities.length_unit,
            supported_devices=list(capabilities.supported_devices),
            dtype=capabilities.dtype,
        )
        # names derived from checked ones: set without checking them again
        advertised._outputs = _advertised_outputs(capabilities.outputs)

        self.module = module
        self._capabilities = advertised
        self._metadata = metadata
        self._model_capabilities_outputs_names = declared
        self._requested_neighbor_lists = neighbor_lists
        self._requested_inputs = inputs
        self._model_dtype = (
            torch.float32 if capabilities.dtype == "float32" else torch.float64
        )
        # The compiled wrapper of a model loaded from a file: while `module` is
        # its module, `save` writes it with the attributes of this one, without
        # compiling anything again. Set without registering it as a submodule (it
        # holds `module` too).
        object.__setattr__(self, "_compiled_wrapper", compiled_wrapper)

    # ================================================================================ #

    @torch.jit.export
    def capabilities(self) -> ModelCapabilities:
        """What this model computes, and how to run it"""
        return self._capabilities

    @torch.jit.export
    def metadata(self) -> ModelMetadata:
        """Who made this model and what to cite"""
        return self._metadata

    @torch.jit.export
    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        """The neighbor lists an engine must add to every system, with cutoffs in
        the model's length unit and the paths of the modules requesting them"""
        return self._requested_neighbor_lists

    @torch.jit.export
    def requested_inputs(self, use_new_names: bool = False) -> Dict[str, ModelOutput]:
        """The extra inputs an engine must add to every system with
        ``System.add_data``, with the units the model wants.

        :param use_new_names: give the names of metatomic >= 0.1.8 (``mass``,
            ``velocity``, ...); ``False``, the default, gives the deprecated
            plural names (``masses``, ``velocities``, ...) and warns
        """
        if use_new_names:
            return self._requested_inputs
        warn_once(
            "`requested_inputs()` gives deprecated plural names, call "
            + "`requested_inputs(use_new_names=True)` instead",
            True,
        )
        inputs: Dict[str, ModelOutput] = {}
        for name, request in self._requested_inputs.items():
            plural = old_name(name)
            if plural == "":
                inputs[name] = request
            else:
                inputs[plural] = request
        return inputs

    # ================================================================================ #

    def _module_output_name(self, name: str) -> str:
        """The name under which the wrapped module knows the output an engine asks
        for as ``name`` (deprecated plural and new singular names are mapped)"""
        if name in self._model_capabilities_outputs_names:
            return name
        singular = new_name(name)
        if singular != name and singular in self._model_capabilities_outputs_names:
            warn_once(
                "the output name '"
                + name
                + "' is deprecated, engines should request '"
                + singular
                + "'",
                True,
            )
            return singular
        plural = old_name(name)
        if plural != "" and plural in self._model_capabilities_outputs_names:
            warn_once(
                "this model declares the output '"
                + plural
                + "' with a deprecated name, it should be named '"
                + name
                + "'",
                True,
            )
            return plural
        return name

    def _convert_inputs(
        self, systems: List[System], length_factor: float
    ) -> List[System]:
        """The systems in the model's units (new systems if anything changes)"""
        converted: List[System] = []
        for system in systems:
            copy = system
            copied = length_factor != 1.0
            if copied:
                copy = _system_copy(system, length_factor)
            known = system.known_data()
            for name, request in self._requested_inputs.items():
                if name not in known:
                    continue
                data = system.get_data(name)
                unit = data.get_info("unit")
                if unit is not None:
                    factor = unit_conversion_factor(unit, request.unit)
                    if unit != request.unit and factor != 1.0:
                        if not copied:
                            copy = _system_copy(system, 1.0)
                            copied = True
                        scaled = _scaled_tensor(data, factor, 1.0)
                        scaled.set_info("unit", request.unit)
                        copy._data[name] = scaled
            converted.append(copy)
        return converted

    def forward(
        self,
        systems: List[System],
        options: ModelEvaluationOptions,
        check_consistency: bool,
    ) -> Dict[str, TensorMap]:
        """Run the model for an engine.

        :param systems: the systems, in the engine's units, with the requested
            neighbor lists and inputs
        :param options: the requested outputs (with the units the engine wants),
            the engine's length unit and the selected atoms
        :param check_consistency: check everything that goes in and out of the
            model (slower; for debugging models and engines)
        :return: output name => TensorMap, in the requested units
        """
        requested: Dict[str, ModelOutput] = {}
        engine_names: Dict[str, str] = {}
        for name, request in options.outputs.items():
            module_name = self._module_output_name(name)
            requested[module_name] = request
            engine_names[module_name] = name

        if check_consistency:
            check_inputs(
                systems,
                requested,
                options.selected_atoms,
                self._capabilities,
                self._requested_neighbor_lists,
                self._requested_inputs,
                self._model_dtype,
            )
        _check_atomic_types(systems, self._capabilities.atomic_types)

        length_factor = unit_conversion_factor(
            options.length_unit, self._capabilities.length_unit
        )
        systems = self._convert_inputs(systems, length_factor)

        outputs = self.module(systems, requested, options.selected_atoms)

        if check_consistency:
            check_outputs(
                systems, requested, options.selected_atoms, outputs, self._model_dtype
            )

        results: Dict[str, TensorMap] = {}
        declared = self._capabilities.outputs
        for name, tensor in outputs.items():
            engine_name = name
            if name in engine_names:
                engine_name = engine_names[name]
            factor = 1.0
            if name in declared and name in requested:
                from_unit = declared[name].unit
                to_unit = requested[name].unit
                if from_unit != "" and to_unit != "":
                    factor = unit_conversion_factor(from_unit, to_unit)
            # gradients with respect to model positions, back to engine lengths
            if factor != 1.0 or length_factor != 1.0:
                tensor = _scaled_tensor(tensor, factor, length_factor)
            results[engine_name] = tensor
        return results

    # ================================================================================ #

    @torch.jit.export
    def forward_tensors(
        self,
        types: torch.Tensor,
        positions: torch.Tensor,
        cell: torch.Tensor,
        pbc: torch.Tensor,
        neighbor_pairs: List[torch.Tensor],
        outputs: List[str],
        output_units: List[str],
        per_atom: List[bool],
        selected_atoms: Optional[torch.Tensor],
        length_unit: str,
    ) -> Dict[str, torch.Tensor]:
        """Run the model on one system given as plain tensors, for engines that
        only know libtorch (see the README of metatomic-torch).

        :param types: ``(n_atoms,)`` integer atomic types
        :param positions: ``(n_atoms, 3)`` positions in ``length_unit``, with
            the model's dtype (set ``requires_grad`` for forces)
        :param cell: ``(3, 3)`` cell vectors as rows (zero rows when not
            periodic), same dtype as ``positions``
        :param pbc: ``(3,)`` bool periodicity
        :param neighbor_pairs: one ``(n_pairs, 5)`` integer tensor per entry of
            :py:meth:`neighbor_list_requests`, in that order: the atoms ``i``,
            ``j`` and the cell shift ``S`` of each pair (the pair vectors are
            computed here as ``r_j - r_i + S @ cell``, so that gradients reach
            the positions and the cell)
        :param outputs: names of the requested outputs
        :param output_units: the unit wanted for each output (``""`` for the
            model's unit)
        :param per_atom: for each output, whether one value per atom is wanted
            (otherwise one per system)
        :param selected_atoms: indices of the atoms to compute outputs for, or
            ``None`` for all of them
        :param length_unit: unit of ``positions``, ``cell`` (and of the cutoffs of
            :py:meth:`neighbor_list_requests`)
        :return: output name => the values of its single block: ``(1, ...)`` per
            system, ``(n_atoms, ...)`` per atom in atom order (rows of atoms that
            were not selected are zero)
        """
        if len(outputs) != len(output_units) or len(outputs) != len(per_atom):
            raise ValueError(
                "`outputs`, `output_units` and `per_atom` must have the same length"
            )
        if len(neighbor_pairs) != len(self._requested_neighbor_lists):
            raise ValueError(
                "this model needs "
                + str(len(self._requested_neighbor_lists))
                + " neighbor lists (see `neighbor_list_requests`), got "
                + str(len(neighbor_pairs))
            )
        system = System(types, positions, cell, pbc)
        device = positions.device
        xyz = Labels("xyz", torch.tensor([[0], [1], [2]], device=device))
        distance = Labels("distance", torch.tensor([[0]], device=device))
        for i in range(len(neighbor_pairs)):
            pairs = neighbor_pairs[i].to(device=device, dtype=torch.int32)
            samples = Labels(
                [
                    "first_atom",
                    "second_atom",
                    "cell_shift_a",
                    "cell_shift_b",
                    "cell_shift_c",
                ],
                pairs,
            )
            vectors = pair_vectors(positions, cell, pairs)
            system.add_neighbor_list(
                self._requested_neighbor_lists[i],
                TensorBlock(vectors.reshape(-1, 3, 1), samples, [xyz], distance),
            )

        requests: Dict[str, ModelOutput] = {}
        for i in range(len(outputs)):
            sample_kind = "system"
            if per_atom[i]:
                sample_kind = "atom"
            requests[outputs[i]] = ModelOutput(
                unit=output_units[i], sample_kind=sample_kind
            )
        selection: Optional[Labels] = None
        if selected_atoms is not None:
            atoms = selected_atoms.to(device=device, dtype=torch.int32).reshape(-1, 1)
            selection = Labels(
                ["system", "atom"], torch.hstack([torch.zeros_like(atoms), atoms])
            )
        options = ModelEvaluationOptions(length_unit, requests, selection)
        results = self.forward([system], options, False)

        values: Dict[str, torch.Tensor] = {}
        for i in range(len(outputs)):
            block = results[outputs[i]].block_by_id(0)
            if per_atom[i]:
                atoms = block.samples.column("atom").to(torch.int64)
                shape = list(block.values.shape)
                shape[0] = types.shape[0]
                full = torch.zeros(shape, dtype=block.values.dtype, device=device)
                values[outputs[i]] = full.index_add(0, atoms, block.values)
            else:
                values[outputs[i]] = block.values
        return values

    @torch.jit.export
    def neighbor_list_requests(
        self, length_unit: str
    ) -> List[Tuple[float, bool, bool]]:
        """``(cutoff, full_list, strict)`` of each neighbor list
        :py:meth:`forward_tensors` needs, in order, with cutoffs in
        ``length_unit``"""
        requests: List[Tuple[float, bool, bool]] = []
        for options in self._requested_neighbor_lists:
            requests.append(
                (options.engine_cutoff(length_unit), options.full_list, options.strict)
            )
        return requests

    # ================================================================================ #

    @torch.jit.unused
    def save(self, file: str, collect_extensions: Optional[str] = None):
        """Compile this model with TorchScript and save it to ``file``, with its
        metadata and the versions of the packages involved (see
        :py:func:`load_atomistic_model`).

        :param file: path of the file to write (``.pt`` by convention)
        :param collect_extensions: a directory to copy the TorchScript extensions
            used by the model into (emptied first), for engines that need them
        """
        from ._export import save_model

        save_model(self, file, collect_extensions)

    @torch.jit.unused
    def export(self, file: str, collect_extensions: Optional[str] = None):
        """Deprecated, use :py:meth:`save`"""
        warn_once(
            "`AtomisticModel.export()` is deprecated, use `AtomisticModel.save()`",
            True,
        )
        self.save(file, collect_extensions)
