"""SymmetrizedCalculator: averages over O(3) and over the space group"""

import sys
from typing import Dict, List, Optional

import ase
import ase.build
import numpy as np
import pytest
import torch
from _utils import (
    CUTOFF,
    EPSILON,
    SIGMA,
    _atom_samples,
    _tensor,
    capabilities,
    cu_atoms,
    pair_model,
)
from ase.calculators.calculator import PropertyNotImplementedError

from metatensor.torch import Labels, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelMetadata,
    ModelOutput,
    NeighborListOptions,
    System,
)
from metatomic.torch.o3 import SymmetrizedModel, quadrature
from metatomic_ase import MetatomicCalculator, SymmetrizedCalculator


class AnisotropicPairPotential(torch.nn.Module):
    """The Lennard-Jones potential of ``_utils`` times ``1 + (a·u)² + (b·u)³``
    for the direction ``u`` of each pair (of a half neighbor list): not
    invariant, with a dependence on orientation of angular momentum up to 3"""

    def __init__(self):
        super().__init__()
        self._options = NeighborListOptions(cutoff=CUTOFF, full_list=False, strict=True)
        self._cutoff = CUTOFF
        self._sigma = SIGMA
        self._epsilon = EPSILON
        self.register_buffer("_a", torch.tensor([0.6, -0.3, 0.2], dtype=torch.float64))
        self.register_buffer("_b", torch.tensor([0.1, 0.5, 0.4], dtype=torch.float64))

    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        return [self._options]

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        device = systems[0].device
        energies: List[torch.Tensor] = []
        for system in systems:
            neighbors = system.get_neighbor_list(self._options)
            vectors = neighbors.values.reshape(-1, 3)
            distances = torch.linalg.vector_norm(vectors, dim=1)
            directions = vectors / distances.reshape(-1, 1)
            sigma_r_6 = (self._sigma / distances) ** 6
            smoothing = 0.5 * (torch.cos(torch.pi * distances / self._cutoff) + 1.0)
            pair = 4.0 * self._epsilon * (sigma_r_6 * sigma_r_6 - sigma_r_6) * smoothing
            pair = pair * (
                1.0 + (directions @ self._a) ** 2 + (directions @ self._b) ** 3
            )
            first = neighbors.samples.column("first_atom").to(torch.int64)
            second = neighbors.samples.column("second_atom").to(torch.int64)
            atomic = torch.zeros(len(system), dtype=system.dtype, device=device)
            atomic = atomic.index_add(0, first, 0.5 * pair)
            energies.append(atomic.index_add(0, second, 0.5 * pair))
        values = torch.cat(energies).reshape(-1, 1)
        properties = Labels("energy", torch.tensor([[0]], device=device))
        return {"energy": _tensor(values, _atom_samples(systems, device), properties)}


def anisotropic_model():
    outputs = {"energy": ModelOutput(unit="eV", sample_kind="atom")}
    return AtomisticModel(
        AnisotropicPairPotential().eval(),
        ModelMetadata(name="anisotropic"),
        capabilities(outputs),
    )


@pytest.fixture(scope="module")
def anisotropic():
    return MetatomicCalculator(anisotropic_model())


def _results(calculator, atoms):
    atoms = atoms.copy()
    atoms.calc = calculator
    # (energies first: the energy, forces and stress are computed with them)
    energies = atoms.get_potential_energies()
    return {
        "energy": atoms.get_potential_energy(),
        "energies": energies,
        "forces": atoms.get_forces(),
        "stress": atoms.get_stress(voigt=False),
    }


def _rotation(seed: int) -> np.ndarray:
    rotation = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))[0]
    return rotation * np.sign(np.linalg.det(rotation))


def _transformed(atoms, matrix):
    copy = atoms.copy()
    copy.set_cell(atoms.cell.array @ matrix.T, scale_atoms=False)
    copy.positions = atoms.positions @ matrix.T
    return copy


def test_invariant_model_is_unchanged():
    atoms = cu_atoms(repeat=(1, 1, 1))
    base = MetatomicCalculator(pair_model())
    expected = _results(base, atoms)
    computed = _results(SymmetrizedCalculator(base, l_max=1), atoms)
    for name, value in expected.items():
        np.testing.assert_allclose(computed[name], value, atol=1e-12, rtol=1e-10)


def test_becomes_invariant_and_equivariant(anisotropic):
    atoms = cu_atoms(repeat=(1, 1, 1))
    calculator = SymmetrizedCalculator(anisotropic, l_max=3)
    reference = _results(calculator, atoms)
    original = _results(anisotropic, atoms)
    for matrix in (_rotation(1), -_rotation(2)):
        transformed = _transformed(atoms, matrix)
        computed = _results(calculator, transformed)
        np.testing.assert_allclose(computed["energy"], reference["energy"], rtol=1e-10)
        np.testing.assert_allclose(
            computed["energies"], reference["energies"], rtol=1e-10
        )
        np.testing.assert_allclose(
            computed["forces"], reference["forces"] @ matrix.T, atol=1e-10
        )
        np.testing.assert_allclose(
            computed["stress"], matrix @ reference["stress"] @ matrix.T, atol=1e-10
        )
        # the base calculator is not invariant
        changed = _results(anisotropic, transformed)
        assert abs(changed["energy"] - original["energy"]) > 1e-3

    # the same as the symmetrized model, which uses another (exact) quadrature
    model = SymmetrizedModel.wrap(
        anisotropic_model(), max_angular_momentum_target=0, l_max=3
    )
    expected = _results(MetatomicCalculator(model), atoms)
    for name, value in expected.items():
        np.testing.assert_allclose(reference[name], value, atol=1e-10, rtol=1e-10)


def test_batches_and_non_periodic(anisotropic):
    atoms = cu_atoms(repeat=(1, 1, 1))
    expected = _results(SymmetrizedCalculator(anisotropic, l_max=0), atoms)
    computed = _results(
        SymmetrizedCalculator(anisotropic, l_max=0, batch_size=7), atoms
    )
    for name, value in expected.items():
        np.testing.assert_allclose(computed[name], value, atol=1e-14, rtol=1e-14)

    molecule = ase.Atoms("Cu3", positions=[[0, 0, 0], [2.5, 0, 0], [0.3, 2.4, 0.2]])
    molecule.calc = SymmetrizedCalculator(anisotropic, l_max=3)
    energy = molecule.get_potential_energy()
    forces = molecule.get_forces()
    with pytest.raises(PropertyNotImplementedError, match="stress not present"):
        molecule.get_stress()
    rotated = _transformed(molecule, _rotation(3))
    rotated.calc = SymmetrizedCalculator(anisotropic, l_max=3)
    np.testing.assert_allclose(rotated.get_potential_energy(), energy, rtol=1e-10)
    np.testing.assert_allclose(
        rotated.get_forces(), forces @ _rotation(3).T, atol=1e-10
    )


def test_rotational_std(anisotropic):
    atoms = cu_atoms(repeat=(1, 1, 1))
    calculator = SymmetrizedCalculator(
        anisotropic, l_max=1, include_inversion=False, store_rotational_std=True
    )
    atoms.calc = calculator
    atoms.get_potential_energies()
    results = calculator.results
    assert sorted(results) == sorted(
        ["energy", "energies", "forces", "stress"]
        + ["energy_rot_std", "energies_rot_std", "forces_rot_std", "stress_rot_std"]
    )
    assert results["forces_rot_std"].shape == (4, 3)
    assert results["stress_rot_std"].shape == (6,)

    matrices, weights = quadrature(1 + 2, include_inversion=False)
    copies = [_transformed(atoms, matrix) for matrix in matrices]
    computed = anisotropic.compute_energy(copies, True)
    energies = np.array(computed["energy"])
    mean = weights @ energies
    np.testing.assert_allclose(results["energy"], mean, rtol=1e-12)
    expected = np.sqrt(weights @ (energies - mean) ** 2)
    np.testing.assert_allclose(results["energy_rot_std"], expected, rtol=1e-10)
    assert expected > 1e-3
    forces = np.einsum("kia,kab->kib", np.array(computed["forces"]), matrices)
    mean = np.einsum("k,kia->ia", weights, forces)
    np.testing.assert_allclose(results["forces"], mean, atol=1e-12)
    expected = np.sqrt(np.einsum("k,kia->ia", weights, (forces - mean) ** 2))
    np.testing.assert_allclose(results["forces_rot_std"], expected, atol=1e-12)

    invariant = SymmetrizedCalculator(
        MetatomicCalculator(pair_model()), l_max=1, store_rotational_std=True
    )
    atoms.calc = invariant
    atoms.get_potential_energy()
    assert invariant.results["energy_rot_std"] < 1e-6
    assert np.abs(invariant.results["forces_rot_std"]).max() < 1e-6


def test_space_group(anisotropic):
    # a poor quadrature leaves a perfect crystal with forces and a stress that
    # break its symmetry; the space group average restores it
    atoms = ase.build.bulk("Cu", "fcc", a=3.6, cubic=True)
    options = {"l_max": 0, "include_inversion": False}
    plain = _results(SymmetrizedCalculator(anisotropic, **options), atoms)
    assert np.abs(plain["forces"]).max() > 1e-3
    stress = plain["stress"]
    assert abs(stress[0, 0] - stress[1, 1]) > 1e-5 or abs(stress[0, 1]) > 1e-5

    symmetric = _results(
        SymmetrizedCalculator(anisotropic, apply_space_group_symmetry=True, **options),
        atoms,
    )
    np.testing.assert_allclose(symmetric["energy"], plain["energy"])
    # every atom is an inversion center: no forces; a cubic stress is isotropic
    np.testing.assert_allclose(symmetric["forces"], 0.0, atol=1e-12)
    stress = symmetric["stress"]
    np.testing.assert_allclose(stress, stress[0, 0] * np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.trace(stress), np.trace(plain["stress"]), rtol=1e-12)
    np.testing.assert_allclose(symmetric["energies"], np.full(4, plain["energy"] / 4))

    # a structure without symmetry is unchanged
    rattled = cu_atoms(repeat=(1, 1, 1))
    expected = _results(SymmetrizedCalculator(anisotropic, **options), rattled)
    computed = _results(
        SymmetrizedCalculator(anisotropic, apply_space_group_symmetry=True, **options),
        rattled,
    )
    for name, value in expected.items():
        np.testing.assert_allclose(computed[name], value, atol=1e-12)


def test_errors(anisotropic, monkeypatch):
    calculator = SymmetrizedCalculator(anisotropic)
    assert calculator.implemented_properties == [
        "energy",
        "energies",
        "forces",
        "stress",
    ]
    assert "stresses" in SymmetrizedCalculator.implemented_properties
    atoms = cu_atoms(repeat=(1, 1, 1))
    atoms.calc = calculator
    with pytest.raises(PropertyNotImplementedError, match="'stresses' with this base"):
        calculator.calculate(atoms, ["stresses"])

    with pytest.raises(TypeError, match="must be a MetatomicCalculator .*got str"):
        SymmetrizedCalculator("model.pt")
    with pytest.raises(ValueError, match="`l_max` must be positive, got -1"):
        SymmetrizedCalculator(anisotropic, l_max=-1)
    with pytest.raises(TypeError, match="`l_max` must be an integer, got float"):
        SymmetrizedCalculator(anisotropic, l_max=2.5)
    with pytest.raises(ValueError, match="`batch_size` must be at least 1, got 0"):
        SymmetrizedCalculator(anisotropic, batch_size=0)
    with pytest.raises(TypeError, match="`include_inversion` must be a bool"):
        SymmetrizedCalculator(anisotropic, include_inversion="no")
    with pytest.raises(TypeError, match="`store_rotational_std` must be a bool"):
        SymmetrizedCalculator(anisotropic, store_rotational_std=1)
    with pytest.raises(TypeError, match="positional argument"):
        SymmetrizedCalculator(anisotropic, 3)

    monkeypatch.setitem(sys.modules, "spglib", None)
    with pytest.raises(
        ImportError, match="needs spglib: install it with `pip install spglib`"
    ):
        SymmetrizedCalculator(anisotropic, apply_space_group_symmetry=True)


def test_deprecated_path():
    from metatomic.torch import ase_calculator

    with pytest.warns(
        DeprecationWarning,
        match="use `from metatomic_ase import SymmetrizedCalculator`",
    ):
        calculator = ase_calculator.SymmetrizedCalculator
    assert calculator is SymmetrizedCalculator
