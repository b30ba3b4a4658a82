"""
Exporting a model
=================

Write a model (here a Lennard-Jones pair potential), export it as one
metatomic file, load it back, run it in ASE and compare with ASE's own
Lennard-Jones calculator; then evaluate the same file through its tensor-only
entry point, as an engine knowing only libtorch would.
"""

# %%
#
# The model
# ---------
#
# A model is a :py:class:`torch.nn.Module` whose ``forward`` takes
# :py:class:`~metatomic.torch.System` objects and returns TensorMaps; it asks
# for a half neighbor list within its cutoff.

import os
import tempfile
from typing import Dict, List, Optional

import ase.build
import matplotlib.pyplot as plt
import numpy as np
import torch
import vesin
from ase.calculators.lj import LennardJones

import metatensor.torch as mtt
import metatomic.torch as mta
from metatomic_ase import MetatomicCalculator

SIGMA = 3.4  # Å
EPSILON = 0.0104  # eV
CUTOFF = 3 * SIGMA


class LennardJonesModel(torch.nn.Module):
    def __init__(self, sigma: float, epsilon: float, cutoff: float):
        super().__init__()
        self.sigma = sigma
        self.epsilon = epsilon
        self.neighbors = mta.NeighborListOptions(
            cutoff=cutoff, full_list=False, strict=True
        )
        # energy at the cutoff, subtracted so that the energy is continuous
        self.shift = 4 * epsilon * ((sigma / cutoff) ** 12 - (sigma / cutoff) ** 6)

    def requested_neighbor_lists(self) -> List[mta.NeighborListOptions]:
        return [self.neighbors]

    def forward(
        self,
        systems: List[mta.System],
        outputs: Dict[str, mta.ModelOutput],
        selected_atoms: Optional[mtt.Labels],
    ) -> Dict[str, mtt.TensorMap]:
        energies: List[torch.Tensor] = []
        for system in systems:
            pairs = system.get_neighbor_list(self.neighbors)
            distances = torch.linalg.vector_norm(pairs.values.reshape(-1, 3), dim=1)
            ratio = (self.sigma / distances) ** 6
            pair_energies = 4 * self.epsilon * (ratio**2 - ratio) - self.shift
            energies.append(pair_energies.sum().reshape(1))

        block = mtt.TensorBlock(
            values=torch.stack(energies),
            samples=mtt.Labels(
                "system", torch.arange(len(systems), dtype=torch.int32).reshape(-1, 1)
            ),
            components=[],
            properties=mtt.Labels("energy", torch.tensor([[0]])),
        )
        keys = mtt.Labels("_", torch.tensor([[0]]))
        return {"energy": mtt.TensorMap(keys, [block])}


# %%
#
# Export
# ------
#
# The capabilities say what the model computes, in which units; the metadata
# who wrote it. :py:meth:`~metatomic.torch.AtomisticModel.save` compiles
# everything with TorchScript into one file.

capabilities = mta.ModelCapabilities(
    outputs={"energy": mta.ModelOutput(quantity="energy", unit="eV")},
    atomic_types=[18],
    interaction_range=CUTOFF,
    length_unit="angstrom",
    supported_devices=["cpu"],
    dtype="float64",
)
metadata = mta.ModelMetadata(
    name="Lennard-Jones argon", description="a pair potential, as an example"
)
lennard_jones = LennardJonesModel(SIGMA, EPSILON, CUTOFF)
model = mta.AtomisticModel(lennard_jones.eval(), metadata, capabilities)

directory = tempfile.mkdtemp()
path = os.path.join(directory, "lennard-jones.pt")
model.save(path)
print(f"exported {os.path.getsize(path) / 1024:.0f} kB to lennard-jones.pt")

# %%
#
# Load it back, and read what it is without running it.

loaded = mta.load_atomistic_model(path)
print(loaded.metadata())
print(loaded.capabilities().outputs["energy"].unit)

# %%
#
# Run it in ASE
# -------------
#
# The energy of fcc argon as a function of the lattice constant, with the
# exported model and with ASE's Lennard-Jones calculator (same parameters,
# same shifted energy).

lattice_constants = np.linspace(5.0, 6.4, 15)
ours, reference = [], []
calculator = MetatomicCalculator(path)
for a in lattice_constants:
    atoms = ase.build.bulk("Ar", "fcc", a=a, cubic=True)
    atoms.calc = calculator
    ours.append(atoms.get_potential_energy() / len(atoms))
    atoms.calc = LennardJones(sigma=SIGMA, epsilon=EPSILON, rc=CUTOFF, smooth=False)
    reference.append(atoms.get_potential_energy() / len(atoms))

print("largest difference with ASE:", np.abs(np.array(ours) - reference).max(), "eV")
assert np.allclose(ours, reference, atol=1e-10)

figure, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(lattice_constants, reference, "o", label="ase.calculators.lj")
ax.plot(lattice_constants, ours, "-", label="exported model")
ax.set_xlabel("lattice constant (Å)")
ax.set_ylabel("energy per atom (eV)")
ax.legend()
figure.tight_layout()

# %%
#
# The tensor-only entry point
# ---------------------------
#
# An engine that knows only libtorch loads the file with ``torch.jit.load``
# (``torch::jit::load`` in C++), asks which neighbor lists the model needs,
# computes them with its own code (here vesin), and calls ``forward_tensors``
# with plain tensors: no metatensor or metatomic class is involved.

engine_model = torch.jit.load(path)
requests = engine_model.neighbor_list_requests("angstrom")
print("neighbor lists (cutoff, full_list, strict):", requests)

atoms = ase.build.bulk("Ar", "fcc", a=5.3, cubic=True) * (2, 2, 2)
pairs = []
for cutoff, full_list, _ in requests:
    calculator = vesin.NeighborList(cutoff=cutoff, full_list=full_list)
    i, j, shifts = calculator.compute(
        atoms.positions, atoms.cell[:], atoms.pbc, quantities="ijS"
    )
    pairs.append(torch.tensor(np.column_stack([i, j, shifts]), dtype=torch.int64))

positions = torch.tensor(atoms.positions, requires_grad=True)
result = engine_model.forward_tensors(
    torch.tensor(atoms.numbers),  # types
    positions,
    torch.tensor(atoms.cell[:]),  # cell
    torch.tensor(atoms.pbc),  # pbc
    pairs,
    ["energy"],  # outputs
    ["kcal/mol"],  # their units
    [False],  # one value per system
    None,  # all atoms
    "angstrom",  # unit of positions and cell
)
energy = result["energy"]
energy.sum().backward()
forces = -positions.grad
print(f"energy: {energy.item():.6f} kcal/mol, largest force: {forces.abs().max():.2e}")

atoms.calc = MetatomicCalculator(path)
expected = atoms.get_potential_energy() * mta.unit_conversion_factor("eV", "kcal/mol")
assert abs(energy.item() - expected) < 1e-8 * abs(expected)
