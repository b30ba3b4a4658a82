"""Check the sdists and wheels that ``nox -s build`` wrote into a folder:

- one sdist and one wheel of every distribution of the repository, at its
  version in the repository, and nothing else;
- the wheel of a compiled distribution (metatensor-core) is platform-tagged and
  holds its extension module; the others are ``py3-none-any`` without any;
- the name and version in each wheel's metadata are the repository's;
- every module of an sdist's ``src/`` is in the wheel (the wheels are built
  from the sdists, so a file left out of an sdist breaks its wheel);
- ``twine check --strict`` accepts every file (the README renders on PyPI).

    python scripts/check_dist.py [dist]

Exits with status 1 and lists the problems, if any.
"""

import email.parser
import pathlib
import subprocess
import sys
import tarfile
import zipfile

from distributions import ROOT, find_distributions
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

# the file extensions of compiled modules (Linux and macOS, Windows)
EXTENSIONS = (".so", ".pyd")
MODULES = (".py", ".pyi")


def _parse(path: pathlib.Path):
    """``(kind, canonical name, version, tags)`` of an sdist or wheel file, or
    None for any other file"""
    try:
        if path.name.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(path.name)
            return "wheel", name, version, tags
        if path.name.endswith(".tar.gz"):
            name, version = parse_sdist_filename(path.name)
            return "sdist", name, version, frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename):
        pass
    return None


def _sdist_modules(path: pathlib.Path) -> set:
    """The modules under ``src/`` in the sdist at ``path``, relative to ``src/``"""
    with tarfile.open(path) as archive:
        names = archive.getnames()
    modules = set()
    for name in names:
        parts = pathlib.PurePosixPath(name).parts
        if len(parts) > 2 and parts[1] == "src" and name.endswith(MODULES):
            modules.add("/".join(parts[2:]))
    return modules


def _wheel_errors(path: pathlib.Path, distribution, tags, sdist) -> list:
    """The problems of the wheel at ``path`` of ``distribution``, built from the
    sdist at ``sdist``"""
    errors = []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        metadata_path = next(
            (n for n in names if n.endswith(".dist-info/METADATA")), None
        )
        if metadata_path is None:
            return [f"{path.name}: no .dist-info/METADATA"]
        metadata = email.parser.Parser().parsestr(archive.read(metadata_path).decode())
    compiled = [n for n in names if n.endswith(EXTENSIONS)]
    any_tags = {str(tag) for tag in tags if tag.platform == "any"}
    if distribution.compiled:
        if any_tags:
            errors.append(
                f"{path.name}: a compiled distribution needs a platform tag, "
                f"got {', '.join(sorted(any_tags))}"
            )
        if not compiled:
            errors.append(f"{path.name}: no compiled extension module in the wheel")
    else:
        if {str(tag) for tag in tags} != {"py3-none-any"}:
            errors.append(f"{path.name}: a pure-Python wheel should be py3-none-any")
        if compiled:
            errors.append(f"{path.name}: compiled modules in a pure-Python wheel")
    if canonicalize_name(metadata["Name"]) != canonicalize_name(distribution.name):
        errors.append(f"{path.name}: its metadata names {metadata['Name']!r}")
    if Version(metadata["Version"]) != Version(distribution.version):
        errors.append(f"{path.name}: its metadata has version {metadata['Version']}")
    if sdist is not None:
        missing = _sdist_modules(sdist) - {n for n in names if n.endswith(MODULES)}
        for module in sorted(missing):
            errors.append(f"{path.name}: {module} of the sdist is not in the wheel")
    return errors


def dist_errors(folder: pathlib.Path, distributions: dict) -> list:
    """The problems of the sdists and wheels in ``folder``, given the
    distributions of the repository (name => Distribution)"""
    by_name = {canonicalize_name(name): d for name, d in distributions.items()}
    found = {}
    errors = []
    for path in sorted(folder.iterdir()):
        parsed = _parse(path)
        if parsed is None:
            errors.append(f"{path.name}: neither an sdist nor a wheel")
            continue
        kind, name, version, tags = parsed
        distribution = by_name.get(name)
        if distribution is None:
            errors.append(f"{path.name}: not a distribution of this repository")
        elif version != Version(distribution.version):
            errors.append(
                f"{path.name}: the repository has {distribution.name} "
                f"{distribution.version}, remove this file and build again"
            )
        else:
            found.setdefault((kind, name), []).append((path, tags))

    for name, distribution in by_name.items():
        label = f"{distribution.name} {distribution.version}"
        for kind in ("sdist", "wheel"):
            files = found.get((kind, name), [])
            if len(files) != 1:
                listed = ", ".join(path.name for path, _ in files) or "none"
                errors.append(f"expected one {kind} of {label}, found {listed}")
        sdists = found.get(("sdist", name), [])
        sdist = sdists[0][0] if len(sdists) == 1 else None
        for path, tags in found.get(("wheel", name), []):
            errors.extend(_wheel_errors(path, distribution, tags, sdist))
    return errors


def main(argv: list) -> int:
    folder = pathlib.Path(argv[0]) if argv else ROOT / "dist"
    if not folder.is_dir():
        print(f"no {folder} folder: run `nox -s build` first", file=sys.stderr)
        return 1
    errors = dist_errors(folder, find_distributions())
    for error in errors:
        print(error, file=sys.stderr)
    files = sorted(str(path) for path in folder.iterdir())
    twine = [sys.executable, "-m", "twine", "check", "--strict", *files]
    if subprocess.run(twine).returncode != 0:
        errors.append("twine check failed")
    if not errors:
        print(f"the {len(files)} sdists and wheels in {folder} are complete")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
