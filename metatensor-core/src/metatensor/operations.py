"""``metatensor.operations``: the metatensor-operations package, imported from ``metatensor_operations``"""

import importlib.util

if importlib.util.find_spec("metatensor_operations") is None:
    raise ImportError(
        "metatensor.operations needs the metatensor-operations package, which is not installed: "
        "`pip install metatensor-operations`"
    )

from metatensor_operations import *  # noqa: E402, F403
