"""Helpers for the code using metatomic-torch: versions.

There is no C++ library in this implementation (every class is TorchScript
written in Python), so ``cmake_prefix_path`` is not provided.
"""

from typing import Tuple

__all__ = ["parse_version", "version_compatible"]


def parse_version(version: str) -> Tuple[int, int, int]:
    """``(major, minor, patch)`` of a version string such as ``"0.1.19"`` or
    ``"2.13.0+cpu"`` (missing or non-numeric parts count as 0)

    >>> parse_version("2.13.0+cpu")
    (2, 13, 0)
    """
    parts = version.split("+")[0].split("-")[0].split(".")
    numbers = []
    for part in parts[:3]:
        digits = ""
        for character in part:
            if not character.isdigit():
                break
            digits += character
        numbers.append(int(digits) if digits else 0)
    while len(numbers) < 3:
        numbers.append(0)
    return tuple(numbers)


def version_compatible(actual: str, required: str) -> bool:
    """Whether ``actual`` is compatible with ``required``: the same major
    version, and the same minor version while the major version is 0

    >>> version_compatible("0.1.19", "0.1.4")
    True
    >>> version_compatible("0.2.0", "0.1.4")
    False
    """
    actual_version = parse_version(actual)
    required_version = parse_version(required)
    if actual_version[0] != required_version[0]:
        return False
    return actual_version[0] != 0 or actual_version[1] == required_version[1]


def __getattr__(name):
    if name == "cmake_prefix_path":
        raise AttributeError(
            "metatomic.torch.utils.cmake_prefix_path is not available: this "
            "implementation of metatomic-torch has no C++ library (engines written "
            "in C++ use the exported model with libtorch alone, through its "
            "`forward_tensors` method)"
        )
    raise AttributeError(f"module 'metatomic.torch.utils' has no attribute {name!r}")
