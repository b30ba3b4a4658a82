"""``Labels`` and ``LabelsEntry`` as TorchScript classes.

Both classes are compiled by ``torch.jit.script`` when the package is imported
(see ``__init__.py``). The code below runs in two ways:

* inside TorchScript, where only torch operations are available: lookups and set
  operations sort the rows with torch (see ``_rows``);
* in eager Python, where the branches under ``if not torch.jit.is_scripting():``
  hand the work to metatensor-core (its C hash index, its set operations and its
  file format), through ``_eager``. The compiler never reads these branches.

Labels values are a 2-D int32 tensor of shape ``(n_entries, n_dimensions)``, on
any device. They must not be modified in place: in eager Python, the Labels
notice it and refuse to be used any further (see ``Labels.values``).

Values whose data Python can not read (on the ``meta`` device, or wrapped by the
``torch.func`` transforms ``grad``, ``jvp`` and ``vmap``) are built by the
TorchScript code in eager Python too; checks that need the data are skipped on
the meta device (see ``Labels``).
"""

from typing import List, Optional, Tuple, Union

import torch

from metatensor._checks import names_text
from metatensor._printing import entry_text, labels_table, shown_entries

from . import _eager, _mts, _rows
from ._dtypes import dtype_name
from ._jit import no_deprecation_warning

# ==================================================================================== #
# helpers on plain tensors and lists (compiled with the classes that call them)


def _check_names(names: List[str]):
    """Names must be unique, non-empty ASCII identifiers (errors of the data layer:
    RuntimeError, as upstream)"""
    for i in range(len(names)):
        name = names[i]
        valid = len(name) > 0 and not name[0].isdigit()
        for c in name:
            if not (c == "_" or (ord(c) < 128 and c.isalnum())):
                valid = False
        if not valid:
            raise RuntimeError(
                "invalid parameter: '"
                + name
                + "' is not a valid label name: names must contain only ASCII "
                + "letters, digits and '_', and not start with a digit"
            )
        for j in range(i):
            if names[j] == name:
                raise RuntimeError(
                    "invalid parameter: label dimensions must be unique, got '"
                    + name
                    + "' multiple times"
                )


def _names_list(names: Union[str, List[str]]) -> List[str]:
    """Names given as a list, or as one str (``""`` means no dimensions)"""
    if isinstance(names, str):
        if len(names) == 0:
            return []
        return [names]
    return names


def _shape(shape: List[int], n_names: int) -> List[int]:
    """The shape of Labels values given with ``shape`` for ``n_names`` dimensions:
    values without entries (any shape ``(0, ...)``) take the shape
    ``(0, n_names)``, others must have the shape ``(n, n_names)``"""
    if len(shape) != 0 and shape[0] == 0:
        return [0, n_names]
    if len(shape) != 2:
        raise ValueError(
            "Labels values must be a 2D Tensor, got " + str(len(shape)) + " dimensions"
        )
    if shape[1] != n_names:
        raise ValueError(
            "invalid Labels: the names must have an entry for each column of the "
            + "array: the values have "
            + str(shape[1])
            + " columns but there are "
            + str(n_names)
            + " names"
        )
    return shape


# int32 limits, as literals: `**` gives a float in TorchScript
def _outside_int32(value: int) -> bool:
    return value < -2147483648 or value > 2147483647


def _is_integer(values: torch.Tensor) -> bool:
    """Whether the dtype of ``values`` is an integer type (bool is not)"""
    return not (
        values.is_floating_point() or values.is_complex() or values.dtype == torch.bool
    )


def _check_layout(values: torch.Tensor, n_names: int) -> List[int]:
    """Check Labels ``values`` for ``n_names`` dimensions: any integer dtype with
    values in the int32 range (not checked on the meta device, which has no data;
    converted to int32 later), no gradients, a 2-D shape; returns the shape to
    use"""
    if not _is_integer(values):
        raise ValueError(
            "Labels values must be a Tensor of 32-bit integers (or of another "
            + "integer type, converted to int32), got "
            + dtype_name(values.dtype)
        )
    if values.requires_grad:
        raise ValueError("Labels values can not require gradients")
    if values.numel() != 0 and values.dtype != torch.int32 and not values.is_meta:
        low = int(values.min())
        high = int(values.max())
        if _outside_int32(low) or _outside_int32(high):
            bad = high
            if _outside_int32(low):
                bad = low
            raise ValueError(
                "Labels values must fit in 32-bit integers, got " + str(bad)
            )
    return _shape(values.shape, n_names)


def _int32_values(values: torch.Tensor, n_names: int) -> torch.Tensor:
    """A new contiguous 2-D int32 copy of ``values``, after ``_check_layout``"""
    shape = _check_layout(values, n_names)
    values = values.to(
        dtype=torch.int32, memory_format=torch.contiguous_format, copy=True
    )
    return values.reshape(shape)


def _entry_size_error(size: int, n_dimensions: int) -> str:
    return (
        "entry has "
        + str(size)
        + " values but the labels have "
        + str(n_dimensions)
        + " dimensions"
    )


def _check_entry_tensor(entry: torch.Tensor, n_dimensions: int):
    """Refuse a tensor that can not be an entry of Labels with ``n_dimensions``"""
    if not _is_integer(entry):
        raise TypeError(
            "entry must be a LabelsEntry, an integer tensor or a list of integers, "
            + "got a tensor of "
            + dtype_name(entry.dtype)
        )
    if entry.dim() != 1:
        raise ValueError(
            "entry must be a 1-D tensor, got a " + str(entry.dim()) + "-D tensor"
        )
    if entry.shape[0] != n_dimensions:
        raise ValueError(_entry_size_error(entry.shape[0], n_dimensions))


def _in_int32_range(values: torch.Tensor) -> torch.Tensor:
    """Whether every one of the integer ``values`` fits in int32, as a 0-D bool
    tensor (without synchronizing with the device)"""
    wide = values.to(torch.int64)
    low = -2147483648
    if not torch.is_signed(values):
        # uint64 values above 2^63 become negative in int64
        low = 0
    return ((wide >= low) & (wide <= 2147483647)).all()


def _device(device: Union[torch.device, str]) -> torch.device:
    if isinstance(device, str):
        return torch.device(device)
    return device


def paths_error() -> str:
    """Why files can not be used inside TorchScript"""
    return (
        "reading and writing files is not possible inside TorchScript (there is no "
        + "file API there): use the buffer functions (`save_buffer` / `load_buffer`) "
        + "and do the file input/output in Python or C++"
    )


def no_data_error(what: str) -> str:
    """Why ``what`` is not possible for Labels on the meta device"""
    return (
        "can not "
        + what
        + " Labels on the 'meta' device: their values have no data (Labels moved "
        + "there from another device by `to()` in Python keep a copy of the values "
        + "for this)"
    )


def equal_values(values: torch.Tensor, other: torch.Tensor) -> bool:
    """Whether two Labels (or entries) ``values`` are the same; on the meta device,
    which has no data, whether their shapes are"""
    if values.is_meta or other.is_meta:
        return values.shape == other.shape
    return bool(torch.equal(values, other.to(values.device)))


def _check_has_data(values: torch.Tensor, what: str):
    """Refuse to ``what`` Labels whose ``values`` are on the meta device"""
    if values.is_meta:
        raise RuntimeError(no_data_error(what))


# ==================================================================================== #


class LabelsEntry:
    """A single entry (row) of :py:class:`Labels`: one value per dimension, with
    the dimension names.

    :param names: names of the dimensions
    :param values: 1-D int32 tensor with one value per dimension
    """

    def __init__(self, names: List[str], values: torch.Tensor):
        if values.dim() != 1 or values.shape[0] != len(names):
            raise ValueError(
                "LabelsEntry got "
                + str(len(names))
                + " names but values of shape "
                + str(list(values.shape))
            )
        self._names = names
        self._values = values

    @property
    def names(self) -> List[str]:
        """Names of the dimensions"""
        return self._names

    @property
    def values(self) -> torch.Tensor:
        """Values of the dimensions, a 1-D int32 tensor"""
        return self._values

    @property
    def device(self) -> torch.device:
        """Device of the values"""
        return self._values.device

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, index: Union[int, str]) -> int:
        """Value of a dimension, given by position (int) or by name (str)"""
        if not torch.jit.is_scripting():
            _eager.check_entry_index(index)
        if isinstance(index, str):
            for i in range(len(self._names)):
                if self._names[i] == index:
                    return int(self._values[i])
            raise ValueError(
                "'"
                + index
                + "' not found in the dimensions of this entry, expected one of "
                + names_text(self._names)
            )
        else:
            return int(self._values[index])

    def __eq__(self, other: "LabelsEntry") -> bool:
        if self._names != other._names:
            return False
        return equal_values(self._values, other._values)

    def __ne__(self, other: "LabelsEntry") -> bool:
        return not self.__eq__(other)

    def print(self) -> str:
        """Text representation, e.g. ``(system=0, atom=2)``"""
        values: List[int] = self._values.to(torch.int64).cpu().tolist()
        return entry_text(self._names, values)

    def __repr__(self) -> str:
        return "LabelsEntry" + self.print()

    def __str__(self) -> str:
        return "LabelsEntry" + self.print()


class Labels:
    """Metadata of one axis of a :py:class:`TensorBlock` (samples, components,
    properties) or of the keys of a :py:class:`TensorMap`: an ordered set of
    unique entries, with one integer per named dimension.

    :param names: names of the dimensions (ASCII letters, digits and ``_``, not
        starting with a digit), or a single string for one dimension
    :param values: integer tensor of shape ``(n_entries, len(names))``, on any
        device; it is converted to int32 (a copy). A tensor without entries
        (shape ``(0, ...)``) takes the shape ``(0, len(names))``.
    :param assume_unique: skip the check that entries are unique

    Labels can be built on the ``meta`` device, whose tensors have a shape but no
    data: the values are then not checked for uniqueness (nor for the int32 range),
    two such Labels are equal when their names and shapes are, and looking entries
    up (``position``, ``select``, set operations) raises an error. In eager Python,
    Labels moved to the meta device with :py:meth:`to` keep a private copy of the
    values and can still look entries up, as upstream. Under the ``torch.func``
    transforms (``grad``, ``jvp``, ``vmap``) Labels work as usual, but their values
    can not be batched by ``vmap`` (every entry of the batch would need its own
    Labels).
    """

    def __init__(
        self,
        names: Union[str, List[str]],
        values: torch.Tensor,
        assume_unique: bool = False,
    ):
        if not torch.jit.is_scripting():
            names = _eager.labels_names(names, values)
            if _eager.init_labels(self, names, values, assume_unique):
                return
            # values on the meta device or wrapped by torch.func: the code below

        names_list = _names_list(names)
        _check_names(names_list)
        values = _int32_values(values, len(names_list))
        if not assume_unique and len(names_list) != 0 and not values.is_meta:
            duplicated = _rows.first_duplicate(values)
            if duplicated >= 0:
                row: List[int] = values[duplicated].to(torch.int64).cpu().tolist()
                raise RuntimeError(
                    "invalid parameter: can not have the same label entry multiple "
                    + "times: "
                    + str(row)
                    + " is already present"
                )
        self._names = names_list
        self._values = values

    # ================================================================================ #
    # constructors

    @staticmethod
    def single() -> "Labels":
        """Labels with one dimension ``"_"`` and a single entry, 0"""
        return Labels(["_"], torch.zeros([1, 1], dtype=torch.int32), True)

    @staticmethod
    def empty(names: Union[str, List[str]]) -> "Labels":
        """Labels with the given ``names`` and no entries"""
        names_list = _names_list(names)
        values = torch.zeros([0, len(names_list)], dtype=torch.int32)
        return Labels(names_list, values, True)

    @staticmethod
    def range(name: str, end: int) -> "Labels":
        """Labels with one dimension ``name`` and the entries ``0 .. end - 1``"""
        if end < 0 or end > 2**31:
            raise ValueError(
                "`end` must be an integer between 0 and 2^31, got " + str(end)
            )
        values = torch.arange(end, dtype=torch.int32).reshape(-1, 1)
        return Labels([name], values, True)

    # ================================================================================ #
    # properties

    @property
    def names(self) -> List[str]:
        """Names of the dimensions, in order"""
        return self._names

    @property
    def values(self) -> torch.Tensor:
        """2-D int32 tensor of shape ``(len(self), len(self.names))``.

        Labels are immutable, but a tensor can not be made read-only: do not
        modify it in place. In eager Python, the Labels index a copy of the values
        and notice in-place modifications of this tensor (also through an entry or
        a column): every later use of these Labels then raises an error, instead
        of giving results that do not match the tensor. Inside TorchScript the
        modification is not noticed, and the Labels may no longer be unique."""
        if not torch.jit.is_scripting():
            _eager.check_values(self)
        return self._values

    @property
    def device(self) -> torch.device:
        """Device of the values"""
        return self._values.device

    def __len__(self) -> int:
        return self._values.shape[0]

    # ================================================================================ #
    # entries, columns and lookups

    def entry(self, index: int) -> LabelsEntry:
        """The entry at ``index`` (negative indices count from the end)"""
        return LabelsEntry(self._names, self.values.select(0, index))

    def __getitem__(self, index: Union[int, str]) -> LabelsEntry:
        """The entry at position ``index`` (an int, see :py:meth:`entry`), or the
        values of the dimension called ``index`` (a str).

        In Python, a str gives the values of the dimension, a 1-D tensor (see
        :py:meth:`column`). A TorchScript method has a single return type, and
        compiled code must be able to write ``labels[i].values``: inside
        TorchScript a str gives the column as a :py:class:`LabelsEntry` with the
        dimension name once per entry, so that ``labels["atom"].values`` is the
        column tensor, ``labels["atom"][i]`` the value of entry ``i`` and
        ``len(labels["atom"])`` the number of entries. Code meant to run both in
        Python and in TorchScript uses :py:meth:`column` for a tensor.
        """
        if isinstance(index, str):
            column = self.column(index)
            return LabelsEntry([index] * column.shape[0], column)
        return self.entry(index)

    def column(self, dimension: str) -> torch.Tensor:
        """Values of one dimension, a 1-D tensor"""
        for i in range(len(self._names)):
            if self._names[i] == dimension:
                return self.values[:, i]
        raise ValueError(
            "'"
            + dimension
            + "' not found in the dimensions of these Labels, expected one of "
            + names_text(self._names)
        )

    def _entry_tensor(
        self, entry: Union[LabelsEntry, torch.Tensor, List[int]]
    ) -> Optional[torch.Tensor]:
        """The values of an entry given as a LabelsEntry or a tensor, checked (in
        their own dtype); None for a list"""
        if isinstance(entry, LabelsEntry):
            if entry._names != self._names:
                raise ValueError(
                    "the entry has dimensions "
                    + names_text(entry._names)
                    + " but these Labels have "
                    + names_text(self._names)
                )
            return entry._values
        elif isinstance(entry, torch.Tensor):
            _check_entry_tensor(entry, len(self._names))
            return entry
        return None

    def position(
        self, entry: Union[LabelsEntry, torch.Tensor, List[int]]
    ) -> Optional[int]:
        """Position of ``entry`` (a :py:class:`LabelsEntry`, a 1-D integer tensor or
        a list of int; in Python also a tuple) in these Labels, or ``None``. An
        entry with values outside of the int32 range is not present."""
        if not torch.jit.is_scripting():
            return _eager.position(self, entry)

        _check_has_data(self._values, "find an entry in")
        values = self._entry_tensor(entry)
        device = self._values.device
        if values is None:
            assert isinstance(entry, List[int])
            if len(entry) != len(self._names):
                raise ValueError(_entry_size_error(len(entry), len(self._names)))
            for value in entry:
                if _outside_int32(value):
                    return None
            wanted = torch.tensor(entry, dtype=torch.int32, device=device)
            matches = (self._values == wanted).all(dim=1)
        else:
            values = values.to(device)
            if values.dtype == torch.int32:
                matches = (self._values == values).all(dim=1)
            else:
                matches = (self._values == values.to(torch.int32)).all(dim=1)
                matches = matches & _in_int32_range(values)
        found = torch.nonzero(matches)
        if found.shape[0] == 0:
            return None
        return int(found[0, 0])

    def __contains__(self, entry: Union[LabelsEntry, torch.Tensor, List[int]]) -> bool:
        return self.position(entry) is not None

    def __eq__(self, other: "Labels") -> bool:
        if not torch.jit.is_scripting():
            return _eager.labels_equal(self, other)
        if self._names != other._names:
            return False
        return equal_values(self._values, other._values)

    def __ne__(self, other: "Labels") -> bool:
        return not self.__eq__(other)

    # ================================================================================ #
    # set operations

    def _check_set_operation(self, other: "Labels", operation: str):
        if self._names != other._names:
            raise ValueError(
                "can not take the "
                + operation
                + " of these Labels: they have different names ("
                + names_text(self._names)
                + " and "
                + names_text(other._names)
                + ")"
            )
        if self._values.device != other._values.device:
            raise ValueError(
                "can not take the "
                + operation
                + " of Labels on different devices ("
                + str(self._values.device)
                + " and "
                + str(other._values.device)
                + ")"
            )
        _check_has_data(self._values, "take the " + operation + " of")

    def union(self, other: "Labels") -> "Labels":
        """Entries of ``self``, then the entries of ``other`` not in ``self``"""
        return self.union_and_mapping(other)[0]

    def union_and_mapping(
        self, other: "Labels"
    ) -> Tuple["Labels", torch.Tensor, torch.Tensor]:
        """Union of ``self`` and ``other``, with the position of each entry of
        ``self`` and ``other`` in the union (int64 tensors)"""
        if not torch.jit.is_scripting():
            return _eager.set_operation(self, other, "union_and_mapping")
        self._check_set_operation(other, "union")
        n_self = self._values.shape[0]
        positions = _rows.positions(self._values, other._values)
        new = torch.nonzero(positions < 0).reshape(-1)
        values = torch.cat([self._values, other._values[new]])
        union = Labels(self._names, values, True)
        positions[new] = torch.arange(
            n_self, n_self + new.shape[0], device=positions.device
        )
        mapping = torch.arange(n_self, dtype=torch.int64, device=self._values.device)
        return union, mapping, positions

    def intersection(self, other: "Labels") -> "Labels":
        """Entries present in both ``self`` and ``other``, in the order of the
        smaller of the two"""
        return self.intersection_and_mapping(other)[0]

    def intersection_and_mapping(
        self, other: "Labels"
    ) -> Tuple["Labels", torch.Tensor, torch.Tensor]:
        """Intersection of ``self`` and ``other``, with the position of each entry
        of ``self`` and ``other`` in the intersection (-1 when absent)"""
        if not torch.jit.is_scripting():
            return _eager.set_operation(self, other, "intersection_and_mapping")
        self._check_set_operation(other, "intersection")
        small = self
        large = other
        if self._values.shape[0] > other._values.shape[0]:
            small = other
            large = self
        device = self._values.device
        positions = _rows.positions(large._values, small._values)
        found = torch.nonzero(positions >= 0).reshape(-1)
        intersection = Labels(self._names, small._values[found], True)
        new_positions = torch.arange(found.shape[0], device=device)
        mapping_small = torch.full([len(small)], -1, dtype=torch.int64, device=device)
        mapping_small[found] = new_positions
        mapping_large = torch.full([len(large)], -1, dtype=torch.int64, device=device)
        mapping_large[positions[found]] = new_positions
        if self._values.shape[0] > other._values.shape[0]:
            return intersection, mapping_large, mapping_small
        return intersection, mapping_small, mapping_large

    def difference(self, other: "Labels") -> "Labels":
        """Entries of ``self`` that are not in ``other``, in the order of ``self``"""
        return self.difference_and_mapping(other)[0]

    def difference_and_mapping(self, other: "Labels") -> Tuple["Labels", torch.Tensor]:
        """Difference of ``self`` and ``other``, with the position of each entry of
        ``self`` in the difference (-1 when absent)"""
        if not torch.jit.is_scripting():
            return _eager.set_operation(self, other, "difference_and_mapping")
        self._check_set_operation(other, "difference")
        device = self._values.device
        kept = torch.nonzero(_rows.positions(other._values, self._values) < 0).reshape(
            -1
        )
        difference = Labels(self._names, self._values[kept], True)
        mapping = torch.full([len(self)], -1, dtype=torch.int64, device=device)
        mapping[kept] = torch.arange(kept.shape[0], device=device)
        return difference, mapping

    def select(self, selection: Union["Labels", LabelsEntry]) -> torch.Tensor:
        """Positions (int64 tensor) of the entries matching ``selection``, Labels
        or an entry whose names are a subset of these names. With exactly these
        names the positions follow the order of ``selection``, otherwise they are
        every matching entry in increasing order."""
        if not torch.jit.is_scripting():
            return _eager.select(self, selection)
        _check_has_data(self._values, "select entries of")
        if isinstance(selection, LabelsEntry):
            names = selection._names
            values = selection._values.reshape(1, -1)
        else:
            names = selection._names
            values = selection._values
        values = values.to(self._values.device)

        if names == self._names:
            positions = _rows.positions(self._values, values)
            return positions[positions >= 0]
        if len(names) == 0:
            return torch.arange(
                len(self), dtype=torch.int64, device=self._values.device
            )
        columns: List[int] = []
        for name in names:
            found = -1
            for i in range(len(self._names)):
                if self._names[i] == name:
                    found = i
            if found < 0:
                raise RuntimeError(
                    "invalid parameter: '"
                    + name
                    + "' in selection is not part of these Labels, expected a subset "
                    + "of "
                    + names_text(self._names)
                )
            columns.append(found)
        matched = _rows.positions(values, self._values[:, columns]) >= 0
        return torch.nonzero(matched).reshape(-1)

    # ================================================================================ #
    # dimension operations, all returning new Labels

    def _new_column(self, name: str, values: torch.Tensor) -> torch.Tensor:
        if values.dim() != 1:
            raise ValueError(
                "`values` must be a 1D tensor, got shape "
                + str(list(values.shape))
                + " for the new dimension '"
                + name
                + "'"
            )
        if values.shape[0] != len(self):
            raise ValueError(
                "the new `values` contains "
                + str(values.shape[0])
                + " entries, but the Labels contains "
                + str(len(self))
            )
        column = _int32_values(values.detach().reshape(-1, 1), 1)
        return column.to(self._values.device)

    def insert(self, index: int, name: str, values: torch.Tensor) -> "Labels":
        """New Labels with a dimension ``name`` inserted at position ``index``,
        with the 1-D ``values``"""
        if index < 0 or index > len(self._names):
            raise IndexError(
                "index "
                + str(index)
                + " is out of bounds: can not insert a dimension at index "
                + str(index)
                + ", these Labels have "
                + str(len(self._names))
                + " dimensions"
            )
        names = self._names[:index] + [name] + self._names[index:]
        _check_names(names)
        column = self._new_column(name, values)
        old = self.values
        new = torch.cat([old[:, :index], column, old[:, index:]], 1)
        return Labels(names, new, True)

    def append(self, name: str, values: torch.Tensor) -> "Labels":
        """New Labels with a last dimension ``name`` taking the 1-D ``values``"""
        return self.insert(len(self._names), name, values)

    def permute(self, dimensions_indexes: List[int]) -> "Labels":
        """New Labels whose dimension ``i`` is the dimension
        ``dimensions_indexes[i]`` of ``self`` (negative indexes count from the
        end)"""
        n = len(self._names)
        seen: List[bool] = [False] * n
        valid = len(dimensions_indexes) == n
        indexes: List[int] = []
        for i in dimensions_indexes:
            if i < 0:
                i += n
            if i < 0 or i >= n or seen[i]:
                valid = False
            else:
                seen[i] = True
            indexes.append(i)
        if not valid:
            raise ValueError(
                "`dimensions_indexes` must be a permutation of 0.."
                + str(n - 1)
                + ", got "
                + str(dimensions_indexes)
            )
        names: List[str] = []
        for i in indexes:
            names.append(self._names[i])
        return Labels(names, self.values[:, indexes], True)

    def remove(self, name: str) -> "Labels":
        """New Labels without the dimension ``name``; fails if the remaining
        entries are not unique"""
        index = -1
        for i in range(len(self._names)):
            if self._names[i] == name:
                index = i
        if index < 0:
            raise ValueError(
                "'"
                + name
                + "' not found in the dimensions of these Labels, expected one of "
                + names_text(self._names)
            )
        names = self._names[:index] + self._names[index + 1 :]
        old = self.values
        values = torch.cat([old[:, :index], old[:, index + 1 :]], 1)
        return Labels(names, values, False)

    def rename(self, old: str, new: str) -> "Labels":
        """New Labels where the dimension ``old`` is called ``new``"""
        index = -1
        for i in range(len(self._names)):
            if self._names[i] == old:
                index = i
        if index < 0:
            raise ValueError(
                "'"
                + old
                + "' not found in the dimensions of these Labels, expected one of "
                + names_text(self._names)
            )
        names = self._names[:index] + [new] + self._names[index + 1 :]
        return Labels(names, self.values, True)

    def to(
        self, device: Union[torch.device, str], non_blocking: bool = False
    ) -> "Labels":
        """These Labels with their values on ``device``"""
        old = self.values
        values = old.to(device=_device(device), non_blocking=non_blocking)
        if values is old:
            return self
        if not torch.jit.is_scripting():
            return _eager.moved(self, values)
        return Labels(self._names, values, True)

    # ================================================================================ #
    # serialization and printing

    def save(self, path: str):
        """Save these Labels to ``path``; see :py:func:`metatensor.torch.save`"""
        if not torch.jit.is_scripting():
            return _eager.save(path, self)
        raise ValueError(paths_error())

    def save_buffer(self) -> torch.Tensor:
        """These Labels serialized in a 1-D uint8 tensor"""
        if not torch.jit.is_scripting():
            return _eager.save_buffer(self)
        return torch.cat(_mts.npy_labels(self._names, self._values))

    @staticmethod
    def load(path: str) -> "Labels":
        """Load Labels saved with :py:meth:`Labels.save`"""
        if not torch.jit.is_scripting():
            return _eager.load_labels(path)
        raise ValueError(paths_error())

    @staticmethod
    def load_buffer(buffer: torch.Tensor) -> "Labels":
        """Load Labels from a buffer created by :py:meth:`Labels.save_buffer`"""
        if not torch.jit.is_scripting():
            return _eager.load_labels_buffer(buffer)
        names, values = _mts.load_npy_labels(buffer)
        # a file may hold duplicated entries: check them, as core does
        return Labels(names, values, False)

    def __getstate__(self) -> torch.Tensor:
        return self.save_buffer()

    def __setstate__(self, state: torch.Tensor):
        if not torch.jit.is_scripting():
            _eager.set_labels_state(self, state)
            return
        names, values = _mts.load_npy_labels(state)
        checked = Labels(names, values, False)
        self._names = checked._names
        self._values = checked._values

    def print(self, max_entries: int, indent: int = 0) -> str:
        """Text table of the entries, showing at most ``max_entries`` of them (all
        if negative), each line indented by ``indent`` spaces after the first.
        Labels on the ``meta`` device have no values: ``...`` stands for all
        their entries."""
        n_entries = len(self._values)
        if self._values.device.type == "meta":
            return labels_table(self._names, [], n_entries, indent)
        shown = torch.tensor(
            shown_entries(n_entries, max_entries),
            dtype=torch.int64,
            device=self._values.device,
        )
        rows: List[List[int]] = (
            self._values.index_select(0, shown).to(torch.int64).cpu().tolist()
        )
        return labels_table(self._names, rows, n_entries, indent)

    def __repr__(self) -> str:
        return "Labels\n   " + self.print(-1, 3)

    def __str__(self) -> str:
        return "Labels\n   " + self.print(4, 3)


# compiled here: TorchScript resolves the names used by a class in this frame
with no_deprecation_warning():
    torch.jit.script(LabelsEntry)
    torch.jit.script(Labels)
