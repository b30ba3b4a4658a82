import copy
import pickle

import numpy as np
import pytest
from _index_impls import index_impl  # noqa: F401 (autouse fixture)
from _utils import requires_torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import metatensor
from metatensor import Labels, LabelsEntry, MetatensorError


def example():
    return Labels(["system", "atom"], np.array([[0, 1], [0, 0], [2, 3]]))


# ================================================================================ #
# construction


def test_construction():
    labels = example()
    assert labels.names == ["system", "atom"]
    assert labels.values.dtype == np.int32
    assert labels.values.shape == (3, 2)
    assert labels.values.tolist() == [[0, 1], [0, 0], [2, 3]]
    assert len(labels) == 3
    assert labels.device == "cpu"


def test_values_are_copied_and_read_only():
    values = np.array([[0], [1]], dtype=np.int32)
    labels = Labels("a", values)
    values[0, 0] = 1
    assert labels.values.tolist() == [[0], [1]]
    with pytest.raises(ValueError, match="read-only"):
        labels.values[0, 0] = 4


def test_single_name_and_lists():
    labels = Labels("a", [[1], [2]])
    assert labels.names == ["a"]
    assert labels.values.tolist() == [[1], [2]]


def test_integer_conversion():
    for dtype in (np.int8, np.int64, np.uint16, np.uint64):
        labels = Labels(["a"], np.array([[1], [2]], dtype=dtype))
        assert labels.values.dtype == np.int32

    with pytest.raises(
        MetatensorError, match="must fit in 32-bit integers, got 1099511627776"
    ):
        Labels(["a"], np.array([[2**40]]))

    with pytest.raises(TypeError, match="must be convertible to integers"):
        Labels(["a"], np.array([[1.5]]))


def test_empty_values():
    labels = Labels(["a", "b"], np.array([]))
    assert labels.values.shape == (0, 2)
    assert len(labels) == 0
    assert Labels.empty(["x", "y"]).values.shape == (0, 2)


def test_shape_errors():
    with pytest.raises(MetatensorError, match="2 columns but there are 1 names"):
        Labels(["a"], np.array([[1, 2]]))
    with pytest.raises(MetatensorError, match="must be a 2-D array"):
        Labels(["a"], np.array([1, 2]))


@pytest.mark.parametrize("name", ["1a", "a-b", "a.b", "a b", "é", ""])
def test_invalid_names(name):
    with pytest.raises(MetatensorError, match=f"'{name}' is not a valid label name"):
        Labels([name], np.array([[0]]))


def test_valid_names():
    labels = Labels(["_a", "A_1", "_"], np.array([[0, 0, 0]]))
    assert labels.names == ["_a", "A_1", "_"]


def test_name_errors():
    with pytest.raises(MetatensorError, match="got 'a' multiple times"):
        Labels(["a", "b", "a"], np.array([[0, 0, 0]]))
    with pytest.raises(TypeError, match="names must be strings, got <class 'int'>"):
        Labels(["a", 3], np.array([[0, 0]]))
    with pytest.raises(TypeError, match="must be a string or a list of strings"):
        Labels(3, np.array([[0]]))


def test_uniqueness():
    message = r"can not have the same label entry multiple times: \[0, 1\] is"
    with pytest.raises(MetatensorError, match=message):
        Labels(["a", "b"], np.array([[0, 1], [2, 3], [0, 1]]))
    # sorted input is checked as well
    with pytest.raises(MetatensorError, match=r"\[1\] is already present"):
        Labels(["a"], np.array([[0], [1], [1]]))

    # assume_unique skips the check
    labels = Labels(["a"], np.array([[1], [1]]), assume_unique=True)
    assert len(labels) == 2
    assert labels.position([1]) == 0


def test_zero_dimension_labels():
    labels = Labels([], np.zeros((3, 0), dtype=np.int32))
    assert len(labels) == 3
    assert labels.names == []


def test_constructors():
    single = Labels.single()
    assert single.names == ["_"]
    assert single.values.tolist() == [[0]]

    labels = Labels.range("n", 4)
    assert labels.names == ["n"]
    assert labels.values.tolist() == [[0], [1], [2], [3]]
    assert len(Labels.range("n", 0)) == 0

    with pytest.raises(ValueError, match="`end` must be an integer"):
        Labels.range("n", -1)
    with pytest.raises(TypeError, match="must be a single string"):
        Labels.range(["a", "b"], 3)


# ================================================================================ #
# entries, columns, lookups


def test_entries():
    labels = example()
    entry = labels[0]
    assert isinstance(entry, LabelsEntry)
    assert entry.names == ["system", "atom"]
    assert entry.values.tolist() == [0, 1]
    assert entry["atom"] == 1
    assert entry[0] == 0
    assert len(entry) == 2
    assert labels[-1].values.tolist() == [2, 3]
    assert labels.entry(2) == labels[2]
    assert entry.print() == "(system=0, atom=1)"
    assert repr(entry) == "LabelsEntry(system=0, atom=1)"
    assert entry.device == "cpu"

    with pytest.raises(IndexError):
        labels[3]
    with pytest.raises(ValueError, match="'foo' not found in the dimensions"):
        entry["foo"]
    with pytest.raises(TypeError, match="can only index LabelsEntry with str or int"):
        entry[1.5]


def test_entry_comparison():
    labels = example()
    assert labels[0] == LabelsEntry(["system", "atom"], np.array([0, 1]))
    assert labels[0] != labels[1]
    assert labels[0] != LabelsEntry(["a", "atom"], np.array([0, 1]))
    with pytest.raises(TypeError, match="can only compare LabelsEntry"):
        labels[0] == (0, 1)  # noqa: B015


def test_entry_construction_errors():
    with pytest.raises(MetatensorError, match="2 names but 3 values|3 columns"):
        LabelsEntry(["a", "b"], np.array([1, 2, 3]))


def test_iteration():
    labels = example()
    entries = list(labels)
    assert [e.values.tolist() for e in entries] == labels.values.tolist()


def test_getitem_errors():
    with pytest.raises(
        TypeError, match="can only be indexed by a single string or integer"
    ):
        example()[["system"]]
    with pytest.raises(
        TypeError, match="can only be indexed by a single string or integer"
    ):
        example()[1.2]


def test_columns():
    labels = example()
    assert labels.column("atom").tolist() == [1, 0, 3]
    assert labels["system"].tolist() == [0, 0, 2]
    with pytest.raises(ValueError, match="'foo' not found in the dimensions"):
        labels.column("foo")


def test_position_and_contains():
    labels = example()
    assert labels.position((0, 0)) == 1
    assert labels.position([2, 3]) == 2
    assert labels.position(np.array([0, 1])) == 0
    assert labels.position(labels[2]) == 2
    assert labels.position((5, 5)) is None
    assert (0, 0) in labels
    assert (9, 9) not in labels
    assert labels[1] in labels
    # values that can not be int32 are never present
    assert labels.position((0, 2**40)) is None

    with pytest.raises(ValueError, match="entry has 3 values but the labels have 2"):
        labels.position((0, 0, 0))
    with pytest.raises(ValueError, match="the entry has dimensions"):
        labels.position(LabelsEntry(["a", "b"], np.array([0, 0])))


def test_equality():
    assert example() == example()
    other = Labels(["system", "atom"], np.array([[0, 0], [0, 1], [2, 3]]))
    assert example() != other  # same entries, different order
    assert example() != Labels(["system", "other"], np.array([[0, 1], [0, 0], [2, 3]]))
    with pytest.raises(TypeError, match="can only compare Labels with other Labels"):
        example() == 3  # noqa: B015


# ================================================================================ #
# set operations


def test_union():
    first = Labels(["a", "b"], np.array([[0, 1], [1, 2], [2, 3]]))
    second = Labels(["a", "b"], np.array([[5, 5], [1, 2], [7, 7]]))
    union, map_first, map_second = first.union_and_mapping(second)
    assert union.values.tolist() == [[0, 1], [1, 2], [2, 3], [5, 5], [7, 7]]
    assert map_first.tolist() == [0, 1, 2]
    assert map_second.tolist() == [3, 1, 4]
    assert map_first.dtype == np.int64
    assert first.union(second) == union


def test_intersection():
    first = Labels(["a", "b"], np.array([[0, 1], [1, 2], [2, 3], [4, 4]]))
    second = Labels(["a", "b"], np.array([[2, 3], [5, 5], [1, 2]]))
    result, map_first, map_second = first.intersection_and_mapping(second)
    # follows the order of the smaller operand
    assert result.values.tolist() == [[2, 3], [1, 2]]
    assert map_first.tolist() == [-1, 1, 0, -1]
    assert map_second.tolist() == [0, -1, 1]

    result, map_second, map_first = second.intersection_and_mapping(first)
    assert result.values.tolist() == [[2, 3], [1, 2]]
    assert map_second.tolist() == [0, -1, 1]
    assert first.intersection(second) == result


def test_difference():
    first = Labels(["a", "b"], np.array([[0, 1], [1, 2], [2, 3]]))
    second = Labels(["a", "b"], np.array([[2, 3], [5, 5]]))
    result, mapping = first.difference_and_mapping(second)
    assert result.values.tolist() == [[0, 1], [1, 2]]
    assert mapping.tolist() == [0, 1, -1]
    assert first.difference(second) == result


def test_set_operation_errors():
    first = Labels(["a", "b"], np.array([[0, 1]]))
    second = Labels(["a", "c"], np.array([[0, 1]]))
    for operation in ("union", "intersection", "difference"):
        with pytest.raises(MetatensorError, match=f"can not take the {operation}"):
            getattr(first, operation)(second)
        with pytest.raises(TypeError, match="must be Labels"):
            getattr(first, operation)(np.array([[0, 1]]))


rows = hnp.arrays(
    np.int32,
    st.tuples(st.integers(0, 40), st.integers(1, 3)),
    elements=st.integers(-3, 3),
)


def _unique_labels(values):
    _, first = np.unique(values, axis=0, return_index=True)
    values = values[np.sort(first)]
    return Labels([f"d{i}" for i in range(values.shape[1])], values)


@settings(max_examples=60, deadline=None)
@given(rows, st.data())
def test_set_operations_properties(first_values, data):
    first = _unique_labels(first_values)
    second_values = data.draw(
        hnp.arrays(
            np.int32,
            st.tuples(st.integers(0, 40), st.just(first_values.shape[1])),
            elements=st.integers(-3, 3),
        )
    )
    second = _unique_labels(second_values)
    first_set = set(map(tuple, first.values.tolist()))
    second_set = set(map(tuple, second.values.tolist()))

    union, map_first, map_second = first.union_and_mapping(second)
    assert set(map(tuple, union.values.tolist())) == first_set | second_set
    assert union.values[: len(first)].tolist() == first.values.tolist()
    assert np.array_equal(union.values[map_first], first.values)
    assert np.array_equal(union.values[map_second], second.values)

    intersection, map_first, map_second = first.intersection_and_mapping(second)
    assert set(map(tuple, intersection.values.tolist())) == first_set & second_set
    for labels, mapping in ((first, map_first), (second, map_second)):
        for i, position in enumerate(mapping.tolist()):
            if position == -1:
                assert tuple(labels.values[i]) not in first_set & second_set
            else:
                assert np.array_equal(intersection.values[position], labels.values[i])

    difference, mapping = first.difference_and_mapping(second)
    expected = [r for r in first.values.tolist() if tuple(r) not in second_set]
    assert difference.values.tolist() == expected
    for i, position in enumerate(mapping.tolist()):
        if position != -1:
            assert np.array_equal(difference.values[position], first.values[i])

    # position agrees with the row order
    for i, row in enumerate(union.values.tolist()):
        assert union.position(row) == i


# ================================================================================ #
# select


def test_select():
    labels = Labels(["a", "b"], np.array([[0, 1], [1, 1], [2, 3], [0, 3]]))
    selected = labels.select(Labels(["b"], np.array([[1]])))
    assert selected.dtype == np.uint64
    assert selected.tolist() == [0, 1]

    # same names: selection order
    selection = Labels(["a", "b"], np.array([[2, 3], [0, 1], [7, 7]]))
    assert labels.select(selection).tolist() == [2, 0]
    # permuted names: increasing order
    selection = Labels(["b", "a"], np.array([[3, 2], [1, 0]]))
    assert labels.select(selection).tolist() == [0, 2]
    # empty names select everything
    assert labels.select(Labels([], np.zeros((1, 0)))).tolist() == [0, 1, 2, 3]
    # entries work too
    assert labels.select(labels[3]).tolist() == [3]

    with pytest.raises(MetatensorError, match="'x' in selection is not part of these"):
        labels.select(Labels(["x"], np.array([[1]])))
    with pytest.raises(TypeError, match="must be Labels or a LabelsEntry"):
        labels.select({"a": 1})


# ================================================================================ #
# column operations


def test_append_insert():
    labels = example()
    appended = labels.append("new", np.array([7, 8, 9]))
    assert appended.names == ["system", "atom", "new"]
    assert appended.column("new").tolist() == [7, 8, 9]

    inserted = labels.insert(0, "new", np.array([7, 8, 9]))
    assert inserted.names == ["new", "system", "atom"]
    assert inserted.values.tolist()[0] == [7, 0, 1]

    with pytest.raises(
        ValueError, match="contains 2 entries, but the Labels contains 3"
    ):
        labels.append("new", np.array([1, 2]))
    with pytest.raises(ValueError, match="`values` must be a numpy ndarray"):
        labels.append("new", [1, 2, 3])
    with pytest.raises(MetatensorError, match="got 'atom' multiple times"):
        labels.append("atom", np.array([1, 2, 3]))
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        labels.insert(5, "new", np.array([1, 2, 3]))


def test_permute_remove_rename():
    labels = example()
    permuted = labels.permute([1, 0])
    assert permuted.names == ["atom", "system"]
    assert permuted.values.tolist() == [[1, 0], [0, 0], [3, 2]]
    with pytest.raises(ValueError, match="must be a permutation"):
        labels.permute([0, 0])

    # rows [0], [0], [2] are no longer unique
    with pytest.raises(MetatensorError, match="multiple times"):
        labels.remove("atom")
    removed = labels.remove("system")
    assert removed.names == ["atom"]
    assert removed.values.tolist() == [[1], [0], [3]]
    with pytest.raises(ValueError, match="'foo' not found"):
        labels.remove("foo")

    renamed = labels.rename("atom", "center")
    assert renamed.names == ["system", "center"]
    assert renamed.values.tolist() == labels.values.tolist()
    assert renamed.position((2, 3)) == 2
    with pytest.raises(ValueError, match="'foo' not found"):
        labels.rename("foo", "bar")
    with pytest.raises(MetatensorError, match="not a valid label name"):
        labels.rename("atom", "1x")


# ================================================================================ #
# conversions, copies, printing, pickling


def test_to():
    labels = example()
    assert labels.to("cpu") is labels
    assert labels.to(arrays="numpy") is labels
    with pytest.raises(TypeError, match="always int32"):
        labels.to(np.float64)
    with pytest.raises(ValueError, match="numpy arrays can only be on the 'cpu'"):
        labels.to(device="cuda")
    with pytest.raises(ValueError, match="`arrays` must be 'numpy' or 'torch'"):
        labels.to(arrays="jax")


def test_copies():
    labels = example()
    assert copy.copy(labels) == labels
    assert copy.deepcopy(labels) == labels


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pickle(protocol):
    labels = example()
    loaded = pickle.loads(pickle.dumps(labels, protocol=protocol))
    assert loaded == labels


def test_print():
    labels = Labels(["system", "atom"], np.array([[0, 1], [0, 10], [200, 3]]))
    # values centered under the names, as upstream
    assert labels.print(-1) == " system  atom\n   0      1\n   0      10\n  200     3"
    assert repr(labels) == (
        "Labels\n    system  atom\n      0      1\n      0      10\n     200     3"
    )
    many = Labels.range("n", 100)
    text = many.print(4)
    assert "..." in text
    assert text.splitlines()[1].strip() == "0"
    assert text.splitlines()[-1].strip() == "99"
    assert "<table>" in labels._repr_html_()


def test_public_module():
    assert Labels.__module__ == "metatensor"
    assert LabelsEntry.__module__ == "metatensor"
    assert metatensor.MetatensorError.__module__ == "metatensor"
    assert issubclass(MetatensorError, ValueError)


# ================================================================================ #
# torch values


@requires_torch
def test_torch_labels():
    import torch

    values = torch.tensor([[0, 1], [1, 2], [2, 3]])
    labels = Labels(["a", "b"], values)
    assert isinstance(labels.values, torch.Tensor)
    assert labels.values.dtype == torch.int32
    assert labels.device == torch.device("cpu")
    # the values are copied
    values[0, 0] = 10
    assert labels.values[0, 0] == 0

    assert labels.position(torch.tensor([1, 2])) == 1
    assert labels.position(labels[2]) == 2
    assert isinstance(labels[0].values, torch.Tensor)
    assert labels.column("b").tolist() == [1, 2, 3]

    other = Labels(["a", "b"], torch.tensor([[2, 3], [7, 7]]))
    union, first, second = labels.union_and_mapping(other)
    assert isinstance(union.values, torch.Tensor)
    assert union.values.tolist() == [[0, 1], [1, 2], [2, 3], [7, 7]]
    assert isinstance(second, torch.Tensor)
    assert second.tolist() == [2, 3]
    assert labels.intersection(other).values.tolist() == [[2, 3]]
    assert labels.difference(other).values.tolist() == [[0, 1], [1, 2]]

    selected = labels.select(Labels(["b"], torch.tensor([[2]])))
    assert isinstance(selected, torch.Tensor)
    assert selected.tolist() == [1]

    assert labels.append("c", np.array([4, 5, 6])).values.tolist()[0] == [0, 1, 4]
    assert isinstance(labels.rename("a", "x").values, torch.Tensor)

    as_numpy = labels.to(arrays="numpy")
    assert isinstance(as_numpy.values, np.ndarray)
    assert as_numpy == labels
    as_torch = as_numpy.to(arrays="torch")
    assert isinstance(as_torch.values, torch.Tensor)
    assert as_torch.values.tolist() == labels.values.tolist()

    with pytest.raises(TypeError, match="must be convertible to integers"):
        Labels(["a"], torch.tensor([[1.0]]))
    with pytest.raises(MetatensorError, match="must fit in 32-bit integers"):
        Labels(["a"], torch.tensor([[2**40]]))
    with pytest.raises(MetatensorError, match=r"\[0\] is already present"):
        Labels(["a"], torch.tensor([[0], [0]]))
