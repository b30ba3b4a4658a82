import numpy as np
import pytest
from _utils import (
    ARRAYS,
    check_gradients,
    convert,
    requires_torch,
    smooth_tensor,
    to_numpy,
)

import metatensor
from metatensor import Labels, TensorBlock, TensorMap
from metatensor_operations import NotEqualError, add


def example(arrays="numpy", seed=0):
    rng = np.random.default_rng(seed)
    return convert(smooth_tensor(rng.normal(size=(4, 3)), seed=seed), arrays)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_add_tensors(arrays):
    first, second = example(arrays, 0), example(arrays, 1)
    result = add(first, second)
    assert result.keys == first.keys
    for block, block_1, block_2 in zip(result, first, second):
        assert block.samples == block_1.samples
        assert block.properties == block_1.properties
        expected = to_numpy(block_1.values) + to_numpy(block_2.values)
        np.testing.assert_allclose(to_numpy(block.values), expected)
        gradient = block.gradient("positions")
        expected = to_numpy(block_1.gradient("positions").values) + to_numpy(
            block_2.gradient("positions").values
        )
        np.testing.assert_allclose(to_numpy(gradient.values), expected)
        assert type(block.values) is type(block_1.values)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_add_scalar(arrays):
    tensor = example(arrays)
    result = add(tensor, 2)
    for block, original in zip(result, tensor):
        np.testing.assert_allclose(
            to_numpy(block.values), to_numpy(original.values) + 2
        )
        np.testing.assert_allclose(
            to_numpy(block.gradient("positions").values),
            to_numpy(original.gradient("positions").values),
        )


@pytest.mark.parametrize("arrays", ARRAYS)
def test_add_gradients(arrays):
    check_gradients(add, n_inputs=2, arrays=arrays)
    check_gradients(lambda tensor: add(tensor, 3.5), arrays=arrays)


def test_add_keys_in_other_order():
    first = example()
    blocks = [block.copy() for block in reversed(list(first))]
    keys = Labels(first.keys.names, first.keys.values[::-1])
    reordered = TensorMap(keys, blocks)
    result = add(first, reordered)
    for block, original in zip(result, first):
        np.testing.assert_allclose(block.values, 2 * original.values)


def test_operators():
    tensor = example()
    assert metatensor.add is add
    np.testing.assert_allclose(
        (tensor + tensor).block(0).values, 2 * tensor.block(0).values
    )


def test_add_errors():
    tensor = example()
    other_keys = TensorMap(
        Labels(["other"], np.array([[0], [1]])), [b.copy() for b in tensor]
    )
    with pytest.raises(
        NotEqualError, match="inputs to 'add' should have the same keys names"
    ):
        add(tensor, other_keys)

    block = tensor.block(0)
    different = TensorBlock(
        block.values,
        Labels(["system", "atom"], block.samples.values + 10),
        block.components,
        block.properties,
    )
    other = TensorMap(Labels(["key"], np.array([[0]])), [different])
    single = TensorMap(Labels(["key"], np.array([[0]])), [tensor.block(0).copy()])
    with pytest.raises(
        NotEqualError, match="inputs to 'add' should have the same samples"
    ):
        add(single, other)

    with pytest.raises(TypeError, match="`B` must be a TensorMap or a scalar"):
        add(tensor, "3")
    with pytest.raises(TypeError, match="`A` must be a TensorMap"):
        add(3, tensor)
    with pytest.raises(NotEqualError, match="should have the same gradients"):
        add(
            single,
            TensorMap(
                single.keys,
                [
                    TensorBlock(
                        block.values, block.samples, block.components, block.properties
                    )
                ],
            ),
        )


@requires_torch
def test_mixed_arrays():
    with pytest.raises(TypeError, match="must all be numpy arrays or all torch"):
        add(example("numpy"), example("torch"))


def test_unsafe_disable_checks():
    tensor = example()
    with metatensor.unsafe_disable_checks():
        assert not metatensor.checks_enabled()
        add(tensor, tensor)
    assert metatensor.checks_enabled()
