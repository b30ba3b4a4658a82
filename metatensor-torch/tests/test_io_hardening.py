"""Malformed files in metatensor.torch, eager and compiled: gradients nested too
deeply, missing members and member names in messages; and atomic saves"""

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
import torch
from _utils import JIT_WARNINGS, assert_same

import metatensor
import metatensor.torch as mtt
from metatensor.io import _npy, _zip

pytestmark = JIT_WARNINGS


def load_tensor(buffer: torch.Tensor) -> mtt.TensorMap:
    return mtt.load_buffer(buffer)


def load_block(buffer: torch.Tensor) -> mtt.TensorBlock:
    return mtt.load_block_buffer(buffer)


COMPILED = {
    "TensorMap": torch.jit.script(load_tensor),
    "TensorBlock": torch.jit.script(load_block),
}
EAGER = {"TensorMap": mtt.load_buffer, "TensorBlock": mtt.load_block_buffer}


def as_tensor(data) -> torch.Tensor:
    return torch.tensor(list(bytes(data)), dtype=torch.uint8)


def compiled_error(kind: str, data) -> str:
    """The message of the ValueError raised by the compiled reader"""
    with pytest.raises(torch.jit.Error) as error:
        with torch.jit.optimized_execution(False):
            COMPILED[kind](as_tensor(data))
    match = re.search(r"\nbuiltins\.ValueError: (.*)\n$", str(error.value), re.DOTALL)
    assert match is not None, str(error.value)
    return match.group(1)


def eager_error(kind: str, data) -> str:
    with pytest.raises(ValueError) as error:
        EAGER[kind](as_tensor(data))
    return str(error.value)


def zip_members(members) -> bytes:
    chunks = []
    writer = _zip.ZipWriter(chunks.append)
    for name, data in members:
        writer.add(name, [data])
    writer.finish()
    return b"".join(chunks)


def archive_members(data) -> list:
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]


def core_block(n_samples=2) -> metatensor.TensorBlock:
    block = metatensor.TensorBlock(
        np.ones((n_samples, 2)),
        metatensor.Labels.range("s", n_samples),
        [],
        metatensor.Labels.range("p", 2),
    )
    gradient = metatensor.TensorBlock(
        np.ones((n_samples, 3, 2)),
        metatensor.Labels.range("sample", n_samples),
        [metatensor.Labels.range("xyz", 3)],
        block.properties,
    )
    block.add_gradient("positions", gradient)
    return block


# ================================================================================== #
#                               deeply nested archives                               #
# ================================================================================== #


def nested_gradients_archive(depth: int) -> bytes:
    """A block with a chain of ``depth`` nested gradients"""
    values = _npy.array_header("<f8", (1, 1)) + bytes(8)
    members = [
        ("values.npy", values),
        ("samples.npy", _npy.labels_header(["s"], 1) + bytes(4)),
        ("properties.npy", _npy.labels_header(["p"], 1) + bytes(4)),
    ]
    prefix = ""
    for _ in range(depth):
        prefix += "gradients/g/"
        samples = _npy.labels_header(["sample"], 1) + bytes(4)
        members += [(prefix + "values.npy", values), (prefix + "samples.npy", samples)]
    return zip_members(members)


def test_deeply_nested_archives():
    """Gradients nested more than 16 levels deep (1200 of them) and a deeply nested
    info.json raise the usual errors (the compiled reader gets fewer nested
    gradients: it decodes the 17 MB of member names of 1200 levels byte by byte,
    which takes a while)"""
    message = (
        "serialization format error: in '"
        + "gradients/g/" * 17
        + "': gradients are nested more than 16 levels deep"
    )
    assert eager_error("TensorBlock", nested_gradients_archive(1200)) == message
    assert compiled_error("TensorBlock", nested_gradients_archive(17)) == message
    # 16 levels are fine
    archive = as_tensor(nested_gradients_archive(16))
    with torch.jit.optimized_execution(False):
        compiled = COMPILED["TensorBlock"](archive)
    eager = EAGER["TensorBlock"](archive)
    assert_same(eager, compiled)
    for _ in range(16):
        eager = eager.gradient("g")
    assert eager.gradients_list() == []

    data = metatensor.io.save_buffer(
        metatensor.TensorMap(metatensor.Labels.single(), [core_block()])
    )
    deep = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    archive = zip_members(archive_members(data) + [("info.json", deep)])
    assert "values are nested too deeply" in eager_error("TensorMap", archive)
    assert compiled_error("TensorMap", archive) == (
        "serialization format error: 'info.json' values must be strings, got "
        "something else for 'a'"
    )


# ================================================================================== #
#                               missing and bad members                              #
# ================================================================================== #


def test_missing_members_are_named():
    data = bytes(metatensor.io.save_buffer(core_block()))
    for missing in ("gradients/positions/components/0.npy", "properties.npy"):
        members = [(n, d) for n, d in archive_members(data) if n != missing]
        archive = zip_members(members)
        expected = f"serialization format error: specified file not found in archive: at '{missing}'"
        assert eager_error("TensorBlock", archive) == expected
        assert compiled_error("TensorBlock", archive) == expected


def test_values_with_one_dimension():
    data = bytes(metatensor.io.save_buffer(core_block()))
    values = _npy.array_header("<f8", (2,)) + bytes(16)
    members = [
        (n, values if n == "values.npy" else d) for n, d in archive_members(data)
    ]
    expected = (
        "serialization format error: the values in 'values.npy' must have at least "
        "two dimensions, got a shape of (2,)"
    )
    assert eager_error("TensorBlock", zip_members(members)) == expected
    assert compiled_error("TensorBlock", zip_members(members)) == expected


@pytest.mark.parametrize(
    "shape, data, message",
    [
        ("(" + "1, " * 65 + ")", bytes(8), "'shape' has 65 dimensions, at most 64"),
        ("(0, 18446744073709551616, )", b"", ""),
        ("(0, 1000000000000000000, 2, )", b"", "'shape' is too large"),
    ],
)
def test_absurd_shapes(shape, data, message):
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}}}"
    text = header.encode()
    member = b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data
    members = archive_members(metatensor.io.save_buffer(core_block()))
    archive = zip_members([(n, member if n == "values.npy" else d) for n, d in members])
    for error in (
        eager_error("TensorBlock", archive),
        compiled_error("TensorBlock", archive),
    ):
        assert error.startswith(
            "serialization format error: in 'values.npy': invalid NPY header: "
        )
        assert message in error


def test_gradients_in_sorted_order():
    """Old upstream versions wrote the gradients in any order: every reader sorts
    them, as core does"""
    block = core_block()
    block.add_gradient(
        "cell",
        metatensor.TensorBlock(
            np.ones((2, 2)), metatensor.Labels.range("sample", 2), [], block.properties
        ),
    )
    members = archive_members(metatensor.io.save_buffer(block))
    cell = [m for m in members if m[0].startswith("gradients/cell/")]
    others = [m for m in members if not m[0].startswith("gradients/cell/")]
    archive = zip_members(others + cell)
    eager = mtt.load_block_buffer(as_tensor(archive))
    with torch.jit.optimized_execution(False):
        compiled = COMPILED["TensorBlock"](as_tensor(archive))
    assert eager.gradients_list() == compiled.gradients_list() == ["cell", "positions"]
    assert_same(eager, compiled)


# ================================================================================== #
#                                   atomic saves                                     #
# ================================================================================== #


def test_save_leaves_no_temporary_files(tmp_path):
    block = mtt.load_block_buffer(as_tensor(metatensor.io.save_buffer(core_block())))
    path = tmp_path / "block.mts"
    mtt.save(path, block)
    mtt.save(str(path), block)
    assert os.listdir(tmp_path) == ["block.mts"]
    assert_same(mtt.load_block(path), block)


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    import torch
    import metatensor.torch as mtt

    def tensor(value):
        block = mtt.TensorBlock(
            torch.full((250_000, 20), value, dtype=torch.float64),
            mtt.Labels.range("s", 250_000),
            [],
            mtt.Labels.range("p", 20),
        )
        return mtt.TensorMap(mtt.Labels.single(), [block])

    tensors = [tensor(1.0), tensor(2.0)]
    i = 0
    while True:
        mtt.save(sys.argv[1], tensors[i % 2])
        print("saved", flush=True)
        i += 1
    """
)


@pytest.mark.skipif(os.name == "nt", reason="uses SIGKILL")
def test_killed_save_leaves_a_complete_file(tmp_path):
    """Saving over a file is atomic: when the process is killed, the file is the
    old one or the new one, complete. Two writers run at the same time (importing
    metatensor.torch takes a while), each killed at a random moment."""
    paths = [tmp_path / f"data-{i}.mts" for i in range(2)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for path in paths
    ]
    rng = np.random.default_rng(3)
    try:
        for process in processes:
            assert process.stdout.readline() == "saved\n"
            time.sleep(rng.uniform(0.0, 0.5))
            process.send_signal(signal.SIGKILL)
    finally:
        for process in processes:
            process.kill()
            process.wait()
            process.stdout.close()

    for path in paths:
        values = mtt.load(path).block(0).values
        assert values.shape == (250_000, 20)
        assert values[0, 0] in (1.0, 2.0)
        assert bool((values == values[0, 0]).all())


def _load_labels_compiled(buffer: torch.Tensor) -> mtt.Labels:
    return mtt.load_labels_buffer(buffer)


def _labels_state_compiled(state: torch.Tensor) -> mtt.Labels:
    labels = mtt.Labels.single()
    labels.__setstate__(state)
    return labels


def test_duplicated_labels_in_files_are_refused():
    """every reader checks the entries of Labels it loads for duplicates"""
    labels = metatensor.Labels(["key"], np.array([[0], [1]], dtype=np.int32))
    data = bytearray(bytes(metatensor.io.save_buffer(labels)))
    data[data.rfind(b"\x01\x00\x00\x00")] = 0  # the entry 1 becomes 0
    buffer = torch.tensor(list(data), dtype=torch.uint8)
    message = "can not have the same label entry multiple times: \\[0\\]"
    with pytest.raises(metatensor.MetatensorError, match=message):
        metatensor.io.load_labels_buffer(bytes(data))
    with pytest.raises(ValueError, match=message):
        mtt.load_labels_buffer(buffer)
    with pytest.raises(torch.jit.Error, match=message):
        torch.jit.script(_load_labels_compiled)(buffer)
    with pytest.raises(torch.jit.Error, match=message):
        torch.jit.script(_labels_state_compiled)(buffer)
