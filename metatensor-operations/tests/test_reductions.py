import numpy as np
import pytest
from _utils import ARRAYS, check_gradients, convert, requires_torch, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from metatensor import Labels, TensorBlock, TensorMap
from metatensor_operations import (
    mean_over_properties,
    mean_over_samples,
    mean_over_samples_block,
    std_over_properties,
    std_over_samples,
    sum_over_properties,
    sum_over_properties_block,
    sum_over_samples,
    sum_over_samples_block,
    var_over_properties,
    var_over_samples,
)

SAMPLES = {
    "sum": (sum_over_samples, np.sum),
    "mean": (mean_over_samples, np.mean),
    "var": (var_over_samples, np.var),
    "std": (std_over_samples, np.std),
}
PROPERTIES = {
    "sum": (sum_over_properties, np.sum),
    "mean": (mean_over_properties, np.mean),
    "var": (var_over_properties, np.var),
    "std": (std_over_properties, np.std),
}


def grouped_reference(labels_values, names, remove, values, reducer, axis):
    """{remaining label tuple: reduced values}, with a plain Python groupby"""
    keep = [i for i, name in enumerate(names) if name not in remove]
    groups = {}
    for i, row in enumerate(labels_values.tolist()):
        groups.setdefault(tuple(row[k] for k in keep), []).append(i)
    result = {}
    for key, rows in groups.items():
        result[key] = reducer(np.take(values, rows, axis=axis), axis=axis)
    return result


def block_with_positions(positions, seed=0):
    """One block whose samples (system, atom) have several atoms per system, values
    depending smoothly on the positions, with exact gradients"""
    rng = np.random.default_rng(seed)
    samples = np.array([[0, 0], [0, 1], [0, 2], [1, 3], [1, 0], [2, 1]])
    coefficients = rng.normal(size=(len(samples), 2, 3, 3))
    atoms = samples[:, 1]
    w = rng.normal(size=(3, 3))
    phase = positions[atoms] @ w.T
    values = np.einsum("scpk,sk->scp", coefficients, np.sin(phase))
    gradient = np.einsum("scpk,sk,kx->sxcp", coefficients, np.cos(phase), w)
    block = TensorBlock(
        values,
        Labels(["system", "atom"], samples),
        [Labels.range("c", 2)],
        Labels(["l", "n"], np.array([[0, 0], [0, 1], [1, 0]])),
    )
    gradient_samples = np.stack([np.arange(len(samples)), samples[:, 0], atoms], axis=1)
    block.add_gradient(
        "positions",
        TensorBlock(
            gradient,
            Labels(["sample", "system", "atom"], gradient_samples),
            [Labels.range("xyz", 3), Labels.range("c", 2)],
            block.properties,
        ),
    )
    return TensorMap(Labels.single(), [block])


@pytest.mark.parametrize("mode", list(SAMPLES))
@pytest.mark.parametrize("arrays", ARRAYS)
def test_over_samples(mode, arrays):
    function, reducer = SAMPLES[mode]
    tensor = convert(block_with_positions(np.ones((4, 3))), arrays)
    block = tensor.block()
    result = function(tensor, "atom").block()
    assert result.samples.names == ["system"]
    assert result.samples.values.tolist() == [[0], [1], [2]]
    expected = grouped_reference(
        to_numpy(block.samples.values),
        ["system", "atom"],
        ["atom"],
        to_numpy(block.values),
        reducer,
        0,
    )
    for i, (system,) in enumerate(result.samples.values.tolist()):
        np.testing.assert_allclose(to_numpy(result.values)[i], expected[(system,)])
    assert type(result.values) is type(block.values)


@pytest.mark.parametrize("mode", list(PROPERTIES))
@pytest.mark.parametrize("arrays", ARRAYS)
def test_over_properties(mode, arrays):
    function, reducer = PROPERTIES[mode]
    tensor = convert(block_with_positions(np.ones((4, 3))), arrays)
    block = tensor.block()
    result = function(tensor, ["n"]).block()
    assert result.properties.names == ["l"]
    assert result.properties.values.tolist() == [[0], [1]]
    expected = grouped_reference(
        to_numpy(block.properties.values),
        ["l", "n"],
        ["n"],
        to_numpy(block.values),
        reducer,
        -1,
    )
    for i, (angular,) in enumerate(result.properties.values.tolist()):
        np.testing.assert_allclose(
            to_numpy(result.values)[..., i], expected[(angular,)]
        )


def _check(function, arrays):
    import _utils
    from _utils import N_ATOMS

    original = _utils.smooth_tensor
    try:
        _utils.smooth_tensor = lambda positions, seed=0: block_with_positions(
            positions, seed
        )
        assert N_ATOMS == 4
        check_gradients(function, arrays=arrays)
    finally:
        _utils.smooth_tensor = original


@pytest.mark.parametrize("mode", list(SAMPLES))
@pytest.mark.parametrize("arrays", ARRAYS)
def test_gradients_over_samples(mode, arrays):
    function = SAMPLES[mode][0]
    _check(lambda tensor: function(tensor, "atom"), arrays)
    _check(lambda tensor: function(tensor, ["system", "atom"]), arrays)


@pytest.mark.parametrize("mode", list(PROPERTIES))
@pytest.mark.parametrize("arrays", ARRAYS)
def test_gradients_over_properties(mode, arrays):
    function = PROPERTIES[mode][0]
    _check(lambda tensor: function(tensor, "n"), arrays)
    _check(lambda tensor: function(tensor, ["l", "n"]), arrays)


def test_reduce_everything():
    tensor = block_with_positions(np.zeros((4, 3)))
    result = sum_over_samples(tensor, ["system", "atom"]).block()
    assert result.samples == Labels.single()
    np.testing.assert_allclose(result.values[0], tensor.block().values.sum(axis=0))
    gradient = result.gradient("positions")
    assert gradient.samples.names == ["sample", "system", "atom"]
    assert set(gradient.samples.column("sample").tolist()) == {0}


def test_block_versions():
    tensor = block_with_positions(np.zeros((4, 3)))
    block = tensor.block()
    assert (
        sum_over_samples_block(block, "atom")
        == sum_over_samples(tensor, "atom").block()
    )
    assert (
        mean_over_samples_block(block, ["atom"])
        == mean_over_samples(tensor, "atom").block()
    )
    assert (
        sum_over_properties_block(block, "n")
        == sum_over_properties(tensor, "n").block()
    )


def test_errors():
    tensor = block_with_positions(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="'foo' is not part of the samples"):
        sum_over_samples(tensor, "foo")
    with pytest.raises(ValueError, match="'atom' is not part of the properties"):
        sum_over_properties(tensor, "atom")
    with pytest.raises(
        TypeError,
        match="`tensor` must be a metatensor TensorMap, not .* \\(in 'sum_over_samples'\\)",
    ):
        sum_over_samples(tensor.block(), "atom")
    with pytest.raises(
        TypeError, match="`block` must be a metatensor TensorBlock, not"
    ):
        sum_over_samples_block(tensor, "atom")


@requires_torch
def test_torch_autograd():
    import torch

    tensor = block_with_positions(np.ones((4, 3))).to(arrays="torch")
    block = tensor.block()

    def function(values):
        new = TensorBlock(values, block.samples, block.components, block.properties)
        # std is not differentiable where it is zero (e.g. for groups of one
        # entry), so the groups here have several different entries
        tensor_map = TensorMap(tensor.keys, [new])
        variance = var_over_properties(mean_over_samples(tensor_map, "atom"), "n")
        deviation = std_over_properties(
            sum_over_samples(tensor_map, "atom"), ["l", "n"]
        )
        return variance.block().values.sum() + deviation.block().values

    values = block.values.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(function, (values,))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_sum_over_samples_random(data):
    n = data.draw(st.integers(1, 30))
    rows = data.draw(
        st.lists(
            st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    names = ["a", "b", "c"]
    remove = data.draw(
        st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)
    )
    values = np.random.default_rng(n).normal(size=(n, 2))
    block = TensorBlock(values, Labels(names, np.array(rows)), [], Labels.range("p", 2))
    result = sum_over_samples(TensorMap(Labels.single(), [block]), remove).block()
    expected = grouped_reference(np.array(rows), names, remove, values, np.sum, 0)
    assert len(result.samples) == len(expected)
    for i, row in enumerate(result.samples.values.tolist()):
        np.testing.assert_allclose(result.values[i], expected[tuple(row)])
    assert result.samples.values.tolist() == sorted(result.samples.values.tolist())
