"""The ``metatomic`` command: ``check`` and ``eval``"""

import subprocess
import sys

import ase.build
import ase.io
import numpy as np
import pytest
from _utils import PairPotential, atomistic_model

from metatomic.torch._cli import main

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.[a-z]*` is deprecated")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "model.pt"
    atomistic_model().save(str(path))
    return str(path)


def test_check(exported, capfd):
    assert main(["check", exported]) == 0
    output = capfd.readouterr().out
    assert output.startswith("This is the pair-potential model\n")
    assert "length unit: angstrom" in output
    assert "  - energy: unit 'eV', per atom, explicit gradients: none" in output
    assert (
        "cutoff 3.0 angstrom, half list, strict (requested by PairPotential)" in output
    )
    assert "running with metatomic-torch" in output


def test_check_foreign_file(tmp_path, capfd):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not a model")
    assert main(["check", str(path)]) == 1
    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("metatomic check: error: file at ")
    assert "does not contain a metatomic model" in captured.err

    assert main(["check", str(tmp_path / "missing.pt")]) == 1
    assert "no file at" in capfd.readouterr().err


def test_eval(exported, tmp_path, capfd):
    metatomic_ase = pytest.importorskip("metatomic_ase")
    frames = []
    for seed, pbc in [(1, True), (2, True), (3, False)]:
        atoms = ase.build.bulk("H", "sc", a=2.0, cubic=True).repeat(2)
        atoms.numbers[::2] = 8
        atoms.rattle(0.1, seed=seed)
        atoms.pbc = pbc
        if not pbc:
            atoms.cell[:] = 0.0
        frames.append(atoms)
    structures = tmp_path / "structures.xyz"
    ase.io.write(structures, frames)
    output = tmp_path / "out.xyz"

    assert main(["eval", exported, str(structures), "-o", str(output)]) == 0
    captured = capfd.readouterr()
    assert f"wrote energies and forces of 3 structures to {output}" in captured.out
    assert "evaluating" in captured.err  # the progress bar

    results = ase.io.read(output, ":")
    calculator = metatomic_ase.MetatomicCalculator(exported)
    for atoms, result in zip(frames, results):
        atoms.calc = calculator
        assert result.get_potential_energy() == pytest.approx(
            atoms.get_potential_energy(), abs=1e-7
        )
        # extended XYZ stores 8 decimals
        np.testing.assert_allclose(result.get_forces(), atoms.get_forces(), atol=1e-7)
        if atoms.pbc.all():
            np.testing.assert_allclose(
                result.get_stress(), atoms.get_stress(), atol=1e-7
            )
        else:
            assert "stress" not in result.calc.results


def test_python_m(exported):
    result = subprocess.run(
        [sys.executable, "-m", "metatomic.torch", "check", exported],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("This is the pair-potential model")
    assert PairPotential.__name__ in result.stdout
