"""Checking at import that the installed metatensor-core and
metatensor-operations are in the ranges this package was written for (the same
as in pyproject.toml)"""

import importlib.metadata
import re

import metatensor

REQUIREMENTS = {
    "metatensor-core": (metatensor.__version__, (0, 2, 6), (0, 3, 0)),
    # read without importing: the operations check metatensor-core on import
    "metatensor-operations": (
        importlib.metadata.version("metatensor-operations"),
        (0, 5, 0),
        (0, 6, 0),
    ),
}


def _version_tuple(version: str) -> tuple:
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if match is None:
        raise ImportError(f"can not parse the version '{version}'")
    return tuple(int(part or 0) for part in match.groups())


def out_of_range(requirements: dict, package: str = "metatensor-torch") -> str:
    """An error message for the first requirement of ``package`` not satisfied,
    or ``""`` (also used by the metatomic distributions)

    >>> print(out_of_range({"metatensor-core": ("0.3.1", (0, 2, 0), (0, 3, 0))}))
    metatensor-torch needs metatensor-core >=0.2.0,<0.3.0, but 0.3.1 is installed: run `pip install "metatensor-core >=0.2.0,<0.3.0"`
    """
    for name, (installed, minimum, maximum) in requirements.items():
        if not minimum <= _version_tuple(installed) < maximum:
            pin = f">={'.'.join(map(str, minimum))},<{'.'.join(map(str, maximum))}"
            return (
                f"{package} needs {name} {pin}, but {installed} is installed: "
                f'run `pip install "{name} {pin}"`'
            )
    return ""


_message = out_of_range(REQUIREMENTS)
if _message:
    raise ImportError(_message)
