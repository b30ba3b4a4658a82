import numpy as np
import pytest
from _utils import ARRAYS, check_gradients, convert, smooth_tensor, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from metatensor import Labels, TensorBlock, TensorMap
from metatensor_operations import equal, sort, sort_block


def shuffled(arrays="numpy", seed=0):
    """A smooth tensor with its keys, samples and properties in random order"""
    rng = np.random.default_rng(seed)
    tensor = smooth_tensor(rng.normal(size=(4, 3)))
    blocks = []
    for block in tensor:
        samples = rng.permutation(len(block.samples))
        properties = rng.permutation(len(block.properties))
        new = TensorBlock(
            block.values[samples][..., properties],
            Labels(block.samples.names, block.samples.values[samples]),
            block.components,
            Labels(block.properties.names, block.properties.values[properties]),
        )
        gradient = block.gradient("positions")
        mapping = np.argsort(samples)
        rows = gradient.samples.values.copy()
        rows[:, 0] = mapping[rows[:, 0]]
        new.add_gradient(
            "positions",
            TensorBlock(
                gradient.values[..., properties],
                Labels(gradient.samples.names, rows),
                gradient.components,
                new.properties,
            ),
        )
        blocks.append(new)
    keys = Labels(tensor.keys.names, tensor.keys.values[::-1])
    return convert(TensorMap(keys, blocks[::-1]), arrays), convert(tensor, arrays)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_sort(arrays):
    unsorted, reference = shuffled(arrays)
    result = sort(unsorted)
    assert equal(result, reference)
    assert result.keys.values.tolist() == [[0], [1]]
    check_gradients(lambda t: sort(t, "samples", descending=True), arrays=arrays)


def test_descending_and_axes():
    unsorted, _ = shuffled()
    result = sort(unsorted, ["samples"], descending=True)
    for block in result:
        rows = block.samples.values.tolist()
        assert rows == sorted(rows, reverse=True)
    assert sort(unsorted, "keys").keys.values.tolist() == [[0], [1]]
    block = sort_block(unsorted.block(0), "properties")
    assert block.properties.values.tolist() == sorted(block.properties.values.tolist())
    with pytest.raises(ValueError, match="`axes` in 'sort' must be 'all' or some"):
        sort(unsorted, "values")


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 1000))
def test_sort_is_idempotent_permutation(seed):
    unsorted, _ = shuffled(seed=seed)
    once = sort(unsorted)
    assert equal(sort(once), once)
    for block, original in zip(once, unsorted.blocks_by_id([1, 0])):
        assert sorted(to_numpy(block.values).ravel().tolist()) == sorted(
            to_numpy(original.values).ravel().tolist()
        )
