"""Regenerate ``tests/data/dftd3.json``, the reference D3(BJ) two-body energies,
gradients and virials that the tests of :py:class:`metatomic.torch.dftd3.DFTD3`
compare to, computed by tad-dftd3 (molecules) and by s-dftd3's Python API
``dftd3`` (molecules and periodic systems), with the three-body term off.

    python -m venv /tmp/d3 && /tmp/d3/bin/pip install torch ase tad-dftd3 dftd3
    /tmp/d3/bin/python scripts/dftd3_test_references.py

Everything in the file is in atomic units (bohr, hartree). For each system:
``numbers``, ``positions`` and ``cell`` (bohr), ``pbc``, the ``damping``
parameters, the ``cutoff`` and ``cn_cutoff`` (bohr), and per package:
``energy``, the per-atom ``energies``, the ``gradient`` of the energy with
respect to the positions and, for periodic systems, the ``virial`` (the
derivative of the energy with respect to the strain).
"""

import json
import os

import ase.build
import dftd3
import numpy as np
import tad_dftd3
import torch
from dftd3.interface import DispersionModel, RationalDampingParam
from tad_dftd3.param import get_functional_params

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "..", "tests", "data", "dftd3.json")
BOHR = 0.52917721054482  # angstrom, as in metatomic's unit table
DEFAULT_CUTOFF = 60.0
DEFAULT_CN_CUTOFF = 40.0


def molecule(name):
    atoms = ase.build.molecule(name)
    atoms.rattle(0.05, seed=len(name))
    return atoms


def crystal(*args, strain, **kwargs):
    atoms = ase.build.bulk(*args, **kwargs)
    atoms.set_cell(atoms.cell @ (np.eye(3) + strain), scale_atoms=True)
    atoms.rattle(0.1, seed=len(atoms) + 7)
    return atoms


def slab():
    atoms = ase.build.graphene(vacuum=0.0)
    atoms.cell[2] = 0.0
    atoms.pbc = [True, True, False]
    atoms.rattle(0.05, seed=3)
    return atoms


STRAIN = np.array([[0.01, 0.02, 0.0], [0.0, -0.01, 0.015], [0.0, 0.0, 0.02]])

# name => atoms, functional, cutoff and cn_cutoff in bohr
SYSTEMS = {
    "water": (molecule("H2O"), "pbe", DEFAULT_CUTOFF, DEFAULT_CN_CUTOFF),
    "benzene": (molecule("C6H6"), "pbe0", DEFAULT_CUTOFF, DEFAULT_CN_CUTOFF),
    "ethanol": (molecule("CH3CH2OH"), "b3lyp", DEFAULT_CUTOFF, DEFAULT_CN_CUTOFF),
    "chloromethane": (molecule("CH3Cl"), "r2scan", DEFAULT_CUTOFF, DEFAULT_CN_CUTOFF),
    "silicon": (
        crystal("Si", "diamond", a=5.43, strain=STRAIN),
        "pbe",
        DEFAULT_CUTOFF,
        DEFAULT_CN_CUTOFF,
    ),
    "rocksalt": (
        crystal("NaCl", "rocksalt", a=5.64, strain=STRAIN),
        "pbesol",
        DEFAULT_CUTOFF,
        DEFAULT_CN_CUTOFF,
    ),
    "copper": (
        crystal("Cu", "fcc", a=3.61, cubic=True, strain=STRAIN),
        "tpss",
        30.0,
        20.0,
    ),
    "graphene": (slab(), "pbe", DEFAULT_CUTOFF, DEFAULT_CN_CUTOFF),
}


def damping(functional):
    values = get_functional_params(functional, damping="bj", dtype=torch.float64)
    return {key: float(values[key]) for key in ("s6", "s8", "a1", "a2")}


def tad(numbers, positions, parameters, cutoff, cn_cutoff):
    """Energies and gradient from tad-dftd3 (molecules only)"""
    param = {
        key: torch.tensor(value, dtype=torch.float64)
        for key, value in parameters.items()
    }
    param["s9"] = torch.tensor(0.0, dtype=torch.float64)
    positions = torch.tensor(positions, dtype=torch.float64, requires_grad=True)
    energies = tad_dftd3.dftd3(
        torch.tensor(numbers),
        positions,
        param,
        cutoff=tad_dftd3.Cutoff(cn=cn_cutoff, disp2=cutoff, dtype=torch.float64),
    )
    energies.sum().backward()
    return {
        "energy": float(energies.sum().detach()),
        "energies": energies.tolist(),
        "gradient": positions.grad.tolist(),
    }


def s_dftd3(numbers, positions, cell, pbc, parameters, cutoff, cn_cutoff):
    """Energies, gradient and virial from s-dftd3"""
    periodic = bool(np.any(pbc))
    cell = np.array(cell)
    # s-dftd3 needs a full cell, even along non-periodic directions
    cell[~np.array(pbc)] = 100.0 * np.eye(3)[~np.array(pbc)]
    model = DispersionModel(
        np.array(numbers),
        np.array(positions),
        cell if periodic else None,
        np.array(pbc) if periodic else None,
    )
    model.set_realspace_cutoff(cutoff, DEFAULT_CN_CUTOFF, cn_cutoff)
    param = RationalDampingParam(**parameters, s9=0.0)
    results = model.get_dispersion(param, grad=True)
    pairs = model.get_pairwise_dispersion(param)["additive pairwise energy"]
    result = {
        "energy": float(results["energy"]),
        "energies": pairs.sum(axis=1).tolist(),
        "gradient": results["gradient"].tolist(),
    }
    if periodic:
        result["virial"] = results["virial"].tolist()
    return result


def main():
    systems = {}
    for name, (atoms, functional, cutoff, cn_cutoff) in SYSTEMS.items():
        numbers = atoms.numbers.tolist()
        positions = (atoms.positions / BOHR).tolist()
        cell = (np.array(atoms.cell) / BOHR).tolist()
        pbc = atoms.pbc.tolist()
        parameters = damping(functional)
        references = {
            f"dftd3 {dftd3.__version__}": s_dftd3(
                numbers, positions, cell, pbc, parameters, cutoff, cn_cutoff
            )
        }
        if not any(pbc):
            references[f"tad-dftd3 {tad_dftd3.__version__}"] = tad(
                numbers, positions, parameters, cutoff, cn_cutoff
            )
        systems[name] = {
            "numbers": numbers,
            "positions": positions,
            "cell": cell,
            "pbc": pbc,
            "functional": functional,
            "damping": parameters,
            "cutoff": cutoff,
            "cn_cutoff": cn_cutoff,
            "references": references,
        }

    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w") as file:
        json.dump(systems, file, indent=1)
        file.write("\n")
    print(f"wrote {OUTPUT} ({os.path.getsize(OUTPUT) / 1024:.0f} kB)")  # noqa: T201


if __name__ == "__main__":
    main()
