import numpy as np
import pytest
from _utils import ARRAYS, convert

from metatensor import Labels, MetatensorError, TensorBlock, TensorMap
from metatensor_operations import (
    drop_blocks,
    drop_empty_blocks,
    equal_block,
    filter_blocks,
)


def example(arrays="numpy"):
    keys = Labels(["a", "b"], np.array([[0, 0], [0, 1], [1, 0], [1, 1]]))
    blocks = []
    for i, n in enumerate([2, 0, 3, 1]):
        block = TensorBlock(
            np.full((n, 2), float(i)), Labels.range("s", n), [], Labels.range("p", 2)
        )
        block.add_gradient(
            "g",
            TensorBlock(
                np.full((n, 2), 10.0 + i),
                Labels(["sample"], np.arange(n).reshape(-1, 1)),
                [],
                block.properties,
            ),
        )
        blocks.append(block)
    return convert(TensorMap(keys, blocks), arrays)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_drop_and_filter(arrays):
    tensor = example(arrays)
    result = drop_blocks(tensor, Labels(["a"], np.array([[0]])))
    assert result.keys.values.tolist() == [[1, 0], [1, 1]]
    assert equal_block(result.block(0), tensor.block(2))
    assert result.block(0).values is tensor.block(2).values
    copied = drop_blocks(tensor, Labels(["a"], np.array([[0]])), copy=True)
    assert copied.block(0).values is not tensor.block(2).values
    assert equal_block(copied.block(0), tensor.block(2))

    selection = Labels(["a", "b"], np.array([[1, 1], [0, 0]]))
    result = filter_blocks(tensor, selection)
    assert result.keys.values.tolist() == [[1, 1], [0, 0]]
    assert equal_block(result.block(0), tensor.block(3))

    result = filter_blocks(tensor, Labels(["b"], np.array([[1]])))
    assert result.keys.values.tolist() == [[0, 1], [1, 1]]

    empty = filter_blocks(tensor, Labels(["a"], np.array([[5]])))
    assert len(empty) == 0
    assert empty.keys.names == ["a", "b"]


def test_drop_empty_blocks():
    tensor = example()
    result = drop_empty_blocks(tensor)
    assert result.keys.values.tolist() == [[0, 0], [1, 0], [1, 1]]


def test_errors():
    with pytest.raises(MetatensorError, match="'c' in selection is not part"):
        drop_blocks(example(), Labels(["c"], np.array([[0]])))
