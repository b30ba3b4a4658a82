"""Array-level functions for numpy arrays and torch tensors.

None of these functions takes or returns Labels, TensorBlock or TensorMap: they see
raw arrays only. Each one handles torch first and numpy second, in this shape::

    def abs(array: Array) -> Array:
        if isinstance(array, _backend.TorchTensor):
            return _backend.torch.abs(array)
        _check_numpy(array)
        return np.abs(array)

so that under TorchScript (where ``Array`` is ``torch.Tensor``) the torch branch is
the only one compiled, and in eager Python torch is never imported for numpy data.
``_backend.TorchTensor`` and ``_backend.torch`` must be written in full in the
bodies (not imported once), since torch can be imported after this module.
"""

from typing import List, Optional, Tuple, Union

import numpy as np

from . import _backend

# the type of arrays in annotations: torch.Tensor for TorchScript, unused in eager
# Python
Array = _backend.TorchTensor


def _check_numpy(array: Array):
    """Raise TypeError if ``array`` is not a numpy array (torch was handled)"""
    if not isinstance(array, np.ndarray):
        raise TypeError(
            "expected a numpy ndarray or a torch Tensor, got " + str(type(array))
        )


def check_same_backend(first: Array, second: Array, function: str):
    """Raise TypeError when one array is numpy and the other torch"""
    if isinstance(first, _backend.TorchTensor) != isinstance(
        second, _backend.TorchTensor
    ):
        raise TypeError(
            f"inputs to '{function}' must all be numpy arrays or all torch tensors, "
            "got a mix of both"
        )


# ================================================================================ #
# creation


def _filled_like(array: Array, shape: Optional[List[int]], value: float) -> Array:
    """``value`` everywhere, with the dtype, device and backend of ``array``, of
    its shape or ``shape``"""
    if isinstance(array, _backend.TorchTensor):
        if shape is None:
            shape = list(array.shape)
        return _backend.torch.full(shape, value, dtype=array.dtype, device=array.device)
    _check_numpy(array)
    if shape is None:
        shape = list(array.shape)
    return np.full(shape, value, dtype=array.dtype)


def zeros_like(array: Array, shape: Optional[List[int]] = None) -> Array:
    """Zeros with the dtype, device and backend of ``array``, of its shape or
    ``shape``"""
    return _filled_like(array, shape, 0.0)


def ones_like(array: Array, shape: Optional[List[int]] = None) -> Array:
    """Ones with the dtype, device and backend of ``array``, of its shape or
    ``shape``"""
    return _filled_like(array, shape, 1.0)


def int_array_like(values: List[List[int]], like: Array, n_columns: int) -> Array:
    """A 2-D int32 array (label values) of ``values``, with the backend and
    device of ``like``"""
    if isinstance(like, _backend.TorchTensor):
        array = _backend.torch.tensor(values, dtype=_backend.torch.int32)
        return array.reshape(-1, n_columns).to(like.device)
    return np.array(values, dtype=np.int32).reshape(-1, n_columns)


def copy(array: Array) -> Array:
    """A copy of ``array`` (keeping autograd history for torch)"""
    if isinstance(array, _backend.TorchTensor):
        return array.clone()
    _check_numpy(array)
    return array.copy()


# ================================================================================ #
# math


def all(array: Array, axis: Optional[int] = None) -> Array:
    """Whether all entries of ``array`` are true, over ``axis`` or everywhere"""
    if isinstance(array, _backend.TorchTensor):
        if axis is None:
            return _backend.torch.all(array)
        return _backend.torch.all(array, dim=axis)
    _check_numpy(array)
    return np.all(array, axis=axis)


def sum(array: Array, axis: Optional[int] = None) -> Array:
    """The sum of ``array`` over ``axis``, or of all its entries"""
    if isinstance(array, _backend.TorchTensor):
        if axis is None:
            return _backend.torch.sum(array)
        return _backend.torch.sum(array, dim=axis)
    _check_numpy(array)
    return np.sum(array, axis=axis)


def abs(array: Array) -> Array:
    """``|array|``; complex numpy arrays keep their complex dtype (``|z| + 0j``,
    as upstream metatensor), complex torch tensors give real ones"""
    if isinstance(array, _backend.TorchTensor):
        return _backend.torch.abs(array)
    _check_numpy(array)
    if np.iscomplexobj(array):
        return np.abs(array).astype(array.dtype)
    return np.abs(array)


def sign(array: Array) -> Array:
    if isinstance(array, _backend.TorchTensor):
        return _backend.torch.sgn(array)
    _check_numpy(array)
    return np.sign(array)


def concatenate(arrays: List[Array], axis: int) -> Array:
    """Concatenate arrays of the same backend along ``axis``"""
    first = arrays[0]
    if isinstance(first, _backend.TorchTensor):
        return _backend.torch.cat(arrays, axis)
    _check_numpy(first)
    return np.concatenate(arrays, axis)


def take(array: Array, indices: Array, axis: int) -> Array:
    """Entries of ``array`` at the integer ``indices`` along ``axis``; indices may
    be a numpy array or a tensor"""
    if isinstance(array, _backend.TorchTensor):
        if not isinstance(indices, _backend.TorchTensor):
            indices = _backend.torch.from_numpy(indices)
        indices = indices.to(device=array.device, dtype=_backend.torch.int64)
        return _backend.torch.index_select(array, axis, indices)
    _check_numpy(array)
    if isinstance(indices, _backend.TorchTensor):
        indices = indices.cpu().numpy()
    return np.take(array, indices, axis=axis)


# ================================================================================ #
# checks


def allclose(
    first: Array, second: Array, rtol: float, atol: float, equal_nan: bool
) -> bool:
    """Whether the arrays have the same shape and close values (compared by
    value: the dtypes may differ)"""
    if isinstance(first, _backend.TorchTensor):
        if first.shape != second.shape:
            return False
        dtype = _backend.torch.promote_types(first.dtype, second.dtype)
        return _backend.torch.allclose(
            first.to(dtype), second.to(dtype), rtol=rtol, atol=atol, equal_nan=equal_nan
        )
    _check_numpy(first)
    if first.shape != second.shape:
        return False
    return bool(np.allclose(first, second, rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(first: Array, second: Array) -> bool:
    """Whether the arrays have the same shape and values (compared by value: the
    dtypes may differ)"""
    if isinstance(first, _backend.TorchTensor):
        if first.shape != second.shape:
            return False
        dtype = _backend.torch.promote_types(first.dtype, second.dtype)
        return bool(_backend.torch.equal(first.to(dtype), second.to(dtype)))
    _check_numpy(first)
    return bool(np.array_equal(first, second))


# ================================================================================ #
# creation operations: add functions below this line


def new_like(array: Array, kind: str, requires_grad: bool = False) -> Array:
    """A new array with the shape, dtype, device and backend of ``array``, made of
    zeros, ones, uninitialised values (``kind="empty"``) or values drawn
    uniformly in [0, 1) (``kind="uniform"``)"""
    if isinstance(array, _backend.TorchTensor):
        if kind == "zeros":
            result = _backend.torch.zeros_like(array)
        elif kind == "ones":
            result = _backend.torch.ones_like(array)
        elif kind == "empty":
            result = _backend.torch.empty_like(array)
        else:
            result = _backend.torch.rand_like(array)
        return result.requires_grad_(requires_grad)
    _check_numpy(array)
    if requires_grad:
        raise ValueError("`requires_grad=True` is only possible with torch arrays")
    if kind == "zeros":
        return np.zeros_like(array)
    elif kind == "ones":
        return np.ones_like(array)
    elif kind == "empty":
        return np.empty_like(array)
    return np.random.default_rng().random(array.shape).astype(array.dtype)


def range_like(end: int, like: Array) -> Array:
    """Label values ``[[0], [1], ..., [end - 1]]`` (int32), with the backend and
    device of ``like``"""
    if isinstance(like, _backend.TorchTensor):
        values = _backend.torch.arange(end, dtype=_backend.torch.int32)
        return values.reshape(-1, 1).to(like.device)
    _check_numpy(like)
    return np.arange(end, dtype=np.int32).reshape(-1, 1)


def grid_like(sizes: List[int], like: Array) -> Array:
    """Label values numbering every entry of an array of shape ``sizes``, in C
    order: a ``(prod(sizes), len(sizes))`` int32 array (one row per entry), with
    the backend and device of ``like``"""
    if isinstance(like, _backend.TorchTensor):
        ranges: List[_backend.torch.Tensor] = []
        for size in sizes:
            ranges.append(_backend.torch.arange(size, dtype=_backend.torch.int32))
        grids = _backend.torch.meshgrid(ranges, indexing="ij")
        values = _backend.torch.stack(grids, dim=-1).reshape(-1, len(sizes))
        return values.to(like.device)
    _check_numpy(like)
    grids = np.indices(sizes, dtype=np.int32)
    return np.ascontiguousarray(grids.reshape(len(sizes), -1).T)


# ================================================================================ #
# math operations: add functions below this line


def rows_for_gradient(values: Array, sample: Array, n_extra: int) -> Array:
    """``values[sample]`` with ``n_extra`` axes of size one after the first, to
    broadcast against gradient values with ``n_extra`` gradient components"""
    selected = take(values, sample, 0)
    shape: List[int] = [selected.shape[0]]
    for _ in range(n_extra):
        shape.append(1)
    for size in selected.shape[1:]:
        shape.append(size)
    return selected.reshape(shape)


def real(array: Array) -> Array:
    if isinstance(array, _backend.TorchTensor):
        return _backend.torch.real(array)
    _check_numpy(array)
    return np.real(array)


def conj(array: Array) -> Array:
    if isinstance(array, _backend.TorchTensor):
        return _backend.torch.conj(array)
    _check_numpy(array)
    return np.conj(array)


def is_complex(array: Array) -> bool:
    if isinstance(array, _backend.TorchTensor):
        return array.is_complex()
    _check_numpy(array)
    return np.iscomplexobj(array)


# ================================================================================ #
# reductions: add functions below this line


def unique_rows(values: Array) -> Tuple[Array, Array]:
    """The distinct rows of the 2-D integer array ``values``, sorted, and for each
    row of ``values`` the (int64) position of its row in the result"""
    # sort the rows, then start a new group where a row differs from the previous
    # one (torch.unique(dim=0) is much slower on CPU)
    n_rows = values.shape[0]
    if isinstance(values, _backend.TorchTensor):
        torch = _backend.torch
        if n_rows == 0 or values.shape[1] == 0:
            inverse = torch.zeros(n_rows, dtype=torch.int64, device=values.device)
            return values[: min(n_rows, 1)], inverse
        order = argsort_rows(values, False)
        ordered = values[order]
        new_group = torch.ones(n_rows, dtype=torch.bool, device=values.device)
        new_group[1:] = (ordered[1:] != ordered[:-1]).any(dim=1)
        inverse = torch.empty(n_rows, dtype=torch.int64, device=values.device)
        inverse[order] = torch.cumsum(new_group, 0) - 1
        return ordered[new_group], inverse
    _check_numpy(values)
    if values.shape[1] == 0:
        if n_rows == 0:
            return values[:0], np.zeros(0, dtype=np.int64)
        return values[:1], np.zeros(n_rows, dtype=np.int64)
    order = np.lexsort(values.T[::-1])
    ordered = values[order]
    new_group = np.empty(n_rows, dtype=bool)
    new_group[:1] = True
    np.any(ordered[1:] != ordered[:-1], axis=1, out=new_group[1:])
    inverse = np.empty(n_rows, dtype=np.int64)
    inverse[order] = np.cumsum(new_group) - 1
    return ordered[new_group], inverse


def sum_rows(values: Array, index: Array, n_rows: int) -> Array:
    """``result[index[i]] += values[i]``: sum the rows of ``values`` in ``n_rows``
    groups given by the int64 ``index``, in the order of the rows (for numpy, the
    sum of one group is bit-identical to ``np.sum`` over its rows)"""
    if isinstance(values, _backend.TorchTensor):
        shape = [n_rows] + list(values.shape[1:])
        result = _backend.torch.zeros(shape, dtype=values.dtype, device=values.device)
        return result.index_add(0, index.to(values.device), values)
    _check_numpy(values)
    result = np.zeros((n_rows,) + values.shape[1:], dtype=values.dtype)
    np.add.at(result, index, values)
    return result


def counts(index: Array, n_rows: int, like: Array) -> Array:
    """Number of entries of ``index`` equal to each of ``0 .. n_rows - 1``, with
    the dtype, device and backend of ``like``"""
    if isinstance(like, _backend.TorchTensor):
        result = _backend.torch.bincount(index.to(like.device), minlength=n_rows)
        return result.to(like.dtype)
    _check_numpy(like)
    return np.bincount(index, minlength=n_rows).astype(like.dtype)


def zeros_index(n: int, like: Array) -> Array:
    """``n`` int64 zeros, with the backend and device of ``like``"""
    if isinstance(like, _backend.TorchTensor):
        return _backend.torch.zeros(n, dtype=_backend.torch.int64, device=like.device)
    _check_numpy(like)
    return np.zeros(n, dtype=np.int64)


def select_columns(values: Array, columns: List[int]) -> Array:
    """The given columns of a 2-D array, as a new contiguous array"""
    if isinstance(values, _backend.TorchTensor):
        index = _backend.torch.tensor(columns, dtype=_backend.torch.int64)
        return _backend.torch.index_select(values, 1, index.to(values.device))
    _check_numpy(values)
    return np.ascontiguousarray(values[:, columns])


def with_first_column(values: Array, column: Array) -> Array:
    """A copy of the 2-D integer array ``values`` with its first column replaced"""
    if isinstance(values, _backend.TorchTensor):
        result = values.clone()
        if not isinstance(column, _backend.TorchTensor):
            column = _backend.torch.from_numpy(column)
        result[:, 0] = column.to(device=values.device, dtype=values.dtype)
        return result
    _check_numpy(values)
    if isinstance(column, _backend.TorchTensor):
        column = column.cpu().numpy()
    result = values.copy()
    result[:, 0] = column
    return result


def sqrt(array: Array) -> Array:
    if isinstance(array, _backend.TorchTensor):
        return _backend.torch.sqrt(array)
    _check_numpy(array)
    return np.sqrt(array)


def moveaxis(array: Array, source: int, destination: int) -> Array:
    if isinstance(array, _backend.TorchTensor):
        return _backend.torch.movedim(array, source, destination)
    _check_numpy(array)
    return np.moveaxis(array, source, destination)


def to_index(index: Array, like: Array) -> Array:
    """The int64 ``index`` as an array of the backend of ``like``"""
    if isinstance(like, _backend.TorchTensor):
        if not isinstance(index, _backend.TorchTensor):
            index = _backend.torch.from_numpy(index)
        return index.to(device=like.device, dtype=_backend.torch.int64)
    if isinstance(index, _backend.TorchTensor):
        index = index.cpu().numpy()
    return index.astype(np.int64)


# ================================================================================ #
# manipulation operations: add functions below this line


def index_like(indices: List[int], like: Array) -> Array:
    """The positions ``indices`` as a 1-D int64 array, with the backend and device
    of ``like``"""
    if isinstance(like, _backend.TorchTensor):
        return _backend.torch.tensor(
            indices, dtype=_backend.torch.int64, device=like.device
        )
    _check_numpy(like)
    return np.array(indices, dtype=np.int64).reshape(-1)


def int_column_like(values: Union[int, Array], n: int, like: Array) -> Array:
    """A 1-D int32 column of ``n`` label values: ``values`` itself, or the integer
    ``values`` repeated, with the backend and device of ``like``"""
    if isinstance(like, _backend.TorchTensor):
        if isinstance(values, int):
            return _backend.torch.full(
                [n], values, dtype=_backend.torch.int32, device=like.device
            )
        if not isinstance(values, _backend.TorchTensor):
            values = _backend.torch.from_numpy(values)
        return values.to(device=like.device, dtype=_backend.torch.int32)
    _check_numpy(like)
    if isinstance(values, int):
        return np.full(n, values, dtype=np.int32)
    if isinstance(values, _backend.TorchTensor):
        values = values.cpu().numpy()
    return np.asarray(values)


def to_int_list(array: Array) -> List[int]:
    """The values of a 1-D integer array as a list"""
    if isinstance(array, _backend.TorchTensor):
        # TorchScript's tolist needs int64 data to give List[int]
        values: List[int] = array.to(_backend.torch.int64).tolist()
        return values
    _check_numpy(array)
    return [int(value) for value in array]


def size(array: Array) -> int:
    """Number of elements in ``array``"""
    if isinstance(array, _backend.TorchTensor):
        return array.numel()
    _check_numpy(array)
    return int(array.size)


def inverse_mapping(positions: Array, n: int) -> Array:
    """int64 array of size ``n``: ``result[positions[i]] = i``, -1 elsewhere"""
    if isinstance(positions, _backend.TorchTensor):
        positions = positions.to(_backend.torch.int64)
        result = _backend.torch.full(
            [n], -1, dtype=_backend.torch.int64, device=positions.device
        )
        result[positions] = _backend.torch.arange(
            positions.shape[0], dtype=_backend.torch.int64, device=positions.device
        )
        return result
    _check_numpy(positions)
    result = np.full(n, -1, dtype=np.int64)
    result[positions.astype(np.int64)] = np.arange(len(positions))
    return result


def nonzero(mask: Array) -> Array:
    """Positions (int64) where the 1-D ``mask`` is true"""
    if isinstance(mask, _backend.TorchTensor):
        return _backend.torch.nonzero(mask).reshape(-1)
    _check_numpy(mask)
    return np.flatnonzero(mask)


def assign_columns(output: Array, rows: Array, start: int, values: Array):
    """``output[rows, ..., start:start + n] = values``, with ``n`` the size of the
    last axis of ``values`` and ``rows`` an int64 array"""
    stop = start + values.shape[-1]
    if isinstance(output, _backend.TorchTensor):
        if not isinstance(rows, _backend.TorchTensor):
            rows = _backend.torch.from_numpy(rows)
        index = rows.to(device=output.device, dtype=_backend.torch.int64)
        output[index, ..., start:stop] = values
        return
    _check_numpy(output)
    if isinstance(rows, _backend.TorchTensor):
        rows = rows.cpu().numpy()
    output[rows, ..., start:stop] = values


def argsort_rows(values: Array, descending: bool) -> Array:
    """The (int64) permutation sorting the rows of the 2-D ``values``
    lexicographically; stable"""
    if isinstance(values, _backend.TorchTensor):
        order = _backend.torch.arange(
            values.shape[0], dtype=_backend.torch.int64, device=values.device
        )
        for column in range(values.shape[1] - 1, -1, -1):
            keys = values[order, column]
            order = order[
                _backend.torch.argsort(keys, stable=True, descending=descending)
            ]
        return order
    _check_numpy(values)
    if values.shape[1] == 0:
        return np.arange(values.shape[0], dtype=np.int64)
    if descending:
        # stable descending order: sort the negated keys (int64: no overflow)
        return np.lexsort(-values.T[::-1].astype(np.int64)).astype(np.int64)
    return np.lexsort(values.T[::-1]).astype(np.int64)


def searchsorted_positions(sorted_values: Array, queries: Array) -> Array:
    """Positions (int64) of ``queries`` in the sorted 1-D ``sorted_values``"""
    if isinstance(sorted_values, _backend.TorchTensor):
        return _backend.torch.searchsorted(sorted_values, queries.contiguous())
    _check_numpy(sorted_values)
    return np.searchsorted(sorted_values, queries).astype(np.int64)


def arange_index(n: int, like: Array) -> Array:
    """``0 .. n - 1`` (int64), with the backend and device of ``like``"""
    if isinstance(like, _backend.TorchTensor):
        return _backend.torch.arange(n, dtype=_backend.torch.int64, device=like.device)
    _check_numpy(like)
    return np.arange(n, dtype=np.int64)


def clip_index(index: Array, n: int) -> Array:
    """``index`` limited to ``0 .. n - 1``"""
    if isinstance(index, _backend.TorchTensor):
        return _backend.torch.clamp(index, 0, max(n - 1, 0))
    _check_numpy(index)
    return np.clip(index, 0, max(n - 1, 0))


def one_hot(positions: Array, n: int, like: Array) -> Array:
    """int32 array of shape ``(len(positions), n)`` with ones at ``positions``"""
    if isinstance(like, _backend.TorchTensor):
        result = _backend.torch.zeros(
            [positions.shape[0], n], dtype=_backend.torch.int32, device=like.device
        )
        rows = _backend.torch.arange(positions.shape[0], device=like.device)
        result[rows, positions.to(like.device)] = 1
        return result
    _check_numpy(like)
    result = np.zeros((positions.shape[0], n), dtype=np.int32)
    result[np.arange(positions.shape[0]), positions] = 1
    return result


def detach(array: Array) -> Array:
    """``array`` without autograd history (numpy arrays are returned as is)"""
    if isinstance(array, _backend.TorchTensor):
        return array.detach()
    _check_numpy(array)
    return array


def requires_grad(array: Array, value: bool) -> Array:
    """Set the torch autograd flag of ``array``; numpy arrays can not"""
    if isinstance(array, _backend.TorchTensor):
        return array.requires_grad_(value)
    _check_numpy(array)
    if value:
        raise ValueError("`requires_grad=True` is only possible with torch arrays")
    return array


def make_contiguous(array: Array) -> Array:
    """``array`` in contiguous (C-order) memory, copied only if needed"""
    if isinstance(array, _backend.TorchTensor):
        return array.contiguous()
    _check_numpy(array)
    return np.ascontiguousarray(array)


def is_contiguous(array: Array) -> bool:
    """Whether ``array`` is in contiguous (C-order) memory"""
    if isinstance(array, _backend.TorchTensor):
        return array.is_contiguous()
    _check_numpy(array)
    return bool(array.flags["C_CONTIGUOUS"])


# ================================================================================ #
# checks and linear algebra: add functions below this line


def device_name(array: Array) -> str:
    """The device ``array`` lives on, as a string (always ``"cpu"`` for numpy)"""
    if isinstance(array, _backend.TorchTensor):
        return str(array.device)
    _check_numpy(array)
    return "cpu"


def lstsq(X: Array, Y: Array, rcond: Optional[float], driver: Optional[str]) -> Array:
    """Least-squares solution ``W`` of ``X @ W = Y`` for 2-D ``X`` and ``Y``"""
    if isinstance(X, _backend.TorchTensor):
        result = _backend.torch.linalg.lstsq(X, Y, rcond=rcond, driver=driver)
        return result.solution
    _check_numpy(X)
    return np.linalg.lstsq(X, Y, rcond=rcond)[0]


def solve(X: Array, Y: Array) -> Array:
    """Solution ``W`` of ``X @ W = Y`` for a square 2-D ``X``"""
    if isinstance(X, _backend.TorchTensor):
        return _backend.torch.linalg.solve(X, Y)
    _check_numpy(X)
    return np.linalg.solve(X, Y)


def dot(first: Array, second: Array) -> Array:
    """``first @ second.T`` over the last axis of ``first`` (any number of
    leading axes) and a 2-D ``second``"""
    if isinstance(first, _backend.TorchTensor):
        return first @ second.T
    _check_numpy(first)
    return first @ second.T
