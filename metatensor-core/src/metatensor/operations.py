"""``metatensor.operations``: the metatensor-operations package itself.

Importing this module replaces it in ``sys.modules`` with ``metatensor_operations``,
so that ``metatensor.operations`` *is* that package and its submodules are
reachable as attributes and by import (``metatensor.operations._dispatch``, ...).
"""

import importlib.util
import sys

if importlib.util.find_spec("metatensor_operations") is None:
    raise ImportError(
        "metatensor.operations needs the metatensor-operations package, which is not installed: "
        "`pip install metatensor-operations`"
    )

import metatensor_operations  # noqa: E402

sys.modules[__name__] = metatensor_operations
# `import metatensor.operations._dispatch` finds the same module objects
for _name, _module in list(sys.modules.items()):
    if _name.startswith("metatensor_operations."):
        sys.modules[__name__ + _name[len("metatensor_operations") :]] = _module
