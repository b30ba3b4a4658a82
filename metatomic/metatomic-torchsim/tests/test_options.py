"""Variants, non-conservative outputs, uncertainty and additional outputs, which
behave as in the ASE calculator"""

import numpy as np
import pytest
import torch
from _utils import ase_results, multi_head_model, pair_model, structures, to_state

from metatomic.torch import ModelOutput
from metatomic_torchsim import MetatomicModel


@pytest.fixture
def atoms_list():
    return structures()


@pytest.fixture
def state(atoms_list):
    return to_state(atoms_list)


@pytest.fixture
def conservative(atoms_list):
    """Energies, forces and stress of the pair potential (the base outputs of
    the multi-head model)"""
    return ase_results(pair_model(), atoms_list)


def _removed_mean(values: torch.Tensor, state) -> np.ndarray:
    values = values.numpy().copy()
    for system in range(state.n_systems):
        mask = (state.system_idx == system).numpy()
        values[mask] -= values[mask].mean(axis=0)
    return values


# the symmetric part of the non-conservative stress of the model
NC_STRESS = 0.5 * (np.arange(9.0).reshape(3, 3) + np.arange(9.0).reshape(3, 3).T)


def test_same_as_ase(atoms_list, state):
    """Every combination of options gives the results of MetatomicCalculator"""
    for options in [
        {},
        {"variants": {"energy": "double"}},
        {"non_conservative": True},
        {"non_conservative": "forces", "variants": {"energy": "double"}},
        {
            "non_conservative": "stress",
            "variants": {"energy": "double", "non_conservative_stress": None},
        },
    ]:
        energies, forces, stresses = ase_results(
            multi_head_model(), atoms_list, **options
        )
        results = MetatomicModel(multi_head_model(), **options)(state)
        np.testing.assert_allclose(results["energy"].numpy(), energies, rtol=1e-12)
        np.testing.assert_allclose(results["forces"].numpy(), forces, atol=1e-12)
        np.testing.assert_allclose(results["stress"].numpy(), stresses, atol=1e-12)


def test_variants(state, conservative):
    energies, forces, stresses = conservative
    results = MetatomicModel(multi_head_model(), variants={"energy": "double"})(state)
    np.testing.assert_allclose(results["energy"].numpy(), 2 * energies, rtol=1e-12)
    np.testing.assert_allclose(results["forces"].numpy(), 2 * forces, atol=1e-12)
    np.testing.assert_allclose(results["stress"].numpy(), 2 * stresses, atol=1e-12)

    # the energy without variant, when the model has none
    model = multi_head_model(with_base=False)
    with pytest.raises(ValueError, match="energy"):
        MetatomicModel(model)
    results = MetatomicModel(model, variants={"energy": "double"})(state)
    np.testing.assert_allclose(results["energy"].numpy(), 2 * energies, rtol=1e-12)

    with pytest.raises(ValueError, match="energy/missing"):
        MetatomicModel(multi_head_model(), variants={"energy": "missing"})
    with pytest.raises(TypeError, match="`variants` must be a dict"):
        MetatomicModel(multi_head_model(), variants="double")


def test_non_conservative(state, conservative):
    energies, forces, stresses = conservative
    positions = state.positions

    results = MetatomicModel(multi_head_model(), non_conservative=True)(state)
    np.testing.assert_allclose(results["energy"].numpy(), energies, rtol=1e-12)
    np.testing.assert_allclose(
        results["forces"].numpy(), _removed_mean(positions, state), atol=1e-12
    )
    np.testing.assert_allclose(
        results["stress"].numpy(), np.stack([NC_STRESS] * 3), atol=1e-12
    )

    results = MetatomicModel(multi_head_model(), non_conservative="forces")(state)
    np.testing.assert_allclose(
        results["forces"].numpy(), _removed_mean(positions, state), atol=1e-12
    )
    np.testing.assert_allclose(results["stress"].numpy(), stresses, atol=1e-12)

    results = MetatomicModel(multi_head_model(), non_conservative="stress")(state)
    np.testing.assert_allclose(results["forces"].numpy(), forces, atol=1e-12)
    np.testing.assert_allclose(
        results["stress"].numpy(), np.stack([NC_STRESS] * 3), atol=1e-12
    )

    # the variant of the energy is used for the non-conservative outputs
    model = MetatomicModel(
        multi_head_model(), non_conservative=True, variants={"energy": "double"}
    )
    results = model(state)
    np.testing.assert_allclose(
        results["forces"].numpy(), 2 * _removed_mean(positions, state), atol=1e-12
    )
    np.testing.assert_allclose(
        results["stress"].numpy(), np.stack([2 * NC_STRESS] * 3), atol=1e-12
    )

    # unless given
    model = MetatomicModel(
        multi_head_model(),
        non_conservative=True,
        variants={"energy": "double", "non_conservative_force": None},
    )
    results = model(state)
    np.testing.assert_allclose(
        results["forces"].numpy(), _removed_mean(positions, state), atol=1e-12
    )

    # non-periodic systems have no stress
    state.pbc = False
    model = MetatomicModel(multi_head_model(), non_conservative=True)
    with pytest.warns(UserWarning, match="can only be computed for systems periodic"):
        results = model(state)
    assert torch.all(torch.isnan(results["stress"]))


def test_non_conservative_errors():
    message = "`non_conservative` must be False, True, 'forces' or 'stress', got 'x'"
    with pytest.raises(ValueError, match=message):
        MetatomicModel(pair_model(), non_conservative="x")
    with pytest.raises(ValueError, match="got 1"):
        MetatomicModel(pair_model(), non_conservative=1)

    with pytest.raises(ValueError, match="non_conservative_force"):
        MetatomicModel(pair_model(), non_conservative=True)
    model = multi_head_model(without=["non_conservative_stress/double"])
    message = "comes from the energy variant"
    with pytest.raises(ValueError, match=message):
        MetatomicModel(model, non_conservative=True, variants={"energy": "double"})


def test_uncertainty(state):
    # the uncertainty of atom i is 0.01 * i
    model = multi_head_model(uncertainty=0.01)
    message = (
        r"the energy uncertainty of some atoms is above the threshold of 0.1 eV, the "
        r"predictions may be unreliable: \(system, atom\) \(0, 11\), \(0, 12\), .*"
        r"\(0, 20\), ... \(65 in total\) \(maximal uncertainty: 0.47 eV\)"
    )
    with pytest.warns(UserWarning, match=message) as record:
        MetatomicModel(model)(state)
    assert record[0].filename == __file__

    # below the threshold, or disabled: no warning (warnings are errors here)
    MetatomicModel(model, uncertainty_threshold=0.5)(state)
    MetatomicModel(model, uncertainty_threshold=None)(state)

    # the variant of the energy
    model = MetatomicModel(
        multi_head_model(uncertainty=0.01),
        uncertainty_threshold=0.9,
        variants={"energy": "double"},
    )
    with pytest.warns(UserWarning, match="maximal uncertainty: 0.94 eV"):
        model(state)

    with pytest.raises(ValueError, match="`uncertainty_threshold` must be positive"):
        MetatomicModel(model, uncertainty_threshold=0.0)
    with pytest.raises(TypeError, match="`uncertainty_threshold` must be a number"):
        MetatomicModel(model, uncertainty_threshold="0.1")


def test_additional_outputs(state):
    model = MetatomicModel(
        multi_head_model(),
        additional_outputs={
            "test::count": ModelOutput(),
            "energy/double": ModelOutput(unit="meV", sample_kind="atom"),
        },
    )
    assert model.additional_outputs == {}
    results = model(state)

    outputs = model.additional_outputs
    assert sorted(outputs) == ["energy/double", "test::count"]
    count = outputs["test::count"].block()
    assert count.values.reshape(-1).tolist() == [32.0, 18.0, 48.0]
    assert count.samples.column("system").tolist() == [0, 1, 2]
    energies = outputs["energy/double"].block()
    assert energies.values.shape == (state.n_atoms, 1)
    assert not energies.values.requires_grad
    totals = torch.zeros(3, dtype=torch.float64).index_add(
        0, energies.samples.column("system"), energies.values.reshape(-1)
    )
    torch.testing.assert_close(totals, 2000 * results["energy"])

    with pytest.raises(ValueError, match="does not have the output 'test::other'"):
        MetatomicModel(
            multi_head_model(), additional_outputs={"test::other": ModelOutput()}
        )
    with pytest.raises(TypeError, match="`additional_outputs` must be a dict"):
        MetatomicModel(multi_head_model(), additional_outputs={"test::count": 1})


def test_ignored_variants():
    """Only the variants of the outputs used by the engine can be chosen"""
    with pytest.warns(
        UserWarning, match=r"the variants of \['test::count'\] are ignored"
    ):
        MetatomicModel(multi_head_model(), variants={"test::count": "double"})


def test_other_argument_errors():
    with pytest.raises(ValueError, match="`neighbor_skin` must be positive, got -1"):
        MetatomicModel(pair_model(), neighbor_skin=-1)
    with pytest.raises(TypeError, match="`neighbor_skin` must be a number, got bool"):
        MetatomicModel(pair_model(), neighbor_skin=True)
    with pytest.raises(TypeError, match="`check_consistency` must be a bool"):
        MetatomicModel(pair_model(), check_consistency="no")
