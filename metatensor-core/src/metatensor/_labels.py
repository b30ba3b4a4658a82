"""``Labels`` (metadata of one axis of a block, or of the keys of a map) and
``LabelsEntry`` (one row of Labels)."""

import numbers
import re

import numpy as np

from . import _dispatch, _index
from ._errors import MetatensorError
from ._printing import entry_text, labels_table, shown_entries

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# names tuples already validated, to make creating many Labels cheap
_VALID_NAMES = set()
_INT32 = np.dtype(np.int32)
_INT32_MIN = np.iinfo(np.int32).min
_INT32_MAX = np.iinfo(np.int32).max


def _validate_names(names) -> tuple:
    """Check a str or a sequence of str; return the names as a tuple"""
    if isinstance(names, str):
        # an empty string means no dimensions
        names = (names,) if names else ()
    else:
        try:
            names = tuple(names)
        except TypeError:
            raise TypeError(
                f"Labels names must be a string or a list of strings, got {names!r}"
            ) from None
    if names in _VALID_NAMES:
        return names

    for name in names:
        if not isinstance(name, str):
            raise TypeError(
                f"Labels names must be strings, got {type(name)} instead: {name!r}"
            )
        if not name.isascii() or _NAME_RE.fullmatch(name) is None:
            raise MetatensorError(
                f"invalid parameter: '{name}' is not a valid label name: names must "
                "contain only ASCII "
                "letters, digits and '_', and not start with a digit"
            )
    if len(set(names)) != len(names):
        for i, name in enumerate(names):
            if name in names[:i]:
                raise MetatensorError(
                    f"label dimensions must be unique, got '{name}' multiple times"
                )
    if len(_VALID_NAMES) > 100_000:
        _VALID_NAMES.clear()
    _VALID_NAMES.add(names)
    return names


def _shape(shape: tuple, n_names: int) -> tuple:
    """The shape of Labels values given with ``shape`` for ``n_names`` dimensions:
    values without entries (``[]``, any shape ``(0, ...)``) take the shape
    ``(0, n_names)``, others must have the shape ``(n, n_names)``"""
    if len(shape) != 0 and shape[0] == 0:
        return (0, n_names)
    if len(shape) != 2:
        raise MetatensorError(
            f"Labels values must be a 2-D array, got {len(shape)} dimensions"
        )
    if shape[1] != n_names:
        raise MetatensorError(
            f"Labels values have {shape[1]} columns but there are {n_names} names"
        )
    return shape


def _check_range(low: int, high: int):
    if low < _INT32_MIN or high > _INT32_MAX:
        bad = low if low < _INT32_MIN else high
        raise MetatensorError(f"Labels values must fit in 32-bit integers, got {bad}")


def _int32_values(values, n_names: int) -> np.ndarray:
    """``values`` (an integer array or nested sequence) as a new 2-D C-contiguous
    int32 numpy array that can never be written to (see ``readonly_view``)"""
    if (
        type(values) is np.ndarray
        and values.dtype is _INT32
        and values.ndim == 2
        and values.shape[1] == n_names
    ):
        # fast path for the common case
        return _index.impl.readonly_copy(values)

    if not isinstance(values, np.ndarray):
        values = np.asarray(values)

    if values.dtype.kind not in "iub" and values.size != 0:
        raise TypeError(
            f"Labels values must be convertible to integers, got dtype {values.dtype}"
        )
    if values.dtype.kind in "iu" and values.size != 0 and values.dtype != np.int32:
        _check_range(values.min(), values.max())
    shape = _shape(values.shape, n_names)
    if values.dtype == np.int32:
        return _index.impl.readonly_copy(values.reshape(shape))
    if values.size == 0:
        array = np.empty(values.shape, dtype=np.int32)
    else:
        array = values.astype(np.int32, order="C")
    # a new array: no copy needed
    return _index.impl.readonly_view(array.reshape(shape))


def _torch_array(values) -> np.ndarray:
    """A numpy copy of the 2-D contiguous int32 torch tensor ``values`` (on any
    device), that can never be written to: the private values of torch Labels"""
    values = values.detach()
    if values.device.type == "cpu":
        return _index.impl.readonly_copy(values.numpy())
    # `cpu()` made a new tensor, which nothing else uses
    return _index.impl.readonly_view(values.cpu().numpy())


def _torch_int32_values(values, n_names: int):
    """Check and convert the torch tensor ``values``: returns a new 2-D contiguous
    int32 tensor on the same device, and its private copy (``_torch_array``)"""
    torch = _dispatch.torch_module()
    if values.is_floating_point() or values.is_complex() or values.dtype == torch.bool:
        raise TypeError(
            f"Labels values must be convertible to integers, got dtype {values.dtype}"
        )
    if values.requires_grad:
        raise MetatensorError("Labels values can not require gradients")
    if values.numel() != 0 and values.dtype != torch.int32:
        _check_range(int(values.min()), int(values.max()))
    shape = _shape(tuple(values.shape), n_names)
    # always a copy: the tensor handed out by `Labels.values` is never the user's
    values = values.to(
        dtype=torch.int32, memory_format=torch.contiguous_format, copy=True
    ).reshape(shape)
    return values, _torch_array(values)


def _tensor_copy(array: np.ndarray, device):
    """A torch tensor on ``device`` with the content of the numpy ``array``, sharing
    no memory with it"""
    return _dispatch.torch_module().tensor(array, device=device)


def _version_counter(values):
    """The counter of in-place modifications of a torch tensor; None for numpy
    arrays and for inference tensors, which do not have one"""
    if type(values) is np.ndarray or values.is_inference():
        return None
    return values._version


_MODIFIED = (
    "the values of these Labels were modified in place, which is not supported: "
    "Labels are immutable, their index and their saved files would not match the "
    "new values; to change them, modify a copy (`labels.values.clone()`) and create "
    "new Labels from it"
)


class LabelsEntry:
    """A single entry (row) of :py:class:`Labels`: the values of every dimension,
    with their names.

    >>> labels = Labels(["system", "atom"], np.array([[0, 1], [0, 2]]))
    >>> entry = labels[1]
    >>> entry
    LabelsEntry(system=0, atom=2)
    >>> entry["atom"], entry[0]
    (2, 0)
    """

    __slots__ = ("_names", "_values")

    def __init__(self, names, values):
        """
        :param names: names of the dimensions
        :param values: 1-D integer array with one value per dimension
        """
        names = _validate_names(names)
        if not _dispatch.is_torch(values):
            values = np.asarray(values)
        row = values.reshape(1, -1)
        if row.shape[1] != len(names):
            raise MetatensorError(
                f"LabelsEntry got {len(names)} names but {row.shape[1]} values"
            )
        if _dispatch.is_torch(values):
            values = _torch_int32_values(row, len(names))[0][0]
        else:
            values = _int32_values(row, len(names))[0]
        self._names = names
        self._values = values

    @classmethod
    def _unchecked(cls, names: tuple, values) -> "LabelsEntry":
        entry = object.__new__(cls)
        entry._names = names
        entry._values = values
        return entry

    @property
    def names(self) -> list:
        """Names of the dimensions"""
        return list(self._names)

    @property
    def values(self):
        """Values of the dimensions, as a 1-D int32 array"""
        return self._values

    @property
    def device(self):
        """Device of the values"""
        return _dispatch.device(self._values)

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, dimension) -> int:
        """Value of a dimension, given by position (int) or by name (str)"""
        if isinstance(dimension, str):
            try:
                dimension = self._names.index(dimension)
            except ValueError:
                raise ValueError(
                    f"'{dimension}' not found in the dimensions of this entry, "
                    f"expected one of {list(self._names)}"
                ) from None
        elif not isinstance(dimension, numbers.Integral):
            raise TypeError(
                f"can only index LabelsEntry with str or int, got {type(dimension)}: "
                f"{dimension!r}"
            )
        return int(self._values[dimension])

    def __eq__(self, other):
        if not isinstance(other, LabelsEntry):
            raise TypeError(
                f"can only compare LabelsEntry with another LabelsEntry, got {other!r}"
            )
        return self._names == other._names and self._tuple() == other._tuple()

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    def _tuple(self) -> tuple:
        return tuple(int(v) for v in self._values)

    def print(self) -> str:
        """Text representation, e.g. ``(system=0, atom=2)``"""
        return entry_text(list(self._names), list(self._tuple()))

    def __repr__(self) -> str:
        return f"LabelsEntry{self.print()}"

    __str__ = __repr__


class Labels:
    """Metadata of one axis of a :py:class:`TensorBlock` (samples, components,
    properties) or of the keys of a :py:class:`TensorMap`: a set of unique
    entries, each made of one integer per named dimension.

    The values are stored as a 2-D array of 32-bit integers with one row per entry
    and one column per dimension. Labels are ordered sets: two Labels are equal
    when they have the same names and the same entries in the same order.

    :param names: name of each dimension (ASCII letters, digits and ``_``, not
        starting with a digit), or a single string for one dimension
    :param values: 2-D integer array (numpy or torch) of shape
        ``(n_entries, len(names))``; it is copied. Values out of the 32-bit range
        and non-integer values are refused. Values without entries (``[]``)
        take the shape ``(0, len(names))``.
    :param assume_unique: skip the check that entries are unique (only use it when
        the entries are known to be unique)

    >>> labels = Labels(["system", "atom"], np.array([[0, 0], [0, 1], [1, 0]]))
    >>> len(labels), labels.names
    (3, ['system', 'atom'])
    >>> labels.position((0, 1))
    1
    >>> print(labels.column("atom"))
    [0 1 0]
    """

    # _array: the values as a 2-D int32 numpy array that can never be written to
    # (see `readonly_view`), read by the index and every method; _values: the same
    # array for numpy Labels, a separate tensor for torch Labels; _version: the
    # in-place modification counter of that tensor when the Labels were made
    __slots__ = ("_names", "_values", "_array", "_index", "_version")

    def __init__(self, names, values, assume_unique: bool = False):
        names = _validate_names(names)
        if type(values) is not np.ndarray and _dispatch.is_torch(values):
            values, array = _torch_int32_values(values, len(names))
        else:
            array = _int32_values(values, len(names))
            values = array

        index = None
        if not assume_unique and len(names) != 0 and not _index.impl.is_sorted(array):
            index = _index.impl.LabelsIndex(array, True)

        self._names = names
        self._values = values
        self._array = array
        self._index = index
        self._version = _version_counter(values)

    @classmethod
    def _unchecked(cls, names: tuple, array: np.ndarray, like=None) -> "Labels":
        """Labels from trusted, unique values: a 2-D int32 numpy array, which they
        take (nothing may write to it afterwards); converted to the backend and
        device of the Labels ``like`` when given"""
        array = _index.impl.readonly_view(np.ascontiguousarray(array))
        values = array
        if like is not None and like._values is not like._array:
            values = _tensor_copy(array, like._values.device)
        return cls._from_parts(names, values, array, None)

    @classmethod
    def _from_parts(cls, names: tuple, values, array: np.ndarray, index) -> "Labels":
        """Labels over ``array`` (see ``_int32_values`` and ``_torch_array``), handing
        out ``values``: ``array`` itself, or a torch tensor with the same content
        and its own memory"""
        labels = object.__new__(cls)
        labels._names = names
        labels._values = values
        labels._array = array
        labels._index = index
        labels._version = _version_counter(values)
        return labels

    def _check_values(self):
        """Raise if the torch values of these Labels were modified in place"""
        version = self._version
        if version is not None and self._values._version != version:
            raise MetatensorError(_MODIFIED)

    # ============================================================================ #
    # constructors

    @staticmethod
    def single() -> "Labels":
        """Labels with one dimension named ``"_"`` and a single entry, 0; used for
        blocks and maps without metadata on an axis"""
        return Labels._unchecked(("_",), np.zeros((1, 1), dtype=np.int32))

    @staticmethod
    def empty(names) -> "Labels":
        """Labels with the given ``names`` and no entries"""
        names = _validate_names(names)
        return Labels._unchecked(names, np.empty((0, len(names)), dtype=np.int32))

    @staticmethod
    def range(name: str, end: int) -> "Labels":
        """Labels with a single dimension ``name`` and entries ``0 .. end - 1``

        >>> Labels.range("n", 3).values.ravel().tolist()
        [0, 1, 2]
        """
        names = _validate_names(name)
        if len(names) != 1:
            raise TypeError(f"`name` must be a single string, got {name!r}")
        if not isinstance(end, numbers.Integral) or end < 0 or end > _INT32_MAX + 1:
            raise ValueError(
                f"`end` must be an integer between 0 and 2^31, got {end!r}"
            )
        values = np.arange(end, dtype=np.int32).reshape(-1, 1)
        return Labels._unchecked(names, values)

    # ============================================================================ #
    # properties

    @property
    def names(self) -> list:
        """Names of the dimensions, in order"""
        return list(self._names)

    @property
    def values(self):
        """2-D int32 array (numpy or torch) of shape ``(len(self), len(self.names))``.

        Labels are immutable. A numpy array is read-only, and numpy refuses to
        make it writeable. A torch tensor can not be made read-only: it is a copy
        of the values the Labels index, and modifying it in place (also through
        an entry or a column) makes every later use of these Labels raise an
        error, instead of giving results that do not match the tensor. Edits that
        torch does not count (through ``.data``, ``.numpy()`` or inside
        ``torch.inference_mode()``) are not detected; don't."""
        if self._version is not None:
            self._check_values()
        return self._values

    @property
    def device(self):
        """Device of the values (``"cpu"`` for numpy)"""
        return _dispatch.device(self._values)

    def __len__(self) -> int:
        return self._array.shape[0]

    def _get_index(self):
        if self._version is not None:
            self._check_values()
        index = self._index
        if index is None:
            index = _index.impl.LabelsIndex(self._array, False)
            self._index = index
        return index

    # ============================================================================ #
    # entries, columns and lookups

    def entry(self, index: int) -> LabelsEntry:
        """The entry at ``index`` (negative indices count from the end)"""
        if self._version is not None:
            self._check_values()
        return LabelsEntry._unchecked(self._names, self._values[index])

    def __getitem__(self, index):
        """An entry for an integer ``index``, a column for a str"""
        if isinstance(index, str):
            return self.column(index)
        elif isinstance(index, numbers.Integral) and not isinstance(index, bool):
            if self._version is not None:
                self._check_values()
            return LabelsEntry._unchecked(self._names, self._values[index])
        raise TypeError(
            "Labels can only be indexed by a single string or integer, got "
            f"{type(index)}; use `Labels.column` or `Labels.select` for other "
            "selections"
        )

    def __iter__(self):
        names = self._names
        unchecked = LabelsEntry._unchecked
        for row in self.values:
            yield unchecked(names, row)

    def column(self, dimension: str):
        """The values of one dimension, as a 1-D array"""
        try:
            i = self._names.index(dimension)
        except ValueError:
            raise ValueError(
                f"'{dimension}' not found in the dimensions of these Labels, "
                f"expected one of {list(self._names)}"
            ) from None
        if self._version is not None:
            self._check_values()
        return self._values[:, i]

    def _entry_values(self, entry):
        """Values to look up for ``entry`` (LabelsEntry, sequence or 1-D array)"""
        if isinstance(entry, LabelsEntry):
            if entry._names != self._names:
                raise ValueError(
                    f"the entry has dimensions {list(entry._names)} but these Labels "
                    f"have {list(self._names)}"
                )
            entry = entry._values
        if _dispatch.is_torch(entry):
            entry = entry.cpu().numpy()
        return entry

    def position(self, entry):
        """Position of ``entry`` (a :py:class:`LabelsEntry`, a sequence of int or a
        1-D integer array) in these Labels, or ``None`` if it is not present"""
        return self._get_index().position(self._entry_values(entry))

    def __contains__(self, entry) -> bool:
        return self._get_index().position(self._entry_values(entry)) is not None

    def __eq__(self, other):
        if not isinstance(other, Labels):
            raise TypeError(
                f"can only compare Labels with other Labels, got {type(other).__name__}"
            )
        self._check_values()
        other._check_values()
        if self is other:
            return True
        return self._names == other._names and np.array_equal(self._array, other._array)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    # ============================================================================ #
    # set operations

    def _check_set_operation(self, other: "Labels", operation: str):
        if not isinstance(other, Labels):
            raise TypeError(
                f"`other` in Labels.{operation} must be Labels, "
                f"got {type(other).__name__}"
            )
        self._check_values()
        other._check_values()
        if self._names != other._names:
            raise MetatensorError(
                f"can not take the {operation} of these Labels: they have different "
                f"names ({list(self._names)} and {list(other._names)})"
            )
        if not _dispatch.same_device(self.device, other.device):
            raise MetatensorError(
                f"can not take the {operation} of Labels on different devices "
                f"({self.device} and {other.device})"
            )

    def _mapping(self, array: np.ndarray):
        """Give an int64 mapping array the backend and device of these Labels"""
        if self._values is self._array:
            return array
        torch = _dispatch.torch_module()
        return torch.from_numpy(array).to(self._values.device)

    def union(self, other: "Labels") -> "Labels":
        """Entries of ``self``, then the entries of ``other`` not in ``self``"""
        return self.union_and_mapping(other)[0]

    def union_and_mapping(self, other: "Labels"):
        """Union of ``self`` and ``other``, with the position of each entry of
        ``self`` and ``other`` in the union (two int64 arrays)"""
        self._check_set_operation(other, "union")
        positions = self._get_index().positions(other._array)
        new = np.flatnonzero(positions < 0)
        n_self = len(self)
        if len(new) == 0:
            union = self
        else:
            array = np.concatenate([self._array, other._array.take(new, axis=0)])
            union = Labels._unchecked(self._names, array, like=self)
        mapping_other = positions
        mapping_other[new] = np.arange(n_self, n_self + len(new))
        mapping_self = np.arange(n_self, dtype=np.int64)
        return union, self._mapping(mapping_self), self._mapping(mapping_other)

    def intersection(self, other: "Labels") -> "Labels":
        """Entries present in both ``self`` and ``other``, in the order of the
        smaller of the two"""
        return self.intersection_and_mapping(other)[0]

    def intersection_and_mapping(self, other: "Labels"):
        """Intersection of ``self`` and ``other``, with the position of each entry
        of ``self`` and ``other`` in the intersection (-1 when absent)"""
        self._check_set_operation(other, "intersection")
        if len(self) <= len(other):
            small, large = self, other
        else:
            small, large = other, self
        positions = large._get_index().positions(small._array)
        found = np.flatnonzero(positions >= 0)
        array = small._array.take(found, axis=0)
        intersection = Labels._unchecked(self._names, array, like=self)

        new_positions = np.arange(len(found))
        mapping_small = np.full(len(small), -1, dtype=np.int64)
        mapping_small[found] = new_positions
        mapping_large = np.full(len(large), -1, dtype=np.int64)
        mapping_large[positions[found]] = new_positions
        if small is self:
            mapping_self, mapping_other = mapping_small, mapping_large
        else:
            mapping_self, mapping_other = mapping_large, mapping_small
        return intersection, self._mapping(mapping_self), self._mapping(mapping_other)

    def difference(self, other: "Labels") -> "Labels":
        """Entries of ``self`` that are not in ``other``, in the order of ``self``"""
        return self.difference_and_mapping(other)[0]

    def difference_and_mapping(self, other: "Labels"):
        """Difference of ``self`` and ``other``, with the position of each entry of
        ``self`` in the difference (-1 when absent)"""
        self._check_set_operation(other, "difference")
        kept = np.flatnonzero(other._get_index().positions(self._array) < 0)
        array = self._array.take(kept, axis=0)
        difference = Labels._unchecked(self._names, array, like=self)
        mapping = np.full(len(self), -1, dtype=np.int64)
        mapping[kept] = np.arange(len(kept))
        return difference, self._mapping(mapping)

    def select(self, selection):
        """Positions of the entries matching ``selection``, a :py:class:`Labels` or
        :py:class:`LabelsEntry` whose names are a subset of these names.

        With exactly the same names (in the same order), the result lists the
        position of each selected entry, in the order of ``selection``; otherwise it
        lists every matching entry in increasing order.

        :return: 1-D array of uint64 (numpy) or int64 (torch) positions

        >>> labels = Labels(["a", "b"], np.array([[0, 1], [1, 1], [2, 3]]))
        >>> labels.select(Labels(["b"], np.array([[1]]))).tolist()
        [0, 1]
        """
        if isinstance(selection, LabelsEntry):
            names = selection._names
            array = self._entry_values(selection) if names == self._names else None
            if array is None:
                array = _dispatch.to_numpy(selection._values)
            array = np.ascontiguousarray(array, dtype=np.int32).reshape(1, -1)
        elif isinstance(selection, Labels):
            selection._check_values()
            names = selection._names
            array = selection._array
        else:
            raise TypeError(
                "`selection` must be Labels or a LabelsEntry, "
                f"got {type(selection).__name__}"
            )
        self._check_values()

        if names == self._names:
            positions = self._get_index().positions(array)
            result = positions[positions >= 0]
        elif len(names) == 0:
            result = np.arange(len(self), dtype=np.int64)
        else:
            columns = []
            for name in names:
                if name not in self._names:
                    raise MetatensorError(
                        f"invalid parameter: '{name}' in selection is not part of "
                        "these Labels, "
                        f"expected a subset of {list(self._names)}"
                    )
                columns.append(self._names.index(name))
            selected = _index.impl.LabelsIndex(array, False).positions(
                self._array, columns
            )
            result = np.flatnonzero(selected >= 0)

        if self._values is self._array:
            return result.astype(np.uint64)
        return self._mapping(result.astype(np.int64))

    # ============================================================================ #
    # column operations, all returning new Labels

    def _new_column(self, name: str, values) -> np.ndarray:
        if _dispatch.is_torch(values):
            values = values.detach().cpu().numpy()
        if not isinstance(values, np.ndarray):
            raise ValueError(
                f"`values` must be a numpy ndarray, got {type(values).__name__} for "
                f"the new dimension '{name}'"
            )
        expected = (
            f"the values of the new dimension '{name}' must be a 1-D array of "
            f"{len(self)} entries, got shape {values.shape}"
        )
        if values.ndim != 1:
            raise MetatensorError(f"`values` must be a 1D array: {expected}")
        if values.shape[0] != len(self):
            raise MetatensorError(
                f"the new `values` contains {values.shape[0]} entries, but the Labels "
                f"contains {len(self)}: {expected}"
            )
        return _int32_values(values.reshape(-1, 1), 1)[:, 0]

    def insert(self, index: int, name: str, values) -> "Labels":
        """New Labels with a dimension ``name`` inserted at position ``index``,
        taking the 1-D array ``values``"""
        if not isinstance(index, numbers.Integral):
            raise TypeError(f"`index` must be an integer, got {index!r}")
        self._check_values()
        if index < 0 or index > len(self._names):
            raise IndexError(
                f"index {index} is out of bounds: can not insert a dimension at index "
                f"{index}, these Labels have {len(self._names)} dimensions"
            )
        names = list(self._names)
        names.insert(index, name)
        names = _validate_names(names)
        column = self._new_column(name, values)
        array = np.insert(self._array, index, column, axis=1)
        return Labels._unchecked(names, np.ascontiguousarray(array), like=self)

    def append(self, name: str, values) -> "Labels":
        """New Labels with a last dimension ``name`` taking the 1-D ``values``"""
        return self.insert(len(self._names), name, values)

    def permute(self, dimensions_indexes) -> "Labels":
        """New Labels with the dimensions reordered: dimension ``i`` of the result
        is dimension ``dimensions_indexes[i]`` of ``self``"""
        n = len(self._names)
        # negative indices count from the end
        order = [
            i + n if isinstance(i, numbers.Integral) and i < 0 else i
            for i in dimensions_indexes
        ]
        if sorted(order) != list(range(n)):
            raise ValueError(
                f"`dimensions_indexes` must be a permutation of "
                f"0..{len(self._names) - 1}, got {order}"
            )
        self._check_values()
        names = tuple(self._names[i] for i in order)
        array = np.ascontiguousarray(self._array[:, order])
        return Labels._unchecked(names, array, like=self)

    def remove(self, name: str) -> "Labels":
        """New Labels without the dimension ``name``; fails if the remaining
        entries are not unique"""
        if name not in self._names:
            raise ValueError(
                f"'{name}' not found in the dimensions of these Labels, "
                f"expected one of {list(self._names)}"
            )
        self._check_values()
        i = self._names.index(name)
        names = self._names[:i] + self._names[i + 1 :]
        array = np.ascontiguousarray(np.delete(self._array, i, axis=1))
        if len(names) != 0 and not _index.impl.is_sorted(array):
            _index.impl.LabelsIndex(array, True)
        return Labels._unchecked(names, array, like=self)

    def rename(self, old: str, new: str) -> "Labels":
        """New Labels where the dimension ``old`` is called ``new``"""
        if old not in self._names:
            raise ValueError(
                f"'{old}' not found in the dimensions of these Labels, "
                f"expected one of {list(self._names)}"
            )
        names = list(self._names)
        names[names.index(old)] = new
        names = _validate_names(names)
        self._check_values()
        return Labels._from_parts(names, self._values, self._array, self._index)

    # ============================================================================ #
    # devices and backends

    def to(self, *args, arrays=None, non_blocking: bool = False, device=None):
        """Move the values to another ``device`` and/or backend (``arrays`` is
        ``"numpy"`` or ``"torch"``). Labels values are always int32: a dtype is
        refused."""
        for arg in args:
            if _is_dtype(arg):
                raise TypeError("Labels values are always int32, `dtype` can't be set")
            if device is not None:
                raise ValueError("can not give a device twice in `Labels.to`")
            device = arg
        if arrays is None and device is None:
            return self
        self._check_values()
        if arrays is None:
            arrays = "numpy" if self._values is self._array else "torch"
        if arrays not in ("numpy", "torch"):
            raise ValueError(f"`arrays` must be 'numpy' or 'torch', got {arrays!r}")
        if arrays == "numpy":
            # validates the device
            values = _dispatch.to(self._array, arrays="numpy", device=device)
        elif self._values is self._array:
            values = _tensor_copy(self._array, device or "cpu")
        else:
            values = _dispatch.to(
                self._values, arrays="torch", device=device, non_blocking=non_blocking
            )
        if values is self._values:
            return self
        return Labels._from_parts(self._names, values, self._array, self._index)

    # ============================================================================ #
    # serialization and printing

    def save(self, file):
        """Save these Labels to ``file`` (path or file object); see
        :py:func:`metatensor.io.save`"""
        from .io import save

        save(file, self)

    def save_buffer(self) -> memoryview:
        """Serialize these Labels to an in-memory buffer"""
        from .io import save_buffer

        return save_buffer(self)

    @staticmethod
    def load(file) -> "Labels":
        """Load Labels saved with :py:meth:`Labels.save`"""
        from .io import load_labels

        return load_labels(file)

    @staticmethod
    def load_buffer(buffer) -> "Labels":
        """Load Labels from a buffer created by :py:meth:`Labels.save_buffer`"""
        from .io import load_labels_buffer

        return load_labels_buffer(buffer)

    def __reduce_ex__(self, protocol):
        from .io import load_labels_buffer

        return _reduce_with_buffer(load_labels_buffer, self.save_buffer(), protocol)

    def __copy__(self) -> "Labels":
        return self

    def __deepcopy__(self, memo) -> "Labels":
        return self

    def print(self, max_entries: int, indent: int = 0) -> str:
        """Text table of the entries, showing at most ``max_entries`` of them
        (all if negative), each line indented by ``indent`` spaces after the first"""
        n_entries = self._array.shape[0]
        rows = self._array[shown_entries(n_entries, max_entries)].tolist()
        return labels_table(list(self._names), rows, n_entries, indent)

    def __repr__(self) -> str:
        return f"Labels\n   {self.print(-1, indent=3)}"

    def __str__(self) -> str:
        return f"Labels\n   {self.print(4, indent=3)}"

    def _repr_html_(self) -> str:
        header = "".join(f"<th>{name}</th>" for name in self._names)
        rows = []
        shown = self._array if len(self) <= 50 else self._array[:50]
        for row in shown.tolist():
            rows.append("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>")
        if len(self) > 50:
            rows.append(f"<tr><td colspan={len(self._names)}>...</td></tr>")
        return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _is_dtype(arg) -> bool:
    torch = _dispatch.torch_module()
    if torch is not None and isinstance(arg, torch.dtype):
        return True
    return isinstance(arg, (np.dtype, type))


def _reduce_with_buffer(loader, buffer: memoryview, protocol: int):
    """``__reduce_ex__`` result re-creating an object from its serialized buffer,
    out-of-band for pickle protocol 5"""
    import pickle

    if protocol >= 5:
        return loader, (pickle.PickleBuffer(buffer),)
    return loader, (bytes(buffer),)
