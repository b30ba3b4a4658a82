"""Tests of the label-row core: the C extension and its pure-Python twin, which
must agree on every result and every error"""

import sys
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from metatensor import _labels_ext, _labels_py
from metatensor._errors import MetatensorError

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
# loops over this many rows run without the GIL in the extension
BIG = 20_000


@pytest.fixture(params=[_labels_ext, _labels_py], ids=["ext", "py"])
def impl(request):
    return request.param


def int32(rows, d=None):
    array = np.array(rows, dtype=np.int32)
    if d is not None:
        array = array.reshape(-1, d)
    return array


def unaligned_int32(rows):
    """a C-contiguous int32 copy of ``rows`` whose data is not 4-byte aligned"""
    rows = int32(rows)
    raw = np.zeros(rows.nbytes + 1, dtype=np.uint8)
    array = raw[1:].view(np.int32).reshape(rows.shape)
    array[...] = rows
    assert not array.flags.aligned and array.flags.c_contiguous
    return array


# ============================================================================ #
#                               LabelsIndex                                    #
# ============================================================================ #


def test_index_basics(impl):
    values = int32([[1, 2], [3, 4], [1, 3], [-5, INT32_MAX]])
    index = impl.LabelsIndex(values)
    assert len(index) == 4
    assert index.values is values
    assert index.position((3, 4)) == 1
    assert index.position([1, 3]) == 2
    assert index.position((-5, INT32_MAX)) == 3
    assert index.position((2, 1)) is None
    assert index.position((np.int32(1), np.int64(2))) == 0

    with pytest.raises(AttributeError):
        index.values = values


def test_index_keeps_a_reference(impl):
    values = int32([[1, 2], [3, 4]])
    count = sys.getrefcount(values)
    index = impl.LabelsIndex(values)
    assert sys.getrefcount(values) == count + 1
    del index
    assert sys.getrefcount(values) == count

    index = impl.LabelsIndex(int32([[5], [6]]))
    assert index.position((6,)) == 1
    assert index.values.tolist() == [[5], [6]]


def test_index_empty(impl):
    index = impl.LabelsIndex(np.zeros((0, 3), dtype=np.int32))
    assert len(index) == 0
    assert index.position((0, 0, 0)) is None
    assert index.positions(int32([[0, 0, 0]])).tolist() == [-1]


def test_index_no_dimensions(impl):
    index = impl.LabelsIndex(np.zeros((1, 0), dtype=np.int32))
    assert index.position(()) == 0
    assert index.position([]) == 0
    assert index.positions(np.zeros((3, 0), dtype=np.int32)).tolist() == [0, 0, 0]

    message = (
        r"can not have the same label entry multiple times: \[\] is already present"
    )
    with pytest.raises(MetatensorError, match=message):
        impl.LabelsIndex(np.zeros((2, 0), dtype=np.int32))

    index = impl.LabelsIndex(np.zeros((5, 0), dtype=np.int32), check_unique=False)
    assert len(index) == 5
    assert index.position(()) == 0

    index = impl.LabelsIndex(np.zeros((0, 0), dtype=np.int32))
    assert index.position(()) is None


def test_index_duplicates(impl):
    values = int32([[1, 2], [3, 4], [1, 2], [3, 4]])
    message = (
        r"can not have the same label entry multiple times: \[1, 2\] is already present"
    )
    with pytest.raises(MetatensorError, match=message):
        impl.LabelsIndex(values)
    # MetatensorError is a ValueError
    with pytest.raises(ValueError, match=message):
        impl.LabelsIndex(values, check_unique=True)

    count = sys.getrefcount(values)
    for _ in range(3):
        with pytest.raises(MetatensorError):
            impl.LabelsIndex(values)
    assert sys.getrefcount(values) == count

    # without the check, lookups give the first occurrence
    index = impl.LabelsIndex(values, check_unique=False)
    assert len(index) == 4
    assert index.position((1, 2)) == 0
    assert index.position((3, 4)) == 1
    assert index.positions(values).tolist() == [0, 1, 0, 1]


def test_index_duplicates_big(impl):
    values = np.arange(3 * BIG, dtype=np.int32).reshape(BIG, 3)
    values[-1] = [-7, 8, INT32_MIN]
    values[BIG // 2] = [-7, 8, INT32_MIN]
    message = (
        r"can not have the same label entry multiple times: "
        r"\[-7, 8, -2147483648\] is already present"
    )
    with pytest.raises(MetatensorError, match=message):
        impl.LabelsIndex(values)
    index = impl.LabelsIndex(values, check_unique=False)
    assert index.position((-7, 8, INT32_MIN)) == BIG // 2
    assert index.positions(values[::-1]).tolist()[:2] == [BIG // 2, BIG - 2]


def test_index_many_dimensions(impl):
    # more dimensions than the extension converts on the stack
    values = np.arange(40 * 50, dtype=np.int32).reshape(50, 40)
    index = impl.LabelsIndex(values)
    assert index.position(tuple(range(40, 80))) == 1
    assert index.position(values[7]) == 7
    assert index.position([0] * 40) is None
    assert index.positions(values[::-1]).tolist() == list(range(49, -1, -1))


@pytest.mark.parametrize(
    "values, error, message",
    [
        ([[1, 2]], TypeError, "expected a numpy array of int32 for `values`, got list"),
        (None, TypeError, "expected a numpy array of int32 for `values`, got NoneType"),
        (
            np.zeros((2, 2)),
            TypeError,
            "expected a numpy array of int32 for `values`, got an array of float64",
        ),
        (
            np.zeros((2, 2), dtype=np.int64),
            TypeError,
            "expected a numpy array of int32 for `values`, got an array of int64",
        ),
        (
            np.zeros((2, 2), dtype=">i4"),
            TypeError,
            "expected a numpy array of int32 for `values`, got an array of >i4",
        ),
        (
            np.zeros((2, 2), dtype=np.uint32),
            TypeError,
            "expected a numpy array of int32 for `values`, got an array of uint32",
        ),
        (
            np.zeros(2, dtype=np.int32),
            ValueError,
            "expected a 2-D array for `values`, got a 1-D array",
        ),
        (
            np.zeros((2, 2, 2), dtype=np.int32),
            ValueError,
            "expected a 2-D array for `values`, got a 3-D array",
        ),
        (
            np.zeros((4, 4), dtype=np.int32)[:, ::2],
            ValueError,
            r"expected a C-contiguous and aligned array for `values`, got a non-contiguous "
            r"one; use numpy.require\(values, requirements='CA'\)",
        ),
        (
            np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
            ValueError,
            "got a non-contiguous one",
        ),
        (
            unaligned_int32([[1, 2], [3, 4]]),
            ValueError,
            "expected a C-contiguous and aligned array for `values`, got an unaligned one",
        ),
    ],
)
def test_values_validation(impl, values, error, message):
    for function in (impl.LabelsIndex, impl.is_sorted, impl.argsort_rows):
        with pytest.raises(error, match=message):
            function(values)
    if error is TypeError:
        message = message.replace("`values`", r"`arrays\[1\]`")
    else:
        message = message.replace("values", r"arrays\[1\]")
    with pytest.raises(error, match=message):
        impl.unique_rows([int32([[1, 2]]), values])


def test_index_arguments(impl):
    values = int32([[1], [1]])
    assert len(impl.LabelsIndex(values=values, check_unique=False)) == 2
    with pytest.raises(TypeError):
        impl.LabelsIndex()
    with pytest.raises(TypeError):
        impl.LabelsIndex(values, False, 3)


def test_index_too_many_rows(impl):
    # zero columns: 2**31 rows that take no memory
    values = np.empty((2**31, 0), dtype=np.int32)
    message = "labels with 2147483648 entries are too large for the index, the maximum is 2147483647"
    with pytest.raises(ValueError, match=message):
        impl.LabelsIndex(values, check_unique=False)

    half = np.empty((2**30, 0), dtype=np.int32)
    message = "`arrays` have more than 2147483647 rows in total, the maximum"
    with pytest.raises(ValueError, match=message):
        impl.unique_rows([half, half, half])


def test_index_table_hook():
    """the extension's test hook, only compiled in builds without NDEBUG"""
    grid = np.stack(np.meshgrid(*[np.arange(40)] * 3, indexing="ij"), -1).reshape(-1, 3)
    index = _labels_ext.LabelsIndex(grid.astype(np.int32))
    if not hasattr(index, "_table_info"):
        pytest.skip("release build of the extension: no _table_info hook")
    info = index._table_info()
    capacity = info["capacity"]
    assert capacity & (capacity - 1) == 0
    assert capacity >= 2 * len(grid)
    assert info["occupied"] == len(grid)
    # linear probing at load <= 0.5 with a good hash: short probes on a grid
    assert info["longest_probe"] < 64

    index = _labels_ext.LabelsIndex(
        np.zeros((9, 2), dtype=np.int32), check_unique=False
    )
    assert index._table_info()["occupied"] == 1


# ============================================================================ #
#                                 position                                     #
# ============================================================================ #


class Index:
    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


class BadIndex:
    def __index__(self):
        raise ZeroDivisionError("bad index")


@pytest.mark.parametrize(
    "entry",
    [
        (7, -8, 9),
        [7, -8, 9],
        (np.int8(7), np.int16(-8), Index(9)),
        np.array([7, -8, 9], dtype=np.int32),
        np.array([7, -8, 9], dtype=np.int8),
        np.array([7, -8, 9], dtype=np.int64),
        np.array([7, -8, 9], dtype=">i8"),
        np.array([7, -8, 9], dtype=">i4"),
        np.array([7, 0, -8, 0, 9], dtype=np.int32)[::2],
        np.array([9, -8, 7], dtype=np.int32)[::-1],
        unaligned_int32([7, -8, 9]),
    ],
)
def test_position_entry_kinds(impl, entry):
    index = impl.LabelsIndex(int32([[0, 0, 0], [7, -8, 9]]))
    assert index.position(entry) == 1


def test_position_unsigned_arrays(impl):
    index = impl.LabelsIndex(int32([[0, 1], [2**31 - 1, 5]]))
    assert index.position(np.array([2**31 - 1, 5], dtype=np.uint64)) == 1
    assert index.position(np.array([0, 1], dtype=np.uint8)) == 0
    assert index.position(np.array([2**31, 5], dtype=np.uint32)) is None
    assert index.position(np.array([2**64 - 1, 5], dtype=np.uint64)) is None


@pytest.mark.parametrize(
    "entry",
    [
        (2**31, 0),
        (INT32_MIN - 1, 0),
        (2**100, 0),
        (0, -(2**70)),
        (np.uint64(2**63), 0),
        (Index(2**40), 0),
        np.array([2**40, 0], dtype=np.int64),
    ],
)
def test_position_out_of_int32(impl, entry):
    index = impl.LabelsIndex(int32([[0, 0]]))
    assert index.position(entry) is None


@pytest.mark.parametrize(
    "entry, error, message",
    [
        ((1, 2), ValueError, "entry has 2 values but the labels have 3 dimensions"),
        ([], ValueError, "entry has 0 values but the labels have 3 dimensions"),
        (
            np.array([1, 2, 3, 4]),
            ValueError,
            "entry has 4 values but the labels have 3 dimensions",
        ),
        ((1, 2.0, 3), TypeError, "entry values must be integers, got 2.0"),
        ((1, 2, "3"), TypeError, "entry values must be integers, got '3'"),
        ((1, None, 3), TypeError, "entry values must be integers, got None"),
        ((True, 2, 3), TypeError, "entry values must be integers, got True"),
        (
            (np.bool_(True), 2, 3),
            TypeError,
            "entry values must be integers, got np.True_",
        ),
        (
            (np.float64(1), 2, 3),
            TypeError,
            r"entry values must be integers, got np.float64\(1.0\)",
        ),
        # type errors win over out-of-range values
        ((2**40, 1.5, 3), TypeError, "entry values must be integers, got 1.5"),
        ((BadIndex(), 2, 3), ZeroDivisionError, "bad index"),
        ((np.array([1]), 2, 3), TypeError, "only integer scalar arrays"),
        (
            {1: 2},
            TypeError,
            "entry must be a tuple, a list or a 1-D numpy array of integers, got dict",
        ),
        (
            "abc",
            TypeError,
            "entry must be a tuple, a list or a 1-D numpy array of integers, got str",
        ),
        (
            5,
            TypeError,
            "entry must be a tuple, a list or a 1-D numpy array of integers, got int",
        ),
        (
            np.array([1.0, 2.0, 3.0]),
            TypeError,
            "entry must be a tuple, a list or a 1-D numpy array of integers, got an "
            "array of float64",
        ),
        (
            np.array([True, False, True]),
            TypeError,
            "entry must be a tuple, a list or a 1-D numpy array of integers, got an "
            "array of bool",
        ),
        (
            np.array([[1, 2, 3]]),
            ValueError,
            "entry must be a 1-D array, got a 2-D array",
        ),
        (np.array(1), ValueError, "entry must be a 1-D array, got a 0-D array"),
    ],
)
def test_position_errors(impl, entry, error, message):
    index = impl.LabelsIndex(int32([[1, 2, 3]]))
    with pytest.raises(error, match=message):
        index.position(entry)


def test_position_list_edited_by_index(impl):
    """converting an item may run code that edits the list being read"""
    index = impl.LabelsIndex(int32([[1, 2, 3]]))
    entry = [1, 2, 3]

    class Shrink:
        def __index__(self):
            entry.clear()
            return 2

    entry[1] = Shrink()
    assert index.position(entry) == 0
    assert entry == []


# ============================================================================ #
#                                 positions                                    #
# ============================================================================ #


def test_positions(impl):
    index = impl.LabelsIndex(int32([[1, 2], [3, 4], [5, 6]]))
    queries = int32([[3, 4], [1, 2], [9, 9], [5, 6], [3, 4]])
    result = index.positions(queries)
    assert result.dtype == np.int64
    assert result.shape == (5,)
    assert result.tolist() == [1, 0, -1, 2, 1]

    assert index.positions(queries=queries, columns=None).tolist() == [1, 0, -1, 2, 1]
    assert index.positions(np.zeros((0, 2), dtype=np.int32)).shape == (0,)


def test_positions_columns(impl):
    index = impl.LabelsIndex(int32([[1, 2], [3, 4]]))
    queries = int32([[0, 2, 1], [4, 7, 3], [1, 1, 1]])
    assert index.positions(queries, columns=[2, 0]).tolist() == [-1, 1, -1]
    assert index.positions(queries, columns=(2, 1)).tolist() == [0, -1, -1]
    assert index.positions(queries, columns=np.array([2, 1])).tolist() == [0, -1, -1]
    assert index.positions(queries, columns=iter([2, 1])).tolist() == [0, -1, -1]
    # a column may be read twice
    index = impl.LabelsIndex(int32([[1, 1], [4, 4]]))
    assert index.positions(queries, columns=[0, 0]).tolist() == [-1, 1, 0]
    # identity columns, given explicitly
    index = impl.LabelsIndex(int32([[0, 2, 1]]))
    assert index.positions(queries, columns=[0, 1, 2]).tolist() == [0, -1, -1]
    # zero dimensions: every query is the empty row
    index = impl.LabelsIndex(np.zeros((1, 0), dtype=np.int32))
    assert index.positions(queries, columns=[]).tolist() == [0, 0, 0]


def test_positions_strided_queries(impl):
    values = np.arange(30, dtype=np.int32).reshape(10, 3)
    index = impl.LabelsIndex(values)
    expected = list(range(9, -1, -1))
    assert index.positions(values[::-1]).tolist() == expected
    assert index.positions(np.asfortranarray(values)).tolist() == list(range(10))
    assert index.positions(
        np.ascontiguousarray(values[:, ::-1]), columns=[2, 1, 0]
    ).tolist() == list(range(10))
    wide = np.zeros((10, 6), dtype=np.int32)
    wide[:, ::2] = values
    assert index.positions(wide[:, ::2]).tolist() == list(range(10))
    assert index.positions(wide, columns=[0, 2, 4]).tolist() == list(range(10))
    assert index.positions(unaligned_int32(values)).tolist() == list(range(10))
    # zero strides
    repeated = np.broadcast_to(values[3], (4, 3))
    assert index.positions(repeated).tolist() == [3, 3, 3, 3]


@pytest.mark.parametrize(
    "queries, columns, error, message",
    [
        (
            np.zeros((2, 3)),
            None,
            TypeError,
            "expected a numpy array of int32 for `queries`, got an array of float64",
        ),
        (
            [[1, 2]],
            None,
            TypeError,
            "expected a numpy array of int32 for `queries`, got list",
        ),
        (
            np.zeros(3, dtype=np.int32),
            None,
            ValueError,
            "expected a 2-D array for `queries`, got a 1-D array",
        ),
        (
            np.zeros((2, 3), dtype=np.int32),
            None,
            ValueError,
            "`queries` has 3 columns but the labels have 2 dimensions",
        ),
        (
            np.zeros((2, 3), dtype=np.int32),
            [0],
            ValueError,
            "`columns` has 1 values but the labels have 2 dimensions",
        ),
        (
            np.zeros((2, 3), dtype=np.int32),
            [0, 3],
            IndexError,
            "column index 3 is out of range for `queries` with 3 columns",
        ),
        (
            np.zeros((2, 3), dtype=np.int32),
            [-1, 0],
            IndexError,
            "column index -1 is out of range for `queries` with 3 columns",
        ),
        (
            np.zeros((2, 3), dtype=np.int32),
            [0, 2**70],
            IndexError,
            "column index 1180591620717411303424 is out of range",
        ),
        (
            np.zeros((2, 3), dtype=np.int32),
            [0, np.int64(5)],
            IndexError,
            "column index 5 is out of range",
        ),
        (
            np.zeros((2, 3), dtype=np.int32),
            [0, 1.0],
            TypeError,
            r"expected integers in `columns`, got 1.0",
        ),
        (
            np.zeros((2, 3), dtype=np.int32),
            [0, True],
            TypeError,
            r"expected integers in `columns`, got True",
        ),
        (
            np.zeros((2, 3), dtype=np.int32),
            "ab",
            TypeError,
            r"expected integers in `columns`, got 'a'",
        ),
        (
            np.zeros((2, 3), dtype=np.int32),
            3,
            TypeError,
            "expected a sequence of integers for `columns`, got int",
        ),
        (
            np.zeros((2, 0), dtype=np.int32),
            [0, 0],
            IndexError,
            "column index 0 is out of range for `queries` with 0 columns",
        ),
    ],
)
def test_positions_errors(impl, queries, columns, error, message):
    index = impl.LabelsIndex(int32([[1, 2]]))
    with pytest.raises(error, match=message):
        index.positions(queries, columns)


def test_positions_big_in_threads(impl):
    rng = np.random.default_rng(1)
    values = np.unique(rng.integers(-1000, 1000, (3 * BIG, 3), dtype=np.int32), axis=0)
    values = values[rng.permutation(len(values))]
    index = impl.LabelsIndex(values)
    queries = np.concatenate([values[::-2], values[:100] + 5000])
    expected = np.concatenate([np.arange(len(values))[::-2], np.full(100, -1)])
    results = [None] * 4

    def run(i):
        results[i] = index.positions(queries)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, expected)


# ============================================================================ #
#                                is_sorted                                     #
# ============================================================================ #


@pytest.mark.parametrize(
    "rows, d, expected",
    [
        ([], 2, True),
        ([[5, 1]], 2, True),
        ([[0, 1], [0, 2], [1, 0]], 2, True),
        ([[0, 1], [0, 1]], 2, False),
        ([[0, 2], [0, 1]], 2, False),
        ([[-1, 5], [0, -5]], 2, True),
        ([[INT32_MIN], [-1], [0], [INT32_MAX]], 1, True),
        ([[INT32_MAX], [INT32_MIN]], 1, False),
        ([[0, 1], [1, 0], [0, 2]], 2, False),
        ([[]], 0, True),
        ([[], []], 0, False),
    ],
)
def test_is_sorted(impl, rows, d, expected):
    assert impl.is_sorted(int32(rows).reshape(len(rows), d)) is expected


def test_is_sorted_big(impl):
    values = np.arange(2 * BIG, dtype=np.int32).reshape(BIG, 2)
    assert impl.is_sorted(values) is True
    values[-1] = values[-2]
    assert impl.is_sorted(values) is False


# ============================================================================ #
#                               unique_rows                                    #
# ============================================================================ #


def test_unique_rows(impl):
    a = int32([[3, 4], [1, 2], [3, 4]])
    b = int32([[1, 2], [5, 6]])
    unique, inverses = impl.unique_rows([a, b])
    assert unique.dtype == np.int32 and unique.flags.c_contiguous
    assert unique.tolist() == [[3, 4], [1, 2], [5, 6]]
    assert isinstance(inverses, list)
    assert [inverse.dtype for inverse in inverses] == [np.int64, np.int64]
    assert [inverse.tolist() for inverse in inverses] == [[0, 1, 0], [1, 2]]

    unique, inverses = impl.unique_rows((b,))
    assert unique.tolist() == b.tolist()
    assert unique is not b
    assert [inverse.tolist() for inverse in inverses] == [[0, 1]]


def test_unique_rows_edges(impl):
    empty = np.zeros((0, 2), dtype=np.int32)
    unique, inverses = impl.unique_rows([empty, empty])
    assert unique.shape == (0, 2)
    assert [inverse.shape for inverse in inverses] == [(0,), (0,)]

    unique, inverses = impl.unique_rows([empty, int32([[1, 1], [1, 1]])])
    assert unique.tolist() == [[1, 1]]
    assert [inverse.tolist() for inverse in inverses] == [[], [0, 0]]

    nothing = np.zeros((3, 0), dtype=np.int32)
    unique, inverses = impl.unique_rows([nothing, nothing[:1]])
    assert unique.shape == (1, 0)
    assert [inverse.tolist() for inverse in inverses] == [[0, 0, 0], [0]]


def test_unique_rows_big(impl):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 30, (BIG, 3), dtype=np.int32)
    b = rng.integers(0, 30, (BIG, 3), dtype=np.int32)
    unique, (ia, ib) = impl.unique_rows([a, b])
    np.testing.assert_array_equal(unique[ia], a)
    np.testing.assert_array_equal(unique[ib], b)
    assert len(np.unique(unique, axis=0)) == len(unique)
    first = np.concatenate([ia, ib])
    # first appearance order: the k-th new row gets number k
    assert (np.maximum.accumulate(first) <= np.arange(len(first))).all()
    assert (np.diff(np.maximum.accumulate(first)) <= 1).all()


@pytest.mark.parametrize(
    "arrays, error, message",
    [
        (
            int32([[1]]),
            TypeError,
            "expected a list or tuple of arrays for `arrays`, got ndarray",
        ),
        (
            iter([int32([[1]])]),
            TypeError,
            "expected a list or tuple of arrays for `arrays`, got list_iterator",
        ),
        ([], ValueError, "`arrays` must contain at least one array"),
        ((), ValueError, "`arrays` must contain at least one array"),
        (
            [[[1]]],
            TypeError,
            r"expected a numpy array of int32 for `arrays\[0\]`, got list",
        ),
        (
            [int32([[1, 2]]), int32([[1, 2]]), int32([[1]])],
            ValueError,
            r"all arrays must have the same number of columns, got 2 for `arrays\[0\]` and "
            r"1 for `arrays\[2\]`",
        ),
    ],
)
def test_unique_rows_errors(impl, arrays, error, message):
    with pytest.raises(error, match=message):
        impl.unique_rows(arrays)


# ============================================================================ #
#                               argsort_rows                                   #
# ============================================================================ #


@pytest.mark.parametrize("n", [0, 1, 2, 50, 5000, BIG])
@pytest.mark.parametrize("high", [1, 3, 1000, INT32_MAX])
def test_argsort_rows(impl, n, high):
    rng = np.random.default_rng(n + high)
    values = rng.integers(-high, high, (n, 3), dtype=np.int32, endpoint=True)
    order = impl.argsort_rows(values)
    assert order.dtype == np.int64 and order.shape == (n,)
    np.testing.assert_array_equal(order, np.lexsort(values.T[::-1]))


def test_argsort_rows_edges(impl):
    values = int32(
        [[INT32_MAX, 0], [INT32_MIN, 5], [0, 0], [INT32_MIN, 5], [-1, INT32_MAX]]
    )
    # stable: the two equal rows keep their order
    assert impl.argsort_rows(values).tolist() == [1, 3, 4, 2, 0]
    assert impl.argsort_rows(np.zeros((4, 0), dtype=np.int32)).tolist() == [0, 1, 2, 3]
    assert impl.argsort_rows(np.zeros((0, 0), dtype=np.int32)).tolist() == []
    # one column, two columns, and many
    one = int32([[3], [-3], [0], [-3]])
    assert impl.argsort_rows(one).tolist() == [1, 3, 2, 0]
    many = np.zeros((3, 50), dtype=np.int32)
    many[0, 49] = 1
    many[2, 10] = -1
    assert impl.argsort_rows(many).tolist() == [2, 1, 0]


# ============================================================================ #
#                            properties (hypothesis)                           #
# ============================================================================ #

# `impl` is a module: sharing it between examples is fine
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

values_elements = st.one_of(
    st.integers(-2, 2), st.sampled_from([INT32_MIN, INT32_MAX, -1, 0, 2**16])
)


@st.composite
def label_values(draw, max_rows=30, d=None):
    if d is None:
        d = draw(st.integers(0, 4))
    n = draw(st.integers(0, max_rows))
    return draw(hnp.arrays(np.int32, (n, d), elements=values_elements))


@SETTINGS
@given(data=st.data())
def test_positions_match_a_dict(impl, data):
    values = data.draw(label_values())
    d = values.shape[1]
    queries = data.draw(label_values(d=d))
    reference = {}
    for i, row in enumerate(map(tuple, values.tolist())):
        reference.setdefault(row, i)

    index = impl.LabelsIndex(values, check_unique=False)
    expected = [reference.get(row, -1) for row in map(tuple, queries.tolist())]
    assert index.positions(queries).tolist() == expected
    for row in map(tuple, queries.tolist()):
        assert index.position(row) == reference.get(row)

    if len(reference) == len(values):
        assert impl.LabelsIndex(values).positions(queries).tolist() == expected
    else:
        with pytest.raises(MetatensorError):
            impl.LabelsIndex(values)

    if d > 0:
        wide = data.draw(label_values(d=d + 2))
        columns = data.draw(st.lists(st.integers(0, d + 1), min_size=d, max_size=d))
        expected = [
            reference.get(row, -1) for row in map(tuple, wide[:, columns].tolist())
        ]
        assert index.positions(wide, columns).tolist() == expected


@SETTINGS
@given(
    arrays=st.integers(0, 3).flatmap(
        lambda d: st.lists(label_values(d=d), min_size=1, max_size=4)
    )
)
def test_unique_rows_round_trip(impl, arrays):
    unique, inverses = impl.unique_rows(arrays)
    assert len(inverses) == len(arrays)
    for array, inverse in zip(arrays, inverses):
        np.testing.assert_array_equal(unique[inverse], array)
    rows = unique.tolist()
    assert len(set(map(tuple, rows))) == len(rows)
    everything = [row for array in arrays for row in array.tolist()]
    first_seen = list(dict.fromkeys(map(tuple, everything)))
    assert list(map(tuple, rows)) == first_seen


@SETTINGS
@given(values=label_values(max_rows=60))
def test_argsort_rows_sorts_stably(impl, values):
    order = impl.argsort_rows(values)
    assert sorted(order.tolist()) == list(range(len(values)))
    rows = values[order].tolist()
    # lexicographic, with the original position breaking ties: stable
    keys = [(row, int(i)) for row, i in zip(rows, order)]
    assert keys == sorted(keys)
    assert impl.is_sorted(np.ascontiguousarray(values[order])) == (
        len(set(map(tuple, rows))) == len(rows)
    )


# ============================================================================ #
#                      fuzzing: the twins agree on garbage                     #
# ============================================================================ #

dtypes = st.sampled_from(
    [
        np.int32,
        np.int32,
        np.int32,
        np.int64,
        np.uint32,
        np.int8,
        np.float64,
        np.bool_,
        ">i4",
        object,
    ]
)


@st.composite
def any_arrays(draw):
    dtype = np.dtype(draw(dtypes))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    if dtype.kind == "O":
        array = np.empty(shape, dtype=object)
        array[...] = 1
    else:
        array = draw(hnp.arrays(dtype, shape))
    view = draw(st.sampled_from(["none", "reverse", "step", "transpose", "unaligned"]))
    if view == "reverse" and array.ndim > 0:
        array = array[::-1]
    elif view == "step" and array.ndim > 1:
        array = array[:, ::2]
    elif view == "transpose":
        array = array.T
    elif view == "unaligned" and dtype.kind in "iu" and dtype.itemsize > 1:
        raw = np.zeros(array.nbytes + 1, dtype=np.uint8)
        moved = raw[1:].view(dtype).reshape(array.shape)
        moved[...] = array
        array = moved
    return array


garbage = st.one_of(
    st.none(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.booleans(),
    st.text(max_size=3),
    st.lists(
        st.one_of(
            st.integers(-(2**40), 2**40), st.floats(allow_nan=False), st.booleans()
        ),
        max_size=5,
    ),
    st.tuples(st.integers(-3, 3), st.integers(-(2**33), 2**33), st.integers(-3, 3)),
    st.builds(tuple, st.lists(st.integers(-2, 2), max_size=5)),
    any_arrays(),
)


def outcome(function, *args):
    """("ok", result) or ("error", type, message) of ``function(*args)``"""
    try:
        result = function(*args)
    except (TypeError, ValueError, IndexError) as error:
        return ("error", type(error), str(error))
    if isinstance(result, _labels_ext.LabelsIndex) or isinstance(
        result, _labels_py.LabelsIndex
    ):
        return ("ok", "index", len(result))
    if isinstance(result, tuple):
        unique, inverses = result
        return (
            "ok",
            unique.dtype,
            unique.tolist(),
            [(i.dtype, i.tolist()) for i in inverses],
        )
    if isinstance(result, np.ndarray):
        return ("ok", result.dtype, result.shape, result.tolist())
    return ("ok", result)


def both(name, *args):
    results = [
        outcome(getattr(module, name), *args) for module in (_labels_ext, _labels_py)
    ]
    assert results[0] == results[1]
    return results[0]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=garbage,
    flag=st.one_of(
        st.booleans(), st.integers(-1, 1), st.none(), st.just(np.array([1, 2]))
    ),
)
def test_fuzz_free_functions(values, flag):
    for name in ("is_sorted", "argsort_rows"):
        both(name, values)
    both("unique_rows", values)
    both("unique_rows", [values])
    both("unique_rows", (int32([[1]]), values))
    both("LabelsIndex", values)
    results = [
        outcome(module.LabelsIndex, values, flag)
        for module in (_labels_ext, _labels_py)
    ]
    assert results[0] == results[1]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=label_values(max_rows=6, d=None),
    entry=garbage,
    queries=st.one_of(garbage, label_values(max_rows=6)),
    columns=st.one_of(st.none(), garbage),
)
def test_fuzz_lookups(values, entry, queries, columns):
    indexes = [
        module.LabelsIndex(values, check_unique=False)
        for module in (_labels_ext, _labels_py)
    ]
    results = [outcome(index.position, entry) for index in indexes]
    assert results[0] == results[1]
    results = [outcome(index.positions, queries, columns) for index in indexes]
    assert results[0] == results[1]
    results = [outcome(index.positions, queries) for index in indexes]
    assert results[0] == results[1]


def test_readonly_copy(impl):
    values = np.arange(12, dtype=np.int32).reshape(4, 3)
    for source in (values, values[::2], np.asfortranarray(values)):
        copy = impl.readonly_copy(source)
        assert np.array_equal(copy, source)
        assert copy.flags.c_contiguous
        assert not copy.flags.writeable
        assert not np.shares_memory(copy, source)
    with pytest.raises(TypeError, match="expected a numpy array of int32"):
        impl.readonly_copy(values.astype(np.int64))
    with pytest.raises(ValueError, match="expected a 2-D array"):
        impl.readonly_copy(values.ravel())
