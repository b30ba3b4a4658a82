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

import metatensor
from metatensor import Labels, TensorBlock, TensorMap
from metatensor_operations import NotEqualError, add


def example(arrays="numpy", seed=0):
    rng = np.random.default_rng(seed)
    return convert(smooth_tensor(rng.normal(size=(4, 3)), seed=seed), arrays)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_add_tensors(arrays):
    first, second = example(arrays, 0), example(arrays, 1)
    result = add(first, second)
    assert result.keys == first.keys
    for block, block_1, block_2 in zip(result, first, second):
        assert block.samples == block_1.samples
        assert block.properties == block_1.properties
        expected = to_numpy(block_1.values) + to_numpy(block_2.values)
        np.testing.assert_allclose(to_numpy(block.values), expected)
        gradient = block.gradient("positions")
        expected = to_numpy(block_1.gradient("positions").values) + to_numpy(
            block_2.gradient("positions").values
        )
        np.testing.assert_allclose(to_numpy(gradient.values), expected)
        assert type(block.values) is type(block_1.values)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_add_scalar(arrays):
    tensor = example(arrays)
    result = add(tensor, 2)
    for block, original in zip(result, tensor):
        np.testing.assert_allclose(
            to_numpy(block.values), to_numpy(original.values) + 2
        )
        np.testing.assert_allclose(
            to_numpy(block.gradient("positions").values),
            to_numpy(original.gradient("positions").values),
        )


@pytest.mark.parametrize("arrays", ARRAYS)
def test_add_gradients(arrays):
    check_gradients(add, n_inputs=2, arrays=arrays)
    check_gradients(lambda tensor: add(tensor, 3.5), arrays=arrays)


def test_add_keys_in_other_order():
    first = example()
    blocks = [block.copy() for block in reversed(list(first))]
    keys = Labels(first.keys.names, first.keys.values[::-1])
    reordered = TensorMap(keys, blocks)
    result = add(first, reordered)
    for block, original in zip(result, first):
        np.testing.assert_allclose(block.values, 2 * original.values)


def test_operators():
    tensor = example()
    assert metatensor.add is add
    np.testing.assert_allclose(
        (tensor + tensor).block(0).values, 2 * tensor.block(0).values
    )


def test_add_errors():
    tensor = example()
    other_keys = TensorMap(
        Labels(["other"], np.array([[0], [1]])), [b.copy() for b in tensor]
    )
    with pytest.raises(
        NotEqualError, match="inputs to 'add' should have the same keys names"
    ):
        add(tensor, other_keys)

    block = tensor.block(0)
    different = TensorBlock(
        block.values,
        Labels(["system", "atom"], block.samples.values + 10),
        block.components,
        block.properties,
    )
    other = TensorMap(Labels(["key"], np.array([[0]])), [different])
    single = TensorMap(Labels(["key"], np.array([[0]])), [tensor.block(0).copy()])
    with pytest.raises(
        NotEqualError,
        match=r"inputs to 'add' should have the same samples for the block at key "
        r"\(key=0\)",
    ):
        add(single, other)

    with pytest.raises(
        TypeError,
        match="`B` must be a metatensor TensorMap or a scalar value, not <class 'str'>",
    ):
        add(tensor, "3")
    with pytest.raises(TypeError, match="`A` must be a metatensor TensorMap, not"):
        add(3, tensor)
    with pytest.raises(NotEqualError, match="should have the same gradient parameters"):
        add(
            single,
            TensorMap(
                single.keys,
                [
                    TensorBlock(
                        block.values, block.samples, block.components, block.properties
                    )
                ],
            ),
        )


@requires_torch
def test_mixed_arrays():
    with pytest.raises(TypeError, match="must all be numpy arrays or all torch"):
        add(example("numpy"), example("torch"))


def test_unsafe_disable_checks():
    tensor = example()
    with metatensor.unsafe_disable_checks():
        assert not metatensor.checks_enabled()
        add(tensor, tensor)
    assert metatensor.checks_enabled()


# ================================================================================ #
# subtract, multiply, divide, pow, abs

import hypothesis.strategies as st  # noqa: E402
from hypothesis import given, settings  # noqa: E402

from metatensor_operations import (  # noqa: E402
    abs,
    divide,
    multiply,
    pow,
    subtract,
)

BINARY = {
    "subtract": (subtract, np.subtract),
    "multiply": (multiply, np.multiply),
    "divide": (divide, np.divide),
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("arrays", ARRAYS)
def test_binary_values(name, arrays):
    function, reference = BINARY[name]
    first, second = example(arrays, 0), example(arrays, 1)
    for result, block_1, block_2 in zip(function(first, second), first, second):
        expected = reference(to_numpy(block_1.values), to_numpy(block_2.values))
        np.testing.assert_allclose(to_numpy(result.values), expected)
        assert result.samples == block_1.samples
        assert type(result.values) is type(block_1.values)
    for result, block in zip(function(first, 2.5), first):
        np.testing.assert_allclose(
            to_numpy(result.values), reference(to_numpy(block.values), 2.5)
        )


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("arrays", ARRAYS)
def test_binary_gradients(name, arrays):
    function = BINARY[name][0]
    check_gradients(function, n_inputs=2, arrays=arrays)
    check_gradients(lambda tensor: function(tensor, 2.5), arrays=arrays)
    check_gradients(lambda tensor: function(tensor, tensor), arrays=arrays)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_pow(arrays):
    tensor = example(arrays)
    for result, block in zip(pow(tensor, 3), tensor):
        np.testing.assert_allclose(to_numpy(result.values), to_numpy(block.values) ** 3)
    check_gradients(lambda tensor: pow(tensor, 3), arrays=arrays)
    check_gradients(lambda tensor: pow(multiply(tensor, tensor), 0.5), arrays=arrays)
    with pytest.raises(TypeError, match="`B` must be a scalar value, not"):
        pow(tensor, tensor)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_abs(arrays):
    tensor = example(arrays)
    for result, block in zip(abs(tensor), tensor):
        np.testing.assert_allclose(
            to_numpy(result.values), np.abs(to_numpy(block.values))
        )
    check_gradients(abs, arrays=arrays)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_abs_complex(arrays):
    tensor = example()
    blocks = []
    for block in tensor:
        complex_block = TensorBlock(
            block.values * (1 + 2j), block.samples, block.components, block.properties
        )
        gradient = block.gradient("positions")
        complex_block.add_gradient(
            "positions",
            TensorBlock(
                gradient.values * (1 + 2j),
                gradient.samples,
                gradient.components,
                gradient.properties,
            ),
        )
        blocks.append(complex_block)
    result = abs(convert(TensorMap(tensor.keys, blocks), arrays))
    for block, original in zip(result, tensor):
        # |(1 + 2j) f(x)| = sqrt(5) |f(x)|
        modulus = np.abs(original.values) * np.sqrt(5)
        sign = np.sign(original.values)[:, None]
        gradient = original.gradient("positions").values
        if arrays == "numpy":
            # as upstream: the modulus keeps the complex dtype, and the gradient
            # is (z / |z|) dz = (1 + 2j)^2 / sqrt(5) sign(f) df
            assert block.values.dtype == np.complex128
            np.testing.assert_allclose(block.values, modulus + 0j)
            expected = (1 + 2j) ** 2 / np.sqrt(5) * sign * gradient
        else:
            # torch: a real modulus and its derivative
            assert not block.values.is_complex()
            np.testing.assert_allclose(to_numpy(block.values), modulus)
            expected = np.sqrt(5) * sign * gradient
        np.testing.assert_allclose(
            to_numpy(block.gradient("positions").values), expected
        )


@requires_torch
def test_torch_autograd():
    import torch

    tensor = example("torch")
    values = [block.values.clone().requires_grad_(True) for block in tensor]

    def function(*arrays):
        blocks = [
            TensorBlock(array, block.samples, block.components, block.properties)
            for array, block in zip(arrays, tensor)
        ]
        tensor_map = TensorMap(tensor.keys, blocks)
        result = divide(multiply(pow(abs(tensor_map), 2), 3.0), add(tensor_map, 5.0))
        result = subtract(result, tensor_map)
        return tuple(block.values for block in result)

    assert torch.autograd.gradcheck(function, tuple(values))


def test_operators_math():
    tensor = example()
    values = tensor.block(0).values
    np.testing.assert_allclose((tensor - 1).block(0).values, values - 1)
    np.testing.assert_allclose((tensor * tensor).block(0).values, values**2)
    np.testing.assert_allclose((tensor / 2).block(0).values, values / 2)
    np.testing.assert_allclose((tensor**2).block(0).values, values**2)
    np.testing.assert_allclose((-tensor).block(0).values, -values)
    assert (+tensor) is tensor


finite = st.floats(0.001, 10) | st.floats(-10, -0.001)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 1000), st.integers(0, 1000), finite)
def test_algebraic_identities(seed_1, seed_2, scalar):
    first, second = example(seed=seed_1), example(seed=seed_2)
    for result, block in zip(add(first, subtract(second, first)), second):
        np.testing.assert_allclose(result.values, block.values, atol=1e-12)
    for result, block in zip(multiply(first, 1), first):
        np.testing.assert_array_equal(result.values, block.values)
    for result, block in zip(divide(multiply(first, scalar), scalar), first):
        np.testing.assert_allclose(result.values, block.values, rtol=1e-12)
