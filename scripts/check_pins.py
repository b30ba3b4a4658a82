"""Check that every pin between the distributions of this repository admits the
version of the sibling in the repository.

    python scripts/check_pins.py

Exits with status 1 and lists the broken pins, if any.
"""

import pathlib
import re
import sys

from packaging.requirements import Requirement

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def read_version(folder: pathlib.Path, project: dict) -> str:
    """The version of the distribution in ``folder``: its VERSION file (meson
    builds), its static version, or its hatch version file"""
    if (folder / "VERSION").exists():
        return (folder / "VERSION").read_text().strip()
    if "version" in project.get("project", {}):
        return project["project"]["version"]
    path = project["tool"]["hatch"]["version"]["path"]
    match = re.search(
        r"__version__\s*=\s*[\"']([^\"']+)[\"']", (folder / path).read_text()
    )
    if match is None:
        raise ValueError(f"no __version__ found in {folder / path}")
    return match.group(1)


def broken_pins(versions: dict, requirements: dict) -> list:
    """The pins that do not admit the in-repo version of their target.

    :param versions: distribution name => its version in the repository
    :param requirements: distribution name => list of its requirement strings
    :return: one message for each broken pin

    >>> broken_pins({"a": "0.2.0", "b": "1.0"}, {"b": ["a >=0.2,<0.3", "numpy"]})
    []
    >>> broken_pins({"a": "0.3.0", "b": "1.0"}, {"b": ["a >=0.2,<0.3"]})
    ['b requires a >=0.2,<0.3 but the repository has a 0.3.0']
    """
    messages = []
    for name, strings in requirements.items():
        for string in strings:
            requirement = Requirement(string)
            target = requirement.name
            if target not in versions:
                continue
            version = versions[target]
            if not requirement.specifier.contains(version, prereleases=True):
                messages.append(
                    f"{name} requires {string} but the repository has {target} {version}"
                )
    return messages


def main() -> int:
    versions = {}
    requirements = {}
    paths = sorted(ROOT.glob("*/pyproject.toml")) + sorted(
        ROOT.glob("metatomic/*/pyproject.toml")
    )
    for path in paths + [ROOT / "pyproject.toml"]:
        project = tomllib.loads(path.read_text())
        name = project["project"]["name"]
        versions[name] = read_version(path.parent, project)
        strings = list(project["project"].get("dependencies", []))
        for extra in project["project"].get("optional-dependencies", {}).values():
            strings.extend(extra)
        requirements[name] = strings

    messages = broken_pins(versions, requirements)
    for message in messages:
        print(message, file=sys.stderr)
    if not messages:
        listed = ", ".join(f"{n} {v}" for n, v in sorted(versions.items()))
        print(f"all pins between {listed} are satisfied")
    return 1 if messages else 0


if __name__ == "__main__":
    sys.exit(main())
