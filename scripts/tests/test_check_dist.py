import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from _repository import (  # noqa: E402
    fake_repository,
    write_sdist,
    write_wheel,
)
from check_dist import dist_errors, main  # noqa: E402
from distributions import find_distributions  # noqa: E402

CORE_WHEEL = "cp311-cp311-linux_x86_64"


@pytest.fixture
def repository(tmp_path):
    """The distributions of a fake repository, and a dist/ folder with their
    sdists and wheels, as they should be"""
    fake_repository(tmp_path / "repository")
    dist = tmp_path / "dist"
    dist.mkdir()
    write_sdist(dist, "core", "0.2.1", ["src/core/__init__.py", "src/core/_ext.c"])
    write_wheel(dist, "core", "0.2.1", CORE_WHEEL, ["core/__init__.py", "core/_ext.so"])
    write_sdist(dist, "ase-calculator", "1.0.0", ["src/ase_calc/__init__.py"])
    write_wheel(dist, "ase-calculator", "1.0.0", files=["ase_calc/__init__.py"])
    write_sdist(dist, "meta", "0.1.0")
    write_wheel(dist, "meta", "0.1.0")
    return find_distributions(tmp_path / "repository"), dist


def test_complete(repository):
    distributions, dist = repository
    assert dist_errors(dist, distributions) == []


def test_missing_and_stale_files(repository):
    distributions, dist = repository
    (dist / "meta-0.1.0-py3-none-any.whl").unlink()
    write_sdist(dist, "core", "0.2.0")
    write_wheel(dist, "other", "1.0")
    (dist / "notes.txt").write_text("")
    assert dist_errors(dist, distributions) == [
        "core-0.2.0.tar.gz: the repository has core 0.2.1, remove this file and "
        "build again",
        "notes.txt: neither an sdist nor a wheel",
        "other-1.0-py3-none-any.whl: not a distribution of this repository",
        "expected one wheel of meta 0.1.0, found none",
    ]
    # a second wheel of the same version (two platforms in one dist/)
    write_wheel(dist, "meta", "0.1.0")
    write_wheel(dist, "meta", "0.1.0", "py2.py3-none-any")
    assert dist_errors(dist, distributions)[-2:] == [
        "expected one wheel of meta 0.1.0, found meta-0.1.0-py2.py3-none-any.whl, "
        "meta-0.1.0-py3-none-any.whl",
        "meta-0.1.0-py2.py3-none-any.whl: a pure-Python wheel should be py3-none-any",
    ]


def test_compiled_wheel(repository):
    distributions, dist = repository
    (dist / f"core-0.2.1-{CORE_WHEEL}.whl").unlink()
    write_wheel(dist, "core", "0.2.1", files=["core/__init__.py"])
    assert dist_errors(dist, distributions) == [
        "core-0.2.1-py3-none-any.whl: a compiled distribution needs a platform tag, "
        "got py3-none-any",
        "core-0.2.1-py3-none-any.whl: no compiled extension module in the wheel",
    ]


def test_pure_wheel(repository):
    distributions, dist = repository
    (dist / "ase_calculator-1.0.0-py3-none-any.whl").unlink()
    write_wheel(
        dist,
        "ase-calculator",
        "1.0.0",
        "cp311-cp311-win_amd64",
        ["ase_calc/__init__.py", "ase_calc/_fast.pyd"],
    )
    assert dist_errors(dist, distributions) == [
        "ase_calculator-1.0.0-cp311-cp311-win_amd64.whl: a pure-Python wheel should "
        "be py3-none-any",
        "ase_calculator-1.0.0-cp311-cp311-win_amd64.whl: compiled modules in a "
        "pure-Python wheel",
    ]


def test_wheel_contents_and_metadata(repository):
    distributions, dist = repository
    (dist / "ase_calculator-1.0.0-py3-none-any.whl").unlink()
    write_wheel(dist, "ase-calculator", "1.0.0", metadata=("other", "1.0.1"))
    assert dist_errors(dist, distributions) == [
        "ase_calculator-1.0.0-py3-none-any.whl: its metadata names 'other'",
        "ase_calculator-1.0.0-py3-none-any.whl: its metadata has version 1.0.1",
        "ase_calculator-1.0.0-py3-none-any.whl: ase_calc/__init__.py of the sdist is "
        "not in the wheel",
    ]


def test_main_without_dist(tmp_path, capsys):
    assert main([str(tmp_path / "dist")]) == 1
    assert "run `nox -s build` first" in capsys.readouterr().err
