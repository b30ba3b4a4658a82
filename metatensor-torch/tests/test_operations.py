"""Every operation of metatensor.torch, in eager Python and compiled by
TorchScript: the results must be identical"""

import warnings
from typing import List, Tuple, Union

import pytest
import torch
from _utils import JIT_WARNINGS, assert_same, script, tensor_map

import metatensor.torch as mtt
import metatensor_operations
from metatensor.torch import Labels, TensorBlock, TensorMap

pytestmark = JIT_WARNINGS


def _n(values: List[int]) -> Labels:
    return Labels(["n"], torch.tensor(values, dtype=torch.int32).reshape(-1, 1))


# one function per operation, named after it; each takes the test TensorMap
def add(t: TensorMap) -> List[TensorMap]:
    return [mtt.add(t, t), mtt.add(t, 2.5), mtt.add(t, 3)]


def subtract(t: TensorMap) -> List[TensorMap]:
    return [mtt.subtract(t, mtt.multiply(t, 0.5)), mtt.subtract(t, 1.0)]


def multiply(t: TensorMap) -> List[TensorMap]:
    return [mtt.multiply(t, t), mtt.multiply(t, -2.0)]


def divide(t: TensorMap) -> List[TensorMap]:
    return [mtt.divide(t, mtt.add(t, 1.0)), mtt.divide(t, 4.0)]


def pow(t: TensorMap) -> List[TensorMap]:
    return [mtt.pow(t, 2.0), mtt.pow(t, 3)]


def abs(t: TensorMap) -> TensorMap:
    return mtt.abs(mtt.subtract(t, 0.5))


def dot(t: TensorMap) -> TensorMap:
    u = mtt.remove_gradients(t)
    return mtt.dot(u.components_to_properties("xyz"), u.components_to_properties("xyz"))


def reductions(t: TensorMap) -> List[TensorMap]:
    return [
        mtt.sum_over_samples(t, "atom"),
        mtt.mean_over_samples(t, ["atom"]),
        mtt.var_over_samples(t, "system"),
        mtt.std_over_samples(t, "system"),
        mtt.sum_over_properties(t, "n"),
        mtt.mean_over_properties(t, "n"),
        mtt.var_over_properties(t, "n"),
        mtt.std_over_properties(t, "n"),
    ]


def block_reductions(t: TensorMap) -> List[TensorBlock]:
    b = t.block(0)
    return [
        mtt.sum_over_samples_block(b, "atom"),
        mtt.mean_over_samples_block(b, "atom"),
        mtt.var_over_samples_block(b, "atom"),
        mtt.std_over_samples_block(b, "atom"),
        mtt.sum_over_properties_block(b, "n"),
        mtt.mean_over_properties_block(b, "n"),
        mtt.var_over_properties_block(b, "n"),
        mtt.std_over_properties_block(b, "n"),
    ]


def creation(t: TensorMap) -> List[TensorMap]:
    return [
        mtt.zeros_like(t),
        mtt.ones_like(t, gradients="positions"),
        mtt.zeros_like(t, ["strain"], requires_grad=True),
    ]


def creation_blocks(t: TensorMap) -> List[TensorBlock]:
    return [
        mtt.zeros_like_block(t.block(1)),
        mtt.ones_like_block(t.block(2), "positions"),
    ]


def random_and_empty(t: TensorMap) -> List[List[int]]:
    # values are not reproducible, compare the shapes
    shapes: List[List[int]] = []
    for tensor in [mtt.empty_like(t), mtt.random_uniform_like(t)]:
        for block in tensor.blocks():
            shapes.append(block.shape)
    shapes.append(mtt.empty_like_block(t.block(0)).shape)
    shapes.append(mtt.random_uniform_like_block(t.block(0)).shape)
    return shapes


def block_from_array(t: TensorMap) -> List[TensorBlock]:
    array = t.block(0).values
    return [
        mtt.block_from_array(array),
        mtt.block_from_array(array, ["s"], ["c"], ["p"]),
    ]


def comparisons(t: TensorMap) -> List[bool]:
    other = mtt.add(t, 1e-14)
    b = t.block(0)
    return [
        mtt.equal(t, t),
        mtt.equal(t, other),
        mtt.equal_block(b, b),
        mtt.allclose(t, other),
        mtt.allclose(t, mtt.add(t, 1.0), rtol=1e-3, atol=1e-3, equal_nan=True),
        mtt.allclose_block(b, other.block(0)),
        mtt.equal_metadata(t, other),
        mtt.equal_metadata(t, mtt.sum_over_samples(t, "atom"), check=["properties"]),
        mtt.equal_metadata_block(
            b, t.block(1), check="components", check_gradients=False
        ),
    ]


def comparisons_raise(t: TensorMap) -> int:
    other = mtt.add(t, 1e-14)
    mtt.equal_raise(t, t)
    mtt.equal_block_raise(t.block(0), t.block(0))
    mtt.allclose_raise(t, other)
    mtt.allclose_block_raise(t.block(1), other.block(1))
    mtt.equal_metadata_raise(t, other)
    mtt.equal_metadata_block_raise(t.block(2), other.block(2))
    return 0


def dimensions(t: TensorMap) -> List[TensorMap]:
    return [
        mtt.append_dimension(t, "samples", "new", 3),
        mtt.insert_dimension(t, "keys", 1, "new", torch.tensor([4, 5, 6])),
        mtt.remove_dimension(
            mtt.append_dimension(t, "properties", "x", 0), "properties", "x"
        ),
        mtt.rename_dimension(t, "samples", "atom", "center"),
        mtt.permute_dimensions(t, "samples", [1, 0]),
    ]


def join(t: TensorMap) -> List[TensorMap]:
    return [
        mtt.join([t, t], "properties", add_dimension="tensor"),
        mtt.join([t, t], "samples", add_dimension="tensor"),
        mtt.join(
            [
                t,
                mtt.drop_blocks(
                    t,
                    t.keys.difference(
                        Labels(
                            ["key_a", "key_b"],
                            torch.tensor([[0, 0]], dtype=torch.int32),
                        )
                    ),
                ),
            ],
            "samples",
            "union",
            "tensor",
        ),
    ]


def join_blocks(t: TensorMap) -> TensorBlock:
    return mtt.join_blocks([t.block(0), t.block(0)], "samples", "tensor")


def slicing(t: TensorMap) -> List[TensorMap]:
    atoms = Labels(["atom"], torch.tensor([[1]], dtype=torch.int32))
    return [
        mtt.slice(t, "samples", atoms),
        mtt.slice(t, "properties", _n([1, 2])),
        mtt.slice(t, "samples", [0, 2]),
    ]


def splitting(t: TensorMap) -> List[List[TensorMap]]:
    selections: List[Union[List[int], Labels]] = [_n([0, 1]), _n([2, 3])]
    return [mtt.split(t, "properties", selections)]


def slice_and_split_blocks(t: TensorMap) -> List[List[TensorBlock]]:
    b = t.block(1)
    selections: List[Union[List[int], Labels]] = [[0, 1], [2]]
    return [
        [mtt.slice_block(b, "properties", _n([2]))],
        mtt.split_block(b, "samples", selections),
    ]


def selection(t: TensorMap) -> List[TensorMap]:
    keys = Labels(["key_b"], torch.tensor([[0]], dtype=torch.int32))
    sliced = mtt.slice(
        t, "samples", Labels(["system"], torch.tensor([[1]], dtype=torch.int32))
    )
    return [
        mtt.drop_blocks(t, keys),
        mtt.filter_blocks(t, keys, copy=True),
        mtt.drop_empty_blocks(
            mtt.slice(
                t, "samples", Labels(["atom"], torch.tensor([[3]], dtype=torch.int32))
            )
        ),
        mtt.drop_empty_blocks(sliced, True),
    ]


def sorting(t: TensorMap) -> List[TensorMap]:
    shuffled = mtt.permute_dimensions(t, "samples", [1, 0])
    return [
        mtt.sort(shuffled),
        mtt.sort(shuffled, "samples", descending=True),
        mtt.sort(t, ["keys", "properties"]),
    ]


def sort_block(t: TensorMap) -> TensorBlock:
    return mtt.sort_block(mtt.permute_dimensions(t, "samples", [1, 0]).block(2))


def unique_metadata(t: TensorMap) -> List[Labels]:
    return [
        mtt.unique_metadata(t, "samples", "atom"),
        mtt.unique_metadata(t, "samples", ["system"], "positions"),
        mtt.unique_metadata_block(t.block(1), "properties", "n"),
    ]


def one_hot(t: TensorMap) -> torch.Tensor:
    return mtt.one_hot(t.block(0).properties, Labels.range("n", 4))


def array_flags(t: TensorMap) -> List[TensorMap]:
    return [
        mtt.detach(t),
        mtt.requires_grad(t),
        mtt.requires_grad(t, False),
        mtt.make_contiguous(mtt.permute_dimensions(t, "samples", [1, 0])),
        mtt.remove_gradients(t),
        mtt.remove_gradients(t, ["strain"]),
    ]


def array_flags_blocks(t: TensorMap) -> Tuple[List[TensorBlock], List[bool]]:
    b = t.block(0)
    blocks = [
        mtt.detach_block(b),
        mtt.requires_grad_block(b, True),
        mtt.make_contiguous_block(b),
        mtt.remove_gradients_block(b, ["positions"]),
    ]
    return blocks, [mtt.is_contiguous(t), mtt.is_contiguous_block(b)]


def linear_algebra(t: TensorMap) -> List[TensorMap]:
    u = mtt.remove_gradients(t.components_to_properties("xyz"))
    x = mtt.slice(u, "samples", [0, 1, 2])
    y = mtt.sum_over_properties(x, ["xyz", "n"])
    return [mtt.lstsq(x, y, rcond=None), mtt.lstsq(x, y, 1e-10, "gelsd")]


def solve(t: TensorMap) -> TensorMap:
    matrix = t.block(0).values[:2, 0, :2] + torch.eye(2, dtype=torch.float64)
    x = TensorMap(Labels.single(), [mtt.block_from_array(matrix)])
    y = TensorMap(Labels.single(), [mtt.block_from_array(t.block(0).values[:2, 1, :])])
    return mtt.solve(x, y)


FUNCTIONS = [
    add,
    subtract,
    multiply,
    divide,
    pow,
    abs,
    dot,
    reductions,
    block_reductions,
    creation,
    creation_blocks,
    random_and_empty,
    block_from_array,
    comparisons,
    comparisons_raise,
    dimensions,
    join,
    join_blocks,
    slicing,
    splitting,
    slice_and_split_blocks,
    selection,
    sorting,
    sort_block,
    unique_metadata,
    one_hot,
    array_flags,
    array_flags_blocks,
    linear_algebra,
    solve,
]


@pytest.mark.parametrize("function", FUNCTIONS, ids=[f.__name__ for f in FUNCTIONS])
def test_eager_and_scripted(function):
    tensor = tensor_map()
    with warnings.catch_warnings():
        # `selection` makes empty blocks on purpose
        warnings.filterwarnings("ignore", message="'slice' selected no samples")
        eager = function(tensor)
        scripted = script(function)(tensor)
    if function is linear_algebra:
        # LAPACK's least squares are not bit-for-bit reproducible
        for first, second in zip(eager, scripted):
            assert mtt.allclose(first, second, rtol=1e-10, atol=1e-12)
    else:
        assert_same(eager, scripted)


def test_every_operation_is_tested():
    with open(__file__) as file:
        source = file.read()
    not_operations = {
        "NotEqualError",
        "checks_enabled",
        "unsafe_enable_checks",
        "unsafe_disable_checks",
    }
    for name in metatensor_operations.__all__:
        if name.startswith("__") or name in not_operations:
            continue
        assert hasattr(mtt, name), name
        assert f"mtt.{name}(" in source, f"'{name}' is not called by these tests"


def test_operations_use_these_classes():
    tensor = mtt.add(tensor_map(), 1.0)
    assert type(tensor) is TensorMap
    assert type(tensor.keys) is Labels
    assert mtt.operations.add is mtt.add
    with pytest.raises(TypeError):
        # a metatensor-core map is not accepted by the torch operations
        import metatensor

        mtt.add(metatensor.TensorMap(metatensor.Labels.empty(["k"]), []), 1.0)


def test_module_calling_operations():
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(2.0, dtype=torch.float64))

        def forward(self, tensor: TensorMap) -> TensorMap:
            summed = mtt.sum_over_samples(tensor, ["atom"])
            blocks: List[TensorBlock] = []
            for block in summed.blocks():
                blocks.append(
                    TensorBlock(
                        block.values * self.weight,
                        block.samples,
                        block.components,
                        block.properties,
                    )
                )
            return TensorMap(summed.keys, blocks)

        @torch.jit.export
        def energy(self, tensor: TensorMap) -> torch.Tensor:
            return self.forward(tensor).block(0).values.sum()

    model = Model()
    tensor = tensor_map()
    scripted = script(model)
    assert_same(model(tensor), scripted(tensor))
    energy = scripted.energy(tensor)
    energy.backward()
    assert scripted.weight.grad is not None
