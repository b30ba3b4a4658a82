"""Array-level operations on numpy arrays and torch tensors.

Every function here takes and returns raw arrays (``numpy.ndarray`` or
``torch.Tensor``), never Labels, TensorBlock or TensorMap, so that the rest of the
package is written once for both kinds of arrays. torch is never imported by this
module: a tensor can only exist if the user imported torch already, so we look it up
in ``sys.modules``.
"""

import sys

import numpy as np


def torch_module():
    """The torch module if it was imported, else None"""
    return sys.modules.get("torch")


def is_torch(array) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(array, torch.Tensor)


def is_array(array) -> bool:
    return isinstance(array, np.ndarray) or is_torch(array)


def _unsupported(array):
    return TypeError(
        "expected a numpy ndarray or a torch Tensor, "
        f"got {type(array).__module__}.{type(array).__name__}"
    )


def backend(array) -> str:
    """``"numpy"`` or ``"torch"``"""
    if isinstance(array, np.ndarray):
        return "numpy"
    elif is_torch(array):
        return "torch"
    raise _unsupported(array)


def device(array):
    """The device of ``array``: ``"cpu"`` for numpy, a ``torch.device`` for torch"""
    if isinstance(array, np.ndarray):
        return "cpu"
    elif is_torch(array):
        return array.device
    raise _unsupported(array)


def same_device(first, second) -> bool:
    """Compare two devices as returned by :py:func:`device`"""
    return str(first) == str(second)


def dtype_name(dtype) -> str:
    """Short name of a numpy or torch dtype, as upstream prints them: kind and
    bits (``f64``, ``i32``, ``u8``, ``c128``, ``b8``)"""
    torch = torch_module()
    if torch is not None and isinstance(dtype, torch.dtype):
        if dtype.is_complex:
            kind = "c"
        elif dtype.is_floating_point:
            kind = "f"
        elif dtype == torch.bool:
            kind = "b"
        else:
            kind = "u" if dtype == torch.uint8 or not dtype.is_signed else "i"
        return f"{kind}{dtype.itemsize * 8}"
    dtype = np.dtype(dtype)
    return f"{dtype.kind}{dtype.itemsize * 8}"


def copy(array):
    """A deep copy of ``array``, keeping autograd history for torch"""
    if isinstance(array, np.ndarray):
        return array.copy()
    elif is_torch(array):
        return array.clone()
    raise _unsupported(array)


def to_numpy(array) -> np.ndarray:
    """``array`` as a numpy array on the CPU (sharing memory when possible)"""
    if isinstance(array, np.ndarray):
        return array
    elif is_torch(array):
        return array.detach().cpu().numpy()
    raise _unsupported(array)


def _numpy_dtype(dtype):
    """Convert a torch dtype to the numpy one (numpy dtypes pass through)"""
    torch = torch_module()
    if torch is not None and isinstance(dtype, torch.dtype):
        if dtype is torch.bfloat16:
            raise TypeError("numpy has no bfloat16 dtype, use torch arrays for it")
        return torch.empty(0, dtype=dtype).numpy().dtype
    return np.dtype(dtype)


def _torch_dtype(dtype):
    """Convert a numpy dtype to the torch one (torch dtypes pass through)"""
    torch = torch_module()
    if isinstance(dtype, torch.dtype):
        return dtype
    return torch.from_numpy(np.empty(0, dtype=dtype)).dtype


def to(array, *, arrays=None, dtype=None, device=None, non_blocking=False):
    """Convert ``array`` to another backend (``arrays="numpy"`` or ``"torch"``),
    dtype or device; returns ``array`` itself when nothing changes"""
    if arrays is None:
        arrays = backend(array)
    if arrays == "numpy":
        if device is not None and str(device) != "cpu":
            raise ValueError(
                f"can not move numpy array to non-cpu device: {device}; numpy arrays "
                "can only be on the 'cpu' device"
            )
        array = to_numpy(array)
        if dtype is not None:
            dtype = _numpy_dtype(dtype)
            if array.dtype != dtype:
                array = array.astype(dtype)
        return array
    elif arrays == "torch":
        import torch  # the user asked for torch arrays

        if isinstance(array, np.ndarray):
            array = torch.from_numpy(array)
        if dtype is not None:
            dtype = _torch_dtype(dtype)
        if dtype is not None or device is not None:
            array = array.to(dtype=dtype, device=device, non_blocking=non_blocking)
        return array
    raise ValueError(f"`arrays` must be 'numpy' or 'torch', got {arrays!r}")


def full(shape, fill_value, like):
    """An array of ``shape`` filled with ``fill_value``, with the dtype, device and
    backend of ``like``"""
    if isinstance(like, np.ndarray):
        return np.full(shape, fill_value, dtype=like.dtype)
    elif is_torch(like):
        torch = torch_module()
        return torch.full(shape, fill_value, dtype=like.dtype, device=like.device)
    raise _unsupported(like)


def concatenate(arrays, axis: int):
    """Concatenate arrays of the same backend along ``axis``"""
    if isinstance(arrays[0], np.ndarray):
        return np.concatenate(arrays, axis=axis)
    elif is_torch(arrays[0]):
        return torch_module().cat(arrays, dim=axis)
    raise _unsupported(arrays[0])


def index_for(array, indices: np.ndarray):
    """Convert the int64 numpy ``indices`` to something that indexes ``array``"""
    if isinstance(array, np.ndarray):
        return indices
    return torch_module().from_numpy(indices).to(array.device)


def permute(array, axes):
    """Reorder the axes of ``array`` (numpy ``transpose`` / torch ``permute``)"""
    if isinstance(array, np.ndarray):
        return array.transpose(axes)
    elif is_torch(array):
        return array.permute(axes)
    raise _unsupported(array)


def _moveaxis_last_to_1(array):
    if isinstance(array, np.ndarray):
        return np.moveaxis(array, -1, 1)
    return array.movedim(-1, 1)


def assign(out, rows, columns, values):
    """``out[rows, ..., columns] = values``, where ``rows`` and ``columns`` are
    slices or 1-D int64 numpy arrays selecting along the first and last axes"""
    row_slice = isinstance(rows, slice)
    column_slice = isinstance(columns, slice)
    if not row_slice:
        rows = index_for(out, rows)
    if not column_slice:
        columns = index_for(out, columns)
    if row_slice or column_slice:
        out[rows, ..., columns] = values
    else:
        # two advanced indices separated by the components: their broadcast
        # dimensions (rows, columns) come first in the indexed result
        out[rows[:, None], ..., columns[None, :]] = _moveaxis_last_to_1(values)


def take_rows(array, rows: np.ndarray):
    """``array[rows]`` for a 1-D int64 numpy array of ``rows``"""
    return array[index_for(array, rows)]
