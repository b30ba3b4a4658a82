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
    with pytest.raises(
        ValueError,
        match="`axes` must be one of 'samples', 'components' or 'properties', not",
    ):
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


@pytest.mark.parametrize("arrays", ARRAYS)
def test_sort_components(arrays):
    rng = np.random.default_rng(3)
    values = rng.normal(size=(2, 3, 2))
    gradient_values = rng.normal(size=(2, 3, 3, 2))
    component = Labels(["c"], np.array([[2], [0], [1]]))
    block = TensorBlock(values, Labels.range("s", 2), [component], Labels.range("p", 2))
    # the gradient-specific component (xyz) is sorted too
    xyz = Labels(["xyz"], np.array([[1], [0], [2]]))
    block.add_gradient(
        "g",
        TensorBlock(
            gradient_values,
            Labels(["sample"], np.array([[1], [0]])),
            [xyz, component],
            Labels.range("p", 2),
        ),
    )
    tensor = convert(TensorMap(Labels.single(), [block]), arrays)
    result = sort(tensor, "components").block()
    assert result.components[0].values.tolist() == [[0], [1], [2]]
    np.testing.assert_array_equal(to_numpy(result.values), values[:, [1, 2, 0]])
    gradient = result.gradient("g")
    assert gradient.components[0].values.tolist() == [[0], [1], [2]]
    assert gradient.components[1] == result.components[0]
    assert gradient.samples.values.tolist() == [[1], [0]]
    np.testing.assert_array_equal(
        to_numpy(gradient.values), gradient_values[:, [1, 0, 2]][:, :, [1, 2, 0]]
    )
    # sorting the samples sorts the gradient rows too
    result = sort_block(tensor.block(), ["samples", "components"])
    assert result.gradient("g").samples.values.tolist() == [[0], [1]]
    np.testing.assert_array_equal(
        to_numpy(result.gradient("g").values),
        gradient_values[::-1][:, [1, 0, 2]][:, :, [1, 2, 0]],
    )


@pytest.mark.parametrize("arrays", ARRAYS)
def test_sort_all_gradients(arrays):
    unsorted, _ = shuffled(arrays)
    check_gradients(sort, arrays=arrays)
    # (a descending sort reverses the xyz components of the gradients, which the
    # finite differences of check_gradients expect in increasing order)
    axes = ["keys", "samples", "properties"]
    check_gradients(lambda t: sort(t, axes, descending=True), arrays=arrays)
    result = sort(unsorted, descending=True)
    assert result.keys.values.tolist() == [[1], [0]]


def test_sort_block_errors():
    unsorted, _ = shuffled()
    with pytest.raises(
        ValueError,
        match="`axes` must be one of 'samples', 'components' or 'properties', not",
    ):
        sort_block(unsorted.block(0), "keys")
    with pytest.raises(ValueError, match="not 'sample'"):
        sort(unsorted, ["keys", "sample"])


@requires_torch
def test_sort_torch_autograd():
    import torch

    samples = Labels(["s"], np.array([[3], [1], [2]]))
    properties = Labels(["p"], np.array([[1], [0]]))

    def function(values):
        block = TensorBlock(values, samples, [], properties)
        return sort(TensorMap(Labels.single(), [block])).block().values

    values = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(function, (values,))
