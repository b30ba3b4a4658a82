"""Models and structures used by the tests (all models compile with TorchScript)"""

from typing import Dict, List, Optional

import ase.build
import numpy as np
import torch
import torch_sim

from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelCapabilities,
    ModelMetadata,
    ModelOutput,
    NeighborListOptions,
    System,
)
from metatomic_ase import MetatomicCalculator

CUTOFF = 4.5
SIGMA = 2.3
EPSILON = 0.4
# Cu, and Si and Fe for torch-sim's `validate_model_outputs`
ATOMIC_TYPES = [14, 26, 29]


def cu_atoms(repeat=(2, 2, 2), seed=0, stdev=0.05, cubic=True, pbc=True):
    """Rattled fcc copper"""
    atoms = ase.build.bulk("Cu", "fcc", a=3.6, cubic=cubic).repeat(repeat)
    atoms.rattle(stdev=stdev, seed=seed)
    atoms.pbc = pbc
    return atoms


def structures(pbc=True) -> List[ase.Atoms]:
    """Three different copper structures: cubic, triclinic (the primitive fcc
    cell, strained) and larger"""
    triclinic = cu_atoms((3, 2, 3), seed=1, cubic=False, pbc=pbc)
    triclinic.set_cell(
        triclinic.cell.array @ [[1.0, 0.02, 0.0], [0.0, 1.0, 0.03], [0.01, 0.0, 1.02]],
        scale_atoms=True,
    )
    return [
        cu_atoms(seed=0, pbc=pbc),
        triclinic,
        cu_atoms((3, 2, 2), seed=2, pbc=pbc),
    ]


def to_state(atoms_list, dtype=torch.float64, pbc=None) -> torch_sim.SimState:
    """A torch-sim state on the CPU (with the periodicity ``pbc``, which may
    differ between the directions, instead of the one of the atoms)"""
    state = torch_sim.io.atoms_to_state(atoms_list, torch.device("cpu"), dtype)
    if pbc is not None:
        state.pbc = pbc
    return state


def ase_results(model, atoms_list, stress=True, **kwargs):
    """Energies, forces and 3x3 stresses of MetatomicCalculator (one
    calculation for each atoms)"""
    calculator = MetatomicCalculator(model, **kwargs)
    energies, forces, stresses = [], [], []
    for atoms in atoms_list:
        atoms = atoms.copy()
        atoms.calc = calculator
        energies.append(atoms.get_potential_energy())
        forces.append(atoms.get_forces())
        if stress:
            stresses.append(atoms.get_stress(voigt=False))
    return np.array(energies), np.concatenate(forces), np.array(stresses)


# ==================================================================================== #


def _tensor(values: torch.Tensor, samples: Labels, properties: Labels) -> TensorMap:
    device = values.device
    block = TensorBlock(
        values=values,
        samples=samples,
        components=torch.jit.annotate(List[Labels], []),
        properties=properties,
    )
    return TensorMap(Labels("_", torch.tensor([[0]], device=device)), [block])


def _atom_samples(systems: List[System], device: torch.device) -> Labels:
    rows: List[torch.Tensor] = []
    for i, system in enumerate(systems):
        atoms = torch.arange(len(system), device=device)
        rows.append(torch.stack([torch.full_like(atoms, i), atoms], dim=1))
    return Labels(["system", "atom"], torch.cat(rows))


def _system_samples(n_systems: int, device: torch.device) -> Labels:
    return Labels(["system"], torch.arange(n_systems, device=device).reshape(-1, 1))


def _xyz(name: str, device: torch.device) -> Labels:
    return Labels(name, torch.arange(3, device=device).reshape(-1, 1))


class PairPotential(torch.nn.Module):
    """Lennard-Jones potential on a half neighbor list, smoothly going to zero
    at the cutoff (or cut at the cutoff without ``smooth``), with per-atom
    energies (half of each pair energy on each atom)"""

    def __init__(
        self,
        cutoff: float = CUTOFF,
        sigma: float = SIGMA,
        epsilon: float = EPSILON,
        smooth: bool = True,
    ):
        super().__init__()
        self._options = NeighborListOptions(cutoff=cutoff, full_list=False, strict=True)
        self._cutoff = cutoff
        self._sigma = sigma
        self._epsilon = epsilon
        self._smooth = smooth

    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        return [self._options]

    def atomic_energies(self, systems: List[System]) -> List[torch.Tensor]:
        energies: List[torch.Tensor] = []
        for system in systems:
            neighbors = system.get_neighbor_list(self._options)
            distances = torch.linalg.vector_norm(neighbors.values.reshape(-1, 3), dim=1)
            sigma_r_6 = (self._sigma / distances) ** 6
            pair = 4.0 * self._epsilon * (sigma_r_6 * sigma_r_6 - sigma_r_6)
            if self._smooth:
                pair = pair * 0.5 * (torch.cos(torch.pi * distances / self._cutoff) + 1)
            pair = torch.where(distances < self._cutoff, pair, torch.zeros_like(pair))
            first = neighbors.samples.column("first_atom").to(torch.int64)
            second = neighbors.samples.column("second_atom").to(torch.int64)
            atomic = torch.zeros(
                len(system), dtype=system.positions.dtype, device=system.device
            )
            atomic = atomic.index_add(0, first, 0.5 * pair)
            atomic = atomic.index_add(0, second, 0.5 * pair)
            energies.append(atomic)
        return energies

    def energy(self, systems: List[System], per_atom: bool, factor: float) -> TensorMap:
        device = systems[0].device
        energies = self.atomic_energies(systems)
        properties = Labels("energy", torch.tensor([[0]], device=device))
        if per_atom:
            values = factor * torch.cat(energies).reshape(-1, 1)
            return _tensor(values, _atom_samples(systems, device), properties)
        totals: List[torch.Tensor] = []
        for atomic in energies:
            totals.append(factor * atomic.sum().reshape(1))
        values = torch.cat(totals).reshape(-1, 1)
        return _tensor(values, _system_samples(len(systems), device), properties)

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        results: Dict[str, TensorMap] = {}
        if "energy" in outputs:
            per_atom = outputs["energy"].sample_kind == "atom"
            results["energy"] = self.energy(systems, per_atom, 1.0)
        return results


def capabilities(outputs: Dict[str, ModelOutput], **kwargs) -> ModelCapabilities:
    arguments = {
        "outputs": outputs,
        "atomic_types": ATOMIC_TYPES,
        "interaction_range": CUTOFF,
        "length_unit": "angstrom",
        "supported_devices": ["cpu"],
        "dtype": "float64",
    }
    arguments.update(kwargs)
    return ModelCapabilities(**arguments)


def pair_model(dtype: str = "float64", length_unit="angstrom", **kwargs):
    """The Lennard-Jones model as an AtomisticModel"""
    outputs = {"energy": ModelOutput(unit="eV", sample_kind="atom")}
    return AtomisticModel(
        PairPotential(**kwargs).eval(),
        ModelMetadata(name="pair potential", description="Lennard-Jones for tests"),
        capabilities(outputs, dtype=dtype, length_unit=length_unit),
    )


# ==================================================================================== #


class MultiHeadModel(torch.nn.Module):
    """The pair potential with variants of the energy (``energy/double`` is twice
    the energy), per-atom uncertainties (``uncertainty`` times the atom index,
    twice for ``double``), non-conservative forces (the positions, so that their
    mean is not zero) and stress (a fixed matrix, times 2 for ``double``)"""

    def __init__(self, uncertainty: float):
        super().__init__()
        self.pair = PairPotential()
        self._uncertainty = uncertainty

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        device = systems[0].device
        dtype = systems[0].positions.dtype
        results: Dict[str, TensorMap] = {}
        atom_samples = _atom_samples(systems, device)
        system_samples = _system_samples(len(systems), device)
        for name, request in outputs.items():
            factor = 1.0
            if name.endswith("/double"):
                factor = 2.0
            if name.startswith("energy_uncertainty"):
                atom = atom_samples.column("atom").to(dtype).reshape(-1, 1)
                values = factor * self._uncertainty * atom
                energy = Labels("energy", torch.tensor([[0]], device=device))
                results[name] = _tensor(values, atom_samples, energy)
            elif name.startswith("energy"):
                per_atom = request.sample_kind == "atom"
                results[name] = self.pair.energy(systems, per_atom, factor)
            elif name.startswith("non_conservative_force"):
                positions: List[torch.Tensor] = []
                for system in systems:
                    positions.append(system.positions)
                block = TensorBlock(
                    values=factor * torch.cat(positions).reshape(-1, 3, 1),
                    samples=atom_samples,
                    components=[_xyz("xyz", device)],
                    properties=Labels(
                        "non_conservative_force", torch.tensor([[0]], device=device)
                    ),
                )
                results[name] = TensorMap(
                    Labels("_", torch.tensor([[0]], device=device)), [block]
                )
            elif name.startswith("non_conservative_stress"):
                matrix = torch.arange(9, dtype=dtype, device=device).reshape(1, 3, 3, 1)
                block = TensorBlock(
                    values=factor * matrix.repeat(len(systems), 1, 1, 1),
                    samples=system_samples,
                    components=[_xyz("xyz_1", device), _xyz("xyz_2", device)],
                    properties=Labels(
                        "non_conservative_stress", torch.tensor([[0]], device=device)
                    ),
                )
                results[name] = TensorMap(
                    Labels("_", torch.tensor([[0]], device=device)), [block]
                )
            elif name == "test::count":
                counts: List[float] = []
                for system in systems:
                    counts.append(float(len(system)))
                values = torch.tensor(counts, dtype=dtype, device=device)
                count = Labels("count", torch.tensor([[0]], device=device))
                results[name] = _tensor(values.reshape(-1, 1), system_samples, count)
        return results


def multi_head_model(uncertainty: float = 0.001, with_base: bool = True, without=()):
    """``MultiHeadModel`` as an AtomisticModel, with a custom output
    ``test::count`` (the number of atoms); without ``with_base``, the other
    outputs only exist as variants; the outputs in ``without`` are not
    declared"""
    outputs = {"test::count": ModelOutput()}
    names = {
        "energy": ("eV", "atom"),
        "energy_uncertainty": ("eV", "atom"),
        "non_conservative_force": ("eV/A", "atom"),
        "non_conservative_stress": ("eV/A^3", "system"),
    }
    for name, (unit, kind) in names.items():
        if with_base:
            outputs[name] = ModelOutput(
                unit=unit, sample_kind=kind, description=f"the {name}"
            )
        outputs[name + "/double"] = ModelOutput(
            unit=unit, sample_kind=kind, description=f"twice the {name}"
        )
    for name in without:
        del outputs[name]
    return AtomisticModel(
        MultiHeadModel(uncertainty).eval(),
        ModelMetadata(name="multi-head"),
        capabilities(outputs),
    )


# ==================================================================================== #


class InputsModel(torch.nn.Module):
    """The pair potential, requesting the atomic masses as input"""

    def __init__(self):
        super().__init__()
        self.pair = PairPotential()

    def requested_inputs(self) -> Dict[str, ModelOutput]:
        return {"mass": ModelOutput(unit="u", sample_kind="atom")}

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        return self.pair(systems, outputs, selected_atoms)


def inputs_model():
    outputs = {"energy": ModelOutput(unit="eV", sample_kind="atom")}
    return AtomisticModel(
        InputsModel().eval(), ModelMetadata(name="inputs"), capabilities(outputs)
    )
