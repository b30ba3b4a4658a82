"""Pure-Python twin of :py:mod:`metatensor._labels_ext`: the same API, behaviour
and error messages, built on dicts and numpy.

The C extension is the fast path; this module documents the contract in
readable code, serves where the extension can not be used, and is tested
against it (``tests/test_labels_ext.py`` runs every test on both).

Conventions shared with the extension:

* ``values`` arrays are 2-D, int32 in native byte order, C-contiguous and
  aligned; they are read in place, never copied (except by ``readonly_copy``);
* ``bool`` values (Python or numpy) are rejected where integers are expected;
* an entry with a value outside the int32 range can not be present, so looking
  it up gives ``None``.
"""

import operator
from typing import List, Sequence, Tuple

import numpy as np

from ._errors import MetatensorError

# the extension's table stores row + 1 in a uint32
_MAX_ROWS = 2**31 - 1
_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1


def _not_int32(obj, name: str) -> TypeError:
    if isinstance(obj, np.ndarray):
        got = f"an array of {obj.dtype}"
    else:
        got = type(obj).__name__
    return TypeError(f"expected a numpy array of int32 for `{name}`, got {got}")


def _as_int32_2d(obj, name: str, contiguous: bool) -> np.ndarray:
    """``obj`` if it is a 2-D native int32 array (C-contiguous and aligned with
    ``contiguous``), raise TypeError or ValueError otherwise"""
    if not isinstance(obj, np.ndarray) or obj.dtype != np.int32:
        raise _not_int32(obj, name)
    if obj.ndim != 2:
        raise ValueError(f"expected a 2-D array for `{name}`, got a {obj.ndim}-D array")
    if contiguous and not (obj.flags.c_contiguous and obj.flags.aligned):
        got = "an unaligned one" if obj.flags.c_contiguous else "a non-contiguous one"
        raise ValueError(
            f"expected a C-contiguous and aligned array for `{name}`, got {got}; "
            f"use numpy.require({name}, requirements='CA')"
        )
    return obj


def _is_integer(item) -> bool:
    return not isinstance(item, (bool, np.bool_)) and hasattr(type(item), "__index__")


def _entry_row(entry, d: int) -> Tuple[int, ...] | None:
    """``entry`` as a tuple of ``d`` ints, or None if a value is outside int32"""
    if isinstance(entry, np.ndarray):
        if not np.issubdtype(entry.dtype, np.integer):
            raise TypeError(
                "entry must be a tuple, a list or a 1-D numpy array of integers, "
                f"got an array of {entry.dtype}"
            )
        if entry.ndim != 1:
            raise ValueError(f"entry must be a 1-D array, got a {entry.ndim}-D array")
        items = entry.tolist()
    elif isinstance(entry, (tuple, list)):
        items = tuple(entry)
    else:
        raise TypeError(
            "entry must be a tuple, a list or a 1-D numpy array of integers, "
            f"got {type(entry).__name__}"
        )

    if len(items) != d:
        raise ValueError(
            f"entry has {len(items)} values but the labels have {d} dimensions"
        )
    row = []
    for item in items:
        if not _is_integer(item):
            raise TypeError(f"entry values must be integers, got {item!r}")
        row.append(operator.index(item))
    if any(value < _INT32_MIN or value > _INT32_MAX for value in row):
        return None
    return tuple(row)


def _parse_columns(columns, d: int, k: int) -> List[int]:
    try:
        items = tuple(columns)
    except TypeError:
        raise TypeError(
            f"expected a sequence of integers for `columns`, got {type(columns).__name__}"
        ) from None
    if len(items) != d:
        raise ValueError(
            f"`columns` has {len(items)} values but the labels have {d} dimensions"
        )
    result = []
    for item in items:
        if not _is_integer(item):
            raise TypeError(f"expected integers in `columns`, got {item!r}")
        column = operator.index(item)
        if column < 0 or column >= k:
            raise IndexError(
                f"column index {column!r} is out of range for `queries` with {k} columns"
            )
        result.append(column)
    return result


class LabelsIndex:
    """Hash index over the rows of a 2-D int32 array

    :param values: 2-D int32 array, C-contiguous and aligned; the index keeps a
        reference to it, and it must not be modified while the index is used
        (Labels index arrays that can not be: see ``readonly_view``)
    :param check_unique: raise :py:class:`MetatensorError` if a row is repeated;
        without the check, lookups give the first occurrence
    :raises TypeError: if ``values`` is not a numpy array of int32
    :raises ValueError: for a wrong shape or layout, or too many rows

    >>> import numpy as np
    >>> index = LabelsIndex(np.array([[0, 1], [2, 3]], dtype=np.int32))
    >>> index.position((2, 3)), index.position([4, 5])
    (1, None)
    >>> index.positions(np.array([[3, 2, 9]], dtype=np.int32), columns=[1, 0])
    array([1])
    """

    __slots__ = ("_values", "_positions")

    def __init__(self, values: np.ndarray, check_unique: bool = True):
        # first, as the extension's argument parsing does
        check_unique = bool(check_unique)
        values = _as_int32_2d(values, "values", contiguous=True)
        n = values.shape[0]
        if n > _MAX_ROWS:
            raise ValueError(
                f"labels with {n} entries are too large for the index, "
                f"the maximum is {_MAX_ROWS}"
            )
        rows = list(map(tuple, values.tolist()))
        # reversed, so that the first occurrence of a repeated row wins
        positions = dict(zip(reversed(rows), range(n - 1, -1, -1)))
        if check_unique and len(positions) != n:
            for i, row in enumerate(rows):
                if positions[row] != i:
                    raise MetatensorError(
                        "invalid parameter: can not have the same label entry "
                        "multiple times: "
                        f"{list(row)} is already present"
                    )
        self._values = values
        self._positions = positions

    @property
    def values(self) -> np.ndarray:
        """the indexed 2-D int32 array"""
        return self._values

    def __len__(self) -> int:
        return self._values.shape[0]

    def position(self, entry, /) -> int | None:
        """Row number of ``entry`` (a tuple, list or 1-D numpy array of
        integers), or None when absent"""
        row = _entry_row(entry, self._values.shape[1])
        if row is None:
            return None
        return self._positions.get(row)

    def positions(
        self, queries: np.ndarray, columns: Sequence[int] | None = None
    ) -> np.ndarray:
        """Row number of each row of the int32 array ``queries`` (the row being
        its ``columns``, in order), -1 where absent, as an int64 array"""
        queries = _as_int32_2d(queries, "queries", contiguous=False)
        m, k = queries.shape
        d = self._values.shape[1]
        if columns is None:
            if k != d:
                raise ValueError(
                    f"`queries` has {k} columns but the labels have {d} dimensions"
                )
        else:
            queries = queries[:, _parse_columns(columns, d, k)]
        get = self._positions.get
        return np.fromiter(
            (get(row, -1) for row in map(tuple, queries.tolist())),
            dtype=np.int64,
            count=m,
        )


def is_sorted(values: np.ndarray, /) -> bool:
    """True if the rows of ``values`` are strictly increasing (signed,
    lexicographic)"""
    values = _as_int32_2d(values, "values", contiguous=True)
    if values.shape[0] <= 1:
        return True
    before, after = values[:-1], values[1:]
    differ = before != after
    if not differ.any(axis=1).all():
        return False
    rows = np.arange(len(before))
    first = differ.argmax(axis=1)
    return bool((after[rows, first] > before[rows, first]).all())


def readonly_view(values: np.ndarray, /) -> np.ndarray:
    """The C-contiguous 2-D int32 array ``values``, read-only for good without a
    copy: a view whose base is a read-only memoryview, which numpy refuses to make
    writeable (and any view of it); nothing may write to ``values`` afterwards"""
    values = _as_int32_2d(values, "values", contiguous=True)
    values.flags.writeable = False
    return np.frombuffer(memoryview(values), dtype=np.int32).reshape(values.shape)


def readonly_copy(values: np.ndarray, /) -> np.ndarray:
    """A C-contiguous copy of the 2-D int32 array ``values``, read-only for good
    (see ``readonly_view``)"""
    values = _as_int32_2d(values, "values", contiguous=False)
    return readonly_view(np.array(values, order="C", copy=True))


def unique_rows(arrays: Sequence[np.ndarray], /) -> Tuple[np.ndarray, List[np.ndarray]]:
    """The distinct rows of ``arrays`` in order of first appearance, and for
    each array the int64 row of the result matching each of its rows"""
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(
            f"expected a list or tuple of arrays for `arrays`, got {type(arrays).__name__}"
        )
    arrays = tuple(arrays)
    if len(arrays) == 0:
        raise ValueError("`arrays` must contain at least one array")
    d = 0
    total = 0
    for i, array in enumerate(arrays):
        name = f"arrays[{i}]"
        _as_int32_2d(array, name, contiguous=True)
        if i == 0:
            d = array.shape[1]
        elif array.shape[1] != d:
            raise ValueError(
                "all arrays must have the same number of columns, got "
                f"{d} for `arrays[0]` and {array.shape[1]} for `{name}`"
            )
        if array.shape[0] > _MAX_ROWS - total:
            raise ValueError(
                f"`arrays` have more than {_MAX_ROWS} rows in total, the maximum"
            )
        total += array.shape[0]

    table = {}
    inverses = []
    for array in arrays:
        rows = map(tuple, array.tolist())
        inverse = [table.setdefault(row, len(table)) for row in rows]
        inverses.append(np.array(inverse, dtype=np.int64).reshape(len(array)))
    unique = np.array(list(table), dtype=np.int32).reshape(len(table), d)
    return unique, inverses


def argsort_rows(values: np.ndarray, /) -> np.ndarray:
    """The stable int64 permutation sorting the rows of ``values`` (signed,
    lexicographic)"""
    values = _as_int32_2d(values, "values", contiguous=True)
    n, d = values.shape
    if d == 0:
        return np.arange(n, dtype=np.int64)
    # lexsort sorts by the last key first, and is stable
    return np.lexsort(values.T[::-1]).astype(np.int64, copy=False)
