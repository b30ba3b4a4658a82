"""Fuzzing the readers of metatensor.torch, eager and compiled, against
metatensor-core's with mutated archives (the mutations of metatensor-core's
``tests/_fuzz.py``).

For every mutated archive, the three readers of each kind (core, eager and
compiled ``load_buffer``, ``load_block_buffer`` and ``load_labels_buffer``) take
the same decision, with one documented exception: DEFLATE members (refused inside
TorchScript). Eager readers raise only ``MetatensorError``, compiled ones only
``ValueError`` and ``RuntimeError`` (a ``torch.jit.Error`` once scripted); what is
accepted is the same data in all readers, gradients of gradients included.

``METATENSOR_FUZZ_EXAMPLES=2000`` gives a longer run.
"""

import importlib.util
import io
import os
import re
import zipfile

import numpy as np
import pytest
import torch
from _utils import JIT_WARNINGS, assert_same, labels
from hypothesis import given

import metatensor
import metatensor.torch as mtt
from metatensor_torch import _mts

pytestmark = JIT_WARNINGS

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_fuzz_helpers():
    path = os.path.join(HERE, "..", "..", "metatensor-core", "tests", "_fuzz.py")
    spec = importlib.util.spec_from_file_location("metatensor_core_fuzz", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz_helpers()


def load_tensor(buffer: torch.Tensor) -> mtt.TensorMap:
    return mtt.load_buffer(buffer)


def load_block(buffer: torch.Tensor) -> mtt.TensorBlock:
    return mtt.load_block_buffer(buffer)


def load_labels(buffer: torch.Tensor) -> mtt.Labels:
    return mtt.load_labels_buffer(buffer)


READERS = {
    "TensorMap": (metatensor.io.load_buffer, load_tensor),
    "TensorBlock": (metatensor.io.load_block_buffer, load_block),
    "Labels": (metatensor.io.load_labels_buffer, load_labels),
}
COMPILED = {kind: torch.jit.script(function) for kind, (_, function) in READERS.items()}


# ================================================================================== #
#                                       seeds                                        #
# ================================================================================== #


def small_block(n_samples: int) -> mtt.TensorBlock:
    xyz = labels(["xyz"], [[0], [1], [2]])
    properties = labels(["n"], [[0], [1]])
    values = torch.arange(n_samples * 6, dtype=torch.float64).reshape(n_samples, 3, 2)
    block = mtt.TensorBlock(
        values, labels(["atom"], [[i] for i in range(n_samples)]), [xyz], properties
    )
    block.add_gradient(
        "positions",
        mtt.TensorBlock(
            torch.ones((n_samples, 3, 3, 2), dtype=torch.float64),
            labels(["sample", "atom"], [[i, i] for i in range(n_samples)]),
            [labels(["direction"], [[0], [1], [2]]), xyz],
            properties,
        ),
    )
    return block


def nested_block() -> bytes:
    """A core block whose gradient has a gradient"""
    block = metatensor.TensorBlock(
        np.ones((1, 1)),
        metatensor.Labels.range("s", 1),
        [],
        metatensor.Labels.range("p", 1),
    )
    gradient = metatensor.TensorBlock(
        np.ones((1, 1)), metatensor.Labels.range("sample", 1), [], block.properties
    )
    gradient.add_gradient(
        "cell",
        metatensor.TensorBlock(
            np.ones((1, 1)), metatensor.Labels.range("sample", 1), [], block.properties
        ),
    )
    block.add_gradient("positions", gradient)
    return bytes(metatensor.io.save_buffer(block))


def deflated(data: bytes) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in source.namelist():
                archive.writestr(name, source.read(name))
    return output.getvalue()


def _seeds() -> dict:
    tensor = mtt.TensorMap(
        labels(["key"], [[0], [1]]), [small_block(1), small_block(2)]
    )
    tensor.set_info("unit", "eV")
    data = bytes(mtt.save_buffer(tensor).numpy())
    return {
        "tensor": data,
        "deflate": deflated(data),
        "block": bytes(mtt.save_buffer(small_block(2)).numpy()),
        "nested": nested_block(),
        "labels": bytes(mtt.save_buffer(tensor.keys).numpy()),
    }


SEEDS = _seeds()


# ================================================================================== #
#                                      readers                                       #
# ================================================================================== #


def as_tensor(data: bytes) -> torch.Tensor:
    return torch.tensor(list(data), dtype=torch.uint8)


def core_outcome(load, data: bytes):
    try:
        return "ok", load(data)
    except metatensor.MetatensorError as error:
        return "error", str(error)


def eager_outcome(load, data: bytes):
    try:
        return "ok", load(as_tensor(data))
    except metatensor.MetatensorError as error:
        return "error", str(error)


def compiled_outcome(kind: str, data: bytes):
    try:
        with torch.jit.optimized_execution(False):
            return "ok", COMPILED[kind](as_tensor(data))
    except torch.jit.Error as error:
        # the compiled code raises ValueError for malformed data, RuntimeError for
        # invalid data (as upstream's data layer: duplicated Labels entries, ...)
        match = re.search(
            r"\nbuiltins\.(ValueError|RuntimeError): (.*)\n$", str(error), re.DOTALL
        )
        assert match is not None, f"not a ValueError or RuntimeError: {error}"
        return "error", match.group(2)


def check_readers(seed: str, data: bytes):
    for kind, (core_load, eager_load) in READERS.items():
        core, core_result = core_outcome(core_load, data)
        eager, eager_result = eager_outcome(eager_load, data)
        compiled, compiled_result = compiled_outcome(kind, data)

        if core == "error":
            assert eager == "error", eager_result
            assert compiled == "error", compiled_result
            continue

        assert eager == "ok", eager_result
        if seed == "deflate" and kind != "Labels":
            assert compiled == "error", compiled_result
            continue
        assert compiled == "ok", compiled_result

        assert_same(eager_result, compiled_result)
        # the same data as core's
        core_bytes = bytes(metatensor.io.save_buffer(core_result))
        assert bytes(mtt.save_buffer(eager_result).numpy()) == core_bytes


# ================================================================================== #
#                                       tests                                        #
# ================================================================================== #


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seeds(seed):
    check_readers(seed, SEEDS[seed])


@fuzz.fuzz_settings(50)
@given(fuzz.mutated(SEEDS))
def test_mutated_archives(example):
    check_readers(*example)


def test_compiled_reader_ignores_unused_members():
    """Like core, members that the data does not need are not read: an invalid
    unknown member is ignored (``read_zip`` refuses the archive)"""
    data = SEEDS["block"]
    corrupted = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        with zipfile.ZipFile(output, "w") as archive:
            for name in names:
                archive.writestr(name, source.read(name))
            archive.writestr("unknown.npy", b"not an NPY file")
    corrupted = bytearray(output.getvalue())
    position = corrupted.index(b"not an NPY file")
    corrupted[position] ^= 0xFF  # an invalid checksum
    check_readers("block", bytes(corrupted))
    assert compiled_outcome("TensorBlock", bytes(corrupted))[0] == "ok"
    with pytest.raises(ValueError, match="invalid checksum for 'unknown.npy'"):
        _mts.read_zip(as_tensor(bytes(corrupted)))
