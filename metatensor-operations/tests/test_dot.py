import numpy as np
import pytest
from _utils import ARRAYS, check_gradients, convert, smooth_tensor, to_numpy

from metatensor import Labels, TensorBlock, TensorMap
from metatensor_operations import NotEqualError, dot, remove_gradients


def example(arrays="numpy", seed=0):
    positions = np.random.default_rng(0).normal(size=(4, 3))
    return convert(smooth_tensor(positions, seed=seed), arrays)


def matrix_like(tensor, n_rows=5):
    """A map with, for each block, a (n_rows, n_properties) matrix"""
    rng = np.random.default_rng(3)
    blocks = []
    for block in tensor:
        values = rng.normal(size=(n_rows, len(block.properties)))
        blocks.append(
            TensorBlock(values, Labels.range("row", n_rows), [], block.properties)
        )
    return TensorMap(tensor.keys, blocks)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_dot(arrays):
    tensor = example(arrays)
    matrix = convert(matrix_like(example()), arrays)
    result = dot(tensor, matrix)
    for block, original, other in zip(result, tensor, matrix):
        assert block.samples == original.samples
        assert block.properties == other.samples
        np.testing.assert_allclose(
            to_numpy(block.values), to_numpy(original.values) @ to_numpy(other.values).T
        )
    check_gradients(lambda t: dot(t, convert(matrix, arrays)), arrays=arrays)
    assert (tensor @ matrix).block(0).shape == result.block(0).shape


def test_dot_errors():
    tensor = example()
    with pytest.raises(ValueError, match="can not have components"):
        dot(tensor, remove_gradients(tensor))
    matrix = matrix_like(example())
    blocks = []
    for block in matrix:
        new = block.copy()
        new.add_gradient(
            "g",
            TensorBlock(
                block.values[:1],
                Labels(["sample"], np.array([[0]])),
                [],
                block.properties,
            ),
        )
        blocks.append(new)
    with_gradients = TensorMap(matrix.keys, blocks)
    with pytest.raises(ValueError, match="can not have gradients"):
        dot(tensor, with_gradients)
    wrong = TensorMap(
        matrix.keys,
        [
            TensorBlock(b.values, b.samples, [], Labels(["m"], b.properties.values))
            for b in matrix
        ],
    )
    with pytest.raises(NotEqualError, match="should have the same properties"):
        dot(tensor, wrong)
