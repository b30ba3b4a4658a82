"""Helpers for code building on top of metatensor-torch.

Upstream metatensor-torch ships a C++ TorchScript extension with CMake
configuration files, and ``cmake_prefix_path`` is the folder to give to CMake to
find them. Here every class is TorchScript written in Python, with no C++
library: ``cmake_prefix_path`` is the folder of the installed Python package,
which holds no CMake files, so that build scripts reading it keep working and
``find_package(metatensor_torch)`` reports the missing package.
"""

import os

cmake_prefix_path = os.path.dirname(os.path.abspath(__file__))
"""Folder of the installed ``metatensor_torch`` package (no CMake files in it)"""

__all__ = ["cmake_prefix_path"]
