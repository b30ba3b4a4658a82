import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from check_pins import broken_pins, read_version  # noqa: E402


def test_broken_pins():
    versions = {"metatensor-core": "0.2.0", "metatensor-operations": "0.5.0"}
    assert (
        broken_pins(versions, {"metatensor-operations": ["metatensor-core >=0.2,<0.3"]})
        == []
    )
    assert broken_pins(versions, {"x": ["metatensor-core >=0.3"]}) == [
        "x requires metatensor-core >=0.3 but the repository has metatensor-core 0.2.0"
    ]
    # requirements on distributions outside the repository are not checked
    assert broken_pins(versions, {"x": ["numpy >=99"]}) == []
    # pre-releases of the repository count
    versions = {"metatensor-core": "0.3.0.dev1"}
    assert broken_pins(versions, {"x": ["metatensor-core >=0.3.0.dev0"]}) == []


def test_read_version(tmp_path):
    (tmp_path / "VERSION").write_text("1.2.3\n")
    assert read_version(tmp_path, {}) == "1.2.3"
    (tmp_path / "VERSION").unlink()
    assert read_version(tmp_path, {"project": {"version": "0.1"}}) == "0.1"
    (tmp_path / "_version.py").write_text('__version__ = "4.5.6"\n')
    project = {"project": {}, "tool": {"hatch": {"version": {"path": "_version.py"}}}}
    assert read_version(tmp_path, project) == "4.5.6"
