"""Labels indexed by int or str inside TorchScript, built and used under the
``torch.func`` transforms, and on the ``meta`` device"""

import io
from typing import List, Optional, Tuple

import pytest
import torch
from _utils import JIT_WARNINGS, labels, script, tensor_map

import metatensor.torch as mtt
from metatensor.torch import Labels, LabelsEntry, TensorBlock, TensorMap

pytestmark = JIT_WARNINGS

NO_DATA = "Labels on the 'meta' device: their values have no data"


def example() -> Labels:
    return labels(["a", "b"], [[0, 1], [1, 2], [2, 5]])


# ==================================================================================== #
# `labels[int]` and `labels[str]` in TorchScript


def indexing(labels: Labels) -> Tuple[torch.Tensor, int, torch.Tensor, int, int, int]:
    entry = labels[0]
    last = labels[-1]
    column = labels["b"]
    total = 0
    for i in range(len(labels)):
        total += labels[i][1] * 10 + labels[i]["a"]
    return entry.values, last[1], column.values, column[2], len(column), total


def test_getitem_compiled():
    values, last, column, value, size, total = script(indexing)(example())
    assert values.tolist() == [0, 1]
    assert column.tolist() == [1, 2, 5]
    assert (last, value, size, total) == (5, 5, 3, 83)


def test_getitem_in_python():
    labels = example()
    assert labels[0].values.tolist() == [0, 1]
    assert labels[-1][1] == 5
    assert sum(labels[i][1] * 10 + labels[i]["a"] for i in range(len(labels))) == 83
    # in Python, a name gives the column itself
    assert isinstance(labels["b"], torch.Tensor)
    assert labels["b"].tolist() == [1, 2, 5]


def column_entry(labels: Labels) -> LabelsEntry:
    return labels["b"]


def test_getitem_column_entry():
    entry = script(column_entry)(example())
    assert isinstance(entry, LabelsEntry)
    assert entry.names == ["b", "b", "b"]
    assert entry.values.tolist() == [1, 2, 5]


def missing_column(labels: Labels) -> LabelsEntry:
    return labels["c"]


def test_getitem_compiled_errors():
    with pytest.raises(torch.jit.Error, match="'c' not found in the dimensions"):
        script(missing_column)(example())


class IndexingModule(torch.nn.Module):
    def forward(self, labels: Labels) -> torch.Tensor:
        entry = labels[1]
        return labels["a"].values * entry.values[1] + labels[0][1]


def test_getitem_in_saved_module():
    module = torch.jit.script(IndexingModule())
    buffer = io.BytesIO()
    torch.jit.save(module, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    assert loaded(example()).tolist() == [1, 3, 5]


# ==================================================================================== #
# torch.func transforms: Labels built inside the transformed function


def build_block(x: torch.Tensor) -> TensorBlock:
    """A block over ``x`` (shape (n, 3)), building its Labels in every way"""
    n = x.shape[0]
    samples = Labels(["s"], torch.arange(n).reshape(-1, 1)).append(
        "system", torch.zeros(n, dtype=torch.int32)
    )
    samples = samples.insert(0, "first", torch.arange(n)).permute([1, 2, 0])
    samples = samples.rename("first", "atom").remove("s")
    assert samples.names == ["system", "atom"]
    assert samples.values.tolist() == [[0, i] for i in range(n)]
    assert samples.position(torch.tensor([0, n - 1])) == n - 1
    assert samples.position([0, 1]) == 1
    assert samples.entry(1) in samples
    assert len(samples.select(Labels.single().rename("_", "atom"))) == 1
    assert samples.union(Labels.empty(["system", "atom"])) == samples
    properties = Labels.range("p", 3).to(x.device)
    block = TensorBlock(x, samples, [], properties)
    tensor = TensorMap(Labels.single(), [block])
    return tensor.block({"_": 0})


def energy(x: torch.Tensor) -> torch.Tensor:
    return (build_block(x).values ** 2).sum()


def test_grad_and_jvp():
    x = torch.rand(4, 3, dtype=torch.float64)
    assert torch.allclose(torch.func.grad(energy)(x), 2 * x)
    tangent = torch.rand(4, 3, dtype=torch.float64)
    value, derivative = torch.func.jvp(energy, (x,), (tangent,))
    assert torch.allclose(value, (x**2).sum())
    assert torch.allclose(derivative, (2 * x * tangent).sum())


def test_block_from_array():
    def square(x):
        block = mtt.block_from_array(x, sample_names=["system", "atom"])
        assert block.samples.position([1, 2]) == x.shape[1] + 2
        return (block.values**2).sum()

    x = torch.rand(2, 4, 3, dtype=torch.float64)
    assert torch.allclose(torch.func.grad(square)(x), 2 * x)
    batch = torch.rand(5, 2, 4, 3, dtype=torch.float64)
    assert torch.allclose(torch.func.vmap(square)(batch), (batch**2).sum(dim=(1, 2, 3)))


def test_vmap():
    x = torch.rand(5, 4, 3, dtype=torch.float64)
    assert torch.allclose(torch.func.vmap(energy)(x), (x**2).sum(dim=(1, 2)))
    assert torch.allclose(torch.func.vmap(torch.func.grad(energy))(x), 2 * x)


def test_vmap_batched_values():
    def batched_labels(x):
        Labels(["a"], x.to(torch.int32).reshape(1, 1))
        return x

    with pytest.raises(ValueError, match="Labels values can not be batched"):
        torch.func.vmap(batched_labels)(torch.arange(3))

    def batched_entry(x):
        Labels.range("a", 4).position(x.reshape(1))
        return x

    with pytest.raises(ValueError, match="entries to look up can not be batched"):
        torch.func.vmap(batched_entry)(torch.arange(3))


def test_grad_duplicated_entries():
    def duplicated(x):
        Labels(["a"], torch.zeros(2, 1, dtype=torch.int32))
        return x.sum()

    with pytest.raises(RuntimeError, match=r"\[0\] is already present"):
        torch.func.grad(duplicated)(torch.rand(3))


# ==================================================================================== #
# meta device


def meta_labels(device: torch.device) -> Tuple[Labels, Labels, Labels, Labels]:
    # (the device is an argument: with a constant device, TorchScript computes the
    # `torch.zeros` at compile time and fails comparing these constants)
    values = torch.zeros([3, 2], dtype=torch.int64, device=device)
    created = Labels(["a", "b"], values)
    return (
        created,
        Labels.range("n", 4).to(device),
        Labels.single().to(device),
        created.append("c", torch.zeros([3], dtype=torch.int32, device=device))
        .insert(0, "d", torch.zeros([3], dtype=torch.int32, device=device))
        .permute([3, 2, 1, 0])
        .remove("a")
        .rename("b", "e"),
    )


@pytest.mark.parametrize("compiled", [False, True])
def test_meta_creation(compiled):
    function = script(meta_labels) if compiled else meta_labels
    created, range_, single, changed = function(torch.device("meta"))
    for result in (created, range_, single, changed):
        assert result.device.type == "meta"
        assert result.values.dtype == torch.int32
    # no data: the entries (all zeros here) are not checked for uniqueness
    assert created.values.shape == (3, 2)
    assert changed.names == ["c", "e", "d"]
    assert len(range_) == 4 and single.names == ["_"]


def meta_position(labels: Labels) -> Optional[int]:
    return labels.position([0, 0])


def meta_union(labels: Labels) -> Labels:
    return labels.union(labels)


def meta_select(labels: Labels) -> torch.Tensor:
    return labels.select(labels)


def meta_equal(labels: Labels, other: Labels) -> List[bool]:
    return [labels == other, labels == labels.rename("a", "z")]


@pytest.mark.parametrize("compiled", [False, True])
def test_meta_lookups(compiled):
    meta = Labels(["a", "b"], torch.zeros([3, 2], dtype=torch.int32, device="meta"))
    error = torch.jit.Error if compiled else RuntimeError
    cases = [
        (meta_position, "can not find an entry in "),
        (meta_union, "can not take the union of "),
        (meta_select, "can not select entries of "),
    ]
    for function, message in cases:
        if compiled:
            function = script(function)
        with pytest.raises(error, match=message + NO_DATA):
            function(meta)

    # equality compares the names and shapes: there are no values
    other = Labels(["a", "b"], torch.ones([3, 2], dtype=torch.int32, device="meta"))
    equal = script(meta_equal) if compiled else meta_equal
    assert equal(meta, other) == [True, False]
    assert meta != labels(["a", "b"], [[0, 1], [1, 2]]).to("meta")


def test_moved_to_meta_keep_entries():
    cpu = example()
    meta = cpu.to("meta")
    assert meta.device.type == "meta" and meta.values.shape == (3, 2)
    assert meta.position([2, 5]) == 2
    with pytest.raises(RuntimeError, match="entries to look up can not be on the"):
        meta.position(torch.tensor([1, 2], device="meta"))
    assert meta == cpu.to(torch.device("meta"))
    assert meta != labels(["a", "b"], [[0, 1], [1, 2], [2, 6]]).to("meta")
    union, _, mapping = meta.union_and_mapping(labels(["a", "b"], [[9, 9]]).to("meta"))
    assert union.device.type == "meta" and len(union) == 4
    assert mapping.device.type == "meta"


def test_block_from_array_meta():
    block = mtt.block_from_array(torch.zeros(3, 2, 4, device="meta"))
    assert block.values.device.type == "meta"
    assert block.samples.device.type == "meta"
    assert [len(block.samples), len(block.components[0]), len(block.properties)] == [
        3,
        2,
        4,
    ]
    tensor = TensorMap(Labels.single().to("meta"), [block])
    assert tensor.device.type == "meta"


def tensor_to(tensor: TensorMap, device: torch.device) -> TensorMap:
    return tensor.to(device=device)


def test_tensor_map_to_meta_compiled():
    meta = script(tensor_to)(tensor_map(), torch.device("meta"))
    assert meta.keys.device.type == "meta"
    assert meta.block(2).values.device.type == "meta"
    assert meta.block(2).values.shape == tensor_map().block(2).values.shape
    # moved inside TorchScript, the Labels have no private copy of their values
    with pytest.raises(RuntimeError, match="can not find an entry in " + NO_DATA):
        meta.keys.position([1, 0])


def test_tensor_map_to_meta():
    tensor = tensor_map()
    meta = tensor.to("meta")
    assert meta.device.type == "meta"
    block = meta.block({"key_a": 1, "key_b": 0})
    assert block.values.device.type == "meta"
    assert block.values.shape == tensor.block(1).values.shape
    assert block.samples.device.type == "meta"
    gradient = block.gradient("positions")
    assert gradient.values.device.type == "meta"
    assert gradient.samples.position([0, 0, 1]) == 1


def _labels_text(labels: Labels) -> str:
    return str(labels)


def test_meta_printing():
    """Labels without data print their names, and `...` for the entries"""
    meta = Labels(["a", "bb"], torch.zeros((3, 2), dtype=torch.int32, device="meta"))
    expected = "Labels\n    a  bb\n     ..."
    assert str(meta) == expected
    assert repr(meta) == expected
    assert torch.jit.script(_labels_text)(meta) == expected
    block = mtt.block_from_array(torch.zeros(3, 4, device="meta"))
    assert "samples: [sample]" in str(block)
