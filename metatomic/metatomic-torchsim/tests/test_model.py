import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
import torch_sim
from _utils import (
    SIGMA,
    ase_results,
    cu_atoms,
    inputs_model,
    multi_head_model,
    pair_model,
    structures,
    to_state,
)
from torch_sim.models.interface import ModelInterface, validate_model_outputs

import metatomic_torchsim
from metatomic.torch import load_atomistic_model
from metatomic_torchsim import MetatomicModel


def _script(model):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`torch.jit.", DeprecationWarning)
        return torch.jit.script(model)


def _saved(model, tmp_path) -> str:
    path = os.path.join(tmp_path, "model.pt")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`torch.jit.", DeprecationWarning)
        model.save(path)
    return path


def test_interface():
    model = MetatomicModel(pair_model())
    assert isinstance(model, ModelInterface)
    assert metatomic_torchsim.MetatomicModel is MetatomicModel
    assert model.device == torch.device("cpu")
    assert model.dtype == torch.float64
    assert model.compute_forces and model.compute_stress
    assert model.memory_scales_with == "n_atoms_x_density"
    # torch-sim's own check of the interface (two systems, then each alone)
    validate_model_outputs(model, torch.device("cpu"), torch.float64)


@pytest.mark.parametrize("kind", ["eager", "scripted", "loaded", "path"])
def test_batch_against_ase(kind, tmp_path):
    """Energies, forces and stress of several periodic systems (cubic,
    triclinic, different sizes) in one batch are those of the ASE calculator"""
    model = pair_model()
    if kind == "scripted":
        model = _script(model)
    elif kind == "loaded":
        model = load_atomistic_model(_saved(model, tmp_path))
    elif kind == "path":
        model = _saved(model, tmp_path)
    atoms_list = structures()
    energies, forces, stresses = ase_results(pair_model(), atoms_list)

    results = MetatomicModel(model)(to_state(atoms_list))
    assert sorted(results) == ["energy", "forces", "stress"]
    assert results["energy"].shape == (3,)
    assert results["forces"].shape == (sum(len(a) for a in atoms_list), 3)
    assert results["stress"].shape == (3, 3, 3)
    np.testing.assert_allclose(results["energy"].numpy(), energies, rtol=1e-12)
    np.testing.assert_allclose(results["forces"].numpy(), forces, atol=1e-12)
    np.testing.assert_allclose(results["stress"].numpy(), stresses, atol=1e-12)
    # the test is not trivial
    assert np.abs(forces).max() > 0.05 and np.abs(stresses).max() > 0.01
    assert len(set(np.round(energies, 6))) == 3


def test_float32_and_length_unit():
    """float32 models get float32 states; models in other length units get
    their positions and cutoffs converted"""
    atoms_list = structures()
    energies, forces, stresses = ase_results(pair_model(), atoms_list)

    model = MetatomicModel(pair_model(dtype="float32"))
    assert model.dtype == torch.float32
    results = model(to_state(atoms_list, dtype=torch.float32))
    assert results["energy"].dtype == torch.float32
    np.testing.assert_allclose(results["energy"].numpy(), energies, rtol=1e-5)
    np.testing.assert_allclose(results["forces"].numpy(), forces, atol=1e-5)
    np.testing.assert_allclose(results["stress"].numpy(), stresses, atol=1e-6)

    # a model working in nm: cutoff 0.45 nm, sigma 0.23 nm
    model = MetatomicModel(pair_model(length_unit="nm", cutoff=0.45, sigma=SIGMA / 10))
    results = model(to_state(atoms_list))
    np.testing.assert_allclose(results["energy"].numpy(), energies, rtol=1e-12)
    np.testing.assert_allclose(results["stress"].numpy(), stresses, atol=1e-12)


def test_finite_differences():
    """Forces and stress (with torch-sim's conventions: cells as column
    vectors, positive stress under tension) are the derivatives of the energy
    with respect to the positions and to a strain, on a triclinic system"""
    atoms = structures()[1]
    model = MetatomicModel(pair_model())
    results = model(to_state([atoms]))

    def energy(positions, cell):
        state = to_state([atoms])
        state.positions = torch.tensor(positions)
        # torch-sim stores the cell vectors as columns
        state.cell = torch.tensor(cell.T).unsqueeze(0)
        return float(model(state)["energy"][0])

    delta = 1e-5
    positions = atoms.positions
    cell = atoms.cell.array
    for atom, k in [(0, 0), (3, 1), (7, 2)]:
        displacement = np.zeros_like(positions)
        displacement[atom, k] = delta
        difference = energy(positions + displacement, cell) - energy(
            positions - displacement, cell
        )
        assert np.isclose(
            float(results["forces"][atom, k]), -difference / (2 * delta), atol=1e-7
        )

    stress = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            strain = np.zeros((3, 3))
            strain[i, j] = delta
            plus = np.eye(3) + strain
            minus = np.eye(3) - strain
            difference = energy(positions @ plus, cell @ plus) - energy(
                positions @ minus, cell @ minus
            )
            stress[i, j] = difference / (2 * delta) / atoms.get_volume()
    np.testing.assert_allclose(results["stress"][0].numpy(), stress, atol=1e-8)
    assert np.abs(stress).max() > 0.01


def test_compute_forces_and_stress():
    atoms_list = structures()
    energies, forces, stresses = ase_results(pair_model(), atoms_list)
    state = to_state(atoms_list)

    model = MetatomicModel(pair_model(), compute_forces=False, compute_stress=False)
    results = model(state)
    assert sorted(results) == ["energy"]
    np.testing.assert_allclose(results["energy"].numpy(), energies, rtol=1e-12)

    # torch-sim can switch them on and off
    model.compute_stress = True
    results = model(state)
    assert sorted(results) == ["energy", "stress"]
    np.testing.assert_allclose(results["stress"].numpy(), stresses, atol=1e-12)

    model.compute_forces = True
    model.compute_stress = False
    results = model(state)
    assert sorted(results) == ["energy", "forces"]
    np.testing.assert_allclose(results["forces"].numpy(), forces, atol=1e-12)

    with pytest.raises(TypeError, match="`compute_forces` must be a bool, got int"):
        model.compute_forces = 1
    with pytest.raises(TypeError, match="`compute_stress` must be a bool, got str"):
        MetatomicModel(pair_model(), compute_stress="yes")


def test_outputs_are_detached():
    state = to_state(structures())
    state.positions.requires_grad_(True)
    results = MetatomicModel(pair_model())(state)
    for name, value in results.items():
        assert not value.requires_grad, name
    # the state is not modified
    assert state.positions.grad is None


def test_extra_inputs_refused():
    message = (
        r"this model requests the inputs \['mass'\], which torch-sim states do not "
        "provide: models with extra inputs can not be used with torch-sim"
    )
    with pytest.raises(ValueError, match=message):
        MetatomicModel(inputs_model())


def test_model_without_energy():
    model = multi_head_model(with_base=False, without=["energy/double"])
    with pytest.raises(ValueError, match="this model has no 'energy' output"):
        MetatomicModel(model)


def test_without_metatomic_ase(tmp_path):
    """metatomic-torchsim does not need metatomic-ase (the tests use it as the
    reference)"""
    path = _saved(pair_model(), tmp_path)
    code = (
        "import sys, ase.build, torch, torch_sim\n"
        "sys.modules['metatomic_ase'] = None  # `import metatomic_ase` fails\n"
        "from metatomic_torchsim import MetatomicModel\n"
        "atoms = ase.build.bulk('Cu', 'fcc', a=3.6, cubic=True).repeat(2)\n"
        "atoms.rattle(stdev=0.05, seed=0)\n"
        "state = torch_sim.io.atoms_to_state(atoms, 'cpu', torch.float64)\n"
        f"print(MetatomicModel({path!r})(state)['energy'].item())\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    energies, _, _ = ase_results(pair_model(), [cu_atoms()])
    np.testing.assert_allclose(float(result.stdout), energies[0], rtol=1e-12)


def test_model_errors(tmp_path):
    with pytest.raises(TypeError, match="`model` must be the path to a saved model"):
        MetatomicModel(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="no file at"):
        MetatomicModel(os.path.join(tmp_path, "missing.pt"))
    with pytest.raises(TypeError, match="`device` must be a string"):
        MetatomicModel(pair_model(), device=0)
    with pytest.raises(ValueError, match="the model does not support the device"):
        MetatomicModel(pair_model(), device="cuda")


def test_state_errors():
    model = MetatomicModel(pair_model())
    atoms_list = structures()

    with pytest.raises(
        TypeError, match="`state` must be a torch_sim.SimState, got dict"
    ):
        model({"positions": torch.zeros((1, 3))})

    message = (
        "the state has the dtype torch.float32, but this model uses torch.float64: "
        "create the state with `dtype=model.dtype`"
    )
    with pytest.raises(TypeError, match=message):
        model(to_state(atoms_list, dtype=torch.float32))

    state = to_state([cu_atoms()])
    state.atomic_numbers[3] = 8
    with pytest.raises(ValueError, match=r"can not handle the atomic type\(s\) \[8\]"):
        model(state)


def test_state_on_another_device():
    model = MetatomicModel(pair_model())
    state = to_state([cu_atoms()])
    state.positions = state.positions.to("meta")
    with pytest.raises(ValueError, match="the state is on the device 'meta'"):
        model(state)


def test_runners():
    """torch-sim's high-level runner evaluates a list of ASE atoms"""
    model = MetatomicModel(pair_model())
    atoms_list = structures()
    energies, _, _ = ase_results(pair_model(), atoms_list)
    results = torch_sim.static(atoms_list, model)
    np.testing.assert_allclose(
        [float(result["potential_energy"]) for result in results], energies, rtol=1e-12
    )
