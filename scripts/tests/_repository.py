"""A small fake repository laid out like this one, for the tests of the scripts"""

import textwrap


def write_distribution(folder, name, version, body="", compiled=False):
    """Write ``folder/pyproject.toml`` of the distribution ``name`` at ``version``
    (a VERSION file for a compiled one, a static version otherwise), with the
    TOML ``body`` after its ``[project]`` name and version"""
    folder.mkdir(parents=True, exist_ok=True)
    backend = "mesonpy" if compiled else "hatchling.build"
    if compiled:
        (folder / "VERSION").write_text(f"{version}\n")
        header = f'name = "{name}"\ndynamic = ["version"]'
    else:
        header = f'name = "{name}"\nversion = "{version}"'
    (folder / "pyproject.toml").write_text(
        f'[build-system]\nbuild-backend = "{backend}"\n\n[project]\n{header}\n'
        + textwrap.dedent(body)
    )


def fake_repository(root, core_pin=">=0.2,<0.3", extra_pin=">=0.2,<0.3"):
    """A compiled ``core`` 0.2.1, ``metatomic/ase`` pinning it with ``core_pin``
    in a dependency group, and the meta-distribution at the root pinning it
    with ``extra_pin`` in an extra"""
    write_distribution(root / "core", "core", "0.2.1", compiled=True)
    write_distribution(
        root / "metatomic" / "ase",
        "ase-calculator",
        "1.0.0",
        f"""
        dependencies = ["numpy"]
        [dependency-groups]
        base = ["pytest"]
        test = [{{include-group = "base"}}, "core {core_pin}"]
        """,
    )
    write_distribution(
        root,
        "meta",
        "0.1.0",
        f"""
        dependencies = []
        [project.optional-dependencies]
        core = ["core {extra_pin}"]
        """,
    )


def write_sdist(folder, name, version, files=()):
    """Write the sdist of ``name`` at ``version`` into ``folder``, holding
    ``files`` (paths relative to the sdist's root) and a pyproject.toml"""
    import io
    import tarfile

    base = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for file in ["pyproject.toml", *files]:
            info = tarfile.TarInfo(f"{base}/{file}")
            archive.addfile(info, io.BytesIO(b""))
    return path


def write_wheel(folder, name, version, tag="py3-none-any", files=(), metadata=None):
    """Write the wheel of ``name`` at ``version`` with ``tag`` into ``folder``,
    holding ``files`` and its METADATA (``metadata`` replaces the name and
    version written there)"""
    import zipfile

    base = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{base}-{tag}.whl"
    written = metadata or (name, version)
    with zipfile.ZipFile(path, "w") as archive:
        for file in files:
            archive.writestr(file, "")
        archive.writestr(
            f"{base}.dist-info/METADATA",
            f"Metadata-Version: 2.4\nName: {written[0]}\nVersion: {written[1]}\n",
        )
    return path
