"""Builders shared by the tests of metatomic-torch: a small periodic system,
neighbor lists computed by brute force, per-atom data, and a Lennard-Jones-like
pair potential implementing :py:class:`metatomic.torch.ModelInterface` with its
capabilities and metadata."""

import itertools
from typing import Dict, List, Optional

import numpy as np
import torch

from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelCapabilities,
    ModelEvaluationOptions,
    ModelMetadata,
    ModelOutput,
    NeighborListOptions,
    System,
    register_autograd_neighbors,
)

NEIGHBOR_SAMPLE_NAMES = [
    "first_atom",
    "second_atom",
    "cell_shift_a",
    "cell_shift_b",
    "cell_shift_c",
]

# parameters of the pair potential, in angstrom and eV
CUTOFF = 3.0
SIGMA = 1.5
EPSILON = 0.4

# 4 atoms in a slightly triclinic cell, all pairs closer than ~1.5 A are avoided
TYPES = [1, 1, 8, 8]
POSITIONS = [
    [0.0, 0.0, 0.0],
    [1.6, 0.3, 0.1],
    [0.2, 1.9, 0.4],
    [1.8, 1.7, 2.0],
]
CELL = [
    [4.0, 0.0, 0.0],
    [0.3, 4.2, 0.0],
    [0.1, 0.2, 3.9],
]
MASSES = {1: 1.008, 8: 15.999}


def labels(names, values, device="cpu") -> Labels:
    """Labels with ``names`` (a str or a list) and ``values`` (nested lists)"""
    if isinstance(names, str):
        names = [names]
    values = torch.tensor(values, dtype=torch.int32, device=device)
    return Labels(names, values.reshape(-1, len(names)))


def labels_range(name: str, n: int, device="cpu") -> Labels:
    """Labels with one dimension ``name`` and the values ``0..n-1``"""
    return Labels(
        [name], torch.arange(n, dtype=torch.int32, device=device).reshape(-1, 1)
    )


def system(
    dtype=torch.float64,
    device="cpu",
    pbc=(True, True, True),
    positions_requires_grad=False,
    cell_requires_grad=False,
) -> System:
    """The 4-atom system of :py:data:`TYPES`, :py:data:`POSITIONS` and
    :py:data:`CELL`; the cell rows of non-periodic directions are zero"""
    pbc = torch.tensor(pbc, dtype=torch.bool, device=device)
    cell = torch.tensor(CELL, dtype=dtype, device=device)
    cell[~pbc] = 0.0
    return System(
        types=torch.tensor(TYPES, dtype=torch.int32, device=device),
        positions=torch.tensor(POSITIONS, dtype=dtype, device=device).requires_grad_(
            positions_requires_grad
        ),
        cell=cell.requires_grad_(cell_requires_grad),
        pbc=pbc,
    )


def pair_list(positions, cell, pbc, cutoff: float, full_list: bool):
    """Brute-force neighbor search: the arrays ``(i, j, S)`` of all pairs closer
    than ``cutoff``, with ``S`` the cell shift of ``j`` (``r_j - r_i + S @ cell``).

    Only non-periodic directions (``pbc`` False) get no shifts. A half list keeps
    each pair once: ``i < j``, or ``i == j`` with a shift whose first non-zero
    entry is positive.
    """
    positions = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    pbc = np.asarray(pbc, dtype=bool)

    n_shifts = [0, 0, 0]
    if np.any(pbc):
        # complete the (zero) non-periodic rows with unit vectors orthogonal to
        # the periodic ones, to get the spacing of the periodic lattice planes
        full_cell = cell.copy()
        _, _, orthogonal = np.linalg.svd(cell[pbc])
        full_cell[~pbc] = orthogonal[np.count_nonzero(pbc) :]
        volume = abs(np.linalg.det(full_cell))
        for k in range(3):
            if pbc[k]:
                # distance between the lattice planes spanned by the other vectors
                normal = np.cross(full_cell[(k + 1) % 3], full_cell[(k + 2) % 3])
                spacing = volume / np.linalg.norm(normal)
                n_shifts[k] = int(np.ceil(cutoff / spacing))

    pairs_i, pairs_j, shifts = [], [], []
    ranges = [range(-n, n + 1) for n in n_shifts]
    for shift in itertools.product(*ranges):
        shift = np.array(shift)
        vectors = (
            positions[None, :, :] - positions[:, None, :] + (shift @ cell)[None, None]
        )
        distances = np.linalg.norm(vectors, axis=-1)
        for i, j in zip(*np.nonzero(distances < cutoff)):
            if i == j and not np.any(shift):
                continue
            if not full_list:
                nonzero = shift[np.nonzero(shift)[0]]
                if i > j or (i == j and nonzero[0] < 0):
                    continue
            pairs_i.append(i)
            pairs_j.append(j)
            shifts.append(shift)

    shifts = np.array(shifts, dtype=np.int64).reshape(-1, 3)
    return np.array(pairs_i, dtype=np.int64), np.array(pairs_j, dtype=np.int64), shifts


def neighbors(system: System, options: NeighborListOptions) -> TensorBlock:
    """The neighbor list of ``system`` for ``options`` (computed by brute force),
    with values ``r_j - r_i + S @ cell`` that do not require gradients"""
    positions = system.positions.detach()
    cell = system.cell.detach()
    i, j, S = pair_list(
        positions.cpu().numpy(),
        cell.cpu().numpy(),
        system.pbc.cpu().numpy(),
        options.cutoff,
        options.full_list,
    )
    device = system.device
    samples = np.hstack([i.reshape(-1, 1), j.reshape(-1, 1), S]).astype(np.int32)
    samples = torch.tensor(samples, device=device).reshape(-1, 5)
    first = samples[:, 0].to(torch.int64)
    second = samples[:, 1].to(torch.int64)
    shifts = samples[:, 2:].to(system.dtype)
    vectors = positions[second] - positions[first] + shifts @ cell
    return TensorBlock(
        values=vectors.reshape(-1, 3, 1),
        samples=Labels(NEIGHBOR_SAMPLE_NAMES, samples),
        components=[labels_range("xyz", 3, device)],
        properties=labels_range("distance", 1, device),
    )


def add_neighbors(system: System, options: NeighborListOptions) -> TensorBlock:
    """Compute the neighbor list for ``options`` and add it to ``system``,
    connecting it to the positions and cell in the autograd graph when they
    require gradients (as engines do)"""
    block = neighbors(system, options)
    register_autograd_neighbors(system, block)
    system.add_neighbor_list(options, block)
    return block


def mass_data(system: System, unit: str = "u") -> TensorMap:
    """Per-atom masses of ``system`` (as system 0), in the ``mass`` layout of
    SPEC §2, with ``info["unit"]`` set to ``unit``"""
    device = system.device
    values = [MASSES[int(t)] for t in system.types.cpu()]
    block = TensorBlock(
        values=torch.tensor(values, dtype=system.dtype, device=device).reshape(-1, 1),
        samples=labels(
            ["system", "atom"], [[0, a] for a in range(len(system))], device
        ),
        components=[],
        properties=labels_range("mass", 1, device),
    )
    tensor = TensorMap(labels("_", [[0]], device), [block])
    tensor.set_info("unit", unit)
    return tensor


def pair_energy_reference(
    system: System,
    cutoff: float = CUTOFF,
    sigma: float = SIGMA,
    epsilon: float = EPSILON,
) -> np.ndarray:
    """Per-atom energies of the pair potential, in float64 numpy, computed
    directly from the positions (each atom gets half of each of its pairs)"""
    positions = system.positions.detach().cpu().numpy().astype(np.float64)
    cell = system.cell.detach().cpu().numpy().astype(np.float64)
    i, j, S = pair_list(positions, cell, system.pbc.cpu().numpy(), cutoff, False)
    distances = np.linalg.norm(positions[j] - positions[i] + S @ cell, axis=1)
    shift = 4 * epsilon * ((sigma / cutoff) ** 12 - (sigma / cutoff) ** 6)
    sr6 = (sigma / distances) ** 6
    pair = 4 * epsilon * (sr6 * sr6 - sr6) - shift
    energies = np.zeros(len(positions))
    np.add.at(energies, i, 0.5 * pair)
    np.add.at(energies, j, 0.5 * pair)
    return energies


class PairPotential(torch.nn.Module):
    """Lennard-Jones-like pair potential (shifted to zero at the cutoff) giving
    the ``energy`` output per system or per atom, for all or selected atoms.

    Units are angstrom and eV; the neighbor list is a strict half list by
    default, or a full list with ``full_list=True``.
    """

    def __init__(
        self,
        cutoff: float = CUTOFF,
        sigma: float = SIGMA,
        epsilon: float = EPSILON,
        full_list: bool = False,
    ):
        super().__init__()
        self._options = NeighborListOptions(
            cutoff=cutoff, full_list=full_list, strict=True
        )
        self._cutoff = cutoff
        self._sigma = sigma
        self._epsilon = epsilon
        self._full_list = full_list
        self._shift = 4 * epsilon * ((sigma / cutoff) ** 12 - (sigma / cutoff) ** 6)

    @torch.jit.export
    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        return [self._options]

    def _atom_energies(self, system: System) -> torch.Tensor:
        neighbors = system.get_neighbor_list(self._options)
        pairs = neighbors.samples.values
        distances = torch.linalg.vector_norm(neighbors.values.reshape(-1, 3), dim=1)
        sr6 = (self._sigma / distances) ** 6
        pair = 4.0 * self._epsilon * (sr6 * sr6 - sr6) - self._shift
        pair = torch.where(distances < self._cutoff, pair, torch.zeros_like(pair))

        energies = torch.zeros(len(system), dtype=system.dtype, device=system.device)
        energies = energies.index_add(0, pairs[:, 0].to(torch.int64), 0.5 * pair)
        if not self._full_list:
            energies = energies.index_add(0, pairs[:, 1].to(torch.int64), 0.5 * pair)
        return energies

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        if "energy" not in outputs:
            return {}
        per_atom = outputs["energy"].sample_kind == "atom"

        device = torch.device("cpu")
        dtype = torch.float64
        if len(systems) != 0:
            device = systems[0].device
            dtype = systems[0].dtype

        samples: List[torch.Tensor] = []
        values: List[torch.Tensor] = []
        for i, system in enumerate(systems):
            energies = self._atom_energies(system)
            atoms = torch.arange(len(system), device=device)
            if selected_atoms is not None:
                selected = selected_atoms.values.to(device)
                atoms = selected[selected[:, 0] == i][:, 1].to(torch.int64)
                if atoms.shape[0] == 0:
                    continue
            if per_atom:
                system_index = torch.full_like(atoms, i)
                samples.append(torch.stack([system_index, atoms], dim=1))
                values.append(energies[atoms].reshape(-1, 1))
            else:
                samples.append(torch.tensor([[i]], device=device))
                values.append(torch.sum(energies[atoms]).reshape(1, 1))

        names = ["system"]
        if per_atom:
            names = ["system", "atom"]
        if len(values) == 0:
            all_samples = torch.zeros((0, len(names)), dtype=torch.int32, device=device)
            all_values = torch.zeros((0, 1), dtype=dtype, device=device)
        else:
            all_samples = torch.cat(samples).to(torch.int32)
            all_values = torch.cat(values)

        block = TensorBlock(
            values=all_values,
            samples=Labels(names, all_samples),
            components=torch.jit.annotate(List[Labels], []),
            properties=Labels(["energy"], torch.tensor([[0]], device=device)),
        )
        keys = Labels(["_"], torch.tensor([[0]], device=device))
        return {"energy": TensorMap(keys, [block])}


def energy_output(sample_kind: str = "atom", unit: str = "eV") -> ModelOutput:
    """The ``energy`` output of :py:class:`PairPotential`"""
    return ModelOutput(unit=unit, sample_kind=sample_kind)


def capabilities(
    outputs: Optional[Dict[str, ModelOutput]] = None,
    atomic_types=(1, 8),
    interaction_range: float = CUTOFF,
    length_unit: str = "angstrom",
    supported_devices=("cpu",),
    dtype: str = "float64",
) -> ModelCapabilities:
    """Capabilities of :py:class:`PairPotential` (energy per atom or system, in
    eV, for the types 1 and 8, in angstrom, on CPU, in float64)"""
    if outputs is None:
        outputs = {"energy": energy_output()}
    return ModelCapabilities(
        outputs=outputs,
        atomic_types=list(atomic_types),
        interaction_range=interaction_range,
        length_unit=length_unit,
        supported_devices=list(supported_devices),
        dtype=dtype,
    )


def metadata() -> ModelMetadata:
    """Metadata of :py:class:`PairPotential`"""
    return ModelMetadata(
        name="pair-potential",
        description="a Lennard-Jones-like pair potential for the tests",
        authors=["metatomic tests"],
        references={"architecture": ["https://doi.org/10.1098/rspa.1924.0082"]},
    )


def atomistic_model(module: Optional[torch.nn.Module] = None, **kwargs):
    """:py:class:`PairPotential` (or ``module``) wrapped in an
    :py:class:`AtomisticModel`, with the :py:func:`capabilities` built from
    ``kwargs``"""
    if module is None:
        module = PairPotential()
    return AtomisticModel(module.eval(), metadata(), capabilities(**kwargs))


def evaluation_options(
    sample_kind: str = "system",
    unit: str = "eV",
    length_unit: str = "angstrom",
    selected_atoms: Optional[Labels] = None,
) -> ModelEvaluationOptions:
    """Options requesting the ``energy`` output"""
    return ModelEvaluationOptions(
        length_unit=length_unit,
        outputs={"energy": energy_output(sample_kind, unit)},
        selected_atoms=selected_atoms,
    )
