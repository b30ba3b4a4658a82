"""TensorBlock, in eager Python and in TorchScript"""

import copy
from typing import List, Tuple

import pytest
import torch
from _utils import JIT_WARNINGS, assert_same, block, labels, script

import metatensor.torch as mtt
from metatensor.torch import Labels, TensorBlock

pytestmark = JIT_WARNINGS


def construct(values: torch.Tensor, samples: Labels, properties: Labels) -> TensorBlock:
    result = TensorBlock(values, samples, [Labels.range("xyz", 3)], properties)
    gradient = TensorBlock(
        values=values[:2].clone(),
        samples=Labels(["sample"], torch.tensor([[0], [2]], dtype=torch.int32)),
        components=[Labels.range("xyz", 3)],
        properties=properties,
    )
    result.add_gradient("alpha", gradient)
    return result


def properties(
    block: TensorBlock,
) -> Tuple[
    torch.Tensor, Labels, List[Labels], Labels, List[int], str, torch.device, int
]:
    return (
        block.values,
        block.samples,
        block.components,
        block.properties,
        block.shape,
        mtt.dtype_name(block.dtype),
        block.device,
        len(block),
    )


def gradients(
    block: TensorBlock,
) -> Tuple[List[str], TensorBlock, bool, bool, List[str]]:
    names: List[str] = []
    for parameter, gradient in block.gradients():
        names.append(parameter + str(gradient.shape))
    return (
        block.gradients_list(),
        block.gradient("positions"),
        block.has_gradient("strain"),
        block.has_gradient("cell"),
        names,
    )


def conversions(block: TensorBlock) -> List[TensorBlock]:
    return [
        block.copy(),
        block.to(torch.float32),
        block.to(dtype=torch.float16, device=torch.device("cpu")),
        block.to(device="cpu", arrays="torch", non_blocking=True),
    ]


def printing(block: TensorBlock) -> List[str]:
    return [str(block), block.gradient("positions").__repr__()]


def buffers(block: TensorBlock) -> Tuple[torch.Tensor, TensorBlock]:
    buffer = block.save_buffer()
    return buffer, TensorBlock.load_buffer(buffer)


CASES = [properties, gradients, conversions, printing, buffers]


@pytest.mark.parametrize("function", CASES, ids=[c.__name__ for c in CASES])
def test_eager_and_scripted(function):
    data = block(1)
    assert_same(function(data), script(function)(data))


def test_constructor_eager_and_scripted():
    values = torch.rand(3, 3, 2, dtype=torch.float64)
    samples = labels(["s"], [[0], [1], [2]])
    properties = Labels.range("p", 2)
    eager = construct(values, samples, properties)
    assert_same(eager, script(construct)(values, samples, properties))
    assert eager.values is values
    assert eager.gradient("alpha").properties == properties


def test_values_share_data_and_autograd():
    values = torch.rand(3, 3, 2, dtype=torch.float64, requires_grad=True)
    result = TensorBlock(
        values,
        labels(["s"], [[0], [1], [2]]),
        [Labels.range("xyz", 3)],
        Labels.range("p", 2),
    )
    assert result.values is values
    result.values.sum().backward()
    assert torch.equal(values.grad, torch.ones_like(values))
    with pytest.raises(
        ValueError, match="Direct assignment to `values` is not possible"
    ):
        result.values = torch.zeros(3, 3, 2)
    # gradient blocks share the parent's tensors
    data = block(0)
    data.gradient("positions").values[0, 0, 0, 0] = 42.0
    assert data.gradient("positions").values[0, 0, 0, 0] == 42.0


def test_to_positional_arguments():
    data = block(0)
    converted = data.to("cpu", torch.float32)
    assert converted.dtype == torch.float32
    assert converted.gradient("strain").values.dtype == torch.float32
    assert data.to(torch.float16, "cpu").dtype == torch.float16
    with pytest.raises(TypeError, match="the dtype was given more than once"):
        data.to(torch.float32, dtype=torch.float64)
    with pytest.raises(ValueError, match="`arrays` must be None or 'torch'"):
        data.to(arrays="numpy")
    copied = copy.deepcopy(data)
    assert copied.values is not data.values
    assert torch.equal(copied.values, data.values)
    assert copy.copy(data).values is data.values


@pytest.mark.parametrize(
    "values, components, message",
    [
        (
            torch.zeros(3, 2),
            [Labels.range("xyz", 3)],
            "the values must have 3 dimensions for 1 components",
        ),
        (
            torch.zeros(2, 3, 2),
            [Labels.range("xyz", 3)],
            "the values shape along axis 0 is 2 but we have 3 sample label entries",
        ),
        (
            torch.zeros(3, 4, 2),
            [Labels.range("xyz", 3)],
            "the values shape along axis 1 is 4 but we have 3 entries for the 'xyz' component",
        ),
        (
            torch.zeros(3, 3, 5),
            [Labels.range("xyz", 3)],
            "the values shape along axis 2 is 5 but we have 2 property label entries",
        ),
        (
            torch.zeros(3, 3, 3, 2),
            [Labels.range("xyz", 3), Labels.range("xyz", 3)],
            "component names must be unique, got 'xyz' multiple times",
        ),
        (
            torch.zeros(3, 1, 2),
            [labels(["a", "b"], [[0, 0]])],
            "component labels must have a single dimension, got 2",
        ),
    ],
)
def test_constructor_errors(values, components, message):
    samples = labels(["s"], [[0], [1], [2]])
    with pytest.raises(RuntimeError, match=message):
        TensorBlock(values, samples, components, Labels.range("p", 2))

    def build(values: torch.Tensor, components: List[Labels]) -> TensorBlock:
        return TensorBlock(
            values, Labels.range("s", 3), components, Labels.range("p", 2)
        )

    with pytest.raises(torch.jit.Error, match=message):
        script(build)(values, components)


def test_type_errors():
    samples = labels(["s"], [[0]])
    with pytest.raises(
        TypeError, match="`values` must be a torch.Tensor, got numpy.ndarray"
    ):
        TensorBlock(torch.zeros(1, 1).numpy(), samples, [], samples)
    with pytest.raises(TypeError, match="`samples` must be metatensor.torch.Labels"):
        TensorBlock(torch.zeros(1, 1), [[0]], [], samples)
    with pytest.raises(TypeError, match="`components` must be a list of Labels"):
        TensorBlock(torch.zeros(1, 1), samples, samples, samples)


def test_gradient_errors():
    data = block(0, gradients=False)
    properties = data.properties
    xyz = Labels.range("xyz", 3)

    def gradient(samples, components=None, values=None, properties=properties):
        components = [xyz] if components is None else components
        if values is None:
            shape = [len(samples)] + [len(c) for c in components] + [len(properties)]
            values = torch.zeros(shape, dtype=torch.float64)
        return TensorBlock(values, samples, components, properties)

    good = labels(["sample"], [[0]])
    cases = [
        ("bad/name", gradient(good), "'/' is not allowed"),
        (
            "g",
            gradient(labels(["system"], [[0]])),
            "the first dimension must be 'sample'",
        ),
        (
            "g",
            gradient(labels(["sample"], [[7]])),
            "we got 7, but the values contain 3 samples",
        ),
        (
            "g",
            gradient(good, [Labels.range("other", 3)]),
            "invalid gradient components for 'g'",
        ),
        (
            "g",
            gradient(good, properties=Labels.range("m", 2)),
            "invalid gradient properties for 'g'",
        ),
        (
            "g",
            gradient(good, values=torch.zeros(1, 3, 2, dtype=torch.float32)),
            "the gradient values have dtype 'f32' but the block values "
            "have dtype 'f64'",
        ),
    ]
    for parameter, value, message in cases:
        # errors of the data layer are RuntimeError, as upstream
        error = ValueError if "'/'" in message else RuntimeError
        with pytest.raises(error, match=message):  # noqa: PT012
            data.add_gradient(parameter, value)
    data.add_gradient("g", gradient(good))
    with pytest.raises(ValueError, match="gradient with respect to 'g' already exists"):
        data.add_gradient("g", gradient(good))
    with pytest.raises(
        RuntimeError, match="can not find gradients with respect to 'x'"
    ):
        data.gradient("x")


def test_equality_operators():
    assert block(0) == block(0)
    assert block(0) != block(1)
    assert mtt.equal_block(block(2), block(2).copy())
