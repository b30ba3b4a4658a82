"""Behaviours that code written for upstream metatensor-core relies on"""

import os
import subprocess
import sys


def test_cmake_prefix_path():
    # no C library here: the path is the installed package, without CMake files
    import metatensor.utils

    path = metatensor.utils.cmake_prefix_path
    assert os.path.isdir(path)
    assert os.path.samefile(path, os.path.dirname(metatensor.__file__))
    code = "import metatensor; print(metatensor.utils.cmake_prefix_path)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert os.path.samefile(result.stdout.strip(), path)
