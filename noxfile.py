"""Development tasks for the metatensor monorepo: ``nox -l`` lists them.

Every session installs the distributions from this repository into a fresh
virtual environment with pip, and tests always import the installed packages,
never the source tree. Where torch is needed, ``torch==2.13.0`` is installed
first: any other resolution of torch would download several GB of CUDA wheels.
"""

import os
import pathlib
import shutil
import sys

import nox
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = False

ROOT = pathlib.Path(__file__).parent
SHARED = ROOT.parent / "shared"
TORCH = "torch==2.13.0"
TEST_DEPS = ["pytest", "hypothesis", "numpy"]
PIN_DEPS = ["packaging", "tomli; python_version < '3.11'"]

# distributions of this repository (name => folder), in dependency order
FOLDERS = {
    "metatensor-core": "metatensor-core",
    "metatensor-operations": "metatensor-operations",
    "metatensor-torch": "metatensor-torch",
    "metatensor-learn": "metatensor-learn",
    "metatomic-torch": "metatomic/metatomic-torch",
    "metatomic-ase": "metatomic/metatomic-ase",
}
DISTRIBUTIONS = list(FOLDERS)
DISTRIBUTION_PATHS = [f"./{folder}" for folder in FOLDERS.values()]
METATENSOR_PATHS = [
    f"./{name}" for name in DISTRIBUTIONS if name.startswith("metatensor")
]
# their tests, run against the installed distributions
TEST_FOLDERS = {name: f"{folder}/tests" for name, folder in FOLDERS.items()}
# the distributions of metatomic and what they need
METATOMIC_PATHS = [
    f"./{folder}" for name, folder in FOLDERS.items() if name != "metatensor-learn"
]
# the torch-sim interface, tested in its own session (torch-sim is heavy)
TORCHSIM_PATH = "metatomic/metatomic-torchsim"

# every distribution, as its pyproject.toml declares it (scripts/distributions.py)
sys.path.insert(0, str(ROOT / "scripts"))
from distributions import find_distributions, requirements_to_test  # noqa: E402

PROJECTS = find_distributions(ROOT)
# where `build` writes the sdists and wheels that `dist-tests` installs
DIST = ROOT / "dist"
# the package whose docstring examples each distribution's tests include
DOCTESTED = {
    "metatensor-core": "metatensor",
    "metatensor-operations": "metatensor_operations",
    "metatensor-torch": "metatensor_torch",
    "metatensor-learn": "metatensor_learn",
    "metatomic-torch": "metatomic.torch",
    "metatomic-ase": "metatomic_ase",
    "metatomic-torchsim": "metatomic_torchsim",
}
# the meta-distribution has no tests: it is installed with every extra, and
# `pip check` and the imports of its packages test it
META_EXTRAS = ("torch", "metatomic")
META_IMPORTS = (
    "import metatensor.operations, metatensor.learn, metatensor.torch, "
    "metatomic.torch, metatomic_ase"
)


def _pytest(session, folders):
    """Run pytest on each test folder, from a temporary folder so that the
    installed packages are imported rather than the source tree (one run per
    folder: each has its own helper modules)"""
    args = session.posargs or []
    session.run(
        "python",
        "-c",
        "import metatensor, sys; "
        "assert 'site-packages' in metatensor.__file__, metatensor.__file__",
    )
    with session.chdir(session.create_tmp()):
        for folder in folders:
            session.run(
                "python",
                "-m",
                "pytest",
                "--rootdir",
                str(ROOT),
                str(ROOT / folder),
                *args,
            )


def _doctests(session, package):
    """Run the examples in the docstrings of the installed ``package``"""
    location = session.run(
        "python",
        "-c",
        f"import os, {package}; print(os.path.dirname({package}.__file__))",
        silent=True,
    ).strip()
    # namespaces of the sibling distributions, tested with them
    siblings = {
        "metatensor": ("operations", "learn", "torch"),
        "metatensor_torch": ("learn",),
    }
    ignore = [f"--ignore={location}/{name}.py" for name in siblings.get(package, ())]
    if "." in package:
        # a package inside a namespace package (metatomic.torch): by default,
        # pytest would put `metatomic/` on sys.path, where `torch/` shadows torch
        ignore += ["--import-mode=importlib", "-o", "consider_namespace_packages=true"]
    with session.chdir(session.create_tmp()):
        session.run(
            "python",
            "-m",
            "pytest",
            "--rootdir",
            str(ROOT),
            "--doctest-modules",
            location,
            *ignore,
        )


@nox.session(name="tests-core")
def tests_core(session):
    """Run the metatensor-core tests, with torch installed"""
    session.install(TORCH)
    session.install(*TEST_DEPS, "./metatensor-core")
    _pytest(session, [TEST_FOLDERS["metatensor-core"]])
    _doctests(session, "metatensor")


@nox.session(name="tests-operations")
def tests_operations(session):
    """Run the metatensor-operations tests, with torch installed"""
    session.install(TORCH)
    session.install(*TEST_DEPS, "./metatensor-core", "./metatensor-operations")
    _pytest(session, [TEST_FOLDERS["metatensor-operations"]])
    _doctests(session, "metatensor_operations")


@nox.session(name="tests-torch")
def tests_torch(session):
    """Run the metatensor-torch tests"""
    session.install(TORCH)
    session.install(
        *TEST_DEPS, "./metatensor-core", "./metatensor-operations", "./metatensor-torch"
    )
    _pytest(session, [TEST_FOLDERS["metatensor-torch"]])
    _doctests(session, "metatensor_torch")


@nox.session(name="tests-learn")
def tests_learn(session):
    """Run the metatensor-learn tests (both flavours: metatensor.learn and
    metatensor.torch.learn)"""
    session.install(TORCH)
    session.install(*TEST_DEPS, *METATENSOR_PATHS)
    _pytest(session, [TEST_FOLDERS["metatensor-learn"]])
    _doctests(session, "metatensor_learn")


@nox.session(name="tests-metatomic-torch")
def tests_metatomic_torch(session):
    """Run the metatomic-torch tests (with metatomic-ase, ASE, vesin and tqdm
    installed for the deprecated ``metatomic.torch.ase_calculator`` and the CLI)"""
    session.install(TORCH)
    session.install(*TEST_DEPS, "tqdm", *METATOMIC_PATHS)
    _pytest(session, [TEST_FOLDERS["metatomic-torch"]])
    _doctests(session, "metatomic.torch")


@nox.session(name="tests-metatomic-ase")
def tests_metatomic_ase(session):
    """Run the metatomic-ase tests (with spglib, for the space-group averaging of
    SymmetrizedCalculator, and i-PI, whose metatomic driver runs our models)"""
    session.install(TORCH)
    session.install(*TEST_DEPS, "spglib", "ipi", *METATOMIC_PATHS)
    _pytest(session, [TEST_FOLDERS["metatomic-ase"]])
    _doctests(session, "metatomic_ase")


@nox.session(name="tests-metatomic-torchsim")
def tests_metatomic_torchsim(session):
    """Run the metatomic-torchsim tests (torch-sim needs Python >= 3.11; it is
    kept out of the other metatomic sessions, which do not need it)"""
    if sys.version_info < (3, 11):
        session.skip("torch-sim-atomistic needs Python >= 3.11")
    session.install(TORCH)
    session.install(*TEST_DEPS, *METATOMIC_PATHS, TORCHSIM_PATH)
    _pytest(session, [f"{TORCHSIM_PATH}/tests"])
    _doctests(session, "metatomic_torchsim")


@nox.session(name="tests-numpy")
def tests_numpy(session):
    """Run the metatensor-core and metatensor-operations tests without torch:
    torch stays optional"""
    session.install(*TEST_DEPS, "./metatensor-core", "./metatensor-operations")
    session.run(
        "python",
        "-c",
        "import importlib.util; "
        "assert importlib.util.find_spec('torch') is None, 'torch is installed'",
    )
    numpy_distributions = ["metatensor-core", "metatensor-operations"]
    _pytest(session, [TEST_FOLDERS[name] for name in numpy_distributions])


@nox.session(name="tests-docs")
def tests_docs(session):
    """Run the tests of the documentation site (docs/tests): its API reference
    lists every public name of every distribution, and the Markdown the site
    includes converts to valid reStructuredText; no Sphinx build"""
    if sys.version_info < (3, 11):
        session.skip("the site documents metatomic-torchsim: it needs Python >= 3.11")
    session.install(TORCH)
    session.install("pytest", "sphinx", *DISTRIBUTION_PATHS, TORCHSIM_PATH)
    _pytest(session, ["docs/tests"])


@nox.session(venv_backend="none")
def tests(session):
    """Run every test session (what CI and the README run)"""
    session.notify("tests-core")
    session.notify("tests-operations")
    session.notify("tests-torch")
    session.notify("tests-learn")
    session.notify("tests-metatomic-torch")
    session.notify("tests-metatomic-ase")
    session.notify("tests-metatomic-torchsim")
    session.notify("tests-numpy")
    session.notify("tests-docs")


@nox.session
def lint(session):
    """Check the code style with ruff, the pins between distributions and the
    format of the changelogs"""
    session.install("ruff", *PIN_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("python", "scripts/check_pins.py")
    session.run("python", "scripts/check_changelogs.py")


@nox.session(name="check-pins")
def check_pins(session):
    """Check that the in-repo version of every distribution meets every pin on it
    and that every CHANGELOG.md follows one format, and run the tests of the
    scripts of scripts/ (these checks, and those of `build`)"""
    session.install("pytest", *PIN_DEPS)
    session.run("python", "scripts/check_pins.py")
    session.run("python", "scripts/check_changelogs.py")
    session.run("python", "-m", "pytest", "--doctest-modules", "scripts")


@nox.session
def build(session):
    """Build the sdist of every distribution, then its wheel from that sdist, into
    dist/, and check them (scripts/check_dist.py: tags, contents, metadata,
    `twine check`); `dist-tests` then tests each wheel alone. metatensor-core's
    sdist is made by `meson dist` from the last commit, so its changes must be
    committed first"""
    for distribution in PROJECTS.values():
        if not distribution.compiled:
            continue
        changes = session.run(
            *("git", "status", "--porcelain", "--", str(distribution.folder)),
            external=True,
            silent=True,
        )
        if changes.strip():
            session.error(
                f"{distribution.name} has changes that are not committed, which its "
                f"sdist (made by `meson dist` from the last commit) would leave "
                f"out: commit them first\n{changes}"
            )
    shutil.rmtree(DIST, ignore_errors=True)
    session.install("build", "twine", *PIN_DEPS)
    for distribution in PROJECTS.values():
        # neither --sdist nor --wheel: the sdist, then the wheel built from it
        session.run(
            "python", "-m", "build", "--outdir", str(DIST), str(distribution.folder)
        )
    session.run("python", "scripts/check_dist.py", str(DIST))


@nox.session(name="dist-tests")
@nox.parametrize("name", list(PROJECTS), ids=list(PROJECTS))
def dist_tests(session, name):
    """Install one distribution alone from its wheel in dist/ (made by `build`),
    with only its declared dependencies and its `test` dependency group, and run
    its tests there (`nox -s "dist-tests(metatensor-core)"` for one): no torch for
    metatensor-core and metatensor-operations, the siblings from dist/ only"""
    distribution = PROJECTS[name]
    python = ".".join(map(str, sys.version_info[:3]))
    if not SpecifierSet(distribution.requires_python).contains(python):
        session.skip(f"{name} needs Python {distribution.requires_python}")
    stem = name.replace("-", "_")
    wheels = sorted(DIST.glob(f"{stem}-{distribution.version}-*.whl"))
    if len(wheels) != 1:
        session.error(
            f"expected one wheel of {name} {distribution.version} in {DIST}, found "
            f"{len(wheels)}: run `nox -s build` first"
        )

    extras = META_EXTRAS if name == "metatensor" else ()
    third_party, siblings = requirements_to_test(PROJECTS, name, extras=extras)
    if "torch" in {Requirement(string).name for string in third_party}:
        session.install(TORCH)
    # the other dependencies from PyPI, where no distribution of this repository
    # may come from (a third-party package requiring one fails here)
    constraints = pathlib.Path(session.create_tmp()) / "constraints.txt"
    constraints.write_text("".join(f"{other} <0\n" for other in PROJECTS))
    session.install("--constraint", str(constraints), *third_party)
    # the distributions of this repository from dist/ only
    wheel = f"{wheels[0]}[{','.join(extras)}]" if extras else str(wheels[0])
    session.install("--no-index", "--find-links", str(DIST), wheel, *siblings)
    session.run("python", "-m", "pip", "check")

    if name == "metatensor":
        session.run("python", "-c", META_IMPORTS)
        return
    _pytest(session, [str(distribution.folder.relative_to(ROOT) / "tests")])
    _doctests(session, DOCTESTED[name])


@nox.session
def fuzz(session):
    """Feed mutated archives to every .mts reader for longer than the tests do
    (METATENSOR_FUZZ_EXAMPLES examples per reader, default 2000)"""
    session.install(TORCH)
    session.install(
        *TEST_DEPS, "./metatensor-core", "./metatensor-operations", "./metatensor-torch"
    )
    session.env["METATENSOR_FUZZ_EXAMPLES"] = os.environ.get(
        "METATENSOR_FUZZ_EXAMPLES", "2000"
    )
    _pytest(
        session,
        [
            "metatensor-core/tests/test_fuzz_readers.py",
            "metatensor-torch/tests/test_fuzz_readers.py",
        ],
    )


@nox.session(venv_backend="none")
def asan(session):
    """Run the core tests, the fuzzing of the readers included, on a build of the
    C extension with AddressSanitizer (the script creates its own virtual
    environment)"""
    session.run("bash", "metatensor-core/scripts/asan.sh", external=True)


@nox.session
def demo(session):
    """Run the main demo: train a model on EMT data with metatensor-learn, export
    it with metatomic, run molecular dynamics with it in ASE (writes a figure);
    then evaluate the exported model with the `metatomic` command, and run
    molecular dynamics with it in i-PI"""
    session.install(TORCH)
    # matplotlib: the figure; tqdm: the progress bars; ipi: the i-PI example
    session.install(
        "matplotlib", "ipi", *DISTRIBUTION_PATHS, "./metatomic/metatomic-torch[ase]"
    )
    examples = ROOT / "examples" / "metatomic"
    output = ROOT / "demo-output"
    output.mkdir(exist_ok=True)
    with session.chdir(output):
        session.run("python", str(examples / "end_to_end.py"))
        session.run(
            "python", str(examples / "eval_cli.py"), "--model", "cu-au-model.pt"
        )
        session.run(
            "python",
            str(examples / "ipi" / "run_ipi.py"),
            "--model",
            "cu-au-model.pt",
            "--output-dir",
            "ipi-md",
        )


@nox.session
def examples(session):
    """Run the other examples: a tour of metatensor-core, and training a model on
    TensorMaps with metatensor-learn"""
    session.install(TORCH)
    session.install("tqdm", *METATENSOR_PATHS)
    with session.chdir(session.create_tmp()):
        session.run("python", str(ROOT / "examples" / "demo.py"))
        session.run("python", str(ROOT / "examples" / "learn" / "train_module_map.py"))


@nox.session
def docs(session):
    """Build the documentation site into docs/_build/html (warnings are errors,
    and the examples of the gallery run), after checking that its API reference
    lists every public name (docs/tests)"""
    if sys.version_info < (3, 11):
        session.skip("the site documents metatomic-torchsim: it needs Python >= 3.11")
    session.install(TORCH)
    session.install(*DISTRIBUTION_PATHS, TORCHSIM_PATH)
    session.install("-r", str(ROOT / "docs" / "requirements.txt"))
    _pytest(session, ["docs/tests"])
    output = ROOT / "docs" / "_build" / "html"
    session.run(
        "sphinx-build",
        "-b",
        "html",
        "-W",
        "--keep-going",
        "-n",
        "-j",
        "1",
        *session.posargs,
        str(ROOT / "docs"),
        str(output),
    )
    session.log(f"open {output / 'index.html'}")


@nox.session
def bench(session):
    """Run the API benchmark of ../shared/bench and compare with upstream"""
    bench = SHARED / "bench"
    if not bench.exists():
        session.skip(f"the benchmark is not available (no {bench})")
    session.install(TORCH)
    session.install(*DISTRIBUTION_PATHS)
    output = ROOT / "bench-results.jsonl"
    args = session.posargs or [
        "--only",
        "labels/",
        "--only",
        "tensormap/",
        "--only",
        "io/",
        "--only",
        "ops/",
        "--only",
        "torch/",
        "--only",
        "metatomic/",
    ]
    with open(output, "w") as fd:
        session.run("python", str(bench / "bench.py"), *args, stdout=fd)
    session.run(
        "python",
        str(bench / "compare.py"),
        str(bench / "results-upstream.jsonl"),
        str(output),
        "--names",
        "upstream",
        "ours",
    )
    # the data loading benchmark of metatensor-learn (no upstream figure)
    if not session.posargs:
        for extra in ([], ["--gradients"]):
            session.run(
                "python", "metatensor-learn/bench/collate_throughput.py", *extra
            )
