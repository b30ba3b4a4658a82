import pathlib
import shutil
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from _repository import fake_repository  # noqa: E402
from check_pins import broken_pins, main  # noqa: E402
from distributions import ROOT, find_distributions  # noqa: E402


def test_broken_pins():
    versions = {"metatensor-core": "0.2.0", "metatensor-operations": "0.5.0"}
    assert (
        broken_pins(versions, {"metatensor-operations": ["metatensor-core >=0.2,<0.3"]})
        == []
    )
    assert broken_pins(versions, {"x": ["metatensor-core >=0.3"]}) == [
        "x requires metatensor-core >=0.3 but the repository has metatensor-core 0.2.0"
    ]
    # names are compared in their canonical form
    assert broken_pins(versions, {"x": ["Metatensor_Core >=0.3"]}) == [
        "x requires Metatensor_Core >=0.3 but the repository has metatensor-core 0.2.0"
    ]
    # requirements on distributions outside the repository are not checked
    assert broken_pins(versions, {"x": ["numpy >=99"]}) == []
    # pre-releases of the repository count
    versions = {"metatensor-core": "0.3.0.dev1"}
    assert broken_pins(versions, {"x": ["metatensor-core >=0.3.0.dev0"]}) == []


def test_main_accepts_satisfied_pins(tmp_path, capsys):
    fake_repository(tmp_path)
    assert main(tmp_path) == 0
    assert "core 0.2.1" in capsys.readouterr().out


def test_main_checks_dependency_groups(tmp_path, capsys):
    # a distribution two folders down, pinning in an included dependency group
    fake_repository(tmp_path, core_pin=">=0.3,<0.4")
    assert main(tmp_path) == 1
    assert capsys.readouterr().err == (
        "ase-calculator requires core >=0.3,<0.4 but the repository has core 0.2.1\n"
    )


def test_main_checks_extras_of_the_meta_distribution(tmp_path, capsys):
    fake_repository(tmp_path, extra_pin="<0.2.1")
    assert main(tmp_path) == 1
    assert capsys.readouterr().err == (
        "meta requires core <0.2.1 but the repository has core 0.2.1\n"
    )


def test_repository_pins():
    """The pins of this repository, including the meta-distribution's extras
    and metatomic-torchsim's, admit the versions in the repository"""
    assert main() == 0


def copy_pyprojects(root):
    """Copy what declares the versions and pins of this repository's
    distributions (pyproject.toml, VERSION or the hatch version file) into
    ``root``"""
    for distribution in find_distributions().values():
        folder = root / distribution.folder.relative_to(ROOT)
        pyproject = tomllib.loads((distribution.folder / "pyproject.toml").read_text())
        hatch = pyproject.get("tool", {}).get("hatch", {})
        for name in ["pyproject.toml", "VERSION", hatch.get("version", {}).get("path")]:
            if name is not None and (distribution.folder / name).exists():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(distribution.folder / name, folder / name)


def test_broken_pins_of_this_repository(tmp_path, capsys):
    """A pin of metatomic-torchsim, and one in an extra of the meta-distribution,
    excluding the sibling in the repository fail the check"""
    copy_pyprojects(tmp_path)
    assert main(tmp_path) == 0
    torchsim = tmp_path / "metatomic" / "metatomic-torchsim" / "pyproject.toml"
    text = torchsim.read_text()
    assert '"metatomic-torch >=0.1.19,<0.2"' in text
    torchsim.write_text(
        text.replace("metatomic-torch >=0.1.19,<0.2", "metatomic-torch >=0.2")
    )
    meta = tmp_path / "pyproject.toml"
    text = meta.read_text()
    assert '"metatensor-torch >=0.10.8,<0.11"' in text
    meta.write_text(
        text.replace("metatensor-torch >=0.10.8,<0.11", "metatensor-torch <0.10")
    )
    capsys.readouterr()
    assert main(tmp_path) == 1
    assert capsys.readouterr().err.splitlines() == [
        "metatensor requires metatensor-torch <0.10 but the repository has "
        "metatensor-torch 0.10.8",
        "metatomic-torchsim requires metatomic-torch >=0.2 but the repository has "
        "metatomic-torch 0.1.19",
    ]
