import numpy as np
import pytest
from _utils import ARRAYS, convert, requires_torch, smooth_tensor

from metatensor import MetatensorError
from metatensor_operations import (
    append_dimension,
    insert_dimension,
    permute_dimensions,
    remove_dimension,
    rename_dimension,
)


def example(arrays="numpy"):
    positions = np.random.default_rng(0).normal(size=(4, 3))
    return convert(smooth_tensor(positions), arrays)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_append_insert(arrays):
    tensor = example(arrays)
    result = append_dimension(tensor, "samples", "frame", 7)
    for block, original in zip(result, tensor):
        assert block.samples.names == ["system", "atom", "frame"]
        assert block.samples.column("frame").tolist() == [7] * len(original.samples)
        assert block.values is original.values
        # gradient samples are not touched
        assert (
            block.gradient("positions").samples
            == original.gradient("positions").samples
        )

    result = insert_dimension(tensor, "keys", 0, "l", np.array([3, 4]))
    assert result.keys.names == ["l", "key"]
    assert result.keys.column("l").tolist() == [3, 4]

    result = append_dimension(tensor, "properties", "extra", 1)
    for block in result:
        assert block.properties.names == ["n", "extra"]
        assert block.gradient("positions").properties == block.properties


def test_remove_rename_permute():
    tensor = example()
    result = remove_dimension(tensor, "samples", "system")
    assert result.sample_names == ["atom"]
    with pytest.raises(MetatensorError, match="multiple times"):
        remove_dimension(tensor, "samples", "atom")

    renamed = rename_dimension(tensor, "components", "c", "m")
    assert renamed.component_names == ["m"]
    gradient = renamed.block(0).gradient("positions")
    assert [c.names[0] for c in gradient.components] == ["xyz", "m"]
    assert rename_dimension(tensor, "keys", "key", "k").keys.names == ["k"]
    assert rename_dimension(tensor, "properties", "n", "q").property_names == ["q"]

    permuted = permute_dimensions(tensor, "samples", [1, 0])
    assert permuted.sample_names == ["atom", "system"]
    np.testing.assert_array_equal(
        permuted.block(0).samples.values, tensor.block(0).samples.values[:, ::-1]
    )


def test_errors():
    tensor = example()
    with pytest.raises(ValueError, match="'components' is not a valid axis."):
        append_dimension(tensor, "components", "x", 0)
    with pytest.raises(ValueError, match="'foo' is not a component"):
        rename_dimension(tensor, "components", "foo", "bar")
    with pytest.raises(ValueError, match="'foo' not found"):
        remove_dimension(tensor, "samples", "foo")
    with pytest.raises(
        ValueError,
        match="the new `values` contains 3 entries, but the Labels contains 2",
    ):
        append_dimension(tensor, "keys", "x", np.array([1, 2, 3]))
    with pytest.raises(MetatensorError, match="must be a 1-D array of 2 entries"):
        append_dimension(tensor, "keys", "x", np.array([[1, 2]]))


@requires_torch
def test_torch_keys():
    import torch

    tensor = example("torch")
    result = append_dimension(tensor, "keys", "x", torch.tensor([5, 6]))
    assert result.keys.column("x").tolist() == [5, 6]


def test_insert_positions_and_integer_scalars():
    tensor = example()
    result = insert_dimension(tensor, "samples", 1, "frame", np.int64(4))
    for block in result:
        assert block.samples.names == ["system", "frame", "atom"]
        assert set(block.samples.column("frame").tolist()) == {4}
    result = append_dimension(tensor, "properties", "extra", np.int32(2))
    assert result.property_names == ["n", "extra"]
    with pytest.raises(IndexError, match="can not insert a dimension at index -1"):
        insert_dimension(tensor, "samples", -1, "frame", 0)
    with pytest.raises(IndexError, match="can not insert a dimension at index 3"):
        insert_dimension(tensor, "samples", 3, "frame", 0)
