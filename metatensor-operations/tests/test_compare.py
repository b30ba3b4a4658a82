import numpy as np
import pytest
from _utils import ARRAYS, convert, requires_torch, smooth_tensor
from hypothesis import given, settings
from hypothesis import strategies as st

from metatensor import Labels, TensorBlock, TensorMap
from metatensor_operations import (
    NotEqualError,
    allclose,
    allclose_block,
    allclose_block_raise,
    allclose_raise,
    equal,
    equal_block,
    equal_block_raise,
    equal_metadata,
    equal_metadata_block,
    equal_metadata_block_raise,
    equal_metadata_raise,
    equal_raise,
    unsafe_disable_checks,
)


def example(arrays="numpy", seed=0):
    positions = np.random.default_rng(0).normal(size=(4, 3))
    return convert(smooth_tensor(positions, seed=seed), arrays)


def rebuild_block(block, function=lambda v: v, gradient_function=lambda v: v, **kw):
    """A copy of ``block`` with transformed values (and gradient values), and some
    metadata replaced by the keyword arguments"""
    new = TensorBlock(
        function(block.values),
        kw.get("samples", block.samples),
        kw.get("components", block.components),
        kw.get("properties", block.properties),
    )
    for parameter, gradient in block.gradients():
        new.add_gradient(
            parameter,
            TensorBlock(
                gradient_function(gradient.values),
                kw.get("gradient_samples", gradient.samples),
                gradient.components[: -len(block.components) or None] + new.components,
                new.properties,
            ),
        )
    return new


def with_values(tensor, function, gradient_function=lambda v: v):
    """A copy of ``tensor`` with values (and gradients) transformed"""
    return TensorMap(
        tensor.keys,
        [rebuild_block(block, function, gradient_function) for block in tensor],
    )


# ================================================================================ #
# equal


@pytest.mark.parametrize("arrays", ARRAYS)
def test_equal(arrays):
    tensor = example(arrays)
    assert equal(tensor, tensor.copy())
    equal_raise(tensor, tensor.copy())
    assert equal_block(tensor.block(0), tensor.block(0).copy())
    equal_block_raise(tensor.block(0), tensor.block(0).copy())

    changed = with_values(tensor, lambda v: v + 1e-15)
    assert not equal(tensor, changed)
    with pytest.raises(
        NotEqualError,
        match=r"^blocks for key \(key=0\) are different: values are not equal$",
    ):
        equal_raise(tensor, changed)
    assert allclose(tensor, changed)
    allclose_raise(tensor, changed)

    gradients_changed = with_values(tensor, lambda v: v, lambda g: g * 2)
    assert not equal(tensor, gradients_changed)
    with pytest.raises(
        NotEqualError,
        match=r"^blocks for key \(key=0\) are different: gradient 'positions' values "
        "are not equal$",
    ):
        equal_raise(tensor, gradients_changed)
    with pytest.raises(
        NotEqualError,
        match=r"^gradient 'positions' values are not equal$",
    ):
        equal_block_raise(tensor.block(1), gradients_changed.block(1))
    with pytest.raises(
        NotEqualError, match="gradient 'positions' values are not allclose"
    ):
        allclose_block_raise(tensor.block(0), gradients_changed.block(0))
    assert not allclose_block(tensor.block(0), gradients_changed.block(0))


@pytest.mark.parametrize("arrays", ARRAYS)
def test_dunder_eq(arrays):
    """TensorMap.__eq__ / TensorBlock.__eq__ in core call equal / equal_block"""
    tensor = example(arrays)
    assert tensor == tensor.copy()
    assert not (tensor != tensor.copy())
    assert tensor.block(0) == tensor.block(0).copy()
    assert not (tensor.block(0) != tensor.block(0).copy())
    changed = with_values(tensor, lambda v: v * 2)
    assert tensor != changed
    assert not (tensor == changed)
    assert tensor.block(1) != changed.block(1)


def test_keys_in_any_order():
    tensor = example()
    reordered = TensorMap(
        Labels(["key"], tensor.keys.values[::-1]),
        [block.copy() for block in reversed(list(tensor))],
    )
    assert equal(tensor, reordered)
    assert allclose(tensor, reordered)
    assert equal_metadata(tensor, reordered)
    # but the blocks are matched by key, not by position
    swapped = TensorMap(
        Labels(["key"], tensor.keys.values[::-1]), [b.copy() for b in tensor]
    )
    assert not equal(tensor, swapped)
    with pytest.raises(
        NotEqualError,
        match=r"'equal_metadata' should have the same samples for the block at key "
        r"\(key=0\)",
    ):
        equal_metadata_raise(tensor, swapped)


def test_empty():
    empty = TensorMap(Labels(["key"], np.zeros((0, 1), dtype=np.int32)), [])
    assert equal(empty, empty)
    assert allclose(empty, empty)
    assert equal_metadata(empty, empty)
    assert not equal(empty, example())

    block = TensorBlock(np.zeros((0, 3)), Labels.empty(["s"]), [], Labels.range("p", 3))
    assert equal_block(block, block.copy())
    assert allclose_block(block, block.copy())


def test_nan():
    tensor = with_values(example(), lambda v: v * np.nan)
    # like numpy.array_equal: NaN is not equal to itself
    assert not equal(tensor, tensor)
    assert not allclose(tensor, tensor)
    assert allclose(tensor, tensor, equal_nan=True)


def test_checks_disabled_still_compare():
    tensor = example()
    changed = with_values(tensor, lambda v: v + 1)
    with unsafe_disable_checks():
        assert not equal(tensor, changed)
        assert not equal_metadata(tensor, BAD_TENSORS[0][1])
        with pytest.raises(NotEqualError, match="values are not equal"):
            equal_raise(tensor, changed)


def test_nested_gradients():
    def block_with(value):
        inner = TensorBlock(
            np.full((1, 1, 2), value),
            Labels(["sample"], np.array([[0]])),
            [Labels.range("y", 1)],
            Labels.range("p", 2),
        )
        gradient = TensorBlock(
            np.ones((1, 2)),
            Labels(["sample"], np.array([[0]])),
            [],
            Labels.range("p", 2),
        )
        gradient.add_gradient("inner", inner)
        block = TensorBlock(
            np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2)
        )
        block.add_gradient("outer", gradient)
        return block

    assert equal_block(block_with(1.0), block_with(1.0))
    assert not equal_block(block_with(1.0), block_with(2.0))
    with pytest.raises(
        NotEqualError,
        match="gradient 'outer/inner' values are not equal",
    ):
        equal_block_raise(block_with(1.0), block_with(2.0))
    assert allclose_block(block_with(1.0), block_with(1.0 + 1e-14))


# ================================================================================ #
# allclose


@pytest.mark.parametrize("arrays", ARRAYS)
def test_allclose_tolerances(arrays):
    tensor = example(arrays)
    changed = with_values(tensor, lambda v: v * (1 + 1e-6))
    assert not allclose(tensor, changed)
    assert allclose(tensor, changed, rtol=1e-5)
    assert allclose(tensor, changed, atol=1e-5)
    assert allclose_block(tensor.block(0), changed.block(0), rtol=1e-5)
    allclose_block_raise(tensor.block(0), changed.block(0), 1e-5, 0.0)
    with pytest.raises(
        NotEqualError,
        match=r"^blocks for key \(key=0\) are different: values are not allclose "
        r"\(rtol=1e-13, atol=1e-12\)$",
    ):
        allclose_raise(tensor, changed)
    # integer tolerances are fine
    assert allclose(tensor, changed, rtol=1, atol=0)


@settings(max_examples=30, deadline=None)
@given(
    scale=st.floats(-1e-3, 1e-3, allow_nan=False),
    rtol=st.sampled_from([0.0, 1e-10, 1e-6, 1e-3]),
    atol=st.sampled_from([0.0, 1e-12, 1e-6, 1e-3]),
    position=st.integers(0, 11),
)
def test_allclose_against_numpy(scale, rtol, atol, position):
    """allclose and equal agree with numpy on the values and gradients"""
    tensor = example()
    other = with_values(tensor, lambda v: v.copy(), lambda g: g.copy())
    values = other.block(1).values.reshape(-1)
    values[position] += scale
    gradient = other.block(0).gradient("positions").values.reshape(-1)
    gradient[position] -= scale

    expected = np.allclose(
        other.block(1).values, tensor.block(1).values, rtol=rtol, atol=atol
    ) and np.allclose(
        other.block(0).gradient("positions").values,
        tensor.block(0).gradient("positions").values,
        rtol=rtol,
        atol=atol,
    )
    assert allclose(other, tensor, rtol=rtol, atol=atol) == expected
    expected = np.array_equal(
        other.block(1).values, tensor.block(1).values
    ) and np.array_equal(
        other.block(0).gradient("positions").values,
        tensor.block(0).gradient("positions").values,
    )
    assert equal(other, tensor) == expected


# ================================================================================ #
# equal_metadata


def test_equal_metadata_check_axes():
    tensor = example()
    block = tensor.block(0)
    other = rebuild_block(
        block, samples=Labels(["system", "atom"], block.samples.values + 1)
    )
    assert not equal_metadata_block(block, other)
    assert not equal_metadata_block(block, other, check="all")
    assert not equal_metadata_block(block, other, check="samples")
    assert not equal_metadata_block(block, other, check=None)
    # the gradient samples are the same, so check_gradients changes nothing here
    for check in ("properties", ["properties"], ("components", "properties"), []):
        assert equal_metadata_block(block, other, check=check)
        equal_metadata_block_raise(block, other, check=check)
    with pytest.raises(
        NotEqualError,
        match=r"inputs to 'equal_metadata_block_raise' should have the same samples$",
    ):
        equal_metadata_block_raise(block, other, check=("samples",))

    # values are never compared
    assert equal_metadata(tensor, with_values(tensor, lambda v: v + 1))

    with pytest.raises(
        ValueError,
        match="'values' does not refer to metadata to check, choose from 'samples', "
        "'properties' and 'components'",
    ):
        equal_metadata(tensor, tensor, check=["values"])
    with pytest.raises(
        ValueError, match="'sample' does not refer to metadata to check"
    ):
        equal_metadata_block_raise(block, block, check="sample")
    with pytest.raises(
        TypeError,
        match="`check` in 'equal_metadata' must be a string or a list of strings, "
        "got int",
    ):
        equal_metadata(tensor, tensor, check=3)


def test_equal_metadata_gradients():
    tensor = example()
    no_gradients = TensorMap(
        tensor.keys,
        [TensorBlock(b.values, b.samples, b.components, b.properties) for b in tensor],
    )
    with pytest.raises(
        NotEqualError,
        match=r"'equal_metadata' should have the same gradient parameters for the block "
        r"at key "
        r"\(key=0\), got \['positions'\] and \[\]",
    ):
        equal_metadata_raise(tensor, no_gradients)
    assert not equal_metadata(tensor, no_gradients)
    assert equal_metadata(tensor, no_gradients, check_gradients=False)
    equal_metadata_raise(tensor, no_gradients, check_gradients=False)

    block = tensor.block(0)
    samples = block.gradient("positions").samples
    values = samples.values.copy()
    values[:, 2] += 10
    other = rebuild_block(block, gradient_samples=Labels(samples.names, values))
    with pytest.raises(
        NotEqualError,
        match="'equal_metadata_block_raise' should have the same samples for the "
        "'positions' gradients",
    ):
        equal_metadata_block_raise(block, other)
    assert equal_metadata_block(block, other, check_gradients=False)
    assert equal_metadata_block(block, other, check=["properties"])


# ================================================================================ #
# the same bad inputs through every comparison

TENSOR_FUNCTIONS = [
    (equal, equal_raise, "equal"),
    (allclose, allclose_raise, "allclose"),
    (equal_metadata, equal_metadata_raise, "equal_metadata"),
]
BLOCK_FUNCTIONS = [
    (equal_block, equal_block_raise, "equal_block"),
    (allclose_block, allclose_block_raise, "allclose_block"),
    (
        equal_metadata_block,
        equal_metadata_block_raise,
        "equal_metadata_block(?:_raise)?",
    ),
]


def _bad_tensors():
    tensor = example()
    first = tensor.block(0)
    yield (
        "other keys names",
        TensorMap(Labels(["other"], tensor.keys.values), [b.copy() for b in tensor]),
        r"should have the same keys names, got \['key'\] and \['other'\]",
        None,
    )
    yield (
        "fewer blocks",
        TensorMap(Labels(["key"], np.array([[0]])), [first.copy()]),
        "should have the same number of blocks, got 2 and 1",
        None,
    )
    yield (
        "other keys",
        TensorMap(
            Labels(["key"], np.array([[0], [5]])),
            [first.copy(), tensor.block(1).copy()],
        ),
        r"should have the same keys, \(key=1\) is missing from the second one",
        None,
    )
    samples = Labels(["system", "other"], first.samples.values)
    yield (
        "other samples names",
        TensorMap(
            tensor.keys,
            [
                rebuild_block(first, samples=samples),
                rebuild_block(
                    tensor.block(1),
                    samples=Labels(samples.names, tensor.block(1).samples.values),
                ),
            ],
        ),
        r"should have the same samples names for the block at key \(key=0\), got "
        r"\['system', 'atom'\] and \['system', 'other'\]",
        r"should have the same samples, but they are not the same or not in the same "
        r"order, got names \['system', 'atom'\] and \['system', 'other'\]",
    )
    components = [Labels(["c"], np.array([[1], [0]]))]
    yield (
        "other components",
        TensorMap(
            tensor.keys,
            [rebuild_block(first, components=components), tensor.block(1).copy()],
        ),
        r"should have the same components for the block at key \(key=0\)",
        "should have the same components, but they are not the same or not in the "
        "same order",
    )
    properties = Labels(["n"], np.array([[1], [0]]))
    yield (
        "other properties",
        TensorMap(
            tensor.keys,
            [rebuild_block(first, properties=properties), tensor.block(1).copy()],
        ),
        r"should have the same properties for the block at key \(key=0\)",
        "should have the same properties, but they are not the same or not in the "
        "same order",
    )


BAD_TENSORS = list(_bad_tensors())


@pytest.mark.parametrize("functions", TENSOR_FUNCTIONS, ids=lambda f: f[2])
@pytest.mark.parametrize("bad", BAD_TENSORS, ids=lambda b: b[0])
def test_same_bad_input_everywhere(functions, bad):
    function, function_raise, name = functions
    # `compared`: the wording of equal and allclose (upstream's) for block
    # differences
    _, other, message, compared = bad
    if name == "equal_metadata":
        compared = None
    tensor = example()
    assert function(tensor, tensor)
    assert not function(tensor, other)
    if compared is None:
        expected = f"inputs to '{name}' {message}"
    else:
        expected = rf"^blocks for key \(key=0\) are different: inputs to '{name}' "
        expected += compared
    with pytest.raises(NotEqualError, match=expected):
        function_raise(tensor, other)

    # the block versions see the same difference (when it is in a block)
    function_block, function_block_raise, name_block = BLOCK_FUNCTIONS[
        TENSOR_FUNCTIONS.index(functions)
    ]
    if "block at key" in message:
        if compared is None:
            block_message = message.split(" for the block at key")[0]
            expected = f"inputs to '{name_block}' {block_message}"
        else:
            # as upstream, the block versions use the name of the map version
            expected = f"^inputs to '{name}' {compared}"
        assert not function_block(tensor.block(0), other.block(0))
        with pytest.raises(NotEqualError, match=expected):
            function_block_raise(tensor.block(0), other.block(0))


@pytest.mark.parametrize("functions", TENSOR_FUNCTIONS + BLOCK_FUNCTIONS)
def test_bad_types(functions):
    function, function_raise, name = functions
    tensor = example()
    if "block" in name:
        good, argument, kind = tensor.block(0), "block", "TensorBlock"
    else:
        good, argument, kind = tensor, "tensor", "TensorMap"
    for f in (function, function_raise):
        with pytest.raises(
            TypeError,
            match=rf"`{argument}_2` must be a metatensor {kind}, not <class 'int'> \(in '{name}'\)",
        ):
            f(good, 3)
        with pytest.raises(
            TypeError,
            match=rf"`{argument}_1` must be a metatensor {kind}, not <class 'str'> \(in '{name}'\)",
        ):
            f("tensor", good)


@pytest.mark.parametrize(
    "functions",
    TENSOR_FUNCTIONS[:2] + BLOCK_FUNCTIONS[:2],
    ids=["equal", "allclose", "equal_block", "allclose_block"],
)
def test_dtype_difference(functions):
    # values are compared by value, whatever their dtype (as upstream)
    function, function_raise, name = functions
    block = TensorBlock(
        np.array([[1, 2], [3, 4]], dtype=np.int32),
        Labels.range("s", 2),
        [],
        Labels.range("p", 2),
    )
    tensor = TensorMap(Labels.range("key", 1), [block])
    as_float = tensor.to(np.float64)
    different = with_values(as_float, lambda v: v + 0.5)
    if "block" in name:
        tensor, as_float, different = (
            tensor.block(),
            as_float.block(),
            different.block(),
        )
    assert function(tensor, as_float)
    function_raise(tensor, as_float)
    assert not function(tensor, different)
    with pytest.raises(NotEqualError, match="values are not"):
        function_raise(tensor, different)


@requires_torch
@pytest.mark.parametrize("functions", TENSOR_FUNCTIONS[:2] + BLOCK_FUNCTIONS[:2])
def test_numpy_and_torch_mixed(functions):
    function, function_raise, name = functions
    first, second = example("numpy"), example("torch")
    if "block" in name:
        first, second = first.block(0), second.block(0)
    for f in (function, function_raise):
        with pytest.raises(
            TypeError,
            match=f"inputs to '{name.replace('_block', '')}' must all be numpy arrays "
            "or all torch tensors",
        ):
            f(first, second)


@requires_torch
def test_torch():
    import torch

    tensor = example("torch")
    # autograd tensors compare fine
    grad = TensorMap(
        tensor.keys,
        [rebuild_block(b, lambda v: v.clone().requires_grad_(True)) for b in tensor],
    )
    assert equal(tensor, grad)
    assert allclose(tensor, grad)
    assert not equal(tensor, tensor.to(dtype=torch.float32))
    # metadata only: numpy and torch maps with the same labels
    assert equal_metadata(example("numpy"), tensor)
