import copy
import pickle

import numpy as np
import pytest
from _utils import requires_torch

from metatensor import Labels, MetatensorError, TensorBlock

MOVED = "this block has been released or moved inside a TensorBlock or TensorMap"


def block(n_samples=3, n_properties=2, dtype=np.float64, gradient=True):
    rng = np.random.default_rng(0)
    result = TensorBlock(
        values=rng.normal(size=(n_samples, 3, n_properties)).astype(dtype),
        samples=Labels(
            ["system", "atom"], np.array([[0, i] for i in range(n_samples)])
        ),
        components=[Labels.range("c", 3)],
        properties=Labels.range("n", n_properties),
    )
    if gradient:
        result.add_gradient("positions", gradient_block(result))
    return result


def gradient_block(parent, samples=None):
    if samples is None:
        samples = [[i, 0, j] for i in range(len(parent)) for j in range(2)]
    samples = Labels(["sample", "system", "atom"], np.array(samples).reshape(-1, 3))
    n_properties = len(parent.properties)
    values = np.ones((len(samples), 3, 3, n_properties), dtype=parent.values.dtype)
    return TensorBlock(
        values, samples, [Labels.range("xyz", 3), *parent.components], parent.properties
    )


def test_construction():
    result = block()
    assert result.shape == (3, 3, 2)
    assert len(result) == 3
    assert result.dtype == np.float64
    assert result.device == "cpu"
    assert result.samples.names == ["system", "atom"]
    assert [c.names for c in result.components] == [["c"]]
    assert result.properties == Labels.range("n", 2)
    assert not result.is_view


def test_values_are_not_copied():
    values = np.zeros((2, 1))
    result = TensorBlock(values, Labels.range("s", 2), [], Labels.range("p", 1))
    assert result.values is values


def test_construction_errors():
    samples, properties = Labels.range("s", 2), Labels.range("p", 3)
    with pytest.raises(TypeError, match="`values` must be a numpy ndarray or a torch"):
        TensorBlock([[1, 2, 3]], samples, [], properties)
    with pytest.raises(TypeError, match="`samples` must be metatensor Labels"):
        TensorBlock(np.zeros((2, 3)), np.zeros((2, 1)), [], properties)
    with pytest.raises(TypeError, match="must be a list of Labels"):
        TensorBlock(np.zeros((2, 3)), samples, Labels.range("c", 2), properties)
    with pytest.raises(
        MetatensorError, match="shape along axis 0 is 3 but we have 2 sample label"
    ):
        TensorBlock(np.zeros((3, 3)), samples, [], properties)
    with pytest.raises(
        MetatensorError, match="shape along axis 1 is 2 but we have 3 property label"
    ):
        TensorBlock(np.zeros((2, 2)), samples, [], properties)
    with pytest.raises(MetatensorError, match="3 dimensions for 1 components"):
        TensorBlock(np.zeros((2, 3)), samples, [Labels.range("c", 2)], properties)
    with pytest.raises(
        MetatensorError, match="axis 1 is 4 but we have 2 entries for the 'c' component"
    ):
        TensorBlock(np.zeros((2, 4, 3)), samples, [Labels.range("c", 2)], properties)
    with pytest.raises(MetatensorError, match="must have a single dimension"):
        components = [Labels(["a", "b"], np.array([[0, 0]]))]
        TensorBlock(np.zeros((2, 1, 3)), samples, components, properties)
    with pytest.raises(MetatensorError, match="component names must be unique"):
        components = [Labels.range("c", 1), Labels.range("c", 1)]
        TensorBlock(np.zeros((2, 1, 1, 3)), samples, components, properties)


def test_component_names_can_match_samples():
    samples = Labels.range("s", 2)
    result = TensorBlock(np.zeros((2, 1, 2)), samples, [Labels.range("s", 1)], samples)
    assert result.shape == (2, 1, 2)


def test_any_dtype():
    for dtype in (np.float32, np.int64, np.complex128, np.bool_, np.uint8):
        result = block(dtype=dtype, gradient=False)
        assert result.dtype == dtype


def test_gradients():
    result = block()
    assert result.gradients_list() == ["positions"]
    assert result.has_gradient("positions")
    assert not result.has_gradient("cell")
    gradient = result.gradient("positions")
    assert gradient.is_view
    assert gradient.samples.names == ["sample", "system", "atom"]
    assert gradient.properties is result.properties
    assert [name for name, _ in result.gradients()] == ["positions"]

    with pytest.raises(MetatensorError, match="can not find gradients with respect"):
        result.gradient("cell")


def test_add_gradient_moves():
    result = block(gradient=False)
    gradient = gradient_block(result)
    result.add_gradient("positions", gradient)
    with pytest.raises(ValueError, match=MOVED):
        gradient.values  # noqa: B018
    with pytest.raises(ValueError, match=MOVED):
        gradient.add_gradient("x", gradient_block(result))


def test_add_gradient_errors():
    result = block(gradient=False)
    with pytest.raises(ValueError, match="'/' is not allowed"):
        result.add_gradient("h/x", gradient_block(result))
    with pytest.raises(TypeError, match="`parameter` must be a str"):
        result.add_gradient(3, gradient_block(result))
    with pytest.raises(TypeError, match="`gradient` must be a TensorBlock"):
        result.add_gradient("positions", np.zeros(3))

    bad_samples = TensorBlock(
        np.zeros((1, 3, 2)),
        Labels(["system"], np.array([[0]])),
        [Labels.range("c", 3)],
        result.properties,
    )
    with pytest.raises(MetatensorError, match="the first dimension must be 'sample'"):
        result.add_gradient("x", bad_samples)

    with pytest.raises(
        MetatensorError, match="we got 5, but the values contain 3 samples"
    ):
        result.add_gradient("x", gradient_block(result, samples=[[5, 0, 0]]))

    bad_components = TensorBlock(
        np.zeros((1, 2, 2)),
        Labels(["sample"], np.array([[0]])),
        [Labels.range("c", 2)],
        result.properties,
    )
    with pytest.raises(MetatensorError, match="invalid gradient components"):
        result.add_gradient("x", bad_components)

    bad_properties = TensorBlock(
        np.zeros((1, 3, 2)),
        Labels(["sample"], np.array([[0]])),
        [Labels.range("c", 3)],
        Labels.range("other", 2),
    )
    with pytest.raises(MetatensorError, match="invalid gradient properties"):
        result.add_gradient("x", bad_properties)

    gradient = gradient_block(result)
    wrong_dtype = TensorBlock(
        gradient.values.astype(np.float32),
        gradient.samples,
        gradient.components,
        gradient.properties,
    )
    with pytest.raises(
        MetatensorError, match="have dtype 'f32' but the block values have dtype 'f64'"
    ):
        result.add_gradient("x", wrong_dtype)

    result.add_gradient("x", gradient_block(result))
    with pytest.raises(MetatensorError, match="'x' already exists"):
        result.add_gradient("x", gradient_block(result))

    view = result.gradient("x")
    with pytest.raises(ValueError, match="can not add a gradient to a view"):
        view.add_gradient("y", block(gradient=False))
    other = block(gradient=False)
    with pytest.raises(ValueError, match="can not use a view"):
        other.add_gradient("x", view)


def test_empty_parameter_name():
    result = block(gradient=False)
    result.add_gradient("", gradient_block(result))
    assert result.gradients_list() == [""]


def test_gradient_of_gradient():
    result = block(gradient=False)
    gradient = gradient_block(result)
    gradient.add_gradient(
        "strain",
        TensorBlock(
            np.zeros((1, 3, 3, 3, 2)),
            Labels(["sample"], np.array([[0]])),
            [Labels.range("xyz_2", 3), *gradient.components],
            gradient.properties,
        ),
    )
    result.add_gradient("positions", gradient)
    nested = result.gradient("positions").gradient("strain")
    assert nested.shape == (1, 3, 3, 3, 2)


def test_copy():
    result = block()
    deep = result.copy()
    assert not deep.is_view
    assert deep.values is not result.values
    assert np.array_equal(deep.values, result.values)
    assert deep.gradient("positions").values is not result.gradient("positions").values

    shallow = result.copy(deep=False)
    assert shallow.values is result.values
    assert copy.copy(result).values is result.values
    assert copy.deepcopy(result).values is not result.values

    # the copy is independent
    deep.add_gradient("other", gradient_block(deep))
    assert result.gradients_list() == ["positions"]


def test_to_dtype():
    result = block()
    converted = result.to(np.float32)
    assert converted.dtype == np.float32
    assert converted.gradient("positions").values.dtype == np.float32
    assert result.to(dtype="float32").dtype == np.float32
    with pytest.raises(ValueError, match="numpy arrays can only be on the 'cpu'"):
        result.to(device="cuda")


@requires_torch
def test_torch_block():
    import torch

    result = block().to(arrays="torch")
    assert isinstance(result.values, torch.Tensor)
    assert isinstance(result.gradient("positions").values, torch.Tensor)
    assert isinstance(result.samples.values, torch.Tensor)
    assert result.device == torch.device("cpu")
    converted = result.to(dtype=torch.float32)
    assert converted.dtype == torch.float32
    back = converted.to(arrays="numpy")
    assert back.dtype == np.float32
    assert isinstance(back.samples.values, np.ndarray)

    # torch values with numpy labels are fine, both are on the cpu
    values = torch.zeros((2, 3))
    TensorBlock(values, Labels.range("s", 2), [], Labels.range("p", 3))

    with pytest.raises(MetatensorError, match="dtype 'f32' but the block values"):
        parent = block(gradient=False).to(arrays="torch")
        gradient = gradient_block(block(gradient=False)).to(arrays="torch")
        parent.add_gradient("x", gradient.to(dtype=torch.float32))

    numpy_parent = block(gradient=False)
    gradient = gradient_block(numpy_parent).to(arrays="torch")
    with pytest.raises(MetatensorError, match="different origin"):
        numpy_parent.add_gradient("x", gradient)


def test_pickle_refused():
    with pytest.raises(TypeError, match="wrap it in a TensorMap first"):
        pickle.dumps(block())


def test_repr():
    text = repr(block())
    assert text.startswith("TensorBlock with shape (3, 3, 2)\n")
    assert "    samples: [system, atom]\n" in text
    assert "        positions => TensorBlock with shape" in text
