"""
From reference data to molecular dynamics: a machine-learning potential
=======================================================================

This example goes through the whole life of a machine-learning interatomic
potential with metatensor and metatomic:

1. compute reference energies and forces for a few hundred distorted Cu/Au alloy
   structures with a classical potential (ASE's EMT, standing in for an
   expensive quantum-mechanical method);
2. define a model: smooth radial features of each atom's neighborhood, computed
   from a neighbor list and stored in a metatensor ``TensorMap`` with one block
   per atomic type, fed to one small neural network per type
   (``metatensor.torch.learn.nn``);
3. train it on energies and forces (forces by automatic differentiation);
4. export it as a metatomic model: a single TorchScript file with its metadata
   and capabilities, which any engine supporting metatomic can run;
5. load this file in ASE with :py:class:`metatomic_ase.MetatomicCalculator`,
   measure its accuracy on held-out structures and run molecular dynamics;
6. plot the training, the accuracy of the forces and the energy conservation.

Everything runs on a CPU in a few minutes, from data generated on the fly:

.. code-block:: bash

    python end_to_end.py --output-dir results/

The model itself is defined in ``model.py``, next to this file: TorchScript
compiles a model from the source code of its classes, so they must live in a
file.
"""

# %%
#
# Setup
# -----
#
# Everything is seeded, so that two runs give the same numbers. The model is tiny:
# splitting each small operation over several threads costs more than it gains,
# so torch uses a single thread.

import argparse
import os
import sys
import time

import ase
import ase.build
import ase.data
import ase.units
import matplotlib
import numpy as np
import torch
import tqdm
from ase.calculators.emt import EMT
from ase.md.velocitydistribution import Stationary
from ase.md.verlet import VelocityVerlet
from ase.optimize import FIRE
from vesin.metatomic import NeighborList

from metatomic.torch import (
    AtomisticModel,
    ModelCapabilities,
    ModelMetadata,
    ModelOutput,
    System,
    systems_to_torch,
)
from metatomic_ase import MetatomicCalculator

try:  # ASE >= 3.29
    from ase.md.velocitydistribution import thermalize_momenta
except ImportError:
    from ase.md.velocitydistribution import (
        MaxwellBoltzmannDistribution as thermalize_momenta,
    )

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# the model definition, in model.py next to this script
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import AlloyPotential  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
parser.add_argument(
    "--output-dir", default=".", help="where to write the model and the figure"
)
parser.add_argument("--epochs", type=int, default=50, help="training epochs")
parser.add_argument(
    "--md-steps", type=int, default=500, help="molecular dynamics steps"
)
args = parser.parse_args()
os.makedirs(args.output_dir, exist_ok=True)

torch.set_num_threads(1)
torch.manual_seed(0)
rng = np.random.default_rng(0)

timings = {}
start = time.perf_counter()

# %%
#
# Reference data
# --------------
#
# Each structure is a 2x2x2 supercell of the conventional fcc cell (32 atoms),
# in which a random fraction of the copper atoms is replaced by gold. The lattice
# constant interpolates between those of copper (3.59 Å with EMT) and gold
# (4.06 Å), and is then scaled by a few percent, the cell slightly sheared and
# the atoms displaced randomly: the model sees compressed, stretched and
# thermally agitated crystals.

ATOMIC_TYPES = [29, 79]  # Cu, Au
LATTICE = {29: 3.59, 79: 4.06}  # EMT lattice constants, in Å
N_STRUCTURES = 400
N_TEST = 80


def random_alloy(rng: np.random.Generator) -> ase.Atoms:
    """A distorted 32-atom Cu/Au fcc crystal, with EMT energy and forces"""
    atoms = ase.build.bulk("Cu", "fcc", a=1.0, cubic=True).repeat(2)
    gold_fraction = rng.uniform(0.0, 1.0)
    gold = rng.random(len(atoms)) < gold_fraction
    atoms.numbers[gold] = 79

    fraction = gold.mean()
    lattice = (1 - fraction) * LATTICE[29] + fraction * LATTICE[79]
    lattice *= rng.uniform(0.97, 1.04)
    strain = np.eye(3) + rng.uniform(-0.02, 0.02, size=(3, 3))
    atoms.set_cell(lattice * atoms.cell.array @ strain, scale_atoms=True)
    atoms.positions += rng.normal(scale=rng.uniform(0.02, 0.10), size=(len(atoms), 3))

    atoms.calc = EMT()
    atoms.info["energy"] = atoms.get_potential_energy()
    atoms.arrays["forces"] = atoms.get_forces()
    atoms.calc = None
    return atoms


frames = [
    random_alloy(rng)
    for _ in tqdm.trange(N_STRUCTURES, desc="EMT reference data", unit="structure")
]
train_frames, test_frames = frames[:-N_TEST], frames[-N_TEST:]
timings["reference data (EMT)"] = time.perf_counter() - start

# %%
#
# The model
# ---------
#
# :py:class:`model.AlloyPotential` computes, for each atom, Gaussian radial
# densities of its Cu and Au neighbors (16 Gaussians between 1.8 Å and the 5 Å
# cutoff, smoothly going to zero at the cutoff), stores them in a ``TensorMap``
# with one block per central atom type, and applies to each block its own
# multi-layer perceptron (two hidden layers of 32 SiLU neurons) to get atomic
# energies. The energy of a structure is the sum of its atomic energies.

CUTOFF = 5.0
model = AlloyPotential(ATOMIC_TYPES, cutoff=CUTOFF)
n_parameters = sum(p.numel() for p in model.parameters())
print(f"model with {n_parameters} parameters")

# %%
#
# Systems and neighbor lists
# --------------------------
#
# A metatomic model does not see ``ase.Atoms`` but
# :py:class:`metatomic.torch.System`: atomic types, positions, cell and
# periodicity as torch tensors, plus the neighbor lists that the model requested
# (``model.requested_neighbor_lists()``: here a full list with a 5 Å cutoff).
# ASE calculators and other engines build them for us; for training, we build
# them ourselves with vesin.
#
# To get forces, the positions require gradients: vesin connects the pair
# vectors of the neighbor list to the positions in the autograd graph, so that
# the derivative of the energy with respect to the positions goes through them.
# A system is used for one gradient computation, so we build new ones for each
# training step (it takes about a millisecond).

neighbor_list = NeighborList(model.requested_neighbor_lists()[0], "angstrom", skin=0.0)


def to_systems(frames, requires_grad=False) -> list[System]:
    """``ase.Atoms`` as metatomic systems, with their neighbor lists"""
    systems = systems_to_torch(
        frames, dtype=torch.float64, positions_requires_grad=requires_grad
    )
    neighbor_list.add_neighbor_list(systems)
    return systems


def reference(frames):
    """Reference energies (per structure) and forces (all atoms) as tensors"""
    energies = torch.tensor([atoms.info["energy"] for atoms in frames])
    forces = torch.from_numpy(
        np.concatenate([atoms.arrays["forces"] for atoms in frames])
    )
    n_atoms = torch.tensor([len(atoms) for atoms in frames], dtype=torch.float64)
    return energies, forces, n_atoms


ENERGY = {"energy": ModelOutput(unit="eV", sample_kind="system")}


def predict(frames, create_graph=False):
    """Energies and forces predicted by ``model`` for ``frames``"""
    systems = to_systems(frames, requires_grad=True)
    energies = model(systems, ENERGY, None)["energy"].block().values.reshape(-1)
    gradients = torch.autograd.grad(
        energies.sum(),
        [system.positions for system in systems],
        create_graph=create_graph,
    )
    return energies, -torch.cat(gradients)


# %%
#
# Standardisation
# ---------------
#
# Neural networks train best on inputs and outputs of order one. The features
# are standardised with their mean and standard deviation over the training
# set. Most of the energy of a structure is a sum of per-type contributions
# (its composition times a reference energy per type): a linear fit gives these
# reference energies, and the networks only learn what the composition does not
# explain, scaled by its typical size.

with torch.no_grad():
    model.features.set_standardization(model.features(to_systems(train_frames), None))

train_energies, train_forces, train_n_atoms = reference(train_frames)
composition = torch.tensor(
    [[np.sum(atoms.numbers == t) for t in ATOMIC_TYPES] for atoms in train_frames],
    dtype=torch.float64,
)
baseline = torch.linalg.lstsq(composition, train_energies.reshape(-1, 1)).solution
residual = (train_energies - (composition @ baseline).reshape(-1)) / train_n_atoms
model.set_energy_baseline(baseline.reshape(-1).tolist(), residual.std().item())
print(
    "per-type reference energies: "
    + ", ".join(
        f"{ase.data.chemical_symbols[t]} {e:.3f} eV"
        for t, e in zip(ATOMIC_TYPES, baseline.reshape(-1).tolist())
    )
)

# %%
#
# Training
# --------
#
# The loss mixes the errors on the energy per atom and on the forces, each
# divided by the variance of the reference values so that both matter. The
# forces come from differentiating the predicted energy with respect to the
# positions, with ``create_graph=True`` so that the loss on the forces can in
# turn be differentiated with respect to the parameters of the model.

energy_variance = residual.var()
force_variance = train_forces.var()
FORCE_WEIGHT = 10.0
BATCH_SIZE = 8

optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)


def loss_function(frames, energies, forces):
    ref_energies, ref_forces, n_atoms = reference(frames)
    energy_error = ((energies - ref_energies) / n_atoms) ** 2
    force_error = (forces - ref_forces) ** 2
    return (
        energy_error.mean() / energy_variance
        + FORCE_WEIGHT * force_error.mean() / force_variance
    )


start = time.perf_counter()
losses, test_losses = [], []
progress = tqdm.trange(args.epochs, desc="training", unit="epoch")
for _ in progress:
    order = rng.permutation(len(train_frames))
    epoch_loss = 0.0
    for batch_start in range(0, len(order), BATCH_SIZE):
        batch = [train_frames[i] for i in order[batch_start : batch_start + BATCH_SIZE]]
        optimizer.zero_grad()
        energies, forces = predict(batch, create_graph=True)
        loss = loss_function(batch, energies, forces)
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item() * len(batch)
    scheduler.step()
    losses.append(epoch_loss / len(train_frames))

    # the same loss on the test structures, to check that the model does not
    # overfit the training set (no `create_graph` needed here)
    energies, forces = predict(test_frames)
    test_losses.append(loss_function(test_frames, energies.detach(), forces).item())
    progress.set_postfix(loss=f"{losses[-1]:.4f}", test=f"{test_losses[-1]:.4f}")
timings["training"] = time.perf_counter() - start

# %%
#
# Export
# ------
#
# :py:class:`metatomic.torch.AtomisticModel` wraps the trained model with its
# metadata (name, authors, references) and capabilities (what it computes, in
# which units, for which atomic types, on which devices and with which dtype).
# ``save`` compiles it with TorchScript and writes one file, which can be loaded
# without the Python code of ``model.py``.

start = time.perf_counter()
model.eval()
metadata = ModelMetadata(
    name="Cu/Au radial-density potential",
    description=(
        "a small neural-network potential for copper/gold alloys, trained on EMT "
        "energies and forces of distorted fcc crystals (metatomic example)"
    ),
    authors=["metatensor and metatomic examples"],
    references={
        # per-atom neural networks on atom-centred radial features
        "architecture": ["https://doi.org/10.1103/PhysRevLett.98.146401"],
        # the EMT potential that gave the training data
        "model": ["https://doi.org/10.1016/0039-6028(96)00816-3"],
    },
)
capabilities = ModelCapabilities(
    outputs={"energy": ModelOutput(unit="eV", sample_kind="atom")},
    atomic_types=ATOMIC_TYPES,
    interaction_range=CUTOFF,
    length_unit="angstrom",
    supported_devices=["cpu"],
    dtype="float64",
)
model_path = os.path.join(args.output_dir, "cu-au-model.pt")
AtomisticModel(model, metadata, capabilities).save(model_path)
print(f"saved the model to {model_path}")
timings["export"] = time.perf_counter() - start

# %%
#
# Accuracy on held-out structures
# -------------------------------
#
# The exported file is loaded in ASE through
# :py:class:`metatomic_ase.MetatomicCalculator`: from here on the model is used
# like any ASE calculator. The test structures were never seen in training.

start = time.perf_counter()
calculator = MetatomicCalculator(model_path, device="cpu")

# the first two evaluations are slow: TorchScript profiles the model on the
# first one and optimizes it on the second
warm_up = test_frames[0].copy()
for _ in range(2):
    warm_up.positions[0, 0] += 1e-4  # a new position, so that ASE recomputes
    warm_up.calc = calculator
    warm_up.get_forces()
timings["warm-up (TorchScript optimization)"] = time.perf_counter() - start

start = time.perf_counter()
predicted_energies, predicted_forces = [], []
for atoms in test_frames:
    atoms = atoms.copy()
    atoms.calc = calculator
    predicted_energies.append(atoms.get_potential_energy() / len(atoms))
    predicted_forces.append(atoms.get_forces())
predicted_energies = np.array(predicted_energies)
predicted_forces = np.concatenate(predicted_forces)

reference_energies = np.array([a.info["energy"] / len(a) for a in test_frames])
reference_forces = np.concatenate([a.arrays["forces"] for a in test_frames])
energy_mae = np.mean(np.abs(predicted_energies - reference_energies))
force_rmse = np.sqrt(np.mean((predicted_forces - reference_forces) ** 2))
force_scale = np.sqrt(np.mean(reference_forces**2))
timings["test set"] = time.perf_counter() - start

# %%
#
# Molecular dynamics
# ------------------
#
# A larger random alloy (256 atoms, 25% gold, at its expected lattice
# constant) is first relaxed with the model: gold and copper atoms have
# different sizes, so the atoms of a random alloy move away from the ideal
# lattice sites. Any ASE optimizer works with the calculator.
#
# Then the atoms get random velocities drawn at 300 K and evolve at constant
# energy (velocity Verlet, 2 fs steps). Starting from a minimum, about half of
# the kinetic energy turns into potential energy (equipartition): the
# temperature settles around 150 K. With a smooth, conservative potential, the
# total energy stays constant.

start = time.perf_counter()
md_atoms = ase.build.bulk("Cu", "fcc", a=1.0, cubic=True).repeat(4)
md_atoms.numbers[rng.permutation(len(md_atoms))[: len(md_atoms) // 4]] = 79
md_atoms.set_cell(
    (0.75 * LATTICE[29] + 0.25 * LATTICE[79]) * md_atoms.cell.array, scale_atoms=True
)
md_atoms.calc = calculator
relaxation = FIRE(md_atoms, logfile=None)
relaxation.run(fmax=0.01)

# the model also gives the energy of each atom (``sample_kind="atom"``)
atomic_energies = md_atoms.get_potential_energies()
mean_atomic_energy = {
    t: atomic_energies[md_atoms.numbers == t].mean() for t in ATOMIC_TYPES
}

thermalize_momenta(md_atoms, temperature_K=300, rng=rng)
Stationary(md_atoms)  # no motion of the center of mass

TIMESTEP = 2.0  # fs
dynamics = VelocityVerlet(md_atoms, timestep=TIMESTEP * ase.units.fs)
potential, kinetic = [], []


def record():
    potential.append(md_atoms.get_potential_energy() / len(md_atoms))
    kinetic.append(md_atoms.get_kinetic_energy() / len(md_atoms))


record()
md_start = time.perf_counter()
with tqdm.tqdm(total=args.md_steps, desc="molecular dynamics", unit="step") as bar:
    for _ in range(args.md_steps):
        dynamics.run(1)
        record()
        bar.update()
time_per_step = (time.perf_counter() - md_start) / args.md_steps

potential = np.array(potential)
kinetic = np.array(kinetic)
total = potential + kinetic
md_time = np.arange(len(total)) * TIMESTEP / 1000  # ps
# drift: change of the total energy over the run, from a linear fit (less
# sensitive to the fluctuations than the difference of the first and last
# values); fluctuations: standard deviation around this fit
fit = np.polyfit(md_time, total, 1)
drift = fit[0] * md_time[-1]  # eV/atom
fluctuation = np.std(total - np.polyval(fit, md_time))
temperature = 2 / 3 * kinetic[len(kinetic) // 2 :].mean() / ase.units.kB
timings["molecular dynamics"] = time.perf_counter() - start

# %%
#
# Speed
# -----
#
# How long does an energy and forces evaluation take on the MD structure, with
# this model and with EMT? Both run on a single thread. EMT is a cheap classical
# potential (written in Python with numpy in ASE), so the two take similar times
# here; the quantum-mechanical calculations that machine-learning potentials
# usually replace take minutes to hours for the same structure.

start = time.perf_counter()


def seconds_per_call(calculator, atoms, repeat=20):
    atoms = atoms.copy()
    atoms.calc = calculator
    elapsed = []
    for _ in range(repeat + 2):
        atoms.positions[0, 0] += 1e-4  # move an atom to force a new calculation
        tic = time.perf_counter()
        atoms.get_forces()
        elapsed.append(time.perf_counter() - tic)
    return np.median(elapsed[2:])  # without the warm-up calls


time_model = seconds_per_call(calculator, md_atoms)
time_emt = seconds_per_call(EMT(), md_atoms)
timings["speed comparison"] = time.perf_counter() - start

# %%
#
# Figure
# ------

figure, axes = plt.subplots(2, 2, figsize=(11, 9))
(ax_loss, ax_parity), (ax_md, ax_total) = axes

epochs = np.arange(1, len(losses) + 1)
ax_loss.semilogy(epochs, losses, label="training set")
ax_loss.semilogy(epochs, test_losses, label="test set")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("loss (energies and forces)")
ax_loss.set_title("Training")
ax_loss.legend()

ax_parity.scatter(
    reference_forces.reshape(-1), predicted_forces.reshape(-1), s=2, alpha=0.3
)
limit = np.abs(reference_forces).max() * 1.05
ax_parity.plot([-limit, limit], [-limit, limit], color="black", lw=0.8)
ax_parity.set_xlim(-limit, limit)
ax_parity.set_ylim(-limit, limit)
ax_parity.set_aspect("equal")
ax_parity.set_xlabel("EMT force component (eV/Å)")
ax_parity.set_ylabel("model force component (eV/Å)")
ax_parity.set_title(f"Test set forces (RMSE {1000 * force_rmse:.0f} meV/Å)")

# energies per atom, relative to the initial total energy
reference_total = total[0]
ax_md.plot(md_time, 1000 * (total - reference_total), label="total", color="black")
ax_md.plot(
    md_time, 1000 * (potential - reference_total), label="potential", color="tab:blue"
)
ax_md.plot(md_time, 1000 * kinetic, label="kinetic", color="tab:red")
ax_md.set_xlabel("time (ps)")
ax_md.set_ylabel("energy per atom (meV)")
ax_md.set_title(f"NVE molecular dynamics, {len(md_atoms)} atoms")
ax_md.set_ylim(top=1.4 * 1000 * np.max(kinetic))
ax_md.legend(loc="upper center", ncol=3)

# the total energy alone, on a much finer scale: velocity Verlet exactly
# conserves a "shadow" energy close to the true one, so the total energy
# fluctuates by amounts of order (time step)², without drifting
ax_total.plot(md_time, 1e6 * (total - reference_total), color="black")
ax_total.set_xlabel("time (ps)")
ax_total.set_ylabel("total energy per atom (µeV)")
ax_total.set_title(f"Total energy (drift {1e6 * drift:.2f} µeV/atom)")

figure.tight_layout()
figure_path = os.path.join(args.output_dir, "cu-au-model.png")
figure.savefig(figure_path, dpi=120)

# %%
#
# Summary
# -------

total_time = sum(timings.values())
print()
print("Summary")
print("-------")
print(f"training structures: {len(train_frames)}, test structures: {len(test_frames)}")
print(f"final training loss: {losses[-1]:.4f} (first epoch: {losses[0]:.4f})")
print(f"test energy MAE: {1000 * energy_mae:.1f} meV/atom")
print(
    f"test force RMSE: {1000 * force_rmse:.0f} meV/Å "
    f"({100 * force_rmse / force_scale:.1f}% of the RMS force, {1000 * force_scale:.0f} meV/Å)"
)
print(
    f"MD: {args.md_steps} steps of {TIMESTEP} fs, {len(md_atoms)} atoms, "
    f"mean temperature {temperature:.0f} K"
)
print(
    f"MD: total energy drift {1e6 * drift:.2f} µeV/atom over {md_time[-1]:g} ps, "
    f"fluctuations {1e6 * fluctuation:.2f} µeV/atom (std)"
)
print(f"MD: {1000 * time_per_step:.1f} ms per step")
print(
    "MD: mean atomic energies in the relaxed alloy: "
    + ", ".join(
        f"{ase.data.chemical_symbols[t]} {energy:.3f} eV"
        for t, energy in mean_atomic_energy.items()
    )
)
print(
    f"energy + forces for {len(md_atoms)} atoms: model {1000 * time_model:.1f} ms, "
    f"EMT {1000 * time_emt:.1f} ms"
)
print("time per phase:")
for phase, seconds in timings.items():
    print(f"    {phase}: {seconds:.1f} s")
print(f"    total: {total_time:.1f} s")
print("files written:")
print(f"    {model_path}")
print(f"    {figure_path}")
