"""Loading Labels, TensorBlock and TensorMap from files and buffers written by
metatensor (any version), by numpy (``use_numpy=True``) or by this package.

Every loaded array owns its memory, is writeable and was checked against the CRC32
of its archive member, except with ``mmap=True`` where the arrays are views of a
copy-on-write memory map of the file (and are not checked).
"""

import io
import mmap as _mmap
import os

import numpy as np

from .._block import TensorBlock
from .._errors import MetatensorError
from .._labels import Labels
from .._tensor import TensorMap
from . import _npy
from ._archive import (
    NUMPY_ERRORS,
    NativeArchive,
    NumpyArchive,
    read_block,
    read_tensor,
)
from ._npy import format_error
from ._zip import BufferSource, FileSource, ZipReader, whole_source


def create_numpy_array(array: np.ndarray) -> np.ndarray:
    """``create_array`` callback keeping the loaded arrays as numpy arrays (the
    default of :py:func:`load`).

    Upstream's callbacks receive raw C pointers (shape, DLPack dtype and an
    ``mts_array_t`` to fill), which mean nothing in this pure-Python package: here
    a callback receives the loaded numpy array (C-contiguous, native byte order,
    owning its memory) and returns the array to store in the block.

    :param array: the loaded data
    :return: ``array`` itself
    """
    return array


def create_torch_array(array: np.ndarray):
    """``create_array`` callback turning the loaded arrays into CPU torch tensors,
    sharing memory with the numpy array.

    :param array: the loaded data (see :py:func:`create_numpy_array`)
    :return: a :py:class:`torch.Tensor` over the same memory
    """
    import torch

    return torch.from_numpy(array)


# ================================================================================== #
#                              inputs and error hints                                #
# ================================================================================== #

_ARTICLES = {
    "TensorMap": "a TensorMap",
    "TensorBlock": "a TensorBlock",
    "Labels": "Labels",
}
_LOADERS = {
    ("TensorMap", False): "load",
    ("TensorMap", True): "load_buffer",
    ("TensorBlock", False): "load_block",
    ("TensorBlock", True): "load_block_buffer",
    ("Labels", False): "load_labels",
    ("Labels", True): "load_labels_buffer",
}


def _buffer_source(buffer) -> BufferSource:
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(
            "`buffer` must be a bytes-like object (bytes, bytearray, memoryview, "
            f"...), got {type(buffer).__name__}"
        ) from None
    if not view.c_contiguous:
        raise ValueError("`buffer` must be contiguous in memory")
    return BufferSource(view)


def _path(file):
    """The path in ``file`` as a str, or None if it is not a path"""
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        return os.fsdecode(path) if isinstance(path, bytes) else path
    return None


def _check_file(file):
    if _path(file) is None and not hasattr(file, "read"):
        hint = ""
        if isinstance(file, (bytes, bytearray, memoryview)):
            hint = ", use the `*_buffer` functions to load from memory"
        raise TypeError(
            "`file` must be a str, a pathlib.Path or a binary file object, "
            f"got {type(file).__name__}{hint}"
        )


def _guess_kind(source, path):
    """What the data seems to contain ("TensorMap", "TensorBlock", "Labels"), or
    None if it is none of them"""
    if bytes(source.read_at(0, 6)) == _npy.MAGIC:
        return "Labels"
    try:
        reader = ZipReader(source, verify=False)
    except MetatensorError:
        reader = None
    if reader is not None:
        if "keys.npy" in reader:
            return "TensorMap"
        elif "values.npy" in reader:
            return "TensorBlock"
    if path is not None and path.endswith(".npy"):
        return "Labels"
    return None


def _hinted(error, kind, source, path, from_buffer):
    """``error`` with a hint towards the right loader when the data seems to hold
    something else than ``kind``; None when there is nothing better to say"""
    try:
        guess = _guess_kind(source, path)
    except (MetatensorError, OSError, ValueError):
        return None
    if guess is None or guess == kind:
        return None
    message = str(error)
    prefix = "serialization format error: "
    if message.startswith(prefix):
        message = message[len(prefix) :]
    if from_buffer:
        origin = "buffer"
    elif path is not None:
        origin = f"'{path}'"
    else:
        origin = "file"
    return format_error(
        f"unable to load {_ARTICLES[kind]} from {origin}, "
        f"use `{_LOADERS[guess, from_buffer]}` to load {guess}: {message}"
    )


def _open(file, from_buffer: bool, mmap: bool):
    """``(source, path, handle)`` for the input: the source to read from, the path
    (or None) and the file handle to close (or None)"""
    if from_buffer:
        return _buffer_source(file), None, None

    _check_file(file)
    path = _path(file)
    if path is None:
        # file objects are read from their current position
        data = file.read()
        if isinstance(data, str):
            raise TypeError("`file` must be opened in binary mode, got a text file")
        return BufferSource(data), None, None

    handle = open(path, "rb")
    if not mmap:
        return FileSource(handle), path, handle
    try:
        mapped = _mmap.mmap(handle.fileno(), 0, access=_mmap.ACCESS_COPY)
    except ValueError as e:
        # mmap refuses empty files
        raise format_error(f"can not memory-map '{path}': {e}") from e
    finally:
        handle.close()
    # arrays over a copy-on-write map are writeable, and writing to them leaves
    # the file untouched
    return BufferSource(mapped, views=True), path, None


def _load(kind, file, from_buffer, use_numpy=False, mmap=False, create_array=None):
    """Shared implementation of all the loaders; ``file`` is a path or a file
    object, or a bytes-like object when ``from_buffer``"""
    if create_array is None:
        create_array = create_numpy_array
    elif not callable(create_array):
        raise TypeError(
            f"`create_array` must be callable, got {type(create_array).__name__}"
        )
    if mmap and (use_numpy or from_buffer or _path(file) is None):
        raise ValueError(
            "`mmap=True` is only supported when loading from a path with the native "
            "format (`use_numpy=False`)"
        )

    source, path, handle = _open(file, from_buffer, mmap)
    try:
        try:
            if kind == "Labels":
                return _load_labels(source)
            elif use_numpy:
                return _load_numpy(kind, source, handle, create_array)
            archive = NativeArchive(ZipReader(source, verify=not mmap), copy=not mmap)
            if kind == "TensorMap":
                return read_tensor(archive, create_array)
            return read_block(archive, create_array)
        except MetatensorError as error:
            hinted = _hinted(error, kind, source, path, from_buffer)
            if hinted is None:
                raise
            raise hinted from error
    finally:
        if handle is not None:
            handle.close()


def _load_labels(source) -> Labels:
    names, values = _npy.read_labels(whole_source(source))
    return Labels(names, values)


def _load_numpy(kind, source, handle, create_array):
    if handle is not None:
        # numpy leaks the files it opens itself when they are not valid archives
        handle.seek(0)
        file = handle
    else:
        # numpy needs a file object; BytesIO copies the data once
        file = io.BytesIO(source.read_at(0, source.size))
    try:
        loaded = np.load(file, allow_pickle=False)
    except NUMPY_ERRORS as e:
        raise format_error(f"numpy could not read this file: {e}") from e

    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise format_error("expected a zip archive, got a single NPY array")
    with loaded:
        archive = NumpyArchive(loaded, source.size)
        required = "keys" if kind == "TensorMap" else "values"
        if required not in archive:
            raise format_error(
                f"specified file not found in archive: at '{required}.npy'"
            )
        if kind == "TensorMap":
            return read_tensor(archive, create_array)
        return read_block(archive, create_array)


# ================================================================================== #
#                                  public functions                                  #
# ================================================================================== #


def load(file, use_numpy: bool = False, *, mmap: bool = False) -> TensorMap:
    """Load a :py:class:`TensorMap` saved with :py:func:`save`.

    Files written by upstream metatensor, by this package or by numpy
    (``use_numpy=True``) are all accepted by both readers; the native reader also
    reads DEFLATE-compressed archives (``numpy.savez_compressed``), inflating each
    member to exactly the size its header declares, at most 1032 times its
    compressed size (what DEFLATE can produce), and all of them together to at
    most 1032 times the archive size. The arrays are numpy arrays on the CPU,
    owning their memory; every member's CRC32 is checked.

    :param file: a path (``str`` or :py:class:`pathlib.Path`) or a binary file
        object, read from its current position
    :param use_numpy: read the archive with :py:func:`numpy.load` (never allowing
        pickles) instead of the native reader
    :param mmap: with a path, memory-map the file instead of reading it: the
        arrays of uncompressed members are writeable views of a copy-on-write map
        (the file is never modified), and checksums are not verified. Not available
        in upstream metatensor. The arrays read the file lazily, for as long as
        they live, so the file must stay as it is: replacing it with
        :py:func:`save` (which writes a new file and renames it over the old one)
        is safe, the map keeps the old content; but a file modified in place by
        another program can change the loaded values, and a file truncated while
        mapped makes the next read of the missing pages kill the process with
        ``SIGBUS``. Use the default ``mmap=False`` for files that others may
        modify.
    :raises MetatensorError: ``serialization format error: ...`` for malformed
        files (the message names the faulty member, and suggests the right loader
        for files holding a TensorBlock or Labels)

    >>> import numpy as np
    >>> import metatensor
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     np.zeros((2, 1)), Labels.range("s", 2), [], Labels.range("p", 1)
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> buffer = metatensor.io.save_buffer(tensor)
    >>> metatensor.io.load_buffer(buffer).block(0).values.shape
    (2, 1)
    """
    return _load("TensorMap", file, False, use_numpy=use_numpy, mmap=mmap)


def load_buffer(buffer, use_numpy: bool = False) -> TensorMap:
    """Load a :py:class:`TensorMap` from an in-memory ``buffer`` (any bytes-like
    object: bytes, bytearray, memoryview, mmap, ...), as created by
    :py:func:`save_buffer`. The arrays are copies: they do not keep ``buffer``
    alive. See :py:func:`load` for the parameters."""
    return _load("TensorMap", buffer, True, use_numpy=use_numpy)


def load_block(file, use_numpy: bool = False, *, mmap: bool = False) -> TensorBlock:
    """Load a :py:class:`TensorBlock` saved with :py:func:`save`; see
    :py:func:`load` for the parameters"""
    return _load("TensorBlock", file, False, use_numpy=use_numpy, mmap=mmap)


def load_block_buffer(buffer, use_numpy: bool = False) -> TensorBlock:
    """Load a :py:class:`TensorBlock` from an in-memory ``buffer``; see
    :py:func:`load_buffer`"""
    return _load("TensorBlock", buffer, True, use_numpy=use_numpy)


def load_labels(file) -> Labels:
    """Load :py:class:`Labels` saved with :py:func:`save` (a single NPY file
    containing a structured array with one int32 field per dimension).

    :param file: a path (``str`` or :py:class:`pathlib.Path`) or a binary file
        object
    """
    return _load("Labels", file, False)


def load_labels_buffer(buffer) -> Labels:
    """Load :py:class:`Labels` from an in-memory ``buffer`` (any bytes-like
    object)"""
    return _load("Labels", buffer, True)


def load_custom_array(path, create_array) -> TensorMap:
    """Load a :py:class:`TensorMap` from ``path``, passing every data array through
    ``create_array``.

    ``create_array`` receives the loaded numpy array and returns the array to store
    in the block, for example :py:func:`create_torch_array`. (Upstream's callbacks
    receive raw C pointers instead; see :py:func:`create_numpy_array`.)

    :param path: a path or a binary file object
    :param create_array: callable taking and returning one array
    """
    return _load("TensorMap", path, False, create_array=create_array)


def load_buffer_custom_array(buffer, create_array) -> TensorMap:
    """Load a :py:class:`TensorMap` from ``buffer`` with a custom array creation
    function; see :py:func:`load_custom_array`"""
    return _load("TensorMap", buffer, True, create_array=create_array)


def load_block_custom_array(path, create_array) -> TensorBlock:
    """Load a :py:class:`TensorBlock` from ``path`` with a custom array creation
    function; see :py:func:`load_custom_array`"""
    return _load("TensorBlock", path, False, create_array=create_array)


def load_block_buffer_custom_array(buffer, create_array) -> TensorBlock:
    """Load a :py:class:`TensorBlock` from ``buffer`` with a custom array creation
    function; see :py:func:`load_custom_array`"""
    return _load("TensorBlock", buffer, True, create_array=create_array)
