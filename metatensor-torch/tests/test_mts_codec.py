"""The TorchScript ``.mts`` codec (``metatensor_torch/_mts.py``), eager and
scripted, against metatensor-core's writer and readers (``metatensor.io``).

Every check runs the codec both in eager mode and compiled with
``torch.jit.script``, and requires identical results (or identical error
messages) from the two. The module is loaded from its file, so that these tests
do not depend on the rest of the package.
"""

import functools
import glob
import importlib.util
import io
import json
import os
import re
import struct
import zipfile
import zlib
from typing import List

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metatensor
from metatensor.io import _npy, _save, _zip

pytestmark = [
    pytest.mark.filterwarnings(f"ignore:`torch.jit.{name}` is deprecated")
    for name in ("script", "save", "load")
]

HERE = os.path.dirname(os.path.abspath(__file__))
# files written by upstream metatensor (test data of metatensor-core)
FIXTURES = os.path.join(
    HERE, "..", "..", "metatensor-core", "tests", "data", "upstream"
)


def _load_codec():
    path = os.path.join(HERE, "..", "src", "metatensor_torch", "_mts.py")
    spec = importlib.util.spec_from_file_location("metatensor_torch_mts_codec", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mts = _load_codec()

PUBLIC = [
    "crc32",
    "write_zip",
    "read_zip",
    "npy_array",
    "npy_labels",
    "load_npy_array",
    "load_npy_labels",
    "info_json",
    "load_info_json",
]

HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ================================================================================== #
#                                      helpers                                       #
# ================================================================================== #


@functools.cache
def scripted(name: str):
    return torch.jit.script(getattr(mts, name))


def outcome(mode: str, name: str, *args):
    """``("ok", result)`` or ``("error", message)`` of a codec function"""
    function = getattr(mts, name) if mode == "eager" else scripted(name)
    try:
        return "ok", function(*args)
    except ValueError as error:
        assert mode == "eager"
        return "error", str(error)
    except torch.jit.Error as error:
        match = re.search(r"\nbuiltins\.ValueError: (.*)\n$", str(error), re.DOTALL)
        assert match is not None, f"not a ValueError: {error}"
        return "error", match.group(1)


def unoptimized():
    """Run TorchScript code without the graph optimizations: they specialize the
    graph again (for about 0.3 s) on each new path through the code, which makes
    the tests going through many paths very slow"""
    return torch.jit.optimized_execution(False)


def same(first, second) -> bool:
    """Equality of codec results: tensors with the same dtype, shape and bytes"""
    if isinstance(first, torch.Tensor):
        return (
            isinstance(second, torch.Tensor)
            and first.dtype == second.dtype
            and first.shape == second.shape
            and first.contiguous().view(-1).view(torch.uint8).tolist()
            == second.contiguous().view(-1).view(torch.uint8).tolist()
        )
    elif isinstance(first, (list, tuple)):
        return (
            isinstance(second, (list, tuple))
            and len(first) == len(second)
            and all(same(a, b) for a, b in zip(first, second))
        )
    elif isinstance(first, dict):
        return (
            isinstance(second, dict)
            and list(first) == list(second)
            and all(same(first[key], second[key]) for key in first)
        )
    return first == second


def both(name: str, *args):
    """The outcome of codec function ``name``, after checking that eager and
    scripted modes agree on it"""
    eager = outcome("eager", name, *args)
    script = outcome("scripted", name, *args)
    assert eager[0] == script[0], (eager, script)
    assert same(eager[1], script[1]), (eager, script)
    return eager


def run(name: str, *args):
    """The result of codec function ``name`` (the same eager and scripted)"""
    kind, result = both(name, *args)
    assert kind == "ok", result
    return result


def error(name: str, *args) -> str:
    """The error message of codec function ``name`` (the same eager and scripted),
    which must be a format error"""
    kind, message = both(name, *args)
    assert kind == "error", f"expected an error, got {message}"
    return message


def format_error(name: str, *args) -> str:
    message = error(name, *args)
    assert message.startswith("serialization format error: "), message
    return message


def as_tensor(data) -> torch.Tensor:
    data = bytes(data)
    if len(data) == 0:
        return torch.zeros(0, dtype=torch.uint8)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def as_bytes(tensor: torch.Tensor) -> bytes:
    return bytes(tensor.numpy())


def joined(chunks) -> bytes:
    return b"".join(as_bytes(chunk) for chunk in chunks)


def core_zip(names, members) -> bytes:
    output = []
    writer = _zip.ZipWriter(output.append)
    for name, chunks in zip(names, members):
        writer.add(name, [memoryview(bytes(chunk)) for chunk in chunks])
    writer.finish()
    return b"".join(bytes(piece) for piece in output)


def core_members(data: bytes) -> dict:
    reader = _zip.ZipReader(_zip.BufferSource(data))
    return {name: reader.read(name) for name in reader.names()}


def core_source(data: bytes):
    return _zip.whole_source(_zip.BufferSource(data))


def core_array_member(array: np.ndarray) -> bytes:
    array = array.copy(order="C")  # np.ascontiguousarray makes 0-d arrays 1-D
    header = _npy.array_header(_npy.array_descr(array.dtype), array.shape)
    return header + array.tobytes()


def numpy_member(array, version=None) -> bytes:
    """An NPY file written by numpy itself"""
    output = io.BytesIO()
    np.lib.format.write_array(output, array, version=version, allow_pickle=False)
    return output.getvalue()


def npy_file(header: str, data: bytes = b"", version: int = 1) -> bytes:
    """An NPY file with this exact header text (no padding added)"""
    text = header.encode("utf8" if version == 3 else "latin1")
    length = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes((version, 0)) + length + text + data


DTYPES = [
    torch.bool,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.uint8,
    torch.uint16,
    torch.uint32,
    torch.uint64,
    torch.float16,
    torch.float32,
    torch.float64,
    torch.complex64,
    torch.complex128,
]


def random_tensor(dtype, shape, seed=0) -> torch.Tensor:
    """Any bit pattern (NaN included) of ``dtype``, 0 and 1 for bool"""
    generator = np.random.default_rng(seed)
    count = int(np.prod(shape, dtype=np.int64))
    itemsize = torch.empty(0, dtype=dtype).element_size()
    data = generator.integers(0, 256, count * itemsize, dtype=np.uint8)
    if dtype == torch.bool:
        return torch.from_numpy(data % 2 == 1).reshape(shape)
    numpy_dtype = torch.empty(0, dtype=dtype).numpy().dtype
    return torch.from_numpy(data.view(numpy_dtype)).reshape(shape)


def tensor_bytes(tensor: torch.Tensor) -> bytes:
    return bytes(tensor.contiguous().reshape(-1).view(torch.uint8).numpy())


@pytest.mark.parametrize("name", PUBLIC)
def test_public_functions_compile(name):
    assert isinstance(scripted(name), torch.jit.ScriptFunction)


# ================================================================================== #
#                                      crc32                                         #
# ================================================================================== #


@pytest.mark.parametrize(
    "size", [0, 1, 2, 3, 4, 5, 15, 16, 17, 63, 64, 65, 1000, 4096, 65537, 1_000_007]
)
def test_crc32(size):
    data = torch.from_numpy(
        np.random.default_rng(size).integers(0, 256, size, np.uint8)
    )
    assert run("crc32", data) == zlib.crc32(data.numpy())


def test_crc32_special_data():
    for data in [b"\x00" * 100, b"\xff" * 100, b"123456789", bytes(range(256)) * 9]:
        assert run("crc32", as_tensor(data)) == zlib.crc32(data)
    # non-contiguous input
    data = torch.arange(3000, dtype=torch.int64).to(torch.uint8)[::3]
    assert run("crc32", data) == zlib.crc32(data.numpy().tobytes())


def test_crc32_of_many_parts():
    """The CRCs of many members of different sizes are computed together"""
    generator = np.random.default_rng(1)
    parts = []
    for size in [0, 1, 3, 4, 5, 7, 8, 9, 100, 128, 129, 700, 70000, 5, 100, 3]:
        data = as_tensor(generator.integers(0, 256, size, np.uint8).tobytes())
        cut = size // 3
        parts.append([data[:cut], data[cut:cut], data[cut:]])
    expected = [zlib.crc32(joined(chunks)) for chunks in parts]
    assert mts._crc32_parts(parts) == expected
    assert scripted("_crc32_parts")(parts) == expected


def test_crc32_input_checks():
    message = error("crc32", torch.zeros(4, dtype=torch.int32))
    assert message == "`data` must be a 1-D torch.uint8 tensor on the CPU"
    error("crc32", torch.zeros((2, 2), dtype=torch.uint8))


# ================================================================================== #
#                                    write_zip                                       #
# ================================================================================== #

NAMES = st.text(
    st.characters(blacklist_categories=("Cs",), max_codepoint=0x10FFFF), max_size=12
)
MEMBERS = st.lists(st.binary(max_size=300), max_size=4)


@HYPOTHESIS
@given(st.lists(st.tuples(NAMES, MEMBERS), max_size=6))
def test_write_zip_like_core(archive):
    names = [name for name, _ in archive]
    members = [[as_tensor(chunk) for chunk in chunks] for _, chunks in archive]
    expected = core_zip(names, [chunks for _, chunks in archive])
    assert as_bytes(run("write_zip", names, members)) == expected

    # and read back
    read = run("read_zip", as_tensor(expected))
    assert {name: as_bytes(data) for name, data in read.items()} == core_members(
        expected
    )


def test_write_zip_empty_archive():
    assert as_bytes(run("write_zip", [], [])) == core_zip([], [])
    assert run("read_zip", as_tensor(core_zip([], []))) == {}


@pytest.mark.parametrize(
    "limit, count_limit",
    [(100, 0xFFFF), (0xFFFFFFFF, 2), (1, 1), (300, 4), (0, 0xFFFF)],
)
def test_write_zip64(monkeypatch, limit, count_limit):
    """ZIP64 records, with lowered limits (the real ones need 4 GiB archives)"""
    monkeypatch.setattr(_zip, "ZIP64_LIMIT", limit)
    monkeypatch.setattr(_zip, "ZIP64_COUNT_LIMIT", count_limit)
    generator = np.random.default_rng(limit)
    names = ["a", "é/b", "c", "", "d.npy"]
    members = [
        [generator.integers(0, 256, size, np.uint8).tobytes()]
        for size in (10, 150, 0, 99, 400)
    ]
    expected = core_zip(names, members)
    tensors = [[as_tensor(chunk) for chunk in chunks] for chunks in members]
    assert as_bytes(mts._write_zip(names, tensors, limit, count_limit)) == expected
    script = scripted("_write_zip")
    assert as_bytes(script(names, tensors, limit, count_limit)) == expected

    read = run("read_zip", as_tensor(expected))
    assert {name: as_bytes(data) for name, data in read.items()} == core_members(
        expected
    )


def test_write_zip_input_checks():
    message = error("write_zip", ["a", "b"], [[]])
    assert (
        message == "expected as many member names as members, got 2 names and 1 members"
    )
    message = error("write_zip", ["a"], [[torch.zeros(3, dtype=torch.int8)]])
    assert message == (
        "every chunk of the archive members must be a 1-D torch.uint8 tensor on the CPU"
    )
    message = error("write_zip", ["a" * 0x10000], [[]])
    assert message == "archive member names must be shorter than 64 KiB"


# ================================================================================== #
#                                     read_zip                                       #
# ================================================================================== #


def small_tensor_map(gradient: bool = True) -> bytes:
    block = metatensor.TensorBlock(
        values=np.arange(6, dtype=np.float64).reshape(3, 2),
        samples=metatensor.Labels(["s"], np.array([[0], [1], [2]])),
        components=[],
        properties=metatensor.Labels(["p"], np.array([[0], [1]])),
    )
    if gradient:
        block.add_gradient(
            "g",
            metatensor.TensorBlock(
                values=np.ones((1, 2)),
                samples=metatensor.Labels(["sample"], np.array([[0]])),
                components=[],
                properties=block.properties,
            ),
        )
    tensor = metatensor.TensorMap(metatensor.Labels(["k"], np.array([[0]])), [block])
    tensor.set_info("unit", "eV")
    return bytes(metatensor.io.save_buffer(tensor))


def test_read_zip_core_archive():
    data = small_tensor_map()
    read = run("read_zip", as_tensor(data))
    assert {name: as_bytes(member) for name, member in read.items()} == core_members(
        data
    )


def test_read_zip_members_are_slices():
    data = as_tensor(core_zip(["a", "b"], [[b"hello"], [b"world!"]]))
    for mode in ("eager", "scripted"):
        _, read = outcome(mode, "read_zip", data)
        storage = read["b"].untyped_storage()
        assert storage.data_ptr() == data.untyped_storage().data_ptr()


def test_read_zip_python_zipfile():
    """Archives written by zipfile (as numpy.savez does), with a ZIP64 extra field
    and an archive comment holding an end record signature"""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("first.npy", b"abc" * 100)
        with archive.open("second", "w", force_zip64=True) as member:
            member.write(b"\x00\x01" * 50)
        archive.writestr("ünïcode", b"")
        archive.comment = b"PK\x05\x06 a comment"
    data = output.getvalue()
    read = run("read_zip", as_tensor(data))
    assert {name: as_bytes(member) for name, member in read.items()} == core_members(
        data
    )


def test_read_zip_duplicated_names():
    data = core_zip(["a", "b", "a"], [[b"1"], [b"2"], [b"3"]])
    read = run("read_zip", as_tensor(data))
    assert list(read) == ["a", "b"]
    assert as_bytes(read["a"]) == b"3"
    assert core_members(data) == {"a": b"3", "b": b"2"}


def patched(data: bytes, signature: bytes, offset: int, value: bytes) -> bytes:
    """``data`` with ``value`` written at ``offset`` after every ``signature``"""
    data = bytearray(data)
    position = data.find(signature)
    while position >= 0:
        data[position + offset : position + offset + len(value)] = value
        position = data.find(signature, position + 1)
    return bytes(data)


def test_read_zip_code_page_437_names():
    """Names without the UTF-8 flag are decoded with code page 437"""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("\u00e9t\u00e9", b"1")
    # the same name length: 5 bytes in UTF-8, 3 in cp437
    data = output.getvalue().replace(
        "\u00e9t\u00e9".encode(), "\u00e9t\u00e9".encode("cp437") + b"__"
    )
    data = patched(data, b"PK\x03\x04", 6, b"\x00\x00")
    data = patched(data, b"PK\x01\x02", 8, b"\x00\x00")
    names = list(run("read_zip", as_tensor(data)))
    assert names == list(core_members(data)) == ["\u00e9t\u00e9__"]


def test_read_zip_deflate():
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("values.npy", b"abc" * 100)
    message = format_error("read_zip", as_tensor(output.getvalue()))
    assert "compressed members can not be read inside TorchScript" in message
    assert "`metatensor.torch.load`" in message


@pytest.mark.parametrize(
    "signature, offset, value, message",
    [
        (b"PK\x05\x06", 4, b"\x01\x00", "multi-disk zip archives are not supported"),
        (b"PK\x05\x06", 16, b"\x00\x00\x00\x01", "it extends beyond the end"),
        (b"PK\x05\x06", 12, b"\x10\x00\x00\x00", "it is truncated"),
        (b"PK\x05\x06", 10, b"\x09\x00", "it is truncated"),
        (b"PK\x01\x02", 0, b"PK\x01\x03", "invalid central directory entry"),
        (b"PK\x01\x02", 8, b"\x01\x00", "encrypted member 'a' is not supported"),
        (b"PK\x01\x02", 10, b"\x0c\x00", "unsupported compression method 12 for 'a'"),
        (b"PK\x01\x02", 20, b"\x00\x00\x00\x00", "invalid sizes for stored member"),
        (b"PK\x01\x02", 42, b"\x05\x00\x00\x00", "invalid local header for 'a'"),
        (b"PK\x01\x02", 16, b"\x00\x00\x00\x00", "invalid checksum for 'a'"),
        (b"PK\x03\x04", 28, b"\xff\x00", "the data of 'a' extends beyond its end"),
        (b"PK\x01\x02", 28, b"\x02\x00", "invalid central directory"),
    ],
)
def test_read_zip_errors(signature, offset, value, message):
    data = core_zip(["a", "b"], [[b"hello"], [b"world"]])
    corrupted = patched(data, signature, offset, value)
    assert message in format_error("read_zip", as_tensor(corrupted))
    with pytest.raises(metatensor.MetatensorError):
        core_members(corrupted)


def test_read_zip_bad_zip64_records():
    data = core_zip(["a"], [[b"x" * 10]])
    # a ZIP64 locator pointing nowhere
    position = data.find(b"PK\x05\x06")
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, 3, 1)
    broken = data[:position] + locator + data[position:]
    message = format_error("read_zip", as_tensor(broken))
    assert "invalid ZIP64 end of central directory" in message

    # a ZIP64 value that does not fit in 63 bits
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, 1 << 63, 1)
    broken = data[:position] + locator + data[position:]
    assert "too large" in format_error("read_zip", as_tensor(broken))


def test_read_zip_truncated():
    data = small_tensor_map()
    with unoptimized():
        for size in range(len(data)):
            format_error("read_zip", as_tensor(data[:size]))


def test_read_zip_corrupted():
    """Changing any byte gives the same members or a format error"""
    data = small_tensor_map(gradient=False)
    expected = core_members(data)
    for position in range(len(data)):
        corrupted = bytearray(data)
        corrupted[position] ^= 0x5A
        with unoptimized():
            kind, result = both("read_zip", as_tensor(corrupted))
        if kind == "ok":
            # a change in an ignored field (versions, times, attributes, ...) or
            # in a name
            read = {name: as_bytes(member) for name, member in result.items()}
            assert read == core_members(bytes(corrupted))
            assert list(read.values()) == list(expected.values())
        else:
            assert result.startswith("serialization format error: ")


@HYPOTHESIS
@given(st.binary(max_size=200))
def test_read_zip_garbage(data):
    with unoptimized():
        kind, result = both("read_zip", as_tensor(data))
    assert kind == "error" or result == {}


def test_read_zip_input_checks():
    message = error("read_zip", torch.zeros((2, 30), dtype=torch.uint8))
    assert message == "`buffer` must be a 1-D torch.uint8 tensor on the CPU"


# ================================================================================== #
#                                      fixtures                                      #
# ================================================================================== #


def fixture_files():
    return sorted(glob.glob(os.path.join(FIXTURES, "*.mts")))


@pytest.mark.parametrize("path", fixture_files(), ids=os.path.basename)
def test_fixtures(path):
    """Every member of the reference files is decoded like core does, and
    re-encoding all of them gives the same bytes"""
    with open(path, "rb") as file:
        data = file.read()
    if os.path.basename(path) == "labels.mts":
        names, values = run("load_npy_labels", as_tensor(data))
        expected_names, expected = _npy.read_labels(core_source(data))
        assert names == expected_names
        assert np.array_equal(values.numpy(), expected)
        assert joined(run("npy_labels", names, values)) == data
        return

    members = run("read_zip", as_tensor(data))
    assert list(members) == list(core_members(data))
    names = []
    chunks = []
    for name, member in members.items():
        names.append(name)
        source = core_source(as_bytes(member))
        if name == "info.json":
            info = run("load_info_json", member)
            assert info == json.loads(as_bytes(member))
            chunks.append([run("info_json", info)])
        elif name.endswith("values.npy"):
            array = run("load_npy_array", member)
            expected = _npy.read_array(source)
            assert array.numpy().dtype == expected.dtype
            assert np.array_equal(array.numpy(), expected)
            chunks.append(run("npy_array", array))
        else:
            labels_names, values = run("load_npy_labels", member)
            expected_names, expected = _npy.read_labels(source)
            assert labels_names == expected_names
            assert np.array_equal(values.numpy(), expected)
            chunks.append(run("npy_labels", labels_names, values))
        assert joined(chunks[-1]) == as_bytes(member)
    assert as_bytes(run("write_zip", names, chunks)) == data


# ================================================================================== #
#                                    NPY arrays                                      #
# ================================================================================== #


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 3), (2, 3, 4)])
def test_npy_array(dtype, shape):
    tensor = random_tensor(dtype, shape)
    chunks = run("npy_array", tensor)
    assert joined(chunks) == core_array_member(tensor.numpy())

    loaded = run("load_npy_array", torch.cat(chunks))
    assert loaded.dtype == dtype
    assert loaded.shape == tensor.shape
    assert tensor_bytes(loaded) == tensor_bytes(tensor)


@HYPOTHESIS
@given(
    st.sampled_from(DTYPES),
    st.lists(st.integers(0, 4), max_size=4),
    st.integers(0, 2**32 - 1),
)
def test_npy_array_round_trips(dtype, shape, seed):
    tensor = random_tensor(dtype, shape, seed)
    member = torch.cat(run("npy_array", tensor))
    assert as_bytes(member) == core_array_member(tensor.numpy())
    assert tensor_bytes(run("load_npy_array", member)) == tensor_bytes(tensor)
    # core reads our members
    assert _npy.read_array(core_source(as_bytes(member))).tobytes() == (
        tensor_bytes(tensor)
    )


def test_npy_array_views():
    """Non-contiguous, conjugated, negated and requires_grad tensors"""
    base = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4)
    complex_base = torch.arange(12.0).to(torch.complex128).reshape(3, 4) * (1 + 2j)
    for tensor in [
        base.transpose(0, 2),
        base[:, ::2, 1:],
        complex_base.conj(),
        torch._neg_view(base),
        base.clone().requires_grad_(True),
        base.to(torch.float32).expand(3, 2, 3, 4),
    ]:
        expected = tensor.detach().resolve_conj().resolve_neg().numpy()
        assert joined(run("npy_array", tensor)) == core_array_member(expected)


@pytest.mark.parametrize(
    "dtype, name",
    [
        (torch.bfloat16, "torch.bfloat16"),
        (torch.complex32, "torch.complex32"),
        (torch.float8_e4m3fn, "torch.float8_e4m3fn"),
        (torch.float8_e5m2, "torch.float8_e5m2"),
    ],
)
@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")
def test_npy_array_unsupported_dtypes(dtype, name):
    message = error("npy_array", torch.zeros(3).to(dtype))
    assert message == (
        f"can not save arrays with dtype {name}: only bool, integers, floating point "
        "and complex numbers are supported"
    )


def check_like_core(member: bytes):
    """load_npy_array accepts and rejects ``member`` like core's read_array"""
    try:
        expected = _npy.read_array(core_source(member))
    except metatensor.MetatensorError as core_error:
        message = format_error("load_npy_array", as_tensor(member))
        return str(core_error), message
    array = run("load_npy_array", as_tensor(member))
    assert array.numpy().dtype == expected.dtype
    assert array.numpy().shape == expected.shape
    assert array.numpy().tobytes() == expected.tobytes()
    return None


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize(
    "dtype", ["<f8", ">f8", ">i4", ">u2", ">c16", ">c8", "|u1", "|i1", "|b1", ">f2"]
)
def test_load_numpy_files(version, dtype):
    """Files written by numpy: its own header spelling, versions, byte orders"""
    array = np.arange(12).reshape(3, 4)
    if dtype.endswith("c16") or dtype.endswith("c8"):
        array = array * (1 - 0.5j)
    array = array.astype(dtype)
    assert check_like_core(numpy_member(array, version)) is None
    assert check_like_core(numpy_member(array[:0], version)) is None
    assert check_like_core(numpy_member(np.asarray(array[0, 0]), version)) is None


DATA = np.arange(6, dtype="<f8").tobytes()


@pytest.mark.parametrize(
    "header, data",
    [
        # accepted variations
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", DATA),
        ('{"shape": (2, 3), "descr": "<f8", "fortran_order": False}', DATA),
        ("{\t'descr':'=f8' ,\n'fortran_order' : False,'shape':(6)}\r\n", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (+6,)}\x00\x00 ", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (-0, 3)}", b""),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 6, )}", DATA),
        (
            "{'descr': '<f8', 'descr': '<i8', 'fortran_order': False, 'shape': (6,)}",
            DATA,
        ),
        # rejected
        ("{'descr': '<f8', 'fortran_order': True, 'shape': (6,)}", DATA),
        ("{'descr': '<f8', 'fortran_order': 0, 'shape': (6,)}", DATA),
        ("{'descr': '<f8', 'fortran_order': None, 'shape': (6,)}", DATA),
        ("{'descr': '<f8', 'shape': (6,)}", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'x': 1}", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': [6]}", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (-6,)}", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,,)}", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (6 1)}", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (True,)}", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (5,)}", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (7,)}", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)} x", DATA),
        ("{'descr': '<f8' 'fortran_order': False, 'shape': (6,)}", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)", DATA),
        ("{'descr': 'f8', 'fortran_order': False, 'shape': (6,)}", DATA),
        ("{'descr': '<f16', 'fortran_order': False, 'shape': (6,)}", DATA),
        ("{'descr': '<U8', 'fortran_order': False, 'shape': (6,)}", DATA),
        ("{'descr': '|f8', 'fortran_order': False, 'shape': (6,)}", DATA),
        ("{'descr': '', 'fortran_order': False, 'shape': (6,)}", DATA),
        ("{'descr': 8, 'fortran_order': False, 'shape': (6,)}", DATA),
        ("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (6,)}", DATA),
        ("{'descr': '<f\\8', 'fortran_order': False, 'shape': (6,)}", DATA),
        ("{'descr': \"<f8', 'fortran_order': False, 'shape': (6,)}", DATA),
        ("{1: '<f8', 'fortran_order': False, 'shape': (6,)}", DATA),
        ("['<f8', False, (6,)]", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)} @", DATA),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,)}\x00x", DATA),
        ("", DATA),
    ],
)
def test_load_npy_array_headers(header, data):
    """Headers accepted and rejected like core's parser"""
    result = check_like_core(npy_file(header, data))
    if result is not None:
        core_message, message = result
        if core_message.startswith("serialization format error: invalid NPY header: "):
            assert message.startswith(
                "serialization format error: invalid NPY header: "
            )
        else:
            assert message == core_message


def test_load_npy_array_huge_shapes():
    """Sizes that would overflow 64-bit integers (core reports them as missing
    data, with python integers)"""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%s,)}"
    member = npy_file(header % ("9" * 25), DATA)
    assert format_error("load_npy_array", as_tensor(member)) == (
        "serialization format error: invalid NPY header: integer too large in 'shape'"
    )
    member = npy_file(header % "1000000000000000, 10000", DATA)
    assert format_error("load_npy_array", as_tensor(member)) == (
        "serialization format error: invalid NPY header: 'shape' is too large"
    )
    for shape in ("9" * 25, "1000000000000000, 10000"):
        with pytest.raises(metatensor.MetatensorError, match="bytes of data"):
            _npy.read_array(core_source(npy_file(header % shape, DATA)))


def test_load_npy_array_messages():
    member = npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (6,)}", DATA)
    assert format_error("load_npy_array", as_tensor(member)) == (
        "serialization format error: Fortran-ordered arrays are not supported"
    )
    member = npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (5,)}", DATA)
    assert format_error("load_npy_array", as_tensor(member)) == (
        "serialization format error: found 8 extra bytes after the expected end of data"
    )
    member = npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4)}", DATA)
    assert format_error("load_npy_array", as_tensor(member)) == (
        "serialization format error: invalid NPY file: expected 64 bytes of data, "
        "but only 48 are left"
    )
    member = npy_file("{'descr': '<U8', 'fortran_order': False, 'shape': (6,)}", DATA)
    assert format_error("load_npy_array", as_tensor(member)) == (
        "serialization format error: unsupported data type '<U8' in NPY header"
    )


@pytest.mark.parametrize(
    "member, message",
    [
        (b"", "missing the '\\x93NUMPY' magic string"),
        (b"\x93NUMPX\x01\x00", "missing the '\\x93NUMPY' magic string"),
        (b"\x93NUMPY\x04\x00\x00\x00", "unsupported NPY version 4.0"),
        (b"\x93NUMPY\x01\x00\x10", "the header is truncated"),
        (b"\x93NUMPY\x02\x00\x10\x00\x00\x00{}", "the header is truncated"),
        (b"\x93NUMPY\x03\x00\x0e\x00\x00\x00{'descr': '\xff'}", "not valid UTF-8"),
    ],
)
def test_load_npy_array_bad_prefix(member, message):
    assert message in format_error("load_npy_array", as_tensor(member))
    with pytest.raises(metatensor.MetatensorError, match=re.escape(message)):
        _npy.read_array(core_source(member))


TOKENS = st.sampled_from(
    [
        "{", "}", "(", ")", "[", "]", ",", ":", " ", "\t", "\x00",
        "'descr'", '"descr"', "'fortran_order'", "'shape'", "'x'",
        "'<f8'", "'>i4'", "'|u1'", "'=c16'", "'<b1'", "'<f4'",
        "True", "False", "None", "0", "1", "2", "-1", "+3", "99",
        "('a', '<i4')",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TOKENS, max_size=25), st.sampled_from([1, 3]))
def test_load_npy_array_random_headers(tokens, version):
    """Random token sequences are accepted and rejected like core does"""
    header = "".join(tokens)
    with unoptimized():
        for data in (b"", b"\x00" * 16):
            check_like_core(npy_file(header, data, version))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, ), }",
            "{'descr': [('a', '<i4'), ('b', '>i4')], 'fortran_order': False, 'shape': (1,)}",
            "{'shape': (), 'fortran_order': False, 'descr': '>c8'}",
        ]
    ),
    st.integers(0, 80),
    st.sampled_from(" \t\x00'\"(),:[]{}-+0aTF"),
)
def test_load_npy_array_mutated_headers(header, position, character):
    """Headers with one character replaced are accepted and rejected like core"""
    position = position % len(header)
    header = header[:position] + character + header[position + 1 :]
    with unoptimized():
        check_like_core(npy_file(header, b"\x00" * 16))


# ================================================================================== #
#                                    NPY labels                                      #
# ================================================================================== #

LABEL_NAMES = st.lists(
    st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True),
    min_size=1,
    max_size=5,
    unique=True,
)


@HYPOTHESIS
@given(LABEL_NAMES, st.integers(0, 20), st.integers(0, 2**32 - 1))
def test_npy_labels(names, count, seed):
    generator = np.random.default_rng(seed)
    values = generator.integers(-(2**31), 2**31, (count, len(names)), dtype=np.int32)
    chunks = run("npy_labels", names, torch.from_numpy(values))
    expected = _npy.labels_header(names, count) + values.tobytes()
    assert joined(chunks) == expected
    assert joined(
        run("npy_labels", names, torch.from_numpy(values).to(torch.int64))
    ) == (expected)

    loaded_names, loaded = run("load_npy_labels", torch.cat(chunks))
    assert loaded_names == names
    assert loaded.dtype == torch.int32
    assert np.array_equal(loaded.numpy(), values)

    # Labels written by core
    labels = metatensor.Labels(
        names, values[np.unique(values, axis=0, return_index=True)[1]]
    )
    buffer = as_tensor(metatensor.io.save_buffer(labels))
    loaded_names, loaded = run("load_npy_labels", buffer)
    assert loaded_names == names
    assert np.array_equal(loaded.numpy(), labels.values)


def structured(names, types, count=3):
    dtype = np.dtype(list(zip(names, types)))
    return (
        np.arange(count * len(names), dtype=np.int32)
        .view(np.dtype([(n, "<i4") for n in names]))
        .astype(dtype)
    )


@pytest.mark.parametrize(
    "array",
    [
        structured(["a", "b"], ["<i4", "<i4"]),
        structured(["a", "b"], [">i4", ">i4"]),
        structured(["a"], [">i4"], count=0),
        structured(["a", "b"], ["<i4", ">i4"]),
        structured(["a", "b"], ["<i4", "<i8"]),
        structured(["a", "b"], ["<i4", "<u4"]),
        structured(["a", "b"], ["<i4", "<i4"]).reshape(3, 1),
        np.zeros((3, 2), dtype=np.int32),
    ],
)
@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_load_npy_labels_numpy_files(array, version):
    member = numpy_member(array, version)
    try:
        expected_names, expected = _npy.read_labels(core_source(member))
    except metatensor.MetatensorError as core_error:
        assert format_error("load_npy_labels", as_tensor(member)) == str(core_error)
        return
    names, values = run("load_npy_labels", as_tensor(member))
    assert names == expected_names
    assert values.dtype == torch.int32
    assert np.array_equal(values.numpy(), expected)


@pytest.mark.parametrize(
    "header, data",
    [
        ("{'descr': [], 'fortran_order': False, 'shape': (0,)}", b""),
        ("{'descr': [('a', '<i4'), ], 'fortran_order': True, 'shape': (1,)}", b"1234"),
        ("{'descr': [('a', '<i4'), ], 'fortran_order': False, 'shape': (1,)}", b"12"),
        (
            "{'descr': [('a', '<i4'), ], 'fortran_order': False, 'shape': (1,)}",
            b"123456",
        ),
        ("{'descr': [('a', '<i4'), ], 'fortran_order': False, 'shape': ()}", b"1234"),
        (
            "{'descr': [('a', '<i4', ), ], 'fortran_order': False, 'shape': (1,)}",
            b"1234",
        ),
        ("{'descr': [('a', '=i4')], 'fortran_order': False, 'shape': (1,)}", b"1234"),
        ("{'descr': [('a', '<i4', (2,))], 'fortran_order': False, 'shape': (1,)}", b""),
        ("{'descr': [('a',)], 'fortran_order': False, 'shape': (1,)}", b"1234"),
        (
            "{'descr': [('a', '<i4') ('b', '<i4')], 'fortran_order': False, 'shape': (1,)}",
            b"",
        ),
        ("{'descr': [['a', '<i4']], 'fortran_order': False, 'shape': (1,)}", b"1234"),
        ("{'descr': [('a', '<i4'),,], 'fortran_order': False, 'shape': (1,)}", b"1234"),
        ("{'descr': '<i4', 'fortran_order': False, 'shape': (1,)}", b"1234"),
        (
            "{'descr': [('\xe9', '<i4')], 'fortran_order': False, 'shape': (1,)}",
            b"1234",
        ),
    ],
)
def test_load_npy_labels_headers(header, data):
    member = npy_file(header, data)
    try:
        expected_names, expected = _npy.read_labels(core_source(member))
    except metatensor.MetatensorError as core_error:
        message = format_error("load_npy_labels", as_tensor(member))
        if "invalid NPY header" not in message:
            assert message == str(core_error)
        return
    names, values = run("load_npy_labels", as_tensor(member))
    assert names == expected_names
    assert np.array_equal(values.numpy(), expected)


def test_npy_labels_errors():
    message = error("npy_labels", [], torch.zeros((0, 0), dtype=torch.int32))
    assert message == (
        "can not save Labels with zero dimensions (no names): they could not be "
        "loaded back"
    )
    message = error("npy_labels", ["a"], torch.zeros((3, 2), dtype=torch.int32))
    assert message == (
        "Labels values must have a shape of (count, 1) for 1 names, got (3, 2)"
    )
    message = error("npy_labels", ["\u00e9"], torch.zeros((3, 1), dtype=torch.int32))
    assert message == "Labels names must be ASCII, got '\u00e9'"


# ================================================================================== #
#                                    info.json                                       #
# ================================================================================== #

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@HYPOTHESIS
@given(st.dictionaries(TEXT, TEXT, max_size=6))
def test_info_json(info):
    member = run("info_json", info)
    assert as_bytes(member) == _save.info_json(info)
    loaded = run("load_info_json", member)
    assert loaded == info
    assert list(loaded) == sorted(info)

    # other spellings of the same JSON
    for text in [
        json.dumps(info),
        json.dumps(info, ensure_ascii=True),
        json.dumps(info, indent="\t", separators=(" ,", " : ")),
    ]:
        loaded = run("load_info_json", as_tensor(text.encode()))
        assert loaded == info
        assert list(loaded) == list(info)


def test_info_json_escapes():
    info = {"a": 'b"c', "\\": "\n\t\r\x08\x0c\x01\x1f\x7f", "é": "😀", "": ""}
    member = run("info_json", info)
    assert as_bytes(member) == _save.info_json(info)
    assert as_bytes(run("info_json", {})) == b"{}"
    text = b'{"\\ud83d\\ude00\\u00E9\\/": "\\u0000", "a": "1", "a": "2"}'
    assert run("load_info_json", as_tensor(b"\xef\xbb\xbf" + text)) == json.loads(text)


@pytest.mark.parametrize(
    "text, message",
    [
        (b"[]", "'info.json' must contain a JSON object"),
        (b"", "'info.json' must contain a JSON object"),
        (b'"a"', "'info.json' must contain a JSON object"),
        (b'{"a": 1}', "'info.json' values must be strings, got something else for 'a'"),
        (b'{"a": null}', "values must be strings"),
        (b'{"a": {"b": "c"}}', "values must be strings"),
        (b'{"a": "b",}', "invalid JSON in 'info.json': expected a string key"),
        (b'{"a" "b"}', "invalid JSON in 'info.json': expected ':'"),
        (b'{"a": "b" "c": "d"}', "invalid JSON in 'info.json': expected ',' or '}'"),
        (b'{"a": "b"', "invalid JSON in 'info.json': expected ',' or '}'"),
        (b'{"a": "b', "invalid JSON in 'info.json': unterminated string"),
        (b'{"a": "b"} x', "invalid JSON in 'info.json': extra data"),
        (b'{"a": "\n"}', "invalid JSON in 'info.json': invalid control character"),
        (b'{"a": "\\x"}', "invalid JSON in 'info.json': invalid escape"),
        (b'{"a": "\\u12"}', "invalid JSON in 'info.json': invalid \\u escape"),
        (b'{"a": "\\ud800"}', "invalid JSON in 'info.json': unpaired surrogate"),
        (b'{"a": "\\udc00"}', "invalid JSON in 'info.json': invalid \\u escape"),
        (b'{"a": "\xff"}', "invalid JSON in 'info.json': invalid UTF-8"),
        (b'{"a": "\xed\xa0\x80"}', "invalid JSON in 'info.json': invalid UTF-8"),
    ],
)
def test_load_info_json_errors(text, message):
    assert message in format_error("load_info_json", as_tensor(text))


# ================================================================================== #
#                                      TorchScript                                   #
# ================================================================================== #


def test_scripted_functions_survive_save_and_load(tmp_path):
    """The codec works in a saved TorchScript module (as it does with libtorch)"""

    class Codec(torch.nn.Module):
        def forward(self, buffer: torch.Tensor) -> torch.Tensor:
            members = mts.read_zip(buffer)
            names: List[str] = []
            chunks: List[List[torch.Tensor]] = []
            for name, member in members.items():
                names.append(name)
                if name == "info.json":
                    chunks.append([mts.info_json(mts.load_info_json(member))])
                elif name.endswith("values.npy"):
                    chunks.append(mts.npy_array(mts.load_npy_array(member)))
                else:
                    labels_names, values = mts.load_npy_labels(member)
                    chunks.append(mts.npy_labels(labels_names, values))
            return mts.write_zip(names, chunks)

    path = str(tmp_path / "codec.pt")
    torch.jit.save(torch.jit.script(Codec()), path)
    module = torch.jit.load(path)
    data = small_tensor_map()
    assert as_bytes(module(as_tensor(data))) == data
    assert mts.crc32(as_tensor(data)) == zlib.crc32(data)
