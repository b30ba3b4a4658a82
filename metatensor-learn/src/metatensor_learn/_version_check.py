"""Checking at import that the installed metatensor-core and
metatensor-operations are in the ranges this package was written for (the same
as in pyproject.toml)"""

import importlib.metadata

import metatensor
from metatensor_operations._version_check import version_error

REQUIREMENTS = {
    "metatensor-core": (metatensor.__version__, (0, 2, 6), (0, 3, 0)),
    "metatensor-operations": (
        importlib.metadata.version("metatensor-operations"),
        (0, 5, 0),
        (0, 6, 0),
    ),
}

for _name, (_installed, _minimum, _maximum) in REQUIREMENTS.items():
    _message = version_error(
        _name, _installed, _minimum, _maximum, package="metatensor-learn"
    )
    if _message:
        raise ImportError(_message)
