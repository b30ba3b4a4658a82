"""Data builders and comparisons shared by the metatensor-torch tests"""

import io
import os
import warnings

import pytest
import torch

import metatensor.torch as mtt

# files written by upstream metatensor (test data of metatensor-core)
FIXTURES = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "metatensor-core",
    "tests",
    "data",
    "upstream",
)

# TorchScript is deprecated in favour of torch.export in recent torch, but it is
# what metatensor-torch and exported models use
JIT_WARNINGS = [
    pytest.mark.filterwarnings(f"ignore:`torch.jit.{name}` is deprecated")
    for name in ("script", "save", "load")
]


def labels(names, values) -> mtt.Labels:
    return mtt.Labels(names, torch.tensor(values, dtype=torch.int32))


def block(i: int = 0, gradients: bool = True, dtype=torch.float64) -> mtt.TensorBlock:
    """A block with samples (system, atom), one component xyz and properties n,
    with ``positions`` and ``strain`` gradients; ``i`` changes the sizes"""
    generator = torch.Generator().manual_seed(i)
    n_samples = 3 + i
    samples = labels(
        ["system", "atom"], [[s // 2, s % 2 + i] for s in range(n_samples)]
    )
    xyz = mtt.Labels.range("xyz", 3)
    properties = labels(["n"], [[p + i] for p in range(2 + i)])
    values = torch.rand(n_samples, 3, 2 + i, generator=generator, dtype=dtype)
    result = mtt.TensorBlock(values, samples, [xyz], properties)
    if gradients:
        gradient_samples = labels(
            ["sample", "system", "atom"],
            [[s, s // 2, a] for s in range(n_samples) for a in range(2)],
        )
        direction = mtt.Labels.range("direction", 3)
        shape = (len(gradient_samples), 3, 3, 2 + i)
        result.add_gradient(
            "positions",
            mtt.TensorBlock(
                torch.rand(shape, generator=generator, dtype=dtype),
                gradient_samples,
                [direction, xyz],
                properties,
            ),
        )
        strain_samples = labels(["sample"], [[s] for s in range(n_samples)])
        shape = (n_samples, 3, 3, 3, 2 + i)
        result.add_gradient(
            "strain",
            mtt.TensorBlock(
                torch.rand(shape, generator=generator, dtype=dtype),
                strain_samples,
                [mtt.Labels.range("xyz_1", 3), mtt.Labels.range("xyz_2", 3), xyz],
                properties,
            ),
        )
    return result


def tensor_map(gradients: bool = True, dtype=torch.float64) -> mtt.TensorMap:
    """Three blocks with keys (key_a, key_b)"""
    keys = labels(["key_a", "key_b"], [[0, 0], [1, 0], [0, 1]])
    blocks = [block(i, gradients, dtype) for i in range(3)]
    tensor = mtt.TensorMap(keys, blocks)
    tensor.set_info("unit", "eV")
    return tensor


def script(function):
    """``function`` compiled by TorchScript, saved and loaded back"""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`torch.jit.")
        scripted = torch.jit.script(function)
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
        buffer.seek(0)
        return torch.jit.load(buffer)


def assert_same(first, second):
    """Check that two results (of eager and scripted code) are identical"""
    if isinstance(first, mtt.TensorMap):
        assert isinstance(second, mtt.TensorMap)
        assert first.keys == second.keys
        assert first.info() == second.info()
        for block_1, block_2 in zip(first.blocks(), second.blocks()):
            assert_same(block_1, block_2)
    elif isinstance(first, mtt.TensorBlock):
        assert isinstance(second, mtt.TensorBlock)
        assert_same(first.values, second.values)
        assert first.samples == second.samples
        assert len(first.components) == len(second.components)
        for component_1, component_2 in zip(first.components, second.components):
            assert component_1 == component_2
        assert first.properties == second.properties
        assert first.gradients_list() == second.gradients_list()
        for parameter in first.gradients_list():
            assert_same(first.gradient(parameter), second.gradient(parameter))
    elif isinstance(first, (mtt.Labels, mtt.LabelsEntry)):
        assert type(second) is type(first)
        assert first == second
        assert first.values.dtype == second.values.dtype == torch.int32
    elif isinstance(first, torch.Tensor):
        assert isinstance(second, torch.Tensor)
        assert first.dtype == second.dtype
        assert first.device == second.device
        assert torch.equal(first, second), (first, second)
    elif isinstance(first, (list, tuple)):
        assert len(first) == len(second)
        for item_1, item_2 in zip(first, second):
            assert_same(item_1, item_2)
    elif isinstance(first, dict):
        assert first.keys() == second.keys()
        for key in first:
            assert_same(first[key], second[key])
    else:
        assert first == second, (first, second)
