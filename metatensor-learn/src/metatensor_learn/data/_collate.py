"""Collate functions turning a list of samples into a batch: ``group`` and
``group_and_join``."""

import collections.abc
import sys
from typing import Any, Dict, List, Optional, Sequence

import torch

import metatensor

from ._namedtuple import namedtuple

# kinds of values in a field, for `group_and_join`
_OTHER = "other"
_TENSOR = "torch.Tensor"
_CORE = "metatensor.TensorMap"
_TORCH = "metatensor.torch.TensorMap"


def _metatensor_torch():
    """The metatensor-torch module if it is already imported (its TensorMaps can
    only exist then), else ``None``: this never imports it"""
    module = sys.modules.get("metatensor_torch")
    if module is None:
        module = sys.modules.get("metatensor.torch")
    return module


def _kind(value: Any) -> str:
    if isinstance(value, metatensor.TensorMap):
        return _CORE
    if isinstance(value, torch.Tensor):
        return _TENSOR
    metatensor_torch = _metatensor_torch()
    if metatensor_torch is not None and isinstance(value, metatensor_torch.TensorMap):
        return _TORCH
    return _OTHER


def group(batch: Sequence) -> tuple:
    """Group a list of samples into a named tuple ``Batch`` with the same fields,
    each holding the tuple of the values of all samples.

    :param batch: samples, named tuples with the same fields (e.g. from a
        :py:class:`Dataset`)
    :return: a named tuple ``Batch``

    >>> from metatensor_learn.data import Dataset
    >>> dataset = Dataset(energy=[1.0, 2.0, 3.0], name=["H2", "O2", "N2"])
    >>> group([dataset[0], dataset[2]])
    Batch(energy=(1.0, 3.0), name=('H2', 'N2'))
    """
    if len(batch) == 0:
        raise ValueError("can not group an empty batch of samples")
    first = batch[0]
    fields = getattr(first, "_fields", None)
    if not isinstance(first, tuple) or fields is None:
        raise TypeError(
            "samples to group must be named tuples (e.g. from a Dataset), "
            f"got {type(first).__name__}"
        )
    sample_type = type(first)
    for sample in batch:
        if type(sample) is not sample_type and (
            not isinstance(sample, tuple) or getattr(sample, "_fields", None) != fields
        ):
            raise ValueError(
                "samples to group must all have the same fields, got "
                f"{list(fields)} and {list(getattr(sample, '_fields', ()))}"
            )
    return tuple.__new__(namedtuple("Batch", fields), zip(*batch))


def _join_tensor_maps(join, name: str, values: tuple, join_kwargs: Dict[str, Any]):
    try:
        return join(list(values), axis="samples", **join_kwargs)
    except Exception as error:
        # say which field failed, keeping the type of the error (e.g.
        # metatensor.MetatensorError, or NotEqualError for different keys)
        if not isinstance(error, ValueError) and type(error).__name__ != (
            "NotEqualError"
        ):
            raise
        message = f"failed to join the field {name!r} of the batch: {error}"
        try:
            new_error = type(error)(message)
        except Exception:
            new_error = ValueError(message)
        raise new_error from error


def group_and_join(
    batch: Sequence,
    fields_to_join: Optional[List[str]] = None,
    join_kwargs: Optional[Dict[str, Any]] = None,
) -> tuple:
    """Group a list of samples (see :py:func:`group`), then join the values of
    each field in ``fields_to_join``.

    In a field to join, metatensor TensorMaps are joined along samples, with
    :py:func:`metatensor.join` (or ``metatensor.torch.join`` for
    ``metatensor.torch.TensorMap``), and torch tensors are stacked with
    :py:func:`torch.vstack` (so ``B`` tensors of shape ``(n,)`` or ``(1, n)``
    give a tensor of shape ``(B, n)``). Other values, and all the values of
    ``sample_id``, stay as tuples. The TensorMaps of a batch must have the same
    keys (``join``'s default ``different_keys="error"``; give
    ``join_kwargs={"different_keys": "union"}`` otherwise) and distinct samples
    (e.g. with a ``"system"`` dimension holding the structure index), or use
    ``join_kwargs={"add_dimension": "batch"}`` to add a dimension with the
    position in the batch.

    This is the default ``collate_fn`` of :py:class:`DataLoader`; use
    :py:func:`functools.partial` to give it other arguments.

    :param batch: samples, named tuples with the same fields
    :param fields_to_join: names of the fields to join, all of them by default;
        ``sample_id`` is never joined
    :param join_kwargs: keyword arguments for ``join`` (beside ``axis``)
    :return: a named tuple ``Batch``
    :raises TypeError: if a field to join mixes TensorMaps, tensors and other
        values

    >>> import torch
    >>> from metatensor_learn.data import IndexedDataset
    >>> dataset = IndexedDataset(sample_id=[10, 20], dipole=[torch.ones(3), torch.zeros(3)])
    >>> batch = group_and_join([dataset[0], dataset[1]])
    >>> batch.sample_id
    (10, 20)
    >>> batch.dipole
    tensor([[1., 1., 1.],
            [0., 0., 0.]])
    """
    grouped = group(batch)
    fields = grouped._fields

    if fields_to_join is None:
        to_join = set(fields)
    else:
        if isinstance(fields_to_join, str) or not isinstance(
            fields_to_join, collections.abc.Iterable
        ):
            raise TypeError(
                "`fields_to_join` in 'group_and_join' must be a list of field names, "
                f"got {type(fields_to_join).__name__}"
            )
        to_join = set(fields_to_join)
        unknown = [name for name in fields_to_join if name not in fields]
        if unknown:
            raise ValueError(
                f"`fields_to_join` in 'group_and_join' contains {unknown}, which are "
                f"not fields of the samples: the fields are {list(fields)}"
            )
    to_join.discard("sample_id")

    kwargs: Dict[str, Any] = {}
    if join_kwargs is not None:
        if not isinstance(join_kwargs, collections.abc.Mapping):
            raise TypeError(
                "`join_kwargs` in 'group_and_join' must be a dict, "
                f"got {type(join_kwargs).__name__}"
            )
        for reserved in ("tensors", "axis"):
            if reserved in join_kwargs:
                raise ValueError(
                    f"`join_kwargs` in 'group_and_join' can not contain {reserved!r}: "
                    "the batch is always joined along samples"
                )
        kwargs.update(join_kwargs)

    data = []
    for name, values in zip(fields, grouped):
        if name in to_join:
            values = _join_field(name, values, kwargs)
        data.append(values)
    return tuple.__new__(type(grouped), data)


def _join_field(name: str, values: tuple, join_kwargs: Dict[str, Any]):
    first_type = type(values[0])
    if all(type(value) is first_type for value in values):
        kind = _kind(values[0])
    else:
        kinds = {_kind(value) for value in values}
        if len(kinds) > 1:
            types = sorted({type(value).__qualname__ for value in values})
            raise TypeError(
                f"can not join the field {name!r} of the batch: it mixes values of "
                f"types {', '.join(types)}"
            )
        kind = kinds.pop()

    if kind == _CORE:
        return _join_tensor_maps(metatensor.join, name, values, join_kwargs)
    elif kind == _TORCH:
        join = _metatensor_torch().join
        return _join_tensor_maps(join, name, values, join_kwargs)
    elif kind == _TENSOR:
        return torch.vstack(values)
    return values
