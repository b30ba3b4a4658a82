"""Tests of the format layers of metatensor.io: NPY headers and ZIP archives"""

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest

from metatensor import MetatensorError
from metatensor.io import _npy, _zip


def _member(data: bytes):
    """A member reader over ``data``, as the loaders use for bare NPY files"""
    return _zip.whole_source(_zip.BufferSource(data))


def _archive(members) -> bytes:
    """A native archive with the given ``{name: bytes}`` members"""
    chunks = []
    writer = _zip.ZipWriter(chunks.append)
    for name, data in members.items():
        writer.add(name, [data])
    writer.finish()
    return b"".join(chunks)


# ================================================================================== #
#                                    NPY headers                                     #
# ================================================================================== #


def test_labels_header_spelling():
    header = _npy.labels_header(["system", "atom"], 4)
    text = (
        "{ 'descr': [('system', '<i4'), ('atom', '<i4'), ], "
        "'fortran_order': False, 'shape': (4, ) }"
    )
    assert header[:8] == b"\x93NUMPY\x01\x00"
    assert struct.unpack("<H", header[8:10])[0] == len(header) - 10
    assert header[10:].rstrip(b" \n") == text.encode()
    assert header.endswith(b" \n")
    assert len(header) == 128


def test_single_labels_bytes():
    header = _npy.labels_header(["_"], 1)
    assert header[10:].rstrip(b" \n") == (
        b"{ 'descr': [('_', '<i4'), ], 'fortran_order': False, 'shape': (1, ) }"
    )
    assert len(header) == 128


def test_array_header_spelling():
    header = _npy.array_header("<f8", (2, 3, 2))
    assert header[10:].rstrip(b" \n") == (
        b"{ 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 2, ) }"
    )
    assert struct.unpack("<H", header[8:10])[0] == 118


@pytest.mark.parametrize("length", range(1, 200))
def test_header_alignment(length):
    # names of every length, so that the padding crosses the 64 bytes boundaries
    header = _npy.labels_header(["a" * length], 3)
    assert len(header) % 64 == 0
    assert header.endswith(b"\n")
    # the data can be read back by numpy
    data = np.arange(3, dtype=np.int32).tobytes()
    loaded = np.load(io.BytesIO(header + data))
    assert loaded.dtype.names == ("a" * length,)
    np.testing.assert_equal(loaded["a" * length], [0, 1, 2])


def test_header_version_2():
    names = [f"dimension_{i:05d}" for i in range(3500)]
    header = _npy.labels_header(names, 1)
    assert header[6:8] == b"\x02\x00"
    assert struct.unpack("<I", header[8:12])[0] == len(header) - 12
    assert len(header) % 64 == 0

    data = np.arange(3500, dtype=np.int32).tobytes()
    loaded = np.lib.format.read_array(io.BytesIO(header + data), max_header_size=10**6)
    assert loaded.dtype.names == tuple(names)

    read_names, values = _npy.read_labels(_member(header + data))
    assert read_names == names
    np.testing.assert_equal(values, np.arange(3500).reshape(1, -1))


@pytest.mark.parametrize(
    "dtype, descr",
    [
        (np.float64, "<f8"),
        (np.float32, "<f4"),
        (np.float16, "<f2"),
        (np.int8, "<i1"),
        (np.int16, "<i2"),
        (np.int32, "<i4"),
        (np.int64, "<i8"),
        (np.uint8, "<u1"),
        (np.uint16, "<u2"),
        (np.uint32, "<u4"),
        (np.uint64, "<u8"),
        (np.bool_, "<b1"),
        (np.complex64, "<c8"),
        (np.complex128, "<c16"),
    ],
)
def test_array_descr(dtype, descr):
    assert _npy.array_descr(np.dtype(dtype)) == descr


@pytest.mark.parametrize("dtype", [object, "U3", "S2", np.longdouble, "M8[s]", "V8"])
def test_array_descr_unsupported(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and dtype.itemsize == 8:
        pytest.skip("long double is double on this platform")
    with pytest.raises(MetatensorError, match="can not save arrays with dtype"):
        _npy.array_descr(dtype)


@pytest.mark.parametrize(
    "text",
    [
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
        '{"shape": (2, 3), "fortran_order": False, "descr": "<f8"}',
        "{\t'descr':\t'<f8',\t'fortran_order':\tFalse,\t'shape':\t(2,\t3,\t)\t}",
        "{ 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, ) }",
    ],
)
def test_parse_header_variants(text):
    assert _npy.parse_header_text(text) == ("<f8", False, (2, 3))


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_read_numpy_written_arrays(version):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version)
    loaded = _npy.read_array(_member(buffer.getvalue()))
    np.testing.assert_equal(loaded, array)
    assert loaded.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.bool_])
def test_read_pipe_byte_order(dtype):
    # numpy writes '|u1', '|i1' and '|b1', which upstream rejects (a quirk)
    array = np.ones((2, 2), dtype=dtype)
    buffer = io.BytesIO()
    np.save(buffer, array)
    assert b"'|" in buffer.getvalue()[:128]
    np.testing.assert_equal(_npy.read_array(_member(buffer.getvalue())), array)


def test_read_big_endian():
    array = np.arange(6, dtype=">f8").reshape(2, 3)
    buffer = io.BytesIO()
    np.save(buffer, array)
    loaded = _npy.read_array(_member(buffer.getvalue()))
    assert loaded.dtype == np.dtype("=f8")
    np.testing.assert_equal(loaded, array)

    labels = np.array([(1, 2), (3, 4)], dtype=[("a", ">i4"), ("b", ">i4")])
    buffer = io.BytesIO()
    np.save(buffer, labels)
    names, values = _npy.read_labels(_member(buffer.getvalue()))
    assert names == ["a", "b"]
    assert values.dtype == np.int32
    np.testing.assert_equal(values, [[1, 2], [3, 4]])


def _npy_bytes(text: str, data: bytes = b"", version=1) -> bytes:
    encoded = text.encode()
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(encoded)) + encoded + data
    return (
        b"\x93NUMPY"
        + bytes((version, 0))
        + struct.pack("<I", len(encoded))
        + encoded
        + data
    )


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "missing the '\\\\x93NUMPY' magic string"),
        (b"PK\x03\x04 some zip", "missing the '\\\\x93NUMPY' magic string"),
        (b"\x93NUMPY\x04\x00\x00\x00", "unsupported NPY version 4.0"),
        (b"\x93NUMPY\x01\x00\xff\x00{", "the header is truncated"),
        (_npy_bytes("{'descr': '<f8', 'fortran_order': False"), "invalid NPY header"),
        (_npy_bytes("{'descr': '<f8', 'shape': (1, 1)}"), "missing fortran_order"),
        (
            _npy_bytes(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}"
            ),
            "unexpected x",
        ),
        (
            _npy_bytes("{'descr': '<f8', 'fortran_order': 0, 'shape': (1, 1)}"),
            "'fortran_order' must be a boolean",
        ),
        (
            _npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': [1, 1]}"),
            "'shape' must be a tuple",
        ),
        (
            _npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 1)}"),
            "'shape' must be a tuple of non-negative integers",
        ),
        (_npy_bytes("[1, 2]"), "expected a dictionary"),
        (_npy_bytes("{'descr': '<f8'} trailing"), "after the header dictionary"),
        (_npy_bytes("{'descr': @}"), "unexpected '@'"),
        (_npy_bytes("{'a' 'b'}"), "expected ':'"),
        (_npy_bytes("{1: 2}"), "expected a string key"),
        (_npy_bytes("\xff", version=3)[:-1] + b"\xff", "not valid UTF-8"),
    ],
)
def test_bad_headers(data, message):
    with pytest.raises(
        MetatensorError, match="^serialization format error: .*" + message
    ):
        _npy.read_array(_member(data))


@pytest.mark.parametrize(
    "descr, message",
    [
        ("[('a', '<f8'), ]", "structured arrays are not supported for data arrays"),
        ("'<U3'", "unsupported data type '<U3'"),
        ("'|O'", "unsupported data type '|O'"),
        ("'<f16'", "unsupported data type '<f16'"),
        ("'|f8'", "'|' is only valid for one-byte types"),
        ("'f8'", "unsupported data type 'f8'"),
    ],
)
def test_bad_data_types(descr, message):
    text = f"{{'descr': {descr}, 'fortran_order': False, 'shape': (1, 1), }}"
    with pytest.raises(MetatensorError, match=message):
        _npy.read_array(_member(_npy_bytes(text, b"\x00" * 16)))


def test_fortran_order_rejected():
    buffer = io.BytesIO()
    np.save(buffer, np.asfortranarray(np.zeros((2, 3))))
    with pytest.raises(
        MetatensorError, match="Fortran-ordered arrays are not supported"
    ):
        _npy.read_array(_member(buffer.getvalue()))

    text = "{'descr': [('a', '<i4')], 'fortran_order': True, 'shape': (1,), }"
    with pytest.raises(MetatensorError, match="Labels can not be stored in Fortran"):
        _npy.read_labels(_member(_npy_bytes(text, b"\x00" * 4)))


def test_data_size_errors():
    header = _npy.array_header("<f8", (2, 2))
    with pytest.raises(MetatensorError, match="expected 32 bytes of data, but only 8"):
        _npy.read_array(_member(header + b"\x00" * 8))
    with pytest.raises(
        MetatensorError, match="found 3 extra bytes after the expected end of data"
    ):
        _npy.read_array(_member(header + b"\x00" * 35))

    header = _npy.labels_header(["a"], 2)
    with pytest.raises(
        MetatensorError, match="found 4 extra bytes after the expected end of data"
    ):
        _npy.read_labels(_member(header + b"\x00" * 12))


@pytest.mark.parametrize(
    "descr, message",
    [
        ("'<i4'", "Labels must be stored as a structured array"),
        ("[]", "Labels with zero dimensions can not be loaded"),
        ("[('a', '<i8')]", "Labels must be stored as 32-bit integers"),
        ("[('a', '<i4'), ('b', '>i4')]", "same byte order for all dimensions"),
        ("[('a', '<i4', (2,))]", "expected \\(name, type\\) pairs"),
    ],
)
def test_bad_labels(descr, message):
    text = f"{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}"
    with pytest.raises(MetatensorError, match=message):
        _npy.read_labels(_member(_npy_bytes(text, b"\x00" * 8)))

    text = "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1, 1), }"
    with pytest.raises(MetatensorError, match="Labels must be stored as a 1-D array"):
        _npy.read_labels(_member(_npy_bytes(text, b"\x00" * 4)))


# ================================================================================== #
#                                    ZIP archives                                    #
# ================================================================================== #


def test_zip_bytes():
    data = b"hello"
    archive = _archive({"a.npy": data})
    crc = zlib.crc32(data)

    local = (
        b"PK\x03\x04"
        + struct.pack("<HHHHHI", 20, 0, 0, 0x0000, 0x2821, crc)
        + b"\xff" * 8
        + struct.pack("<HH", 5, 20)
        + b"a.npy"
        + b"\x01\x00\x10\x00"
        + struct.pack("<QQ", 5, 5)
    )
    central = (
        b"PK\x01\x02"
        + struct.pack(
            "<HHHHHHIIIHHHHHII",
            0x032E,
            20,
            0,
            0,
            0,
            0x2821,
            crc,
            5,
            5,
            5,
            0,
            0,
            0,
            0,
            0x81A40000,
            0,
        )
        + b"a.npy"
    )
    end = b"PK\x05\x06" + struct.pack(
        "<HHHHIIH", 0, 0, 1, 1, len(central), len(local) + 5, 0
    )
    assert archive == local + data + central + end

    with zipfile.ZipFile(io.BytesIO(archive)) as file:
        assert file.testzip() is None
        assert file.read("a.npy") == data
        info = file.getinfo("a.npy")
        assert info.date_time == (2000, 1, 1, 0, 0, 0)
        assert info.external_attr == 0x81A40000
        assert info.compress_type == zipfile.ZIP_STORED


def test_zip_utf8_names():
    archive = _archive({"gradients/é/values.npy": b"data"})
    with zipfile.ZipFile(io.BytesIO(archive)) as file:
        info = file.getinfo("gradients/é/values.npy")
        assert info.flag_bits & 0x800
        assert file.read(info) == b"data"

    reader = _zip.ZipReader(_zip.BufferSource(archive))
    assert reader.names() == ["gradients/é/values.npy"]
    assert reader.read("gradients/é/values.npy") == b"data"


def test_zip_streamed_chunks():
    # one member from several chunks, including empty ones and numpy memory
    array = np.arange(10, dtype=np.float64)
    chunks = []
    writer = _zip.ZipWriter(chunks.append)
    writer.add("x", [b"head", b"", _npy.byte_view(array)])
    writer.add("empty", [])
    writer.finish()
    archive = b"".join(chunks)
    with zipfile.ZipFile(io.BytesIO(archive)) as file:
        assert file.read("x") == b"head" + array.tobytes()
        assert file.read("empty") == b""


def test_zip64(monkeypatch):
    monkeypatch.setattr(_zip, "ZIP64_LIMIT", 100)
    monkeypatch.setattr(_zip, "ZIP64_COUNT_LIMIT", 3)
    members = {f"member-{i}": bytes([i]) * (50 * i) for i in range(6)}
    archive = _archive(members)

    # there is a ZIP64 end of central directory and locator
    assert b"PK\x06\x06" in archive
    assert b"PK\x06\x07" in archive
    # the plain end record is marked
    end = archive[-22:]
    assert end[:4] == b"PK\x05\x06"
    assert struct.unpack("<HH", end[8:12]) == (0xFFFF, 0xFFFF)
    assert struct.unpack("<I", end[16:20])[0] == 0xFFFFFFFF

    with zipfile.ZipFile(io.BytesIO(archive)) as file:
        assert file.testzip() is None
        assert file.namelist() == list(members)
        for name, data in members.items():
            assert file.read(name) == data
            info = file.getinfo(name)
            assert info.file_size == len(data)

    reader = _zip.ZipReader(_zip.BufferSource(archive))
    assert reader.names() == list(members)
    for name, data in members.items():
        assert reader.read(name) == data


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_read_zipfile_archives(method):
    buffer = io.BytesIO()
    data = {"a": b"x" * 1000, "b/c": bytes(range(256)) * 300, "empty": b""}
    with zipfile.ZipFile(buffer, "w", compression=method) as file:
        for name, content in data.items():
            file.writestr(name, content)
        file.comment = b"an archive comment"

    for source in (
        _zip.BufferSource(buffer.getvalue()),
        _zip.FileSource(io.BytesIO(buffer.getvalue())),
    ):
        reader = _zip.ZipReader(source)
        assert reader.names() == list(data)
        for name, content in data.items():
            assert reader.read(name) == content


def test_read_streamed_zipfile():
    # zipfile writing to a non-seekable stream uses data descriptors
    class Stream(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, data):
            self.data += data
            return len(data)

    stream = Stream()
    with zipfile.ZipFile(stream, "w") as file:
        with file.open("member", "w") as member:
            member.write(b"content" * 100)

    reader = _zip.ZipReader(_zip.BufferSource(bytes(stream.data)))
    assert reader.read("member") == b"content" * 100


def _big_archive():
    # a member larger than the "small member" limit, so that it is streamed
    return _archive({"small": b"abc", "big": bytes(range(256)) * 1024})


@pytest.mark.parametrize("position", ["small", "big"])
def test_crc_mismatch(position):
    archive = bytearray(_big_archive())
    start = (
        archive.index(b"abc")
        if position == "small"
        else archive.index(bytes(range(256)))
    )
    archive[start + 1] ^= 0x01
    reader = _zip.ZipReader(_zip.BufferSource(bytes(archive)))
    with pytest.raises(MetatensorError, match=f"invalid checksum for '{position}'"):
        reader.read(position)

    # not checked when verify=False (memory-mapped files)
    reader = _zip.ZipReader(_zip.BufferSource(bytes(archive)), verify=False)
    reader.read(position)


def test_truncated_archives():
    archive = _big_archive()
    for cut in [
        0,
        1,
        4,
        22,
        100,
        len(archive) // 2,
        len(archive) - 23,
        len(archive) - 1,
    ]:
        with pytest.raises(MetatensorError, match="^serialization format error: "):
            reader = _zip.ZipReader(_zip.BufferSource(archive[:cut]))
            reader.read("big")


def test_not_a_zip():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, 10_000, dtype=np.uint8).tobytes()
    with pytest.raises(
        MetatensorError,
        match="could not find the end of the central directory, this is not a zip",
    ):
        _zip.ZipReader(_zip.BufferSource(data))


def test_missing_member():
    reader = _zip.ZipReader(_zip.BufferSource(_archive({"a": b""})))
    with pytest.raises(
        MetatensorError, match="specified file not found in archive: at 'keys.npy'"
    ):
        reader.open("keys.npy")


def test_unsupported_members():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_BZIP2) as file:
        file.writestr("a", b"data")
    reader = _zip.ZipReader(_zip.BufferSource(buffer.getvalue()))
    with pytest.raises(MetatensorError, match="unsupported compression method 12"):
        reader.open("a")

    archive = bytearray(_archive({"a": b"data"}))
    central = archive.index(b"PK\x01\x02")
    archive[central + 8] |= 0x01  # encrypted flag
    reader = _zip.ZipReader(_zip.BufferSource(bytes(archive)))
    with pytest.raises(MetatensorError, match="encrypted member 'a' is not supported"):
        reader.open("a")


def test_corrupted_deflate():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as file:
        file.writestr("a", b"some data " * 100)
    archive = bytearray(buffer.getvalue())
    archive[40:46] = b"\xff" * 6
    reader = _zip.ZipReader(_zip.BufferSource(bytes(archive)))
    with pytest.raises(MetatensorError, match="'a'"):
        reader.read("a")


def test_flipped_bytes_never_crash():
    archive = _archive({"a.npy": b"0123456789" * 3, "b/c.npy": b"xyz"})
    for position in range(len(archive)):
        corrupted = bytearray(archive)
        corrupted[position] ^= 0xFF
        try:
            reader = _zip.ZipReader(_zip.BufferSource(bytes(corrupted)))
            for name in reader.names():
                reader.read(name)
        except MetatensorError as e:
            assert str(e).startswith("serialization format error: ")


def test_read_header():
    header = _npy.labels_header(["a", "b"], 7)
    parsed = _npy.read_header(_member(header))
    assert parsed.descr == (("a", "<i4"), ("b", "<i4"))
    assert parsed.fortran_order is False
    assert parsed.shape == (7,)
    assert parsed.offset == 128

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros((2, 3)), version=(2, 0))
    parsed = _npy.read_header(_member(buffer.getvalue()))
    assert parsed == ("<f8", False, (2, 3), 128)
