"""Models and structures used by the tests (all models compile with TorchScript)"""

from typing import Dict, List, Optional

import ase.build
import numpy as np
import torch

from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelCapabilities,
    ModelMetadata,
    ModelOutput,
    NeighborListOptions,
    System,
)

CUTOFF = 4.5
SIGMA = 2.3
EPSILON = 0.4


def cu_atoms(repeat=(2, 2, 2), seed=0, stdev=0.05):
    """Rattled fcc copper"""
    atoms = ase.build.bulk("Cu", "fcc", a=3.6, cubic=True).repeat(repeat)
    atoms.rattle(stdev=stdev, seed=seed)
    return atoms


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
    if len(rows) == 0:
        values = torch.zeros((0, 2), dtype=torch.int64, device=device)
    else:
        values = torch.cat(rows)
    return Labels(["system", "atom"], values)


def _system_samples(n_systems: int, device: torch.device) -> Labels:
    return Labels(["system"], torch.arange(n_systems, device=device).reshape(-1, 1))


def _select(tensor: TensorMap, selected_atoms: Optional[Labels]) -> TensorMap:
    """Keep the samples of ``selected_atoms`` (per-atom) or of their systems"""
    if selected_atoms is None:
        return tensor
    block = tensor.block_by_id(0)
    samples = block.samples
    if samples.names == ["system", "atom"]:
        keep = torch.zeros(len(samples), dtype=torch.bool, device=block.values.device)
        for i in range(len(selected_atoms)):
            entry = selected_atoms.values[i]
            keep = keep | torch.all(samples.values == entry, dim=1)
    else:
        systems = torch.unique(selected_atoms.column("system"))
        keep = torch.isin(samples.column("system"), systems)
    values = block.values[keep]
    new_samples = Labels(samples.names, samples.values[keep])
    return _tensor(values, new_samples, block.properties)


class PairPotential(torch.nn.Module):
    """Lennard-Jones potential (smoothly going to zero at the cutoff, so that
    finite differences of the energy are accurate) on a half neighbor list, with
    per-atom energies (half of each pair energy on each atom)"""

    def __init__(
        self, cutoff: float = CUTOFF, full_list: bool = False, sigma: float = SIGMA
    ):
        super().__init__()
        self._options = NeighborListOptions(
            cutoff=cutoff, full_list=full_list, strict=True
        )
        self._cutoff = cutoff
        self._full_list = full_list
        self._sigma = sigma
        self._epsilon = EPSILON

    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        return [self._options]

    def atomic_energies(self, systems: List[System]) -> List[torch.Tensor]:
        energies: List[torch.Tensor] = []
        for system in systems:
            neighbors = system.get_neighbor_list(self._options)
            vectors = neighbors.values.reshape(-1, 3)
            distances = torch.linalg.vector_norm(vectors, dim=1)
            sigma_r_6 = (self._sigma / distances) ** 6
            smoothing = 0.5 * (torch.cos(torch.pi * distances / self._cutoff) + 1.0)
            pair = 4.0 * self._epsilon * (sigma_r_6 * sigma_r_6 - sigma_r_6) * smoothing
            pair = torch.where(distances < self._cutoff, pair, torch.zeros_like(pair))
            if self._full_list:
                pair = 0.5 * pair
            first = neighbors.samples.column("first_atom").to(torch.int64)
            second = neighbors.samples.column("second_atom").to(torch.int64)
            atomic = torch.zeros(
                len(system), dtype=system.positions.dtype, device=system.device
            )
            atomic = atomic.index_add(0, first, 0.5 * pair)
            atomic = atomic.index_add(0, second, 0.5 * pair)
            energies.append(atomic)
        return energies

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        results: Dict[str, TensorMap] = {}
        if "energy" not in outputs:
            return results
        device = torch.device("cpu")
        dtype = torch.float64
        if len(systems) != 0:
            device = systems[0].device
            dtype = systems[0].positions.dtype
        energies = self.atomic_energies(systems)
        properties = Labels("energy", torch.tensor([[0]], device=device))
        if outputs["energy"].sample_kind == "atom":
            if len(energies) == 0:
                values = torch.zeros((0, 1), dtype=dtype, device=device)
            else:
                values = torch.cat(energies).reshape(-1, 1)
            tensor = _tensor(values, _atom_samples(systems, device), properties)
        else:
            totals: List[torch.Tensor] = []
            for atomic in energies:
                totals.append(atomic.sum().reshape(1))
            if len(totals) == 0:
                values = torch.zeros((0, 1), dtype=dtype, device=device)
            else:
                values = torch.cat(totals).reshape(-1, 1)
            tensor = _tensor(values, _system_samples(len(systems), device), properties)
        results["energy"] = _select(tensor, selected_atoms)
        return results


def capabilities(outputs: Dict[str, ModelOutput], **kwargs) -> ModelCapabilities:
    arguments = {
        "outputs": outputs,
        "atomic_types": [29],
        "interaction_range": CUTOFF,
        "length_unit": "angstrom",
        "supported_devices": ["cpu"],
        "dtype": "float64",
    }
    arguments.update(kwargs)
    return ModelCapabilities(**arguments)


def pair_model(per_atom: bool = True, dtype: str = "float64", **kwargs):
    """The Lennard-Jones model as an AtomisticModel"""
    kind = "atom" if per_atom else "system"
    outputs = {"energy": ModelOutput(unit="eV", sample_kind=kind)}
    return AtomisticModel(
        PairPotential(**kwargs).eval(),
        ModelMetadata(name="pair potential", description="Lennard-Jones for tests"),
        capabilities(outputs, dtype=dtype),
    )


# ==================================================================================== #


class MultiHeadModel(torch.nn.Module):
    """The pair potential with variants of the energy (``energy/double`` is twice
    the energy), per-atom uncertainties (constant ``uncertainty``, twice for the
    ``double`` variant), non-conservative forces (the positions, so that their
    mean is not zero) and stress (a fixed matrix, times 2 for the variant)"""

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
        energies = self.pair.atomic_energies(systems)
        atom_samples = _atom_samples(systems, device)
        system_samples = _system_samples(len(systems), device)
        energy = Labels("energy", torch.tensor([[0]], device=device))
        for name, request in outputs.items():
            factor = 1.0
            if name.endswith("/double"):
                factor = 2.0
            if name.startswith("energy_uncertainty"):
                values = torch.full(
                    (len(atom_samples), 1),
                    factor * self._uncertainty,
                    dtype=dtype,
                    device=device,
                )
                results[name] = _tensor(values, atom_samples, energy)
            elif name.startswith("energy"):
                if request.sample_kind == "atom":
                    values = factor * torch.cat(energies).reshape(-1, 1)
                    results[name] = _tensor(values, atom_samples, energy)
                else:
                    totals: List[torch.Tensor] = []
                    for atomic in energies:
                        totals.append(factor * atomic.sum().reshape(1))
                    values = torch.cat(totals).reshape(-1, 1)
                    results[name] = _tensor(values, system_samples, energy)
            elif name.startswith("non_conservative_force"):
                positions: List[torch.Tensor] = []
                for system in systems:
                    positions.append(system.positions)
                values = factor * torch.cat(positions).reshape(-1, 3, 1)
                block = TensorBlock(
                    values=values,
                    samples=atom_samples,
                    components=[
                        Labels("xyz", torch.arange(3, device=device).reshape(-1, 1))
                    ],
                    properties=Labels(
                        "non_conservative_force", torch.tensor([[0]], device=device)
                    ),
                )
                results[name] = TensorMap(
                    Labels("_", torch.tensor([[0]], device=device)), [block]
                )
            elif name.startswith("non_conservative_stress"):
                matrix = torch.arange(9, dtype=dtype, device=device).reshape(1, 3, 3, 1)
                values = factor * matrix.repeat(len(systems), 1, 1, 1)
                xyz_1 = Labels("xyz_1", torch.arange(3, device=device).reshape(-1, 1))
                xyz_2 = Labels("xyz_2", torch.arange(3, device=device).reshape(-1, 1))
                block = TensorBlock(
                    values=values,
                    samples=system_samples,
                    components=[xyz_1, xyz_2],
                    properties=Labels(
                        "non_conservative_stress", torch.tensor([[0]], device=device)
                    ),
                )
                results[name] = TensorMap(
                    Labels("_", torch.tensor([[0]], device=device)), [block]
                )
        return results


def multi_head_model(uncertainty: float = 0.01, with_base: bool = True, without=()):
    """``MultiHeadModel`` as an AtomisticModel; without ``with_base``, the
    outputs only exist as variants; the outputs in ``without`` are not declared"""
    outputs = {}
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
    """The pair potential, also returning each of its inputs as the custom output
    ``test::<input name>`` (with ``::`` replaced by ``_``)"""

    def __init__(self, inputs: Dict[str, ModelOutput]):
        super().__init__()
        self.pair = PairPotential()
        self._inputs = inputs

    def requested_inputs(self) -> Dict[str, ModelOutput]:
        return self._inputs

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        results = self.pair(systems, outputs, selected_atoms)
        for name in self._inputs.keys():
            output = "test::" + name.replace("::", "_")
            if output in outputs:
                # one system per call in these tests
                results[output] = systems[0].get_data(name)
        return results


def inputs_model(inputs: Dict[str, ModelOutput]):
    outputs = {"energy": ModelOutput(unit="eV", sample_kind="atom")}
    for name in inputs:
        outputs["test::" + name.replace("::", "_")] = ModelOutput(
            sample_kind=inputs[name].sample_kind
        )
    return AtomisticModel(
        InputsModel(inputs).eval(),
        ModelMetadata(name="inputs"),
        capabilities(outputs),
    )


# ==================================================================================== #


class FeatureModel(torch.nn.Module):
    """A model without energy: the number of neighbors of each system as the
    custom output ``test::count``"""

    def __init__(self):
        super().__init__()
        self._options = NeighborListOptions(cutoff=CUTOFF, full_list=True, strict=True)

    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        return [self._options]

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        device = systems[0].device
        counts: List[float] = []
        for system in systems:
            counts.append(float(len(system.get_neighbor_list(self._options).samples)))
        values = torch.tensor(counts, dtype=systems[0].positions.dtype, device=device)
        return {
            "test::count": _tensor(
                values.reshape(-1, 1),
                _system_samples(len(systems), device),
                Labels("count", torch.tensor([[0]], device=device)),
            )
        }


def feature_model():
    return AtomisticModel(
        FeatureModel().eval(),
        ModelMetadata(name="features"),
        capabilities({"test::count": ModelOutput()}),
    )


def numerical_forces(calculator, atoms, delta=1e-5):
    """Central finite differences of the energy with respect to the positions"""
    atoms = atoms.copy()
    forces = np.zeros((len(atoms), 3))
    for i in range(len(atoms)):
        for k in range(3):
            energies = []
            for sign in (1.0, -1.0):
                displaced = atoms.copy()
                displaced.positions[i, k] += sign * delta
                energies.append(calculator.compute_energy(displaced)["energy"])
            forces[i, k] = -(energies[0] - energies[1]) / (2 * delta)
    return forces


def numerical_stress(calculator, atoms, delta=1e-5):
    """Central finite differences of the energy with respect to a strain, divided
    by the volume (in Voigt order)"""
    stress = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            energies = []
            for sign in (1.0, -1.0):
                strain = np.eye(3)
                strain[i, j] += sign * delta
                deformed = atoms.copy()
                deformed.set_cell(atoms.cell.array @ strain, scale_atoms=False)
                deformed.positions = atoms.positions @ strain
                energies.append(calculator.compute_energy(deformed)["energy"])
            stress[i, j] = (energies[0] - energies[1]) / (2 * delta)
    stress /= atoms.get_volume()
    return np.array(
        [
            stress[0, 0],
            stress[1, 1],
            stress[2, 2],
            stress[1, 2],
            stress[0, 2],
            stress[0, 1],
        ]
    )
