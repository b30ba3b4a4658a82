import warnings

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
from hypothesis import given, settings
from hypothesis import strategies as st

from metatensor import Labels, MetatensorError, TensorBlock, TensorMap
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


def test_empty_slice_does_not_warn():
    tensor = example()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = slice(tensor, "samples", Labels(["atom"], np.array([[9]])))
        block = slice_block(tensor.block(0), "properties", [])
        parts = split(tensor, "samples", [[]])
    assert len(result.block(0).samples) == 0
    assert len(result.block(0).gradient("positions").samples) == 0
    assert len(block.properties) == 0
    assert len(parts[0].block(0).samples) == 0


def test_errors():
    tensor = example()
    with pytest.raises(
        ValueError, match="axis must be either 'samples' or 'properties', not 'keys'"
    ):
        slice(tensor, "keys", Labels(["key"], np.array([[0]])))
    with pytest.raises(
        ValueError, match="invalid sample name 'foo' which is not part of the input"
    ):
        slice(tensor, "samples", Labels(["foo"], np.array([[0]])))
    with pytest.raises(
        ValueError, match="invalid property name 'foo' which is not part of the input"
    ):
        split(tensor, "properties", [Labels(["foo"], np.array([[0]]))])
    with pytest.raises(TypeError, match="axis must be a string, not <class 'float'>"):
        split(tensor, 3.14, [[0]])
    with pytest.raises(
        TypeError,
        match="`tensor` must be a metatensor TensorMap, not <class 'metatensor.TensorBlock'>",
    ):
        slice(tensor.block(0), "samples", [0])
    with pytest.raises(
        TypeError,
        match="`block` must be a metatensor TensorBlock, not <class 'metatensor.TensorMap'>",
    ):
        slice_block(tensor, "samples", [0])
    with pytest.raises(TypeError, match="`selection` must be (.*) not <class 'int'>"):
        slice(tensor, "samples", 3)
    with pytest.raises(
        TypeError,
        match=r"`selection` must be metatensor Labels, an array or List\[int\], not <class 'str'>",
    ):
        split(tensor, "samples", ["atom"])


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


@pytest.mark.parametrize("arrays", ARRAYS)
def test_slice_positions(arrays):
    tensor = example(arrays)
    result = slice(tensor, "samples", [2, 0])
    for block, original in zip(result, tensor):
        assert block.samples.values.tolist() == [
            original.samples.values.tolist()[i] for i in (2, 0)
        ]
        np.testing.assert_array_equal(
            to_numpy(block.values), to_numpy(original.values)[[2, 0]]
        )
        gradient = block.gradient("positions")
        original_gradient = original.gradient("positions")
        expected = {0: 2, 1: 0}
        for row, samples in enumerate(gradient.samples.values.tolist()):
            old_rows = [
                i
                for i, old in enumerate(original_gradient.samples.values.tolist())
                if old[0] == expected[samples[0]] and old[1:] == samples[1:]
            ]
            np.testing.assert_array_equal(
                to_numpy(gradient.values)[row],
                to_numpy(original_gradient.values)[old_rows[0]],
            )
    check_gradients(lambda t: slice(t, "samples", [2, 0]), arrays=arrays)
    check_gradients(lambda t: slice(t, "properties", [1]), arrays=arrays)

    block = slice_block(tensor.block(0), "properties", [1, 0])
    assert block.properties.values.tolist() == [[1], [0]]
    np.testing.assert_array_equal(
        to_numpy(block.values), to_numpy(tensor.block(0).values)[..., [1, 0]]
    )


def test_slice_positions_eager_types():
    tensor = example()
    expected = slice(tensor, "samples", [0, 2])
    for selection in [(0, 2), np.array([0, 2])]:
        result = slice(tensor, "samples", selection)
        for block, reference in zip(result, expected):
            assert block.samples == reference.samples
    parts = split(tensor, "properties", [[0], (1,)])
    assert parts[0].block(0).properties.values.tolist() == [[0]]
    assert parts[1].block(0).properties.values.tolist() == [[1]]
    parts = split_block(tensor.block(0), "samples", [[0, 1], [2]])
    assert [len(part.samples) for part in parts] == [2, 1]


def test_slice_position_errors():
    tensor = example()
    with pytest.raises(IndexError, match="position 3 in `selection` of 'slice' is"):
        slice(tensor, "samples", [0, 3])
    with pytest.raises(IndexError, match="position -1 in `selection` of 'slice_bl"):
        slice_block(tensor.block(0), "properties", [-1])
    with pytest.raises(TypeError, match="`selection` in 'slice' must be Labels or a"):
        slice(tensor, "samples", [0.5])
    with pytest.raises(ValueError, match="`selection` must be a 1-D array of integers"):
        slice(tensor, "samples", np.array([[0, 1]]))
    with pytest.raises(TypeError, match="not <class .str.>"):
        slice(tensor, "samples", "atom")
    with pytest.raises(
        TypeError, match="`selections` must be a list, not <class 'metatensor.Labels'>"
    ):
        split(tensor, "samples", Labels(["atom"], np.array([[0]])))
    with pytest.raises(
        ValueError, match="axis must be either 'samples' or 'properties'"
    ):
        split_block(tensor.block(0), "components", [[0]])
    with pytest.raises(MetatensorError, match="same label entry multiple times"):
        slice(tensor, "samples", [0, 0])


@requires_torch
def test_slice_torch_autograd():
    import torch

    samples = Labels(["s"], np.arange(4).reshape(-1, 1))
    properties = Labels.range("p", 3)
    selection = Labels(["s"], np.array([[3], [1]]))

    def function(values):
        block = TensorBlock(values, samples, [], properties)
        tensor = TensorMap(Labels.single(), [block])
        result = slice(tensor, "samples", selection)
        result = slice(result, "properties", [2, 0])
        return result.block().values

    values = torch.rand(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(function, (values,))
