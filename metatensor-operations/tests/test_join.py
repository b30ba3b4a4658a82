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
from metatensor_operations import (
    NotEqualError,
    equal,
    join,
    join_blocks,
    slice_block,
    split,
)


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
    with pytest.raises(NotEqualError, match="should have the same keys, use"):
        join([first, second], "samples", add_dimension="t")
    result = join([first, second], "samples", "intersection", add_dimension="t")
    assert result.keys.values.tolist() == [[1]]
    result = join([first, second], "samples", "union", add_dimension="t")
    assert result.keys.values.tolist() == [[0], [1], [7]]
    assert len(result.block(0).samples) == len(first.block(0).samples)
    with pytest.raises(
        ValueError, match="'all' is not a valid option for `different_keys`"
    ):
        join([first, second], "samples", "all")


def test_errors():
    tensor = example()
    with pytest.raises(ValueError, match="values for the `axis` parameter"):
        join([tensor], "keys")
    with pytest.raises(ValueError, match="provide at least one"):
        join([], "samples")
    with pytest.raises(
        TypeError,
        match="`tensors` must be a metatensor TensorMap, not "
        "<class 'metatensor.TensorBlock'>",
    ):
        join([tensor.block(0)], "samples")
    with pytest.raises(TypeError, match="list or a tuple"):
        join(tensor, "samples")
    other = TensorMap(
        Labels(["other"], np.array([[0], [1]])), [b.copy() for b in tensor]
    )
    with pytest.raises(NotEqualError, match="should have the same keys"):
        join([tensor, other], "samples")


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4))
def test_join_then_split(n_tensors):
    """Joining with `add_dimension` then splitting on it gives the inputs back"""
    tensors = [example(seed=i) for i in range(n_tensors)]
    if n_tensors == 1:
        # as upstream, a single map is returned as it is (without `add_dimension`)
        assert join(tensors, "samples", add_dimension="tensor") is tensors[0]
        return
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


@settings(max_examples=25, deadline=None)
@given(st.data(), st.sampled_from(["samples", "properties"]))
def test_split_then_join(data, axis):
    """Splitting in consecutive chunks of positions then joining them again gives
    the input back, gradients included"""
    tensor = example()
    # the smallest block sets how many positions every chunk can take
    size = min(len(getattr(block, axis)) for block in tensor)
    cuts = data.draw(st.lists(st.integers(1, size - 1), max_size=3, unique=True))
    bounds = [0] + sorted(cuts) + [size]
    chunks = [list(range(bounds[i], bounds[i + 1])) for i in range(len(bounds) - 1)]
    # the last chunk takes the remaining entries of the larger blocks
    parts = []
    for i, chunk in enumerate(chunks):
        blocks = []
        for block in tensor:
            n = len(getattr(block, axis))
            positions = chunk if i != len(chunks) - 1 else list(range(chunk[0], n))
            blocks.append(slice_block(block, axis, positions))
        parts.append(TensorMap(tensor.keys, blocks))
    assert equal(join(parts, axis), tensor)


def test_join_block_errors():
    tensor = example()
    block = tensor.block(0)
    other = tensor.block(1)
    with pytest.raises(ValueError, match="values for the `axis` parameter"):
        join_blocks([block], "components")
    with pytest.raises(ValueError, match="provide at least one TensorBlock"):
        join_blocks([], "samples")
    with pytest.raises(ValueError, match="should have the same properties to be"):
        join_blocks([block, other], "samples")
    without_gradients = TensorBlock(
        block.values, block.samples, block.components, block.properties
    )
    with pytest.raises(ValueError, match="inputs to 'join' should have the same gr"):
        join_blocks([block, without_gradients], "properties", add_dimension="t")
    no_components = TensorBlock(block.values[:, 0], block.samples, [], block.properties)
    with pytest.raises(ValueError, match="inputs to 'join' should have the same comp"):
        join_blocks([without_gradients, no_components], "properties", "t")
    renamed = TensorBlock(
        block.values, block.samples, block.components, Labels.range("m", 2)
    )
    # different property names: the properties number the entries of each block
    joined = join_blocks([without_gradients, renamed], "properties")
    assert joined.properties.names == ["joined_index", "property"]
    assert len(joined.properties) == 2 * len(block.properties)

    nested = TensorBlock(
        block.values, block.samples, block.components, block.properties
    )
    gradient = block.gradient("positions")
    gradient_copy = TensorBlock(
        gradient.values, gradient.samples, gradient.components, gradient.properties
    )
    gradient_copy.add_gradient(
        "positions",
        TensorBlock(
            gradient.values, gradient.samples, gradient.components, gradient.properties
        ),
    )
    nested.add_gradient("positions", gradient_copy)
    with pytest.raises(NotImplementedError, match="gradients of gradients"):
        join_blocks([nested, nested], "samples", add_dimension="t")


@requires_torch
def test_join_mixed_backends():
    first, second = example("numpy"), example("torch")
    with pytest.raises(TypeError, match="must all be numpy arrays or all torch"):
        join([first, second], "samples", add_dimension="tensor")


@requires_torch
@pytest.mark.parametrize("axis", ["samples", "properties"])
def test_join_torch_autograd(axis):
    import torch

    def function(first, second):
        blocks = [
            TensorBlock(values, Labels.range("s", 3), [], Labels.range("p", 2))
            for values in (first, second)
        ]
        tensors = [TensorMap(Labels.single(), [block]) for block in blocks]
        return join(tensors, axis, add_dimension="tensor").block().values

    inputs = tuple(
        torch.rand(3, 2, dtype=torch.float64, requires_grad=True) for _ in range(2)
    )
    assert torch.autograd.gradcheck(function, inputs)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_join_properties_different_gradient_rows(arrays):
    """Same samples, but gradient rows present in only one of the blocks"""
    blocks = []
    for i, rows in enumerate([[[0, 0], [1, 1]], [[1, 1], [1, 2]]]):
        block = TensorBlock(
            np.full((2, 1), float(i)),
            Labels.range("s", 2),
            [],
            Labels(["p"], np.array([[i]])),
        )
        block.add_gradient(
            "g",
            TensorBlock(
                np.array([[10.0 * i + 1], [10.0 * i + 2]]),
                Labels(["sample", "atom"], np.array(rows)),
                [],
                block.properties,
            ),
        )
        blocks.append(convert(TensorMap(Labels.single(), [block]), arrays).block())
    result = join_blocks(blocks, "properties")
    assert result.properties.values.tolist() == [[0], [1]]
    np.testing.assert_array_equal(to_numpy(result.values), [[0.0, 1.0], [0.0, 1.0]])
    gradient = result.gradient("g")
    assert gradient.samples.values.tolist() == [[0, 0], [1, 1], [1, 2]]
    np.testing.assert_array_equal(
        to_numpy(gradient.values), [[1.0, 0.0], [2.0, 11.0], [0.0, 12.0]]
    )
