"""``HeatFlux``: a wrapper adding the ``heat_flux`` output to a model giving
per-atom energies, computed with the unfolded-system method of Langer, Frank and
Knoop (J. Chem. Phys. 159, 044118, 2023).

This module must be imported explicitly: ``import metatomic.torch.heat_flux``.
"""

import math
import re
from typing import Dict, List, Optional, Tuple

import torch

from metatensor.torch import Labels, TensorBlock, TensorMap

from ._heat_flux_unfold import unfold, unfolded_pairs
from ._model import AtomisticModel
from ._neighbors import NeighborListOptions, neighbor_sample_names, pair_vectors
from ._outputs import ModelOutput
from ._system import System
from ._units import unit_conversion_factor
from ._wrappers import (
    as_atomistic_model,
    capabilities_with,
    metadata_with_references,
)

REFERENCES = [
    "https://doi.org/10.1063/5.0155760",
    "https://doi.org/10.1103/PhysRevB.108.L100302",
]


def _grouped(unit: str) -> str:
    """``unit`` in parentheses if it is an expression, to combine it with others"""
    if re.fullmatch(r"[^*/^()]+", unit):
        return unit
    return f"({unit})"


def _per_atom_values(system: System, name: str, n_atoms: int) -> torch.Tensor:
    """The values of the per-atom data ``name`` of ``system``, one row per atom
    in atom order, shape ``(n_atoms, n_values)``"""
    block = system.get_data(name).block()
    atoms = block.samples.column("atom").to(torch.int64)
    values = block.values.reshape(atoms.shape[0], -1)
    result = torch.zeros(
        (n_atoms, values.shape[1]), dtype=values.dtype, device=values.device
    )
    return result.index_copy(0, atoms, values)


def _unfolded_data(tensor: TensorMap, origin: torch.Tensor, n_atoms: int) -> TensorMap:
    """``tensor`` (data of a system) for the unfolded atoms: per-atom blocks get
    the rows of the atoms each unfolded atom replicates, other blocks are kept"""
    blocks: List[TensorBlock] = []
    for block in tensor.blocks():
        if block.samples.names != ["system", "atom"]:
            blocks.append(block)
            continue
        atoms = block.samples.column("atom").to(torch.int64)
        lookup = torch.full((n_atoms,), -1, dtype=torch.int64, device=origin.device)
        lookup[atoms] = torch.arange(atoms.shape[0], device=origin.device)
        rows = lookup[origin]
        present = rows >= 0
        rows = rows[present]
        unfolded_atoms = torch.arange(origin.shape[0], device=origin.device)[present]
        system_column = block.samples.column("system").to(torch.int64)[rows]
        samples = Labels(
            ["system", "atom"],
            torch.stack([system_column, unfolded_atoms], dim=1).to(torch.int32),
        )
        blocks.append(
            TensorBlock(block.values[rows], samples, block.components, block.properties)
        )
    result = TensorMap(tensor.keys, blocks)
    for key, value in tensor.info().items():
        result.set_info(key, value)
    return result


class HeatFlux(torch.nn.Module):
    """Add the ``heat_flux`` output to ``model``, from its per-atom energies
    :math:`E_i`, the velocities :math:`v_i` and the masses :math:`m_i` of the
    atoms (inputs ``velocity`` and ``mass``, which the engine must provide):

    .. math::

        J = \\sum_{i \\in C} \\left(E_i + \\frac{1}{2} m_i |v_i|^2\\right) v_i
            + \\sum_{i \\in C} \\sum_{j \\in U} (r_i - r_j)
              \\left(\\frac{\\partial E_i}{\\partial r_j} \\cdot v_j\\right)

    where :math:`C` are the atoms of the system and :math:`U` the unfolded
    system: the atoms of :math:`C` and their periodic replicas closer than the
    model's ``interaction_range`` to an atom of :math:`C`, with the velocity of
    the atom they replicate. The per-atom energies of the atoms of :math:`C` are
    computed on :math:`U` as a non-periodic system (with neighbor lists mapped
    from the periodic ones): they are the same as in the periodic system, and
    the derivatives with respect to each replica are separate. For a
    non-periodic system, :math:`J` is the time derivative of
    :math:`\\sum_i r_i (E_i + \\frac{1}{2} m_i |v_i|^2)` along the trajectory.

    :math:`J` is the energy current, not divided by the volume: its unit is the
    model's energy unit times its length unit per femtosecond (e.g.
    ``eV*angstrom/fs``), and engines can ask for it in any unit of this
    dimension. With ``selected_atoms``, the sums over :math:`i` only run over
    the selected atoms (the heat flux of a part of the system), and the output
    only has the systems containing selected atoms.

    :param model: the model to wrap, an :py:class:`AtomisticModel` with a
        per-atom ``energy`` output, energy and length units and a finite
        ``interaction_range`` (the range of the unfolding, which must include
        every atom changing the energy of another)

    Use :py:meth:`wrap` to get a new :py:class:`AtomisticModel` with the
    ``heat_flux`` output, that can be saved and run by any engine:

    .. code-block:: python

        from metatomic.torch.heat_flux import HeatFlux

        model = HeatFlux.wrap(load_atomistic_model("model.pt"))
        model.save("model-heat-flux.pt")

    .. versionadded:: 0.1.19
    """

    _neighbor_lists: List[NeighborListOptions]

    def __init__(self, model: AtomisticModel):
        super().__init__()
        model = as_atomistic_model(model)
        capabilities = model.capabilities()
        outputs = capabilities.outputs
        if "energy" not in outputs or outputs["energy"].sample_kind != "atom":
            raise ValueError(
                "HeatFlux needs a model with per-atom energies: the model's "
                "capabilities must declare an 'energy' output with "
                "sample_kind='atom'"
            )
        if "heat_flux" in outputs:
            raise ValueError("the model already has a 'heat_flux' output")
        interaction_range = capabilities.interaction_range
        if not math.isfinite(interaction_range):
            raise ValueError(
                "HeatFlux needs a model with a finite `interaction_range` (the "
                "range of the unfolded system), this model has "
                f"{interaction_range}"
            )
        energy_unit = outputs["energy"].unit
        length_unit = capabilities.length_unit
        if energy_unit == "" or length_unit == "":
            raise ValueError(
                "HeatFlux needs the units of the model: its 'energy' output unit "
                f"('{energy_unit}') and its length unit ('{length_unit}') must be "
                "set"
            )

        energy = _grouped(energy_unit)
        length = _grouped(length_unit)
        self._model = model.module
        self._range = interaction_range
        self._neighbor_lists = model.requested_neighbor_lists()
        self._energy_unit = energy_unit
        self._velocity_unit = f"{length}/fs"
        # from u*(length/fs)^2 to the energy unit
        self._kinetic_factor = unit_conversion_factor(f"u*({length}/fs)^2", energy_unit)
        self._output = ModelOutput(
            unit=f"{energy}*{length}/fs",
            sample_kind="system",
            description="heat flux (energy current) from the per-atom energies",
        )

    @classmethod
    def wrap(cls, model: AtomisticModel) -> AtomisticModel:
        """A new :py:class:`AtomisticModel` with the outputs of ``model`` and
        ``heat_flux`` (see :py:class:`HeatFlux`), whose metadata adds the
        references of the method to those of ``model``"""
        model = as_atomistic_model(model)
        wrapper = cls(model)
        return AtomisticModel(
            wrapper.eval(),
            metadata_with_references(model.metadata(), "implementation", REFERENCES),
            capabilities_with(model, {"heat_flux": wrapper._output}),
        )

    @torch.jit.export
    def requested_inputs(self) -> Dict[str, ModelOutput]:
        """The velocities (in length unit per femtosecond) and masses (in
        dalton) of the atoms"""
        return {
            "velocity": ModelOutput(unit=self._velocity_unit, sample_kind="atom"),
            "mass": ModelOutput(unit="u", sample_kind="atom"),
        }

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        grad_enabled = torch.is_grad_enabled()
        others: Dict[str, ModelOutput] = {}
        for name, output in outputs.items():
            if name != "heat_flux":
                others[name] = output

        # the evaluations of the wrapped model: the requested outputs, and the
        # per-atom energies of the unfolded systems (a single call site keeps the
        # compiled graph small)
        inputs: List[List[System]] = []
        requests: List[Dict[str, ModelOutput]] = []
        selections: List[Optional[Labels]] = []
        if len(others) != 0:
            inputs.append(systems)
            requests.append(others)
            selections.append(selected_atoms)

        positions: List[torch.Tensor] = []
        origins: List[torch.Tensor] = []
        if "heat_flux" in outputs:
            if outputs["heat_flux"].sample_kind != "system":
                raise ValueError(
                    "the 'heat_flux' output is only available per system, got a "
                    "request with sample_kind='"
                    + outputs["heat_flux"].sample_kind
                    + "'"
                )
            # the unfolded systems are built with gradients, whatever the mode
            # of the caller: the heat flux needs derivatives of the energies
            torch.set_grad_enabled(True)
            unfolded: List[System] = []
            for system in systems:
                unfolded_system, origin = self._unfolded_system(system)
                unfolded.append(unfolded_system)
                positions.append(unfolded_system.positions)
                origins.append(origin)
            inputs.append(unfolded)
            requests.append(
                {"energy": ModelOutput(unit=self._energy_unit, sample_kind="atom")}
            )
            selections.append(None)

        results: List[Dict[str, TensorMap]] = []
        for i in range(len(inputs)):
            unfolded_energies = "heat_flux" in outputs and i == len(inputs) - 1
            torch.set_grad_enabled(grad_enabled or unfolded_energies)
            results.append(self._model(inputs[i], requests[i], selections[i]))

        final: Dict[str, TensorMap] = {}
        if len(others) != 0:
            final = results[0]
        if "heat_flux" in outputs:
            energy = results[-1]["energy"]
            final["heat_flux"] = self._heat_flux(
                systems, selected_atoms, energy, positions, origins
            )
        torch.set_grad_enabled(grad_enabled)
        return final

    def _unfolded_system(self, system: System) -> Tuple[System, torch.Tensor]:
        """The non-periodic system of the unfolded atoms of ``system``, with its
        neighbor lists and data mapped to them, and the atom each unfolded atom
        replicates. Its positions are a new leaf of the autograd graph (not
        connected to the engine's graph), requiring gradients."""
        cell_positions = system.positions.detach()
        system_cell = system.cell.detach()
        origin, shifts = unfold(cell_positions, system_cell, system.pbc, self._range)
        positions = (
            cell_positions[origin] + shifts.to(cell_positions.dtype) @ system_cell
        )
        positions.requires_grad_(True)

        n_atoms = len(system)
        device = positions.device
        cell = torch.zeros((3, 3), dtype=positions.dtype, device=device)
        unfolded = System(
            system.types[origin],
            positions,
            cell,
            torch.zeros(3, dtype=torch.bool, device=device),
        )
        xyz = Labels("xyz", torch.tensor([[0], [1], [2]], device=device))
        distance = Labels("distance", torch.tensor([[0]], device=device))
        for options in self._neighbor_lists:
            neighbors = system.get_neighbor_list(options)
            first, second = unfolded_pairs(
                neighbors.samples.values, origin, shifts, n_atoms
            )
            no_shift = torch.zeros(
                (first.shape[0], 3), dtype=torch.int64, device=device
            )
            samples = torch.cat(
                [first.reshape(-1, 1), second.reshape(-1, 1), no_shift], dim=1
            ).to(torch.int32)
            vectors = pair_vectors(positions, cell, samples)
            unfolded.add_neighbor_list(
                options,
                TensorBlock(
                    vectors.reshape(-1, 3, 1),
                    Labels(neighbor_sample_names(), samples),
                    [xyz],
                    distance,
                ),
            )
        for name in system.known_data():
            unfolded.add_data(
                name, _unfolded_data(system.get_data(name), origin, n_atoms)
            )
        return unfolded, origin

    def _heat_flux(
        self,
        systems: List[System],
        selected_atoms: Optional[Labels],
        energy: TensorMap,
        positions: List[torch.Tensor],
        origins: List[torch.Tensor],
    ) -> TensorMap:
        """The heat flux of each system (of the selected atoms), see the class
        documentation, from the per-atom ``energy`` of the unfolded systems at
        ``positions``, whose atoms replicate the atoms ``origins``"""
        device = torch.device("cpu")
        dtype = torch.float64
        if len(systems) != 0:
            device = systems[0].device
            dtype = systems[0].dtype
        xyz = Labels("xyz", torch.tensor([[0], [1], [2]], device=device))
        properties = Labels("heat_flux", torch.tensor([[0]], device=device))
        keys = Labels("_", torch.tensor([[0]], device=device))
        if len(systems) == 0:
            block = TensorBlock(
                torch.zeros((0, 3, 1), dtype=dtype, device=device),
                Labels("system", torch.zeros((0, 1), dtype=torch.int32, device=device)),
                [xyz],
                properties,
            )
            return TensorMap(keys, [block])

        weights: List[torch.Tensor] = []
        for s, system in enumerate(systems):
            weight = torch.ones(len(system), dtype=dtype, device=device)
            if selected_atoms is not None:
                selected = selected_atoms.values.to(device)
                atoms = selected[selected[:, 0] == s][:, 1].to(torch.int64)
                weight = torch.zeros_like(weight).index_fill(0, atoms, 1.0)
            weights.append(weight)

        block = energy.block()
        energy_systems = block.samples.column("system").to(torch.int64)
        energy_atoms = block.samples.column("atom").to(torch.int64)
        energy_values = block.values.reshape(-1)

        # per-atom energies of the atoms of each cell, weighted by the selection
        energies: List[torch.Tensor] = []
        for s, system in enumerate(systems):
            n_atoms = len(system)
            rows = (energy_systems == s) & (energy_atoms < n_atoms)
            cell_energies = torch.zeros(n_atoms, dtype=dtype, device=device)
            cell_energies = cell_energies.index_add(
                0, energy_atoms[rows], energy_values[rows]
            )
            energies.append(weights[s] * cell_energies)
        all_energies = torch.cat(energies)
        cell_positions: List[torch.Tensor] = []
        for s, system in enumerate(systems):
            cell_positions.append(positions[s][: len(system)].detach())
        all_positions = torch.cat(cell_positions)

        # d(sum_i E_i)/dr_j and d(sum_i r_i E_i)/dr_j (with constant r_i), for
        # every unfolded atom j
        gradients: List[List[Optional[torch.Tensor]]] = []
        for k in range(4):
            if not all_energies.requires_grad:
                unused: List[Optional[torch.Tensor]] = []
                for _ in positions:
                    unused.append(None)
                gradients.append(unused)
                continue
            if k == 0:
                weight = torch.ones_like(all_energies)
            else:
                weight = all_positions[:, k - 1]
            grad_outputs: List[Optional[torch.Tensor]] = [weight]
            gradients.append(
                torch.autograd.grad(
                    [all_energies],
                    positions,
                    grad_outputs=grad_outputs,
                    retain_graph=k != 3,
                    allow_unused=True,
                )
            )

        values: List[torch.Tensor] = []
        indices: List[int] = []
        for s, system in enumerate(systems):
            if selected_atoms is not None and not bool(torch.any(weights[s] != 0)):
                continue
            n_atoms = len(system)
            velocities = _per_atom_values(system, "velocity", n_atoms)[:, :3]
            masses = _per_atom_values(system, "mass", n_atoms).reshape(-1)
            kinetic = 0.5 * self._kinetic_factor * masses * velocities.square().sum(1)
            site = energies[s].detach() + weights[s] * kinetic
            flux = (site.reshape(-1, 1) * velocities).sum(0)

            unfolded_velocities = velocities[origins[s]]
            unfolded_positions = positions[s].detach()
            total = gradients[0][s]
            if total is not None:
                power = (total * unfolded_velocities).sum(1)
                flux = flux - (unfolded_positions * power.reshape(-1, 1)).sum(0)
            for k in range(3):
                moment = gradients[k + 1][s]
                if moment is not None:
                    flux[k] = flux[k] + (moment * unfolded_velocities).sum()
            values.append(flux.reshape(1, 3, 1))
            indices.append(s)

        if len(values) == 0:
            all_values = torch.zeros((0, 3, 1), dtype=dtype, device=device)
        else:
            all_values = torch.cat(values)
        samples = torch.tensor(indices, dtype=torch.int32, device=device)
        block = TensorBlock(
            all_values, Labels("system", samples.reshape(-1, 1)), [xyz], properties
        )
        return TensorMap(keys, [block])
