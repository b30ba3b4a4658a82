import numpy as np
import pytest
from _utils import ARRAYS, check_gradients, convert, smooth_tensor, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from metatensor import Labels, MetatensorError, TensorBlock, TensorMap
from metatensor_operations import equal, join, join_blocks, split


def example(arrays="numpy", seed=0):
    positions = np.random.default_rng(0).normal(size=(4, 3))
    return convert(smooth_tensor(positions, seed=seed), arrays)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_join_samples(arrays):
    first, second = example(arrays, 0), example(arrays, 1)
    result = join([first, second], "samples", add_dimension="tensor")
    for block, block_1, block_2 in zip(result, first, second):
        assert block.samples.names == ["system", "atom", "tensor"]
        assert len(block.samples) == len(block_1.samples) + len(block_2.samples)
        expected = np.concatenate([to_numpy(block_1.values), to_numpy(block_2.values)])
        np.testing.assert_array_equal(to_numpy(block.values), expected)
    check_gradients(
        lambda a, b: join([a, b], "samples", add_dimension="tensor"), 2, arrays
    )
    with pytest.raises(MetatensorError, match="multiple times"):
        join([first, first], "samples")


@pytest.mark.parametrize("arrays", ARRAYS)
def test_join_properties(arrays):
    first, second = example(arrays, 0), example(arrays, 1)
    result = join([first, second], "properties", add_dimension="tensor")
    for block, block_1, block_2 in zip(result, first, second):
        assert block.properties.names == ["n", "tensor"]
        expected = np.concatenate(
            [to_numpy(block_1.values), to_numpy(block_2.values)], axis=-1
        )
        np.testing.assert_array_equal(to_numpy(block.values), expected)
    check_gradients(
        lambda a, b: join([a, b], "properties", add_dimension="tensor"), 2, arrays
    )


def test_join_properties_different_samples():
    first = TensorBlock(
        np.array([[1.0], [2.0]]), Labels.range("s", 2), [], Labels.range("p", 1)
    )
    second = TensorBlock(
        np.array([[3.0], [4.0]]),
        Labels(["s"], np.array([[1], [5]])),
        [],
        Labels(["p"], np.array([[1]])),
    )
    result = join_blocks([first, second], "properties")
    assert result.samples.values.tolist() == [[0], [1], [5]]
    assert result.values.tolist() == [[1.0, 0.0], [2.0, 3.0], [0.0, 4.0]]


def test_different_keys():
    first = example()
    blocks = [b.copy() for b in example()]
    second = TensorMap(Labels(["key"], np.array([[1], [7]])), blocks[::-1])
    with pytest.raises(ValueError, match="should have the same keys, use"):
        join([first, second], "samples", add_dimension="t")
    result = join([first, second], "samples", "intersection", add_dimension="t")
    assert result.keys.values.tolist() == [[1]]
    result = join([first, second], "samples", "union", add_dimension="t")
    assert result.keys.values.tolist() == [[0], [1], [7]]
    assert len(result.block(0).samples) == len(first.block(0).samples)
    with pytest.raises(ValueError, match="`different_keys` in 'join' must be"):
        join([first, second], "samples", "all")


def test_errors():
    tensor = example()
    with pytest.raises(ValueError, match="`axis` in 'join' must be"):
        join([tensor], "keys")
    with pytest.raises(ValueError, match="at least one TensorMap"):
        join([], "samples")
    with pytest.raises(TypeError, match="`tensors` in 'join' must be TensorMap"):
        join([tensor.block(0)], "samples")
    other = TensorMap(
        Labels(["other"], np.array([[0], [1]])), [b.copy() for b in tensor]
    )
    with pytest.raises(ValueError, match="same keys names"):
        join([tensor, other], "samples")


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4))
def test_join_then_split(n_tensors):
    """Joining with `add_dimension` then splitting on it gives the inputs back"""
    tensors = [example(seed=i) for i in range(n_tensors)]
    for axis in ("samples", "properties"):
        joined = join(tensors, axis, add_dimension="tensor")
        parts = split(
            joined,
            axis,
            [Labels(["tensor"], np.array([[i]])) for i in range(n_tensors)],
        )
        for part, original in zip(parts, tensors):
            restored = []
            for block in part:
                labels = getattr(block, axis)
                names = labels.names[:-1]
                new_labels = Labels(names, np.ascontiguousarray(labels.values[:, :-1]))
                if axis == "samples":
                    new = TensorBlock(
                        block.values, new_labels, block.components, block.properties
                    )
                else:
                    new = TensorBlock(
                        block.values, block.samples, block.components, new_labels
                    )
                gradient = block.gradient("positions")
                new.add_gradient(
                    "positions",
                    TensorBlock(
                        gradient.values,
                        gradient.samples,
                        gradient.components,
                        new.properties,
                    ),
                )
                restored.append(new)
            assert equal(TensorMap(part.keys, restored), original)
