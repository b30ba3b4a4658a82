"""The distributions of this repository, as their ``pyproject.toml`` declare them:
names, versions, requirements, and what a fresh environment needs to test one.

Used by ``check_pins.py``, ``check_dist.py``, ``check_changelogs.py`` and the
noxfile; needs ``packaging`` (and ``tomli`` before Python 3.11).
"""

import dataclasses
import pathlib
import re

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Distribution:
    """One distribution of the repository.

    :param name: its name, as in ``[project] name``
    :param folder: the folder holding its ``pyproject.toml``
    :param version: its version in the repository
    :param requires_python: its ``requires-python`` specifier (may be empty)
    :param dependencies: its ``[project] dependencies``
    :param extras: its ``[project.optional-dependencies]``, extra => requirements
    :param groups: its ``[dependency-groups]``, group => requirements (with the
        ``include-group`` entries expanded)
    :param compiled: whether its wheel holds compiled code (built with
        meson-python), and so is platform-tagged
    """

    name: str
    folder: pathlib.Path
    version: str
    requires_python: str
    dependencies: list
    extras: dict
    groups: dict
    compiled: bool

    @property
    def requirements(self) -> list:
        """Every requirement string it declares: dependencies, extras, groups"""
        strings = list(self.dependencies)
        for values in [*self.extras.values(), *self.groups.values()]:
            strings.extend(values)
        return strings


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


def _expand_groups(groups: dict) -> dict:
    """``[dependency-groups]`` with their ``{include-group = ...}`` entries
    replaced by the requirements of the included group"""

    def expand(name, seen):
        if name in seen:
            raise ValueError(f"dependency group {name!r} includes itself")
        strings = []
        for entry in groups[name]:
            if isinstance(entry, dict):
                strings.extend(expand(entry["include-group"], seen | {name}))
            else:
                strings.append(entry)
        return strings

    return {name: expand(name, frozenset()) for name in groups}


def read_distribution(folder: pathlib.Path) -> Distribution:
    """The distribution whose ``pyproject.toml`` is in ``folder``"""
    pyproject = tomllib.loads((folder / "pyproject.toml").read_text())
    project = pyproject["project"]
    return Distribution(
        name=project["name"],
        folder=folder,
        version=read_version(folder, pyproject),
        requires_python=project.get("requires-python", ""),
        dependencies=list(project.get("dependencies", [])),
        extras=dict(project.get("optional-dependencies", {})),
        groups=_expand_groups(pyproject.get("dependency-groups", {})),
        compiled=pyproject["build-system"]["build-backend"] == "mesonpy",
    )


def find_distributions(root: pathlib.Path = ROOT) -> dict:
    """Every distribution of the repository at ``root``, name => Distribution:
    the meta-distribution at the root and one per ``pyproject.toml`` one or two
    folders down (``metatensor-core/``, ``metatomic/metatomic-torch/``, ...)"""
    paths = [root / "pyproject.toml"]
    paths += sorted(root.glob("*/pyproject.toml"))
    paths += sorted(root.glob("*/*/pyproject.toml"))
    distributions = {}
    for path in paths:
        if ".nox" in path.parts or "build" in path.parts:
            continue
        distribution = read_distribution(path.parent)
        distributions[distribution.name] = distribution
    return distributions


def requirements_to_test(
    distributions: dict, name: str, group: str = "test", extras: tuple = ()
) -> tuple:
    """What a fresh environment needs to test the distribution ``name`` alone:
    its dependencies, its ``extras`` and its ``group`` dependency group, with the
    dependencies (and requested extras) of every sibling they bring, recursively.

    :return: ``(third_party, siblings)``: the requirement strings on
        distributions from outside the repository, and the requirement strings
        on other distributions of the repository

    >>> a = Distribution("a", None, "1.0", "", ["numpy"], {"x": ["scipy"]}, {}, False)
    >>> b = Distribution("b", None, "1.0", "", ["a[x] >=1"], {}, {"test": ["pytest"]},
    ...                  False)
    >>> requirements_to_test({"a": a, "b": b}, "b")
    (['pytest', 'scipy', 'numpy'], ['a[x]>=1'])
    >>> requirements_to_test({"a": a, "b": b}, "a", extras=("x",))
    (['numpy', 'scipy'], [])
    """
    names = {canonicalize_name(n): n for n in distributions}
    start = distributions[name]
    pending = [*start.groups.get(group, []), *start.dependencies]
    for extra in extras:
        pending.extend(start.extras[extra])
    third_party, siblings, seen = [], [], {canonicalize_name(name)}
    while pending:
        requirement = Requirement(pending.pop(0))
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        key = canonicalize_name(requirement.name)
        if key not in names:
            if str(requirement) not in third_party:
                third_party.append(str(requirement))
            continue
        if key != canonicalize_name(name) and str(requirement) not in siblings:
            siblings.append(str(requirement))
        sibling = distributions[names[key]]
        for extra in sorted(requirement.extras):
            pending.extend(sibling.extras[extra])
        if key not in seen:
            seen.add(key)
            pending.extend(sibling.dependencies)
    return third_party, siblings
