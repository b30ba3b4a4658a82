"""
Molecular dynamics with i-PI
============================

`i-PI <https://ipi-code.org>`_ is a simulation engine for classical and
path-integral molecular dynamics. It ships a metatomic driver
(``i-pi-py_driver -m metatomic``) that runs any exported metatomic model: i-PI
integrates the equations of motion and sends the positions and cell to the
driver through a socket; the driver evaluates the model and sends back the
energy, the forces and the virial.

This example runs 20 steps of constant-energy molecular dynamics of a 108-atom
Cu/Au alloy with the model of ``end_to_end.py`` (the i-PI input is
``input.xml``, next to this file), then checks that the potential energies
recorded by i-PI are those :py:class:`metatomic_ase.MetatomicCalculator` gives
for the same positions.

.. code-block:: bash

    pip install ipi
    python run_ipi.py --model cu-au-model.pt --output-dir ipi-md

Without ``--model``, it exports an untrained model of the same architecture
(from ``model.py``, in the folder above): its energies are meaningless, but
i-PI must reproduce them all the same.
"""

# %%
#
# Setup
# -----

import argparse
import os
import shutil
import sys
import time

import ase.build
import ase.io
import numpy as np

from metatomic_ase import MetatomicCalculator

HERE = os.path.dirname(os.path.abspath(__file__))
# `IPIRun` starts i-PI and the driver, in ipi_run.py next to this file
sys.path.insert(0, HERE)
from ipi_run import IPIRun  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
parser.add_argument(
    "--model", default=None, help="an exported model (default: export one here)"
)
parser.add_argument(
    "--output-dir", default="ipi-md", help="where to run i-PI and write its outputs"
)
args = parser.parse_args()
os.makedirs(args.output_dir, exist_ok=True)
rng = np.random.default_rng(0)

# %%
#
# The model
# ---------
#
# i-PI's driver loads the model from a file: either the one given with
# ``--model``, or a freshly exported (untrained) model, copied to the output
# folder as ``model.pt``.

model_path = os.path.join(args.output_dir, "model.pt")
if args.model is not None:
    shutil.copyfile(args.model, model_path)
else:
    sys.path.insert(0, os.path.dirname(HERE))
    from model import export_untrained

    export_untrained(model_path)
    print(f"exported an untrained model to {model_path}")

# %%
#
# The structure
# -------------
#
# A 3x3x3 supercell of the conventional fcc cell (108 atoms) with 25% of gold at
# random. i-PI reads the initial positions and cell from ``init.xyz``; the
# driver reads the atomic types from the same file (``template=init.xyz``).

atoms = ase.build.bulk("Cu", "fcc", a=1.0, cubic=True).repeat(3)
atoms.numbers[rng.permutation(len(atoms))[: len(atoms) // 4]] = 79
atoms.set_cell(3.71 * atoms.cell.array, scale_atoms=True)
atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
ase.io.write(os.path.join(args.output_dir, "init.xyz"), atoms)
shutil.copyfile(
    os.path.join(HERE, "input.xml"), os.path.join(args.output_dir, "input.xml")
)

# %%
#
# Running i-PI
# ------------
#
# The server and the driver are two programs; ``IPIRun`` (in ``ipi_run.py``)
# starts i-PI, waits for its UNIX socket (created in the output folder), then
# starts the driver with
#
# .. code-block:: bash
#
#     i-pi-py_driver -m metatomic -u -S ./ipi_ -a metatomic \
#         -o template=init.xyz,model=model.pt
#
# The driver takes more options after ``-o``: ``device=cuda``,
# ``check_consistency=True``, ``energy_variant=...``, ``non_conservative=True``,
# ``uncertainty_threshold=...`` or ``energy_ensemble=True``.

start = time.perf_counter()
with IPIRun(args.output_dir, model="model.pt", template="init.xyz") as run:
    run.wait(timeout=600)
print(f"i-PI and its driver finished in {time.perf_counter() - start:.1f} s")

# %%
#
# Comparison with the ASE calculator
# ----------------------------------
#
# i-PI writes the properties of each step to ``md.out`` and the positions and
# cell to ``md.positions_0.extxyz`` (positions with 8 decimals). The energies
# of the ASE calculator on these frames are the same, up to this precision.
#
# i-PI works with the cell as an upper-triangular matrix of column vectors: it
# rotated the structure, which changes neither the energy nor the comparison.

properties = np.loadtxt(os.path.join(args.output_dir, "md.out"))
frames = ase.io.read(os.path.join(args.output_dir, "md.positions_0.extxyz"), ":")
calculator = MetatomicCalculator(model_path, device="cpu")

print(f"{'step':>4}  {'T (K)':>6}  {'E_pot i-PI (eV)':>16}  {'|ΔE| (eV)':>9}")
worst = 0.0
for row, frame in zip(properties, frames):
    step, _, _, temperature, potential, _ = row
    frame.calc = calculator
    error = abs(frame.get_potential_energy() - potential)
    worst = max(worst, error)
    print(f"{step:4.0f}  {temperature:6.1f}  {potential:16.6f}  {error:9.1e}")

conserved = properties[:, 2]
print()
print(f"largest difference with the ASE calculator: {worst:.1e} eV")
print(f"conserved energy: changed by {np.ptp(conserved):.1e} eV over the run")
assert worst < 1e-5, "i-PI and the ASE calculator disagree"
