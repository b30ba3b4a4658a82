import pathlib
import re

import tomllib

from metatomic_torchsim._version_check import REQUIREMENTS

PYPROJECT = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"


def _version(text: str) -> tuple:
    """``"0.2"`` => ``(0, 2, 0)``"""
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def test_same_ranges_as_pyproject():
    """The ranges checked at import are those of the dependencies"""
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = {}
    for dependency in dependencies:
        match = re.fullmatch(r"([\w-]+) >=([\d.]+),<([\d.]+)", dependency)
        if match is not None:
            name, minimum, maximum = match.groups()
            pins[name] = (_version(minimum), _version(maximum))

    for name, (_, minimum, maximum) in REQUIREMENTS.items():
        assert pins[name] == (minimum, maximum), name
