"""Checking at import that the installed metatensor-core is in the range this
package was written for"""

import re

import metatensor

# the range of metatensor-core this version of the operations supports,
# the same as in pyproject.toml
CORE_MINIMUM = (0, 2, 6)
CORE_MAXIMUM = (0, 3, 0)


def _parse(version: str) -> tuple:
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if match is None:
        raise ValueError(f"can not parse the version '{version}'")
    return tuple(int(part or 0) for part in match.groups())


def version_error(
    name: str,
    installed: str,
    minimum: tuple,
    maximum: tuple,
    package: str = "metatensor-operations",
) -> str:
    """An error message if ``installed`` (the version of ``name``) is outside
    ``[minimum, maximum)``, saying that ``package`` needs it; else an empty string

    >>> version_error("metatensor-core", "0.2.3", (0, 2, 0), (0, 3, 0))
    ''
    >>> print(version_error("metatensor-core", "0.3.1", (0, 2, 0), (0, 3, 0)))
    metatensor-operations needs metatensor-core >=0.2.0,<0.3.0, but 0.3.1 is installed: run `pip install "metatensor-core >=0.2.0,<0.3.0"`
    """
    if minimum <= _parse(installed) < maximum:
        return ""
    low = ".".join(map(str, minimum))
    high = ".".join(map(str, maximum))
    return (
        f"{package} needs {name} >={low},<{high}, but {installed} is "
        f'installed: run `pip install "{name} >={low},<{high}"`'
    )


_message = version_error(
    "metatensor-core", metatensor.__version__, CORE_MINIMUM, CORE_MAXIMUM
)
if _message:
    raise ImportError(_message)
