import numpy as np
import pytest
from _utils import ARRAYS, convert, requires_torch, smooth_tensor

from metatensor import TensorBlock, TensorMap
from metatensor_operations import (
    detach,
    detach_block,
    is_contiguous,
    is_contiguous_block,
    make_contiguous,
    make_contiguous_block,
    remove_gradients,
    remove_gradients_block,
    requires_grad,
    requires_grad_block,
)


def example(arrays="numpy"):
    positions = np.random.default_rng(0).normal(size=(4, 3))
    return convert(smooth_tensor(positions), arrays)


def transposed(arrays="numpy"):
    tensor = example(arrays)
    blocks = []
    for block in tensor:
        values = block.values
        # store the values in a non-contiguous view with the same shape
        full = np.zeros(values.shape + (2,))
        if arrays == "torch":
            import torch

            full = torch.zeros(tuple(values.shape) + (2,), dtype=values.dtype)
        full[..., 0] = values
        new = TensorBlock(
            full[..., 0], block.samples, block.components, block.properties
        )
        gradient = block.gradient("positions")
        new.add_gradient(
            "positions",
            TensorBlock(
                gradient.values,
                gradient.samples,
                gradient.components,
                gradient.properties,
            ),
        )
        blocks.append(new)
    return TensorMap(tensor.keys, blocks)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_contiguous(arrays):
    tensor = transposed(arrays)
    assert not is_contiguous(tensor)
    assert not is_contiguous_block(tensor.block(0))
    result = make_contiguous(tensor)
    assert is_contiguous(result)
    assert is_contiguous_block(make_contiguous_block(tensor.block(0)))
    for block, original in zip(result, tensor):
        np.testing.assert_array_equal(
            np.asarray(block.values), np.asarray(original.values)
        )


def test_remove_gradients():
    tensor = example()
    result = remove_gradients(tensor)
    assert result.block(0).gradients_list() == []
    assert result.block(0).values is tensor.block(0).values
    assert remove_gradients(tensor, ["other"]).block(0).gradients_list() == [
        "positions"
    ]
    assert remove_gradients(tensor, ["positions"]).block(0).gradients_list() == []
    assert remove_gradients_block(tensor.block(0)).gradients_list() == []


@requires_torch
def test_detach_and_requires_grad():
    tensor = example("torch")
    result = requires_grad(tensor)
    for block in result:
        assert block.values.requires_grad
        assert block.gradient("positions").values.requires_grad
    assert requires_grad_block(tensor.block(0)).values.requires_grad
    computed = TensorMap(
        result.keys,
        [
            TensorBlock(2 * b.values, b.samples, b.components, b.properties)
            for b in result
        ],
    )
    assert computed.block(0).values.grad_fn is not None
    detached = detach(computed)
    assert detached.block(0).values.grad_fn is None
    assert not detach_block(computed.block(0)).values.requires_grad
    assert not requires_grad(result, False).block(0).values.requires_grad


def test_numpy_autograd_flags():
    tensor = example()
    assert detach(tensor).block(0).values is tensor.block(0).values
    with pytest.raises(ValueError, match="only possible with torch arrays"):
        requires_grad(tensor)
    requires_grad(tensor, False)
