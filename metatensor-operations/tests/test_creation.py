import numpy as np
import pytest
from _utils import ARRAYS, convert, requires_torch, smooth_tensor, to_numpy

from metatensor import Labels
from metatensor_operations import (
    block_from_array,
    empty_like,
    empty_like_block,
    ones_like,
    ones_like_block,
    random_uniform_like,
    random_uniform_like_block,
    zeros_like,
    zeros_like_block,
)


def example(arrays="numpy"):
    positions = np.random.default_rng(0).normal(size=(4, 3))
    return convert(smooth_tensor(positions), arrays)


def test_block_from_array():
    array = np.arange(24.0).reshape(2, 3, 4)
    block = block_from_array(array)
    assert block.values is array
    assert block.samples == Labels.range("sample", 2)
    assert block.components == [Labels.range("component_1", 3)]
    assert block.properties == Labels.range("property", 4)

    named = block_from_array(array, ["system"], ["xyz"], ["n"])
    assert named.samples.names == ["system"]
    assert named.components[0].names == ["xyz"]
    assert named.properties.names == ["n"]

    with pytest.raises(ValueError, match="does not have enough dimensions: it has 1"):
        block_from_array(np.zeros(3))
    with pytest.raises(ValueError, match="does not have enough dimensions"):
        block_from_array(array, sample_names=["a", "b"], property_names=["c", "d"])
    with pytest.raises(ValueError, match="at least one sample name"):
        block_from_array(array, sample_names=[])
    with pytest.raises(ValueError, match="got 2 component names for an array with 1"):
        block_from_array(array, component_names=["a", "b"])


@pytest.mark.parametrize("arrays", ARRAYS)
def test_block_from_array_several_names(arrays):
    # the leading axes are flattened into samples and the trailing ones into
    # properties, labelled by every combination of indices in C order
    array = np.arange(2 * 3 * 4 * 5 * 2, dtype=np.float64).reshape(2, 3, 4, 5, 2)
    if arrays == "torch":
        import torch

        array = torch.tensor(array)
    block = block_from_array(
        array, sample_names=["system", "atom"], property_names=["n", "l"]
    )
    assert list(block.values.shape) == [6, 4, 10]
    assert block.samples.names == ["system", "atom"]
    assert block.samples.values.tolist() == [[s, a] for s in range(2) for a in range(3)]
    assert [c.names for c in block.components] == [["component_1"]]
    assert block.properties.values.tolist() == [
        [n, k] for n in range(5) for k in range(2)
    ]
    # entry (system=1, atom=2, component=3, n=4, l=1) is where the array had it
    sample = block.samples.position([1, 2])
    prop = block.properties.position([4, 1])
    assert float(block.values[sample, 3, prop]) == float(array[1, 2, 3, 4, 1])

    only_samples = block_from_array(array, sample_names=["a", "b", "c", "d"])
    assert list(only_samples.values.shape) == [2 * 3 * 4 * 5, 2]
    assert only_samples.components == []


@requires_torch
def test_block_from_array_torch():
    import torch

    array = torch.zeros((2, 3))
    block = block_from_array(array)
    assert block.values is array
    assert isinstance(block.samples.values, torch.Tensor)


FUNCTIONS = {
    "zeros": (zeros_like, zeros_like_block, 0.0),
    "ones": (ones_like, ones_like_block, 1.0),
    "empty": (empty_like, empty_like_block, None),
    "uniform": (random_uniform_like, random_uniform_like_block, None),
}


@pytest.mark.parametrize("kind", list(FUNCTIONS))
@pytest.mark.parametrize("arrays", ARRAYS)
def test_like(kind, arrays):
    function, block_function, fill = FUNCTIONS[kind]
    tensor = example(arrays)
    result = function(tensor)
    assert result.keys == tensor.keys
    for block, original in zip(result, tensor):
        assert block.samples == original.samples
        assert block.properties == original.properties
        assert block.values.shape == original.values.shape
        assert block.values.dtype == original.values.dtype
        assert type(block.values) is type(original.values)
        assert block.gradients_list() == ["positions"]
        gradient = block.gradient("positions")
        assert gradient.samples == original.gradient("positions").samples
        values = to_numpy(block.values)
        if fill is not None:
            assert np.all(values == fill)
            assert np.all(to_numpy(gradient.values) == fill)
        if kind == "uniform":
            assert np.all((values >= 0) & (values < 1))

    single = block_function(tensor.block(0), gradients=[])
    assert single.gradients_list() == []
    assert function(tensor, gradients="positions").block(0).has_gradient("positions")
    with pytest.raises(
        ValueError,
        match="requested gradient 'cell' in '[a-z_]+' is not defined in this tensor",
    ):
        function(tensor, gradients=["cell"])


@requires_torch
def test_requires_grad():
    tensor = example("torch")
    result = zeros_like(tensor, requires_grad=True)
    assert result.block(0).values.requires_grad
    assert result.block(0).gradient("positions").values.requires_grad
    with pytest.raises(ValueError, match="only possible with torch arrays"):
        zeros_like(example("numpy"), requires_grad=True)


def test_like_type_errors():
    with pytest.raises(
        TypeError,
        match="`tensor` must be a metatensor TensorMap, not <class 'metatensor.TensorBlock'>",
    ):
        zeros_like(example().block(0))
