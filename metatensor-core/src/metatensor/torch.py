"""``metatensor.torch``: the metatensor-torch package, imported from ``metatensor_torch``"""

import importlib.util

if importlib.util.find_spec("metatensor_torch") is None:
    raise ImportError(
        "metatensor.torch needs the metatensor-torch package, which is not installed: "
        "`pip install metatensor-torch`"
    )

from metatensor_torch import *  # noqa: E402, F403
