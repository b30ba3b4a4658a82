"""i-PI runs our exported models unchanged: the metatomic driver of i-PI
(``i-pi-py_driver -m metatomic``, written against upstream's public API of
``metatomic.torch``, ``metatensor.torch`` and ``vesin.metatomic``) gives the same
energies, forces and virials as :py:class:`metatomic_ase.MetatomicCalculator`,
called directly and in molecular dynamics driven by an i-PI server through a
UNIX socket.

The driver works in atomic units, with the cell vectors as the columns of the
cell matrix; the virial it returns is ``-stress * volume``.
"""

import json
import os
import subprocess
import sys
import sysconfig
import time
from typing import Dict, List, Optional

import ase
import ase.io
import numpy as np
import pytest
import torch
from _utils import (
    PairPotential,
    capabilities,
    cu_atoms,
    feature_model,
    multi_head_model,
    pair_model,
)

from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import AtomisticModel, ModelMetadata, ModelOutput, System
from metatomic_ase import MetatomicCalculator

pytest.importorskip("ipi", reason="the i-PI tests need i-PI: pip install ipi")

from ipi.pes.metatomic import MetatomicDriver  # noqa: E402
from ipi.utils.units import unit_to_internal, unit_to_user  # noqa: E402

pytestmark = [
    # loading a model with torch.jit.load
    pytest.mark.filterwarnings("ignore:`torch.jit.[a-z]*` is deprecated"),
    # the driver requests its outputs with the deprecated `quantity` and
    # `per_atom` arguments, and the old `non_conservative_forces` name
    pytest.mark.filterwarnings("ignore:ModelOutput.quantity is deprecated"),
    pytest.mark.filterwarnings("ignore:ModelOutput.per_atom is deprecated"),
    pytest.mark.filterwarnings(
        "ignore:the output name 'non_conservative_forces.*' is deprecated"
    ),
]

# the longest a server and driver run may take, in seconds (the run of
# `test_molecular_dynamics` takes about 10 s)
RUN_TIMEOUT = 120


def triclinic_cu(seed=0):
    """32 rattled copper atoms in a sheared cell (the cell matrix is not
    triangular: i-PI rotates it to its upper-triangular convention)"""
    atoms = cu_atoms(seed=seed)
    strain = np.array([[1.0, 0.02, -0.03], [0.04, 0.98, 0.01], [0.02, -0.05, 1.03]])
    atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
    return atoms


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder holding the exported models and the driver's template"""
    path = tmp_path_factory.mktemp("ipi")
    pair_model().save(str(path / "pair.pt"))
    multi_head_model().save(str(path / "multi-head.pt"))
    ensemble_model().save(str(path / "ensemble.pt"))
    ase.io.write(path / "template.xyz", triclinic_cu())
    return path


def ipi_driver(folder, model: str, **options) -> MetatomicDriver:
    """i-PI's metatomic driver for the ``model`` and ``template.xyz`` of
    ``folder``, with the driver's ``options``"""
    return MetatomicDriver(str(folder / "template.xyz"), str(folder / model), **options)


def driver_results(driver: MetatomicDriver, atoms):
    """Energy (eV), forces (eV/Å), virial (eV) and extras of ``atoms`` computed
    by the i-PI ``driver``"""
    cell = unit_to_internal("length", "angstrom", atoms.cell.array.T.copy())
    positions = unit_to_internal("length", "angstrom", atoms.positions.copy())
    return _to_ase_units(driver(cell, positions))


def _to_ase_units(result):
    energy, forces, virial, extras = result
    return (
        unit_to_user("energy", "electronvolt", energy),
        unit_to_user("force", "ev/ang", forces),
        unit_to_user("energy", "electronvolt", virial),
        json.loads(extras),
    )


def calculator_results(calculator: MetatomicCalculator, atoms):
    """Energy (eV), forces (eV/Å) and virial (eV) of ``atoms`` from ``calculator``"""
    atoms = atoms.copy()
    atoms.calc = calculator
    virial = -atoms.get_stress(voigt=False) * atoms.get_volume()
    return atoms.get_potential_energy(), atoms.get_forces(), virial


# ==================================================================================== #
#                        the driver, called directly                                   #
# ==================================================================================== #


@pytest.mark.parametrize("check_consistency", [False, True])
def test_energy_forces_virial(workdir, check_consistency):
    ipi = ipi_driver(workdir, "pair.pt", check_consistency=check_consistency)
    atoms = triclinic_cu(seed=1)
    energy, forces, virial, extras = driver_results(ipi, atoms)
    expected = calculator_results(MetatomicCalculator(str(workdir / "pair.pt")), atoms)

    np.testing.assert_allclose(energy, expected[0], rtol=1e-12)
    np.testing.assert_allclose(forces, expected[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(virial, expected[2], rtol=1e-10, atol=1e-12)
    assert extras == {}


def test_batch(workdir):
    """i-PI sends several structures at once with `batch_size` > 1"""
    ipi = ipi_driver(workdir, "pair.pt")
    frames = [triclinic_cu(seed=seed) for seed in (2, 3, 4)]
    results = ipi(
        [unit_to_internal("length", "angstrom", a.cell.array.T.copy()) for a in frames],
        [unit_to_internal("length", "angstrom", a.positions.copy()) for a in frames],
    )
    assert len(results) == 3
    calculator = MetatomicCalculator(str(workdir / "pair.pt"))
    for atoms, result in zip(frames, results):
        energy, forces, virial, _ = _to_ase_units(result)
        expected = calculator_results(calculator, atoms)
        np.testing.assert_allclose(energy, expected[0], rtol=1e-12)
        np.testing.assert_allclose(forces, expected[1], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(virial, expected[2], rtol=1e-10, atol=1e-12)


def test_energy_variant(workdir):
    atoms = triclinic_cu(seed=1)
    base = driver_results(ipi_driver(workdir, "multi-head.pt"), atoms)[0]
    energy = driver_results(
        ipi_driver(workdir, "multi-head.pt", energy_variant="double"), atoms
    )[0]
    calculator = MetatomicCalculator(
        str(workdir / "multi-head.pt"), variants={"energy": "double"}
    )
    np.testing.assert_allclose(energy, calculator_results(calculator, atoms)[0])
    np.testing.assert_allclose(energy, 2 * base)


def test_non_conservative(workdir):
    """Forces and stress predicted directly by the model (its net force
    removed), read from the `non_conservative_force` and
    `non_conservative_stress` outputs"""
    atoms = triclinic_cu(seed=1)
    ipi = ipi_driver(workdir, "multi-head.pt", non_conservative=True)
    energy, forces, virial, _ = driver_results(ipi, atoms)

    calculator = MetatomicCalculator(
        str(workdir / "multi-head.pt"), non_conservative=True
    )
    atoms.calc = calculator
    np.testing.assert_allclose(energy, atoms.get_potential_energy())
    # the model predicts the positions as forces
    expected = atoms.positions - atoms.positions.mean(axis=0)
    np.testing.assert_allclose(forces, expected, atol=1e-12)
    np.testing.assert_allclose(forces, atoms.get_forces(), atol=1e-12)
    # the model predicts a non-symmetric stress, which the driver symmetrizes
    stress = np.arange(9.0).reshape(3, 3)
    expected = -0.5 * (stress + stress.T) * atoms.get_volume()
    np.testing.assert_allclose(virial, expected, rtol=1e-12)


def test_uncertainty(workdir):
    """Per-atom energy uncertainties are returned in the extras (in atomic
    units) when the driver has an `uncertainty_threshold`"""
    atoms = triclinic_cu(seed=1)
    ipi = ipi_driver(workdir, "multi-head.pt", uncertainty_threshold=0.1)
    *_, extras = driver_results(ipi, atoms)
    uncertainty = unit_to_user(
        "energy", "electronvolt", np.array(extras["energy_uncertainty"])
    )
    np.testing.assert_allclose(uncertainty, np.full(len(atoms), 0.01))


class EnsembleModel(torch.nn.Module):
    """The pair potential, with an `energy_ensemble` of three members: the
    energy times 0.9, 1.0 and 1.2"""

    def __init__(self):
        super().__init__()
        self.pair = PairPotential()
        self.register_buffer(
            "factors", torch.tensor([[0.9, 1.0, 1.2]], dtype=torch.float64)
        )

    def requested_neighbor_lists(self):
        return self.pair.requested_neighbor_lists()

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        request = {"energy": ModelOutput(unit="eV", sample_kind="system")}
        energy = self.pair(systems, request, selected_atoms)["energy"]
        results: Dict[str, TensorMap] = {}
        if "energy" in outputs:
            results["energy"] = energy
        if "energy_ensemble" in outputs:
            block = energy.block()
            members = Labels(
                "energy", torch.arange(3, device=block.values.device).reshape(-1, 1)
            )
            ensemble = TensorBlock(
                block.values * self.factors, block.samples, [], members
            )
            results["energy_ensemble"] = TensorMap(energy.keys, [ensemble])
        return results


def ensemble_model() -> AtomisticModel:
    outputs = {
        "energy": ModelOutput(unit="eV", sample_kind="system"),
        "energy_ensemble": ModelOutput(unit="eV", sample_kind="system"),
    }
    return AtomisticModel(
        EnsembleModel().eval(), ModelMetadata(name="ensemble"), capabilities(outputs)
    )


def test_ensemble(workdir):
    """The committee energies, and their forces and virials (computed by the
    driver by differentiating each member through new systems sharing the
    neighbor lists)"""
    atoms = triclinic_cu(seed=1)
    ipi = ipi_driver(
        workdir,
        "ensemble.pt",
        check_consistency=True,
        energy_ensemble=True,
        force_virial_ensemble=True,
    )
    energy, forces, virial, extras = driver_results(ipi, atoms)
    energy_ref, forces_ref, virial_ref = calculator_results(
        MetatomicCalculator(str(workdir / "ensemble.pt")), atoms
    )
    np.testing.assert_allclose(energy, energy_ref, rtol=1e-12)

    factors = np.array([0.9, 1.0, 1.2])
    committee = unit_to_user(
        "energy", "electronvolt", np.array(extras["committee_pot"])
    )
    np.testing.assert_allclose(committee, factors * energy_ref, rtol=1e-12)

    committee = unit_to_user(
        "force", "ev/ang", np.array(extras["committee_force"]).reshape(3, -1, 3)
    )
    expected = factors.reshape(3, 1, 1) * forces_ref
    np.testing.assert_allclose(committee, expected, rtol=1e-10, atol=1e-12)

    committee = unit_to_user(
        "energy", "electronvolt", np.array(extras["committee_virial"]).reshape(3, 3, 3)
    )
    expected = factors.reshape(3, 1, 1) * virial_ref
    np.testing.assert_allclose(committee, expected, rtol=1e-10, atol=1e-12)


def test_errors(workdir, tmp_path):
    """Mistakes reach the user as the errors of the model"""
    atoms = triclinic_cu(seed=1)
    template = str(workdir / "template.xyz")
    feature_model().save(str(tmp_path / "features.pt"))
    ipi = MetatomicDriver(
        template, str(tmp_path / "features.pt"), check_consistency=True
    )
    message = "this model can not compute the requested output 'energy'"
    with pytest.raises(ValueError, match=message):
        driver_results(ipi, atoms)

    # the atomic types come from the template
    ase.io.write(tmp_path / "hydrogen.xyz", ase.Atoms("H32", cell=atoms.cell))
    ipi = MetatomicDriver(str(tmp_path / "hydrogen.xyz"), str(workdir / "pair.pt"))
    message = r"can not handle the atomic type\(s\) \[1\] found in system 0"
    with pytest.raises(ValueError, match=message):
        driver_results(ipi, atoms)


# ==================================================================================== #
#                  molecular dynamics with the server and the driver                   #
# ==================================================================================== #

STEPS = 5

IPI_INPUT = """\
<simulation verbosity='low' floatformat='%.16e' safe_stride='{steps}'>
  <output prefix='md'>
    <properties stride='1' filename='out'>
      [ step, conserved{{electronvolt}}, potential{{electronvolt}},
        virial_md{{ev/ang3}} ]
    </properties>
    <trajectory filename='positions' stride='1' format='ase' cell_units='ase'>
      positions{{ase}}
    </trajectory>
    <trajectory filename='forces' stride='1' format='ase' cell_units='ase'>
      forces{{ase}}
    </trajectory>
  </output>
  <total_steps> {steps} </total_steps>
  <prng><seed> 12345 </seed></prng>
  <ffsocket name='metatomic' mode='unix' pbc='false'>
    <address> metatomic </address>
  </ffsocket>
  <system>
    <initialize nbeads='1'>
      <file mode='ase' units='angstrom'> template.xyz </file>
      <velocities mode='thermal' units='kelvin'> 300 </velocities>
    </initialize>
    <forces><force forcefield='metatomic'/></forces>
    <motion mode='dynamics'>
      <dynamics mode='nve'><timestep units='femtosecond'> 1.0 </timestep></dynamics>
    </motion>
    <ensemble><temperature units='kelvin'> 300 </temperature></ensemble>
  </system>
</simulation>
"""


def _script(name: str) -> str:
    """The path of the command-line script ``name`` installed with ipi, next to
    the current Python"""
    path = os.path.join(sysconfig.get_path("scripts"), name)
    assert os.path.exists(path), f"the i-PI script {name!r} is not in {path}"
    return path


def run_ipi(folder, driver_options: str):
    """Run i-PI and its metatomic driver in ``folder`` (holding ``input.xml``,
    the driver's template and the model), connected through a UNIX socket in
    ``folder``; kill both if they do not finish within :py:data:`RUN_TIMEOUT`"""
    # relative to `folder`, the working directory of both: short enough for a
    # UNIX socket path (~100 characters at most) wherever `folder` is
    prefix = "./ipi_"
    socket = folder / (prefix + "metatomic")
    deadline = time.monotonic() + RUN_TIMEOUT

    def logs():
        return "\n".join(
            f"--- {name} ---\n" + (folder / f"{name}.log").read_text()[-3000:]
            for name in ("i-pi", "driver")
            if (folder / f"{name}.log").exists()
        )

    # one thread is faster for 32 atoms, and other tests may run in parallel
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    processes = []

    def start(name, script, *arguments):
        with open(folder / f"{name}.log", "w") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, _script(script), *arguments],
                    cwd=folder,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )

    try:
        start("i-pi", "i-pi", "input.xml", "-S", prefix)
        # the driver can only connect once the server listens
        while not socket.exists():
            assert processes[0].poll() is None, f"i-PI failed:\n{logs()}"
            assert time.monotonic() < deadline, f"no socket:\n{logs()}"
            time.sleep(0.05)
        options = ["-u", "-S", prefix, "-a", "metatomic", "-o", driver_options]
        start("driver", "i-pi-py_driver", "-m", "metatomic", *options)
        # fail as soon as one of them fails (the other would wait forever)
        while any(process.poll() is None for process in processes):
            status = [process.poll() for process in processes]
            assert all(code in (None, 0) for code in status), f"failed:\n{logs()}"
            assert time.monotonic() < deadline, f"i-PI is too slow:\n{logs()}"
            time.sleep(0.05)
        assert all(process.returncode == 0 for process in processes), logs()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_molecular_dynamics(tmp_path, workdir):
    """A few NVE steps of 32 copper atoms in a triclinic cell: at each step, the
    energy, forces and virial of i-PI are those of MetatomicCalculator for the
    positions and cell of the trajectory"""
    for name in ("pair.pt", "template.xyz"):
        (tmp_path / name).write_bytes((workdir / name).read_bytes())
    (tmp_path / "input.xml").write_text(IPI_INPUT.format(steps=STEPS))
    run_ipi(tmp_path, "template=template.xyz,model=pair.pt,check_consistency=True")

    positions = ase.io.read(tmp_path / "md.positions_0.extxyz", ":")
    forces = ase.io.read(tmp_path / "md.forces_0.extxyz", ":")
    # step, conserved energy, potential energy, virial / volume (xx yy zz xy xz yz)
    properties = np.loadtxt(tmp_path / "md.out").reshape(-1, 9)
    assert len(positions) == len(forces) == len(properties) == STEPS + 1
    np.testing.assert_equal(properties[:, 0], np.arange(STEPS + 1))
    # i-PI rotated the cell to make it upper triangular
    assert np.allclose(np.triu(positions[0].cell.array.T), positions[0].cell.array.T)

    calculator = MetatomicCalculator(str(tmp_path / "pair.pt"))
    for atoms, frame_forces, row in zip(positions, forces, properties):
        energy, expected_forces, virial = calculator_results(calculator, atoms)
        # the trajectory stores the positions with 8 decimals
        np.testing.assert_allclose(row[2], energy, atol=1e-5)
        np.testing.assert_allclose(
            frame_forces.get_forces(), expected_forces, atol=1e-5
        )
        i, j = [0, 1, 2, 0, 0, 1], [0, 1, 2, 1, 2, 2]
        np.testing.assert_allclose(
            row[3:], virial[i, j] / atoms.get_volume(), atol=1e-6
        )

    # the atoms moved, and the total energy is conserved
    assert np.abs(positions[-1].positions - positions[0].positions).max() > 1e-3
    assert np.ptp(properties[:, 1]) < 1e-2 * np.ptp(properties[:, 2])
