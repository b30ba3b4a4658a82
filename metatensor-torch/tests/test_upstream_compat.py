"""Behaviours that code written for upstream metatensor-torch relies on"""

import io
import os
import re
import warnings
from typing import Dict, List

import pytest
import torch
from _utils import script

import metatensor.torch as mts


def _tensor() -> mts.TensorMap:
    block = mts.block_from_array(torch.arange(6.0).reshape(3, 2))
    return mts.TensorMap(mts.Labels.range("key", 1), [block])


def test_operations_can_be_saved_with_torch_jit_save(tmp_path):
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "`torch.jit.(script|save|load)` is deprecated"
        )
        path = tmp_path / "add.pt"
        torch.jit.save(mts.add, str(path))
        add = torch.jit.load(str(path))
        buffer = io.BytesIO()
        torch.jit.save(mts.sum_over_samples, buffer)
        buffer.seek(0)
        sum_over_samples = torch.jit.load(buffer)

        tensor = _tensor()
        assert mts.equal(add(tensor, 1.0), mts.add(tensor, 1.0))
        summed = sum_over_samples(tensor, "sample")
        assert summed.block().values.tolist() == [[6.0, 9.0]]

        # every operation compiles and saves, except the switches of the checks
        # (context managers, as upstream)
        skipped = {"unsafe_enable_checks", "unsafe_disable_checks"}
        for name in mts.operations.__all__:
            function = getattr(mts, name)
            if name in skipped or not callable(function) or isinstance(function, type):
                continue
            assert len(function.save_to_buffer()) > 0, name


def test_cmake_prefix_path():
    import metatensor.torch.utils

    path = mts.utils.cmake_prefix_path
    assert metatensor.torch.utils.cmake_prefix_path == path
    assert os.path.isdir(path)
    assert os.path.samefile(path, os.path.dirname(mts.__file__))


# ==================================================================================== #
# exceptions: upstream's class, and a message containing upstream's wording


def _block(values: torch.Tensor) -> mts.TensorBlock:
    return mts.TensorBlock(
        values,
        mts.Labels.range("s", values.shape[0]),
        [],
        mts.Labels.range("p", values.shape[1]),
    )


def _keys(names, rows) -> mts.Labels:
    return mts.Labels(names, torch.tensor(rows, dtype=torch.int32))


def _missing_gradient():
    _block(torch.zeros(2, 2)).gradient("not-there")


def _values_assignment():
    _block(torch.zeros(2, 2)).values = torch.ones(2, 2)


def _device_mismatch():
    mts.TensorBlock(
        torch.zeros(2, 2, device="meta"),
        mts.Labels.range("s", 2),
        [],
        mts.Labels.range("p", 2),
    )


def _gradient_dtype():
    block = _block(torch.zeros(2, 2))
    gradient = mts.TensorBlock(
        torch.zeros(2, 2, dtype=torch.float16),
        _keys(["sample", "g"], [[0, 0], [1, 0]]),
        [],
        mts.Labels.range("p", 2),
    )
    block.add_gradient("g", gradient)


def _tensor_map(n_blocks: int) -> mts.TensorMap:
    rows = [[i, i % 3] for i in range(n_blocks)]
    keys = mts.Labels(
        ["key_1", "key_2"], torch.tensor(rows, dtype=torch.int32).reshape(-1, 2)
    )
    blocks = [_block(torch.zeros(2, 2)) for _ in range(n_blocks)]
    return mts.TensorMap(keys, blocks)


def _different_dtypes():
    mts.TensorMap(
        mts.Labels.range("key", 2),
        [_block(torch.zeros(2, 2)), _block(torch.zeros(2, 2, dtype=torch.float64))],
    )


ENTRY = _keys(["a", "b"], [[1, 2]]).entry(0)
LABELS = _keys(["aa", "bb"], [[1, 2], [3, 4]])

UPSTREAM_ERRORS = [
    (
        RuntimeError,
        r"can not find gradients with respect to 'not-there' in this block",
        _missing_gradient,
    ),
    (
        ValueError,
        r"Direct\ assignment\ to\ `values`\ is\ not\ possible\.\ Please\ use\ "
        r"`block\.values\[:\]\ =\ new_values`\ instead\.",
        _values_assignment,
    ),
    (
        RuntimeError,
        r"invalid parameter: invalid block: values and samples must be on the same "
        r"device, got 'ExtDev:0' and 'CPU:0'",
        _device_mismatch,
    ),
    (
        RuntimeError,
        r"the gradient values have dtype .* but the block values have dtype",
        _gradient_dtype,
    ),
    (
        ValueError,
        r"invalid Labels: the names must have an entry for each column of the array",
        lambda: _keys(["a"], [[1, 2], [3, 4]]),
    ),
    (
        TypeError,
        r"names must be a tuple of strings, got element with type 'int' instead",
        lambda: mts.Labels(("a", 3), torch.zeros(1, 2, dtype=torch.int32)),
    ),
    (
        TypeError,
        r"names must be a list of strings, got element with type 'int' instead",
        lambda: mts.Labels(["a", 3], torch.zeros(1, 2, dtype=torch.int32)),
    ),
    (
        RuntimeError,
        r"Expected a value of type 'Tensor' for argument 'values' but instead found "
        r"type 'tuple",
        lambda: mts.Labels(["a"], ((1,), (2,))),
    ),
    (
        ValueError,
        r"Labels values must be a Tensor of 32-bit integers",
        lambda: mts.Labels(["a"], torch.zeros(2, 1)),
    ),
    (
        ValueError,
        r"Labels values must be a 2D Tensor",
        lambda: mts.Labels(["a"], torch.zeros(2, dtype=torch.int32)),
    ),
    (
        RuntimeError,
        r"invalid parameter: 'not an ident' is not a valid label name",
        lambda: mts.Labels(["not an ident"], torch.zeros(1, 1, dtype=torch.int32)),
    ),
    (
        IndexError,
        r"out of range for tensor of size \[2, 2\] at dimension 0",
        lambda: LABELS[3],
    ),
    (
        TypeError,
        r"Labels can only be indexed by int or str, got 'float' instead",
        lambda: LABELS[3.0],
    ),
    (
        TypeError,
        r"LabelsEntry can only be indexed by int or str, got '\(int, int\)' instead",
        lambda: ENTRY[1, 2],
    ),
    (
        TypeError,
        r"LabelsEntry can only be indexed by int or str, got 'str\[\]' instead",
        lambda: ENTRY[["a", "b"]],
    ),
    (
        TypeError,
        r"parameter to Labels::positions must be a LabelsEntry, tensor, or "
        r"list/tuple of integers, got 'int' instead",
        lambda: LABELS.position(3),
    ),
    (
        ValueError,
        r"`values` must be a 1D tensor",
        lambda: mts.Labels.range("a", 1).insert(
            0, "bar", torch.zeros(1, 1, dtype=torch.int32)
        ),
    ),
    (
        IndexError,
        r"index 42 is out of bounds",
        lambda: mts.Labels.range("a", 1).insert(
            42, "bar", torch.zeros(1, dtype=torch.int32)
        ),
    ),
    (
        RuntimeError,
        r"index 42 is out of bounds",
        lambda: mts.insert_dimension(_tensor_map(2), "keys", 42, "new", 0),
    ),
    (
        RuntimeError,
        r"invalid parameter: 'aaaa' in selection is not part of these Labels",
        lambda: LABELS.select(_keys(["aaaa"], [[1]])),
    ),
    (
        ValueError,
        r"could not find blocks matching the selection \(key_1=4, key_2=3\)",
        lambda: _tensor_map(3).block({"key_1": 4, "key_2": 3}),
    ),
    (
        ValueError,
        r"there is no block in this TensorMap",
        lambda: _tensor_map(0).block(),
    ),
    (
        ValueError,
        r"got more than one matching block for \(key_2=0\), use the `blocks` "
        r"function to select more than one block",
        lambda: _tensor_map(4).block(key_2=0),
    ),
    (
        ValueError,
        r"there is more than one block in this TensorMap, provide a selection",
        lambda: _tensor_map(2).block(),
    ),
    (
        TypeError,
        r"expected argument to be int, Dict\[str, int\], Labels, or LabelsEntry, "
        r"got str",
        lambda: _tensor_map(2).block("key_1"),
    ),
    (
        TypeError,
        r"expected argument to be Dict\[str, int\], got Dict\[str, str\]",
        lambda: _tensor_map(2).block({"key_2": "0"}),
    ),
    (
        IndexError,
        r"block index out of bounds: we have 0 blocks but the index is 3",
        lambda: _tensor_map(0).block(3),
    ),
    (
        RuntimeError,
        r"invalid parameter: there are no keys to move in an empty TensorMap",
        lambda: _tensor_map(0).keys_to_samples("key_1"),
    ),
    (RuntimeError, r"got blocks with different dtypes", _different_dtypes),
]


@pytest.mark.parametrize("error, pattern, function", UPSTREAM_ERRORS)
def test_upstream_exceptions(error, pattern, function):
    with pytest.raises(error) as info:
        function()
    # the class is upstream's, not a subclass adding another meaning
    assert type(info.value) is error
    assert re.search(pattern, str(info.value)) is not None, str(info.value)


def _select_in_script(tensor: mts.TensorMap, selection: Dict[str, int]):
    return tensor.block(selection)


def _gradient_in_script(block: mts.TensorBlock, parameter: str):
    return block.gradient(parameter)


def _entry_in_script(labels: mts.Labels, index: int):
    return labels.entry(index)


def test_upstream_messages_in_torchscript():
    # the same messages when the errors are raised by compiled code
    cases = [
        (
            script(_select_in_script),
            (_tensor_map(3), {"key_1": 4, "key_2": 3}),
            r"could not find blocks matching the selection \(key_1=4, key_2=3\)",
        ),
        (
            script(_select_in_script),
            (_tensor_map(4), {"key_2": 0}),
            r"got more than one matching block for \(key_2=0\)",
        ),
        (
            script(_gradient_in_script),
            (_block(torch.zeros(2, 2)), "not-there"),
            r"can not find gradients with respect to 'not-there' in this block",
        ),
        (
            script(_entry_in_script),
            (LABELS, 3),
            r"out of range for tensor of size \[2, 2\] at dimension 0",
        ),
    ]
    for function, arguments, pattern in cases:
        # errors of torch operations stay RuntimeError in compiled code
        with pytest.raises((torch.jit.Error, RuntimeError), match=pattern):
            function(*arguments)


# ==================================================================================== #
# signatures


def _blocks_by_positions(tensor: mts.TensorMap, positions: List[int]):
    return tensor.blocks(positions)


def _copies(tensor: mts.TensorMap) -> List[mts.TensorMap]:
    return [tensor.copy(), tensor.copy(deep=False)]


def _entry_value(entry: mts.LabelsEntry, index: str) -> int:
    return entry[index]


def test_upstream_signatures():
    tensor = _tensor_map(3)
    for blocks in [
        tensor.blocks([2, 0]),
        script(_blocks_by_positions)(tensor, [2, 0]),
    ]:
        assert len(blocks) == 2
        assert blocks[0].values is tensor.block(2).values
        assert blocks[1].values is tensor.block(0).values
    with pytest.raises(
        IndexError,
        match="block index out of bounds: we have 3 blocks but the index is 3",
    ):
        tensor.blocks([0, 3])

    block = tensor.block(1)
    assert block.copy(deep=False).values is block.values
    assert block.copy().values is not block.values
    for deep, shallow in [_copies(tensor), script(_copies)(tensor)]:
        assert shallow.block(1).values is block.values
        assert deep.block(1).values is not block.values
        assert torch.equal(deep.block(1).values, block.values)

    assert ENTRY.__getitem__(index="b") == 2
    assert script(_entry_value)(ENTRY, "a") == 1


def _permuted(labels: mts.Labels) -> mts.Labels:
    return labels.permute([-1, 0])


def test_permute_negative_indexes():
    for permuted in [_permuted(LABELS), script(_permuted)(LABELS)]:
        assert permuted.names == ["bb", "aa"]
        assert permuted.values.tolist() == [[2, 1], [4, 3]]
    with pytest.raises(ValueError, match="must be a permutation of 0..1"):
        LABELS.permute([-1, 1])


def _no_dimensions(values: torch.Tensor) -> mts.Labels:
    return mts.Labels("", values)


def test_empty_name_means_no_dimensions():
    values = torch.zeros(3, 0, dtype=torch.int32)
    for labels in [_no_dimensions(values), script(_no_dimensions)(values)]:
        assert labels.names == []
        assert len(labels) == 3
