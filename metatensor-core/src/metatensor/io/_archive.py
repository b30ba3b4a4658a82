"""Reading blocks and maps out of an archive, whether it is read by our own zip
reader (native format) or by :py:func:`numpy.load` (``use_numpy=True``).

Gradient parameters are found from the member names
(``<prefix>gradients/<parameter>/values.npy``) and sorted, so loading never
depends on the order of the members.
"""

import json
import zipfile

import numpy as np

from .._block import TensorBlock
from .._labels import Labels
from .._tensor import TensorMap
from . import _npy
from ._npy import format_error
from ._zip import ZipReader

# Labels with at most this many values are shared between the blocks of a map when
# they are identical (components and properties usually are)
_CACHED_LABELS_SIZE = 4096


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
        array = _npy.read_array(member, copy=self._copy)
        member.finish()
        return array

    def labels(self, name: str) -> Labels:
        member = self._reader.open(name + ".npy")
        names, values = _npy.read_labels(member)
        member.finish()
        if values.size > _CACHED_LABELS_SIZE:
            return Labels(names, values)
        # identical Labels are shared, which saves building and checking them again
        key = (tuple(names), values.tobytes())
        labels = self._labels.get(key)
        if labels is None:
            labels = self._labels[key] = Labels(names, values)
        return labels

    def info(self):
        if "info.json" not in self._reader:
            return None
        return self._reader.read("info.json")


class NumpyArchive:
    """Members of an archive read with :py:func:`numpy.load`"""

    def __init__(self, npz):
        self._npz = npz

    def names(self):
        return list(self._npz.files)

    def __contains__(self, name: str) -> bool:
        return name in self._npz.files

    def _get(self, name: str):
        if name not in self._npz.files:
            raise format_error(f"specified file not found in archive: at '{name}.npy'")
        try:
            return self._npz[name]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise format_error(f"failed to read '{name}.npy' with numpy: {e}") from e

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
        return Labels(list(fields), values)

    def info(self):
        if "info.json" not in self._npz.files:
            return None
        return self._npz.zip.read("info.json")


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


def _read_block(archive, parameters, prefix, properties, create_array):
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

    block = TensorBlock(create_array(values), samples, components, properties)
    for parameter in parameters.get(prefix, ()):
        gradient = _read_block(
            archive,
            parameters,
            f"{prefix}gradients/{parameter}/",
            properties,
            create_array,
        )
        block.add_gradient(parameter, gradient)
    return block


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
        try:
            info = json.loads(info)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise format_error(f"invalid JSON in 'info.json': {e}") from e
        if not isinstance(info, dict):
            raise format_error("'info.json' must contain a JSON object")
        for key, value in info.items():
            if not isinstance(value, str):
                raise format_error(
                    f"'info.json' values must be strings, got {type(value).__name__} "
                    f"for {key!r}"
                )
            tensor.set_info(key, value)
    return tensor


def read_block(archive, create_array) -> TensorBlock:
    parameters = _gradient_parameters(archive.names())
    return _read_block(archive, parameters, "", None, create_array)
