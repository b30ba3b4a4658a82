"""``metatensor.learn``: the metatensor-learn package, imported from ``metatensor_learn``"""

import importlib.util

if importlib.util.find_spec("metatensor_learn") is None:
    raise ImportError(
        "metatensor.learn needs the metatensor-learn package, which is not installed: "
        "`pip install metatensor-learn`"
    )

from metatensor_learn import *  # noqa: E402, F403
