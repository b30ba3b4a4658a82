"""Files and buffers: the .mts format of metatensor-core, from Python and from
TorchScript"""

import io
import json
import os
import pathlib

import numpy as np
import pytest
import torch
from _utils import (
    FIXTURES,
    JIT_WARNINGS,
    assert_same,
    block,
    labels,
    script,
    tensor_map,
)

import metatensor
import metatensor.torch as mtt
from metatensor.torch import Labels, TensorBlock, TensorMap

pytestmark = JIT_WARNINGS


def save_any(data: TensorMap) -> torch.Tensor:
    return mtt.save_buffer(data)


def save_tensor(data: TensorMap) -> torch.Tensor:
    return mtt.save_buffer(data)


def save_block(data: TensorBlock) -> torch.Tensor:
    return mtt.save_buffer(data)


def save_labels(data: Labels) -> torch.Tensor:
    return mtt.save_buffer(data)


def load_tensor(buffer: torch.Tensor) -> TensorMap:
    return mtt.load_buffer(buffer)


def load_block(buffer: torch.Tensor) -> TensorBlock:
    return mtt.load_block_buffer(buffer)


def load_labels(buffer: torch.Tensor) -> Labels:
    return mtt.load_labels_buffer(buffer)


def test_scripted_buffers_are_the_same_bytes():
    tensor = tensor_map()
    tensor.set_info("description", 'with "quotes", \\ and ünïcode\n')
    for data, save, load in [
        (tensor, save_tensor, load_tensor),
        (tensor_map(gradients=False, dtype=torch.float32), save_tensor, load_tensor),
        (block(1), save_block, load_block),
        (labels(["a", "b"], [[0, -1], [5, 2**31 - 1]]), save_labels, load_labels),
    ]:
        eager = mtt.save_buffer(data)
        scripted = script(save)(data)
        assert eager.dtype == torch.uint8 and eager.dim() == 1
        assert torch.equal(eager, scripted)
        assert_same(load(eager), script(load)(eager))
        assert_same(load(eager), data)


def test_core_reads_our_files(tmp_path):
    tensor = tensor_map()
    path = tmp_path / "data.mts"
    mtt.save(path, tensor)
    loaded = metatensor.load(path)
    assert loaded.keys.names == tensor.keys.names
    assert loaded.info() == {"unit": "eV"}
    for core_block, torch_block in zip(loaded.blocks(), tensor.blocks()):
        np.testing.assert_array_equal(core_block.values, torch_block.values.numpy())
        np.testing.assert_array_equal(
            core_block.gradient("strain").values,
            torch_block.gradient("strain").values.numpy(),
        )
        np.testing.assert_array_equal(
            core_block.samples.values, torch_block.samples.values.numpy()
        )


def test_we_read_core_files(tmp_path):
    path = tmp_path / "core.mts"
    reference = tensor_map()
    buffer = metatensor.io.save_buffer(
        metatensor.io.load_buffer(mtt.save_buffer(reference).numpy())
    )
    path.write_bytes(bytes(buffer))
    for loaded in [
        mtt.load(path),
        mtt.load(str(path)),
        mtt.load_buffer(torch.frombuffer(bytearray(buffer), dtype=torch.uint8)),
    ]:
        assert_same(loaded, reference)
        assert type(loaded.block(0).values) is torch.Tensor


def test_file_objects_and_labels_files(tmp_path):
    data = block(2)
    stream = io.BytesIO()
    mtt.save(stream, data)
    stream.seek(0)
    assert_same(mtt.load_block(stream), data)
    path = str(tmp_path / "labels.mts")
    labels_data = labels(["x"], [[3], [1]])
    mtt.save(path, labels_data)
    assert os.path.exists(path), "the file name must be used as given"
    assert mtt.load_labels(path) == labels_data
    assert Labels.load(path) == labels_data
    other = tmp_path / "labels.bin"
    mtt.save(other, labels_data)
    assert other.exists(), "no extension must be added"
    data.save(str(tmp_path / "block.mts"))
    assert_same(TensorBlock.load(str(tmp_path / "block.mts")), data)
    assert_same(TensorMap.load_buffer(tensor_map().save_buffer()), tensor_map())


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in pathlib.Path(FIXTURES).glob("*.mts"))
)
def test_reference_files(name):
    path = os.path.join(FIXTURES, name + ".mts")
    with open(os.path.join(FIXTURES, name + ".json")) as file:
        description = json.load(file)
    with open(path, "rb") as file:
        content = file.read()
    buffer = torch.frombuffer(bytearray(content), dtype=torch.uint8)
    kind = description["kind"]
    if kind == "Labels":
        loaded = mtt.load_labels(path)
        _check_labels(loaded, description)
        scripted = script(load_labels)(buffer)
        saved = script(save_labels)(scripted)
    elif kind == "TensorBlock":
        loaded = mtt.load_block(path)
        _check_block(loaded, description)
        scripted = script(load_block)(buffer)
        saved = script(save_block)(scripted)
    else:
        loaded = mtt.load(path)
        assert len(loaded) == len(description["blocks"])
        _check_labels(loaded.keys, description["keys"])
        for result, expected in zip(loaded.blocks(), description["blocks"]):
            _check_block(result, expected)
        scripted = script(load_tensor)(buffer)
        saved = script(save_tensor)(scripted)
    assert_same(loaded, scripted)
    # written back by TorchScript with the same bytes
    assert bytes(saved.numpy()) == content


def _check_labels(loaded, expected):
    assert loaded.names == expected["names"]
    assert loaded.values.tolist() == expected["values"] or len(loaded) == 0


def _check_block(loaded, expected):
    assert mtt.dtype_name(loaded.values.dtype) == "torch." + expected["dtype"]
    assert list(loaded.values.shape) == expected["shape"]
    if loaded.values.numel() != 0:
        assert loaded.values.tolist() == expected["values"]
    _check_labels(loaded.samples, expected["samples"])
    for component, reference in zip(loaded.components, expected["components"]):
        _check_labels(component, reference)
    _check_labels(loaded.properties, expected["properties"])
    assert sorted(loaded.gradients_list()) == sorted(expected["gradients"])
    for parameter, gradient in expected["gradients"].items():
        _check_block(
            loaded.gradient(parameter),
            dict(gradient, properties=expected["properties"]),
        )


def test_files_are_not_available_in_torchscript():
    def save_file(data: TensorMap, path: str):
        mtt.save(path, data)

    def load_file(path: str) -> TensorMap:
        return mtt.load(path)

    with pytest.raises(
        torch.jit.Error,
        match="reading and writing files is not possible inside TorchScript",
    ):
        script(save_file)(tensor_map(), "file.mts")
    with pytest.raises(torch.jit.Error, match="use the buffer functions"):
        script(load_file)("file.mts")


def test_buffer_errors():
    with pytest.raises(
        TypeError, match="`buffer` must be a torch.Tensor of uint8, got bytes"
    ):
        mtt.load_buffer(b"abc")
    with pytest.raises(ValueError, match="`buffer` must be a 1-D tensor of uint8"):
        mtt.load_buffer(torch.zeros(3))
    with pytest.raises(ValueError, match="serialization format error"):
        mtt.load_buffer(torch.zeros(30, dtype=torch.uint8))
    with pytest.raises(torch.jit.Error, match="serialization format error"):
        script(load_tensor)(torch.zeros(30, dtype=torch.uint8))
    truncated = mtt.save_buffer(tensor_map())[:-10]
    with pytest.raises(torch.jit.Error, match="serialization format error"):
        script(load_tensor)(truncated)
    with pytest.raises(
        TypeError,
        match="`data` must be metatensor.torch Labels, TensorBlock or TensorMap",
    ):
        mtt.save_buffer(metatensor.Labels.single())
