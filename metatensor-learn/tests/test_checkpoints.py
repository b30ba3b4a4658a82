"""Checkpoints written by upstream metatensor-learn 0.6.2 (``data/upstream/``,
described in its ``INDEX.json``) load into our modules and give upstream's
outputs; our modules write the same checkpoints"""

import io
import json
import pathlib

import pytest
import torch
from _flavours import CORE, FLAVOURS, TORCH

import metatensor
import metatensor.torch as mtt

DATA = pathlib.Path(__file__).parent / "data" / "upstream"
INDEX = json.loads((DATA / "INDEX.json").read_text())


@pytest.fixture(params=FLAVOURS, ids=repr)
def flavour(request):
    return request.param


def _keys(flavour):
    return flavour.labels(["o3_lambda", "center_type"], [[0, 1], [1, 1], [0, 8]])


def _build(flavour, name):
    """The module of the case ``name``, following its recipe in INDEX.json"""
    nn = flavour.nn
    keys = _keys(flavour)
    invariant = flavour.labels(["o3_lambda"], [[0]])
    float64 = {"dtype": torch.float64}
    if name == "linear":
        return nn.Linear(keys, in_features=3, out_features=2, bias=True, **float64)
    elif name == "equivariant_linear":
        return nn.EquivariantLinear(
            keys, 3, 2, invariant_keys=invariant, bias=True, **float64
        )
    elif name == "sequential":
        return nn.Sequential(
            keys,
            nn.EquivariantLinear(keys, 3, 4, invariant_keys=invariant, **float64),
            nn.InvariantSiLU(keys, invariant_keys=invariant),
            nn.EquivariantLinear(keys, 4, 1, invariant_keys=invariant, **float64),
        )
    assert name == "buffers"

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            # plain attributes, not buffers: upstream saves nothing for them
            self.labels = flavour.labels(["a", "b"], [[0, 1], [2, 3]])
            self.map = _load(flavour, "input.mts")

    return Holder()


def _load(flavour, name):
    if flavour is CORE:
        return metatensor.load(DATA / name).to(arrays="torch")
    return mtt.load(DATA / name)


def _upstream_state(name):
    file = DATA / INDEX["cases"][name]["state_dict"]
    return torch.load(file, weights_only=True)


def _describe(value):
    """``value`` as INDEX.json describes the entries of a state_dict"""
    if isinstance(value, torch.Tensor):
        return f"Tensor{tuple(value.shape)} {value.dtype}"
    return type(value).__name__


def _assert_same_state(ours, upstream):
    """Same entries (in order), same tensors, same metatensor data"""
    assert list(ours) == list(upstream)
    for name, value in upstream.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(ours[name], value), name
            assert ours[name].dtype == value.dtype, name
        else:
            assert list(ours[name]) == list(value), name
            for buffer, (kind, data, like) in value.items():
                ours_kind, ours_data, ours_like = ours[name][buffer]
                assert (ours_kind, ours_data) == (kind, data), f"{name}/{buffer}"
                assert ours_like.dtype == like.dtype and ours_like.numel() == 0


def _assert_close(result, expected):
    assert result.keys == expected.keys
    for block, reference in zip(result.blocks(), expected.blocks()):
        assert block.samples == reference.samples
        assert block.components == reference.components
        assert block.properties == reference.properties
        # the same operations, up to the summation order of the matrix products
        torch.testing.assert_close(block.values, reference.values, rtol=1e-12, atol=0)


def test_index():
    assert set(INDEX["cases"]) == {
        "linear",
        "equivariant_linear",
        "sequential",
        "buffers",
    }


@pytest.mark.parametrize("name", ["linear", "equivariant_linear", "sequential"])
def test_load_upstream(flavour, name):
    case = INDEX["cases"][name]
    module = _build(flavour, name)
    state = module.state_dict()
    assert {key: _describe(value) for key, value in state.items()} == (
        case["state_dict_keys"]
    )

    module.load_state_dict(_upstream_state(name))
    result = module(_load(flavour, "input.mts"))
    _assert_close(result, _load(flavour, case["output"]))

    # the other way: we write upstream's checkpoint back, and it goes through
    # torch.save / torch.load(weights_only=True)
    _assert_same_state(module.state_dict(), _upstream_state(name))
    file = io.BytesIO()
    torch.save(module.state_dict(), file)
    file.seek(0)
    other = _build(flavour, name)
    other.load_state_dict(torch.load(file, weights_only=True))
    _assert_close(other(_load(flavour, "input.mts")), result)


def test_buffers(flavour):
    module = _build(flavour, "buffers")
    upstream = _upstream_state("buffers")
    _assert_same_state(module.state_dict(), upstream)
    assert module.state_dict()["_extra_state"] == {}
    module.load_state_dict(upstream)
    assert module.labels == flavour.labels(["a", "b"], [[0, 1], [2, 3]])


def test_scripted_after_loading():
    module = _build(TORCH, "sequential")
    module.load_state_dict(_upstream_state("sequential"))
    scripted = torch.jit.script(module)
    expected = _load(TORCH, INDEX["cases"]["sequential"]["output"])
    _assert_close(scripted(_load(TORCH, "input.mts")), expected)
