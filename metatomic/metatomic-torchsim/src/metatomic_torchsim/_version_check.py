"""Checking at import that the installed metatomic-torch and torch-sim are in
the ranges this package was written for (the same as in pyproject.toml)"""

import importlib.metadata

from metatensor_torch._version_check import out_of_range

REQUIREMENTS = {
    "metatomic-torch": (
        importlib.metadata.version("metatomic-torch"),
        (0, 1, 19),
        (0, 2, 0),
    ),
    "torch-sim-atomistic": (
        importlib.metadata.version("torch-sim-atomistic"),
        (0, 3, 0),
        (0, 7, 0),
    ),
}

_message = out_of_range(REQUIREMENTS, "metatomic-torchsim")
if _message:
    raise ImportError(_message)
