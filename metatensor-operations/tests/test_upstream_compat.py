"""Behaviours that code written for upstream metatensor-operations relies on
(see the package README for the deliberate differences)"""

import importlib
import sys

import numpy as np
import pytest
from _utils import requires_torch

import metatensor
import metatensor_operations
from metatensor_operations import _dispatch


def test_operations_is_the_package():
    assert metatensor.operations is metatensor_operations
    assert sys.modules["metatensor.operations"] is metatensor_operations
    assert metatensor.operations._dispatch is _dispatch
    assert importlib.import_module("metatensor.operations._dispatch") is _dispatch
    from metatensor.operations import _checks

    assert _checks is metatensor_operations._checks


@pytest.mark.parametrize(
    "arrays", ["numpy", pytest.param("torch", marks=requires_torch)]
)
def test_dispatch_names(arrays):
    array = np.array([[1.0, 2.0], [3.0, 0.0]])
    if arrays == "torch":
        import torch

        array = torch.tensor(array)

    zeros = _dispatch.zeros_like(array, [3])
    ones = _dispatch.ones_like(array, shape=[2, 1])
    assert type(zeros) is type(array) and zeros.dtype == array.dtype
    assert list(zeros.shape) == [3] and float(zeros.sum()) == 0.0
    assert list(ones.shape) == [2, 1] and float(ones.sum()) == 2.0
    assert list(_dispatch.ones_like(array).shape) == [2, 2]

    assert float(_dispatch.sum(array)) == 6.0
    assert [float(x) for x in _dispatch.sum(array, axis=0)] == [4.0, 2.0]
    assert not bool(_dispatch.all(array != 0))
    assert [bool(x) for x in _dispatch.all(array != 0, axis=1)] == [True, False]

    copy = _dispatch.copy(array)
    copy[0, 0] = 10.0
    assert float(array[0, 0]) == 1.0


def _one_group(values: np.ndarray) -> metatensor.TensorMap:
    n = values.shape[0]
    samples = metatensor.Labels(
        ["system", "atom"], np.array([[0, i] for i in range(n)], dtype=np.int32)
    )
    components = [metatensor.Labels.range("c", values.shape[1])]
    block = metatensor.TensorBlock(
        values, samples, components, metatensor.Labels.range("p", values.shape[2])
    )
    return metatensor.TensorMap(metatensor.Labels.range("key", 1), [block])


@pytest.mark.parametrize(
    "reduction, reference",
    [
        (metatensor.sum_over_samples, np.sum),
        (metatensor.mean_over_samples, np.mean),
        (metatensor.var_over_samples, np.var),
        (metatensor.std_over_samples, np.std),
    ],
)
@pytest.mark.parametrize("n_samples", [1, 3, 50, 1000])
def test_reduction_of_one_group_is_bit_identical_to_numpy(
    reduction, reference, n_samples
):
    # values spanning many orders of magnitude make the summation order visible
    rng = np.random.default_rng(n_samples)
    shape = (n_samples, 3, 4)
    values = rng.normal(size=shape) * 10 ** rng.uniform(-6, 6, size=shape)
    result = reduction(_one_group(values), "atom").block().values
    assert np.array_equal(result[0], reference(values, axis=0))


def test_mean_gradient_with_sparse_gradients():
    # kept different from upstream on purpose: three samples are averaged, two of
    # them have a gradient with respect to atom 0, so d(mean)/d(x_0) is 2/3 (upstream
    # divides by the number of gradient rows and gives 1)
    samples = metatensor.Labels(
        ["system", "atom"], np.array([[0, 0], [0, 1], [0, 2]], dtype=np.int32)
    )
    block = metatensor.TensorBlock(
        np.ones((3, 1)), samples, [], metatensor.Labels.range("p", 1)
    )
    gradient_samples = metatensor.Labels(
        ["sample", "system", "atom"], np.array([[0, 0, 0], [1, 0, 0]], dtype=np.int32)
    )
    block.add_gradient(
        "positions",
        metatensor.TensorBlock(
            np.ones((2, 3, 1)),
            gradient_samples,
            [metatensor.Labels.range("xyz", 3)],
            block.properties,
        ),
    )
    tensor = metatensor.TensorMap(metatensor.Labels.range("key", 1), [block])
    gradient = (
        metatensor.mean_over_samples(tensor, "atom").block().gradient("positions")
    )
    assert gradient.samples.values.tolist() == [[0, 0, 0]]
    np.testing.assert_allclose(gradient.values, np.full((1, 3, 1), 2.0 / 3.0))


def _tensor() -> metatensor.TensorMap:
    block = metatensor.block_from_array(np.arange(6.0).reshape(3, 2))
    return metatensor.TensorMap(metatensor.Labels.range("key", 1), [block])


def test_argument_type_messages():
    tensor = _tensor()
    array = np.zeros((3, 2))
    with pytest.raises(
        TypeError,
        match="`A` must be a metatensor TensorMap, not <class 'numpy.ndarray'>",
    ):
        metatensor.add(array, tensor)
    with pytest.raises(
        TypeError,
        match="`B` must be a metatensor TensorMap or a scalar value, "
        "not <class 'numpy.ndarray'>",
    ):
        metatensor.multiply(tensor, array)
    with pytest.raises(
        TypeError, match="`B` must be a scalar value, not <class 'numpy.ndarray'>"
    ):
        metatensor.pow(tensor, np.array([2.0, 3.0]))
    with pytest.raises(
        TypeError,
        match="`block` must be a metatensor TensorBlock, "
        "not <class 'metatensor.TensorMap'>",
    ):
        metatensor.sum_over_samples_block(tensor, "sample")
    # numpy scalars are scalars
    assert metatensor.add(tensor, np.float32(1.0)).block().values[0, 0] == 1.0
    assert metatensor.pow(tensor, np.int64(2)).block().values[1, 1] == 9.0


def test_requested_gradient_messages():
    tensor = _tensor()
    for function in ["empty_like", "zeros_like", "ones_like", "random_uniform_like"]:
        with pytest.raises(
            ValueError,
            match=f"requested gradient 'err' in '{function}' is not defined in this "
            "tensor",
        ):
            getattr(metatensor, function)(tensor, gradients="err")


def test_unique_metadata_argument_messages():
    tensor = _tensor()
    block = tensor.block()
    cases = [
        (TypeError, "`axis` must be a string, not <class 'float'>", (3.14, "sample")),
        (
            TypeError,
            "`names` must be a list of strings, not <class 'float'>",
            ("samples", 3.14),
        ),
        (
            TypeError,
            "`names` elements must be a strings, not <class 'float'>",
            ("samples", [3.14]),
        ),
        (
            ValueError,
            "`axis` must be either 'samples' or 'properties', not 'ciao'",
            ("ciao", "sample"),
        ),
        (
            ValueError,
            "'ciao' not found in the dimensions of these Labels",
            ("samples", "ciao"),
        ),
    ]
    for error, message, arguments in cases:
        with pytest.raises(error, match=message):
            metatensor.unique_metadata(tensor, *arguments)
        with pytest.raises(error, match=message):
            metatensor.unique_metadata_block(block, *arguments)
    with pytest.raises(
        TypeError, match="`gradient` must be a string, not <class 'float'>"
    ):
        metatensor.unique_metadata(tensor, "samples", "sample", gradient=3.14)
    with pytest.raises(
        TypeError,
        match="`tensor` must be a metatensor TensorMap, not <class 'metatensor.TensorBlock'>",
    ):
        metatensor.unique_metadata(block, "samples", "sample")
    # tuples of names are accepted
    assert metatensor.unique_metadata(tensor, "samples", ("sample",)).names == [
        "sample"
    ]


@pytest.mark.parametrize(
    "arrays", ["numpy", pytest.param("torch", marks=requires_torch)]
)
def test_sort_descending_sorts_gradient_components(arrays):
    values = np.arange(6.0).reshape(3, 2)
    block = metatensor.block_from_array(values)
    gradient_values = np.arange(3 * 3 * 2, dtype=np.float64).reshape(3, 3, 2)
    block.add_gradient(
        "positions",
        metatensor.TensorBlock(
            gradient_values,
            metatensor.Labels(
                ["sample", "atom"], np.array([[0, 0], [1, 0], [2, 0]], dtype=np.int32)
            ),
            [metatensor.Labels.range("xyz", 3)],
            block.properties,
        ),
    )
    tensor = metatensor.TensorMap(metatensor.Labels.range("key", 1), [block])
    if arrays == "torch":
        tensor = tensor.to(arrays="torch")
    result = metatensor.sort(tensor, descending=True).block()
    gradient = result.gradient("positions")
    assert gradient.components[0].values.tolist() == [[2], [1], [0]]
    assert gradient.samples.values.tolist() == [[2, 0], [1, 0], [0, 0]]
    expected = gradient_values[:, ::-1, ::-1]
    np.testing.assert_array_equal(np.asarray(gradient.values), expected)
    # the gradient is still consistent with the values: same entry, same number
    assert float(result.values[0, 0]) == values[2, 1]

    with pytest.raises(
        ValueError,
        match="`axes` must be one of 'samples', 'components' or 'properties', not 'error'",
    ):
        metatensor.sort_block(block, axes="error")


def _two_blocks(components_2):
    first = metatensor.TensorBlock(
        np.zeros((2, 3, 1)),
        metatensor.Labels.range("s", 2),
        [metatensor.Labels.range("c", 3)],
        metatensor.Labels.range("p", 1),
    )
    second = metatensor.TensorBlock(
        np.zeros((2,) + tuple(len(c) for c in components_2) + (1,)),
        metatensor.Labels.range("s", 2),
        components_2,
        metatensor.Labels.range("p", 1),
    )
    return first, second


def test_comparison_messages():
    first, second = _two_blocks([])
    keys = metatensor.Labels(["key_1", "key_2"], np.array([[0, 0]], dtype=np.int32))
    with pytest.raises(
        metatensor.NotEqualError,
        match=r"blocks for key \(key_1=0, key_2=0\) are different: values shapes are "
        "different",
    ):
        metatensor.allclose_raise(
            metatensor.TensorMap(keys, [first]), metatensor.TensorMap(keys, [second])
        )
    first, second = _two_blocks([])
    with pytest.raises(metatensor.NotEqualError, match="^values shapes are different"):
        metatensor.equal_block_raise(first, second)
    with pytest.raises(
        metatensor.NotEqualError,
        match="inputs to 'equal_metadata_block_raise' have a different number of "
        "components",
    ):
        metatensor.equal_metadata_block_raise(first, second)

    first, second = _two_blocks([metatensor.Labels.range("other_c", 3)])
    with pytest.raises(
        metatensor.NotEqualError,
        match="inputs to 'allclose' should have the same components, but they are not "
        "the same or not in the same order",
    ):
        metatensor.allclose_block_raise(first, second)
    with pytest.raises(
        ValueError,
        match="'wrong' does not refer to metadata to check, choose from 'samples', "
        "'properties' and 'components'",
    ):
        metatensor.equal_metadata_block(first, first, check=["wrong"])


def test_rename_sample_dimension_renames_gradient_samples():
    samples = metatensor.Labels(
        ["system", "atom"], np.array([[0, 0], [0, 1]], dtype=np.int32)
    )
    block = metatensor.TensorBlock(
        np.ones((2, 1)), samples, [], metatensor.Labels.range("p", 1)
    )
    block.add_gradient(
        "positions",
        metatensor.TensorBlock(
            np.ones((2, 3, 1)),
            metatensor.Labels(
                ["sample", "system", "atom"],
                np.array([[0, 0, 0], [1, 0, 1]], dtype=np.int32),
            ),
            [metatensor.Labels.range("xyz", 3)],
            block.properties,
        ),
    )
    tensor = metatensor.TensorMap(metatensor.Labels.range("key", 1), [block])
    renamed = metatensor.rename_dimension(tensor, "samples", "atom", "center")
    assert renamed.block().samples.names == ["system", "center"]
    gradient = renamed.block().gradient("positions")
    assert gradient.samples.names == ["sample", "system", "center"]
    assert gradient.samples.values.tolist() == [[0, 0, 0], [1, 0, 1]]
    # properties renames do not touch the gradient samples
    renamed = metatensor.rename_dimension(tensor, "properties", "p", "n")
    assert renamed.block().gradient("positions").samples.names[2] == "atom"


def test_join_properties_with_different_names():
    first = _tensor()
    block = metatensor.TensorBlock(
        np.ones((3, 1)),
        metatensor.Labels.range("sample", 3),
        [],
        metatensor.Labels.range("n", 1),
    )
    second = metatensor.TensorMap(metatensor.Labels.range("key", 1), [block])
    joined = metatensor.join([first, second], "properties")
    properties = joined.block().properties
    assert properties.names == ["joined_index", "property"]
    assert properties.values.tolist() == [[0, 0], [0, 1], [1, 0]]
    np.testing.assert_array_equal(
        joined.block().values,
        np.hstack([np.arange(6.0).reshape(3, 2), np.ones((3, 1))]),
    )
    # a single map is returned as it is
    assert metatensor.join([first], "samples") is first
    with pytest.raises(
        ValueError, match="Different tensor have different sample names"
    ):
        metatensor.join(
            [first, metatensor.rename_dimension(first, "samples", "sample", "s")],
            "samples",
        )


@pytest.mark.parametrize(
    "arrays", ["numpy", pytest.param("torch", marks=requires_torch)]
)
def test_reducing_every_sample_dimension_of_an_empty_block(arrays):
    block = metatensor.TensorBlock(
        np.zeros((0, 2)),
        metatensor.Labels(["system", "atom"], np.zeros((0, 2), dtype=np.int32)),
        [],
        metatensor.Labels.range("p", 2),
    )
    tensor = metatensor.TensorMap(metatensor.Labels.range("key", 1), [block])
    if arrays == "torch":
        tensor = tensor.to(arrays="torch")
    result = metatensor.sum_over_samples(tensor, ["system", "atom"]).block()
    assert result.samples.names == []
    assert len(result.samples) == 0
    assert list(result.values.shape) == [0, 2]
    # with entries, everything goes to the single entry `_=0`
    full = metatensor.sum_over_samples(_tensor(), ["sample"]).block()
    assert full.samples.names == ["_"] and full.samples.values.tolist() == [[0]]


def test_print_checks_switch():
    with metatensor.unsafe_disable_checks() as switch:
        assert repr(switch) == "checks disabled"
    assert repr(metatensor.unsafe_enable_checks()) == "checks enabled"
