"""Labels and LabelsEntry, in eager Python and in TorchScript"""

import copy
import pickle
from typing import Dict, List, Optional, Tuple

import pytest
import torch
from _utils import JIT_WARNINGS, assert_same, labels, script

import metatensor
import metatensor.torch as mtt
from metatensor.torch import Labels, LabelsEntry

pytestmark = JIT_WARNINGS


# ==================================================================================== #
# every method, run eagerly and compiled: the results must be the same


def construct(values: torch.Tensor) -> Tuple[Labels, Labels, Labels, Labels, Labels]:
    return (
        Labels(["a", "b"], values),
        Labels("a", values[:, :1], assume_unique=True),
        Labels.single(),
        Labels.empty(["x", "y"]),
        Labels.range("n", 4),
    )


def properties(labels: Labels) -> Tuple[List[str], torch.Tensor, torch.device, int]:
    return labels.names, labels.values, labels.device, len(labels)


def entries(labels: Labels) -> Tuple[LabelsEntry, LabelsEntry, torch.Tensor, str]:
    return labels[1], labels.entry(-1), labels.column("b"), labels.entry(0).print()


def entry_api(
    labels: Labels,
) -> Tuple[List[str], torch.Tensor, int, int, int, bool, bool]:
    entry = labels.entry(1)
    other = LabelsEntry(["a", "b"], torch.tensor([1, 2], dtype=torch.int32))
    return (
        entry.names,
        entry.values,
        len(entry),
        entry[0],
        entry["b"],
        entry == other,
        entry != labels.entry(0),
    )


def lookups(labels: Labels) -> List[Optional[int]]:
    return [
        labels.position([1, 2]),
        labels.position(torch.tensor([2, 0])),
        labels.position(labels.entry(2)),
        labels.position([7, 7]),
    ]


def contains(labels: Labels) -> List[bool]:
    return [[1, 2] in labels, torch.tensor([5, 5]) in labels, labels.entry(0) in labels]


def comparisons(labels: Labels, other: Labels) -> List[bool]:
    return [labels == labels, labels == other, labels != other]


def set_operations(
    labels: Labels, other: Labels
) -> Tuple[Labels, torch.Tensor, torch.Tensor, Labels, torch.Tensor, torch.Tensor]:
    union, union_1, union_2 = labels.union_and_mapping(other)
    common, common_1, common_2 = labels.intersection_and_mapping(other)
    return union, union_1, union_2, common, common_1, common_2


def difference(
    labels: Labels, other: Labels
) -> Tuple[Labels, Labels, torch.Tensor, Labels]:
    rest, mapping = labels.difference_and_mapping(other)
    return (
        labels.difference(other),
        rest,
        mapping,
        labels.union(other).intersection(other),
    )


def selections(labels: Labels) -> List[torch.Tensor]:
    same = Labels(["a", "b"], torch.tensor([[2, 0], [0, 1]], dtype=torch.int32))
    partial = Labels(["b"], torch.tensor([[2]], dtype=torch.int32))
    permuted = Labels(["b", "a"], torch.tensor([[0, 2], [1, 0]], dtype=torch.int32))
    entry = LabelsEntry(["a"], torch.tensor([1], dtype=torch.int32))
    no_names_list: List[str] = []
    no_names = Labels(no_names_list, torch.zeros((1, 0), dtype=torch.int32))
    return [
        labels.select(same),
        labels.select(partial),
        labels.select(permuted),
        labels.select(entry),
        labels.select(no_names),
    ]


def dimensions(labels: Labels) -> List[Labels]:
    column = torch.tensor([5, 6, 7])
    return [
        labels.append("c", column),
        labels.insert(0, "c", column),
        labels.permute([1, 0]),
        labels.remove("b"),
        labels.rename("a", "z"),
        labels.to(torch.device("cpu")),
        labels.to("cpu", True),
    ]


def printing(labels: Labels) -> List[str]:
    return [labels.print(-1), labels.print(2, 3), str(labels), labels.__repr__()]


def buffers(labels: Labels) -> Tuple[torch.Tensor, Labels]:
    buffer = labels.save_buffer()
    return buffer, Labels.load_buffer(buffer)


VALUES = torch.tensor([[0, 1], [1, 2], [2, 0]])
OTHER = labels(["a", "b"], [[2, 0], [3, 3], [0, 1], [4, 0]])
CASES = [
    (construct, (VALUES,)),
    (properties, ()),
    (entries, ()),
    (entry_api, ()),
    (lookups, ()),
    (contains, ()),
    (comparisons, (OTHER,)),
    (set_operations, (OTHER,)),
    (difference, (OTHER,)),
    (set_operations, (labels(["a", "b"], [[2, 0]]),)),
    (selections, ()),
    (dimensions, ()),
    (printing, ()),
    (buffers, ()),
]


@pytest.mark.parametrize(
    "function, arguments",
    CASES,
    ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)],
)
def test_eager_and_scripted(function, arguments):
    if function is not construct:
        arguments = (Labels(["a", "b"], VALUES),) + arguments
    eager = function(*arguments)
    scripted = script(function)(*arguments)
    assert_same(eager, scripted)


# ==================================================================================== #
# expected values


def test_values_and_conversions():
    values = torch.tensor([[0, 1], [1, 2]], dtype=torch.int64)
    created = Labels(["a", "b"], values)
    assert created.values.dtype == torch.int32
    assert created.values.is_contiguous()
    values[0, 0] = 10
    assert created.values[0, 0] == 0, "the values must be copied"
    assert Labels("a", torch.tensor([[0], [1]])).names == ["a"]
    assert Labels(("a", "b"), values).names == ["a", "b"]
    assert Labels(["a"], torch.zeros(0, dtype=torch.int64)).values.shape == (0, 1)
    assert created.column("b").tolist() == [1, 2]
    assert created["b"].tolist() == [1, 2]
    assert [entry.values.tolist() for entry in created] == [[0, 1], [1, 2]]


def test_expected_results():
    first = labels(["a", "b"], [[0, 1], [1, 2], [2, 0]])
    union, mapping_1, mapping_2 = first.union_and_mapping(OTHER)
    assert union.values.tolist() == [[0, 1], [1, 2], [2, 0], [3, 3], [4, 0]]
    assert mapping_1.tolist() == [0, 1, 2]
    assert mapping_2.tolist() == [2, 3, 0, 4]
    assert mapping_2.dtype == torch.int64

    common, mapping_1, mapping_2 = first.intersection_and_mapping(OTHER)
    # in the order of the smaller of the two
    assert common.values.tolist() == [[0, 1], [2, 0]]
    assert mapping_1.tolist() == [0, -1, 1]
    assert mapping_2.tolist() == [1, -1, 0, -1]

    rest, mapping = first.difference_and_mapping(OTHER)
    assert rest.values.tolist() == [[1, 2]]
    assert mapping.tolist() == [-1, 0, -1]

    permuted = labels(["b", "a"], [[0, 2], [1, 0]])
    assert first.select(permuted).tolist() == [0, 2]
    assert first.select(labels(["a", "b"], [[2, 0], [0, 1]])).tolist() == [2, 0]
    assert first.position((2, 0)) == 2
    assert first.position(labels(["a", "b"], [[2, 0]])[0]) == 2

    assert str(first) == "Labels\n    a  b\n    0  1\n    1  2\n    2  0"
    assert first.print(2) == " a  b\n 0  1\n ...\n 2  0"
    assert repr(first.entry(1)) == "LabelsEntry(a=1, b=2)"


def test_same_results_as_core():
    array = torch.randint(0, 30, (300, 3))
    array = torch.unique(array, dim=0)[torch.randperm(len(torch.unique(array, dim=0)))]
    first = Labels(["a", "b", "c"], array[:200])
    second = Labels(["a", "b", "c"], array[100:])
    core_1 = metatensor.Labels(["a", "b", "c"], array[:200].numpy())
    core_2 = metatensor.Labels(["a", "b", "c"], array[100:].numpy())

    @torch.jit.script
    def operations(first: Labels, second: Labels) -> List[torch.Tensor]:
        union, u1, u2 = first.union_and_mapping(second)
        common, c1, c2 = first.intersection_and_mapping(second)
        rest, d = first.difference_and_mapping(second)
        selected = first.select(
            Labels(["b"], torch.tensor([[3], [4]], dtype=torch.int32))
        )
        return [union.values, u1, u2, common.values, c1, c2, rest.values, d, selected]

    scripted = operations(first, second)
    union, u1, u2 = core_1.union_and_mapping(core_2)
    common, c1, c2 = core_1.intersection_and_mapping(core_2)
    rest, d = core_1.difference_and_mapping(core_2)
    selected = core_1.select(metatensor.Labels(["b"], torch.tensor([[3], [4]]).numpy()))
    expected = [union.values, u1, u2, common.values, c1, c2, rest.values, d, selected]
    for result, reference in zip(scripted, expected):
        assert result.tolist() == reference.tolist()


# ==================================================================================== #
# errors


def scripted_constructor(names: List[str], values: torch.Tensor) -> Labels:
    return Labels(names, values)


@pytest.mark.parametrize(
    "names, values, error, message",
    [
        (
            ["a"],
            torch.tensor([[0], [0]]),
            RuntimeError,
            r"invalid parameter: can not have the same label entry multiple times: "
            r"\[0\] is already present",
        ),
        (
            ["a", "a"],
            torch.tensor([[0, 1]]),
            RuntimeError,
            "label dimensions must be unique, got 'a' multiple times",
        ),
        (["1a"], torch.tensor([[0]]), RuntimeError, "'1a' is not a valid label name"),
        (["a-b"], torch.tensor([[0]]), RuntimeError, "'a-b' is not a valid label name"),
        (["é"], torch.tensor([[0]]), RuntimeError, "'é' is not a valid label name"),
        ([""], torch.tensor([[0]]), RuntimeError, "'' is not a valid label name"),
        (
            ["a"],
            torch.tensor([[0.5]]),
            ValueError,
            "Labels values must be a Tensor of 32-bit integers",
        ),
        (
            ["a"],
            torch.tensor([[2**40]]),
            ValueError,
            "Labels values must fit in 32-bit integers, got 1099511627776",
        ),
        (["a", "b"], torch.tensor([[0]]), ValueError, "2"),
        (
            ["a"],
            torch.tensor([[0.0]], requires_grad=True),
            ValueError,
            "integers|gradients",
        ),
    ],
)
def test_constructor_errors(names, values, error, message):
    with pytest.raises(error, match=message):
        Labels(names, values)
    with pytest.raises(torch.jit.Error, match=message):
        script(scripted_constructor)(names, values)


def test_eager_errors():
    with pytest.raises(
        RuntimeError,
        match="Expected a value of type 'Tensor' for argument 'values' but instead "
        "found type 'ndarray'",
    ):
        Labels(["a"], VALUES.numpy())
    first = labels(["a", "b"], [[0, 1]])
    with pytest.raises(
        ValueError,
        match="can not take the union of these Labels: they have different names",
    ):
        first.union(labels(["a", "c"], [[0, 1]]))
    with pytest.raises(TypeError, match="`other` must be metatensor.torch.Labels"):
        first.union(metatensor.Labels(["a", "b"], VALUES.numpy()))
    with pytest.raises(
        ValueError, match="'c' not found in the dimensions of these Labels"
    ):
        first.column("c")
    with pytest.raises(
        RuntimeError, match="'x' in selection is not part of these Labels"
    ):
        first.select(labels(["x"], [[0]]))
    with pytest.raises(TypeError, match="Labels can only be indexed by int"):
        first[0.5]
    with pytest.raises(
        RuntimeError, match="can not have the same label entry multiple times"
    ):
        first.append("c", torch.tensor([1])).remove("c").append(
            "c", torch.tensor([2])
        ).insert(0, "d", torch.tensor([0])).remove("d").union(
            first.append("c", torch.tensor([3]))
        ).remove("c")
    with pytest.raises(
        IndexError, match="index 5 is out of bounds: can not insert a dimension"
    ):
        first.insert(5, "c", torch.tensor([1]))
    with pytest.raises(ValueError, match="must be a permutation of 0..1"):
        first.permute([0, 0])


def union_error(first: Labels, second: Labels) -> Labels:
    return first.union(second)


def column_error(first: Labels) -> torch.Tensor:
    return first.column("x")


def test_scripted_errors():
    first = labels(["a", "b"], [[0, 1]])
    with pytest.raises(torch.jit.Error, match="they have different names"):
        script(union_error)(first, labels(["a", "c"], [[0, 1]]))
    with pytest.raises(torch.jit.Error, match="'x' not found in the dimensions"):
        script(column_error)(first)


# ==================================================================================== #
# Python protocols


def test_pickle_and_copy():
    first = labels(["a", "b"], [[0, 1], [3, 4]])
    loaded = pickle.loads(pickle.dumps(first))
    assert loaded == first
    assert loaded.position([3, 4]) == 1
    assert copy.copy(first) is first
    assert copy.deepcopy(first) is first


def test_objects_from_torchscript_are_python_objects():
    @torch.jit.script
    def make(n: int) -> Dict[str, Labels]:
        return {"range": Labels.range("x", n)}

    result = make(5)["range"]
    assert type(result) is Labels
    # the eager fast paths are rebuilt on these objects
    assert result.position([3]) == 3
    assert result["x"].tolist() == [0, 1, 2, 3, 4]


def test_module_and_core_range():
    assert Labels.__module__ == "metatensor.torch"
    assert mtt.Labels is metatensor.torch.Labels
