import warnings

import numpy as np
import pytest
import torch
from _utils import (
    ase_results,
    cu_atoms,
    pair_model,
    structures,
    to_state,
)

from metatomic_torchsim import MetatomicModel

STRESS_WARNING = "the stress can only be computed for systems periodic in the three"


def test_non_periodic():
    """Clusters (the cell of the state is ignored) have energies and forces,
    and a NaN stress with a warning"""
    atoms_list = structures(pbc=False)
    energies, forces, _ = ase_results(pair_model(), atoms_list, stress=False)
    state = to_state(atoms_list)
    assert not state.pbc
    assert torch.any(state.cell != 0)

    model = MetatomicModel(pair_model())
    with pytest.warns(UserWarning, match=STRESS_WARNING) as record:
        results = model(state)
    # the warning points to the caller
    assert record[0].filename == __file__
    np.testing.assert_allclose(results["energy"].numpy(), energies, rtol=1e-12)
    np.testing.assert_allclose(results["forces"].numpy(), forces, atol=1e-12)
    assert results["stress"].shape == (3, 3, 3)
    assert torch.all(torch.isnan(results["stress"]))

    model = MetatomicModel(pair_model(), compute_stress=False)
    results = model(state)
    assert sorted(results) == ["energy", "forces"]
    np.testing.assert_allclose(results["forces"].numpy(), forces, atol=1e-12)


def test_partially_periodic():
    """Slabs (torch-sim >= 0.4 stores the periodicity of each direction)"""
    atoms_list = structures(pbc=[True, False, True])
    energies, forces, _ = ase_results(pair_model(), atoms_list, stress=False)
    periodic = ase_results(pair_model(), structures(), stress=False)[0]
    assert np.all(np.abs(energies - periodic) > 1.0)

    state = to_state(atoms_list, pbc=torch.tensor([True, False, True]))
    model = MetatomicModel(pair_model())
    with pytest.warns(UserWarning, match=STRESS_WARNING):
        results = model(state)
    np.testing.assert_allclose(results["energy"].numpy(), energies, rtol=1e-12)
    np.testing.assert_allclose(results["forces"].numpy(), forces, atol=1e-12)
    assert torch.all(torch.isnan(results["stress"]))


def test_unsorted_systems():
    """The atoms of the systems must come in the order of the systems"""
    atoms_list = [cu_atoms(seed=0), cu_atoms(seed=1)]
    state = to_state(atoms_list)
    # torch-sim checks that the atoms of each system are together, not their order
    state.system_idx = torch.flip(state.system_idx, [0])
    with pytest.raises(ValueError, match="the atoms of the state must be sorted"):
        MetatomicModel(pair_model())(state)


def _moved(atoms, seed, stdev):
    atoms = atoms.copy()
    atoms.rattle(stdev=stdev, seed=seed)
    return atoms


def _translated(atoms):
    """``atoms`` with some atoms moved by lattice vectors, and the others
    wrapped in the cell (as torch-sim does during simulations)"""
    atoms = atoms.copy()
    atoms.positions[::3] += atoms.cell[0] - 2 * atoms.cell[2]
    atoms.positions[1::3] -= atoms.cell[1]
    atoms.wrap()
    return atoms


@pytest.mark.parametrize("check_consistency", [False, True])
def test_neighbor_lists_between_calls(check_consistency):
    """The Verlet lists kept for each system of successive states (atoms moving
    by less or more than the skin or by lattice vectors, systems changing) give
    the pairs found from scratch"""
    model = MetatomicModel(
        pair_model(), neighbor_skin=0.5, check_consistency=check_consistency
    )
    reference = MetatomicModel(pair_model(), neighbor_skin=0.0)
    atoms_list = structures()
    batches = [
        atoms_list,
        [_moved(atoms, seed=1, stdev=0.05) for atoms in atoms_list],
        [_moved(atoms, seed=2, stdev=0.4) for atoms in atoms_list],
        # fewer systems, different ones at the same index
        [atoms_list[2], cu_atoms(seed=5)],
        [atoms_list[1], _moved(atoms_list[0], seed=3, stdev=0.02), atoms_list[2]],
        # the same periodic systems
        [_translated(atoms) for atoms in atoms_list],
        [_moved(_translated(atoms), seed=4, stdev=0.02) for atoms in atoms_list],
    ]
    for batch in batches:
        state = to_state(batch)
        results = model(state)
        expected = reference(state)
        for name in ["energy", "forces", "stress"]:
            torch.testing.assert_close(results[name], expected[name])


def test_strain_only_for_periodic_systems():
    """No stress requested: no strain in the graph, the forces are unchanged"""
    state = to_state(structures())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        forces = MetatomicModel(pair_model(), compute_stress=False)(state)["forces"]
    torch.testing.assert_close(MetatomicModel(pair_model())(state)["forces"], forces)
