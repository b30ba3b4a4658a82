"""Malicious and malformed files (decompression bombs, absurd shapes, deep nesting)
and atomic saves, for metatensor.io"""

import io
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
import zlib

import numpy as np
import pytest
from _io_utils import (
    assert_tensors_equal,
    labels_member,
    make_block,
    make_tensor,
    replace_member,
    rewrite_archive,
)

import metatensor
from metatensor import Labels, MetatensorError, TensorBlock, TensorMap
from metatensor.io import _npy, _zip
from metatensor.io._archive import MAX_GRADIENT_DEPTH

# ================================================================================== #
#                               decompression bombs                                  #
# ================================================================================== #


def deflate_zeros(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    parts.append(compressor.compress(bytes(size % len(chunk))))
    parts.append(compressor.flush())
    return b"".join(parts)


def deflate_archive(members) -> bytes:
    """A zip archive of DEFLATE members: ``members`` is a list of ``(name,
    compressed data, declared size, crc)``; the same compressed data used twice is
    stored once, and shared by the members (as in overlapping zip bombs)"""
    local = []
    offsets = {}
    central = []
    position = 0
    for name, data, size, crc in members:
        encoded = name.encode()
        if id(data) not in offsets:
            header = struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x2821, crc, len(data), size,
                len(encoded), 0,
            )  # fmt: skip
            offsets[id(data)] = position
            local.append(header + encoded + data)
            position += len(local[-1])
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                0x32E,
                20,
                0,
                8,
                0,
                0x2821,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0x81A40000,
                offsets[id(data)],
            )  # fmt: skip
            + encoded
        )
    directory = b"".join(central)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory),
        position, 0,
    )  # fmt: skip
    return b"".join(local) + directory + end


BOMB_SCRIPT = textwrap.dedent(
    """
    import resource, sys, zlib
    import metatensor

    data = open(sys.argv[1], "rb").read()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        metatensor.io.load_block_buffer(data, use_numpy=sys.argv[2] == "numpy")
    except metatensor.MetatensorError as error:
        print(str(error).splitlines()[0])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024)  # ru_maxrss is in KiB on Linux
    """
)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A member declaring 0 bytes once inflated, whose 130 kB of data inflate to
    128 MiB"""
    data = deflate_zeros(128 << 20)
    assert len(data) < (128 << 20) // 1000
    path = tmp_path_factory.mktemp("bomb") / "bomb.mts"
    path.write_bytes(deflate_archive([("values.npy", data, 0, 0)]))
    return path


@pytest.mark.skipif(sys.platform != "linux", reason="uses ru_maxrss of Linux")
@pytest.mark.parametrize("reader", ["native", "numpy"])
def test_decompression_bomb_memory(bomb, reader):
    """Before the fix, the native reader inflated all of a member declaring 0
    bytes (a 1 MB file took 2 GB of memory); now it stops after 1 byte"""
    result = subprocess.run(
        [sys.executable, "-c", BOMB_SCRIPT, str(bomb), reader],
        capture_output=True,
        text=True,
        check=True,
    )
    message, growth = result.stdout.splitlines()
    assert message.startswith("serialization format error: ")
    assert "values.npy" in message
    # the process grows by a few MiB at most (reading the file) instead of the 128
    # MiB of inflated data
    assert int(growth) < 32 << 20


def test_inflated_size_must_match():
    content = b"\x93NUMPY" + bytes(100)
    data = zlib.compress(content, wbits=-15)
    crc = zlib.crc32(content)
    valid = deflate_archive([("a", data, len(content), crc)])
    reader = _zip.ZipReader(_zip.BufferSource(valid))
    assert reader.read("a") == content

    for size in (0, len(content) - 1, len(content) + 1):
        archive = deflate_archive([("a", data, size, crc)])
        reader = _zip.ZipReader(_zip.BufferSource(archive))
        with pytest.raises(
            MetatensorError,
            match=f"invalid compressed data for 'a' in archive: it does not inflate to "
            f"the {size} bytes declared in the central directory",
        ):
            reader.read("a")


def test_declared_size_beyond_deflate_ratio():
    data = zlib.compress(bytes(1000), wbits=-15)
    for size in (1032 * len(data) + 1, 2**40, 2**64 - 1):
        archive = deflate_archive([("values.npy", data, size & 0xFFFFFFFF, 0)])
        if size > 0xFFFFFFFF:
            # the size in a ZIP64 extra field of the central directory entry
            archive = _with_zip64_size(archive, size)
        for use_numpy in (False, True):
            with pytest.raises(
                MetatensorError,
                match=f"'values.npy' declares {size} bytes once inflated from "
                f"{len(data)} compressed bytes, more than DEFLATE can produce",
            ):
                metatensor.io.load_block_buffer(archive, use_numpy=use_numpy)


def _with_zip64_size(archive: bytes, size: int) -> bytes:
    """``archive`` (a single member) with the uncompressed size of the central
    entry moved to a ZIP64 extra field"""
    start = archive.index(b"PK\x01\x02")
    end = archive.index(b"PK\x05\x06")
    entry = bytearray(archive[start:end])
    extra = struct.pack("<HHQ", 1, 8, size)
    entry[24:28] = b"\xff\xff\xff\xff"
    entry[30:32] = struct.pack("<H", len(extra))
    eocd = bytearray(archive[end:])
    eocd[12:16] = struct.pack("<I", len(entry) + len(extra))
    return archive[:start] + bytes(entry) + extra + bytes(eocd)


def test_overlapping_members():
    """Members sharing the same compressed data can not inflate to more than 1032
    times the archive size together"""
    content = bytes(1 << 20)
    data = zlib.compress(content, level=9, wbits=-15)
    crc = zlib.crc32(content)
    count = 1032 * len(data) // len(content) + 50
    names = [f"member-{i}" for i in range(count)]
    archive = deflate_archive([(name, data, len(content), crc) for name in names])

    reader = _zip.ZipReader(_zip.BufferSource(archive))
    with pytest.raises(
        MetatensorError,
        match="would make the compressed members of this archive larger than 1032 "
        "times the archive size",
    ):
        for name in names:
            assert reader.read(name) == content


def test_compressed_archives_still_load():
    tensor = make_tensor(info={"a": "b"})
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bytes(metatensor.io.save_buffer(tensor)))) as file:
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in file.namelist():
                archive.writestr(name, file.read(name))
    for use_numpy in (False, True):
        loaded = metatensor.io.load_buffer(output.getvalue(), use_numpy=use_numpy)
        assert_tensors_equal(loaded, tensor)


# ================================================================================== #
#                                malformed content                                   #
# ================================================================================== #


def npy(header: str, data: bytes = b"") -> bytes:
    """An NPY file (version 2.0) with this exact header text"""
    text = header.encode("latin1")
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(text)) + text + data


def block_with_values(member: bytes) -> bytes:
    buffer = metatensor.io.save_buffer(make_block(gradients=()))
    return replace_member(buffer, "values.npy", member)


@pytest.mark.parametrize(
    "shape, data, message",
    [
        ("(1, " * 65 + ")" * 65, b"", "values nested more than 8 levels deep"),
        ("(" + "1, " * 65 + ")", bytes(8), "'shape' has 65 dimensions, at most 64"),
        ("(0, 18446744073709551616)", b"", "'shape' is too large"),
        ("(2, 0, 4611686018427387904)", b"", "'shape' is too large"),
        ("(18446744073709551616, 3)", bytes(8), "expected 442721857769029238784 b"),
    ],
)
def test_absurd_shapes(shape, data, message):
    member = npy(f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}}}", data)
    archive = block_with_values(member)
    with pytest.raises(MetatensorError) as error:
        metatensor.io.load_block_buffer(archive)
    assert str(error.value).startswith("serialization format error: in 'values.npy': ")
    assert message in str(error.value)
    with pytest.raises(MetatensorError, match="values.npy"):
        metatensor.io.load_block_buffer(archive, use_numpy=True)


def test_absurd_labels_shapes():
    header = "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (%s,)}"
    for count, message in (
        (2**64, "expected 73786976294838206464 bytes of data"),
        (2**62, "expected 18446744073709551616 bytes of data"),
    ):
        with pytest.raises(MetatensorError, match=message):
            metatensor.io.load_labels_buffer(npy(header % count))


def test_deeply_nested_npy_header():
    header = "{'descr': " + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(
        MetatensorError,
        match="in 'values.npy': invalid NPY header: values nested more than 8 levels",
    ):
        metatensor.io.load_block_buffer(block_with_values(npy(header)))


def nested_gradients_archive(depth: int) -> bytes:
    """A block with a chain of ``depth`` nested gradients, built member by member
    (the block objects would need as many levels of recursion)"""
    values = np.ones((1, 1))
    members = [
        ("values.npy", _npy.array_header("<f8", (1, 1)) + values.tobytes()),
        ("samples.npy", labels_member(["s"], [[0]])),
        ("properties.npy", labels_member(["p"], [[0]])),
    ]
    prefix = ""
    for _ in range(depth):
        prefix += "gradients/g/"
        members.append((prefix + "values.npy", members[0][1]))
        members.append((prefix + "samples.npy", labels_member(["sample"], [[0]])))
    return zip_members(members)


def zip_members(members) -> bytes:
    """A native archive of ``members``, a list of ``(name, bytes)``"""
    chunks = []
    writer = _zip.ZipWriter(chunks.append)
    for name, data in members:
        writer.add(name, [data])
    writer.finish()
    return b"".join(chunks)


def test_deeply_nested_gradients():
    block = metatensor.io.load_block_buffer(
        nested_gradients_archive(MAX_GRADIENT_DEPTH)
    )
    for _ in range(MAX_GRADIENT_DEPTH):
        block = block.gradient("g")
    assert block.gradients_list() == []

    for depth in (MAX_GRADIENT_DEPTH + 1, 1200):
        archive = nested_gradients_archive(depth)
        with pytest.raises(
            MetatensorError,
            match=f"gradients are nested more than {MAX_GRADIENT_DEPTH} levels deep",
        ):
            metatensor.io.load_block_buffer(archive)
        with pytest.raises(MetatensorError, match="nested more than"):
            metatensor.io.load_block_buffer(archive, use_numpy=True)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"[" * 100_000 + b"]" * 100_000, "values are nested too deeply"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b'{"a": "\\ud800"}', "unpaired surrogate in '\\\\ud800'"),
        (b'{"\\udfff": "b"}', "unpaired surrogate"),
        (b'\xff\xfe{\x00"\x00a\x00"\x00:\x00"\x00b\x00"\x00}\x00', "invalid JSON"),
    ],
)
def test_invalid_info_json(content, message):
    buffer = metatensor.io.save_buffer(make_tensor(n_blocks=1, info={"a": "b"}))
    archive = replace_member(buffer, "info.json", content)
    for use_numpy in (False, True):
        with pytest.raises(MetatensorError, match=message):
            metatensor.io.load_buffer(archive, use_numpy=use_numpy)


def test_info_json_with_byte_order_mark():
    buffer = metatensor.io.save_buffer(make_tensor(n_blocks=1, info={"a": "b"}))
    archive = replace_member(buffer, "info.json", b'\xef\xbb\xbf{"a": "c"}')
    assert metatensor.io.load_buffer(archive).info() == {"a": "c"}


def test_member_names_in_messages():
    buffer = metatensor.io.save_buffer(make_tensor(n_blocks=2))
    for name, content, message in [
        (
            "blocks/1/samples.npy",
            labels_member(["system", "atom"], [[0, 0], [0, 0]]),
            "in 'blocks/1/samples.npy': invalid parameter: can not have the same "
            "label entry",
        ),
        (
            "blocks/0/components/0.npy",
            b"\x93NUMPY\x01\x00\x04\x00{]} ",
            "in 'blocks/0/components/0.npy': invalid NPY header: expected a string "
            "key, got ']'",
        ),
        (
            "blocks/1/gradients/positions/values.npy",
            _npy.array_header("<f8", (1, 1)) + bytes(7),
            "in 'blocks/1/gradients/positions/values.npy': invalid NPY file: expected "
            "8 bytes of data, but only 7 are left",
        ),
        (
            "blocks/0/gradients/positions/samples.npy",
            labels_member(["atom"], [[0], [1]]),
            "in 'blocks/0/gradients/positions/values.npy': invalid parameter: invalid "
            "gradient samples "
            "for 'positions'",
        ),
        (
            "blocks/0/properties.npy",
            labels_member(["n"], [[0]]),
            "in 'blocks/0/values.npy': invalid parameter: the values shape along axis "
            "2 is 2 but we have "
            "1 property label entries",
        ),
    ]:
        with pytest.raises(
            MetatensorError, match=f"^serialization format error: {message}"
        ):
            metatensor.io.load_buffer(replace_member(buffer, name, content))


def test_gradient_parameter_with_a_slash():
    buffer = metatensor.io.save_buffer(make_block(gradients=("a",)))
    archive = rewrite_archive(
        buffer,
        lambda members: [
            (name.replace("gradients/a/", "gradients/a/b/"), data)
            for name, data in members
        ],
    )
    with pytest.raises(
        MetatensorError,
        match="in 'gradients/a/b/values.npy': invalid gradient parameter 'a/b'",
    ):
        metatensor.io.load_block_buffer(archive)


def test_invalid_utf8_member_names():
    buffer = bytearray(metatensor.io.save_buffer(make_block(gradients=())))
    # UTF-8 flag on "values.npy", with an invalid byte in its central entry
    central = buffer.index(b"PK\x01\x02")
    buffer[central + 8 : central + 10] = struct.pack("<H", 0x0800)
    buffer[central + 46] = 0xFF
    with pytest.raises(MetatensorError, match="invalid UTF-8 member name in archive"):
        metatensor.io.load_block_buffer(bytes(buffer))


def test_numpy_reader_checks_the_header_first():
    """numpy allocates the array the header declares: the header is checked
    against the member size first"""
    member = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000000,)}")
    with pytest.raises(
        MetatensorError,
        match="in 'values.npy': invalid NPY file: expected 80000000000000 bytes of "
        "data, but only 0 are left",
    ):
        metatensor.io.load_block_buffer(block_with_values(member), use_numpy=True)


# ================================================================================== #
#                                   atomic saves                                     #
# ================================================================================== #


def test_save_leaves_no_temporary_files(tmp_path):
    tensor = make_tensor()
    for use_numpy in (False, True):
        path = tmp_path / f"data-{use_numpy}.mts"
        metatensor.io.save(path, tensor, use_numpy=use_numpy)
        metatensor.io.save(path, tensor.keys, use_numpy=use_numpy)
        assert isinstance(metatensor.io.load_labels(path), Labels)
    assert sorted(os.listdir(tmp_path)) == ["data-False.mts", "data-True.mts"]


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "data.mts"
    tensor = make_tensor()
    metatensor.io.save(path, tensor)
    previous = path.read_bytes()

    def broken_finish(self):
        raise OSError("disk full")

    monkeypatch.setattr(_zip.ZipWriter, "finish", broken_finish)
    with pytest.raises(OSError, match="disk full"):
        metatensor.io.save(path, make_tensor(n_blocks=1))
    assert path.read_bytes() == previous
    assert os.listdir(tmp_path) == ["data.mts"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions and symbolic links")
def test_save_keeps_permissions_and_follows_links(tmp_path):
    path = tmp_path / "data.mts"
    metatensor.io.save(path, make_tensor())
    os.chmod(path, 0o640)
    metatensor.io.save(path, make_tensor(n_blocks=1))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640

    link = tmp_path / "link.mts"
    link.symlink_to(path)
    metatensor.io.save(link, make_tensor(n_blocks=3))
    assert link.is_symlink()
    assert len(metatensor.io.load(path)) == 3


def test_mmap_keeps_the_content_of_replaced_files(tmp_path):
    path = tmp_path / "data.mts"
    block = TensorBlock(
        np.full((1000, 10), 1.0), Labels.range("s", 1000), [], Labels.range("p", 10)
    )
    metatensor.io.save(path, TensorMap(Labels.single(), [block]))
    loaded = metatensor.io.load(path, mmap=True)

    block = TensorBlock(
        np.full((1000, 10), 2.0), Labels.range("s", 1000), [], Labels.range("p", 10)
    )
    metatensor.io.save(path, TensorMap(Labels.single(), [block]))
    np.testing.assert_array_equal(loaded.block(0).values, np.full((1000, 10), 1.0))
    assert metatensor.io.load(path).block(0).values[0, 0] == 2.0


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import metatensor
    from metatensor import Labels, TensorBlock, TensorMap

    def tensor(value):
        block = TensorBlock(
            np.full((250_000, 20), value),
            Labels.range("s", 250_000),
            [],
            Labels.range("p", 20),
        )
        return TensorMap(Labels.single(), [block])

    path, use_numpy = sys.argv[1], sys.argv[2] == "numpy"
    tensors = [tensor(1.0), tensor(2.0)]
    i = 0
    while True:
        metatensor.io.save(path, tensors[i % 2], use_numpy=use_numpy)
        print("saved", flush=True)
        i += 1
    """
)


def kill_writer_at_random_moments(command, load, trials: int):
    """Run ``command`` (saving 40 MB alternately full of 1 and of 2 to the same file
    in a loop, printing "saved" after each save) and kill it with SIGKILL at a
    random moment after the first save, ``trials`` times; ``load`` must then find
    a complete file each time. Returns the values found."""
    rng = np.random.default_rng(trials)
    found = []
    for _ in range(trials):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout.readline() == "saved\n"
            time.sleep(rng.uniform(0.0, 0.5))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stdout.close()
        values = load()
        assert values.shape == (250_000, 20)
        assert values[0, 0] in (1.0, 2.0)
        assert (values == values[0, 0]).all()
        found.append(float(values[0, 0]))
    return found


@pytest.mark.skipif(os.name == "nt", reason="uses SIGKILL")
@pytest.mark.parametrize("writer", ["native", "numpy"])
def test_killed_save_leaves_a_complete_file(tmp_path, writer):
    """Saving over a file is atomic: when the process is killed, the file is the
    old one or the new one, complete (it was empty or truncated before the fix)"""
    path = tmp_path / "data.mts"
    use_numpy = writer == "numpy"
    kill_writer_at_random_moments(
        [sys.executable, "-c", KILLED_WRITER, str(path), writer],
        lambda: metatensor.io.load(path, use_numpy=use_numpy).block(0).values,
        trials=3,
    )
