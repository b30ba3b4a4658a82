import pathlib
import sys

import pytest
from packaging.requirements import Requirement

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from _repository import fake_repository, write_distribution  # noqa: E402
from distributions import (  # noqa: E402
    find_distributions,
    read_version,
    requirements_to_test,
)


def test_read_version(tmp_path):
    (tmp_path / "VERSION").write_text("1.2.3\n")
    assert read_version(tmp_path, {}) == "1.2.3"
    (tmp_path / "VERSION").unlink()
    assert read_version(tmp_path, {"project": {"version": "0.1"}}) == "0.1"
    (tmp_path / "_version.py").write_text('__version__ = "4.5.6"\n')
    project = {"project": {}, "tool": {"hatch": {"version": {"path": "_version.py"}}}}
    assert read_version(tmp_path, project) == "4.5.6"
    (tmp_path / "_version.py").write_text("VERSION = 1\n")
    with pytest.raises(ValueError, match="no __version__ found in"):
        read_version(tmp_path, project)


def test_find_distributions(tmp_path):
    fake_repository(tmp_path)
    distributions = find_distributions(tmp_path)
    assert sorted(distributions) == ["ase-calculator", "core", "meta"]
    core = distributions["core"]
    assert (core.version, core.compiled, core.folder) == (
        "0.2.1",
        True,
        tmp_path / "core",
    )
    ase = distributions["ase-calculator"]
    assert not ase.compiled
    assert ase.folder == tmp_path / "metatomic" / "ase"
    # included groups are expanded
    assert ase.groups["test"] == ["pytest", "core >=0.2,<0.3"]
    assert ase.requirements == ["numpy", "pytest", "pytest", "core >=0.2,<0.3"]
    assert distributions["meta"].extras == {"core": ["core >=0.2,<0.3"]}


def test_recursive_group(tmp_path):
    write_distribution(
        tmp_path, "a", "1.0", '[dependency-groups]\ntest = [{include-group = "test"}]'
    )
    with pytest.raises(ValueError, match="dependency group 'test' includes itself"):
        find_distributions(tmp_path)


def test_requirements_to_test(tmp_path):
    fake_repository(tmp_path)
    write_distribution(
        tmp_path / "learn",
        "learn",
        "0.6.0",
        """
        dependencies = ["core >=0.2", "numpy; python_version < '3'"]
        [project.optional-dependencies]
        torch = ["torch"]
        [dependency-groups]
        test = ["pytest", "ase-calculator"]
        """,
    )
    distributions = find_distributions(tmp_path)
    assert requirements_to_test(distributions, "learn") == (
        # numpy from ase-calculator, not with the marker that is false; the
        # dependency groups of the siblings are not needed
        ["pytest", "numpy"],
        ["ase-calculator", "core>=0.2"],
    )
    assert requirements_to_test(distributions, "learn", extras=("torch",))[0] == [
        "pytest",
        "torch",
        "numpy",
    ]
    # the meta-distribution with its extra: the siblings it brings
    assert requirements_to_test(distributions, "meta", extras=("core",)) == (
        [],
        ["core<0.3,>=0.2"],
    )


def test_repository_distributions():
    """Every distribution of the repository is found, with its version"""
    distributions = find_distributions()
    assert {"metatensor", "metatensor-core", "metatomic-torchsim"} <= set(distributions)
    assert distributions["metatensor-core"].compiled
    assert not distributions["metatomic-torchsim"].compiled
    # metatensor-core and metatensor-operations are tested with numpy only
    for name in ["metatensor-core", "metatensor-operations"]:
        third_party, _ = requirements_to_test(distributions, name)
        assert "torch" not in {Requirement(string).name for string in third_party}
