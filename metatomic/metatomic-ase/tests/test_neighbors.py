"""Tests of the neighbor lists given to the models (Verlet skin, periodicity)"""

from typing import Dict, List, Optional

import ase
import ase.build
import ase.units
import numpy as np
import pytest
import torch
from _utils import (
    CUTOFF,
    PairPotential,
    capabilities,
    cu_atoms,
    numerical_forces,
    pair_model,
)
from ase.md.verlet import VelocityVerlet
from vesin import NeighborList

from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelMetadata,
    ModelOutput,
    NeighborListOptions,
    System,
)
from metatomic.torch._engine_neighbors import NeighborListBuilder
from metatomic_ase import MetatomicCalculator


def _options(cutoff=CUTOFF, full_list=False):
    options = NeighborListOptions(cutoff=cutoff, full_list=full_list, strict=True)
    options.length_unit = "angstrom"
    return options


def _system(atoms, positions=None, cell=None):
    if positions is None:
        positions = torch.tensor(atoms.positions)
    if cell is None:
        cell = atoms.cell.array
    return System(
        types=torch.tensor(atoms.numbers),
        positions=positions,
        cell=torch.tensor(cell),
        pbc=torch.tensor(atoms.pbc),
    )


def _pairs(block):
    """Sorted rows (i, j, S) and the vectors of a neighbor list block"""
    samples = block.samples.values.numpy()
    order = np.lexsort(samples.T[::-1])
    return samples[order], block.values.detach().numpy()[order, :, 0]


def _expected(atoms, cutoff, full_list):
    calculator = NeighborList(cutoff=cutoff, full_list=full_list)
    P, S, D = calculator.compute(
        atoms.positions, atoms.cell.array, atoms.pbc, quantities="PSD"
    )
    samples = np.hstack([P, S]).astype(np.int32)
    order = np.lexsort(samples.T[::-1])
    return samples[order], D[order]


@pytest.mark.parametrize("full_list", [True, False])
def test_skin_gives_the_same_pairs(full_list):
    atoms = cu_atoms((2, 2, 2), seed=1)
    options = _options(full_list=full_list)
    builder = NeighborListBuilder(options, skin=1.0, check_consistency=True)
    rng = np.random.default_rng(4)
    for _ in range(30):
        atoms.positions += 0.08 * rng.normal(size=atoms.positions.shape)
        block = builder.compute(
            _system(atoms), atoms.positions, atoms.cell.array, atoms.pbc
        )
        samples, vectors = _pairs(block)
        if full_list:
            expected_samples, expected_vectors = _expected(atoms, CUTOFF, True)
            np.testing.assert_equal(samples, expected_samples)
            np.testing.assert_allclose(vectors, expected_vectors, atol=1e-12)
        else:
            # each pair once, in any direction
            expected_samples, _ = _expected(atoms, CUTOFF, True)
            assert 2 * len(samples) == len(expected_samples)
        distances = np.linalg.norm(vectors, axis=1)
        assert np.all(distances < CUTOFF)
        i, j = samples[:, 0], samples[:, 1]
        shifts = samples[:, 2:] @ atoms.cell.array
        np.testing.assert_allclose(
            vectors, atoms.positions[j] - atoms.positions[i] + shifts, atol=1e-12
        )


def test_recreated_on_cell_and_pbc_changes():
    atoms = cu_atoms()
    builder = NeighborListBuilder(_options(), skin=2.0, check_consistency=True)

    def compute():
        cell = atoms.cell.array.copy()
        cell[~atoms.pbc] = 0.0
        system = _system(atoms, cell=cell)
        return builder.compute(system, atoms.positions, cell, atoms.pbc)

    compute()
    calculator = builder._vesin
    labels = builder._labels
    compute()
    assert builder._vesin is calculator
    # the same pairs: the Labels are reused
    assert builder._labels is labels

    atoms.positions += 0.01
    compute()
    assert builder._vesin is calculator

    atoms.set_cell(atoms.cell.array * 1.01, scale_atoms=True)
    compute()
    assert builder._vesin is not calculator
    calculator = builder._vesin

    atoms.pbc = [True, True, False]
    compute()
    assert builder._vesin is not calculator
    calculator = builder._vesin

    del atoms[3]
    compute()
    assert builder._vesin is not calculator


def test_gradients_flow_through_vectors():
    atoms = cu_atoms()
    positions = torch.tensor(atoms.positions, requires_grad=True)
    system = _system(atoms, positions)
    builder = NeighborListBuilder(_options(), skin=1.0, check_consistency=False)
    block = builder.compute(system, atoms.positions, atoms.cell.array, atoms.pbc)
    block.values.sum().backward()
    assert positions.grad is not None
    # sum of r_j - r_i: each atom gets (number of times j) - (number of times i)
    samples = block.samples.values.numpy()
    counts = np.bincount(samples[:, 1], minlength=len(atoms)) - np.bincount(
        samples[:, 0], minlength=len(atoms)
    )
    np.testing.assert_allclose(positions.grad.numpy(), counts[:, None] * np.ones(3))


def test_md_with_and_without_skin():
    atoms = cu_atoms((2, 2, 2), seed=9)
    atoms.set_momenta(np.random.default_rng(10).normal(size=(len(atoms), 3)) * 5)
    reference = atoms.copy()
    atoms.calc = MetatomicCalculator(pair_model(), neighbor_skin=0.5)
    reference.calc = MetatomicCalculator(pair_model(), neighbor_skin=0.0)
    dynamics = VelocityVerlet(atoms, timestep=2.0 * ase.units.fs)
    reference_dynamics = VelocityVerlet(reference, timestep=2.0 * ase.units.fs)
    for _ in range(40):
        dynamics.run(1)
        reference_dynamics.run(1)
        np.testing.assert_allclose(
            atoms.get_forces(), reference.get_forces(), atol=1e-10
        )
    assert np.abs(atoms.positions - cu_atoms((2, 2, 2), seed=9).positions).max() > 0.3


@pytest.mark.parametrize("pbc", [[True, True, False], [False, False, False]])
def test_partial_periodicity(pbc):
    atoms = ase.build.fcc111("Cu", (3, 3, 3), vacuum=4.0)
    atoms.rattle(0.05, seed=3)
    atoms.pbc = pbc
    calculator = MetatomicCalculator(pair_model(), check_consistency=True)
    atoms.calc = calculator
    # the cell of non-periodic directions is ignored (without warning)
    energy = atoms.get_potential_energy()
    forces = atoms.get_forces()
    np.testing.assert_allclose(
        forces, numerical_forces(calculator, atoms), atol=1e-6, rtol=0
    )

    # same energy as an explicit cell-free system
    free = atoms.copy()
    free.cell[~np.asarray(pbc)] = 0.0
    assert np.isclose(calculator.compute_energy(free)["energy"], energy, rtol=1e-12)


def test_small_cell():
    # the cell is smaller than the cutoff: atoms see their own images
    atoms = ase.build.bulk("Cu", "fcc", a=3.6)
    atoms.rattle(0.01, seed=1)
    calculator = MetatomicCalculator(pair_model(), check_consistency=True)
    atoms.calc = calculator
    large = atoms.repeat((3, 3, 3))
    assert np.isclose(
        27 * atoms.get_potential_energy(),
        calculator.compute_energy(large)["energy"],
        rtol=1e-10,
    )
    np.testing.assert_allclose(atoms.get_forces(), 0.0, atol=1e-10)


def test_full_list_model():
    atoms = cu_atoms(seed=4)
    half = MetatomicCalculator(pair_model()).compute_energy(atoms, True)
    full = MetatomicCalculator(pair_model(full_list=True)).compute_energy(atoms, True)
    assert np.isclose(half["energy"], full["energy"], rtol=1e-12)
    np.testing.assert_allclose(half["forces"], full["forces"], atol=1e-12)
    np.testing.assert_allclose(half["stress"], full["stress"], atol=1e-12)


class TwoLists(torch.nn.Module):
    """Sum of two pair potentials with different neighbor lists"""

    def __init__(self):
        super().__init__()
        self.short = PairPotential(cutoff=3.0, full_list=True)
        self.long = PairPotential()

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        short = self.short(systems, outputs, selected_atoms)
        long = self.long(systems, outputs, selected_atoms)
        results: Dict[str, TensorMap] = {}
        for name, tensor in long.items():
            block = tensor.block_by_id(0)
            values = block.values + short[name].block_by_id(0).values
            results[name] = TensorMap(
                tensor.keys,
                [
                    TensorBlock(
                        values, block.samples, block.components, block.properties
                    )
                ],
            )
        return results


def test_several_neighbor_lists():
    model = AtomisticModel(
        TwoLists().eval(),
        ModelMetadata(),
        capabilities({"energy": ModelOutput(unit="eV", sample_kind="atom")}),
    )
    assert len(model.requested_neighbor_lists()) == 2
    calculator = MetatomicCalculator(model, check_consistency=True)
    atoms = cu_atoms()
    result = calculator.compute_energy(atoms)["energy"]
    short = MetatomicCalculator(pair_model(cutoff=3.0, full_list=True))
    long = MetatomicCalculator(pair_model())
    expected = (
        short.compute_energy(atoms)["energy"] + long.compute_energy(atoms)["energy"]
    )
    assert np.isclose(result, expected, rtol=1e-12)


def test_model_length_unit():
    # a model working in nm: cutoffs, positions and forces are converted
    model = AtomisticModel(
        PairPotential(cutoff=CUTOFF / 10, sigma=0.23).eval(),
        ModelMetadata(),
        capabilities(
            {"energy": ModelOutput(unit="eV", sample_kind="atom")}, length_unit="nm"
        ),
    )
    calculator = MetatomicCalculator(model, check_consistency=True)
    atoms = cu_atoms()
    result = calculator.compute_energy(atoms, True)
    expected = MetatomicCalculator(pair_model()).compute_energy(atoms, True)
    assert np.isclose(result["energy"], expected["energy"], rtol=1e-10)
    np.testing.assert_allclose(result["forces"], expected["forces"], atol=1e-10)
    np.testing.assert_allclose(result["stress"], expected["stress"], atol=1e-12)


def test_no_pairs():
    calculator = MetatomicCalculator(pair_model(), check_consistency=True)
    atoms = ase.Atoms("Cu", positions=[[0.0, 0.0, 0.0]])
    atoms.calc = calculator
    assert atoms.get_potential_energy() == 0.0
    np.testing.assert_equal(atoms.get_forces(), np.zeros((1, 3)))

    atoms = ase.Atoms(
        "Cu2", positions=[[0, 0, 0], [10, 0, 0]], cell=[20, 20, 20], pbc=True
    )
    atoms.calc = calculator
    assert atoms.get_potential_energy() == 0.0
    np.testing.assert_equal(atoms.get_stress(), np.zeros(6))

    result = calculator.compute_energy(ase.Atoms(), True)
    assert result["energy"] == 0.0
    assert result["forces"].shape == (0, 3)
