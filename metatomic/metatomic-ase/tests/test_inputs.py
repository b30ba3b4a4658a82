"""Tests of the extra model inputs read from ase.Atoms"""

import ase.units
import numpy as np
import pytest
from _utils import cu_atoms, inputs_model

from metatomic.torch import ModelOutput
from metatomic_ase import MetatomicCalculator


def _atom(unit=""):
    return ModelOutput(unit=unit, sample_kind="atom")


def _system(unit=""):
    return ModelOutput(unit=unit, sample_kind="system")


INPUTS = {
    "mass": _atom("u"),
    "velocity": _atom("A/fs"),
    "momentum": _atom("(eV*u)^(1/2)"),
    "charge": _system("e"),
    "spin_multiplicity": _system(),
    "ase::initial_magmoms": _atom(),
    "ase::initial_charges": _atom("e"),
    "ase::tags": _atom(),
    "ase::arrays::foo": _atom(),
    "ase::info::bar": _system(),
}


def _atoms():
    atoms = cu_atoms()
    rng = np.random.default_rng(3)
    atoms.set_momenta(rng.normal(size=(len(atoms), 3)))
    atoms.set_masses(rng.uniform(50, 70, size=len(atoms)))
    atoms.set_initial_charges(rng.normal(size=len(atoms)))
    atoms.set_initial_magnetic_moments(rng.normal(size=len(atoms)))
    atoms.set_tags(np.arange(len(atoms)))
    atoms.arrays["foo"] = rng.normal(size=(len(atoms), 2))
    atoms.info["bar"] = 3.5
    return atoms


def _value(calculator, atoms, name):
    output = "test::" + name.replace("::", "_")
    request = ModelOutput(sample_kind=INPUTS.get(name, _atom()).sample_kind)
    tensor = calculator.run_model(atoms, {output: request})[output]
    return tensor


@pytest.fixture(scope="module")
def calculator():
    return MetatomicCalculator(inputs_model(INPUTS), check_consistency=True)


def test_values(calculator):
    atoms = _atoms()

    mass = _value(calculator, atoms, "mass")
    np.testing.assert_allclose(mass.block().values.numpy()[:, 0], atoms.get_masses())
    assert mass.block().properties.names == ["mass"]
    assert mass.block().samples.names == ["system", "atom"]
    assert mass.block().samples.column("system").tolist() == [0] * len(atoms)
    assert mass.get_info("unit") == "u"

    velocity = _value(calculator, atoms, "velocity").block()
    assert velocity.components[0].names == ["xyz"]
    assert velocity.properties.names == ["velocity"]
    # converted from the ASE unit of velocity to A/fs
    np.testing.assert_allclose(
        velocity.values.numpy()[:, :, 0],
        atoms.get_velocities() * ase.units.fs,
        rtol=1e-6,
    )

    momentum = _value(calculator, atoms, "momentum").block()
    np.testing.assert_allclose(momentum.values.numpy()[:, :, 0], atoms.get_momenta())

    magmoms = _value(calculator, atoms, "ase::initial_magmoms").block()
    np.testing.assert_allclose(
        magmoms.values.numpy()[:, 0], atoms.get_initial_magnetic_moments()
    )
    assert magmoms.properties.names == ["initial_magmoms"]

    charges = _value(calculator, atoms, "ase::initial_charges").block()
    np.testing.assert_allclose(
        charges.values.numpy()[:, 0], atoms.get_initial_charges()
    )

    tags = _value(calculator, atoms, "ase::tags").block()
    np.testing.assert_equal(tags.values.numpy()[:, 0], np.arange(len(atoms)))

    foo = _value(calculator, atoms, "ase::arrays::foo").block()
    np.testing.assert_allclose(foo.values.numpy(), atoms.arrays["foo"])
    assert foo.properties.names == ["foo"]
    assert len(foo.properties) == 2

    bar = _value(calculator, atoms, "ase::info::bar").block()
    assert bar.samples.names == ["system"]
    assert bar.values.numpy().tolist() == [[3.5]]


def test_charge_and_spin(calculator):
    atoms = _atoms()
    charge = _value(calculator, atoms, "charge")
    assert charge.block().values.numpy().tolist() == [[0.0]]
    assert charge.block().properties.names == ["charge"]
    spin = _value(calculator, atoms, "spin_multiplicity")
    assert spin.block().values.numpy().tolist() == [[1.0]]

    atoms.info["charge"] = -2
    atoms.info["spin"] = 3
    charge = _value(calculator, atoms, "charge")
    assert charge.block().values.numpy().tolist() == [[-2.0]]
    spin = _value(calculator, atoms, "spin_multiplicity")
    assert spin.block().values.numpy().tolist() == [[3.0]]

    atoms.info["spin_multiplicity"] = 2
    spin = _value(calculator, atoms, "spin_multiplicity")
    assert spin.block().values.numpy().tolist() == [[2.0]]


def test_per_atom_charge():
    calculator = MetatomicCalculator(inputs_model({"charge": _atom("e")}))
    atoms = _atoms()
    charge = calculator.run_model(atoms, {"test::charge": _atom()})["test::charge"]
    np.testing.assert_allclose(
        charge.block().values.numpy()[:, 0], atoms.get_initial_charges()
    )


def test_vector_arrays():
    calculator = MetatomicCalculator(
        inputs_model({"ase::arrays::vector": _atom(), "ase::info::tensor": _system()})
    )
    atoms = _atoms()
    atoms.arrays["vector"] = np.ones((len(atoms), 3))
    atoms.info["tensor"] = np.arange(6.0).reshape(2, 3)
    vector = calculator.run_model(atoms, {"test::ase_arrays_vector": _atom()})
    block = vector["test::ase_arrays_vector"].block()
    assert block.values.shape == (len(atoms), 3, 1)
    assert block.components[0].names == ["xyz"]
    tensor = calculator.run_model(atoms, {"test::ase_info_tensor": _system()})
    block = tensor["test::ase_info_tensor"].block()
    assert block.values.shape == (1, 6)


def test_calculate_with_inputs(calculator):
    atoms = _atoms()
    atoms.calc = calculator
    energy = atoms.get_potential_energy()
    assert np.isclose(
        energy, MetatomicCalculator(inputs_model({})).compute_energy(atoms)["energy"]
    )


def test_check_state_watches_inputs(calculator):
    atoms = _atoms()
    atoms.calc = calculator
    atoms.get_potential_energy()
    assert calculator.check_state(atoms) == []

    atoms.info["charge"] = 1
    assert calculator.check_state(atoms) == ["info"]
    assert calculator.calculation_required(atoms, ["energy"])
    atoms.get_potential_energy()
    assert calculator.check_state(atoms) == []

    atoms.info["spin"] = 2
    assert calculator.check_state(atoms) == ["info"]
    atoms.get_potential_energy()

    atoms.info["bar"] = 4.0
    assert calculator.check_state(atoms) == ["info"]
    atoms.get_potential_energy()

    # unrelated info entries are not watched
    atoms.info["other"] = "something"
    assert calculator.check_state(atoms) == []

    del atoms.info["bar"]
    assert calculator.check_state(atoms) == ["info"]
    atoms.info["bar"] = 4.0

    atoms.arrays["foo"] = atoms.arrays["foo"] + 1
    assert calculator.check_state(atoms) == ["foo"]
    atoms.get_potential_energy()

    atoms.set_momenta(atoms.get_momenta() + 1)
    assert calculator.check_state(atoms) == ["momenta"]
    atoms.get_potential_energy()

    atoms.set_masses(atoms.get_masses() + 1)
    assert calculator.check_state(atoms) == ["masses"]
    atoms.get_potential_energy()

    atoms.set_tags(atoms.get_tags() + 1)
    assert calculator.check_state(atoms) == ["tags"]


def test_missing_inputs(calculator):
    atoms = _atoms()
    del atoms.info["bar"]
    with pytest.raises(ValueError, match="`atoms.info` has no 'bar' entry"):
        calculator.compute_energy(atoms)

    atoms = _atoms()
    del atoms.arrays["foo"]
    with pytest.raises(ValueError, match="`atoms.arrays` has no 'foo' entry"):
        calculator.compute_energy(atoms)

    atoms = _atoms()
    atoms.arrays["foo"] = np.ones(len(atoms))
    calculator.compute_energy(atoms)


def test_unknown_inputs():
    with pytest.raises(ValueError, match="can not provide: the known inputs"):
        MetatomicCalculator(inputs_model({"my::input": _atom()}))
    with pytest.raises(ValueError, match="can not provide"):
        MetatomicCalculator(inputs_model({"ase::positions": _atom()}))
    with pytest.raises(ValueError, match="provides it with sample_kind='atom'"):
        MetatomicCalculator(inputs_model({"mass": _system()}))
    with pytest.raises(ValueError, match="provides it with sample_kind='system'"):
        MetatomicCalculator(inputs_model({"spin_multiplicity": _atom()}))


def test_batched_inputs(calculator):
    first = _atoms()
    second = _atoms()
    second.info["bar"] = 1.0
    energies = calculator.compute_energy([first, second])["energy"]
    assert np.isclose(energies[0], energies[1])
