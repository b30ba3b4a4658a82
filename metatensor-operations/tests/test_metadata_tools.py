import numpy as np
import pytest
from _utils import requires_torch, smooth_tensor

from metatensor import Labels, TensorMap
from metatensor_operations import (
    one_hot,
    slice,
    unique_metadata,
    unique_metadata_block,
)


def test_one_hot():
    labels = Labels(["atom", "type"], np.array([[0, 8], [1, 1], [2, 6], [3, 1]]))
    dimension = Labels(["type"], np.array([[6], [1], [8]]))
    result = one_hot(labels, dimension)
    assert result.tolist() == [[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 0]]
    with pytest.raises(
        ValueError,
        match="type=8 is present in the labels, but was not found in the dimension",
    ):
        one_hot(labels, Labels(["type"], np.array([[1], [6]])))
    with pytest.raises(
        ValueError, match="'other' not found in the dimensions of these Labels"
    ):
        one_hot(labels, Labels(["other"], np.array([[1]])))
    with pytest.raises(ValueError, match="only one label dimension can be extracted"):
        one_hot(labels, labels)


@requires_torch
def test_one_hot_torch():
    import torch

    labels = Labels(["type"], torch.tensor([[8], [1]]))
    result = one_hot(labels, Labels(["type"], torch.tensor([[1], [8]])))
    assert isinstance(result, torch.Tensor)
    assert result.tolist() == [[0, 1], [1, 0]]


def test_unique_metadata():
    tensor = smooth_tensor(np.zeros((4, 3)))
    result = unique_metadata(tensor, "samples", "atom")
    assert result.names == ["atom"]
    assert result.values.tolist() == [[0], [1], [2], [3]]
    result = unique_metadata(tensor, "properties", ["n"])
    assert result.values.tolist() == [[0], [1], [2]]
    result = unique_metadata(tensor, "samples", ["atom"], gradient="positions")
    assert result.values.tolist() == [[0], [1], [2], [3]]
    result = unique_metadata_block(tensor.block(0), "samples", ["system", "atom"])
    assert result.values.tolist() == [[0, 0], [0, 1], [0, 2]]
    with pytest.raises(
        ValueError, match="'foo' not found in the dimensions of these Labels"
    ):
        unique_metadata(tensor, "samples", "foo")
    with pytest.raises(
        ValueError,
        match="`axis` must be either 'samples' or 'properties', not 'keys'",
    ):
        unique_metadata(tensor, "keys", "key")


@requires_torch
def test_unique_metadata_torch():
    import torch

    tensor = smooth_tensor(np.zeros((4, 3))).to(arrays="torch")
    result = unique_metadata(tensor, "samples", ["atom", "system"])
    assert isinstance(result.values, torch.Tensor)
    assert result.names == ["atom", "system"]
    assert result.values.tolist() == [[0, 0], [1, 0], [2, 0], [3, 0]]
    block = unique_metadata_block(tensor.block(1), "properties", "n")
    assert block.values.tolist() == [[0], [1], [2]]


def test_unique_metadata_empty():
    tensor = smooth_tensor(np.zeros((4, 3)))
    empty = TensorMap(Labels.empty(["key"]), [])
    result = unique_metadata(empty, "samples", ["system", "atom"])
    assert result.names == ["system", "atom"]
    assert len(result) == 0
    sliced = slice(tensor, "properties", [])
    result = unique_metadata(sliced, "properties", "n")
    assert len(result) == 0
    result = unique_metadata_block(sliced.block(0), "samples", "atom")
    assert result.values.tolist() == [[0], [1], [2]]
    with pytest.raises(
        ValueError,
        match="`axis` must be either 'samples' or 'properties', not 'components'",
    ):
        unique_metadata_block(tensor.block(0), "components", "c")


def test_one_hot_order_and_bench_shape():
    rng = np.random.default_rng(0)
    types = rng.choice([1, 6, 8], size=50)
    labels = Labels(["atom", "type"], np.stack([np.arange(50), types], axis=1))
    dimension = Labels(["type"], np.array([[8], [1], [6]]))
    result = one_hot(labels, dimension)
    assert result.dtype == np.int32
    assert result.shape == (50, 3)
    expected = (types[:, None] == np.array([8, 1, 6])[None, :]).astype(np.int32)
    np.testing.assert_array_equal(result, expected)
