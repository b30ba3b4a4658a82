"""Labels, blocks, maps and operations on a CUDA device (skipped without one;
run on a GPU machine by hand)"""

from typing import List

import pytest
import torch
from _utils import JIT_WARNINGS, assert_same, labels, script, tensor_map

import metatensor.torch as mtt
from metatensor.torch import Labels, TensorMap

pytestmark = JIT_WARNINGS + [
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
]


def test_labels_on_device():
    first = labels(["a", "b"], [[0, 1], [1, 2], [2, 0]]).to("cuda")
    assert first.values.device.type == "cuda"
    assert first.device.type == "cuda"
    assert first.position([1, 2]) == 1
    assert first.column("b").device.type == "cuda"
    other = labels(["a", "b"], [[2, 0], [3, 3]]).to(torch.device("cuda"))
    union, mapping_1, mapping_2 = first.union_and_mapping(other)
    assert union.values.device.type == "cuda"
    assert mapping_2.device.type == "cuda"
    assert mapping_2.tolist() == [2, 3]
    selected = first.select(Labels(["b"], torch.tensor([[0]], device="cuda")))
    assert selected.device.type == "cuda" and selected.tolist() == [2]
    assert first.to("cpu") == labels(["a", "b"], [[0, 1], [1, 2], [2, 0]])
    with pytest.raises(ValueError, match="on different devices"):
        first.union(labels(["a", "b"], [[0, 1]]))


def test_maps_move_with_their_labels():
    tensor = tensor_map()
    moved = tensor.to(device="cuda")
    assert moved.device.type == "cuda"
    assert moved.keys.values.device.type == "cuda"
    for block in moved:
        assert block.values.device.type == "cuda"
        assert block.samples.values.device.type == "cuda"
        assert block.properties.values.device.type == "cuda"
        for _, gradient in block.gradients():
            assert gradient.values.device.type == "cuda"
            assert gradient.samples.values.device.type == "cuda"
    assert_same(moved.to("cpu"), tensor)
    assert moved.to("cuda", torch.float32).dtype == torch.float32


def operations(tensor: TensorMap) -> List[TensorMap]:
    return [
        mtt.add(tensor, tensor),
        mtt.multiply(tensor, 2.0),
        mtt.sum_over_samples(tensor, "atom"),
        mtt.join([tensor, tensor], "samples", add_dimension="t"),
        mtt.slice(tensor, "samples", Labels.range("system", 1).to(tensor.device)),
        tensor.keys_to_samples("key_b"),
        tensor.keys_to_properties("key_a"),
        tensor.components_to_properties("xyz"),
    ]


def test_operations_on_device():
    tensor = tensor_map()
    moved = tensor.to(device="cuda")
    eager = operations(moved)
    for result in eager:
        assert result.device.type == "cuda"
        assert result.block(0).values.device.type == "cuda"
    # the same results as on the CPU, eagerly and compiled
    for on_device, on_cpu in zip(eager, operations(tensor)):
        assert mtt.allclose(on_device.to("cpu"), on_cpu)
    for scripted, result in zip(script(operations)(moved), eager):
        assert mtt.allclose(scripted.to("cpu"), result.to("cpu"))


def test_buffers_from_device():
    moved = tensor_map().to(device="cuda")
    buffer = mtt.save_buffer(moved)
    assert buffer.device.type == "cpu"

    def save(tensor: TensorMap) -> torch.Tensor:
        return mtt.save_buffer(tensor)

    assert torch.equal(script(save)(moved), buffer)
    assert_same(mtt.load_buffer(buffer), tensor_map())
