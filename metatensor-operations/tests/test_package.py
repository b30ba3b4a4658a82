import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

import metatensor
import metatensor_operations
from metatensor import Labels, TensorBlock, TensorMap
from metatensor_operations import _version_check
from metatensor_operations._rebind import operations_with_backend


def test_namespaces():
    assert metatensor.add is metatensor_operations.add
    assert metatensor.operations.add is metatensor_operations.add
    assert importlib.import_module("metatensor.operations").add is metatensor.add
    assert metatensor.checks_enabled is metatensor_operations.checks_enabled
    with pytest.raises(AttributeError, match="has no attribute 'not_an_operation'"):
        metatensor.not_an_operation  # noqa: B018
    for name in metatensor_operations.__all__:
        assert hasattr(metatensor_operations, name)


def test_version_error():
    assert _version_check.version_error("core", "0.2.5", (0, 2, 0), (0, 3, 0)) == ""
    message = _version_check.version_error("core", "0.1.9", (0, 2, 0), (0, 3, 0))
    assert "needs core >=0.2.0,<0.3.0, but 0.1.9 is installed" in message
    assert 'pip install "core >=0.2.0,<0.3.0"' in message
    assert _version_check.version_error("core", "0.3.0", (0, 2, 0), (0, 3, 0)) != ""
    assert (
        _version_check.version_error("core", "0.2.0.dev3", (0, 2, 0), (0, 3, 0)) == ""
    )
    with pytest.raises(ValueError, match="can not parse the version 'abc'"):
        _version_check.version_error("core", "abc", (0, 2, 0), (0, 3, 0))


def test_incompatible_core_fails_import():
    code = (
        "import metatensor; metatensor.__version__ = '0.9.0'; "
        "import metatensor_operations"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "metatensor-operations needs metatensor-core >=0.2.6,<0.3.0" in result.stderr


def test_rebind():
    operations = operations_with_backend(
        "rebound_operations", metatensor_operations._backend
    )
    try:
        assert operations.add is not metatensor_operations.add
        assert sys.modules["rebound_operations._backend"] is (
            metatensor_operations._backend
        )
        block = TensorBlock(
            np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2)
        )
        tensor = TensorMap(Labels.single(), [block])
        assert np.all(operations.add(tensor, 1).block().values == 2)
        with pytest.raises(ValueError, match="already imported"):
            operations_with_backend(
                "rebound_operations", metatensor_operations._backend
            )
    finally:
        for name in list(sys.modules):
            if name.startswith("rebound_operations"):
                del sys.modules[name]


def test_checks_environment_variable():
    code = "import metatensor; print(metatensor.checks_enabled())"
    env = {**os.environ, "METATENSOR_UNSAFE_DISABLE_CHECKS": "yes"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_import_does_not_import_torch():
    code = "import sys, metatensor; metatensor.add; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
