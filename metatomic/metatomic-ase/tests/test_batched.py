"""Tests of the batched interfaces: compute_energy and run_model"""

import ase
import numpy as np
import pytest
import torch
from _utils import cu_atoms, pair_model

from metatensor.torch import Labels
from metatomic.torch import ModelOutput
from metatomic_ase import MetatomicCalculator


@pytest.fixture(scope="module")
def calculator():
    return MetatomicCalculator(pair_model())


def _structures():
    molecule = ase.Atoms(
        "Cu3", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.6, 0.3]], cell=[5, 5, 5]
    )
    return [cu_atoms(seed=1), cu_atoms((1, 2, 3), seed=2), molecule]


def test_compute_energy_single(calculator):
    atoms = cu_atoms()
    result = calculator.compute_energy(atoms)
    assert set(result) == {"energy"}
    assert isinstance(result["energy"], float)

    atoms.calc = calculator
    result = calculator.compute_energy(atoms, True, per_atom=True)
    assert set(result) == {"energy", "energies", "forces", "stress"}
    assert np.isclose(result["energy"], atoms.get_potential_energy(), rtol=1e-14)
    np.testing.assert_allclose(result["energies"], atoms.get_potential_energies())
    np.testing.assert_allclose(result["forces"], atoms.get_forces())
    assert result["stress"].shape == (3, 3)
    np.testing.assert_allclose(result["stress"], atoms.get_stress(voigt=False))


def test_compute_energy_batch(calculator):
    structures = _structures()
    results = calculator.compute_energy(structures, True, per_atom=True)
    # one of the structures is not periodic: no stress
    assert set(results) == {"energy", "energies", "forces"}
    for i, atoms in enumerate(structures):
        single = calculator.compute_energy(atoms, True, per_atom=True)
        assert np.isclose(results["energy"][i], single["energy"], rtol=1e-12)
        np.testing.assert_allclose(results["energies"][i], single["energies"])
        np.testing.assert_allclose(results["forces"][i], single["forces"], atol=1e-12)
        assert results["forces"][i].shape == (len(atoms), 3)

    periodic = structures[:2]
    results = calculator.compute_energy(periodic, compute_forces_and_stresses=True)
    assert set(results) == {"energy", "forces", "stress"}
    for i, atoms in enumerate(periodic):
        single = calculator.compute_energy(atoms, True)
        np.testing.assert_allclose(results["stress"][i], single["stress"], atol=1e-12)

    assert calculator.compute_energy(tuple(periodic))["energy"] == results["energy"]


def test_compute_energy_empty(calculator):
    assert calculator.compute_energy([]) == {"energy": []}
    assert calculator.compute_energy([], True, per_atom=True) == {
        "energy": [],
        "energies": [],
        "forces": [],
        "stress": [],
    }


def test_compute_energy_errors(calculator):
    with pytest.raises(TypeError, match="`atoms` must be an ase.Atoms"):
        calculator.compute_energy("atoms")
    with pytest.raises(TypeError, match="`atoms` must be an ase.Atoms"):
        calculator.compute_energy([cu_atoms(), 3])
    with pytest.raises(TypeError, match="`compute_forces_and_stresses` must be"):
        calculator.compute_energy(cu_atoms(), "yes")
    with pytest.raises(TypeError, match="`per_atom` must be a bool"):
        calculator.compute_energy(cu_atoms(), per_atom=None)
    with pytest.raises(TypeError):
        calculator.compute_energy(cu_atoms(), True, True)


def test_run_model(calculator):
    structures = _structures()
    outputs = calculator.run_model(
        structures, {"energy": ModelOutput(unit="eV", sample_kind="system")}
    )
    block = outputs["energy"].block()
    assert block.samples.column("system").tolist() == [0, 1, 2]
    energies = calculator.compute_energy(structures)["energy"]
    np.testing.assert_allclose(block.values.numpy()[:, 0], energies)

    # units are converted
    outputs = calculator.run_model(
        structures[0], {"energy": ModelOutput(unit="meV", sample_kind="atom")}
    )
    block = outputs["energy"].block()
    assert block.samples.names == ["system", "atom"]
    assert np.isclose(block.values.sum().item(), 1000 * energies[0])


def test_run_model_selected_atoms(calculator):
    atoms = cu_atoms()
    selected = Labels(["system", "atom"], torch.tensor([[0, 1], [0, 4]]))
    outputs = calculator.run_model(
        atoms, {"energy": ModelOutput(sample_kind="atom")}, selected_atoms=selected
    )
    block = outputs["energy"].block()
    assert block.samples.values.tolist() == [[0, 1], [0, 4]]
    energies = calculator.compute_energy(atoms, per_atom=True)["energies"]
    np.testing.assert_allclose(block.values.numpy()[:, 0], energies[[1, 4]])


def test_run_model_errors(calculator):
    with pytest.raises(TypeError, match="`outputs` must be a dict"):
        calculator.run_model(cu_atoms(), ["energy"])
    with pytest.raises(TypeError, match="`outputs` must be a dict"):
        calculator.run_model(cu_atoms(), {"energy": "eV"})
    with pytest.raises(TypeError, match="`atoms` must be an ase.Atoms"):
        calculator.run_model(None, {"energy": ModelOutput()})

    checked = MetatomicCalculator(pair_model(), check_consistency=True)
    with pytest.raises(ValueError, match="can not compute the requested output"):
        checked.run_model(cu_atoms(), {"feature": ModelOutput()})
