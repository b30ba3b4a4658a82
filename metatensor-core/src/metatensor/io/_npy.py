"""Reading and writing NPY headers, with metatensor's own spelling.

The NPY format is one magic string (``\\x93NUMPY``), two version bytes, a
little-endian header length (u16 for version 1.0, u32 for 2.0 and 3.0), a header
holding the repr of a Python dict, padded with spaces and one final ``\\n`` so that
the data starts on a multiple of 64 bytes, and then the raw data.

metatensor writes the header dict as::

    { 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 2, ) }
    { 'descr': [('system', '<i4'), ('atom', '<i4'), ], 'fortran_order': False,
      'shape': (4, ) }

(the second one on a single line), with a space inside the braces and every
sequence element followed by ``", "`` (including the last one). The writers below
reproduce this spelling byte for byte; the parser accepts any header numpy or
metatensor can write (v1/v2/v3, keys in any order, single or double quotes, spaces
or tabs).

Nothing in this module knows about zip archives, Labels or blocks: the readers take
a ``member`` object with ``read(n) -> bytes``, ``readinto(memoryview)``,
``remaining() -> int`` and ``view(n) -> memoryview | None`` (see
:py:class:`metatensor.io._zip.MemberReader`).
"""

import functools
import re
import struct
import sys
import typing

import numpy as np

from .._errors import MetatensorError

MAGIC = b"\x93NUMPY"
# the data starts at a multiple of this many bytes
_ALIGNMENT = 64

#: arrays can have at most this many dimensions (numpy's limit)
MAX_DIMENSIONS = 64
#: the data of an array (ignoring its zero-sized axes) can have at most this many
#: bytes, so that every size and stride fits in a signed 64-bit integer
MAX_DATA_BYTES = 1 << 62
# the header dict holds a list of tuples: anything nested deeper is not a header
_MAX_NESTING = 8

# native byte order prefix: the data is always written in native endianness
_NATIVE = "<" if sys.byteorder == "little" else ">"
_SWAPPED = ">" if _NATIVE == "<" else "<"

# (kind, itemsize) pairs of the data types metatensor can store in values.npy
_SUPPORTED_TYPES = {
    ("b", 1),
    ("i", 1),
    ("i", 2),
    ("i", 4),
    ("i", 8),
    ("u", 1),
    ("u", 2),
    ("u", 4),
    ("u", 8),
    ("f", 2),
    ("f", 4),
    ("f", 8),
    ("c", 8),
    ("c", 16),
}


def format_error(message: str) -> MetatensorError:
    """A :py:class:`MetatensorError` for a malformed file, with upstream's prefix"""
    return MetatensorError(f"serialization format error: {message}")


# ================================================================================== #
#                                      writing                                       #
# ================================================================================== #


def _wrap_header(text: str) -> bytes:
    """Magic, version, length and padded ``text``: everything before the data.

    Version 1.0 is used when the header length fits in a u16, 2.0 otherwise. The
    padding follows the NPY specification as numpy implements it: between 1 and 64
    spaces, then ``\\n``, so that the data starts at a multiple of 64 bytes.
    """
    encoded = text.encode("latin1")
    version, prefix_size = 1, 10
    padding = _ALIGNMENT - (prefix_size + len(encoded) + 1) % _ALIGNMENT
    if len(encoded) + padding + 1 > 0xFFFF:
        version, prefix_size = 2, 12
        padding = _ALIGNMENT - (prefix_size + len(encoded) + 1) % _ALIGNMENT
    header_length = len(encoded) + padding + 1
    length_format = "<H" if version == 1 else "<I"

    return b"".join(
        (
            MAGIC,
            bytes((version, 0)),
            struct.pack(length_format, header_length),
            encoded,
            b" " * padding,
            b"\n",
        )
    )


def labels_header(names, count: int) -> bytes:
    """The NPY header of a Labels array with these dimension ``names`` and ``count``
    entries: a 1-D array of a structured dtype with one native int32 field per name.
    """
    fields = "".join(f"('{name}', '{_NATIVE}i4'), " for name in names)
    return _wrap_header(
        f"{{ 'descr': [{fields}], 'fortran_order': False, 'shape': ({count}, ) }}"
    )


def array_header(descr: str, shape) -> bytes:
    """The NPY header of a C-ordered data array"""
    dimensions = "".join(f"{size}, " for size in shape)
    return _wrap_header(
        f"{{ 'descr': '{descr}', 'fortran_order': False, 'shape': ({dimensions}) }}"
    )


def byte_view(array: np.ndarray) -> memoryview:
    """The bytes of a C-contiguous ``array`` as a flat memoryview, without copy"""
    return memoryview(array.reshape(-1).view(np.uint8))


def is_supported(dtype: np.dtype) -> bool:
    """Whether metatensor can store arrays of this ``dtype``"""
    return (dtype.kind, dtype.itemsize) in _SUPPORTED_TYPES and not dtype.fields


def array_descr(dtype: np.dtype) -> str:
    """The descr written for a numpy ``dtype``, always with an explicit byte order
    prefix (``<b1`` for bool, where numpy would write ``|b1``).

    :raises MetatensorError: for types metatensor can not store (strings, objects,
        structured data, long double, ...)
    """
    if not is_supported(dtype):
        raise MetatensorError(
            f"can not save arrays with dtype {dtype}: only bool, integers, floating "
            "point and complex numbers are supported"
        )
    return f"{_NATIVE}{dtype.kind}{dtype.itemsize}"


# ================================================================================== #
#                                      parsing                                       #
# ================================================================================== #

_TOKEN = re.compile(
    r"""[ \t\r\n]*(?:
        (?P<string>'[^'\\]*'|"[^"\\]*")
        |(?P<integer>[+-]?[0-9]+)
        |(?P<word>[A-Za-z_]+)
        |(?P<punct>[{}\[\](),:])
    )""",
    re.VERBOSE,
)
_END = re.compile(r"[ \t\r\n\x00]*")


class _Parser:
    """Recursive descent parser for the python literals used in NPY headers: dict,
    list, tuple, str (without escapes), int, True, False and None."""

    def __init__(self, text: str):
        self.text = text
        self.position = 0
        self.depth = 0

    def _token(self):
        match = _TOKEN.match(self.text, self.position)
        if match is None:
            rest = self.text[self.position :].lstrip(" \t\r\n")
            found = repr(rest[0]) if rest else "end of header"
            raise format_error(f"invalid NPY header: unexpected {found}")
        self.position = match.end()
        return match.lastgroup, match.group(match.lastgroup)

    def _peek(self):
        position = self.position
        token = self._token()
        self.position = position
        return token

    def _expect(self, expected: str):
        _, value = self._token()
        if value != expected:
            raise format_error(
                f"invalid NPY header: expected '{expected}', got '{value}'"
            )

    def value(self):
        kind, value = self._token()
        if kind == "string":
            return value[1:-1]
        elif kind == "integer":
            return int(value)
        elif kind == "word":
            if value in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[value]
            raise format_error(f"invalid NPY header: unexpected '{value}'")
        elif value not in ("{", "[", "("):
            raise format_error(f"invalid NPY header: unexpected '{value}'")

        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise format_error(
                f"invalid NPY header: values nested more than {_MAX_NESTING} levels "
                "deep"
            )
        if value == "{":
            result = self._dict()
        elif value == "[":
            result = self._sequence("]", list)
        else:
            result = self._sequence(")", tuple)
        self.depth -= 1
        return result

    def _sequence(self, closing: str, kind):
        items = []
        while True:
            if self._peek()[1] == closing:
                self._token()
                return kind(items)
            items.append(self.value())
            _, separator = self._token()
            if separator == closing:
                return kind(items)
            elif separator != ",":
                raise format_error(
                    f"invalid NPY header: expected ',' or '{closing}', got "
                    f"'{separator}'"
                )

    def _dict(self):
        items = {}
        while True:
            kind, key = self._token()
            if key == "}":
                return items
            if kind != "string":
                raise format_error(
                    f"invalid NPY header: expected a string key, got '{key}'"
                )
            self._expect(":")
            items[key[1:-1]] = self.value()
            _, separator = self._token()
            if separator == "}":
                return items
            elif separator != ",":
                raise format_error(
                    f"invalid NPY header: expected ',' or '}}', got '{separator}'"
                )

    def finish(self):
        end = _END.match(self.text, self.position).end()
        if end != len(self.text):
            raise format_error(
                "invalid NPY header: unexpected "
                f"'{self.text[end : end + 10]}' after the header dictionary"
            )


@functools.lru_cache(maxsize=1024)
def parse_header_text(text: str):
    """Parse the header dict text into ``(descr, fortran_order, shape)``, checking
    the keys and the type of each value (not the content of descr)."""
    parser = _Parser(text)
    header = parser.value()
    parser.finish()
    if not isinstance(header, dict):
        raise format_error("invalid NPY header: expected a dictionary")

    keys = set(header.keys())
    expected = {"descr", "fortran_order", "shape"}
    if keys != expected:
        missing = ", ".join(sorted(expected - keys))
        extra = ", ".join(sorted(keys - expected))
        details = []
        if missing:
            details.append(f"missing {missing}")
        if extra:
            details.append(f"unexpected {extra}")
        raise format_error(f"invalid NPY header: {'; '.join(details)}")

    fortran_order = header["fortran_order"]
    if not isinstance(fortran_order, bool):
        raise format_error("invalid NPY header: 'fortran_order' must be a boolean")

    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
    ):
        raise format_error(
            "invalid NPY header: 'shape' must be a tuple of non-negative integers"
        )

    descr = header["descr"]
    if isinstance(descr, list):
        fields = []
        for field in descr:
            if (
                not isinstance(field, tuple)
                or len(field) != 2
                or not all(isinstance(f, str) for f in field)
            ):
                raise format_error(
                    "invalid NPY header: expected (name, type) pairs in a "
                    f"structured 'descr', got {field!r}"
                )
            fields.append(field)
        descr = tuple(fields)
    elif not isinstance(descr, str):
        raise format_error("invalid NPY header: 'descr' must be a string or a list")

    return descr, fortran_order, shape


class Header(typing.NamedTuple):
    """Content of an NPY header"""

    #: type string (``'<f8'``) or structured type (tuple of ``(name, type)``)
    descr: object
    fortran_order: bool
    shape: tuple
    #: offset of the data from the start of the NPY file
    offset: int


def read_header(member) -> Header:
    """Read the magic, version and header from ``member``; ``member`` is left at
    the start of the data."""
    prefix = member.read(8)
    if len(prefix) < 8 or prefix[:6] != MAGIC:
        raise format_error(
            "start does not match magic string: invalid NPY file, missing the '\\x93NUMPY' magic string"
        )

    version = prefix[6]
    if version == 1:
        length_size, length_format = 2, "<H"
    elif version in (2, 3):
        length_size, length_format = 4, "<I"
    else:
        raise format_error(
            f"unsupported NPY version {version}.{prefix[7]}, expected 1.0, 2.0 or 3.0"
        )
    raw_length = member.read(length_size)
    if len(raw_length) < length_size:
        raise format_error("invalid NPY file: the header is truncated")
    (length,) = struct.unpack(length_format, raw_length)
    raw = member.read(length)
    if len(raw) < length:
        raise format_error("invalid NPY file: the header is truncated")

    try:
        text = bytes(raw).decode("utf8" if version == 3 else "latin1")
    except UnicodeDecodeError as e:
        raise format_error("invalid NPY header: it is not valid UTF-8") from e
    descr, fortran_order, shape = parse_header_text(text)
    return Header(descr, fortran_order, shape, 8 + length_size + length)


def _count(shape) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _check_shape(shape, item_size: int):
    """Refuse shapes numpy and torch can not create: too many dimensions, or data
    (counting the zero-sized axes as 1) larger than :py:data:`MAX_DATA_BYTES`"""
    if len(shape) > MAX_DIMENSIONS:
        raise format_error(
            f"invalid NPY header: 'shape' has {len(shape)} dimensions, at most "
            f"{MAX_DIMENSIONS} are supported"
        )
    size = item_size
    for extent in shape:
        size *= max(extent, 1)
    if size > MAX_DATA_BYTES:
        raise format_error("invalid NPY header: 'shape' is too large")


def _check_data_size(member, nbytes: int):
    remaining = member.remaining()
    if remaining < nbytes:
        raise format_error(
            f"invalid NPY file: expected {nbytes} bytes of data, "
            f"but only {remaining} are left"
        )
    elif remaining > nbytes:
        raise format_error(
            f"found {remaining - nbytes} extra bytes after the expected end of data"
        )


@functools.lru_cache(maxsize=256)
def _data_dtype(descr) -> np.dtype:
    """numpy dtype for the ``descr`` of a data array.

    Upstream rejects the ``|`` byte order (numpy's spelling for one-byte types,
    e.g. ``|u1`` or ``|b1``), which makes numpy-written int8/uint8/bool archives
    unloadable; we accept it as the intent is clearly to read any numeric NPY.
    """
    if not isinstance(descr, str):
        raise format_error(
            "structured arrays are not supported for data arrays, "
            "expected a numeric 'descr'"
        )
    match = re.fullmatch(r"([<>=|])([biufc])([0-9]+)", descr)
    if match is None:
        raise format_error(f"unsupported data type '{descr}' in NPY header")

    order, kind, size = match.group(1), match.group(2), int(match.group(3))
    if (kind, size) not in _SUPPORTED_TYPES:
        raise format_error(f"unsupported data type '{descr}' in NPY header")
    if order == "|" and size != 1:
        raise format_error(
            f"invalid data type '{descr}' in NPY header: '|' is only valid for "
            "one-byte types"
        )
    return np.dtype(descr)


def read_array(member, copy: bool = True) -> np.ndarray:
    """Read a data array (``values.npy``) from ``member``.

    With ``copy=True`` the array owns its memory and uses native byte order. With
    ``copy=False`` the array is a view of the member's memory when the member can
    provide one (memory-mapped files), and a copy otherwise.
    """
    descr, fortran_order, shape, _ = read_header(member)
    if fortran_order:
        raise format_error("Fortran-ordered arrays are not supported")
    dtype = _data_dtype(descr)
    nbytes = _count(shape) * dtype.itemsize
    _check_data_size(member, nbytes)
    _check_shape(shape, dtype.itemsize)

    view = None if copy else member.view(nbytes)
    if view is not None:
        array = np.frombuffer(view, dtype=dtype).reshape(shape)
    else:
        array = np.empty(shape, dtype=dtype)
        if nbytes != 0:
            member.readinto(byte_view(array))
        if dtype.byteorder == _SWAPPED:
            array = array.astype(dtype.newbyteorder("="))
    return array


def read_labels(member):
    """Read a Labels array from ``member``, returning ``(names, values)`` with
    ``values`` a native int32 array of shape ``(count, len(names))``."""
    descr, fortran_order, shape, _ = read_header(member)
    if not isinstance(descr, tuple):
        raise format_error(
            f"Labels must be stored as a structured array, got a 'descr' of {descr!r}"
        )
    if len(descr) == 0:
        raise format_error("Labels with zero dimensions can not be loaded")
    if fortran_order:
        raise format_error("Labels can not be stored in Fortran order")
    if len(shape) != 1:
        raise format_error(
            f"Labels must be stored as a 1-D array, got a shape of {shape}"
        )

    types = {field_type for _, field_type in descr}
    if len(types) != 1 or not types <= {"<i4", ">i4", "=i4"}:
        raise format_error(
            "Labels must be stored as 32-bit integers with the same byte order for "
            f"all dimensions, got {', '.join(repr(t) for _, t in descr)}"
        )

    names = [name for name, _ in descr]
    count = shape[0]
    dtype = np.dtype(types.pop())
    nbytes = count * len(names) * 4
    _check_data_size(member, nbytes)
    _check_shape(shape, len(names) * 4)

    values = np.empty((count, len(names)), dtype=dtype)
    if nbytes != 0:
        member.readinto(byte_view(values))
    if dtype.byteorder == _SWAPPED:
        values = values.astype(np.int32)
    return names, values
