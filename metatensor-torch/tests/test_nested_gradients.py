"""Gradients of gradients in metatensor.torch blocks: building them (on a gradient
block or before adding the gradient), reading them, copies and conversions,
TorchScript, files and buffers shared with metatensor-core, and the TensorMap
functions walking gradients"""

import pathlib
import re
import subprocess
import sys
from typing import List

import numpy as np
import pytest
import torch
from _utils import JIT_WARNINGS, assert_same, labels, script

import metatensor
import metatensor.torch as mtt
from metatensor.torch import Labels, TensorBlock, TensorMap

pytestmark = JIT_WARNINGS


def nested_block(seed: int = 0, dtype: torch.dtype = torch.float64) -> TensorBlock:
    """A block (samples s, component o3_mu, properties n) with positions and
    strain gradients; the positions gradient has a cell gradient, which has a
    positions gradient itself (three levels)"""
    generator = torch.Generator().manual_seed(seed)

    def values(*shape):
        return torch.rand(shape, generator=generator, dtype=dtype)

    mu = labels(["o3_mu"], [[-1], [0], [1]])
    xyz = labels(["xyz"], [[0], [1], [2]])
    cell = labels(["cell"], [[0], [1]])
    properties = labels(["n"], [[0], [1]])
    block = TensorBlock(values(2, 3, 2), labels(["s"], [[0], [1]]), [mu], properties)

    positions = TensorBlock(
        values(3, 3, 3, 2),
        labels(["sample", "atom"], [[0, 0], [1, 0], [1, 1]]),
        [xyz, mu],
        properties,
    )
    cell_gradient = TensorBlock(
        values(2, 2, 3, 3, 2),
        labels(["sample"], [[0], [2]]),
        [cell, xyz, mu],
        properties,
    )
    # the third level is added to the gradient before it is attached
    cell_gradient.add_gradient(
        "positions",
        TensorBlock(
            values(1, 3, 2, 3, 3, 2),
            labels(["sample", "atom"], [[1, 4]]),
            [labels(["abc"], [[0], [1], [2]]), cell, xyz, mu],
            properties,
        ),
    )
    positions.add_gradient("cell", cell_gradient)
    # in sorted order, as they are read back from files
    block.add_gradient("positions", positions)
    block.add_gradient(
        "strain",
        TensorBlock(values(2, 3, 2), labels(["sample"], [[0], [1]]), [mu], properties),
    )
    return block


def as_numpy(array) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def assert_same_as_core(core_block: metatensor.TensorBlock, block: TensorBlock):
    """Same data, metadata and gradients (at any depth) in a core and a torch
    block"""
    np.testing.assert_array_equal(as_numpy(core_block.values), as_numpy(block.values))
    assert as_numpy(core_block.values).dtype == as_numpy(block.values).dtype
    core_labels = [core_block.samples, *core_block.components, core_block.properties]
    torch_labels = [block.samples, *block.components, block.properties]
    assert len(core_labels) == len(torch_labels)
    for core_entry, torch_entry in zip(core_labels, torch_labels):
        assert list(core_entry.names) == torch_entry.names
        np.testing.assert_array_equal(
            as_numpy(core_entry.values), as_numpy(torch_entry.values)
        )
    assert core_block.gradients_list() == block.gradients_list()
    for parameter in block.gradients_list():
        assert_same_as_core(core_block.gradient(parameter), block.gradient(parameter))


def core_bytes(data) -> bytes:
    return bytes(metatensor.io.save_buffer(data))


def torch_bytes(buffer: torch.Tensor) -> bytes:
    return bytes(buffer.numpy())


def as_buffer(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def load_block(buffer: torch.Tensor) -> TensorBlock:
    return mtt.load_block_buffer(buffer)


def load_tensor(buffer: torch.Tensor) -> TensorMap:
    return mtt.load_buffer(buffer)


def save_block(block: TensorBlock) -> torch.Tensor:
    return mtt.save_buffer(block)


def save_tensor(tensor: TensorMap) -> torch.Tensor:
    return mtt.save_buffer(tensor)


COMPILED = {
    name: torch.jit.script(function)
    for name, function in [
        ("load_block", load_block),
        ("load_tensor", load_tensor),
        ("save_block", save_block),
        ("save_tensor", save_tensor),
    ]
}


# ================================================================================== #
#                                 building and reading                               #
# ================================================================================== #


def test_gradient_blocks_get_gradients():
    block = nested_block()
    assert block.gradients_list() == ["positions", "strain"]
    positions = block.gradient("positions")
    assert positions.gradients_list() == ["cell"]
    assert positions.has_gradient("cell") and not block.has_gradient("cell")
    assert [p for p, _ in positions.gradients()] == ["cell"]
    cell = positions.gradient("cell")
    assert cell.shape == [2, 2, 3, 3, 2]
    assert cell.gradient("positions").shape == [1, 3, 2, 3, 3, 2]
    assert cell.gradient("positions").gradients_list() == []
    assert block.gradient("strain").gradients_list() == []

    # a gradient block obtained from its parent gets a gradient, seen from the
    # parent afterwards
    properties = block.properties
    strain = labels(["sample"], [[1]])
    second = TensorBlock(
        torch.ones(1, 3, 2, dtype=torch.float64),
        strain,
        [labels(["o3_mu"], [[-1], [0], [1]])],
        properties,
    )
    block.gradient("strain").add_gradient("strain", second)
    assert block.gradient("strain").gradients_list() == ["strain"]
    assert block.gradient("strain").gradient("strain").values is second.values
    assert block.gradients_list() == ["positions", "strain"]

    # the views share the tensors of the block
    block.gradient("positions").gradient("cell").values[0, 0, 0, 0, 0] = 42.0
    assert float(positions.gradient("cell").values[0, 0, 0, 0, 0]) == 42.0

    with pytest.raises(ValueError, match="gradient with respect to 'cell' already"):
        positions.add_gradient("cell", cell.copy())
    with pytest.raises(
        RuntimeError,
        match=r"can not find gradients with respect to 'strain' in this block, "
        r"available gradients are \['cell'\]",
    ):
        positions.gradient("strain")
    # the rules of gradients apply at every level: the components of a gradient of
    # the positions gradient end with [xyz, o3_mu]
    with pytest.raises(RuntimeError, match="invalid gradient components for 'x'"):
        positions.add_gradient("x", second)


def test_string_representation():
    """A gradient block lists its own gradients, as core's"""
    block = nested_block()
    core_block = metatensor.io.load_block_buffer(torch_bytes(mtt.save_buffer(block)))
    assert str(block) == str(core_block)
    gradient = block.gradient("positions").gradient("cell")
    assert str(gradient) == str(core_block.gradient("positions").gradient("cell"))
    assert "cell =>" not in str(block)


def test_copy_and_to():
    block = nested_block()
    for copy in (block.copy(), block.copy(deep=False)):
        assert_same(block, copy)
    deep = block.copy()
    deep.gradient("positions").gradient("cell").values.fill_(0.0)
    assert float(block.gradient("positions").gradient("cell").values.abs().sum()) > 0
    shallow = block.copy(deep=False)
    nested = shallow.gradient("positions").gradient("cell").gradient("positions")
    assert nested.values is (
        block.gradient("positions").gradient("cell").gradient("positions").values
    )
    # new gradients of the copy are not seen by the original
    shallow.gradient("positions").add_gradient(
        "other", block.gradient("positions").copy()
    )
    assert block.gradient("positions").gradients_list() == ["cell"]

    # the copy of a gradient block is a block with the gradients below it
    gradient = block.gradient("positions").copy()
    assert gradient.gradients_list() == ["cell"]
    assert_same(gradient, block.gradient("positions"))
    assert "Gradient" not in repr(gradient).split("\n")[0]

    converted = block.to(dtype=torch.float32)
    assert_same(converted, nested_block().to(torch.float32))
    level = converted.gradient("positions").gradient("cell").gradient("positions")
    assert level.values.dtype == torch.float32
    assert mtt.allclose_block(converted.to(dtype=torch.float64), block, rtol=1e-6)
    assert mtt.equal_block(nested_block(), nested_block())
    changed = nested_block()
    changed.gradient("positions").gradient("cell").values[0, 0, 0, 0, 0] += 1
    assert not mtt.equal_block(nested_block(), changed)


# ================================================================================== #
#                                   core and files                                   #
# ================================================================================== #


def test_core_and_torch_read_each_other(tmp_path):
    block = nested_block()
    tensor = TensorMap(labels(["key"], [[0], [1]]), [nested_block(1), nested_block(2)])
    tensor.set_info("unit", "eV")

    # torch writes (eager and compiled, the same bytes), core reads
    block_data = torch_bytes(mtt.save_buffer(block))
    assert torch_bytes(COMPILED["save_block"](block)) == block_data
    tensor_data = torch_bytes(mtt.save_buffer(tensor))
    assert torch_bytes(COMPILED["save_tensor"](tensor)) == tensor_data
    core_block = metatensor.io.load_block_buffer(block_data)
    assert_same_as_core(core_block, block)
    core_tensor = metatensor.io.load_buffer(tensor_data)
    assert core_tensor.get_info("unit") == "eV"
    for core_entry, torch_entry in zip(core_tensor.blocks(), tensor.blocks()):
        assert_same_as_core(core_entry, torch_entry)
    # the layout of core
    assert core_bytes(core_block) == block_data
    assert core_bytes(core_tensor) == tensor_data

    # core writes, torch reads (eager and compiled)
    for loaded in (
        mtt.load_block_buffer(as_buffer(core_bytes(core_block))),
        COMPILED["load_block"](as_buffer(core_bytes(core_block))),
    ):
        assert_same_as_core(core_block, loaded)
    for loaded in (
        mtt.load_buffer(as_buffer(core_bytes(core_tensor))),
        COMPILED["load_tensor"](as_buffer(core_bytes(core_tensor))),
    ):
        assert loaded.info() == {"unit": "eV"}
        for core_entry, torch_entry in zip(core_tensor.blocks(), loaded.blocks()):
            assert_same_as_core(core_entry, torch_entry)

    # files
    metatensor.save(tmp_path / "core.mts", core_tensor)
    assert_same(mtt.load(tmp_path / "core.mts"), tensor)
    metatensor.save(tmp_path / "core-block.mts", core_block)
    assert_same(mtt.load_block(tmp_path / "core-block.mts"), block)
    mtt.save(tmp_path / "torch.mts", tensor)
    assert metatensor.load(tmp_path / "torch.mts") == core_tensor
    mtt.save(tmp_path / "torch-block.mts", block)
    assert_same_as_core(metatensor.load_block(tmp_path / "torch-block.mts"), block)

    # a gradient block is saved with its own gradients
    gradient = block.gradient("positions")
    saved = metatensor.io.load_block_buffer(torch_bytes(mtt.save_buffer(gradient)))
    assert_same_as_core(saved, gradient)
    compiled = torch_bytes(COMPILED["save_block"](gradient))
    assert compiled == torch_bytes(mtt.save_buffer(gradient))


def loaded_state(state: torch.Tensor) -> TensorBlock:
    block = TensorBlock(
        torch.zeros(1, 1, dtype=torch.float64),
        Labels.range("s", 1),
        [],
        Labels.range("p", 1),
    )
    block.__setstate__(state)
    return block


def test_set_state():
    """``__setstate__`` (used when loading modules holding blocks), eager and
    compiled"""
    state = mtt.save_buffer(nested_block())
    assert_same(loaded_state(state), nested_block())
    assert_same(script(loaded_state)(state), nested_block())

    class Holder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.block = nested_block()

        def forward(self) -> TensorBlock:
            return self.block

    assert_same(script(Holder())(), nested_block())


# ================================================================================== #
#                                      TorchScript                                   #
# ================================================================================== #


def build(values: torch.Tensor) -> TensorBlock:
    """A block with gradients of gradients, built in both possible ways"""
    properties = Labels.range("n", 2)
    xyz = Labels.range("xyz", 3)
    sample = Labels.range("sample", 1)
    block = TensorBlock(values, Labels.range("s", 1), [], properties)

    gradient = TensorBlock(
        values.reshape(1, 1, 2).expand(1, 3, 2), sample, [xyz], properties
    )
    nested = TensorBlock(
        2 * values.reshape(1, 1, 1, 2).expand(1, 3, 3, 2),
        sample,
        [Labels.range("abc", 3), xyz],
        properties,
    )
    gradient.add_gradient("positions", nested)
    block.add_gradient("positions", gradient)
    block.gradient("positions").gradient("positions").add_gradient(
        "çell", TensorBlock(3 * nested.values, sample, nested.components, properties)
    )
    block.add_gradient("strain", TensorBlock(values, sample, [], properties))
    block.gradient("strain").add_gradient(
        "strain", TensorBlock(values, sample, [], properties)
    )
    return block


def gradient_values(block: TensorBlock) -> List[torch.Tensor]:
    """The values of every gradient, depth-first"""
    result: List[torch.Tensor] = []
    stack: List[TensorBlock] = [block]
    while len(stack) != 0:
        current = stack.pop()
        for _, gradient in current.gradients():
            result.append(gradient.values)
            stack.append(gradient)
    return result


def test_torchscript_builds_gradients_of_gradients():
    values = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    eager = build(values)
    compiled = script(build)(values)
    assert_same(eager, compiled)
    # non-ASCII names are UTF-8 bytes inside TorchScript
    level = compiled.gradient("positions").gradient("positions").gradient("çell")
    assert level.shape == [1, 3, 3, 2]
    assert compiled.gradient("strain").gradients_list() == ["strain"]
    assert [v.shape for v in script(gradient_values)(eager)] == [
        v.shape for v in gradient_values(eager)
    ]
    assert len(gradient_values(eager)) == 5

    def round_trip(block: TensorBlock) -> TensorBlock:
        return (
            TensorBlock.load_buffer(block.save_buffer()).to(dtype=torch.float32).copy()
        )

    result = script(round_trip)(eager)
    assert_same(result, eager.to(dtype=torch.float32))


# ================================================================================== #
#                                     TensorMap                                      #
# ================================================================================== #


def test_tensor_map_checks_gradients_at_every_depth():
    keys = labels(["key"], [[0], [1]])
    TensorMap(keys, [nested_block(0), nested_block(1)])

    other = nested_block(1)
    other.gradient("positions").gradient("cell").add_gradient(
        "strain",
        TensorBlock(
            torch.zeros(1, 2, 3, 3, 2, dtype=torch.float64),
            labels(["sample"], [[0]]),
            other.gradient("positions").gradient("cell").components,
            other.properties,
        ),
    )
    message = re.escape(
        "all blocks must have the same gradients in the 'cell' gradients, got "
        "['positions'] and ['positions', 'strain']"
    )
    with pytest.raises(RuntimeError, match=message):
        TensorMap(keys, [nested_block(0), other])

    def construct(keys: Labels, blocks: List[TensorBlock]) -> TensorMap:
        return TensorMap(keys, blocks)

    with pytest.raises(torch.jit.Error, match=message):
        script(construct)(keys, [nested_block(0), other])


def test_components_to_properties():
    tensor = TensorMap(labels(["key"], [[0], [1]]), [nested_block(0), nested_block(1)])
    result = tensor.components_to_properties("o3_mu")
    expected = metatensor.io.load_buffer(
        torch_bytes(mtt.save_buffer(tensor))
    ).components_to_properties("o3_mu")
    for core_entry, torch_entry in zip(expected.blocks(), result.blocks()):
        assert_same_as_core(core_entry, torch_entry)

    def components_to_properties(tensor: TensorMap) -> TensorMap:
        return tensor.components_to_properties("o3_mu")

    assert_same(result, script(components_to_properties)(tensor))


def test_keys_to_samples_refuses_gradients_of_gradients():
    tensor = TensorMap(labels(["key"], [[0], [1]]), [nested_block(0), nested_block(1)])
    message = re.escape(
        "keys_to_samples does not support gradients of gradients "
        "(found in the 'positions' gradient)"
    )
    with pytest.raises(NotImplementedError, match=message):
        tensor.keys_to_samples("key")

    def keys_to_samples(tensor: TensorMap) -> TensorMap:
        return tensor.keys_to_samples("key")

    with pytest.raises(torch.jit.Error, match=message):
        script(keys_to_samples)(tensor)


_SHARED_LISTS_SCRIPT = """
import sys, warnings
import torch
import metatensor.torch as mtt

warnings.filterwarnings("ignore", category=DeprecationWarning)
sys.path.insert(0, sys.argv[1])
from test_nested_gradients import labels, nested_block


def load_unoptimized(buffer: torch.Tensor) -> mtt.TensorMap:
    return mtt.load_buffer(buffer)


def load_later(buffer: torch.Tensor) -> mtt.TensorMap:
    return mtt.load_buffer(buffer)


blocks = [nested_block(1), nested_block(2)]
tensor = mtt.TensorMap(labels(["key"], [[0], [1]]), blocks)
buffer = mtt.save_buffer(tensor)
with torch.jit.optimized_execution(False):
    torch.jit.script(load_unoptimized)(buffer)
loaded = torch.jit.script(load_later)(buffer)
for block, loaded_block in zip(tensor.blocks(), loaded.blocks()):
    assert mtt.equal_block(block, loaded_block)

print("same blocks")
"""


def test_blocks_read_by_compiled_code_do_not_share_gradients(tmp_path):
    """a compiled reader run without optimizations first must not make the blocks
    read later by other compiled code share their gradients (a TorchScript
    problem with empty list literals, seen with this sequence; it only shows in a
    fresh process)"""
    script = tmp_path / "shared_lists.py"  # TorchScript needs a source file
    script.write_text(_SHARED_LISTS_SCRIPT)
    tests = str(pathlib.Path(__file__).parent)
    result = subprocess.run(
        [sys.executable, str(script), tests], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "same blocks"
