"""Executing the operations again against another backend.

The operations are written once against ``_backend``. metatensor-torch needs the
same functions bound to its TorchScript classes: :py:func:`operations_with_backend`
executes every module of this package a second time, as a new package whose
``_backend`` submodule is the one given. Nothing installed is modified; the new
modules only live in ``sys.modules`` under the new package name.
"""

import importlib.util
import pathlib
import sys
import types

_PACKAGE = pathlib.Path(__file__).parent


def operations_with_backend(name: str, backend: types.ModuleType) -> types.ModuleType:
    """The operations package executed again as the package ``name``, with
    ``name + "._backend"`` bound to ``backend``.

    :param name: fully qualified name of the new package, which must not be
        imported yet (e.g. ``"metatensor.torch.operations"``)
    :param backend: module defining the names of ``metatensor_operations._backend``
    :return: the new package, with every operation of ``metatensor_operations``
    """
    if name in sys.modules:
        raise ValueError(f"a module named '{name}' is already imported")
    spec = importlib.util.spec_from_file_location(
        name,
        _PACKAGE / "__init__.py",
        submodule_search_locations=[str(_PACKAGE)],
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
