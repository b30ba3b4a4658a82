"""``DFTD3``: adds the two-body D3(BJ) dispersion correction to the energy (and
to the non-conservative forces and stress) of an atomistic model.

Import it explicitly: ``from metatomic.torch.dftd3 import DFTD3``.
"""

import math
import numbers
from typing import Dict, List, Optional, Tuple

import torch

from metatensor.torch import Labels, TensorBlock, TensorMap

from ._dftd3_energy import (
    coordination_numbers,
    pair_c6,
    pair_energies,
    reference_weights,
)
from ._dftd3_reference import (
    check_d3_params,
    damping_parameters,
    default_d3_params,
    elements_with_data,
    functional_names,
)
from ._model import AtomisticModel
from ._neighbors import NeighborListOptions
from ._outputs import ModelCapabilities, ModelOutput
from ._system import System
from ._units import unit_conversion_factor
from ._wrappers import (
    as_atomistic_model,
    capabilities_with,
    metadata_with_references,
)

__all__ = ["DFTD3", "default_d3_params", "functional_names"]

for _function in (default_d3_params, functional_names):
    _function.__module__ = __name__
del _function

# default cutoffs of s-dftd3 and tad-dftd3 for the two-body term and the
# coordination numbers, in bohr
DEFAULT_CUTOFF = 60.0
DEFAULT_CN_CUTOFF = 40.0
# the papers describing D3 and its Becke-Johnson damping
D3_REFERENCES = [
    "https://doi.org/10.1063/1.3382344",
    "https://doi.org/10.1002/jcc.21759",
]
_FORCE_NAMES = ["non_conservative_force", "non_conservative_forces"]
_STRESS_NAME = "non_conservative_stress"


def _cutoff(value, default: float, name: str, length_unit: str) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    value = float(value)
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(
            f"`{name}` must be a positive number (in the model's length unit, "
            f"'{length_unit}'), got {value}"
        )
    return value


def _output_unit(capabilities: ModelCapabilities, name: str) -> str:
    unit = capabilities.outputs[name].unit
    if unit == "":
        raise ValueError(
            f"DFTD3 needs the unit of the model's '{name}' output, which is empty: "
            "set it in the capabilities of the model"
        )
    return unit


def _dispersion_types(
    atomic_types: List[int], excluded_atom_types, tables: Dict[str, torch.Tensor]
) -> List[int]:
    """The atomic types of the model that are not in ``excluded_atom_types``,
    checking that the D3 ``tables`` have data for them"""
    if len(atomic_types) == 0:
        raise ValueError("DFTD3 needs a model with at least one atomic type")
    excluded = []
    for value in excluded_atom_types or []:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(
                "`excluded_atom_types` must be a list of integers, got an entry of "
                f"type {type(value).__name__}"
            )
        if int(value) not in atomic_types:
            raise ValueError(
                f"excluded atom type {int(value)} is not one of the atomic types of "
                f"the model ({atomic_types})"
            )
        excluded.append(int(value))

    types = [t for t in atomic_types if t not in excluded]
    if len(types) == 0:
        raise ValueError(
            "all the atomic types of the model are in `excluded_atom_types`: "
            "there is no dispersion to add"
        )
    known = elements_with_data(tables)
    missing = [t for t in types if t not in known]
    if missing:
        raise ValueError(
            f"there is no D3 reference data for the atomic type(s) {missing} of "
            "this model (atomic types are atomic numbers): add them to "
            "`excluded_atom_types` to ignore these atoms"
        )
    return types


def _with_values(tensor: TensorMap, values: torch.Tensor) -> TensorMap:
    """``tensor`` (with a single block) with new values"""
    block = tensor.block_by_id(0)
    result = TensorMap(
        tensor.keys,
        [TensorBlock(values, block.samples, block.components, block.properties)],
    )
    for key, value in tensor.info().items():
        result.set_info(key, value)
    return result


def _single_block(results: Dict[str, TensorMap], name: str) -> TensorBlock:
    if name not in results:
        raise ValueError("the wrapped model did not return the '" + name + "' output")
    tensor = results[name]
    if len(tensor.keys) != 1:
        raise ValueError(
            "the '"
            + name
            + "' output of the wrapped model must have a single block, got "
            + str(len(tensor.keys))
        )
    return tensor.block_by_id(0)


def _system_energies(
    atom_energies: torch.Tensor, offsets: torch.Tensor, selected_atoms: Optional[Labels]
) -> torch.Tensor:
    """The energy of each system: the sum of the energies of its atoms (of the
    selected ones only, if ``selected_atoms`` is given), with ``atom_energies``
    the energies of the atoms of all systems, and ``offsets`` the index of the
    first atom of each system (and the number of atoms at the end)"""
    device = atom_energies.device
    n_systems = offsets.shape[0] - 1
    if selected_atoms is not None:
        selected = torch.zeros_like(atom_energies)
        rows = selected_atoms.values.to(device).to(torch.int64)
        rows = rows[rows[:, 0] < n_systems]
        selected[offsets[rows[:, 0]] + rows[:, 1]] = 1.0
        atom_energies = atom_energies * selected
    owners = torch.repeat_interleave(
        torch.arange(n_systems, device=device), offsets[1:] - offsets[:-1]
    )
    totals = torch.zeros(n_systems, dtype=atom_energies.dtype, device=device)
    return totals.index_add(0, owners, atom_energies)


def _atom_rows(block: TensorBlock, offsets: torch.Tensor) -> torch.Tensor:
    """Index of the atom of each sample of ``block`` in the atoms of all
    systems, one system after the other"""
    systems = block.samples.column("system").to(torch.int64)
    atoms = block.samples.column("atom").to(torch.int64)
    return offsets[systems] + atoms


class DFTD3(torch.nn.Module):
    """Adds the two-body D3 dispersion correction with Becke-Johnson damping
    (D3(BJ)) to a model's ``energy`` output, and its forces and stress to the
    ``non_conservative_force`` and ``non_conservative_stress`` outputs when the
    model has them.

    Use :py:meth:`wrap` to get a new :py:class:`AtomisticModel` that can be run
    and saved like any other. The wrapper requests a half neighbor list with a
    cutoff ``max(cutoff, cn_cutoff)``; the interaction range of the wrapped
    model is at least ``cutoff + cn_cutoff``, since the energy of a pair depends
    on the coordination numbers of both atoms. The atomic types of the model are
    atomic numbers.

    :param model: the model to correct, an :py:class:`AtomisticModel` with an
        ``energy`` output (built in Python, or loaded with
        :py:func:`load_atomistic_model`). Its units must be set.
    :param damping_params: the D3(BJ) damping parameters of the functional the
        model was trained on: a dict with ``"s8"``, ``"a1"``, ``"a2"`` (in bohr)
        and optionally ``"s6"`` (1.0 by default), or the name of a functional
        (case insensitive, e.g. ``"pbe"``, ``"r2scan"``, see
        :py:func:`functional_names`)
    :param d3_params: the reference data of the D3 model, in the layout of
        :py:func:`default_d3_params` (the default, from tad-dftd3), in atomic
        units
    :param cutoff: the pairs further apart than this (in the model's length
        unit) do not contribute to the dispersion energy; the default is 60
        bohr (31.75 Å), as in s-dftd3
    :param cn_cutoff: the pairs further apart than this (in the model's length
        unit) do not contribute to the coordination numbers; the default is 40
        bohr (21.17 Å), as in s-dftd3
    :param excluded_atom_types: atomic types that D3 ignores: no pair involving
        them contributes to the energy or to the coordination numbers (for
        virtual sites, or elements without reference data)

    The ``energy`` output of the wrapped model is declared without explicit
    gradients: forces and virials come from the autograd graph, which goes
    through the neighbor list. Per-atom energies get half of the energy of each
    pair. The dispersion stress is only added to systems periodic in all three
    directions. Other outputs (variants like ``energy/<variant>``, ensembles,
    uncertainties, ...) are left unchanged.

    >>> from typing import Dict, List, Optional
    >>> import torch
    >>> import metatomic.torch as mta
    >>> from metatensor.torch import Labels, TensorMap
    >>> from metatomic.torch.dftd3 import DFTD3
    >>> class Model(torch.nn.Module):  # the model to correct
    ...     def forward(
    ...         self,
    ...         systems: List[mta.System],
    ...         outputs: Dict[str, mta.ModelOutput],
    ...         selected_atoms: Optional[Labels],
    ...     ) -> Dict[str, TensorMap]:
    ...         return {}
    >>> capabilities = mta.ModelCapabilities(
    ...     outputs={"energy": mta.ModelOutput(unit="eV")},
    ...     atomic_types=[1, 8],
    ...     interaction_range=5.0,
    ...     length_unit="angstrom",
    ...     supported_devices=["cpu"],
    ...     dtype="float64",
    ... )
    >>> model = mta.AtomisticModel(Model().eval(), mta.ModelMetadata(), capabilities)
    >>> corrected = DFTD3.wrap(model, damping_params="pbe", cutoff=15.0, cn_cutoff=10.0)
    >>> corrected.capabilities().interaction_range
    25.0
    >>> corrected.requested_neighbor_lists()
    [NeighborListOptions(cutoff=15.000000, full_list=False, strict=True)]
    >>> corrected.metadata().references["model"]
    ['https://doi.org/10.1063/1.3382344', 'https://doi.org/10.1002/jcc.21759']

    .. versionadded:: 0.1.19
    """

    def __init__(
        self,
        model: AtomisticModel,
        *,
        damping_params,
        d3_params: Optional[Dict[str, torch.Tensor]] = None,
        cutoff: Optional[float] = None,
        cn_cutoff: Optional[float] = None,
        excluded_atom_types: Optional[List[int]] = None,
    ):
        super().__init__()
        model = as_atomistic_model(model)
        capabilities = model.capabilities()
        names = list(model._model_capabilities_outputs_names)
        if "energy" not in names:
            raise ValueError(
                "DFTD3 needs a model with an 'energy' output, this model has the "
                f"outputs {names}"
            )
        length_unit = capabilities.length_unit
        if length_unit == "":
            raise ValueError(
                "DFTD3 needs the length unit of the model, which is empty: set "
                "`capabilities.length_unit`"
            )
        energy_unit = _output_unit(capabilities, "energy")

        parameters = damping_parameters(damping_params)
        if d3_params is None:
            tables = default_d3_params()
        else:
            tables = check_d3_params(d3_params)

        to_bohr = unit_conversion_factor(length_unit, "bohr")
        cutoff = _cutoff(cutoff, DEFAULT_CUTOFF / to_bohr, "cutoff", length_unit)
        cn_cutoff = _cutoff(
            cn_cutoff, DEFAULT_CN_CUTOFF / to_bohr, "cn_cutoff", length_unit
        )

        atomic_types = sorted(set(capabilities.atomic_types))
        types = _dispersion_types(atomic_types, excluded_atom_types, tables)

        self._model = model.module
        self._options = NeighborListOptions(
            cutoff=max(cutoff, cn_cutoff), full_list=False, strict=True
        )
        self._interaction_range = max(
            capabilities.interaction_range, cutoff + cn_cutoff
        )

        # the D3 tables for the atomic types of the model only
        index = torch.tensor(types, dtype=torch.int64)
        self.register_buffer(
            "_c6_reference", tables["c6_reference"][index][:, index].contiguous()
        )
        self.register_buffer("_cn_reference", tables["cn_reference"][index])
        self.register_buffer("_r4r2", tables["r4r2"][index])
        self.register_buffer("_covalent_radii", tables["covalent_radii"][index])
        # atomic type => index in the tables (-1 for excluded types), as two
        # sorted lists for `searchsorted`
        species = [types.index(t) if t in types else -1 for t in atomic_types]
        self.register_buffer(
            "_atomic_types", torch.tensor(atomic_types, dtype=torch.int32)
        )
        self.register_buffer("_species", torch.tensor(species, dtype=torch.int64))

        self._s6 = parameters["s6"]
        self._s8 = parameters["s8"]
        self._a1 = parameters["a1"]
        self._a2 = parameters["a2"]
        self._cutoff = cutoff * to_bohr
        self._cn_cutoff = cn_cutoff * to_bohr
        self._to_bohr = to_bohr
        self._energy_factor = unit_conversion_factor("hartree", energy_unit)

        # outputs receiving the forces and the stress, and the factors converting
        # them from the model's energy / length^n
        self._force_name = ""
        self._force_factor = 1.0
        for name in _FORCE_NAMES:
            if name in names:
                self._force_name = name
                self._force_factor = unit_conversion_factor(
                    f"({energy_unit})/({length_unit})", _output_unit(capabilities, name)
                )
                break
        self._stress_name = ""
        self._stress_factor = 1.0
        if _STRESS_NAME in names:
            self._stress_name = _STRESS_NAME
            self._stress_factor = unit_conversion_factor(
                f"({energy_unit})/({length_unit})^3",
                _output_unit(capabilities, _STRESS_NAME),
            )

    @classmethod
    def wrap(
        cls,
        model: AtomisticModel,
        *,
        damping_params,
        d3_params: Optional[Dict[str, torch.Tensor]] = None,
        cutoff: Optional[float] = None,
        cn_cutoff: Optional[float] = None,
        excluded_atom_types: Optional[List[int]] = None,
    ) -> AtomisticModel:
        """A new :py:class:`AtomisticModel` computing the outputs of ``model``
        with the D3(BJ) dispersion added (the parameters are those of
        :py:class:`DFTD3`).

        The capabilities are those of ``model``, with an interaction range of at
        least ``cutoff + cn_cutoff`` and no explicit gradients for the energy;
        the metadata is that of ``model``, with the D3(BJ) papers added to the
        references of the model.
        """
        model = as_atomistic_model(model)
        wrapper = cls(
            model,
            damping_params=damping_params,
            d3_params=d3_params,
            cutoff=cutoff,
            cn_cutoff=cn_cutoff,
            excluded_atom_types=excluded_atom_types,
        )
        # the energy has no explicit gradients: forces come from autograd
        energy = model.capabilities().outputs["energy"]
        energy = ModelOutput(
            unit=energy.unit,
            sample_kind=energy.sample_kind,
            description=energy.description,
        )
        return AtomisticModel(
            wrapper.eval(),
            metadata_with_references(model.metadata(), "model", D3_REFERENCES),
            capabilities_with(model, {"energy": energy}, wrapper._interaction_range),
        )

    @torch.jit.export
    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        """The half neighbor list used to compute the dispersion"""
        return [self._options]

    # ================================================================================ #

    def _dispersion(
        self, system: System, compute_gradients: bool
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The dispersion energy of each atom of ``system`` and, if
        ``compute_gradients``, the dispersion forces ``(n_atoms, 3)`` and virial
        ``(3, 3)`` (the derivative of the energy with respect to the strain),
        in the model's units"""
        n_atoms = len(system)
        neighbors = system.get_neighbor_list(self._options)
        pairs = neighbors.samples.values
        vectors = neighbors.values.reshape(-1, 3)

        position = torch.searchsorted(self._atomic_types, system.types)
        species = self._species[position]
        first = pairs[:, 0].to(torch.int64)
        second = pairs[:, 1].to(torch.int64)
        kept = torch.logical_and(species[first] >= 0, species[second] >= 0)
        first = first[kept]
        second = second[kept]
        vectors = vectors[kept]
        species = torch.clamp(species, min=0)

        forces = torch.zeros((0, 3), dtype=vectors.dtype, device=vectors.device)
        virial = torch.zeros((3, 3), dtype=vectors.dtype, device=vectors.device)
        if compute_gradients:
            grad_enabled = torch.is_grad_enabled()
            keep_graph = grad_enabled and vectors.requires_grad
            torch.set_grad_enabled(True)
            if not vectors.requires_grad:
                vectors = vectors.detach().requires_grad_(True)
            energies = self._pair_energies(n_atoms, species, first, second, vectors)
            gradient = torch.autograd.grad(
                [energies.sum()], [vectors], retain_graph=keep_graph
            )[0]
            torch.set_grad_enabled(grad_enabled)
            assert gradient is not None
            if not keep_graph:
                energies = energies.detach()
            # the vectors are r_j - r_i + S @ cell
            forces = torch.zeros(
                (n_atoms, 3), dtype=vectors.dtype, device=vectors.device
            )
            forces = forces.index_add(0, first, gradient).index_add(
                0, second, -gradient
            )
            virial = vectors.detach().T @ gradient
        else:
            energies = self._pair_energies(n_atoms, species, first, second, vectors)

        atom_energies = torch.zeros(n_atoms, dtype=vectors.dtype, device=vectors.device)
        atom_energies = atom_energies.index_add(0, first, 0.5 * energies)
        atom_energies = atom_energies.index_add(0, second, 0.5 * energies)
        return atom_energies, forces, virial

    def _pair_energies(
        self,
        n_atoms: int,
        species: torch.Tensor,
        first: torch.Tensor,
        second: torch.Tensor,
        vectors: torch.Tensor,
    ) -> torch.Tensor:
        """The dispersion energy of each pair, in the model's energy unit"""
        dtype = vectors.dtype
        distances = torch.linalg.vector_norm(vectors, dim=1) * self._to_bohr
        cn = coordination_numbers(
            n_atoms,
            first,
            second,
            distances,
            self._covalent_radii.to(dtype)[species],
            self._cn_cutoff,
        )
        weights = reference_weights(cn, self._cn_reference[species])
        c6 = pair_c6(species, first, second, weights, self._c6_reference.to(dtype))
        r4r2 = self._r4r2.to(dtype)[species]
        energies = pair_energies(
            distances,
            c6,
            r4r2[first],
            r4r2[second],
            self._s6,
            self._s8,
            self._a1,
            self._a2,
            self._cutoff,
        )
        return energies * self._energy_factor

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        results = self._model(systems, outputs, selected_atoms)

        add_energy = "energy" in outputs
        add_forces = self._force_name != "" and self._force_name in outputs
        add_stress = self._stress_name != "" and self._stress_name in outputs
        if len(systems) == 0 or not (add_energy or add_forces or add_stress):
            return results
        if add_energy and len(outputs["energy"].explicit_gradients) != 0:
            raise ValueError(
                "DFTD3 does not compute explicit gradients of the energy, use "
                "the autograd graph of the energy instead"
            )

        atom_energies: List[torch.Tensor] = []
        forces: List[torch.Tensor] = []
        stresses: List[torch.Tensor] = []
        sizes: List[int] = [0]
        for system in systems:
            energies, system_forces, virial = self._dispersion(
                system, add_forces or add_stress
            )
            atom_energies.append(energies)
            forces.append(system_forces)
            if bool(torch.all(system.pbc)):
                volume = torch.abs(torch.linalg.det(system.cell.detach()))
                stresses.append(virial / volume)
            else:
                stresses.append(torch.zeros_like(virial))
            sizes.append(len(system))

        device = atom_energies[0].device
        offsets = torch.cumsum(torch.tensor(sizes, device=device), dim=0)
        if add_energy:
            block = _single_block(results, "energy")
            energies = torch.cat(atom_energies)
            if "atom" in block.samples.names:
                added = energies[_atom_rows(block, offsets)]
            else:
                totals = _system_energies(energies, offsets, selected_atoms)
                added = totals[block.samples.column("system").to(torch.int64)]
            values = block.values + added.reshape(-1, 1)
            results["energy"] = _with_values(results["energy"], values)

        if add_forces:
            name = self._force_name
            block = _single_block(results, name)
            added = self._force_factor * torch.cat(forces)[_atom_rows(block, offsets)]
            values = block.values + added.reshape(-1, 3, 1)
            results[name] = _with_values(results[name], values)

        if add_stress:
            name = self._stress_name
            block = _single_block(results, name)
            systems_index = block.samples.column("system").to(torch.int64)
            added = self._stress_factor * torch.stack(stresses)[systems_index]
            values = block.values + added.reshape(-1, 3, 3, 1)
            results[name] = _with_values(results[name], values)

        return results
