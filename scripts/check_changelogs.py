"""Check that every distribution has a CHANGELOG.md, and that all of them follow
one format, Keep a Changelog 1.1.0:

    # Changelog: <distribution name>

    <introduction, linking to https://keepachangelog.com/en/1.1.0/>

    ## [Unreleased]            (optional, first)

    ### Added                  (then Changed, Deprecated, Removed, Fixed, Security:
                                each at most once, in this order, never empty)

    ## [1.2.0] - 2026-01-31    (releases, newest first, none newer than the
                                version in the repository)

A pin on a sibling quoted in the unreleased section (`metatensor-core >=0.2,<0.3`)
must be one the distribution declares.

    python scripts/check_changelogs.py

Exits with status 1 and lists the problems, if any.
"""

import datetime
import os
import pathlib
import re
import sys

from distributions import ROOT, find_distributions
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

KEEP_A_CHANGELOG = "https://keepachangelog.com/en/1.1.0/"
SUBSECTIONS = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]
UNRELEASED = "## [Unreleased]"
RELEASE = re.compile(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\d{4}-\d{2}-\d{2})$")
QUOTED = re.compile(r"`([^`]+)`")


def _release_errors(line: str, previous, version: str) -> tuple:
    """Check the release heading ``line``; return ``(errors, its version)``"""
    match = RELEASE.match(line)
    if match is None:
        expected = f"'{UNRELEASED}' or '## [X.Y.Z] - YYYY-MM-DD'"
        return [f"expected {expected}, got {line!r}"], previous
    try:
        released = Version(match["version"])
    except InvalidVersion:
        return [f"{match['version']!r} is not a version"], previous
    errors = []
    try:
        datetime.date.fromisoformat(match["date"])
    except ValueError:
        errors.append(f"{match['date']!r} is not a date")
    if previous is not None and released >= previous:
        errors.append(f"release {released} should come before release {previous}")
    if released > Version(version):
        errors.append(
            f"release {released} is newer than the version in the repository, {version}"
        )
    return errors, released


def _pin_errors(line: str, siblings: set, declared: set) -> list:
    """The pins on siblings quoted in ``line`` that are not in ``declared``"""
    errors = []
    for quoted in QUOTED.findall(line):
        try:
            requirement = Requirement(quoted)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) in siblings and requirement.specifier:
            if str(requirement) not in declared:
                errors.append(
                    f"`{quoted}` is not a requirement of this distribution "
                    "(see its pyproject.toml)"
                )
    return errors


def changelog_errors(
    text: str, name: str, version: str, requirements=(), siblings=()
) -> list:
    """The problems of the changelog ``text`` of the distribution ``name``.

    :param version: the version of the distribution in the repository
    :param requirements: its requirement strings (pins quoted in the unreleased
        section must be among them)
    :param siblings: the names of the distributions of the repository
    :return: one message per problem, starting with its line number

    >>> changelog_errors("# Changelog: a\\n\\n## [Unreleased]\\n\\n### Added\\n", "a", "1.0")
    ['1: the introduction should link to https://keepachangelog.com/en/1.1.0/', \
'5: section `### Added` is empty']
    """
    lines = text.splitlines()
    errors = []
    if not lines or lines[0] != f"# Changelog: {name}":
        first = lines[0] if lines else ""
        errors.append(f"1: expected '# Changelog: {name}', got {first!r}")

    headings = [i for i, line in enumerate(lines) if line.startswith("## ")]
    intro_end = headings[0] if headings else len(lines)
    if KEEP_A_CHANGELOG not in "\n".join(lines[:intro_end]):
        errors.append(f"1: the introduction should link to {KEEP_A_CHANGELOG}")

    siblings = {canonicalize_name(s) for s in siblings}
    declared = {str(Requirement(r)) for r in requirements}
    previous = None
    unreleased = False
    subsections = []
    # the line of the last `###` heading, while its section has no text
    empty = None
    # whether text outside of a `###` section was reported, in this `##` section
    outside = False
    for number, line in enumerate(lines[intro_end:], start=intro_end + 1):
        if line.startswith("#") and empty is not None:
            errors.append(f"{empty}: section `{lines[empty - 1]}` is empty")
            empty = None
        if line.startswith("### "):
            title = line[4:]
            if title not in SUBSECTIONS:
                errors.append(f"{number}: expected one of {SUBSECTIONS}, got {title!r}")
                continue
            if any(
                SUBSECTIONS.index(s[4:]) >= SUBSECTIONS.index(title)
                for s in subsections
            ):
                errors.append(
                    f"{number}: `{line}` should come before `{subsections[-1]}`, "
                    f"at most once (order: {', '.join(SUBSECTIONS)})"
                )
            subsections.append(line)
            empty = number
        elif line.startswith("## "):
            subsections = []
            outside = False
            unreleased = line == UNRELEASED
            if unreleased:
                if number - 1 != intro_end:
                    errors.append(
                        f"{number}: `{UNRELEASED}` should be the first section"
                    )
                continue
            messages, previous = _release_errors(line, previous, version)
            errors.extend(f"{number}: {message}" for message in messages)
        elif line.startswith("#"):
            errors.append(f"{number}: unexpected heading {line!r}")
        elif line.strip():
            if not subsections and not outside:
                outside = True
                errors.append(
                    f"{number}: text outside of a `### {'/'.join(SUBSECTIONS)}` section"
                )
            empty = None
            if unreleased:
                errors.extend(
                    f"{number}: {m}" for m in _pin_errors(line, siblings, declared)
                )
    if empty is not None:
        errors.append(f"{empty}: section `{lines[empty - 1]}` is empty")
    return errors


def _changelogs(root: pathlib.Path) -> list:
    """Every CHANGELOG.md under ``root``, out of hidden and build folders"""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [
            name
            for name in subfolders
            if not name.startswith((".", "_")) and name not in ("build", "dist")
        ]
        if "CHANGELOG.md" in files:
            found.append(pathlib.Path(folder) / "CHANGELOG.md")
    return sorted(found)


def main(root: pathlib.Path = ROOT) -> int:
    """Check the changelogs of the repository at ``root``; print the problems to
    stderr and return 1 if there are any, 0 otherwise"""
    distributions = find_distributions(root)
    by_folder = {d.folder: d for d in distributions.values()}
    messages = []
    for path in _changelogs(root):
        if path.parent not in by_folder:
            messages.append(f"{path}: not in the folder of a distribution")
    for distribution in distributions.values():
        path = distribution.folder / "CHANGELOG.md"
        if not path.exists():
            messages.append(f"{path}: missing, every distribution has a changelog")
            continue
        errors = changelog_errors(
            path.read_text(),
            distribution.name,
            distribution.version,
            distribution.requirements,
            distributions,
        )
        messages.extend(f"{path}:{error}" for error in errors)
    for message in messages:
        print(message, file=sys.stderr)
    if not messages:
        print(f"the {len(distributions)} changelogs follow Keep a Changelog")
    return 1 if messages else 0


if __name__ == "__main__":
    sys.exit(main())
