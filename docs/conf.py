"""Sphinx configuration of the documentation site of every distribution in this
repository (build it with ``nox -s docs``, see README.md in this folder)."""

import importlib
import os
import pathlib
import sys
import zlib

import metatensor

HERE = pathlib.Path(__file__).parent

# the extensions of this site, and the helpers of the figures it draws
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE / "figures"))

project = "metatensor & metatomic"
author = "the metatensor reimplementation developers"
copyright = "2026, " + author
release = f"metatensor-core {metatensor.__version__}"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    "markdown_include",
    "mts_example",
]

exclude_patterns = [
    "_build",
    "README.md",
    "tests",
    "examples/GALLERY_HEADER.rst",
]
templates_path = []

html_theme = "furo"
html_title = "metatensor & metatomic"
html_static_path = []

nitpicky = True
default_role = "py:obj"

# -- autodoc ----------------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True}
# the docstrings of torch's methods (``forward``, ...) are not ours to show
autodoc_inherit_docstrings = False
add_module_names = False

# attributes that ASE's calculators define, which the docstrings of our
# calculators refer to and which no inventory lists
nitpick_ignore = [
    ("py:attr", "implemented_properties"),
    ("py:attr", "results"),
    ("py:attr", "additional_outputs"),
]


# where short names in docstrings are looked for, after the module of the
# docstring and its parents
PUBLIC_MODULES = ["metatensor", "metatomic.torch", "metatensor.learn.nn"]


def import_path(path):
    """The object at the dotted ``path`` (``metatensor.io.save``), or None"""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            value = getattr(value, part, None)
        return value
    return None


def documented_names(env):
    """id of each documented Python object => its documented name"""
    names = {}
    for name in env.domains["py"].objects:
        value = import_path(name)
        if value is not None and not isinstance(value, (str, int, float)):
            names.setdefault(id(value), name)
    return names


def resolve_alias(app, env, node, contnode):
    """Resolve a name of a docstring that the Python domain does not know to
    the documented name of the same object: short names (``TensorMap``,
    ``AtomisticModel``) as seen from the docstring's module, its parents, or
    the main public modules; and other paths to a documented object
    (``metatensor.learn.DataLoader``, ``metatensor.save``)"""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    module = node.get("py:module") or ""
    parents = [
        ".".join(module.split(".")[:i]) for i in range(module.count(".") + 1, 0, -1)
    ]
    candidates = [target] + [
        f"{prefix}.{target}" for prefix in parents + PUBLIC_MODULES if prefix
    ]
    if not hasattr(env, "_documented_names"):
        env._documented_names = documented_names(env)
    for candidate in candidates:
        value = import_path(candidate)
        name = env._documented_names.get(id(value))
        if value is not None and name is not None:
            return env.domains["py"].resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], name, node, contnode
            )
    return None


def setup(app):
    app.connect("missing-reference", resolve_alias)


# -- figures drawn by the build ---------------------------------------------------

plot_basedir = str(HERE)
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.autolayout": True}

# -- gallery ----------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 5,
    # an example raising an exception fails the build (once all ran)
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
}

# -- intersphinx ------------------------------------------------------------------
#
# The inventories of numpy, torch and ASE are fetched from their sites when the
# build machine can reach them. Without network access (CI machines that only
# reach package registries), intersphinx falls back on small inventories kept
# in this repository (``inventories/*.txt``, listing the objects that these
# pages refer to, with their real addresses on those sites): the links are the
# same, and a name missing from them fails the build like any broken reference.


def _compile_inventory(name):
    """Write ``inventories/<name>.txt`` as a Sphinx objects.inv (version 2)
    file in ``_build/inventories/``, and return its path"""
    source = HERE / "inventories" / f"{name}.txt"
    lines = source.read_text(encoding="utf8").splitlines()
    project_name, version = lines[0].split(" ", 1)
    entries = [line for line in lines[1:] if line.strip() and line[0] != "#"]
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project_name}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(entry + "\n" for entry in entries)
    target = HERE / "_build" / "inventories" / f"{name}.inv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(header.encode("utf8") + zlib.compress(body.encode("utf8")))
    return str(target)


INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "ase": "https://ase-lib.org/",
}
if os.environ.get("METATENSOR_DOCS_ONLINE_INVENTORIES", "0") == "1":
    intersphinx_mapping = {
        name: (url, (None, _compile_inventory(name)))
        for name, url in INVENTORIES.items()
    }
else:
    intersphinx_mapping = {
        name: (url, _compile_inventory(name)) for name, url in INVENTORIES.items()
    }
intersphinx_timeout = 10
