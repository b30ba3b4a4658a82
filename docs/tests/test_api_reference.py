"""Every public name of every distribution is in the API reference of the site.

The reference pages (``docs/reference/api/*.rst``) are read as text, without
building the site: each ``.. autoclass::``, ``.. autofunction::``, ... directive
documents one name. A public name counts as documented when its full name is
in the pages, or when the same class or function is documented under another
name (``metatensor.learn.Linear`` is ``metatensor.learn.nn.Linear``).
"""

import importlib
import pathlib
import pkgutil
import re

import pytest

API = pathlib.Path(__file__).parents[1] / "reference" / "api"

# the public modules of the distributions, whose public names are the names
# of their ``__all__`` (or, without ``__all__``, the names without a leading
# underscore defined in them)
PUBLIC_MODULES = [
    "metatensor",
    "metatensor.io",
    "metatensor.utils",
    "metatensor.operations",
    "metatensor.learn",
    "metatensor.learn.nn",
    "metatensor.learn.data",
    "metatensor.torch",
    "metatensor.torch.utils",
    "metatensor.torch.operations",
    "metatensor.torch.learn",
    "metatensor.torch.learn.nn",
    "metatensor.torch.learn.data",
    "metatomic.torch",
    "metatomic.torch.utils",
    "metatomic.torch.o3",
    "metatomic.torch.dftd3",
    "metatomic.torch.heat_flux",
    "metatomic.torch.weighted_sum",
    "metatomic_ase",
    "metatomic_torchsim",
]
# public submodules with nothing to document: the deprecated shim of the ASE
# calculator (moved to metatomic_ase) and the `metatomic` command
NOT_DOCUMENTED = {"metatomic.torch.ase_calculator", "metatomic.torch.__main__"}

DIRECTIVE = re.compile(
    r"^\s*\.\. (auto\w+|py:module|module|currentmodule)::\s*(\S+)", re.MULTILINE
)


def documented_names():
    """the full names that the reference pages document"""
    names = set()
    for page in sorted(API.glob("*.rst")):
        current = ""
        for kind, name in DIRECTIVE.findall(page.read_text(encoding="utf8")):
            if kind in ("py:module", "module", "currentmodule"):
                current = name
            elif kind == "automodule" or "." in name:
                names.add(name)
            else:
                names.add(f"{current}.{name}")
    return names


def find(path):
    """the object at the dotted ``path``"""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            value = getattr(value, part)
        return value
    raise ImportError(f"can not import {path!r}")


def public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and getattr(value, "__module__", None) == module.__name__
        ]
    return [name for name in names if name != "__version__"]


def test_every_public_name_is_documented():
    documented = documented_names()
    documented_objects = {id(find(name)) for name in documented}

    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in public_names(module):
            value = getattr(module, name)
            full_name = f"{module_name}.{name}"
            if type(value) is type(module):
                # a submodule: its names are checked with its own entry
                assert full_name in PUBLIC_MODULES, (
                    f"{full_name} is a public module: add it to PUBLIC_MODULES"
                )
            elif full_name not in documented and id(value) not in documented_objects:
                missing.append(full_name)

    assert missing == [], (
        "these public names are missing from the API reference: add an "
        "`.. autoclass::`/`.. autofunction::`/`.. autodata::` directive for each "
        "of them to a page of docs/reference/api/"
    )


def test_documented_names_exist():
    for name in sorted(documented_names()):
        try:
            find(name)
        except (ImportError, AttributeError) as error:
            pytest.fail(
                f"the API reference documents {name!r}, which is not found: {error}"
            )


@pytest.mark.parametrize("package", ["metatomic.torch", "metatensor"])
def test_every_public_submodule_is_listed(package):
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__):
        name = f"{package}.{info.name}"
        if not info.name.startswith("_") and name not in NOT_DOCUMENTED:
            assert name in PUBLIC_MODULES, (
                f"{name} is a public module: add it to PUBLIC_MODULES in this file, "
                "and its names to the API reference"
            )
