"""Fuzzing the readers of metatensor.io with mutated archives (see ``_fuzz.py``).

For every mutated archive and every reader (``load_buffer``, ``load_block_buffer``,
``load_labels_buffer``), the reader returns or raises ``MetatensorError``, never
anything else; reading the same data from a file gives the same decision;
``use_numpy=True`` also raises only ``MetatensorError``; the memory used stays
bounded by the archive size (DEFLATE members can inflate to 1032 times their
size); and whatever is accepted can be saved and loaded back.

``METATENSOR_FUZZ_EXAMPLES=2000`` gives a longer run.
"""

import io
import tracemalloc
import zipfile

import numpy as np
import pytest
from _fuzz import fuzz_settings, mutated
from _io_utils import make_block, make_tensor
from hypothesis import given

import metatensor
from metatensor import MetatensorError
from metatensor.io._zip import MAX_DEFLATE_RATIO

READERS = {
    "TensorMap": (metatensor.io.load_buffer, metatensor.io.load),
    "TensorBlock": (metatensor.io.load_block_buffer, metatensor.io.load_block),
    "Labels": (metatensor.io.load_labels_buffer, metatensor.io.load_labels),
}


def deflated(data: bytes) -> bytes:
    """The same archive with DEFLATE members, as ``numpy.savez_compressed`` writes"""
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in source.namelist():
                archive.writestr(name, source.read(name))
    return output.getvalue()


def _seeds() -> dict:
    tensor = make_tensor(n_blocks=2, info={"unit": "eV"})
    native = bytes(metatensor.io.save_buffer(tensor))
    return {
        "tensor": native,
        "tensor-numpy": bytes(metatensor.io.save_buffer(tensor, use_numpy=True)),
        "tensor-deflate": deflated(native),
        "block": bytes(metatensor.io.save_buffer(make_block(n_samples=2))),
        "nested": bytes(
            metatensor.io.save_buffer(make_block(n_samples=1, nested=True))
        ),
        "labels": bytes(metatensor.io.save_buffer(tensor.keys)),
    }


SEEDS = _seeds()


def outcome(function, *args):
    """``("ok", result)`` or ``("error", message)``: only MetatensorError is
    expected from the readers"""
    try:
        return "ok", function(*args)
    except MetatensorError as error:
        return "error", str(error)


def test_seeds_are_valid():
    for name, data in SEEDS.items():
        kind = "Labels" if name == "labels" else "TensorBlock"
        kind = "TensorMap" if name.startswith("tensor") else kind
        READERS[kind][0](data)


@fuzz_settings(100)
@given(mutated(SEEDS))
def test_mutated_archives(tmp_path_factory, example):
    _, data = example
    path = tmp_path_factory.mktemp("fuzz") / "data.mts"
    path.write_bytes(data)
    for kind, (load_buffer, load) in READERS.items():
        tracemalloc.start()
        try:
            decision, result = outcome(load_buffer, data)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak <= MAX_DEFLATE_RATIO * len(data) + (4 << 20)

        assert outcome(load, path)[0] == decision
        if kind != "Labels":
            outcome(load_buffer, data, True)  # use_numpy=True

        if decision == "ok":
            # anything loaded can be saved and loaded back
            saved = metatensor.io.save_buffer(result)
            assert outcome(load_buffer, saved)[0] == "ok"


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_truncated_seeds(name):
    """Every truncation of every seed is refused by every reader"""
    data = SEEDS[name]
    for size in np.linspace(0, len(data) - 1, 40, dtype=np.int64):
        for load_buffer, _ in READERS.values():
            assert outcome(load_buffer, data[:size])[0] == "error"
