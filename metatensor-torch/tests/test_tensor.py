"""TensorMap, in eager Python and in TorchScript"""

import copy
import pickle
from typing import Dict, List, Optional, Tuple

import pytest
import torch
from _utils import JIT_WARNINGS, assert_same, block, labels, script, tensor_map

import metatensor.torch as mtt
from metatensor.torch import Labels, LabelsEntry, TensorBlock, TensorMap

pytestmark = JIT_WARNINGS


def properties(
    tensor: TensorMap,
) -> Tuple[Labels, int, List[str], List[str], List[str], str, torch.device]:
    return (
        tensor.keys,
        len(tensor),
        tensor.sample_names,
        tensor.component_names,
        tensor.property_names,
        mtt.dtype_name(tensor.dtype),
        tensor.device,
    )


def selections(tensor: TensorMap) -> List[TensorBlock]:
    first = Labels(["key_b"], torch.tensor([[1]], dtype=torch.int32))
    entry = tensor.keys.entry(1)
    return [
        tensor.block(0),
        tensor.block(first),
        tensor.block(entry),
        tensor.block({"key_a": 1}),
        tensor.block({"key_b": 1, "key_a": 0}),
        tensor[2],
        tensor[{"key_a": 1, "key_b": 0}],
        tensor.block_by_id(1),
    ]


def many_blocks(tensor: TensorMap) -> List[List[TensorBlock]]:
    zero = Labels(["key_a"], torch.tensor([[0]], dtype=torch.int32))
    return [
        tensor.blocks(),
        tensor.blocks(zero),
        tensor.blocks({"key_b": 0}),
        tensor.blocks({"key_b": 5}),
        tensor.blocks(1),
        tensor.blocks_by_id([2, 0]),
    ]


def items(tensor: TensorMap) -> List[Tuple[LabelsEntry, TensorBlock]]:
    return tensor.items()


def keys_to_samples(tensor: TensorMap) -> List[TensorMap]:
    return [
        tensor.keys_to_samples("key_b"),
        tensor.keys_to_samples(["key_a"], 2.0, False),
        tensor.keys_to_samples(["key_a", "key_b"]),
        tensor.keys_to_samples(Labels.empty(["key_a"]), sort_samples=True),
    ]


def keys_to_properties(tensor: TensorMap) -> List[TensorMap]:
    return [
        tensor.keys_to_properties("key_a"),
        tensor.keys_to_properties(["key_b"], 1.5, False),
        tensor.keys_to_properties(["key_a", "key_b"]),
    ]


def keys_to_properties_entries(tensor: TensorMap) -> TensorMap:
    # every block must have the same properties to give the moved entries
    blocks: List[TensorBlock] = []
    for _ in range(len(tensor)):
        blocks.append(tensor.block(0).copy())
    same = TensorMap(tensor.keys, blocks)
    entries = Labels(["key_a"], torch.tensor([[1], [0], [3]], dtype=torch.int32))
    return same.keys_to_properties(entries)


def components_to_properties(tensor: TensorMap) -> List[TensorMap]:
    return [
        tensor.components_to_properties("xyz"),
        tensor.components_to_properties(["xyz"]),
    ]


def info(tensor: TensorMap) -> Tuple[Dict[str, str], Optional[str], Optional[str]]:
    copied = tensor.copy()
    copied.set_info("other", "value")
    return copied.info(), copied.get_info("unit"), copied.get_info("missing")


def conversions(tensor: TensorMap) -> List[TensorMap]:
    return [
        tensor.copy(),
        tensor.to(torch.float32),
        tensor.to(dtype=torch.float16, device="cpu"),
        tensor.to(device=torch.device("cpu"), arrays="torch", non_blocking=True),
    ]


def printing(tensor: TensorMap) -> List[str]:
    return [tensor.print(2), str(tensor), tensor.__repr__()]


def buffers(tensor: TensorMap) -> Tuple[torch.Tensor, TensorMap]:
    buffer = tensor.save_buffer()
    return buffer, TensorMap.load_buffer(buffer)


CASES = [
    properties,
    selections,
    many_blocks,
    items,
    keys_to_samples,
    keys_to_properties,
    keys_to_properties_entries,
    components_to_properties,
    info,
    conversions,
    printing,
    buffers,
]


@pytest.mark.parametrize("function", CASES, ids=[c.__name__ for c in CASES])
@pytest.mark.parametrize("gradients", [True, False])
def test_eager_and_scripted(function, gradients):
    tensor = tensor_map(gradients)
    assert_same(function(tensor), script(function)(tensor))


def test_constructor_eager_and_scripted():
    def construct(keys: Labels, blocks: List[TensorBlock]) -> TensorMap:
        return TensorMap(keys, blocks)

    keys = labels(["k"], [[0], [1]])
    blocks = [block(0), block(1)]
    assert_same(construct(keys, blocks), script(construct)(keys, blocks))
    empty = TensorMap(Labels.empty(["k"]), [])
    assert len(empty) == 0 and empty.sample_names == []
    assert empty.dtype == torch.get_default_dtype()


def test_expected_results():
    tensor = tensor_map()
    assert tensor.block(key_a=1) is tensor.block_by_id(1)
    assert tensor.block(key_b=1, key_a=0) is tensor.block_by_id(2)
    assert tensor.blocks(key_b=0) == [tensor.block_by_id(0), tensor.block_by_id(1)]
    assert tensor.blocks(key_b=7) == []
    assert list(tensor) == tensor.blocks()
    assert [key.values.tolist() for key, _ in tensor.items()] == [
        [0, 0],
        [1, 0],
        [0, 1],
    ]

    merged = tensor.keys_to_samples("key_b")
    assert merged.keys.names == ["key_a"]
    assert merged.sample_names == ["system", "atom", "key_b"]
    moved = tensor.keys_to_properties("key_a")
    assert moved.property_names == ["key_a", "n"]
    assert tensor.components_to_properties("xyz").property_names == ["xyz", "n"]
    assert merged.info() == {"unit": "eV"}

    assert str(tensor) == (
        "TensorMap with 3 blocks\n    keys: [key_a, key_b]\n    blocks:\n"
        "       0  0   => TensorBlock with shape (3, 3, 2)\n"
        "       1  0   => TensorBlock with shape (4, 3, 3)\n"
        "       0  1   => TensorBlock with shape (5, 3, 4)"
    )


def test_python_protocols():
    tensor = tensor_map()
    loaded = pickle.loads(pickle.dumps(tensor))
    assert mtt.equal(loaded, tensor)
    assert loaded.info() == {"unit": "eV"}
    deep = copy.deepcopy(tensor)
    assert deep.block(0).values is not tensor.block(0).values
    assert mtt.equal(deep, tensor)
    assert copy.copy(tensor).block(0).values is tensor.block(0).values
    assert tensor == tensor.copy()
    assert mtt.equal(tensor + tensor, tensor * 2)
    assert mtt.allclose(-tensor, tensor * -1)
    assert mtt.allclose((tensor - tensor) / (tensor + 1.0), tensor * 0)
    assert mtt.allclose(tensor**2, tensor * tensor)


def test_to_positional_arguments():
    tensor = tensor_map()
    converted = tensor.to("cpu", torch.float32)
    assert converted.dtype == torch.float32
    assert converted.info() == {"unit": "eV"}
    assert (
        tensor.to(torch.float16).block(1).gradient("positions").values.dtype
        == torch.float16
    )


def test_selection_errors():
    tensor = tensor_map()
    with pytest.raises(
        ValueError, match=r"could not find blocks matching the selection \(key_a=5\)"
    ):
        tensor.block(key_a=5)
    with pytest.raises(
        ValueError,
        match=r"got more than one matching block for \(key_b=0\), use the `blocks`",
    ):
        tensor.block(key_b=0)
    with pytest.raises(ValueError, match="more than one block in this TensorMap"):
        tensor.block()
    with pytest.raises(ValueError, match="there is no block in this TensorMap"):
        TensorMap(Labels.empty(["k"]), []).block()
    with pytest.raises(
        IndexError,
        match="block index out of bounds: we have 3 blocks but the index is 5",
    ):
        tensor.block(5)
    with pytest.raises(
        TypeError,
        match="the values in a block selection must be integers, got 0.5 for 'key_a'",
    ):
        tensor.block(key_a=0.5)
    with pytest.raises(
        TypeError, match="either as an argument or as keyword arguments"
    ):
        tensor.block({"key_a": 0}, key_b=1)
    with pytest.raises(
        TypeError,
        match="expected argument to be int, Dict\\[str, int\\], Labels, or LabelsEntry",
    ):
        tensor.block("key_a")

    def select(tensor: TensorMap, selection: Dict[str, int]) -> TensorBlock:
        return tensor.block(selection)

    with pytest.raises(
        torch.jit.Error,
        match=r"could not find blocks matching the selection \(key_a=5\)",
    ):
        script(select)(tensor, {"key_a": 5})


def test_constructor_errors():
    keys = labels(["k"], [[0], [1]])
    with pytest.raises(
        RuntimeError,
        match="expected the same number of blocks and keys, got 1 blocks and 2 keys",
    ):
        TensorMap(keys, [block(0)])
    with pytest.raises(
        RuntimeError,
        match="got blocks with different dtypes, at least 'f64' and 'f32'",
    ):
        TensorMap(keys, [block(0), block(1, dtype=torch.float32)])
    with pytest.raises(RuntimeError, match="all blocks must have the same gradients"):
        TensorMap(keys, [block(0), block(1, gradients=False)])
    renamed = TensorBlock(
        torch.zeros(1, 1), labels(["other"], [[0]]), [], Labels.range("n", 1)
    )
    with pytest.raises(
        RuntimeError,
        match=r"all blocks must have the same sample names, got \['system', 'atom'\] and \['other'\]",
    ):
        TensorMap(keys, [block(0, gradients=False).to(torch.float32), renamed])
    with pytest.raises(
        TypeError, match="`blocks` must contain metatensor.torch.TensorBlock"
    ):
        TensorMap(keys, [block(0), "block"])


def test_keys_to_errors():
    tensor = tensor_map()
    with pytest.raises(
        RuntimeError, match="'missing' in `keys_to_move` is not part of the keys"
    ):
        tensor.keys_to_samples("missing")

    def move(tensor: TensorMap, names: List[str]) -> TensorMap:
        return tensor.keys_to_samples(names)

    with pytest.raises(
        torch.jit.Error, match="'missing' in `keys_to_move` is not part of the keys"
    ):
        script(move)(tensor, ["missing"])
    with pytest.raises(
        torch.jit.Error, match="can not merge blocks with different components"
    ):
        script(move)(
            tensor.components_to_properties("xyz")
            .keys_to_properties("key_a")
            .keys_to_samples("key_b")
            .components_to_properties("xyz")
            if False
            else _different_components(),
            ["k"],
        )


def _different_components() -> TensorMap:
    first = TensorBlock(
        torch.zeros(1, 2, 1),
        labels(["s"], [[0]]),
        [Labels.range("c", 2)],
        Labels.range("n", 1),
    )
    second = TensorBlock(
        torch.zeros(1, 3, 1),
        labels(["s"], [[0]]),
        [Labels.range("c", 3)],
        Labels.range("n", 1),
    )
    return TensorMap(labels(["k"], [[0], [1]]), [first, second])
