"""Saving Labels, TensorBlock and TensorMap, in metatensor's native format or with
numpy (``use_numpy=True``).

The native archives are byte-identical to the ones upstream metatensor writes: see
:py:mod:`metatensor.io._npy` and :py:mod:`metatensor.io._zip` for the layouts, and
SPEC §4a for the member names.
"""

import io
import json
import os
import sys
import warnings
import zipfile

import numpy as np

from .. import _dispatch
from .._block import TensorBlock
from .._errors import MetatensorError
from .._labels import Labels
from .._tensor import TensorMap
from . import _npy
from ._atomic import atomic_file
from ._zip import ZipWriter


def user_stacklevel() -> int:
    """``stacklevel`` for :py:func:`warnings.warn` pointing at the first caller
    outside of the metatensor package (the caller of this function is level 1)"""
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "metatensor" and not module.startswith("metatensor."):
            break
        frame = frame.f_back
        level += 1
    return level


def _data_kind(data) -> str:
    if isinstance(data, TensorMap):
        return "TensorMap"
    elif isinstance(data, TensorBlock):
        return "TensorBlock"
    elif isinstance(data, Labels):
        return "Labels"
    raise TypeError(
        "`data` must be one of 'Labels', 'TensorBlock' or 'TensorMap', "
        f"not {type(data)}"
    )


# torch dtypes with no numpy equivalent, named as upstream's DLPack error does
_TORCH_DLPACK_NAMES = {
    "bfloat16": "code kDLBfloat, bits 16",
    "complex32": "code kDLComplex, bits 32",
    "float8_e4m3fn": "code kDLFloat8_e4m3fn, bits 8",
    "float8_e5m2": "code kDLFloat8_e5m2, bits 8",
    "float8_e4m3fnuz": "code kDLFloat8_e4m3fnuz, bits 8",
    "float8_e5m2fnuz": "code kDLFloat8_e5m2fnuz, bits 8",
}


def _numpy_data(array) -> np.ndarray:
    """``array`` (numpy or torch, any device) as a C-contiguous numpy array in
    native byte order, copied only when needed"""
    if _dispatch.is_torch(array):
        name = str(array.dtype).replace("torch.", "")
        if name in _TORCH_DLPACK_NAMES:
            raise MetatensorError(
                f"unsupported DLPack dtype: {_TORCH_DLPACK_NAMES[name]}"
            )
        array = array.detach().cpu().resolve_conj().resolve_neg().numpy()
    elif not isinstance(array, np.ndarray):
        raise TypeError(
            "can not save arrays which are not numpy ndarray or torch Tensor, "
            f"got {type(array).__module__}.{type(array).__name__}"
        )

    if array.dtype.byteorder not in ("=", "|"):
        array = array.astype(array.dtype.newbyteorder("="))
    return np.ascontiguousarray(array)


def _labels_values(labels: Labels) -> np.ndarray:
    """The values of ``labels`` as a C-contiguous native int32 numpy array"""
    names = labels.names
    if len(names) == 0:
        raise MetatensorError(
            "can not save Labels with zero dimensions (no names): they could not be "
            "loaded back"
        )
    values = labels.values
    if _dispatch.is_torch(values):
        values = values.detach().cpu().numpy()
    return np.ascontiguousarray(values, dtype=np.int32).reshape(-1, len(names))


# ================================================================================== #
#                                   native format                                    #
# ================================================================================== #


def _labels_chunks(labels: Labels):
    values = _labels_values(labels)
    return [_npy.labels_header(labels.names, len(values)), _npy.byte_view(values)]


def _block_members(members: list, prefix: str, block: TensorBlock, gradient: bool):
    values = _numpy_data(block.values)
    header = _npy.array_header(_npy.array_descr(values.dtype), values.shape)
    members.append((prefix + "values.npy", [header, _npy.byte_view(values)]))
    members.append((prefix + "samples.npy", _labels_chunks(block.samples)))
    for i, component in enumerate(block.components):
        members.append((f"{prefix}components/{i}.npy", _labels_chunks(component)))
    if not gradient:
        # gradients share the properties of their parent
        members.append((prefix + "properties.npy", _labels_chunks(block.properties)))

    # upstream (since 0.2.6) writes the gradients sorted by parameter name
    for parameter in sorted(block.gradients_list()):
        _block_members(
            members, f"{prefix}gradients/{parameter}/", block.gradient(parameter), True
        )


def info_json(info: dict) -> bytes:
    """``info.json`` as upstream writes it: sorted keys, 2-space indentation, raw
    UTF-8 and no trailing newline"""
    return json.dumps(info, indent=2, sort_keys=True, ensure_ascii=False).encode()


def native_writer(data):
    """Prepare ``data`` for the native format, returning a function that writes it
    through ``write`` (a function taking a bytes-like object).

    All conversions happen here, so that unsupported data raises before any file is
    created; the arrays are not copied (unless they are not C-contiguous numpy
    arrays in native byte order).
    """
    kind = _data_kind(data)
    if kind == "Labels":
        chunks = _labels_chunks(data)

        def write_labels(write):
            for chunk in chunks:
                write(chunk)

        return write_labels

    members = []
    if kind == "TensorBlock":
        _block_members(members, "", data, False)
    else:
        members.append(("keys.npy", _labels_chunks(data.keys)))
        for i, block in enumerate(data.blocks()):
            _block_members(members, f"blocks/{i}/", block, False)
        info = data.info()
        if info:
            members.append(("info.json", [info_json(info)]))

    def write_archive(write):
        writer = ZipWriter(write)
        for name, chunks in members:
            writer.add(name, chunks)
        writer.finish()

    return write_archive


# ================================================================================== #
#                                    numpy format                                    #
# ================================================================================== #


def _structured_labels(labels: Labels) -> np.ndarray:
    """Labels as a 1-D structured array with one int32 field per dimension"""
    values = _labels_values(labels)
    dtype = np.dtype([(name, np.int32) for name in labels.names])
    return values.view(dtype).reshape(-1)


def _block_arrays(arrays: dict, prefix: str, block: TensorBlock, gradient: bool):
    values = _numpy_data(block.values)
    _npy.array_descr(values.dtype)  # refuse the dtypes the native format refuses
    arrays[prefix + "values"] = values
    arrays[prefix + "samples"] = _structured_labels(block.samples)
    for i, component in enumerate(block.components):
        arrays[f"{prefix}components/{i}"] = _structured_labels(component)
    if not gradient:
        arrays[prefix + "properties"] = _structured_labels(block.properties)
    for parameter in sorted(block.gradients_list()):
        _block_arrays(
            arrays, f"{prefix}gradients/{parameter}/", block.gradient(parameter), True
        )


def write_numpy(file, data):
    """Write ``data`` to ``file`` (a binary file object) the way ``numpy.savez``
    does, with ``info.json`` after the arrays."""
    kind = _data_kind(data)
    if kind == "Labels":
        np.lib.format.write_array(file, _structured_labels(data), allow_pickle=False)
        return

    arrays = {}
    info = {}
    if kind == "TensorBlock":
        _block_arrays(arrays, "", data, False)
    else:
        arrays["keys"] = _structured_labels(data.keys)
        for i, block in enumerate(data.blocks()):
            _block_arrays(arrays, f"blocks/{i}/", block, False)
        info = data.info()

    # this is what `numpy.savez` does, with pickles disabled (numpy < 2.1 has no
    # `allow_pickle` argument for savez)
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
        if info:
            # upstream appends info.json with `json.dumps(indent=2)` in insertion
            # order (not sorted, unlike the native writer)
            with archive.open("info.json", "w", force_zip64=True) as member:
                member.write(json.dumps(info, indent=2).encode())


# ================================================================================== #
#                                  public functions                                  #
# ================================================================================== #


def save(file, data, use_numpy: bool = False):
    """Save ``data`` (:py:class:`Labels`, :py:class:`TensorBlock` or
    :py:class:`TensorMap`) to ``file``.

    The native format (default) is a ZIP archive of NPY files for blocks and maps,
    and a single NPY file for Labels; its bytes are identical to upstream
    metatensor's. Arrays of any numeric dtype are saved (``bool``, integers,
    ``float16/32/64``, ``complex64/128``), torch tensors on any device through a
    copy on the CPU. When ``file`` is a ``str`` or a :py:class:`pathlib.Path` not
    ending in ``.mts``, ``.mts`` is appended with a :py:class:`UserWarning`.

    With ``use_numpy=True`` the archive is written by numpy and zipfile instead (as
    :py:func:`numpy.savez` does), at exactly the given path.

    Files are written atomically: the data goes to a temporary file next to the
    target, which replaces the target once complete and flushed to disk. An
    existing file is never left truncated, even if the process is killed while
    saving, and memory maps of it (``load(..., mmap=True)``) keep their content.

    :param file: a path (``str`` or :py:class:`pathlib.Path`) or a binary file
        object open for writing
    :param data: what to save
    :param use_numpy: use numpy to write the file instead of the native writer
    :raises MetatensorError: for data metatensor can not store (``bfloat16``
        values, Labels without dimensions)

    >>> import io
    >>> import numpy as np
    >>> import metatensor
    >>> file = io.BytesIO()
    >>> metatensor.io.save(file, metatensor.Labels(["a"], np.array([[1], [2]])))
    >>> len(file.getvalue())
    136
    """
    _data_kind(data)
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if use_numpy:
            with atomic_file(path) as output:
                write_numpy(output, data)
            return
        write = native_writer(data)
        if not path.endswith(".mts"):
            path += ".mts"
            warnings.warn(
                f"adding '.mts' extension, the file will be saved at '{path}'",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        with atomic_file(path) as output:
            write(output.write)
    elif hasattr(file, "write"):
        if use_numpy:
            write_numpy(file, data)
        else:
            native_writer(data)(file.write)
    else:
        raise TypeError(
            "`file` must be a str, a pathlib.Path or a binary file object, "
            f"got {type(file).__name__}"
        )


def save_buffer(data, use_numpy: bool = False) -> memoryview:
    """Serialize ``data`` (:py:class:`Labels`, :py:class:`TensorBlock` or
    :py:class:`TensorMap`) to an in-memory buffer, with the same content as
    :py:func:`save` would write to a file.

    :param data: what to serialize
    :param use_numpy: use numpy to write the archive instead of the native writer
    :return: a writable memoryview over a :py:class:`bytearray`

    >>> import numpy as np
    >>> import metatensor
    >>> labels = metatensor.Labels(["a"], np.array([[1], [2]]))
    >>> buffer = metatensor.io.save_buffer(labels)
    >>> bytes(buffer[:6])
    b'\\x93NUMPY'
    """
    _data_kind(data)
    if use_numpy:
        output = io.BytesIO()
        write_numpy(output, data)
        return memoryview(bytearray(output.getbuffer()))

    chunks = []
    native_writer(data)(chunks.append)
    return memoryview(bytearray().join(chunks))
