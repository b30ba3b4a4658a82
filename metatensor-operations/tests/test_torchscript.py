"""Compile every operation with TorchScript, against stand-ins of the classes of
metatensor-torch (see ``_torchscript_backend.py``).

metatensor-torch will execute the operation modules again with its own
``_backend`` and ``torch.jit.script`` every public operation; these tests catch a
construct TorchScript rejects before it exists.
"""

import io
import sys
from typing import Dict, List, Optional

import pytest

torch = pytest.importorskip("torch")

import _torchscript_backend  # noqa: E402
from _torchscript_backend import (  # noqa: E402
    Labels,
    LabelsEntry,
    TensorBlock,
    TensorMap,
)

import metatensor_operations  # noqa: E402
from metatensor_operations._rebind import operations_with_backend  # noqa: E402

# TorchScript is deprecated in favour of torch.export, but it is what
# metatensor-torch and exported models use
pytestmark = [
    pytest.mark.filterwarnings(f"ignore:`torch.jit.{name}` is deprecated")
    for name in ("script", "save", "load")
]

PACKAGE = "metatensor_operations_torchscript_test"

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
def operations():
    """The operations package executed again against the TorchScript stand-ins"""
    package = operations_with_backend(PACKAGE, _torchscript_backend)
    yield package
    for module in list(sys.modules):
        if module == PACKAGE or module.startswith(PACKAGE + "."):
            del sys.modules[module]


def _save_load(scripted):
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


def test_backend_parity():
    core_names = set(metatensor_operations._backend.__all__)
    torch_names = set(_torchscript_backend.__all__)
    assert core_names == torch_names
    for name in sorted(core_names):
        assert hasattr(metatensor_operations._backend, name), name
        assert hasattr(_torchscript_backend, name), name


def test_operations_list():
    assert "add" in OPERATIONS
    for name in NOT_OPERATIONS:
        assert name in metatensor_operations.__all__, name


@pytest.mark.parametrize("name", OPERATIONS)
def test_compile(operations, name):
    function = getattr(operations, name)
    message = ""
    try:
        scripted = torch.jit.script(function)
    except Exception as error:
        message = str(error)
    if message != "":
        pytest.fail(f"TorchScript can not compile '{name}':\n{message}", pytrace=False)
    # the compiled code (and the classes it uses) must also serialize, as it
    # does inside a saved model
    _save_load(scripted)


def _every_member(
    labels: Labels, entry: LabelsEntry, block: TensorBlock, tensor: TensorMap
):
    """Calls every member declared by the stand-ins, as operations (and
    metatensor-torch users) will, to check that the contract can be used from
    TorchScript and not only declared"""
    names: List[str] = labels.names + entry.names + tensor.sample_names
    names += tensor.component_names + tensor.property_names
    values: List[torch.Tensor] = [labels.values, entry.values, labels.column("a")]
    devices: List[torch.device] = [labels.device, entry.device, block.device]
    devices.append(tensor.device)
    dtypes: List[torch.dtype] = [block.dtype, tensor.dtype]

    # Labels
    single = Labels.single()
    empty = Labels.empty(["a", "b"])
    ranged = Labels.range("a", 4)
    built = Labels(["a"], torch.zeros((1, 1), dtype=torch.int32))
    built = Labels(["a"], torch.zeros((1, 1), dtype=torch.int32), assume_unique=True)
    loaded = Labels.load("labels.mts")
    loaded = Labels.load_buffer(labels.save_buffer())
    labels.save("labels.mts")
    n: int = len(labels) + len(entry) + len(block) + len(tensor)
    first: LabelsEntry = labels[0]
    first = labels.entry(-1)
    found: bool = first in labels
    found = found or values[0] in labels
    found = found or [0, 1] in labels
    position: Optional[int] = labels.position(first)
    position = labels.position(values[0])
    position = labels.position([0, 1])
    same: bool = labels == ranged or labels != empty
    union, first_map, second_map = labels.union_and_mapping(single)
    union = labels.union(built)
    common, first_map, second_map = labels.intersection_and_mapping(single)
    common = labels.intersection(loaded)
    rest, first_map = labels.difference_and_mapping(single)
    rest = labels.difference(single)
    selected: torch.Tensor = labels.select(single)
    selected = labels.select(first)
    changed = labels.append("c", selected).insert(0, "d", selected)
    changed = changed.permute([1, 0, 2, 3]).remove("c").rename("d", "e")
    changed = changed.to(torch.device("cpu")).to(torch.device("cpu"), True)
    text: str = labels.print(4) + labels.print(-1, indent=2)

    # LabelsEntry
    value: int = entry[0] + entry["a"]
    same = same or entry == first or entry != first
    text += entry.print()
    built_entry = LabelsEntry(["a"], selected)

    # TensorBlock
    new_block = TensorBlock(block.values, block.samples, block.components, union)
    new_block = TensorBlock(
        values=block.values,
        samples=block.samples,
        components=block.components,
        properties=block.properties,
    )
    new_block.add_gradient("positions", block.copy())
    gradient: TensorBlock = new_block.gradient("positions")
    parameters: List[str] = new_block.gradients_list()
    for parameter, gradient in new_block.gradients():
        parameters.append(parameter + str(len(gradient)))
    found = found or new_block.has_gradient("strain")
    shape: List[int] = new_block.shape
    new_block = new_block.to(torch.float64)
    new_block = new_block.to(dtype=torch.float32, device=torch.device("cpu"))
    new_block = new_block.to(arrays="torch", non_blocking=True)
    new_block = TensorBlock.load("block.mts")
    new_block = TensorBlock.load_buffer(block.save_buffer())
    block.save("block.mts")

    # TensorMap
    new_tensor = TensorMap(tensor.keys, [block])
    one: TensorBlock = tensor.block()
    one = tensor.block(0)
    one = tensor.block(first)
    one = tensor.block(single)
    one = tensor.block({"a": 1})
    one = tensor[0]
    one = tensor[first]
    one = tensor[single]
    one = tensor[{"a": 1}]
    one = tensor.block_by_id(0)
    many: List[TensorBlock] = tensor.blocks()
    many = tensor.blocks(0)
    many = tensor.blocks(first)
    many = tensor.blocks(single)
    many = tensor.blocks({"a": 1})
    many = tensor.blocks_by_id([0, 1])
    for key, one in tensor.items():
        text += key.print() + str(len(one))
    new_tensor = tensor.keys_to_samples("a")
    new_tensor = tensor.keys_to_samples(["a", "b"], fill_value=1.0)
    new_tensor = tensor.keys_to_properties(single, 1.0, False)
    new_tensor = tensor.keys_to_properties("a", sort_samples=False)
    new_tensor = tensor.components_to_properties("c").components_to_properties(["c"])
    tensor.set_info("key", "value")
    info: Dict[str, str] = tensor.info()
    maybe: Optional[str] = tensor.get_info("key")
    new_tensor = tensor.copy().to(torch.float64)
    new_tensor = tensor.to(dtype=torch.float32, device=torch.device("cpu"))
    new_tensor = tensor.to(arrays="torch", non_blocking=True)
    new_tensor = TensorMap.load("tensor.mts")
    new_tensor = TensorMap.load_buffer(tensor.save_buffer())
    tensor.save("tensor.mts")
    text += tensor.print(7)

    # everything is returned, so that the types above are checked by use
    return (
        (names, values, devices, dtypes, text, parameters, shape, info, maybe),
        (n, value, position, found, same),
        (loaded, union, common, rest, changed, first_map, second_map),
        (built_entry, new_block, gradient, one, many, new_tensor),
    )


def test_stand_ins_usable():
    _save_load(torch.jit.script(_every_member))


def test_module_using_operations(operations):
    add = operations.add

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.shift = 1.0

        def forward(self, tensor: TensorMap) -> TensorMap:
            # `add` is found in the closure, `TensorMap` in the globals of this
            # test module
            return add(tensor, self.shift)

    model = _save_load(torch.jit.script(Model()))
    assert "add" in model.code
