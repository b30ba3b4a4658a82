"""Datasets holding one value per sample for each named field: ``Dataset`` and
``IndexedDataset``."""

import collections.abc
import operator
from typing import Any, Dict, List, Optional, Tuple

import torch

from ._namedtuple import namedtuple


def _field(dataset: str, name: Any, value: Any) -> bool:
    """Check one field of ``dataset`` and tell whether it is lazy (a callable)"""
    if not isinstance(name, str):
        raise TypeError(
            f"field names of {dataset} must be str, got {type(name).__name__} "
            f"({name!r})"
        )
    if name == "sample_id":
        raise ValueError(
            f"{dataset} can not have a field named 'sample_id': the name is reserved "
            "for the ids of an IndexedDataset, use IndexedDataset(sample_id=...) to "
            "give ids to the samples"
        )
    if isinstance(value, (str, bytes, collections.abc.Mapping)):
        raise TypeError(
            f"field {name!r} of {dataset} must be a list with one value per sample "
            f"or a callable, got {type(value).__name__}"
        )
    if callable(value):
        return True
    if hasattr(value, "__len__") and hasattr(value, "__getitem__"):
        return False
    raise TypeError(
        f"field {name!r} of {dataset} must be a list with one value per sample "
        f"or a callable, got {type(value).__name__}"
    )


def _check_single_type(dataset: str, name: str, values: Any):
    """The values of a list field must all have the same type"""
    if not isinstance(values, collections.abc.Sequence):
        # numpy arrays, torch tensors, ...: their items are all alike
        return
    types = {type(value) for value in values}
    if len(types) > 1:
        names = sorted(f"{t.__module__}.{t.__qualname__}" for t in types)
        raise TypeError(
            f"field {name!r} of {dataset} must hold values of a single type, "
            f"got {', '.join(names)}"
        )


def _check_index(dataset: "_BaseDataset", idx: Any) -> int:
    try:
        index = operator.index(idx)
    except TypeError:
        raise TypeError(
            f"{type(dataset).__name__} indices must be integers, "
            f"got {type(idx).__name__}"
        ) from None
    if index < 0 or index >= dataset._size:
        raise ValueError(
            f"Index {index} not in dataset: {type(dataset).__name__} has "
            f"{dataset._size} samples, indices must be in [0, {dataset._size})"
        )
    return index


def _check_lengths(lengths: Dict[str, int], argument: str, expected: Optional[int]):
    """The list fields (of lengths ``lengths``) must all have ``expected``
    values (the value of ``argument``), or the same number of values when
    ``expected`` is ``None``"""
    counts = list(lengths.values())
    detail = ", ".join(f"{length} for {name!r}" for name, length in lengths.items())
    if expected is None:
        if len(set(counts)) > 1:
            raise ValueError(
                f"Number of samples inconsistent between data fields: {counts}: "
                f"got {detail}, every list field needs one value per sample"
            )
    elif any(count != expected for count in counts):
        raise ValueError(
            f"Number of samples inconsistent between argument '{argument}' "
            f"({expected}) and data fields: ({counts}): got {detail}"
        )


def _load(name: str, function, argument, where: str):
    """``function(argument)``, the value of the lazy field ``name`` for a sample
    (described by ``where``)"""
    try:
        return function(argument)
    except Exception as error:
        raise ValueError(
            f"Error loading data field {name!r} {where}: "
            f"{type(error).__name__}: {error}"
        ) from error


class _BaseDataset(torch.utils.data.Dataset):
    """What :py:class:`Dataset` and :py:class:`IndexedDataset` share"""

    _size: int
    _names: Tuple[str, ...]
    # the list, or the callable of a lazy field, for each field but sample_id
    _data: Dict[str, Any]
    _sample: type

    def _set_fields(self, dataset: str, fields: Dict[Any, Any]) -> Dict[str, int]:
        """Check and store ``fields``, return the length of the list fields"""
        if len(fields) == 0:
            raise ValueError(f"{dataset} needs at least one field")
        self._data = {}
        lengths = {}
        for name, value in fields.items():
            if not _field(dataset, name, value):
                lengths[name] = len(value)
                _check_single_type(dataset, name, value)
            self._data[name] = value
        return lengths

    def _values(self, index: int, argument: Any, where: str) -> list:
        """The value of each field for the sample at ``index``: lazy fields are
        called with ``argument``, their errors described with ``where``"""
        values = []
        for name, field in self._data.items():
            if callable(field):
                values.append(_load(name, field, argument, where))
            else:
                values.append(field[index])
        return values

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        for index in range(self._size):
            yield self[index]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self._size}, fields={list(self._names)})"


class Dataset(_BaseDataset):
    """A map-style :py:class:`torch.utils.data.Dataset` whose samples are named
    tuples, with one value per field.

    Each keyword argument is a field, given either as a list (or any sequence:
    tuple, numpy array, torch tensor, ...) holding one value per sample, or as a
    callable ``f(index) -> value`` called each time a sample is accessed, to load
    data lazily (e.g. from disk). The values of a list field must all have the
    same type. ``size`` (the number of samples) is needed when every field is a
    callable; otherwise it is the length of the lists, and must agree with them
    when given.

    ``dataset[index]`` gives a named tuple ``Sample`` with the fields in the order
    they were given (``sample.energy`` or ``sample["energy"]`` give a field).
    Indices go from 0 to ``len(dataset) - 1``: negative indices are not
    supported (the callables receive the index as it is), and any other index
    raises a :py:class:`ValueError`; so does an error in a callable, naming the
    field and the index. The field name ``sample_id`` is reserved for
    :py:class:`IndexedDataset`; use :py:meth:`from_dict` for field names that
    are not Python identifiers. ``dataset._data[name]`` is the list or the
    callable of a field, as in upstream metatensor-learn.

    :param size: number of samples, needed when every field is a callable
    :param fields: the fields, each a list of length ``size`` or a callable
    :raises ValueError: for inconsistent sizes, a missing ``size`` or a field
        named ``sample_id``
    :raises TypeError: for a field that is neither a list nor a callable, or a
        list holding values of several types

    >>> import torch
    >>> dataset = Dataset(energy=[-1.0, -2.5], forces=lambda i: torch.zeros(i + 1, 3))
    >>> len(dataset)
    2
    >>> sample = dataset[1]
    >>> sample.energy, sample.forces.shape
    (-2.5, torch.Size([2, 3]))
    >>> [sample.energy for sample in dataset]
    [-1.0, -2.5]
    """

    def __init__(self, size: Optional[int] = None, **fields):
        self._setup(size, fields)

    def _setup(self, size: Optional[int], fields: Dict[Any, Any]):
        lengths = self._set_fields("Dataset", fields)
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int):
                raise TypeError(
                    f"`size` of Dataset must be an integer, got {type(size).__name__}"
                )
            if size < 0:
                raise ValueError(f"`size` of Dataset must be non-negative, got {size}")
            _check_lengths(lengths, "size", size)
        elif len(lengths) == 0:
            raise ValueError(
                "Dataset needs `size` when every field is a callable, "
                "e.g. Dataset(size=100, field=load_field)"
            )
        else:
            _check_lengths(lengths, "size", None)
            size = next(iter(lengths.values()))
        self._size = size
        self._names = tuple(fields.keys())
        self._sample = namedtuple("Sample", self._names)

    @classmethod
    def from_dict(cls, data: Dict[str, Any], size: Optional[int] = None) -> "Dataset":
        """Create a :py:class:`Dataset` from a dictionary of fields.

        Unlike keyword arguments, the keys of ``data`` do not need to be Python
        identifiers (``getattr(sample, "my-field")`` gives their values).

        :param data: the fields, in order, as a name -> list or callable mapping
        :param size: number of samples, needed when every field is a callable

        >>> dataset = Dataset.from_dict({"energy": [1.0, 2.0], "dipole-moment": [0.1, 0.2]})
        >>> dataset[0]
        Sample(energy=1.0, 'dipole-moment'=0.1)
        >>> getattr(dataset[1], "dipole-moment")
        0.2
        """
        if not isinstance(data, collections.abc.Mapping):
            raise TypeError(
                f"`data` in Dataset.from_dict must be a dict, got {type(data).__name__}"
            )
        dataset = cls.__new__(cls)
        Dataset._setup(dataset, size, dict(data))
        return dataset

    def __getitem__(self, idx: int):
        index = _check_index(self, idx)
        values = self._values(index, index, f"at sample index {index}")
        return tuple.__new__(self._sample, values)


class IndexedDataset(_BaseDataset):
    """A :py:class:`Dataset` whose samples also have an id, which is the first
    field (``sample_id``) of every sample.

    ``sample_id`` lists the ids, which must be unique and hashable (numpy arrays
    and torch tensors are converted with ``tolist()``). The other fields are lists
    of the same length or callables, which receive the **sample id** (not the
    index) when a sample is accessed; an error in a callable is raised as a
    :py:class:`ValueError` naming the field and the sample id.
    ``dataset[index]`` gives samples by position (from 0 to ``len(dataset) -
    1``, like :py:class:`Dataset`) and :py:meth:`get_sample` by id. The size is
    the number of ids: a ``size`` argument is rejected.

    :param sample_id: the ids of the samples
    :param fields: the fields, each a list with one value per id or a callable
        ``f(sample_id)``
    :raises ValueError: for repeated ids, inconsistent sizes or a ``size`` argument
    :raises TypeError: for unhashable ids, or fields as for :py:class:`Dataset`

    >>> dataset = IndexedDataset(
    ...     sample_id=["water", "ethanol"],
    ...     n_atoms=lambda name: {"water": 3, "ethanol": 9}[name],
    ... )
    >>> dataset[1]
    Sample(sample_id='ethanol', n_atoms=9)
    >>> dataset.get_sample("water").n_atoms
    3
    """

    def __init__(self, sample_id: List, **fields):
        if "size" in fields:
            raise ValueError(
                "IndexedDataset does not take a `size` argument: its size is the "
                "number of entries in `sample_id`"
            )
        self._setup(sample_id, fields)

    def _setup(self, sample_id: Any, fields: Dict[Any, Any]):
        if isinstance(sample_id, (str, bytes, collections.abc.Mapping)) or not (
            hasattr(sample_id, "__len__") and hasattr(sample_id, "__getitem__")
        ):
            raise TypeError(
                "`sample_id` of IndexedDataset must be a list of ids, "
                f"got {type(sample_id).__name__}"
            )
        if hasattr(sample_id, "tolist") and not isinstance(
            sample_id, collections.abc.Sequence
        ):
            # numpy arrays and torch tensors: their items are not usable as keys
            sample_id = sample_id.tolist()

        positions: Dict[Any, int] = {}
        for position, value in enumerate(sample_id):
            try:
                previous = positions.setdefault(value, position)
            except TypeError:
                raise TypeError(
                    "`sample_id` of IndexedDataset must hold hashable values, got "
                    f"{type(value).__name__} ({value!r}) at position {position}"
                ) from None
            if previous != position:
                raise ValueError(
                    "Sample IDs must be unique, found some duplicate: "
                    f"{value!r} at positions {previous} and {position} of "
                    "`sample_id`"
                )

        lengths = self._set_fields("IndexedDataset", fields)
        _check_lengths(lengths, "sample_id", len(sample_id))
        self._size = len(sample_id)
        self._sample_id = sample_id
        self._positions = positions
        self._names = ("sample_id",) + tuple(fields.keys())
        self._sample = namedtuple("Sample", self._names)

    @classmethod
    def from_dict(cls, data: Dict[str, Any], sample_id: List) -> "IndexedDataset":
        """Create an :py:class:`IndexedDataset` from a dictionary of fields.

        The keys of ``data`` do not need to be Python identifiers, and can not be
        ``sample_id``.

        :param data: the fields, in order, as a name -> list or callable mapping
        :param sample_id: the ids of the samples

        >>> dataset = IndexedDataset.from_dict({"band-gap": [1.1, 5.5]}, sample_id=["Si", "C"])
        >>> getattr(dataset.get_sample("C"), "band-gap")
        5.5
        """
        if not isinstance(data, collections.abc.Mapping):
            raise TypeError(
                "`data` in IndexedDataset.from_dict must be a dict, "
                f"got {type(data).__name__}"
            )
        dataset = cls.__new__(cls)
        IndexedDataset._setup(dataset, sample_id, dict(data))
        return dataset

    def __getitem__(self, idx: int):
        index = _check_index(self, idx)
        sample_id = self._sample_id[index]
        values = self._values(index, sample_id, f"for sample {sample_id!r}")
        return tuple.__new__(self._sample, [sample_id] + values)

    def get_sample(self, sample_id: Any):
        """The sample with the id ``sample_id``.

        :param sample_id: one of the ids given when creating the dataset
        :raises ValueError: if no sample has this id
        """
        try:
            index = self._positions.get(sample_id)
        except TypeError:
            raise TypeError(
                "sample ids are hashable, got an unhashable "
                f"{type(sample_id).__name__} ({sample_id!r}) in 'get_sample'"
            ) from None
        if index is None:
            raise ValueError(f"Sample ID {sample_id!r} not in dataset")
        return self[index]
