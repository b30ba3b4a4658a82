"""Executing a package again against another backend.

The operations are written once against ``_backend``. metatensor-torch needs the
same functions bound to its TorchScript classes: :py:func:`operations_with_backend`
executes every module of this package a second time, as a new package whose
``_backend`` submodule is the one given. Nothing installed is modified; the new
modules only live in ``sys.modules`` under the new package name.
:py:func:`package_with_backend` does the same for any package written this way
(metatensor-learn's ``nn`` modules).
"""

import importlib.util
import pathlib
import sys
import types

_PACKAGE = pathlib.Path(__file__).parent


def package_with_backend(
    name: str, backend: types.ModuleType, directory: pathlib.Path
) -> types.ModuleType:
    """The package in ``directory`` executed again as the package ``name``, with
    ``name + "._backend"`` bound to ``backend``.

    :param name: fully qualified name of the new package, which must not be
        imported yet (e.g. ``"metatensor.torch.operations"``)
    :param backend: module defining the names of the package's own ``_backend``
    :param directory: folder of the package (holding its ``__init__.py``)
    :return: the new package
    """
    if name in sys.modules:
        raise ValueError(f"a module named '{name}' is already imported")
    spec = importlib.util.spec_from_file_location(
        name,
        pathlib.Path(directory) / "__init__.py",
        submodule_search_locations=[str(directory)],
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[name + "._backend"] = backend
    sys.modules[name] = package
    try:
        spec.loader.exec_module(package)
    except BaseException:
        for module in list(sys.modules):
            if module == name or module.startswith(name + "."):
                del sys.modules[module]
        raise
    package._backend = backend
    return package


def operations_with_backend(name: str, backend: types.ModuleType) -> types.ModuleType:
    """The operations package executed again as the package ``name``, with
    ``name + "._backend"`` bound to ``backend`` (see
    :py:func:`package_with_backend`); it holds every operation of
    ``metatensor_operations``
    """
    return package_with_backend(name, backend, _PACKAGE)
