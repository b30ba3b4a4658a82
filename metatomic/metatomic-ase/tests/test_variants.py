"""Tests of the output variants, non-conservative forces and stress, energy
uncertainties and additional outputs"""

import numpy as np
import pytest
from _utils import cu_atoms, multi_head_model, pair_model

from metatomic.torch import ModelOutput
from metatomic_ase import MetatomicCalculator
from metatomic_ase._calculator import _full_3x3_to_voigt_6_stress

# the non-conservative stress of the test model, in Voigt notation
NC_STRESS = _full_3x3_to_voigt_6_stress(np.arange(9.0).reshape(3, 3))


def _reference(atoms):
    """energy, forces and stress of the pair potential"""
    return MetatomicCalculator(pair_model()).compute_energy(atoms, True)


def test_default_outputs():
    atoms = cu_atoms()
    atoms.calc = MetatomicCalculator(multi_head_model())
    reference = _reference(atoms)
    assert np.isclose(atoms.get_potential_energy(), reference["energy"], rtol=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), reference["forces"], atol=1e-12)
    np.testing.assert_allclose(
        atoms.get_stress(), _full_3x3_to_voigt_6_stress(reference["stress"])
    )


def test_energy_variant():
    atoms = cu_atoms()
    atoms.calc = MetatomicCalculator(multi_head_model(), variants={"energy": "double"})
    reference = _reference(atoms)
    assert np.isclose(atoms.get_potential_energy(), 2 * reference["energy"], rtol=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), 2 * reference["forces"], atol=1e-12)
    assert np.isclose(
        atoms.get_potential_energies().sum(), 2 * reference["energy"], rtol=1e-12
    )

    # None selects the output without variant
    atoms.calc = MetatomicCalculator(multi_head_model(), variants={"energy": None})
    assert np.isclose(atoms.get_potential_energy(), reference["energy"], rtol=1e-12)


def test_only_variants():
    with pytest.raises(
        ValueError, match="(?s)no default 'energy' output.*twice the energy"
    ):
        MetatomicCalculator(multi_head_model(with_base=False))

    atoms = cu_atoms()
    calculator = MetatomicCalculator(
        multi_head_model(with_base=False),
        variants={"energy": "double"},
        non_conservative=True,
    )
    atoms.calc = calculator
    assert np.isclose(
        atoms.get_potential_energy(), 2 * _reference(atoms)["energy"], rtol=1e-12
    )
    np.testing.assert_allclose(atoms.get_stress(), 2 * NC_STRESS)


def test_non_conservative():
    atoms = cu_atoms()
    reference = _reference(atoms)
    positions = atoms.positions - atoms.positions.mean(axis=0)

    atoms.calc = MetatomicCalculator(multi_head_model(), non_conservative=True)
    assert np.isclose(atoms.get_potential_energy(), reference["energy"], rtol=1e-12)
    # the test model predicts the positions as forces, without the mean
    np.testing.assert_allclose(atoms.get_forces(), positions, atol=1e-12)
    np.testing.assert_allclose(atoms.get_forces().sum(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(atoms.get_stress(), NC_STRESS)

    atoms.calc = MetatomicCalculator(multi_head_model(), non_conservative="forces")
    np.testing.assert_allclose(atoms.get_forces(), positions, atol=1e-12)
    np.testing.assert_allclose(
        atoms.get_stress(), _full_3x3_to_voigt_6_stress(reference["stress"])
    )

    atoms.calc = MetatomicCalculator(multi_head_model(), non_conservative="stress")
    np.testing.assert_allclose(atoms.get_forces(), reference["forces"], atol=1e-12)
    np.testing.assert_allclose(atoms.get_stress(), NC_STRESS)

    # a model without the non-conservative outputs
    with pytest.raises(ValueError, match="'non_conservative_force'"):
        MetatomicCalculator(pair_model(), non_conservative=True)
    with pytest.raises(ValueError, match="'non_conservative_stress'"):
        MetatomicCalculator(pair_model(), non_conservative="stress")


def test_non_conservative_compute_energy():
    atoms = cu_atoms()
    calculator = MetatomicCalculator(multi_head_model(), non_conservative=True)
    result = calculator.compute_energy(atoms, True)
    positions = atoms.positions - atoms.positions.mean(axis=0)
    np.testing.assert_allclose(result["forces"], positions, atol=1e-12)
    # compute_energy gives the stress as predicted, as a 3x3 matrix
    np.testing.assert_allclose(result["stress"], np.arange(9.0).reshape(3, 3))

    results = calculator.compute_energy([atoms, cu_atoms(seed=2)], True)
    np.testing.assert_allclose(results["forces"][0], positions, atol=1e-12)
    assert len(results["stress"]) == 2


def test_non_conservative_variants():
    atoms = cu_atoms()
    positions = atoms.positions - atoms.positions.mean(axis=0)

    # the energy variant is the default for the other outputs
    atoms.calc = MetatomicCalculator(
        multi_head_model(), variants={"energy": "double"}, non_conservative=True
    )
    np.testing.assert_allclose(atoms.get_forces(), 2 * positions, atol=1e-12)
    np.testing.assert_allclose(atoms.get_stress(), 2 * NC_STRESS)

    # unless they are given explicitly
    atoms.calc = MetatomicCalculator(
        multi_head_model(),
        variants={"energy": "double", "non_conservative_force": None},
        non_conservative=True,
    )
    np.testing.assert_allclose(atoms.get_forces(), positions, atol=1e-12)
    np.testing.assert_allclose(atoms.get_stress(), 2 * NC_STRESS)

    atoms.calc = MetatomicCalculator(
        multi_head_model(),
        variants={"non_conservative_stress": "double"},
        non_conservative=True,
    )
    np.testing.assert_allclose(atoms.get_forces(), positions, atol=1e-12)
    np.testing.assert_allclose(atoms.get_stress(), 2 * NC_STRESS)


def test_deprecated_non_conservative_forces_variant():
    atoms = cu_atoms()
    positions = atoms.positions - atoms.positions.mean(axis=0)
    with pytest.warns(DeprecationWarning, match="'non_conservative_forces' key") as w:
        calculator = MetatomicCalculator(
            multi_head_model(),
            variants={"non_conservative_forces": "double"},
            non_conservative="forces",
        )
    assert w[0].filename == __file__
    atoms.calc = calculator
    np.testing.assert_allclose(atoms.get_forces(), 2 * positions, atol=1e-12)

    with pytest.raises(ValueError, match="can not contain both"):
        MetatomicCalculator(
            multi_head_model(),
            variants={
                "non_conservative_forces": "double",
                "non_conservative_force": None,
            },
        )


def test_missing_derived_variant():
    # no energy_uncertainty/double in this model
    model = multi_head_model(without=["energy_uncertainty/double"])

    with pytest.raises(ValueError, match=r"set `variants\['energy_uncertainty'\]`"):
        MetatomicCalculator(model, variants={"energy": "double"})

    calculator = MetatomicCalculator(
        model, variants={"energy": "double", "energy_uncertainty": None}
    )
    assert calculator._outputs.uncertainty == "energy_uncertainty"
    # without uncertainty check, the uncertainty output is not used
    MetatomicCalculator(
        model, variants={"energy": "double"}, uncertainty_threshold=None
    )

    # explicit requests of missing variants are errors
    with pytest.raises(ValueError, match="'energy_uncertainty/other'"):
        MetatomicCalculator(model, variants={"energy_uncertainty": "other"})


def test_uncertainty_warning():
    atoms = cu_atoms()
    atoms.calc = MetatomicCalculator(multi_head_model(uncertainty=0.5))
    message = r"above the threshold of 0.1 eV.*atoms 0, 1, 2, .*\(32 in total\)"
    with pytest.warns(UserWarning, match=message) as record:
        atoms.get_potential_energy()
    # the warning points at the code calling ASE
    assert record[0].filename == __file__

    atoms.calc = MetatomicCalculator(
        multi_head_model(uncertainty=0.5), uncertainty_threshold=1.0
    )
    atoms.get_potential_energy()

    atoms.calc = MetatomicCalculator(
        multi_head_model(uncertainty=0.5), uncertainty_threshold=None
    )
    atoms.get_potential_energy()

    # the variant of the energy applies to the uncertainty (2 * 0.3 > 0.5)
    atoms.calc = MetatomicCalculator(
        multi_head_model(uncertainty=0.3),
        variants={"energy": "double"},
        uncertainty_threshold=0.5,
    )
    with pytest.warns(UserWarning, match="maximal uncertainty: 0.6 eV"):
        atoms.get_potential_energy()

    calculator = MetatomicCalculator(multi_head_model(uncertainty=0.5))
    with pytest.warns(UserWarning, match=r"\(system, atom\)"):
        calculator.compute_energy([atoms, atoms])


def test_no_uncertainty_check_for_low_uncertainty():
    atoms = cu_atoms()
    atoms.calc = MetatomicCalculator(multi_head_model(uncertainty=0.01))
    atoms.get_potential_energy()


def test_additional_outputs():
    atoms = cu_atoms()
    calculator = MetatomicCalculator(
        multi_head_model(),
        additional_outputs={
            "non_conservative_force": ModelOutput(unit="eV/A", sample_kind="atom"),
            "energy/double": ModelOutput(unit="meV", sample_kind="system"),
        },
    )
    assert calculator.additional_outputs == {}
    atoms.calc = calculator
    energy = atoms.get_potential_energy()
    outputs = calculator.additional_outputs
    assert set(outputs) == {"non_conservative_force", "energy/double"}
    np.testing.assert_allclose(
        outputs["non_conservative_force"].block().values.detach().numpy()[:, :, 0],
        atoms.positions,
    )
    double = outputs["energy/double"].block().values.detach().numpy()
    assert np.isclose(double[0, 0], 2000 * energy)

    # computed again at each calculation
    atoms.positions += 0.1
    atoms.get_potential_energy()
    np.testing.assert_allclose(
        calculator.additional_outputs["non_conservative_force"]
        .block()
        .values.detach()
        .numpy()[:, :, 0],
        atoms.positions,
    )
