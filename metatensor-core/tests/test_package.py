import importlib.util

import pytest

import metatensor


def test_public_names():
    for name in metatensor.__all__:
        assert hasattr(metatensor, name)
    for name in ("Labels", "LabelsEntry", "TensorBlock", "TensorMap"):
        assert getattr(metatensor, name).__module__ == "metatensor"
    assert isinstance(metatensor.__version__, str)


def test_missing_operations():
    if importlib.util.find_spec("metatensor_operations") is not None:
        pytest.skip("metatensor-operations is installed")
    with pytest.raises(AttributeError, match="pip install metatensor-operations"):
        metatensor.add  # noqa: B018
    with pytest.raises(ImportError, match="pip install metatensor-operations"):
        importlib.import_module("metatensor.operations")


def test_device_warning():
    with pytest.warns(DeprecationWarning, match="DeviceWarning is deprecated"):
        warning = metatensor.DeviceWarning
    assert issubclass(warning, UserWarning)
