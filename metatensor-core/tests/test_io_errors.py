"""Tests of the error paths of metatensor.io: malformed, truncated, corrupted or
unexpected files, with the messages users see"""

import io

import numpy as np
import pytest
from _io_utils import (
    HAS_TORCH,
    assert_tensors_equal,
    labels_member,
    make_tensor,
    replace_member,
    requires_torch,
)

import metatensor
from metatensor import Labels, MetatensorError, TensorBlock, TensorMap
from metatensor.io import _npy

if HAS_TORCH:
    import torch

# ================================================================================== #
#                                    error paths                                     #
# ================================================================================== #


def test_wrong_kind_hints(tmp_path):
    tensor = make_tensor()
    block = tensor.block(0)
    labels = tensor.keys
    tensor_buffer = bytes(metatensor.io.save_buffer(tensor))
    block_buffer = bytes(metatensor.io.save_buffer(block))
    labels_buffer = bytes(metatensor.io.save_buffer(labels))

    with pytest.raises(
        MetatensorError,
        match="unable to load a TensorMap from buffer, use `load_block_buffer` to load "
        "TensorBlock: specified file not found in archive: at 'keys.npy'",
    ):
        metatensor.io.load_buffer(block_buffer)
    with pytest.raises(
        MetatensorError,
        match="^serialization format error: unable to load a TensorBlock from buffer, "
        "use `load_buffer` to load TensorMap: specified file not found in archive: "
        "at 'values.npy'",
    ):
        metatensor.io.load_block_buffer(tensor_buffer)
    with pytest.raises(
        MetatensorError,
        match="unable to load a TensorMap from buffer, use `load_labels_buffer` to "
        "load Labels: could not find the end of the central directory",
    ):
        metatensor.io.load_buffer(labels_buffer)
    with pytest.raises(
        MetatensorError,
        match="unable to load Labels from buffer, use `load_buffer` to load TensorMap",
    ):
        metatensor.io.load_labels_buffer(tensor_buffer)
    with pytest.raises(
        MetatensorError,
        match="unable to load Labels from buffer, use `load_block_buffer` to load "
        "TensorBlock",
    ):
        metatensor.io.load_labels_buffer(block_buffer)

    # files
    for name, data in (
        ("t.mts", tensor_buffer),
        ("b.mts", block_buffer),
        ("l.npy", labels_buffer),
    ):
        (tmp_path / name).write_bytes(data)
    with pytest.raises(
        MetatensorError,
        match="unable to load a TensorMap from .*b.mts., use `load_block` to load "
        "TensorBlock",
    ):
        metatensor.io.load(tmp_path / "b.mts")
    with pytest.raises(
        MetatensorError,
        match="unable to load a TensorBlock from .*l.npy., use `load_labels` to load "
        "Labels",
    ):
        metatensor.io.load_block(tmp_path / "l.npy")

    # numpy loader
    with pytest.raises(
        MetatensorError,
        match="unable to load a TensorMap from .*b.mts., use `load_block` to load "
        "TensorBlock: specified file not found in archive: at 'keys.npy'",
    ):
        metatensor.io.load(tmp_path / "b.mts", use_numpy=True)
    with pytest.raises(
        MetatensorError,
        match="unable to load a TensorBlock from buffer, use `load_labels_buffer` to "
        "load Labels: expected a zip archive, got a single NPY array",
    ):
        metatensor.io.load_block_buffer(labels_buffer, use_numpy=True)

    # without a better guess, the error is unchanged
    with pytest.raises(
        MetatensorError,
        match="^serialization format error: could not find the end of the central",
    ):
        metatensor.io.load_buffer(b"not a zip file at all")


def test_truncated_files(tmp_path):
    tensor = make_tensor(gradients=("positions",), info={"a": "b"})
    data = bytes(metatensor.io.save_buffer(tensor))
    cuts = list(range(0, len(data), 97)) + [len(data) - i for i in range(1, 30)]
    for cut in cuts:
        with pytest.raises(MetatensorError, match="^serialization format error: "):
            metatensor.io.load_buffer(data[:cut])

    (tmp_path / "truncated.mts").write_bytes(data[: len(data) // 2])
    with pytest.raises(MetatensorError, match="^serialization format error: "):
        metatensor.io.load(tmp_path / "truncated.mts")
    with pytest.raises(MetatensorError, match="^serialization format error: "):
        metatensor.io.load(tmp_path / "truncated.mts", use_numpy=True)

    labels = bytes(metatensor.io.save_buffer(tensor.keys))
    for cut in range(0, len(labels)):
        with pytest.raises(MetatensorError, match="^serialization format error: "):
            metatensor.io.load_labels_buffer(labels[:cut])


def test_flipped_bytes():
    tensor = make_tensor(n_blocks=1, gradients=("positions",), info={"a": "b"})
    data = bytes(metatensor.io.save_buffer(tensor))
    failures = 0
    for position in range(len(data)):
        corrupted = bytearray(data)
        corrupted[position] ^= 0x55
        try:
            loaded = metatensor.io.load_buffer(bytes(corrupted))
        except MetatensorError:
            failures += 1
        else:
            # only metadata not covered by checksums can be changed silently; an
            # unknown member is ignored, so a corrupted "info.json" name loses info
            assert loaded.info() in (tensor.info(), {})
            loaded.set_info("a", "b")
            assert_tensors_equal(loaded, tensor)
    assert failures > len(data) // 2

    # any change in the data is caught by the checksum
    values = tensor.block(0).values.tobytes()
    corrupted = bytearray(data)
    corrupted[data.index(values) + 5] ^= 0x01
    with pytest.raises(
        MetatensorError, match="invalid checksum for 'blocks/0/values.npy'"
    ):
        metatensor.io.load_buffer(bytes(corrupted))


def test_random_data():
    rng = np.random.default_rng(1)
    for size in (0, 1, 21, 22, 100, 10_000):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        for loader in (metatensor.io.load_buffer, metatensor.io.load_block_buffer):
            with pytest.raises(MetatensorError, match="^serialization format error: "):
                loader(data)
            with pytest.raises(MetatensorError, match="^serialization format error: "):
                loader(data, use_numpy=True)
        with pytest.raises(MetatensorError, match="^serialization format error: "):
            metatensor.io.load_labels_buffer(data)


def test_invalid_content():
    tensor = make_tensor(n_blocks=1, info={"a": "b"})
    buffer = metatensor.io.save_buffer(tensor)

    duplicated = replace_member(
        buffer, "blocks/0/samples.npy", labels_member(["system", "atom"], [[0, 0]] * 1)
    )
    metatensor.io.load_buffer(duplicated)  # one sample is fine
    two_samples = make_tensor(n_blocks=2).block(1)
    buffer = metatensor.io.save_buffer(TensorMap(Labels.single(), [two_samples.copy()]))
    duplicated = replace_member(
        buffer,
        "blocks/0/samples.npy",
        labels_member(["system", "atom"], [[0, 0], [0, 0]]),
    )
    with pytest.raises(
        MetatensorError, match="can not have the same label entry multiple times"
    ):
        metatensor.io.load_buffer(duplicated)

    labels = labels_member(["a"], [[1], [2], [1]])
    with pytest.raises(
        MetatensorError, match="can not have the same label entry multiple times"
    ):
        metatensor.io.load_labels_buffer(labels)
    with pytest.raises(MetatensorError, match="'1a' is not a valid label name"):
        metatensor.io.load_labels_buffer(labels_member(["1a"], [[1]]))

    buffer = metatensor.io.save_buffer(tensor)
    for content, message in (
        (b"[1, 2]", "'info.json' must contain a JSON object"),
        (b'{"a": 1}', "'info.json' values must be strings, got int for 'a'"),
        (b"{not json", "invalid JSON in 'info.json'"),
        (b"\xff\xfe", "invalid JSON in 'info.json'"),
    ):
        for use_numpy in (False, True):
            with pytest.raises(MetatensorError, match=message):
                metatensor.io.load_buffer(
                    replace_member(buffer, "info.json", content), use_numpy=use_numpy
                )

    bad_header = b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8}  "
    with pytest.raises(MetatensorError, match="invalid NPY header"):
        metatensor.io.load_buffer(
            replace_member(buffer, "blocks/0/values.npy", bad_header)
        )

    one_dimensional = _npy.array_header("<f8", (3,)) + b"\x00" * 24
    with pytest.raises(MetatensorError, match="must have at least two dimensions"):
        metatensor.io.load_buffer(
            replace_member(buffer, "blocks/0/values.npy", one_dimensional)
        )

    wrong_keys = replace_member(buffer, "keys.npy", labels_member(["key"], [[0], [1]]))
    with pytest.raises(
        MetatensorError,
        match="specified file not found in archive: at 'blocks/1/values.npy'",
    ):
        metatensor.io.load_buffer(wrong_keys)


def test_pickles_are_never_loaded(monkeypatch):
    # an archive containing a pickled object array
    file = io.BytesIO()
    np.savez(file, keys=np.array([{"a": 1}], dtype=object))
    data = file.getvalue()
    with pytest.raises(
        MetatensorError,
        match="Labels must be stored as a structured array, got a 'descr' of '\\|O'",
    ):
        metatensor.io.load_buffer(data)
    with pytest.raises(MetatensorError, match="serialization format error"):
        metatensor.io.load_buffer(data, use_numpy=True)

    object_values = TensorBlock(
        np.array([[None]], dtype=object), Labels.range("s", 1), [], Labels.range("p", 1)
    )
    for use_numpy in (False, True):
        with pytest.raises(
            MetatensorError, match="can not save arrays with dtype object"
        ):
            metatensor.io.save_buffer(object_values, use_numpy=use_numpy)

    # numpy is always called with allow_pickle=False
    original = np.load
    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return original(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    metatensor.io.load_buffer(
        metatensor.io.save_buffer(make_tensor(), use_numpy=True), use_numpy=True
    )
    assert calls == [False]


@requires_torch
def test_no_file_for_unsupported_data(tmp_path):
    bf16 = TensorBlock(
        torch.zeros((1, 1), dtype=torch.bfloat16),
        Labels.range("s", 1),
        [],
        Labels.range("p", 1),
    )
    tensor = TensorMap(Labels.range("k", 1), [bf16])
    for use_numpy in (False, True):
        path = tmp_path / f"tensor-{use_numpy}.mts"
        with pytest.raises(MetatensorError, match="unsupported DLPack dtype"):
            metatensor.io.save(path, tensor, use_numpy=use_numpy)
        assert not path.exists()


def test_text_files(tmp_path):
    path = tmp_path / "tensor.mts"
    metatensor.io.save(path, make_tensor())
    with open(path, encoding="latin1") as file:
        with pytest.raises(TypeError, match="`file` must be opened in binary mode"):
            metatensor.io.load(file)


def test_numpy_unsupported_values():
    file = io.BytesIO()
    np.savez(
        file,
        values=np.array([["a"]]),
        samples=np.array([(0,)], dtype=[("s", "<i4")]),
        properties=np.array([(0,)], dtype=[("p", "<i4")]),
    )
    with pytest.raises(MetatensorError, match="unsupported data type '<U1' in 'values"):
        metatensor.io.load_block_buffer(file.getvalue(), use_numpy=True)
    with pytest.raises(MetatensorError, match="unsupported data type '<U1'"):
        metatensor.io.load_block_buffer(file.getvalue())
