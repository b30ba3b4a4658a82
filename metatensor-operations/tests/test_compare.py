import numpy as np
import pytest
from _utils import ARRAYS, convert, requires_torch, smooth_tensor

from metatensor import Labels, TensorBlock, TensorMap
from metatensor_operations import (
    NotEqualError,
    allclose,
    allclose_block,
    allclose_block_raise,
    allclose_raise,
    equal,
    equal_block,
    equal_block_raise,
    equal_metadata,
    equal_metadata_block,
    equal_metadata_block_raise,
    equal_metadata_raise,
    equal_raise,
)


def example(arrays="numpy", seed=0):
    positions = np.random.default_rng(0).normal(size=(4, 3))
    return convert(smooth_tensor(positions, seed=seed), arrays)


def with_values(tensor, function, gradient_function=None):
    """A copy of ``tensor`` with values (and gradients) transformed"""
    blocks = []
    for block in tensor:
        new = TensorBlock(
            function(block.values), block.samples, block.components, block.properties
        )
        for parameter, gradient in block.gradients():
            values = gradient.values
            if gradient_function is not None:
                values = gradient_function(values)
            new.add_gradient(
                parameter,
                TensorBlock(
                    values, gradient.samples, gradient.components, gradient.properties
                ),
            )
        blocks.append(new)
    return TensorMap(tensor.keys, blocks)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_equal(arrays):
    tensor = example(arrays)
    assert equal(tensor, tensor.copy())
    equal_raise(tensor, tensor.copy())
    assert equal_block(tensor.block(0), tensor.block(0).copy())
    equal_block_raise(tensor.block(0), tensor.block(0).copy())
    assert tensor == tensor.copy()
    assert tensor.block(0) == tensor.block(0).copy()

    changed = with_values(tensor, lambda v: v + 1e-15)
    assert not equal(tensor, changed)
    assert tensor != changed
    with pytest.raises(
        NotEqualError,
        match=r"inputs to 'equal' should have the same values for the block at key "
        r"\(key=0\)",
    ):
        equal_raise(tensor, changed)
    assert allclose(tensor, changed)
    allclose_raise(tensor, changed)

    gradients_changed = with_values(tensor, lambda v: v, lambda g: g * 2)
    with pytest.raises(NotEqualError, match="for the 'positions' gradients"):
        equal_raise(tensor, gradients_changed)
    with pytest.raises(NotEqualError, match="should have close values"):
        allclose_block_raise(tensor.block(0), gradients_changed.block(0))
    assert not allclose_block(tensor.block(0), gradients_changed.block(0))


def test_keys_in_any_order():
    tensor = example()
    reordered = TensorMap(
        Labels(["key"], tensor.keys.values[::-1]),
        [block.copy() for block in reversed(list(tensor))],
    )
    assert equal(tensor, reordered)


def test_allclose_tolerances():
    tensor = example()
    changed = with_values(tensor, lambda v: v * (1 + 1e-6))
    assert not allclose(tensor, changed)
    assert allclose(tensor, changed, rtol=1e-5)
    nan = with_values(tensor, lambda v: v * np.nan)
    assert not allclose(nan, nan)
    assert allclose(nan, nan, equal_nan=True)


def test_metadata_differences():
    tensor = example()
    block = tensor.block(0)
    other_samples = TensorBlock(
        block.values,
        Labels(["system", "atom"], block.samples.values + 1),
        block.components,
        block.properties,
    )
    assert not equal_block(block, other_samples)
    with pytest.raises(NotEqualError, match="should have the same samples"):
        equal_block_raise(block, other_samples)
    assert equal_metadata_block(
        block, other_samples, check=["properties"], check_gradients=False
    )
    assert not equal_metadata_block(block, other_samples)
    with pytest.raises(
        NotEqualError, match="'equal_metadata_block' should have the same samples"
    ):
        equal_metadata_block_raise(block, other_samples)

    other_keys = TensorMap(
        Labels(["other"], tensor.keys.values), [b.copy() for b in tensor]
    )
    for function in (equal_raise, allclose_raise, equal_metadata_raise):
        with pytest.raises(NotEqualError, match="should have the same keys names"):
            function(tensor, other_keys)
    assert not equal(tensor, other_keys)
    assert not equal_metadata(tensor, other_keys)

    fewer = TensorMap(Labels(["key"], np.array([[0]])), [tensor.block(0).copy()])
    with pytest.raises(NotEqualError, match="same number of blocks, got 2 and 1"):
        equal_raise(tensor, fewer)

    no_gradients = TensorMap(
        tensor.keys,
        [TensorBlock(b.values, b.samples, b.components, b.properties) for b in tensor],
    )
    with pytest.raises(NotEqualError, match="should have the same gradients"):
        equal_metadata_raise(tensor, no_gradients)
    assert equal_metadata(tensor, no_gradients, check_gradients=False)

    with pytest.raises(ValueError, match="invalid axis 'values' to check"):
        equal_metadata(tensor, tensor, check=["values"])


def test_dtype_difference():
    tensor = example()
    converted = tensor.to(np.float32)
    with pytest.raises(NotEqualError, match="should have the same dtype"):
        equal_raise(tensor, converted)


@requires_torch
def test_numpy_and_torch_differ():
    with pytest.raises(NotEqualError, match="should both be numpy or torch arrays"):
        equal_raise(example("numpy"), example("torch"))
    assert not allclose(example("numpy"), example("torch"))
