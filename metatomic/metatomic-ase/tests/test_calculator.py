"""Tests of MetatomicCalculator: construction, the ASE interface, physics"""

import json
import pathlib
import sys

import ase
import ase.build
import ase.io
import ase.units
import numpy as np
import pytest
import torch
from _utils import (
    PairPotential,
    capabilities,
    cu_atoms,
    feature_model,
    numerical_forces,
    numerical_stress,
    pair_model,
)
from ase.calculators.calculator import (
    InputError,
    PropertyNotImplementedError,
    compare_atoms,
)
from ase.md.verlet import VelocityVerlet

import metatomic_ase
from metatomic.torch import (
    AtomisticModel,
    ModelMetadata,
    ModelOutput,
)

try:
    from ase.md.velocitydistribution import thermalize_momenta
except ImportError:  # ASE < 3.29
    from ase.md.velocitydistribution import (
        MaxwellBoltzmannDistribution as thermalize_momenta,
    )
from metatomic_ase import MetatomicCalculator
from metatomic_ase._calculator import _full_3x3_to_voigt_6_stress


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "pair.pt"
    pair_model().save(str(path))
    return str(path)


@pytest.fixture(scope="module")
def calculator():
    return MetatomicCalculator(pair_model())


# ==================================================================================== #
#                                   the model                                          #
# ==================================================================================== #


def test_model_from_path(model_path, tmp_path):
    calculator = MetatomicCalculator(model_path)
    reference = MetatomicCalculator(pair_model())
    atoms = cu_atoms()
    assert np.isclose(
        calculator.compute_energy(atoms)["energy"],
        reference.compute_energy(atoms)["energy"],
        rtol=1e-12,
    )
    assert calculator.metadata().name == "pair potential"

    # pathlib paths and an extensions directory
    calculator = MetatomicCalculator(
        pathlib.Path(model_path), extensions_directory=tmp_path
    )
    assert calculator.parameters["model"] == model_path


def test_missing_path(tmp_path):
    path = str(tmp_path / "missing.pt")
    with pytest.raises(InputError, match="the model file at .* does not exist"):
        MetatomicCalculator(path)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_scripted_model():
    model = pair_model()
    scripted = torch.jit.script(model)
    calculator = MetatomicCalculator(scripted)
    atoms = cu_atoms()
    expected = MetatomicCalculator(model).compute_energy(atoms, True)
    result = calculator.compute_energy(atoms, True)
    assert np.isclose(result["energy"], expected["energy"], rtol=1e-12)
    np.testing.assert_allclose(result["forces"], expected["forces"], atol=1e-12)
    assert calculator.metadata().name == "pair potential"


def test_model_accessors():
    model = pair_model()
    calculator = MetatomicCalculator(model)
    assert calculator.model() is model
    assert calculator.metadata().name == "pair potential"


def test_wrong_model_type():
    with pytest.raises(TypeError, match="`model` must be the path to a saved model"):
        MetatomicCalculator(PairPotential())
    with pytest.raises(TypeError, match="got int"):
        MetatomicCalculator(3)


def test_device():
    calculator = MetatomicCalculator(pair_model())
    assert calculator.parameters["device"] is None
    calculator = MetatomicCalculator(pair_model(), device="cpu")
    assert calculator.parameters["device"] == "cpu"
    calculator = MetatomicCalculator(pair_model(), device=torch.device("cpu"))
    assert calculator.parameters["device"] == "cpu"

    with pytest.raises(ValueError, match="does not support the device 'cuda'"):
        MetatomicCalculator(pair_model(), device="cuda")
    with pytest.raises(TypeError, match="`device` must be a string"):
        MetatomicCalculator(pair_model(), device=0)


def test_no_available_device():
    model = AtomisticModel(
        PairPotential().eval(),
        ModelMetadata(),
        capabilities({"energy": ModelOutput(unit="eV")}, supported_devices=["opengl"]),
    )
    with pytest.raises(ValueError, match="is available on this machine"):
        MetatomicCalculator(model)


class _Float16Model(AtomisticModel):
    """A model claiming an unsupported dtype"""

    def capabilities(self):
        class Capabilities:
            dtype = "float16"
            outputs = {}

        return Capabilities()


def test_unsupported_dtype():
    model = pair_model()
    model = _Float16Model(model.module, model.metadata(), model.capabilities())
    with pytest.raises(ValueError, match="dtype 'float16'.* does not support"):
        MetatomicCalculator(model)


def test_float32_model():
    calculator = MetatomicCalculator(pair_model(dtype="float32"))
    reference = MetatomicCalculator(pair_model())
    atoms = cu_atoms()
    result = calculator.compute_energy(atoms, True)
    expected = reference.compute_energy(atoms, True)
    assert np.isclose(result["energy"], expected["energy"], rtol=1e-5)
    np.testing.assert_allclose(result["forces"], expected["forces"], atol=1e-4)
    np.testing.assert_allclose(result["stress"], expected["stress"], atol=1e-5)
    assert result["forces"].dtype == np.float64


# ==================================================================================== #
#                                   arguments                                          #
# ==================================================================================== #


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"check_consistency": "yes"}, TypeError, "`check_consistency` must be a bool"),
        (
            {"do_gradients_with_energy": 1},
            TypeError,
            "`do_gradients_with_energy` must be a bool",
        ),
        ({"additional_outputs": ["energy"]}, TypeError, "`additional_outputs` must be"),
        (
            {"additional_outputs": {"energy": "eV"}},
            TypeError,
            "`additional_outputs` must be",
        ),
        (
            {"additional_outputs": {"feature": ModelOutput()}},
            ValueError,
            "does not have the output 'feature'",
        ),
        ({"non_conservative": "both"}, ValueError, "`non_conservative` must be"),
        ({"non_conservative": 1}, ValueError, "`non_conservative` must be"),
        ({"uncertainty_threshold": 0.0}, ValueError, "must be positive"),
        ({"uncertainty_threshold": -1}, ValueError, "must be positive"),
        ({"uncertainty_threshold": "0.1"}, TypeError, "must be a number or None"),
        ({"neighbor_skin": -0.5}, ValueError, "`neighbor_skin` must be positive"),
        ({"neighbor_skin": None}, TypeError, "`neighbor_skin` must be a number"),
        ({"variants": ["energy"]}, TypeError, "`variants` must be a dict"),
        ({"variants": {"energy": 1}}, TypeError, "must be a string or None"),
        ({"variants": {1: "a"}}, TypeError, "keys of `variants` must be strings"),
        ({"variants": {"energy": "missing"}}, ValueError, "'energy/missing'"),
    ],
)
def test_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        MetatomicCalculator(pair_model(), **kwargs)


def test_positional_arguments():
    with pytest.raises(TypeError):
        MetatomicCalculator(pair_model(), None)


def test_ignored_variants():
    with pytest.warns(UserWarning, match=r"the variants of \['feature'\] are ignored"):
        MetatomicCalculator(pair_model(), variants={"feature": "a"})


# ==================================================================================== #
#                               properties and ASE                                     #
# ==================================================================================== #


def test_implemented_properties():
    assert MetatomicCalculator(pair_model()).implemented_properties == [
        "energy",
        "energies",
        "forces",
        "stress",
    ]
    assert MetatomicCalculator(pair_model(per_atom=False)).implemented_properties == [
        "energy",
        "forces",
        "stress",
    ]
    assert MetatomicCalculator(feature_model()).implemented_properties == []


def test_forces_and_stress_finite_differences(calculator):
    atoms = cu_atoms(seed=3)
    atoms.calc = calculator
    forces = atoms.get_forces()
    stress = atoms.get_stress()
    assert np.abs(forces).max() > 0.1
    np.testing.assert_allclose(
        forces, numerical_forces(calculator, atoms), atol=1e-7, rtol=0
    )
    np.testing.assert_allclose(
        stress, numerical_stress(calculator, atoms), atol=1e-8, rtol=0
    )


def test_triclinic_finite_differences(calculator):
    atoms = ase.build.bulk("Cu", "fcc", a=3.6).repeat((3, 3, 3))
    atoms.rattle(0.05, seed=12)
    atoms.set_cell(
        atoms.cell.array + [[0.0, 0.1, 0.2], [0.0, 0.0, 0.1], [0.3, 0.0, 0.0]]
    )
    atoms.calc = calculator
    np.testing.assert_allclose(
        atoms.get_stress(), numerical_stress(calculator, atoms), atol=1e-8, rtol=0
    )
    forces = atoms.get_forces()
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-10)


def test_results_types(calculator):
    atoms = cu_atoms()
    atoms.calc = calculator
    energy = atoms.get_potential_energy()
    assert isinstance(energy, float)
    assert atoms.get_forces().shape == (len(atoms), 3)
    assert atoms.get_forces().dtype == np.float64
    assert atoms.get_stress().shape == (6,)
    energies = atoms.get_potential_energies()
    assert energies.shape == (len(atoms),)
    assert np.isclose(energies.sum(), energy, rtol=1e-12)


def test_energy_minimum():
    # two atoms at the minimum of the pair potential have no force
    model = MetatomicCalculator(pair_model())
    distances = np.linspace(2.4, 3.2, 81)
    energies = []
    for distance in distances:
        atoms = ase.Atoms("Cu2", positions=[[0, 0, 0], [0, 0, distance]])
        energies.append(model.compute_energy(atoms)["energy"])
    minimum = distances[np.argmin(energies)]
    atoms = ase.Atoms("Cu2", positions=[[0, 0, 0], [0, 0, minimum]])
    atoms.calc = model
    assert np.abs(atoms.get_forces()).max() < 0.05
    assert np.all(np.array(energies) < 0.0)


def test_energies_sum_equals_energy(calculator):
    atoms = cu_atoms(seed=5)
    atoms.calc = calculator
    assert np.isclose(
        atoms.get_potential_energies().sum(), atoms.get_potential_energy(), rtol=1e-12
    )


def test_do_gradients_with_energy():
    atoms = cu_atoms()
    atoms.calc = MetatomicCalculator(pair_model())
    atoms.get_potential_energy()
    assert set(atoms.calc.results) == {"energy", "forces", "stress"}

    atoms.calc = MetatomicCalculator(pair_model(), do_gradients_with_energy=False)
    atoms.get_potential_energy()
    assert set(atoms.calc.results) == {"energy"}
    # forces of periodic systems also give the stress
    atoms.get_forces()
    assert set(atoms.calc.results) == {"energy", "forces", "stress"}

    atoms.pbc = False
    atoms.get_forces()
    assert set(atoms.calc.results) == {"energy", "forces"}

    atoms = cu_atoms()
    atoms.calc = MetatomicCalculator(pair_model(), do_gradients_with_energy=False)
    stress = atoms.get_stress()
    assert set(atoms.calc.results) == {"energy", "stress"}
    reference = MetatomicCalculator(pair_model()).compute_energy(atoms, True)
    np.testing.assert_allclose(
        stress, _full_3x3_to_voigt_6_stress(reference["stress"]), atol=1e-14
    )


def test_stress_without_pbc():
    atoms = cu_atoms()
    atoms.pbc = [True, True, False]
    atoms.calc = MetatomicCalculator(pair_model())
    atoms.get_potential_energy()
    assert "stress" not in atoms.calc.results
    with pytest.warns(UserWarning, match="periodic in the three directions"):
        with pytest.raises(PropertyNotImplementedError):
            atoms.get_stress()


def test_unsupported_properties(calculator):
    atoms = cu_atoms()
    atoms.calc = calculator
    with pytest.raises(PropertyNotImplementedError, match="'stresses'"):
        atoms.get_stresses()
    with pytest.raises(NotImplementedError, match="per-atom stresses"):
        calculator.calculate(atoms, ["stresses"])
    with pytest.raises(PropertyNotImplementedError, match="can not compute 'dipole'"):
        atoms.get_dipole_moment()
    with pytest.raises(PropertyNotImplementedError, match="can not compute 'dipole'"):
        calculator.calculate(atoms, ["dipole"])
    with pytest.raises(PropertyNotImplementedError, match="free_energy"):
        atoms.get_potential_energy(force_consistent=True)


def test_energies_of_per_system_model():
    atoms = cu_atoms()
    atoms.calc = MetatomicCalculator(pair_model(per_atom=False))
    assert isinstance(atoms.get_potential_energy(), float)
    with pytest.raises(PropertyNotImplementedError, match="only available per system"):
        atoms.get_potential_energies()
    with pytest.raises(PropertyNotImplementedError, match="only available per system"):
        atoms.calc.compute_energy(atoms, per_atom=True)


def test_model_without_energy():
    calculator = MetatomicCalculator(feature_model())
    atoms = cu_atoms()
    atoms.calc = calculator
    for function in (atoms.get_potential_energy, atoms.get_forces, atoms.get_stress):
        with pytest.raises(PropertyNotImplementedError, match="no 'energy' output"):
            function()
    with pytest.raises(PropertyNotImplementedError, match="no 'energy' output"):
        calculator.compute_energy(atoms)

    outputs = calculator.run_model(atoms, {"test::count": ModelOutput()})
    assert outputs["test::count"].block().values.shape == (1, 1)
    assert outputs["test::count"].block().values[0, 0] > 0

    # the additional outputs are still computed by calculate
    calculator = MetatomicCalculator(
        feature_model(), additional_outputs={"test::count": ModelOutput()}
    )
    calculator.calculate(atoms, [])
    assert calculator.results == {}
    assert "test::count" in calculator.additional_outputs


def test_unsupported_atomic_types(calculator):
    atoms = cu_atoms()
    atoms.numbers[3] = 1
    atoms.numbers[5] = 8
    atoms.calc = calculator
    message = r"can not handle the atomic types \[1, 8\].* supports the types \[29\]"
    with pytest.raises(ValueError, match=message):
        atoms.get_potential_energy()
    with pytest.raises(ValueError, match=message):
        calculator.compute_energy([cu_atoms(), atoms])


def test_cache_invalidation(calculator):
    atoms = cu_atoms()
    atoms.calc = calculator
    energy = atoms.get_potential_energy()
    assert atoms.calc.check_state(atoms) == []
    assert atoms.get_potential_energy() == energy

    atoms.positions[0, 0] += 0.1
    assert calculator.check_state(atoms) == ["positions"]
    assert atoms.get_potential_energy() != energy

    atoms.set_cell(atoms.cell * 1.01, scale_atoms=True)
    assert set(calculator.check_state(atoms)) == {"positions", "cell"}
    atoms.get_potential_energy()

    atoms.pbc = [True, True, False]
    assert calculator.check_state(atoms) == ["pbc"]
    atoms.get_potential_energy()

    atoms.set_initial_charges(np.ones(len(atoms)))
    assert calculator.check_state(atoms) == ["initial_charges"]
    atoms.get_potential_energy()
    assert calculator.check_state(atoms.copy()) == []


@pytest.mark.parametrize("tol", [1e-15, 1e-3])
def test_check_state_like_ase(calculator, tol):
    atoms = cu_atoms()
    atoms.calc = calculator
    atoms.get_potential_energy()

    def modifications():
        yield lambda a: None
        yield lambda a: a.positions.__setitem__((0, 0), a.positions[0, 0] + 1e-16)
        yield lambda a: a.positions.__setitem__((0, 0), a.positions[0, 0] + 1e-4)
        yield lambda a: a.positions.__setitem__((0, 0), np.nan)
        yield lambda a: a.set_cell(a.cell * (1 + 1e-4))
        yield lambda a: a.set_pbc([True, False, True])
        yield lambda a: a.set_initial_charges(np.full(len(a), 1e-5))
        yield lambda a: a.set_initial_magnetic_moments(np.zeros(len(a)))
        yield lambda a: a.set_atomic_numbers(np.full(len(a), 28))
        yield lambda a: a.set_tags(np.ones(len(a)))

    for modify in modifications():
        modified = atoms.copy()
        modify(modified)
        expected = compare_atoms(calculator.atoms, modified, tol=tol)
        assert sorted(calculator.check_state(modified, tol=tol)) == sorted(expected)


def test_calculate_defaults(calculator):
    with pytest.raises(ValueError, match="`atoms` must be given"):
        MetatomicCalculator(pair_model()).calculate()

    atoms = cu_atoms()
    calculator.calculate(atoms)
    assert "energy" in calculator.results
    energy = calculator.results["energy"]
    # the last atoms are used by default
    calculator.results = {}
    calculator.calculate(properties=["forces"])
    assert calculator.results["energy"] == energy
    assert "forces" in calculator.results


# ==================================================================================== #
#                                     physics                                          #
# ==================================================================================== #


def test_nve_energy_conservation():
    atoms = cu_atoms((3, 3, 3), seed=7)
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(8))
    atoms.calc = MetatomicCalculator(pair_model())
    dynamics = VelocityVerlet(atoms, timestep=1.0 * ase.units.fs)

    energies = []

    def record():
        energies.append(atoms.get_potential_energy() + atoms.get_kinetic_energy())

    dynamics.attach(record, interval=1)
    dynamics.run(100)
    energies = np.array(energies)
    assert atoms.get_kinetic_energy() > 0.1
    drift = np.abs(energies - energies[0]).max() / len(atoms)
    assert drift < 2e-4


def test_full_3x3_to_voigt_6_stress():
    stress = np.arange(9.0).reshape(3, 3)
    voigt = _full_3x3_to_voigt_6_stress(stress)
    np.testing.assert_equal(voigt, [0.0, 4.0, 8.0, 6.0, 4.0, 2.0])


# ==================================================================================== #
#                                  todict / fromdict                                   #
# ==================================================================================== #


def test_todict_fromdict(model_path):
    calculator = MetatomicCalculator(
        model_path,
        additional_outputs={"energy": ModelOutput(unit="meV", sample_kind="atom")},
        neighbor_skin=1.0,
        do_gradients_with_energy=False,
    )
    data = calculator.todict()
    assert data["model"] == model_path
    assert data["neighbor_skin"] == 1.0
    assert data["additional_outputs"]["energy"]["unit"] == "meV"
    # ASE stores the parameters as JSON
    data = json.loads(json.dumps(data))

    copy = MetatomicCalculator.fromdict(data)
    assert copy.parameters["do_gradients_with_energy"] is False
    assert copy.todict() == data
    atoms = cu_atoms()
    assert (
        copy.compute_energy(atoms)["energy"]
        == calculator.compute_energy(atoms)["energy"]
    )


def test_todict_without_path(calculator):
    with pytest.raises(RuntimeError, match="create it from the path of a model file"):
        calculator.todict()


def test_trajectory(model_path, tmp_path):
    atoms = cu_atoms()
    atoms.calc = MetatomicCalculator(model_path)
    energy = atoms.get_potential_energy()
    path = str(tmp_path / "atoms.traj")
    ase.io.write(path, atoms)
    read = ase.io.read(path)
    assert np.isclose(read.get_potential_energy(), energy)
    np.testing.assert_allclose(read.get_forces(), atoms.get_forces())


# ==================================================================================== #
#                                    the package                                       #
# ==================================================================================== #


def test_package():
    assert metatomic_ase.__all__ == [
        "MetatomicCalculator",
        "SymmetrizedCalculator",
        "__version__",
    ]
    assert isinstance(metatomic_ase.__version__, str)
    assert MetatomicCalculator.implemented_properties == [
        "energy",
        "energies",
        "forces",
        "stress",
    ]


def test_deprecated_import():
    from metatomic.torch import ase_calculator

    with pytest.warns(DeprecationWarning, match="use `from metatomic_ase import"):
        assert ase_calculator.MetatomicCalculator is MetatomicCalculator

    with pytest.raises(AttributeError, match="has no attribute 'Other'"):
        ase_calculator.Other  # noqa: B018

    # also reachable as an attribute of metatomic.torch
    import metatomic.torch

    assert metatomic.torch.ase_calculator is ase_calculator


def test_deprecated_import_without_metatomic_ase(monkeypatch):
    from metatomic.torch import ase_calculator

    monkeypatch.setitem(sys.modules, "metatomic_ase", None)
    with pytest.raises(ImportError, match="pip install metatomic-ase"):
        ase_calculator.MetatomicCalculator  # noqa: B018
