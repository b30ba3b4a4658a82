"""Compile every operation with TorchScript, against stand-ins of the classes of
metatensor-torch (see ``_torchscript_backend.py``)"""

import sys

import pytest

torch = pytest.importorskip("torch")

import _torchscript_backend  # noqa: E402

import metatensor_operations  # noqa: E402
from metatensor_operations._rebind import operations_with_backend  # noqa: E402

NOT_OPERATIONS = {
    "NotEqualError",
    "checks_enabled",
    "unsafe_enable_checks",
    "unsafe_disable_checks",
}
OPERATIONS = sorted(
    name
    for name in metatensor_operations.__all__
    if name not in NOT_OPERATIONS and not name.startswith("__")
)


@pytest.fixture(scope="module")
def scripted_operations():
    name = "metatensor_operations_torchscript_test"
    operations = operations_with_backend(name, _torchscript_backend)
    yield operations
    for module in list(sys.modules):
        if module == name or module.startswith(name + "."):
            del sys.modules[module]


def test_backend_parity():
    names = set(metatensor_operations._backend.__all__)
    for name in names:
        assert hasattr(_torchscript_backend, name), name


@pytest.mark.parametrize("name", OPERATIONS)
def test_compile(scripted_operations, name):
    torch.jit.script(getattr(scripted_operations, name))


def test_module_using_operations(scripted_operations):
    TensorMap = _torchscript_backend.TensorMap
    add = scripted_operations.add
    sum_over_samples = scripted_operations.sum_over_samples

    class Model(torch.nn.Module):
        def forward(self, tensor: TensorMap) -> TensorMap:
            return sum_over_samples(add(tensor, 1.0), "atom")

    # the names used in the annotations are resolved through the globals of the
    # module defining the class
    globals()["TensorMap"] = TensorMap
    try:
        torch.jit.script(Model())
    finally:
        del globals()["TensorMap"]
