"""The modules of metatensor.torch.learn.nn inside TorchScript"""

import io
from typing import Dict

import pytest
import torch
from _flavours import JIT_WARNINGS, TORCH

import metatensor.torch as mtt
from metatensor.torch.learn import nn

pytestmark = JIT_WARNINGS


def _modules():
    keys = TORCH.keys()
    float64 = {"dtype": torch.float64}
    return {
        "ModuleMap": nn.ModuleMap(
            keys,
            [torch.nn.Linear(3, 2, bias=False, **float64) for _ in range(3)],
            [TORCH.labels(["o"], [[0], [1]])] * 3,
        ),
        "Linear": nn.Linear(keys, 3, [1, 2, 3], **float64),
        "EquivariantLinear": nn.EquivariantLinear(keys, 3, 4, **float64),
        "ReLU": nn.ReLU(keys),
        "SiLU": nn.SiLU(keys, in_place=True),
        "Tanh": nn.Tanh(keys),
        "InvariantReLU": nn.InvariantReLU(keys),
        "InvariantSiLU": nn.InvariantSiLU(keys),
        "InvariantTanh": nn.InvariantTanh(keys),
        "LayerNorm": nn.LayerNorm(keys, 3, mean=False, **float64),
        "InvariantLayerNorm": nn.InvariantLayerNorm(keys, 3, **float64),
        "EquivariantTransformation": nn.EquivariantTransformation(
            torch.nn.Tanh(), keys, 3
        ),
        "Sequential": nn.Sequential(
            keys, nn.EquivariantLinear(keys, 3, 2, **float64), nn.InvariantSiLU(keys)
        ),
    }


def _roundtrip(module):
    file = io.BytesIO()
    torch.jit.save(module, file)
    file.seek(0)
    return torch.jit.load(file)


@pytest.mark.parametrize("name", list(_modules()))
def test_script(name):
    module = _modules()[name]
    gradients = name != "EquivariantTransformation"
    scripted = torch.jit.script(module)
    expected = module(TORCH.tensor(gradients))
    assert mtt.equal(scripted(TORCH.tensor(gradients)), expected)
    loaded = _roundtrip(scripted)
    assert mtt.equal(loaded(TORCH.tensor(gradients)), expected)
    assert type(loaded(TORCH.tensor(gradients))) is mtt.TensorMap
    if name == "ModuleMap":
        # the Python properties are not available on scripted modules
        assert scripted._in_keys == TORCH.keys()
        assert loaded._in_keys == TORCH.keys()
    elif name == "Linear":
        assert scripted.module_map._in_keys == TORCH.keys()
        assert loaded.module_map._in_keys == TORCH.keys()


def test_script_errors():
    keys = TORCH.labels(["o3_lambda", "o3_sigma"], [[0, 1]])
    scripted = torch.jit.script(nn.Linear(keys, 3, 2))
    with pytest.raises(torch.jit.Error, match="this ModuleMap has no module"):
        scripted(TORCH.tensor().to(dtype=torch.float32))


class Model(nn.Module):
    """A user model: metatensor buffers used in forward, a ModuleMap, autograd"""

    def __init__(self):
        super().__init__()
        keys = TORCH.keys()
        self.selection = nn.Buffer(mtt.Labels.range("system", 2))
        self.shifts = nn.Buffer({"energy": TORCH.labels(["o3_lambda"], [[0]])})
        self.linear = nn.EquivariantLinear(keys, 3, 1, dtype=torch.float64)

    def forward(self, tensor: mtt.TensorMap) -> Dict[str, torch.Tensor]:
        tensor = mtt.slice(tensor, "samples", self.selection)
        result = self.linear(tensor)
        invariant = mtt.sum_over_samples(result, "system")
        return {
            "energy": invariant.block(self.shifts["energy"].entry(0)).values.sum(),
            "count": torch.tensor(len(self.selection)),
        }


def test_user_model():
    model = Model()
    scripted = torch.jit.script(model)
    tensor = TORCH.tensor(gradients=False)
    expected = model(tensor)
    loaded = _roundtrip(scripted)
    for module in (scripted, loaded):
        result = module(tensor)
        torch.testing.assert_close(result["energy"], expected["energy"])
        assert result["count"].item() == 2
    assert loaded.selection == mtt.Labels.range("system", 2)

    # autograd through the scripted model
    values = tensor.block(0).values.detach().requires_grad_(True)
    block = mtt.TensorBlock(
        values,
        tensor.block(0).samples,
        tensor.block(0).components,
        tensor.block(0).properties,
    )
    tensor = mtt.TensorMap(tensor.keys, [block] + tensor.blocks()[1:])
    energy = scripted(tensor)["energy"]
    (gradient,) = torch.autograd.grad(energy, values)
    weight = model.linear.module_map[0].weight.detach()
    expected = weight.reshape(1, 1, 3).expand(3, 1, 3).clone()
    expected[2:] = 0.0  # sample 2 is not selected
    torch.testing.assert_close(gradient, expected)


def test_script_after_to():
    model = Model().to(torch.float32)
    tensor = TORCH.tensor(gradients=False).to(dtype=torch.float32)
    scripted = torch.jit.script(model)
    assert scripted(tensor)["energy"].dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda():
    model = Model().to("cuda")
    assert model.selection.device.type == "cuda"
    assert model.linear.in_keys.device.type == "cuda"
    tensor = TORCH.tensor(gradients=False).to(device="cuda")
    expected = Model.forward(model, tensor)
    scripted = torch.jit.script(model)
    result = scripted(tensor)
    assert result["energy"].device.type == "cuda"
    torch.testing.assert_close(result["energy"], expected["energy"])
    with_gradients = nn.ReLU(TORCH.keys()).to("cuda")(TORCH.tensor().to(device="cuda"))
    assert with_gradients.block(0).gradient("positions").values.device.type == "cuda"
