"""Time per molecular-dynamics step of an exported model in torch-sim and in
ASE, on about 1,000 atoms (not a test: timings are never asserted).

The same model runs with constant-energy dynamics (velocity Verlet, 2 fs time
step) on the structure of ``engines_ipi.py`` (the Cu/Au alloy, velocities at
300 K):

* ``ase``: ASE's velocity Verlet with :py:class:`metatomic_ase.MetatomicCalculator`
  (energy and forces at every step);
* ``torch-sim``: torch-sim's velocity Verlet with
  :py:class:`metatomic_torchsim.MetatomicModel` (energy, forces and stress at
  every step, as the ASE calculator computes them by default; torch-sim wraps
  the atoms in the cell at every step);
* the same two on a batch of smaller systems (``--batch`` systems of
  ``--batch-repeat`` cells, about as many atoms in all): ASE runs one step of
  each system after the other, torch-sim one step of all of them together.

The first steps are not timed (TorchScript profiles and optimizes the model
during the first calls). The script prints the median time per step (robust to
the other programs of a busy machine) and the mean.

    python metatomic/bench/engines_torchsim.py [--model model.pt]
        [--repeat 5 5 10] [--batch 8] [--batch-repeat 4 4 2] [--steps 20]
        [--warmup 5] [--threads 1]

Without ``--model``, it exports the (untrained) Cu/Au potential of
``examples/metatomic/model.py``, as ``engines_ipi.py`` does. Needs torch-sim
(``pip install torch-sim-atomistic``).
"""

import argparse
import importlib.metadata
import pathlib
import sys
import tempfile
import time
import warnings

import ase.units
import numpy as np
import torch
from ase.md.verlet import VelocityVerlet

from metatomic_ase import MetatomicCalculator

# the model and structure of the i-PI benchmark, for comparable numbers
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from engines_ipi import TIMESTEP, alloy, export_model  # noqa: E402

with warnings.catch_warnings():
    # torch-sim 0.3 imports the deprecated `vesin.torch`
    warnings.simplefilter("ignore", DeprecationWarning)
    import torch_sim

from metatomic_torchsim import MetatomicModel  # noqa: E402


def time_ase(model, atoms_list, warmup, steps):
    """Seconds taken by each step of velocity Verlet in ASE, for all of
    ``atoms_list`` (one after the other)"""
    dynamics = []
    for atoms in atoms_list:
        atoms = atoms.copy()
        atoms.calc = MetatomicCalculator(model, device="cpu")
        dynamics.append(VelocityVerlet(atoms, timestep=TIMESTEP * ase.units.fs))
    for _ in range(warmup):
        for system in dynamics:
            system.run(1)
    times = [time.perf_counter()]
    for _ in range(steps):
        for system in dynamics:
            system.run(1)
        times.append(time.perf_counter())
    return np.diff(times)


def _nve(model, dt, kT):
    """The initialization and step functions of torch-sim's velocity Verlet"""
    if hasattr(torch_sim, "nve_step"):  # torch-sim >= 0.4
        return (
            lambda state: torch_sim.nve_init(state, model, kT=kT),
            lambda state: torch_sim.nve_step(state, model, dt=dt),
        )
    return torch_sim.nve(model=model, dt=dt, kT=kT)


def time_torchsim(model, atoms_list, warmup, steps):
    """Seconds taken by each step of velocity Verlet in torch-sim, for all of
    ``atoms_list`` in one batch"""
    model = MetatomicModel(model, device="cpu")
    state = torch_sim.io.atoms_to_state(atoms_list, model.device, model.dtype)
    dt = torch.tensor(TIMESTEP * ase.units.fs, dtype=model.dtype)
    kT = torch.tensor(300 * ase.units.kB, dtype=model.dtype)
    init, step = _nve(model, dt, kT)
    state = init(state)
    for _ in range(warmup):
        state = step(state)
    times = [time.perf_counter()]
    for _ in range(steps):
        state = step(state)
        times.append(time.perf_counter())
    return np.diff(times)


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
    parser.add_argument(
        "--batch", type=int, default=8, help="number of systems in the batch"
    )
    parser.add_argument(
        "--batch-repeat",
        type=int,
        nargs=3,
        default=[4, 4, 2],
        help="repetitions of the fcc cell for the systems of the batch",
    )
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=5, help="steps not timed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="engines-torchsim-") as work:
        model = args.model
        if model is None:
            model = str(pathlib.Path(work) / "model.pt")
            export_model(model)

        atoms = alloy(args.repeat)
        batch = [alloy(args.batch_repeat) for _ in range(args.batch)]
        runs = {
            "ase": (time_ase, [atoms]),
            "torch-sim": (time_torchsim, [atoms]),
            "ase batch": (time_ase, batch),
            "torch-sim batch": (time_torchsim, batch),
        }
        timings = {}
        for name, (function, atoms_list) in runs.items():
            timings[name] = function(model, atoms_list, args.warmup, args.steps)

    print(
        f"one system of {len(atoms)} atoms, or a batch of {args.batch} systems of "
        f"{len(batch[0])} atoms; {args.steps} steps after {args.warmup} of warm-up, "
        f"{args.threads} torch thread(s), torch-sim "
        f"{importlib.metadata.version('torch-sim-atomistic')}"
    )
    print("milliseconds per step: median (mean), and median relative to ASE")
    for name, seconds in timings.items():
        reference = np.median(timings[name.replace("torch-sim", "ase")])
        median = np.median(seconds)
        print(
            f"{name:>16}  {1000 * median:8.1f} ({1000 * np.mean(seconds):6.1f})  "
            f"{median / reference:5.2f}"
        )


if __name__ == "__main__":
    main()
