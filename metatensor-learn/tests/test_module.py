"""metatensor objects as buffers of nn.Module: registration, state_dict, .to()"""

import io

import pytest
import torch
from _flavours import FLAVOURS


@pytest.fixture(params=FLAVOURS, ids=repr)
def flavour(request):
    return request.param


def _holder(flavour, persistent=True):
    module = flavour.nn.Module()
    module.register_buffer("keys", flavour.keys(), persistent)
    module.register_buffer("block", flavour.block(1), persistent)
    module.register_buffer("tensor", flavour.tensor(), persistent)
    module.register_buffer(
        "nested",
        {"list": [flavour.keys(), (flavour.block(0),)], "empty": []},
        persistent,
    )
    module.register_buffer("plain", torch.arange(3.0))
    return module


def _same(flavour, first, second):
    if isinstance(first, flavour.TensorMap):
        return flavour.equal(first, second)
    elif isinstance(first, flavour.TensorBlock):
        return flavour.equal(
            flavour.TensorMap(flavour.labels(["_"], [[0]]), [first.copy()]),
            flavour.TensorMap(flavour.labels(["_"], [[0]]), [second.copy()]),
        )
    return first == second


def test_register(flavour):
    module = _holder(flavour)
    assert module._mts_buffer_names == ["keys", "block", "tensor", "nested"]
    assert module.keys == flavour.keys()
    # torch tensors are plain torch buffers; `_mts_helper` follows the device
    # of the module for `.to()`
    assert [name for name, _ in module.named_buffers()] == ["_mts_helper", "plain"]
    # reassigning keeps the buffer registered
    module.keys = flavour.labels(["a"], [[1]])
    assert module._mts_buffer_names[0] == "keys"
    with pytest.raises(TypeError, match="can not assign str to the metatensor buffer"):
        module.keys = "not metatensor"
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        module.register_buffer("training", flavour.keys())

    del module.keys
    assert "keys" not in module._mts_buffer_names
    assert not hasattr(module, "keys")


def test_buffer_marker(flavour):
    class Model(flavour.nn.Module):
        def __init__(self):
            super().__init__()
            self.keys = flavour.nn.Buffer(flavour.keys())
            self.hidden = flavour.nn.Buffer(flavour.keys(), persistent=False)
            self.scale = flavour.nn.Buffer(torch.ones(2))

    model = Model()
    assert model._mts_buffer_names == ["keys", "hidden"]
    assert set(model.get_extra_state()) == {"keys"}
    assert "scale" in dict(model.named_buffers())

    class Early(flavour.nn.Module):
        def __init__(self):
            self.keys = flavour.nn.Buffer(flavour.keys())

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_state_dict(flavour):
    module = _holder(flavour)
    state = module.state_dict()
    extra = state["_extra_state"]
    assert set(extra) == {"keys", "block", "tensor", "nested"}
    kind, buffer, like = extra["tensor"]
    assert kind == "metatensor.TensorMap"
    assert isinstance(buffer, bytes)
    assert like.dtype == torch.float64 and like.numel() == 0
    assert extra["keys"][0] == "metatensor.Labels"
    assert extra["nested"]["list"][1][0][0] == "metatensor.TensorBlock"

    # through torch.save / torch.load (which only loads tensors and containers)
    file = io.BytesIO()
    torch.save(state, file)
    file.seek(0)
    state = torch.load(file, weights_only=True)

    restored = flavour.nn.Module()
    restored.register_buffer("plain", torch.zeros(3))
    restored.load_state_dict(state)
    assert restored._mts_buffer_names == ["keys", "block", "tensor", "nested"]
    for name in ("keys", "block", "tensor"):
        assert _same(flavour, getattr(restored, name), getattr(module, name))
    assert restored.nested["empty"] == []
    assert isinstance(restored.nested["list"][1], tuple)
    assert _same(flavour, restored.nested["list"][1][0], module.nested["list"][1][0])
    assert restored.tensor.block(0).values.dtype == torch.float64

    with pytest.raises(ValueError, match="invalid metatensor buffer 'keys' in the"):
        restored.set_extra_state({"keys": 3})
    with pytest.raises(ValueError, match=r"expected \(kind, bytes, tensor\), got"):
        restored.set_extra_state({"keys": ("metatensor.Labels", "data", like)})

    not_saved = _holder(flavour, persistent=False)
    assert not_saved.get_extra_state() == {}


def test_to(flavour):
    module = _holder(flavour)
    integers = flavour.TensorMap(
        flavour.labels(["_"], [[0]]),
        [
            flavour.TensorBlock(
                torch.arange(3, dtype=torch.int32).reshape(3, 1),
                flavour.labels(["s"], [[0], [1], [2]]),
                [],
                flavour.labels(["p"], [[0]]),
            )
        ],
    )
    module.register_buffer("integers", integers)

    module.to(torch.float32)
    assert module.tensor.block(2).values.dtype == torch.float32
    assert module.tensor.block(2).gradient("positions").values.dtype == torch.float32
    assert module.block.values.dtype == torch.float32
    assert module.nested["list"][1][0].values.dtype == torch.float32
    assert module.plain.dtype == torch.float32
    # like torch, integer data keeps its dtype
    assert module.integers.block().values.dtype == torch.int32

    module.double()
    assert module.tensor.block(0).values.dtype == torch.float64
    # moving to the device the module is on changes nothing
    tensor = module.tensor
    module.to("cpu")
    assert module.tensor is tensor

    # the dtype and device are saved in the state and restored
    module.float()
    restored = flavour.nn.Module()
    restored.register_buffer("plain", torch.zeros(3))
    restored.load_state_dict(module.state_dict())
    assert restored.tensor.block(0).values.dtype == torch.float32
    assert restored.integers.block().values.dtype == torch.int32


def test_containers(flavour):
    module = flavour.nn.Module()
    # dict keys may be integers
    module.register_buffer("by_number", {0: flavour.keys(), 1: [flavour.block(0)]})
    module.to(torch.float32)
    assert module.by_number[1][0].values.dtype == torch.float32
    restored = flavour.nn.Module()
    restored.load_state_dict(module.state_dict())
    assert restored.by_number[0] == flavour.keys()

    # a container may hold other values: they are saved as they are, but the
    # buffer can not be moved
    module.register_buffer("mixed", [flavour.keys(), 3, torch.ones(2)])
    state = module.state_dict()["_extra_state"]["mixed"]
    assert state[0][0] == "metatensor.Labels" and state[1] == 3
    restored = flavour.nn.Module()
    restored.load_state_dict(module.state_dict())
    assert restored.mixed[0] == flavour.keys() and restored.mixed[1] == 3
    assert torch.equal(restored.mixed[2], torch.ones(2))
    with pytest.raises(ValueError, match="can not move the metatensor buffer 'mixed'"):
        restored.to(torch.float64)


def test_module_map_buffers(flavour):
    module = flavour.nn.Linear(flavour.keys(), 3, 2)
    assert module._mts_buffer_names == []
    assert module.module_map._mts_buffer_names == ["_in_keys", "_out_properties"]
    state = module.state_dict()
    assert state["_extra_state"] == {}
    # `_out_properties` is only saved when given, as upstream does
    (kind, _, like) = state["module_map._extra_state"]["_in_keys"]
    assert list(state["module_map._extra_state"]) == ["_in_keys"]
    assert kind == "metatensor.Labels" and like.dtype == torch.int32

    properties = flavour.labels(["p"], [[0], [1]])
    given = flavour.nn.Linear(flavour.keys(), 3, out_properties=properties)
    saved = given.state_dict()["module_map._extra_state"]["_out_properties"]
    assert [kind for kind, _, _ in saved] == ["metatensor.Labels"] * 3
    # restored from a checkpoint, the out_properties come back
    module.load_state_dict(given.state_dict())
    assert module.out_properties == [properties] * 3
    result = module(flavour.tensor().to(dtype=torch.float32))
    assert result.block(0).properties == properties
