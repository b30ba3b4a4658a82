"""Import wiring, versions and the check of the sibling versions"""

import subprocess
import sys

import torch
from _utils import JIT_WARNINGS

import metatensor
import metatensor.torch as mtt
import metatensor_operations
import metatensor_torch
from metatensor_torch import _version_check

pytestmark = JIT_WARNINGS


def test_import_names():
    assert metatensor.torch is metatensor_torch
    assert sys.modules["metatensor.torch"] is metatensor_torch
    assert sys.modules["metatensor.torch.operations"] is mtt.operations
    for name in ["Labels", "LabelsEntry", "TensorBlock", "TensorMap"]:
        assert getattr(mtt, name).__module__ == "metatensor.torch"
    assert set(mtt.__all__) >= {"save", "load_buffer", "version", "dtype_name", "add"}
    for name in mtt.__all__:
        assert hasattr(mtt, name), name


def test_versions():
    assert mtt.version() == mtt.__version__

    @torch.jit.script
    def version() -> str:
        return mtt.version()

    assert version() == mtt.__version__
    assert mtt.dtype_name(torch.float32) == "torch.float32"

    @torch.jit.script
    def name(dtype: torch.dtype) -> str:
        return mtt.dtype_name(dtype)

    assert name(torch.complex128) == "torch.complex128"


def test_version_check():
    assert _version_check.out_of_range(_version_check.REQUIREMENTS) == ""
    message = _version_check.out_of_range(
        {"metatensor-core": ("0.3.0", (0, 2, 0), (0, 3, 0))}
    )
    assert message == (
        "metatensor-torch needs metatensor-core >=0.2.0,<0.3.0, but 0.3.0 is "
        'installed: run `pip install "metatensor-core >=0.2.0,<0.3.0"`'
    )
    assert metatensor_operations.__version__ in str(_version_check.REQUIREMENTS)


def test_import_fails_with_core_out_of_range():
    code = (
        "import metatensor; metatensor.__version__ = '0.3.1'\n"
        "try:\n"
        "    import metatensor.torch\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (
        "metatensor-torch needs metatensor-core >=0.2.6,<0.3.0, but 0.3.1 is installed"
        in result.stdout
    ), result.stderr
