"""Helpers for code building on top of metatensor.

Upstream metatensor-core ships its C library with CMake configuration files, and
``cmake_prefix_path`` is the folder to give to CMake (``CMAKE_PREFIX_PATH``) to
find them. This implementation has no C library: ``cmake_prefix_path`` is the
folder of the installed Python package, which holds no CMake files, so that build
scripts reading it keep working and ``find_package(metatensor)`` reports the
missing package.
"""

import os

cmake_prefix_path = os.path.dirname(os.path.abspath(__file__))
"""Folder of the installed ``metatensor`` package (no CMake files in it)"""

__all__ = ["cmake_prefix_path"]
