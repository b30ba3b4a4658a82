"""Batched molecular dynamics and relaxations with torch-sim's integrators and
optimizers give the trajectories and minima found by ASE with
MetatomicCalculator"""

import ase.units
import numpy as np
import torch
import torch_sim
from _utils import cu_atoms, pair_model, structures, to_state
from ase.filters import UnitCellFilter
from ase.md.verlet import VelocityVerlet
from ase.optimize import FIRE
from torch_sim.integrators import MDState

from metatomic_ase import MetatomicCalculator
from metatomic_torchsim import MetatomicModel

N_STEPS = 20
TIMESTEP = 2.0 * ase.units.fs


def _with_velocities(atoms, seed):
    """``atoms`` with random momenta (Maxwell-Boltzmann at 600 K), without
    motion of the center of mass"""
    atoms = atoms.copy()
    masses = atoms.get_masses().reshape(-1, 1)
    kT = 600 * ase.units.kB
    rng = np.random.default_rng(seed)
    momenta = rng.normal(size=(len(atoms), 3)) * np.sqrt(masses * kT)
    atoms.set_momenta(momenta - masses * momenta.sum(axis=0) / masses.sum())
    return atoms


def test_nve_against_ase():
    """Velocity Verlet on three periodic systems at once"""
    atoms_list = [_with_velocities(atoms, i) for i, atoms in enumerate(structures())]

    state = to_state(atoms_list)
    momenta = np.concatenate([atoms.get_momenta() for atoms in atoms_list])
    state = MDState(
        positions=state.positions,
        momenta=torch.tensor(momenta),
        energy=torch.zeros(state.n_systems, dtype=torch.float64),
        forces=torch.zeros_like(state.positions),
        masses=state.masses,
        cell=state.cell,
        pbc=state.pbc,
        atomic_numbers=state.atomic_numbers,
        system_idx=state.system_idx,
    )
    # ASE and torch-sim share their internal unit of time, Å (u / eV)^(1/2)
    model = MetatomicModel(pair_model(), compute_stress=False)
    init, update = torch_sim.nve(
        model=model,
        dt=torch.tensor(TIMESTEP, dtype=torch.float64),
        kT=torch.tensor(0.0, dtype=torch.float64),
    )
    state = init(state)
    for _ in range(N_STEPS):
        state = update(state)

    calculator = MetatomicCalculator(pair_model())
    positions, momenta, energies = [], [], []
    for atoms in atoms_list:
        atoms.calc = calculator
        VelocityVerlet(atoms, timestep=TIMESTEP).run(N_STEPS)
        positions.append(atoms.positions)
        momenta.append(atoms.get_momenta())
        energies.append(atoms.get_potential_energy())

    positions = np.concatenate(positions)
    assert np.abs(positions - to_state(structures()).positions.numpy()).max() > 0.1
    # torch-sim wraps the positions in the cell
    difference = state.positions.numpy() - positions
    for i, atoms in enumerate(atoms_list):
        mask = (state.system_idx == i).numpy()
        fractional = np.linalg.solve(atoms.cell.array.T, difference[mask].T).T
        difference[mask] = (fractional - np.round(fractional)) @ atoms.cell.array
    np.testing.assert_allclose(difference, 0.0, atol=1e-10)
    np.testing.assert_allclose(
        state.momenta.numpy(), np.concatenate(momenta), atol=1e-10
    )
    np.testing.assert_allclose(state.energy.numpy(), energies, rtol=1e-10)


def test_relaxation_against_ase():
    """Relaxation of positions and cells (using the stress) of two systems at
    once reaches the minimum found by ASE"""
    atoms_list = [cu_atoms(seed=0, stdev=0.1), cu_atoms((2, 1, 1), seed=1, stdev=0.1)]
    # start away from the equilibrium volume
    for atoms in atoms_list:
        atoms.set_cell(atoms.cell.array * 1.03, scale_atoms=True)

    model = MetatomicModel(pair_model())
    state = torch_sim.optimize(
        atoms_list,
        model,
        optimizer=torch_sim.unit_cell_fire,
        convergence_fn=torch_sim.generate_force_convergence_fn(force_tol=1e-3),
        max_steps=2000,
    )
    results = model(state)

    calculator = MetatomicCalculator(pair_model())
    for i, atoms in enumerate(atoms_list):
        atoms.calc = calculator
        FIRE(UnitCellFilter(atoms), logfile=None).run(fmax=1e-3, steps=2000)

        np.testing.assert_allclose(
            float(results["energy"][i]), atoms.get_potential_energy(), rtol=1e-6
        )
        volume = abs(float(torch.linalg.det(state.cell[i])))
        np.testing.assert_allclose(volume, atoms.get_volume(), rtol=1e-4)
        mask = (state.system_idx == i).numpy()
        assert np.abs(results["forces"].numpy()[mask]).max() < 1e-3
        assert np.abs(results["stress"][i].numpy()).max() < 1e-3
