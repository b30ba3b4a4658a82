"""Time per molecular-dynamics step of an exported model in i-PI and in ASE, on
about 1,000 atoms (not a test: timings are never asserted).

Four ways of running the same model on the same structure:

* ``ase``: ASE's velocity Verlet with :py:class:`metatomic_ase.MetatomicCalculator`
  (energy, forces and stress at every step: the calculator computes the stress
  with the forces, by default);
* ``i-pi socket``: ``i-pi`` and its metatomic driver (``i-pi-py_driver -m
  metatomic``) as two processes talking through a UNIX socket, as users run it
  (energy, forces and virial at every step);
* ``i-pi direct``: i-PI calling the same driver in its own process
  (``<ffdirect>``), without the socket;
* ``driver alone``: the driver's evaluation (energy, forces and virial), called
  in a loop from Python, without i-PI: the cost of the model for i-PI.

The dynamics run at constant energy with a 2 fs time step, from the same
structure with velocities drawn at 300 K; the first steps are not timed (TorchScript profiles
and optimizes the model during the first calls). i-PI steps are timed by
watching the lines of its properties file appear. The script prints the median
time per step (robust to the other programs of a busy machine) and the mean.

    python metatomic/bench/engines_ipi.py [--model model.pt] [--repeat 5 5 10]
        [--steps 20] [--warmup 5] [--threads 1]

Without ``--model``, it exports the (untrained) Cu/Au potential of
``examples/metatomic/model.py``: radial features with a 5 Å cutoff on a full
neighbor list and one small neural network per atomic type. Its cost does not
depend on its weights. Needs i-PI (``pip install ipi``).
"""

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import ase.build
import ase.io
import ase.units
import numpy as np
import torch
from ase.md.verlet import VelocityVerlet

from metatomic_ase import MetatomicCalculator

try:  # ASE >= 3.29
    from ase.md.velocitydistribution import thermalize_momenta
except ImportError:
    from ase.md.velocitydistribution import (
        MaxwellBoltzmannDistribution as thermalize_momenta,
    )

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "metatomic"
# the model of the examples, and the i-PI input and launcher of the i-PI example
sys.path.insert(0, str(EXAMPLES))
sys.path.insert(0, str(EXAMPLES / "ipi"))
from ipi_run import IPIRun, ipi_script  # noqa: E402

TIMESTEP = 2.0  # fs
TIMEOUT = 600  # s, for each i-PI run


def export_model(path):
    """Export the untrained Cu/Au potential of the examples to ``path``"""
    from model import export_untrained

    export_untrained(path)


def alloy(repeat):
    """fcc Cu/Au alloy (25% gold), rattled, with velocities at 300 K"""
    rng = np.random.default_rng(0)
    atoms = ase.build.bulk("Cu", "fcc", a=1.0, cubic=True).repeat(repeat)
    atoms.numbers[rng.permutation(len(atoms))[: len(atoms) // 4]] = 79
    atoms.set_cell(3.71 * atoms.cell.array, scale_atoms=True)
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    thermalize_momenta(atoms, temperature_K=300, rng=rng)
    return atoms


def time_ase(model, atoms, warmup, steps):
    """Seconds taken by each step of velocity Verlet in ASE"""
    atoms = atoms.copy()
    atoms.calc = MetatomicCalculator(model, device="cpu")
    dynamics = VelocityVerlet(atoms, timestep=TIMESTEP * ase.units.fs)
    dynamics.run(warmup)
    times = [time.perf_counter()]
    for _ in range(steps):
        dynamics.run(1)
        times.append(time.perf_counter())
    return np.diff(times)


def time_driver(model, template, atoms, warmup, steps):
    """Seconds taken by each evaluation of i-PI's metatomic driver, without
    i-PI"""
    from ipi.pes.metatomic import MetatomicDriver
    from ipi.utils.units import unit_to_internal

    driver = MetatomicDriver(str(template), str(model))
    cell = unit_to_internal("length", "angstrom", atoms.cell.array.T.copy())
    positions = unit_to_internal("length", "angstrom", atoms.positions.copy())
    for _ in range(warmup):
        driver(cell, positions)
    times = [time.perf_counter()]
    for _ in range(steps):
        driver(cell, positions)
        times.append(time.perf_counter())
    return np.diff(times)


def ipi_input(folder, steps, direct):
    """Write the i-PI input of the example to ``folder``, running ``steps``
    steps without trajectory output, with the driver in i-PI's process if
    ``direct`` (the model and template are ``model.pt`` and ``init.xyz``)"""
    tree = ET.parse(EXAMPLES / "ipi" / "input.xml")
    root = tree.getroot()
    root.find("total_steps").text = f" {steps} "
    root.find("system/motion/dynamics/timestep").text = f" {TIMESTEP} "
    output = root.find("output")
    for trajectory in output.findall("trajectory"):
        output.remove(trajectory)
    if direct:
        socket = root.find("ffsocket")
        root.remove(socket)
        forcefield = ET.SubElement(root, "ffdirect", name=socket.get("name"))
        forcefield.set("pbc", "false")
        ET.SubElement(forcefield, "pes").text = "metatomic"
        parameters = ET.SubElement(forcefield, "parameters")
        parameters.text = "{template: init.xyz, model: model.pt}"
    tree.write(folder / "input.xml")


def watch_steps(path, first, last, running):
    """Seconds taken by each step from ``first`` to ``last``, from the times the
    lines of the properties file ``path`` appear (step 0 is the first line),
    while ``running()``"""
    times = {}
    deadline = time.monotonic() + TIMEOUT
    while last not in times:
        lines = 0
        if path.exists():
            with open(path) as file:
                lines = sum(1 for line in file if not line.startswith("#"))
        now = time.perf_counter()
        for step in range(first, min(lines, last + 1)):
            times.setdefault(step, now)
        if last not in times and (not running() or time.monotonic() > deadline):
            raise RuntimeError(f"i-PI stopped after {lines} steps, see {path.parent}")
        time.sleep(0.002)
    return np.diff([times[step] for step in range(first, last + 1)])


def time_ipi_socket(folder, warmup, steps):
    """Seconds taken by each step of i-PI with its driver through a UNIX
    socket"""
    ipi_input(folder, warmup + steps, direct=False)
    with IPIRun(folder, model="model.pt", template="init.xyz") as run:
        seconds = watch_steps(folder / "md.out", warmup, warmup + steps, run.running)
        run.wait(timeout=TIMEOUT)
    return seconds


def time_ipi_direct(folder, warmup, steps):
    """Seconds taken by each step of i-PI calling the driver in its own
    process"""
    ipi_input(folder, warmup + steps, direct=True)
    with open(folder / "i-pi.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, ipi_script("i-pi"), "input.xml"],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        seconds = watch_steps(
            folder / "md.out", warmup, warmup + steps, lambda: process.poll() is None
        )
        process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="an exported model")
    parser.add_argument(
        "--repeat",
        type=int,
        nargs=3,
        default=[5, 5, 10],
        help="repetitions of the 4-atom fcc cell (default: 1,000 atoms)",
    )
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=5, help="steps not timed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()

    # torch reads OMP_NUM_THREADS when i-PI's driver starts
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    torch.set_num_threads(args.threads)

    work = pathlib.Path(tempfile.mkdtemp(prefix="engines-ipi-"))
    try:
        if args.model is None:
            export_model(work / "model.pt")
        else:
            shutil.copyfile(args.model, work / "model.pt")
        atoms = alloy(args.repeat)
        ase.io.write(work / "init.xyz", atoms)

        timings = {}
        timings["ase"] = time_ase(
            str(work / "model.pt"), atoms, args.warmup, args.steps
        )
        for name, function in [
            ("i-pi socket", time_ipi_socket),
            ("i-pi direct", time_ipi_direct),
        ]:
            folder = work / name.replace(" ", "-")
            folder.mkdir()
            for file in ("model.pt", "init.xyz"):
                shutil.copyfile(work / file, folder / file)
            timings[name] = function(folder, args.warmup, args.steps)
        timings["driver alone"] = time_driver(
            work / "model.pt", work / "init.xyz", atoms, args.warmup, args.steps
        )
    finally:
        shutil.rmtree(work)

    print(
        f"{len(atoms)} atoms, {args.steps} steps after {args.warmup} of warm-up, "
        f"{args.threads} torch thread(s)"
    )
    print("milliseconds per step: median (mean), and median relative to ASE")
    reference = np.median(timings["ase"])
    for name, seconds in timings.items():
        median = np.median(seconds)
        print(
            f"{name:>14}  {1000 * median:8.1f} ({1000 * np.mean(seconds):6.1f})  "
            f"{median / reference:5.2f}"
        )


if __name__ == "__main__":
    main()
