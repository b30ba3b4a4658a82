import numpy as np
import pytest
from _utils import ARRAYS, check_gradients, convert, smooth_tensor, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from metatensor import Labels, MetatensorError
from metatensor_operations import slice, slice_block, split, split_block


def example(arrays="numpy"):
    positions = np.random.default_rng(0).normal(size=(4, 3))
    return convert(smooth_tensor(positions), arrays)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_slice_samples(arrays):
    tensor = example(arrays)
    selection = Labels(["atom"], np.array([[1], [2]]))
    result = slice(tensor, "samples", selection)
    for block, original in zip(result, tensor):
        kept = [
            i
            for i, a in enumerate(original.samples.column("atom").tolist())
            if a in (1, 2)
        ]
        assert block.samples.values.tolist() == [
            original.samples.values.tolist()[i] for i in kept
        ]
        np.testing.assert_array_equal(
            to_numpy(block.values), to_numpy(original.values)[kept]
        )
        gradient = block.gradient("positions")
        for row in gradient.samples.values.tolist():
            assert 0 <= row[0] < len(block.samples)
    check_gradients(lambda t: slice(t, "samples", selection), arrays=arrays)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_slice_properties(arrays):
    tensor = example(arrays)
    selection = Labels(["n"], np.array([[1], [0]]))
    result = slice(tensor, "properties", selection)
    for block, original in zip(result, tensor):
        assert block.properties.values.tolist() == [[1], [0]]
        np.testing.assert_array_equal(
            to_numpy(block.values), to_numpy(original.values)[..., [1, 0]]
        )
        assert block.gradient("positions").properties == block.properties
    check_gradients(lambda t: slice(t, "properties", selection), arrays=arrays)


def test_empty_slice_warns():
    tensor = example()
    with pytest.warns(UserWarning, match="'slice' selected no samples"):
        result = slice(tensor, "samples", Labels(["atom"], np.array([[9]])))
    assert len(result.block(0).samples) == 0
    assert len(result.block(0).gradient("positions").samples) == 0
    with pytest.warns(UserWarning, match="the result is an empty block"):
        slice_block(tensor.block(0), "samples", Labels(["atom"], np.array([[9]])))


def test_errors():
    tensor = example()
    with pytest.raises(ValueError, match="`axis` in 'slice' must be 'samples' or"):
        slice(tensor, "keys", Labels(["key"], np.array([[0]])))
    with pytest.raises(MetatensorError, match="'foo' in selection is not part"):
        slice(tensor, "samples", Labels(["foo"], np.array([[0]])))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=0, max_size=4, unique=True), st.booleans())
def test_split_partitions(atoms, samples_axis):
    """Splitting in a selection and its complement keeps every entry once"""
    tensor = example()
    axis = "samples" if samples_axis else "properties"
    name = "atom" if samples_axis else "n"
    values = np.array(atoms, dtype=np.int32).reshape(-1, 1)
    everything = set(range(4 if samples_axis else 3))
    other = np.array(sorted(everything - set(atoms)), dtype=np.int32).reshape(-1, 1)
    first, second = split(tensor, axis, [Labels([name], values), Labels([name], other)])
    for block, part_1, part_2 in zip(tensor, first, second):
        labels_1 = getattr(part_1, axis).values.tolist()
        labels_2 = getattr(part_2, axis).values.tolist()
        assert sorted(labels_1 + labels_2) == sorted(
            getattr(block, axis).values.tolist()
        )
    parts = split_block(tensor.block(0), axis, [Labels([name], values)])
    assert len(parts) == 1
