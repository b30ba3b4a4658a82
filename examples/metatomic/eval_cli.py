"""
Running an exported model from the command line
===============================================

An exported metatomic model is a single file: nothing else is needed to use it.
The ``metatomic`` command (also available as ``python -m metatomic.torch``)
shows what a model file contains and evaluates it on structures from any file
that ASE can read:

.. code-block:: bash

    metatomic check cu-au-model.pt
    metatomic eval cu-au-model.pt structures.xyz -o results.xyz

This example runs both commands on the Cu/Au model of ``end_to_end.py`` and
checks that the energies, forces and stress written by ``metatomic eval`` are
those given by :py:class:`metatomic_ase.MetatomicCalculator` in Python.

.. code-block:: bash

    python eval_cli.py --model cu-au-model.pt

Without ``--model``, it exports an untrained model of the same architecture
(from ``model.py``, next to this file) to compare with: its predictions are
meaningless, but the command line must reproduce them all the same.
"""

# %%
#
# Setup
# -----

import argparse
import os
import subprocess
import sys

import ase
import ase.build
import ase.cluster
import ase.io
import numpy as np
import torch

from metatomic_ase import MetatomicCalculator

parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
parser.add_argument(
    "--model", default=None, help="an exported model (default: export one here)"
)
parser.add_argument(
    "--output-dir", default=".", help="where to write the structures and results"
)
args = parser.parse_args()
os.makedirs(args.output_dir, exist_ok=True)

torch.set_num_threads(1)
torch.manual_seed(0)
rng = np.random.default_rng(0)

# %%
#
# The model
# ---------
#
# Either the file given with ``--model``, or a freshly exported (untrained)
# model. Exporting needs the Python code of the model; using the exported file
# does not.

if args.model is not None:
    model_path = args.model
else:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from model import export_untrained

    model_path = os.path.join(args.output_dir, "untrained-cu-au-model.pt")
    export_untrained(model_path)
    print(f"exported an untrained model to {model_path}")

# %%
#
# ``metatomic check``
# -------------------
#
# This command loads the model and prints its metadata, its capabilities (the
# outputs it computes and their units, the atomic types, the length unit, the
# devices and dtype), the neighbor lists it needs and the versions it was
# exported with. It fails (with a non-zero exit status) if the file is not a
# model that can run here.


def metatomic(*arguments):
    """Run ``python -m metatomic.torch ARGUMENTS`` and return its output"""
    command = [sys.executable, "-m", "metatomic.torch", *arguments]
    print("$ metatomic " + " ".join(arguments))
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"`metatomic {arguments[0]}` failed with status {result.returncode}:\n"
            + result.stderr
        )
    return result.stdout


print(metatomic("check", model_path))

# %%
#
# Structures
# ----------
#
# A few distorted Cu/Au crystals (periodic) and a small Cu/Au nanoparticle
# (not periodic), written together to an extended XYZ file.

frames = []
for _ in range(4):
    atoms = ase.build.bulk("Cu", "fcc", a=1.0, cubic=True).repeat(2)
    atoms.numbers[rng.random(len(atoms)) < rng.uniform(0, 1)] = 79
    atoms.set_cell(3.8 * atoms.cell.array, scale_atoms=True)
    atoms.positions += rng.normal(scale=0.05, size=(len(atoms), 3))
    frames.append(atoms)

cluster = ase.cluster.Octahedron("Cu", 4, cutoff=1, latticeconstant=3.7)
cluster.numbers[rng.random(len(cluster)) < 0.3] = 79
cluster.positions += rng.normal(scale=0.05, size=(len(cluster), 3))
frames.append(ase.Atoms(cluster.numbers, cluster.positions))

structures_path = os.path.join(args.output_dir, "structures.xyz")
ase.io.write(structures_path, frames, format="extxyz")

# %%
#
# ``metatomic eval``
# ------------------
#
# The command computes the energy and forces of every structure (and the
# stress of periodic ones) and writes them to a new extended XYZ file, which
# ASE (or any other tool reading this format) reads back.

results_path = os.path.join(args.output_dir, "results.xyz")
print(metatomic("eval", model_path, structures_path, "-o", results_path))
results = ase.io.read(results_path, index=":")

# %%
#
# Comparison with the ASE calculator
# ----------------------------------
#
# The same model, loaded in Python as an ASE calculator, gives the same numbers
# (up to the precision of the text file).

calculator = MetatomicCalculator(model_path, device="cpu")

print(f"{'structure':>24}  {'energy (eV)':>14}  {'|ΔE| (eV)':>9}  ", end="")
print(f"{'max |ΔF| (eV/Å)':>15}  {'max |Δσ| (eV/Å³)':>16}")
worst = 0.0
for atoms, result in zip(frames, results):
    atoms.calc = calculator
    energy = atoms.get_potential_energy()
    energy_error = abs(energy - result.get_potential_energy())
    force_error = np.max(np.abs(atoms.get_forces() - result.get_forces()))
    worst = max(worst, energy_error, force_error)
    name = f"{atoms.get_chemical_formula()}"
    name += ", periodic" if atoms.pbc.all() else ", cluster"
    line = f"{name:>24}  {energy:14.6f}  {energy_error:9.1e}  {force_error:15.1e}  "
    if atoms.pbc.all():
        stress_error = np.max(np.abs(atoms.get_stress() - result.get_stress()))
        worst = max(worst, stress_error)
        line += f"{stress_error:16.1e}"
    else:
        line += f"{'-':>16}"
    print(line)

print()
print(f"largest difference: {worst:.1e}")
assert worst < 1e-5, "`metatomic eval` and the ASE calculator disagree"
print("files written:")
print(f"    {structures_path}")
print(f"    {results_path}")
