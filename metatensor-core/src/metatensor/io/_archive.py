"""Reading blocks and maps out of an archive, whether it is read by our own zip
reader (native format) or by :py:func:`numpy.load` (``use_numpy=True``).

Gradient parameters are found from the member names
(``<prefix>gradients/<parameter>/values.npy``) and sorted, so loading never
depends on the order of the members.

Every problem in the content of a member is reported as a
:py:class:`MetatensorError` naming the member (``serialization format error: in
'blocks/0/values.npy': ...``).
"""

import contextlib
import json
import struct
import tokenize
import zipfile
import zlib

import numpy as np

from .._block import TensorBlock
from .._errors import MetatensorError
from .._labels import Labels
from .._tensor import TensorMap
from . import _npy
from ._npy import format_error
from ._zip import MAX_DEFLATE_RATIO, ZipReader, check_inflation

# Labels with at most this many values are shared between the blocks of a map when
# they are identical (components and properties usually are)
_CACHED_LABELS_SIZE = 4096

#: gradients can be nested at most this many levels deep (gradients of gradients
#: are two levels)
MAX_GRADIENT_DEPTH = 16

_FORMAT_PREFIX = "serialization format error: "

#: what numpy and zipfile raise for malformed archives (zipfile raises
#: NotImplementedError for unknown versions and compression methods, RuntimeError
#: for encrypted members and the errors of zlib and struct for corrupted data;
#: numpy raises OverflowError for huge shapes, and the errors of `tokenize` and
#: `ast` for some invalid headers)
NUMPY_ERRORS = (
    ValueError,
    OverflowError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    NotImplementedError,
    RuntimeError,
    SyntaxError,
    tokenize.TokenError,
)


@contextlib.contextmanager
def in_member(name: str):
    """Report the errors raised inside this context (:py:class:`MetatensorError`,
    or the :py:class:`ValueError` of invalid gradient parameters) as format errors
    in member ``name`` of the archive"""
    try:
        yield
    except ValueError as error:
        message = str(error)
        if message.startswith(_FORMAT_PREFIX):
            message = message[len(_FORMAT_PREFIX) :]
        raise format_error(f"in '{name}': {message}") from error


class NativeArchive:
    """Members of an archive read with our own zip reader; names are given without
    the ``.npy`` extension"""

    def __init__(self, reader: ZipReader, copy: bool):
        self._reader = reader
        self._copy = copy
        self._labels = {}

    def names(self):
        return [name[:-4] for name in self._reader.names() if name.endswith(".npy")]

    def __contains__(self, name: str) -> bool:
        return name + ".npy" in self._reader

    def array(self, name: str) -> np.ndarray:
        member = self._reader.open(name + ".npy")
        with in_member(name + ".npy"):
            array = _npy.read_array(member, copy=self._copy)
        member.finish()
        return array

    def labels(self, name: str) -> Labels:
        member = self._reader.open(name + ".npy")
        with in_member(name + ".npy"):
            names, values = _npy.read_labels(member)
        member.finish()
        if values.size > _CACHED_LABELS_SIZE:
            with in_member(name + ".npy"):
                return Labels(names, values)
        # identical Labels are shared, which saves building and checking them again
        key = (tuple(names), values.tobytes())
        labels = self._labels.get(key)
        if labels is None:
            with in_member(name + ".npy"):
                labels = self._labels[key] = Labels(names, values)
        return labels

    def info(self):
        if "info.json" not in self._reader:
            return None
        return self._reader.read("info.json")


class NumpyArchive:
    """Members of an archive read with :py:func:`numpy.load`.

    Before numpy reads a member, its NPY header is checked against the size of the
    member, and DEFLATE members against the limits of
    :py:class:`metatensor.io._zip.InflationBudget`: numpy allocates the array the
    header declares before reading the data.
    """

    def __init__(self, npz, archive_size: int):
        self._npz = npz
        budget = MAX_DEFLATE_RATIO * archive_size
        for info in npz.zip.infolist():
            if info.compress_type == zipfile.ZIP_DEFLATED:
                check_inflation(info.filename, info.file_size, info.compress_size)
                budget -= info.file_size
        if budget < 0:
            raise format_error(
                "the compressed members of this archive inflate to more than "
                f"{MAX_DEFLATE_RATIO} times the archive size, which non-overlapping "
                "members can not do: the archive is corrupted (or a decompression "
                "bomb)"
            )

    def _check_header(self, name: str):
        """Check that the data declared by the NPY header of member ``name`` fits
        in the member"""
        info = self._npz.zip.getinfo(name + ".npy")
        with self._npz.zip.open(info) as member:
            if np.lib.format.read_magic(member) == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            data_size = info.file_size - member.tell()
        nbytes = dtype.itemsize
        for extent in shape:
            nbytes *= extent
        if nbytes > data_size:
            raise format_error(
                f"invalid NPY file: expected {nbytes} bytes of data, but only "
                f"{data_size} are left"
            )

    def names(self):
        return list(self._npz.files)

    def __contains__(self, name: str) -> bool:
        return name in self._npz.files

    def _get(self, name: str):
        if name not in self._npz.files:
            raise format_error(f"specified file not found in archive: at '{name}.npy'")
        with in_member(name + ".npy"):
            try:
                self._check_header(name)
                return self._npz[name]
            except NUMPY_ERRORS as e:
                if isinstance(e, MetatensorError):
                    raise
                raise format_error(f"numpy could not read it: {e}") from e

    def array(self, name: str) -> np.ndarray:
        array = self._get(name)
        if not isinstance(array, np.ndarray) or array.dtype.names is not None:
            raise format_error(f"'{name}.npy' does not contain a numeric array")
        if not _npy.is_supported(array.dtype):
            # only the types the native format supports
            raise format_error(
                f"unsupported data type '{array.dtype.str}' in '{name}.npy'"
            )
        return np.ascontiguousarray(array)

    def labels(self, name: str) -> Labels:
        array = self._get(name)
        fields = getattr(array, "dtype", np.dtype(np.uint8)).names
        if not fields or array.ndim != 1:
            raise format_error(
                f"'{name}.npy' does not contain Labels (a 1-D structured array)"
            )
        values = np.empty((len(array), len(fields)), dtype=np.int32)
        for i, field in enumerate(fields):
            column = array[field]
            if column.dtype.kind != "i" or column.dtype.itemsize != 4:
                raise format_error(
                    f"Labels in '{name}.npy' must be 32-bit integers, got "
                    f"{column.dtype} for '{field}'"
                )
            values[:, i] = column
        with in_member(name + ".npy"):
            return Labels(list(fields), values)

    def info(self):
        if "info.json" not in self._npz.files:
            return None
        with in_member("info.json"):
            try:
                return self._npz.zip.read("info.json")
            except NUMPY_ERRORS as e:
                raise format_error(f"zipfile could not read it: {e}") from e


def _gradient_parameters(names) -> dict:
    """Map the prefix of each block in the archive (``""``, ``"blocks/3/"``,
    ``"blocks/3/gradients/positions/"``) to its sorted gradient parameters, found
    from the ``<prefix>gradients/<parameter>/{values,samples}`` member names (a
    gradient with only one of them is reported as a missing member)"""
    parameters = {}
    for name in names:
        if name.endswith("/values"):
            head = "/" + name[: -len("/values")]
        elif name.endswith("/samples"):
            head = "/" + name[: -len("/samples")]
        else:
            continue
        start = head.rfind("/gradients/")
        if start < 0:
            continue
        parent = head[1 : start + 1]
        parameters.setdefault(parent, set()).add(head[start + len("/gradients/") :])
    return {parent: sorted(values) for parent, values in parameters.items()}


def _read_block(archive, parameters, prefix, properties, create_array, depth=0):
    if depth > MAX_GRADIENT_DEPTH:
        raise format_error(
            f"in '{prefix}': gradients are nested more than {MAX_GRADIENT_DEPTH} "
            "levels deep"
        )
    values = archive.array(prefix + "values")
    if values.ndim < 2:
        raise format_error(
            f"the values in '{prefix}values.npy' must have at least two dimensions, "
            f"got a shape of {values.shape}"
        )
    samples = archive.labels(prefix + "samples")
    components = [
        archive.labels(f"{prefix}components/{i}") for i in range(values.ndim - 2)
    ]
    if properties is None:
        properties = archive.labels(prefix + "properties")

    data = create_array(values)
    with in_member(prefix + "values.npy"):
        block = TensorBlock(data, samples, components, properties)
    for parameter in parameters.get(prefix, ()):
        gradient_prefix = f"{prefix}gradients/{parameter}/"
        gradient = _read_block(
            archive, parameters, gradient_prefix, properties, create_array, depth + 1
        )
        with in_member(gradient_prefix + "values.npy"):
            block.add_gradient(parameter, gradient)
    return block


def _read_info(data: bytes) -> dict:
    """The content of ``info.json``: a JSON object of strings, in UTF-8 (with an
    optional byte order mark)"""
    try:
        info = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise format_error(f"invalid JSON in 'info.json': {e}") from e
    except RecursionError:
        raise format_error(
            "invalid JSON in 'info.json': values are nested too deeply"
        ) from None
    if not isinstance(info, dict):
        raise format_error("'info.json' must contain a JSON object")
    for key, value in info.items():
        if not isinstance(value, str):
            raise format_error(
                f"'info.json' values must be strings, got {type(value).__name__} "
                f"for {key!r}"
            )
        for text in (key, value):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                # JSON can escape lone surrogates, which are not text
                raise format_error(
                    f"invalid JSON in 'info.json': unpaired surrogate in {text!r}"
                ) from None
    return info


def read_tensor(archive, create_array) -> TensorMap:
    keys = archive.labels("keys")
    parameters = _gradient_parameters(archive.names())
    blocks = [
        _read_block(archive, parameters, f"blocks/{i}/", None, create_array)
        for i in range(len(keys))
    ]
    tensor = TensorMap(keys, blocks)

    info = archive.info()
    if info is not None:
        for key, value in _read_info(info).items():
            tensor.set_info(key, value)
    return tensor


def read_block(archive, create_array) -> TensorBlock:
    parameters = _gradient_parameters(archive.names())
    return _read_block(archive, parameters, "", None, create_array)
