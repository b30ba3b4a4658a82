"""Tests of the public functions of metatensor.io: save, load and friends"""

import io
import json
import os
import pathlib
import pickle
import warnings
import zipfile

import numpy as np
import pytest
from _io_utils import (
    ALL_DTYPES,
    HAS_TORCH,
    as_numpy,
    assert_blocks_equal,
    assert_labels_equal,
    assert_tensors_equal,
    loaded_arrays,
    make_block,
    make_labels,
    make_tensor,
    random_values,
    requires_torch,
    rewrite_archive,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metatensor
from metatensor import Labels, MetatensorError, TensorBlock, TensorMap
from metatensor.io import _npy

if HAS_TORCH:
    import torch

# files written by upstream metatensor, with a JSON description of each
FIXTURES = pathlib.Path(__file__).parent / "data" / "upstream"
FIXTURE_NAMES = sorted(json.loads((FIXTURES / "INDEX.json").read_text()))


def _check_json_labels(labels, expected):
    assert labels.names == expected["names"]
    values = np.array(expected["values"], dtype=np.int32).reshape(
        -1, len(expected["names"])
    )
    np.testing.assert_array_equal(as_numpy(labels.values), values)


def _check_json_block(block, expected):
    values = as_numpy(block.values)
    assert values.dtype == np.dtype(expected["dtype"])
    assert list(values.shape) == expected["shape"]
    reference = np.array(expected["values"], dtype=expected["dtype"]).reshape(
        expected["shape"]
    )
    np.testing.assert_array_equal(values, reference)
    _check_json_labels(block.samples, expected["samples"])
    assert len(block.components) == len(expected["components"])
    for component, reference in zip(
        block.components, expected["components"], strict=True
    ):
        _check_json_labels(component, reference)
    _check_json_labels(block.properties, expected["properties"])
    assert sorted(block.gradients_list()) == sorted(expected["gradients"])
    for parameter, gradient in expected["gradients"].items():
        _check_json_block(block.gradient(parameter), gradient)


# ================================================================================== #
#                            upstream fixtures and bytes                             #
# ================================================================================== #

_LOADERS = {
    "TensorMap": metatensor.io.load,
    "TensorBlock": metatensor.io.load_block,
    "Labels": metatensor.io.load_labels,
}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixtures_content(name):
    description = json.loads((FIXTURES / f"{name}.json").read_text())
    kind = description["kind"]
    loaded = _LOADERS[kind](FIXTURES / f"{name}.mts")
    if kind == "Labels":
        _check_json_labels(loaded, description)
    elif kind == "TensorBlock":
        _check_json_block(loaded, description)
    else:
        _check_json_labels(loaded.keys, description["keys"])
        assert len(loaded) == len(description["blocks"])
        for block, expected in zip(loaded.blocks(), description["blocks"], strict=True):
            _check_json_block(block, expected)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixtures_bytes(name, tmp_path):
    kind = json.loads((FIXTURES / f"{name}.json").read_text())["kind"]
    path = FIXTURES / f"{name}.mts"
    expected = path.read_bytes()
    loaded = _LOADERS[kind](path)

    assert bytes(metatensor.io.save_buffer(loaded)) == expected
    metatensor.io.save(tmp_path / "saved.mts", loaded)
    assert (tmp_path / "saved.mts").read_bytes() == expected
    file = io.BytesIO()
    metatensor.io.save(file, loaded)
    assert file.getvalue() == expected

    # loading through every path gives the same data
    if kind == "Labels":
        assert_labels_equal(metatensor.io.load_labels_buffer(expected), loaded)
    elif kind == "TensorBlock":
        assert_blocks_equal(metatensor.io.load_block(path, use_numpy=True), loaded)
        assert_blocks_equal(metatensor.io.load_block(path, mmap=True), loaded)
    else:
        assert_tensors_equal(metatensor.io.load(path, use_numpy=True), loaded)
        assert_tensors_equal(metatensor.io.load(path, mmap=True), loaded)
        assert_tensors_equal(metatensor.io.load_buffer(expected), loaded)


def test_small_block_size():
    # SPEC: a 1x1 float64 block is 780 bytes
    block = TensorBlock(
        np.zeros((1, 1)), Labels.range("s", 1), [], Labels.range("p", 1)
    )
    assert len(metatensor.io.save_buffer(block)) == 780


def test_info_bytes():
    tensor = make_tensor(n_blocks=1, info={"units": "eV", "a": 'b"c'})
    with zipfile.ZipFile(io.BytesIO(metatensor.io.save_buffer(tensor))) as file:
        assert file.namelist()[-1] == "info.json"
        assert file.read("info.json") == b'{\n  "a": "b\\"c",\n  "units": "eV"\n}'

    tensor = make_tensor(n_blocks=1, info={"z": "é\n\t\\", "b": "\x01"})
    with zipfile.ZipFile(io.BytesIO(metatensor.io.save_buffer(tensor))) as file:
        assert file.read("info.json") == (
            '{\n  "b": "\\u0001",\n  "z": "é\\n\\t\\\\"\n}'.encode()
        )

    # no info.json without info
    with zipfile.ZipFile(io.BytesIO(metatensor.io.save_buffer(make_tensor()))) as file:
        assert "info.json" not in file.namelist()


def test_member_layout():
    tensor = make_tensor(n_blocks=1, gradients=("strain", "positions"), nested=True)
    with zipfile.ZipFile(io.BytesIO(metatensor.io.save_buffer(tensor))) as file:
        names = file.namelist()
    prefix = "blocks/0/"
    gradient = ["values.npy", "samples.npy", "components/0.npy", "components/1.npy"]
    nested = ["values.npy", "samples.npy"] + [f"components/{i}.npy" for i in range(3)]
    assert names == (
        ["keys.npy"]
        + [prefix + n for n in ["values.npy", "samples.npy", "components/0.npy"]]
        + [prefix + "properties.npy"]
        # gradients are sorted by name, with no properties
        + [prefix + "gradients/positions/" + n for n in gradient]
        + [prefix + "gradients/positions/gradients/strain/" + n for n in nested]
        + [prefix + "gradients/strain/" + n for n in gradient]
        + [prefix + "gradients/strain/gradients/strain/" + n for n in nested]
    )


# ================================================================================== #
#                                    round trips                                     #
# ================================================================================== #


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_dtypes(dtype):
    tensor = make_tensor(dtype)
    buffer = metatensor.io.save_buffer(tensor)
    descr = _npy.array_descr(np.dtype(dtype))
    with zipfile.ZipFile(io.BytesIO(buffer)) as file:
        header = file.read("blocks/0/values.npy")[:128]
    assert f"'descr': '{descr}'".encode() in header

    assert_tensors_equal(metatensor.io.load_buffer(buffer), tensor)
    assert_tensors_equal(metatensor.io.load_buffer(buffer, use_numpy=True), tensor)

    numpy_buffer = metatensor.io.save_buffer(tensor, use_numpy=True)
    assert_tensors_equal(metatensor.io.load_buffer(numpy_buffer), tensor)
    assert_tensors_equal(
        metatensor.io.load_buffer(numpy_buffer, use_numpy=True), tensor
    )


def test_empty_blocks_and_maps():
    block = TensorBlock(
        np.zeros((0, 3, 0)),
        Labels.empty(["system", "atom"]),
        [make_labels(["xyz"], [[0], [1], [2]])],
        Labels.empty(["n"]),
    )
    tensor = TensorMap(make_labels(["key"], [[4]]), [block])
    for use_numpy in (False, True):
        buffer = metatensor.io.save_buffer(tensor, use_numpy=use_numpy)
        assert_tensors_equal(metatensor.io.load_buffer(buffer), tensor)
        assert_tensors_equal(metatensor.io.load_buffer(buffer, use_numpy=True), tensor)

    empty = TensorMap(Labels.empty(["a", "b"]), [])
    buffer = metatensor.io.save_buffer(empty)
    with zipfile.ZipFile(io.BytesIO(buffer)) as file:
        assert file.namelist() == ["keys.npy"]
    for use_numpy in (False, True):
        buffer = metatensor.io.save_buffer(empty, use_numpy=use_numpy)
        loaded = metatensor.io.load_buffer(buffer, use_numpy=use_numpy)
        assert len(loaded) == 0
        assert loaded.keys.names == ["a", "b"]


def test_nested_gradients():
    tensor = make_tensor(n_blocks=2, gradients=("positions", "cell"), nested=True)
    for use_numpy in (False, True):
        buffer = metatensor.io.save_buffer(tensor, use_numpy=use_numpy)
        loaded = metatensor.io.load_buffer(buffer, use_numpy=use_numpy)
        assert_tensors_equal(loaded, tensor)
        gradient = loaded.block(0).gradient("positions")
        assert gradient.gradients_list() == ["strain"]
        assert gradient.gradient("strain").properties.names == ["n"]

    block = make_block(gradients=("positions",), nested=True)
    assert_blocks_equal(
        metatensor.io.load_block_buffer(metatensor.io.save_buffer(block)), block
    )


def test_gradient_names():
    # the empty parameter name round trips, as do non-ASCII ones
    tensor = make_tensor(gradients=("", "é", "positions"))
    buffer = metatensor.io.save_buffer(tensor)
    loaded = metatensor.io.load_buffer(buffer)
    assert loaded.block(0).gradients_list() == ["", "positions", "é"]
    assert_tensors_equal(loaded, tensor)
    loaded = metatensor.io.load_buffer(
        metatensor.io.save_buffer(tensor, use_numpy=True), use_numpy=True
    )
    assert_tensors_equal(loaded, tensor)


def test_member_order_does_not_matter():
    tensor = make_tensor(
        n_blocks=3, gradients=("positions", "cell", "strain"), nested=True
    )
    buffer = metatensor.io.save_buffer(tensor)
    shuffled = rewrite_archive(buffer, lambda members: members[::-1])
    loaded = metatensor.io.load_buffer(shuffled)
    assert_tensors_equal(loaded, tensor)
    assert loaded.block(0).gradients_list() == ["cell", "positions", "strain"]
    # and saving again gives the canonical order
    assert bytes(metatensor.io.save_buffer(loaded)) == bytes(buffer)


@pytest.mark.parametrize(
    "info",
    [
        {"units": "eV"},
        {"é": "ça va ? 🚀", "quotes": "'\"", "newlines": "a\nb\r\nc", "": ""},
        {"control": "\x00\x1f\x7f", "backslash": "\\n", "unicode": "\u2028"},
    ],
)
def test_info(info):
    tensor = make_tensor(info=info)
    for save_numpy in (False, True):
        buffer = metatensor.io.save_buffer(tensor, use_numpy=save_numpy)
        for load_numpy in (False, True):
            loaded = metatensor.io.load_buffer(buffer, use_numpy=load_numpy)
            assert loaded.info() == info


def test_info_numpy_insertion_order():
    tensor = make_tensor(info={"z": "1", "a": "é"})
    buffer = metatensor.io.save_buffer(tensor, use_numpy=True)
    with zipfile.ZipFile(io.BytesIO(buffer)) as file:
        assert file.read("info.json") == b'{\n  "z": "1",\n  "a": "\\u00e9"\n}'


def test_numpy_members():
    tensor = make_tensor(n_blocks=1, gradients=("positions",))
    buffer = metatensor.io.save_buffer(tensor, use_numpy=True)
    with np.load(io.BytesIO(buffer), allow_pickle=False) as npz:
        assert npz.files == [
            "keys",
            "blocks/0/values",
            "blocks/0/samples",
            "blocks/0/components/0",
            "blocks/0/properties",
            "blocks/0/gradients/positions/values",
            "blocks/0/gradients/positions/samples",
            "blocks/0/gradients/positions/components/0",
            "blocks/0/gradients/positions/components/1",
        ]
        assert npz["keys"].dtype == np.dtype([("key", "<i4")])


def test_deflate_archives():
    tensor = make_tensor(gradients=("positions",), info={"a": "b"})
    buffer = metatensor.io.save_buffer(tensor)
    with zipfile.ZipFile(io.BytesIO(buffer)) as file:
        members = [(name, file.read(name)) for name in file.namelist()]
    compressed = io.BytesIO()
    with zipfile.ZipFile(compressed, "w", compression=zipfile.ZIP_DEFLATED) as file:
        for name, data in members:
            file.writestr(name, data)
    assert_tensors_equal(metatensor.io.load_buffer(compressed.getvalue()), tensor)

    # numpy's own compressed archives load too
    arrays = {}
    with np.load(io.BytesIO(metatensor.io.save_buffer(tensor, use_numpy=True))) as npz:
        for name in npz.files:
            if name != "info.json":
                arrays[name] = npz[name]
    file = io.BytesIO()
    np.savez_compressed(file, **arrays)
    loaded = metatensor.io.load_buffer(file.getvalue())
    tensor_without_info = make_tensor(gradients=("positions",))
    assert_tensors_equal(loaded, tensor_without_info)


def test_big_endian_numpy_archive():
    tensor = make_tensor()
    arrays = {}
    with np.load(io.BytesIO(metatensor.io.save_buffer(tensor, use_numpy=True))) as npz:
        for name in npz.files:
            array = npz[name]
            arrays[name] = array.astype(array.dtype.newbyteorder(">"))
    file = io.BytesIO()
    np.savez(file, **arrays)
    loaded = metatensor.io.load_buffer(file.getvalue())
    assert_tensors_equal(loaded, tensor)
    assert loaded.block(0).values.dtype == np.dtype("=f8")


def test_non_contiguous_and_swapped_values():
    values = np.arange(24, dtype=np.float64).reshape(4, 6)[:, ::2]
    block = TensorBlock(values, Labels.range("s", 4), [], Labels.range("p", 3))
    loaded = metatensor.io.load_block_buffer(metatensor.io.save_buffer(block))
    np.testing.assert_array_equal(loaded.values, values)

    swapped = np.arange(6, dtype=">i8").reshape(2, 3)
    block = TensorBlock(swapped, Labels.range("s", 2), [], Labels.range("p", 3))
    buffer = metatensor.io.save_buffer(block)
    assert b"'descr': '<i8'" in bytes(buffer[:200])
    np.testing.assert_array_equal(
        metatensor.io.load_block_buffer(buffer).values, swapped
    )


# ================================================================================== #
#                              files, paths and buffers                              #
# ================================================================================== #


@pytest.mark.parametrize("as_path", [str, pathlib.Path])
def test_paths(tmp_path, as_path):
    tensor = make_tensor(info={"a": "b"})
    path = tmp_path / "tensor.mts"
    metatensor.io.save(as_path(path), tensor)
    assert_tensors_equal(metatensor.io.load(as_path(path)), tensor)
    assert_tensors_equal(metatensor.io.load(as_path(path), use_numpy=True), tensor)
    assert_tensors_equal(TensorMap.load(as_path(path)), tensor)

    block = tensor.block(0)
    metatensor.io.save(as_path(tmp_path / "block.mts"), block)
    assert_blocks_equal(
        metatensor.io.load_block(as_path(tmp_path / "block.mts")), block
    )

    labels = tensor.keys
    metatensor.io.save(as_path(tmp_path / "labels.mts"), labels)
    assert_labels_equal(
        metatensor.io.load_labels(as_path(tmp_path / "labels.mts")), labels
    )


def test_extension_warning(tmp_path):
    tensor = make_tensor()
    with pytest.warns(UserWarning, match="adding '.mts' extension") as record:
        metatensor.io.save(tmp_path / "tensor.npz", tensor)
    # the warning points at the caller
    assert record[0].filename == __file__
    assert (tmp_path / "tensor.npz.mts").exists()
    assert not (tmp_path / "tensor.npz").exists()

    with pytest.warns(UserWarning, match="the file will be saved at") as record:
        tensor.save(str(tmp_path / "other"))
    assert record[0].filename == __file__
    assert (tmp_path / "other.mts").exists()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metatensor.io.save(tmp_path / "exact.mts", tensor)
        # numpy saves at exactly the given path
        metatensor.io.save(tmp_path / "exact.npz", tensor, use_numpy=True)
        metatensor.io.save(tmp_path / "exact", tensor, use_numpy=True)
    assert (tmp_path / "exact.npz").exists()
    assert (tmp_path / "exact").exists()
    assert_tensors_equal(metatensor.io.load(tmp_path / "exact"), tensor)


@pytest.mark.parametrize("use_numpy", [False, True])
def test_file_objects(tmp_path, use_numpy):
    tensor = make_tensor(info={"a": "b"})
    file = io.BytesIO()
    metatensor.io.save(file, tensor, use_numpy=use_numpy)
    assert (
        file.getvalue()
        == bytes(metatensor.io.save_buffer(tensor, use_numpy))[:0] + file.getvalue()
    )
    if not use_numpy:
        assert file.getvalue() == bytes(metatensor.io.save_buffer(tensor))

    # files are read from their current position
    data = b"some prefix" + file.getvalue()
    stream = io.BytesIO(data)
    stream.seek(len(b"some prefix"))
    assert_tensors_equal(metatensor.io.load(stream, use_numpy=use_numpy), tensor)

    with open(tmp_path / "file.mts", "wb") as output:
        metatensor.io.save(output, tensor, use_numpy=use_numpy)
    with open(tmp_path / "file.mts", "rb") as input:
        assert_tensors_equal(metatensor.io.load(input, use_numpy=use_numpy), tensor)

    block = tensor.block(1)
    file = io.BytesIO()
    metatensor.io.save(file, block, use_numpy=use_numpy)
    file.seek(0)
    assert_blocks_equal(metatensor.io.load_block(file, use_numpy=use_numpy), block)

    file = io.BytesIO()
    metatensor.io.save(file, tensor.keys, use_numpy=use_numpy)
    file.seek(0)
    assert_labels_equal(metatensor.io.load_labels(file), tensor.keys)


def test_buffers():
    tensor = make_tensor()
    buffer = metatensor.io.save_buffer(tensor)
    assert isinstance(buffer, memoryview)
    assert not buffer.readonly
    data = bytes(buffer)
    for variant in (
        data,
        bytearray(data),
        memoryview(data),
        np.frombuffer(data, dtype=np.uint8),
        memoryview(b"xx" + data)[2:],
    ):
        assert_tensors_equal(metatensor.io.load_buffer(variant), tensor)

    block = tensor.block(0)
    block_buffer = metatensor.io.save_buffer(block)
    assert_blocks_equal(metatensor.io.load_block_buffer(bytes(block_buffer)), block)
    labels_buffer = metatensor.io.save_buffer(tensor.keys)
    assert_labels_equal(
        metatensor.io.load_labels_buffer(bytearray(labels_buffer)), tensor.keys
    )
    assert_labels_equal(Labels.load_buffer(labels_buffer), tensor.keys)

    with pytest.raises(TypeError, match="`buffer` must be a bytes-like object"):
        metatensor.io.load_buffer(42)
    with pytest.raises(TypeError, match="use the `\\*_buffer` functions"):
        metatensor.io.load(data)
    with pytest.raises(
        TypeError, match="`file` must be a str, a pathlib.Path or a binary"
    ):
        metatensor.io.save(42, tensor)
    with pytest.raises(
        TypeError,
        match="`data` must be one of 'Labels', 'TensorBlock' or 'TensorMap', not <class 'numpy.ndarray'>",
    ):
        metatensor.io.save_buffer(np.zeros(3))


def test_loaded_arrays_own_their_memory(tmp_path):
    tensor = make_tensor(gradients=("positions",))
    buffer = metatensor.io.save_buffer(tensor)
    metatensor.io.save(tmp_path / "tensor.mts", tensor)
    for loaded in (
        metatensor.io.load_buffer(buffer),
        metatensor.io.load(tmp_path / "tensor.mts"),
        metatensor.io.load_buffer(
            metatensor.io.save_buffer(tensor, use_numpy=True), True
        ),
    ):
        for array in loaded_arrays(loaded):
            assert array.flags.writeable
            assert array.flags.owndata or array.base is None or array.base.flags.owndata
            assert not isinstance(array.base, (bytes, memoryview))
            array[...] = 0


def test_mmap(tmp_path):
    tensor = make_tensor(gradients=("positions",), info={"a": "b"})
    path = tmp_path / "tensor.mts"
    metatensor.io.save(path, tensor)
    original = path.read_bytes()

    loaded = metatensor.io.load(path, mmap=True)
    assert_tensors_equal(loaded, tensor)
    for array in loaded_arrays(loaded):
        assert not array.flags.owndata
        assert array.flags.writeable
        array[...] = 1
    del loaded
    # copy-on-write: the file did not change
    assert path.read_bytes() == original

    block = tensor.block(0)
    metatensor.io.save(tmp_path / "block.mts", block)
    assert_blocks_equal(
        metatensor.io.load_block(str(tmp_path / "block.mts"), mmap=True), block
    )

    with pytest.raises(ValueError, match="`mmap=True` is only supported"):
        metatensor.io.load(path, use_numpy=True, mmap=True)
    with pytest.raises(ValueError, match="`mmap=True` is only supported"):
        metatensor.io.load(io.BytesIO(original), mmap=True)
    (tmp_path / "empty.mts").write_bytes(b"")
    with pytest.raises(MetatensorError, match="can not memory-map"):
        metatensor.io.load(tmp_path / "empty.mts", mmap=True)

    # checksums are not verified with mmap
    corrupted = bytearray(original)
    values = tensor.block(0).values
    start = corrupted.index(values.tobytes())
    corrupted[start] ^= 0x01
    (tmp_path / "corrupted.mts").write_bytes(bytes(corrupted))
    metatensor.io.load(tmp_path / "corrupted.mts", mmap=True)
    with pytest.raises(
        MetatensorError, match="invalid checksum for 'blocks/0/values.npy'"
    ):
        metatensor.io.load(tmp_path / "corrupted.mts")


def test_custom_arrays(tmp_path):
    tensor = make_tensor(gradients=("positions",), nested=True)
    buffer = metatensor.io.save_buffer(tensor)
    path = tmp_path / "tensor.mts"
    metatensor.io.save(path, tensor)

    calls = []

    def create_array(array):
        calls.append(array.shape)
        return array * 2

    loaded = metatensor.io.load_buffer_custom_array(buffer, create_array)
    # one call per block values, gradient and gradient of gradient
    assert len(calls) == 6
    np.testing.assert_array_equal(loaded.block(0).values, 2 * tensor.block(0).values)

    loaded = metatensor.io.load_custom_array(path, metatensor.io.create_numpy_array)
    assert_tensors_equal(loaded, tensor)

    block = tensor.block(0)
    block_buffer = metatensor.io.save_buffer(block)
    metatensor.io.save(tmp_path / "block.mts", block)
    create = metatensor.io.create_numpy_array
    assert_blocks_equal(
        metatensor.io.load_block_buffer_custom_array(block_buffer, create), block
    )
    assert_blocks_equal(
        metatensor.io.load_block_custom_array(tmp_path / "block.mts", create), block
    )

    with pytest.raises(TypeError, match="`create_array` must be callable"):
        metatensor.io.load_buffer_custom_array(buffer, 3)


def test_pickle():
    tensor = make_tensor(gradients=("positions",), info={"a": "é"})
    for protocol in (2, 4, 5):
        assert_tensors_equal(
            pickle.loads(pickle.dumps(tensor, protocol=protocol)), tensor
        )
        keys = pickle.loads(pickle.dumps(tensor.keys, protocol=protocol))
        assert_labels_equal(keys, tensor.keys)


def test_labels_files():
    labels = make_labels(["system", "atom"], [[0, 1], [2, 3], [-4, 5]])
    buffer = metatensor.io.save_buffer(labels)
    assert bytes(buffer[:10]) == b"\x93NUMPY\x01\x00\x76\x00"
    assert len(buffer) == 128 + 6 * 4
    assert_labels_equal(metatensor.io.load_labels_buffer(buffer), labels)
    # numpy reads them
    loaded = np.load(io.BytesIO(buffer))
    assert loaded.dtype.names == ("system", "atom")

    empty = Labels.empty(["a"])
    buffer = metatensor.io.save_buffer(empty)
    assert len(buffer) == 128
    assert b"'shape': (0, )" in bytes(buffer)
    assert_labels_equal(metatensor.io.load_labels_buffer(buffer), empty)

    # numpy-written Labels load too
    file = io.BytesIO()
    metatensor.io.save(file, labels, use_numpy=True)
    assert b"'descr': [('system', '<i4'), ('atom', '<i4')]" in file.getvalue()
    assert_labels_equal(metatensor.io.load_labels_buffer(file.getvalue()), labels)

    with pytest.raises(
        MetatensorError, match="found 4 extra bytes after the expected end of data"
    ):
        metatensor.io.load_labels_buffer(
            bytes(metatensor.io.save_buffer(labels)) + b"1234"
        )

    with pytest.raises(
        MetatensorError, match="can not save Labels with zero dimensions"
    ):
        metatensor.io.save_buffer(Labels([], np.zeros((3, 0), dtype=np.int32)))


@requires_torch
@pytest.mark.parametrize(
    "dtype",
    [
        "float64",
        "float32",
        "float16",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
        "complex64",
        "complex128",
    ],
)
def test_torch_values(dtype):
    dtype = getattr(torch, dtype)
    values = torch.arange(6).reshape(2, 3).to(dtype)
    block = TensorBlock(values, Labels.range("s", 2), [], Labels.range("p", 3))
    loaded = metatensor.io.load_block_buffer(metatensor.io.save_buffer(block))
    assert isinstance(loaded.values, np.ndarray)
    np.testing.assert_array_equal(loaded.values, values.numpy())

    loaded = metatensor.io.load_block_buffer_custom_array(
        metatensor.io.save_buffer(block, use_numpy=True),
        metatensor.io.create_torch_array,
    )
    assert isinstance(loaded.values, torch.Tensor)
    assert loaded.values.dtype == dtype
    assert torch.equal(loaded.values, values)


@requires_torch
def test_torch_special_cases():
    values = torch.ones((2, 3), dtype=torch.float64, requires_grad=True) * 2
    labels = Labels(["s"], torch.tensor([[0], [1]], dtype=torch.int32))
    block = TensorBlock(
        values, labels, [], Labels(["p"], torch.arange(3).reshape(-1, 1))
    )
    loaded = metatensor.io.load_block_buffer(metatensor.io.save_buffer(block))
    np.testing.assert_array_equal(loaded.values, np.full((2, 3), 2.0))
    np.testing.assert_array_equal(loaded.samples.values, [[0], [1]])

    complex_values = torch.tensor([[1 + 2j, 3 - 1j]], dtype=torch.complex128).conj()
    block = TensorBlock(complex_values, Labels.range("s", 1), [], Labels.range("p", 2))
    loaded = metatensor.io.load_block_buffer(metatensor.io.save_buffer(block))
    np.testing.assert_array_equal(loaded.values, [[1 - 2j, 3 + 1j]])

    bf16 = TensorBlock(
        torch.zeros((1, 1), dtype=torch.bfloat16),
        Labels.range("s", 1),
        [],
        Labels.range("p", 1),
    )
    with pytest.raises(
        MetatensorError, match="unsupported DLPack dtype: code kDLBfloat, bits 16"
    ):
        metatensor.io.save_buffer(bf16)
    with pytest.raises(
        MetatensorError, match="unsupported DLPack dtype: code kDLBfloat, bits 16"
    ):
        metatensor.io.save_buffer(bf16, use_numpy=True)

    loaded = metatensor.io.load_buffer_custom_array(
        metatensor.io.save_buffer(make_tensor()), metatensor.io.create_torch_array
    )
    assert all(isinstance(b.values, torch.Tensor) for b in loaded.blocks())


# ================================================================================== #
#                                hypothesis round trips                              #
# ================================================================================== #

_NAMES = st.sampled_from(["a", "b", "system", "atom", "_", "n_1", "X"])
_INFO_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)


@st.composite
def _random_tensors(draw):
    dtype = draw(st.sampled_from(ALL_DTYPES))
    n_blocks = draw(st.integers(0, 3))
    n_components = draw(st.integers(0, 2))
    n_properties = draw(st.integers(0, 3))
    parameters = draw(
        st.lists(
            st.sampled_from(["positions", "strain", "", "é"]), unique=True, max_size=2
        )
    )
    sample_names = draw(st.lists(_NAMES, min_size=1, max_size=3, unique=True))
    seed = draw(st.integers(0, 1000))

    properties = Labels.range("p", n_properties)
    components = [Labels.range(f"c{i}", i + 1) for i in range(n_components)]
    blocks = []
    for i in range(n_blocks):
        n_samples = draw(st.integers(0, 4))
        samples = Labels(
            sample_names,
            np.arange(n_samples * len(sample_names), dtype=np.int32).reshape(
                n_samples, len(sample_names)
            ),
        )
        shape = (n_samples, *[len(c) for c in components], n_properties)
        block = TensorBlock(
            random_values(shape, dtype, seed + i), samples, components, properties
        )
        for j, parameter in enumerate(parameters):
            gradient_samples = Labels(
                ["sample", "g"],
                np.array([[s, j] for s in range(n_samples)], dtype=np.int32).reshape(
                    -1, 2
                ),
            )
            block.add_gradient(
                parameter,
                TensorBlock(
                    random_values((n_samples, 2, *shape[1:]), dtype, seed + 10 * j),
                    gradient_samples,
                    [Labels.range("d", 2)] + components,
                    properties,
                ),
            )
        blocks.append(block)

    keys = Labels(["k"], np.arange(n_blocks, dtype=np.int32).reshape(-1, 1))
    tensor = TensorMap(keys, blocks)
    for key, value in draw(st.dictionaries(_INFO_TEXT, _INFO_TEXT, max_size=3)).items():
        tensor.set_info(key, value)
    return tensor


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_random_tensors())
def test_hypothesis_round_trips(tensor):
    buffer = metatensor.io.save_buffer(tensor)
    loaded = metatensor.io.load_buffer(buffer)
    assert_tensors_equal(loaded, tensor)
    # saving again gives the same bytes
    assert bytes(metatensor.io.save_buffer(loaded)) == bytes(buffer)
    # numpy can read the native format, and the other way around
    assert_tensors_equal(metatensor.io.load_buffer(buffer, use_numpy=True), tensor)
    numpy_buffer = metatensor.io.save_buffer(tensor, use_numpy=True)
    assert_tensors_equal(metatensor.io.load_buffer(numpy_buffer), tensor)
    # and python's zipfile checks our archives
    with zipfile.ZipFile(io.BytesIO(buffer)) as file:
        assert file.testzip() is None


def test_environment_is_not_modified():
    # saving does not leave anything behind in the current directory
    before = set(os.listdir("."))
    metatensor.io.save_buffer(make_tensor())
    assert set(os.listdir(".")) == before


@pytest.mark.skipif(
    not (HAS_TORCH and torch.cuda.is_available()), reason="CUDA is not available"
)
def test_cuda_tensors():
    device = torch.device("cuda")
    values = torch.arange(6, dtype=torch.float32, device=device).reshape(2, 3)
    block = TensorBlock(
        values,
        Labels(["s"], torch.tensor([[0], [1]], dtype=torch.int32, device=device)),
        [],
        Labels(["p"], torch.arange(3, dtype=torch.int32, device=device).reshape(-1, 1)),
    )
    tensor = TensorMap(
        Labels(["k"], torch.zeros((1, 1), dtype=torch.int32, device=device)), [block]
    )
    for use_numpy in (False, True):
        buffer = metatensor.io.save_buffer(tensor, use_numpy=use_numpy)
        loaded = metatensor.io.load_buffer(buffer)
        np.testing.assert_array_equal(loaded.block(0).values, values.cpu().numpy())
        assert loaded.keys.names == ["k"]
