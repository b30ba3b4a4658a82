"""Labels refuse the same inputs in eager Python and in TorchScript, with the same
messages, and refuse to be used after their values were modified in place"""

import functools
import io
import pickle
import re
from typing import List, Optional

import pytest
import torch
from _utils import JIT_WARNINGS, labels, script

import metatensor
import metatensor.torch as mtt
from metatensor.torch import Labels, LabelsEntry

pytestmark = JIT_WARNINGS

MODIFIED = "the values of these Labels were modified in place"


def outcome(function, *args):
    """``("ok", result)``, or the class name and the message of the error raised
    by ``function`` (eager Python or TorchScript)"""
    try:
        return "ok", function(*args)
    except torch.jit.Error as error:
        found = re.search(r"\nbuiltins\.(\w+): (.*)\n$", str(error), re.DOTALL)
        assert found is not None, f"not a Python error: {error}"
        return found.group(1), found.group(2)
    except TypeError as error:
        return "TypeError", str(error)
    except ValueError as error:
        return "ValueError", str(error)


@functools.cache
def compiled(function):
    return script(function)


def same_outcome(function, *args):
    """The outcome of ``function`` run eagerly, checked to be the one of its
    compiled version"""
    eager = outcome(function, *args)
    assert outcome(compiled(function), *args) == eager
    return eager


# ==================================================================================== #
# lookups


def position_of_tensor(labels: Labels, entry: torch.Tensor) -> Optional[int]:
    return labels.position(entry)


def position_of_list(labels: Labels, entry: List[int]) -> Optional[int]:
    return labels.position(entry)


def position_of_entry(labels: Labels, entry: LabelsEntry) -> Optional[int]:
    return labels.position(entry)


def contains_tensor(labels: Labels, entry: torch.Tensor) -> bool:
    return entry in labels


EXAMPLE = [[0, 1], [2, 3], [-5, 2**31 - 1]]


@pytest.mark.parametrize(
    "entry, expected",
    [
        (torch.tensor([2, 3]), ("ok", 1)),
        (torch.tensor([2, 3], dtype=torch.int8), ("ok", 1)),
        (torch.tensor([2, 3], dtype=torch.uint8), ("ok", 1)),
        (torch.tensor([-5, 2**31 - 1], dtype=torch.int32), ("ok", 2)),
        (torch.tensor([-5, 2**31 - 1], dtype=torch.int64), ("ok", 2)),
        # outside of int32: absent, never wrapped around to an entry
        (torch.tensor([2**32 + 2, 3]), ("ok", None)),
        (torch.tensor([-5, 2**31 - 1 - 2**32]), ("ok", None)),
        (torch.tensor([2**63 + 2, 3], dtype=torch.uint64), ("ok", None)),
        (torch.tensor([2, 3], dtype=torch.uint64), ("ok", 1)),
        # never truncated
        (
            torch.tensor([2.5, 3.0]),
            (
                "TypeError",
                "entry must be a LabelsEntry, an integer tensor or a list of "
                "integers, got a tensor of torch.float32",
            ),
        ),
        (
            torch.tensor([True, False]),
            (
                "TypeError",
                "entry must be a LabelsEntry, an integer tensor or a list of "
                "integers, got a tensor of torch.bool",
            ),
        ),
        (
            torch.tensor([[2, 3]]),
            ("ValueError", "entry must be a 1-D tensor, got a 2-D tensor"),
        ),
        (
            torch.tensor(2),
            ("ValueError", "entry must be a 1-D tensor, got a 0-D tensor"),
        ),
        (
            torch.tensor([2, 3, 4]),
            ("ValueError", "entry has 3 values but the labels have 2 dimensions"),
        ),
    ],
)
def test_position_of_tensors(entry, expected):
    example = labels(["a", "b"], EXAMPLE)
    assert same_outcome(position_of_tensor, example, entry) == expected
    found = expected if expected[0] != "ok" else ("ok", expected[1] is not None)
    assert same_outcome(contains_tensor, example, entry) == found


@pytest.mark.parametrize(
    "entry, expected",
    [
        ([2, 3], ("ok", 1)),
        ([-5, 2**31 - 1], ("ok", 2)),
        ([2**32 + 2, 3], ("ok", None)),
        ([-5, 2**31], ("ok", None)),
        ([2, -(2**31) - 1], ("ok", None)),
        ([2], ("ValueError", "entry has 1 values but the labels have 2 dimensions")),
    ],
)
def test_position_of_lists(entry, expected):
    example = labels(["a", "b"], EXAMPLE)
    assert same_outcome(position_of_list, example, entry) == expected


def test_position_of_entries():
    example = labels(["a", "b"], EXAMPLE)
    other = labels(["a", "c"], EXAMPLE)
    assert same_outcome(position_of_entry, example, example[2]) == ("ok", 2)
    assert same_outcome(position_of_entry, example, other[0]) == (
        "ValueError",
        "the entry has dimensions ['a', 'c'] but these Labels have ['a', 'b']",
    )


def test_position_eager_only_entries():
    example = labels(["a", "b"], EXAMPLE)
    assert example.position((2, 3)) == 1
    assert example.position((2**40, 3)) is None
    with pytest.raises(TypeError, match="parameter to Labels::positions must be a"):
        example.position(3)
    with pytest.raises(TypeError, match="entry values must be integers, got 2.5"):
        example.position([2.5, 3])


# ==================================================================================== #
# construction


def construct(names: List[str], values: torch.Tensor) -> Labels:
    return Labels(names, values)


def shape_and_length(labels: Labels):
    return list(labels.values.shape), len(labels)


@pytest.mark.parametrize(
    "names, values, expected",
    [
        ([], torch.zeros((3, 0), dtype=torch.int32), ("ok", ([3, 0], 3))),
        ([], torch.zeros((0, 0), dtype=torch.int32), ("ok", ([0, 0], 0))),
        (["a"], torch.zeros((0, 3), dtype=torch.int64), ("ok", ([0, 1], 0))),
        (["a", "b"], torch.zeros((0,), dtype=torch.int32), ("ok", ([0, 2], 0))),
        (
            ["a", "b"],
            torch.zeros((2, 0), dtype=torch.int32),
            (
                "ValueError",
                "invalid Labels: the names must have an entry for each column of "
                "the array: the values have 0 columns but there are 2 names",
            ),
        ),
        (
            [],
            torch.zeros((3,), dtype=torch.int32),
            ("ValueError", "Labels values must be a 2D Tensor, got 1 dimensions"),
        ),
        (
            ["a"],
            torch.zeros((2, 1)),
            (
                "ValueError",
                "Labels values must be a Tensor of 32-bit integers (or of another "
                "integer type, converted to int32), got torch.float32",
            ),
        ),
        (
            ["a"],
            torch.zeros((2, 1), dtype=torch.complex128),
            (
                "ValueError",
                "Labels values must be a Tensor of 32-bit integers (or of another "
                "integer type, converted to int32), got torch.complex128",
            ),
        ),
        (
            ["a"],
            torch.tensor([[1], [-(2**31) - 1]]),
            (
                "ValueError",
                "Labels values must fit in 32-bit integers, got -2147483649",
            ),
        ),
    ],
)
def test_constructor(names, values, expected):
    result = same_outcome(construct, names, values)
    if result[0] == "ok":
        result = ("ok", shape_and_length(result[1]))
    assert result == expected


def test_constructor_copies():
    values = torch.tensor([[0], [1]])
    first = Labels(["a"], values)
    values[0, 0] = 1
    assert first.values.tolist() == [[0], [1]]
    assert first.position([0]) == 0


# ==================================================================================== #
# values modified in place


def eager_uses(first: Labels, other: Labels):
    """Every use of ``first`` that must refuse modified values, in eager Python"""
    return {
        "values": lambda: first.values,
        "position": lambda: first.position([0, 1]),
        "in": lambda: [0, 1] in first,
        "entry": lambda: first.entry(0),
        "getitem": lambda: first[0],
        "column": lambda: first["a"],
        "iter": lambda: list(first),
        "eq": lambda: first == other,
        "eq other": lambda: other == first,
        "union": lambda: first.union(other),
        "intersection": lambda: other.intersection_and_mapping(first),
        "difference": lambda: first.difference(other),
        "select": lambda: first.select(other),
        "selection": lambda: other.select(first),
        "insert": lambda: first.insert(1, "c", torch.arange(3)),
        "permute": lambda: first.permute([1, 0]),
        "remove": lambda: first.remove("b"),
        "rename": lambda: first.rename("a", "x"),
        "to": lambda: first.to("cpu"),
        "save_buffer": lambda: first.save_buffer(),
        "save": lambda: mtt.save(io.BytesIO(), first),
        "pickle": lambda: pickle.dumps(first),
        "core": lambda: metatensor.Labels(first.names, first.values),
    }


@pytest.mark.parametrize("use", list(eager_uses(None, None)))
def test_modified_values_are_refused(use):
    first = labels(["a", "b"], [[0, 1], [2, 3], [4, 5]])
    other = labels(["a", "b"], [[2, 3]])
    eager_uses(first, other)[use]()
    first.values[0] = first.values[1]
    with pytest.raises(ValueError, match=MODIFIED):
        eager_uses(first, other)[use]()
    assert other.position([2, 3]) == 0


def test_modified_keys_of_a_tensor_map():
    keys = labels(["key"], [[0], [1]])
    blocks = [
        mtt.TensorBlock(
            torch.full((1, 1), float(i)),
            Labels.range("s", 1),
            [],
            Labels.range("p", 1),
        )
        for i in range(2)
    ]
    tensor = mtt.TensorMap(keys, blocks)
    keys.column("key").fill_(0)
    with pytest.raises(ValueError, match=MODIFIED):
        tensor.block({"key": 1})
    with pytest.raises(ValueError, match=MODIFIED):
        mtt.save_buffer(tensor)


def modify_in_script(labels: Labels) -> Labels:
    labels.values[0, 0] = 4
    return labels


def lookup_in_script(labels: Labels) -> Optional[int]:
    return labels.position([4, 1])


def test_modified_in_torchscript():
    first = labels(["a", "b"], [[0, 1], [4, 5]])
    assert first.position([0, 1]) == 0
    returned = script(modify_in_script)(first)
    # the Labels given to the compiled code notice the modification
    with pytest.raises(ValueError, match=MODIFIED):
        first.position([4, 1])
    # inside TorchScript there is no index: lookups follow the tensor
    assert script(lookup_in_script)(first) == 0
    # Labels coming back from TorchScript start from their values at that time
    assert returned.position([4, 1]) == 0
