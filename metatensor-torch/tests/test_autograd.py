"""Autograd through the classes and the operations, eager and compiled"""

from typing import List

import pytest
import torch
from _utils import JIT_WARNINGS, labels, script

import metatensor.torch as mtt
from metatensor.torch import Labels, TensorBlock, TensorMap

pytestmark = JIT_WARNINGS


def _tensor(first: torch.Tensor, second: torch.Tensor) -> TensorMap:
    """Two blocks of shape (3, 2) and (2, 2) with samples (system, atom)"""
    samples_1 = Labels(
        ["system", "atom"], torch.tensor([[0, 0], [0, 1], [1, 0]], dtype=torch.int32)
    )
    samples_2 = Labels(
        ["system", "atom"], torch.tensor([[0, 0], [1, 1]], dtype=torch.int32)
    )
    properties = Labels.range("n", 2)
    blocks = [
        TensorBlock(first, samples_1, [], properties),
        TensorBlock(second, samples_2, [], properties),
    ]
    return TensorMap(Labels.range("key", 2), blocks)


def _values(tensor: TensorMap) -> torch.Tensor:
    parts: List[torch.Tensor] = []
    for block in tensor.blocks():
        parts.append(block.values.reshape(-1))
    return torch.cat(parts)


def chain(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    tensor = _tensor(first, second)
    squared = mtt.multiply(mtt.pow(tensor, 2.0), tensor)
    summed = mtt.sum_over_samples(mtt.add(squared, tensor), "atom")
    return _values(mtt.divide(summed, mtt.add(mtt.abs(summed), 1.0)))


def reshaping(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    tensor = _tensor(first, second)
    moved = tensor.keys_to_properties("key")
    merged = tensor.keys_to_samples("key")
    joined = mtt.join(
        [tensor, mtt.multiply(tensor, 3.0)], "properties", add_dimension="t"
    )
    sliced = mtt.slice(
        joined, "samples", Labels(["atom"], torch.tensor([[0]], dtype=torch.int32))
    )
    return torch.cat([_values(moved), _values(merged), _values(sliced)])


def reductions(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    tensor = _tensor(first, second)
    return torch.cat(
        [
            # a standard deviation of zero (one sample) has no derivative
            _values(mtt.var_over_samples(tensor, "atom")),
            _values(mtt.std_over_properties(tensor, "n")),
            _values(mtt.mean_over_samples(tensor, ["system", "atom"])),
            _values(mtt.dot(tensor, mtt.add(tensor, 1.0))),
        ]
    )


@pytest.mark.parametrize("function", [chain, reshaping, reductions])
@pytest.mark.parametrize("scripted", [False, True], ids=["eager", "scripted"])
def test_gradcheck(function, scripted):
    generator = torch.Generator().manual_seed(3)
    first = torch.rand(
        3, 2, dtype=torch.float64, generator=generator, requires_grad=True
    )
    second = torch.rand(
        2, 2, dtype=torch.float64, generator=generator, requires_grad=True
    )
    if scripted:
        function = script(function)
    assert torch.autograd.gradcheck(function, (first, second))


def test_requires_grad_and_detach():
    values = torch.rand(3, 2, dtype=torch.float64)
    tensor = _tensor(values, torch.rand(2, 2, dtype=torch.float64))
    with_grad = mtt.requires_grad(tensor)
    assert all(block.values.requires_grad for block in with_grad)
    detached = mtt.detach(mtt.multiply(with_grad, 2.0))
    assert not any(block.values.requires_grad for block in detached)
    # labels never carry gradients
    assert not with_grad.keys.values.requires_grad
    assert labels(["a"], [[1]]).values.dtype == torch.int32


def test_dtype_moves_keep_autograd():
    values = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    tensor = _tensor(values, torch.rand(2, 2, dtype=torch.float64))
    converted = tensor.to(dtype=torch.float32)
    assert converted.block(0).values.dtype == torch.float32
    converted.block(0).values.sum().backward()
    assert torch.equal(values.grad, torch.ones_like(values))
