"""The modules of metatensor.learn.nn and metatensor.torch.learn.nn, eagerly"""

import copy

import pytest
import torch
from _flavours import CORE, FLAVOURS, TORCH


@pytest.fixture(params=FLAVOURS, ids=repr)
def flavour(request):
    return request.param


def _expected_gradient(layer, values, gradient, sample):
    """The gradient of ``layer(values)`` along ``gradient`` (chain rule, with
    torch.func.jvp over each gradient component)"""
    rows = values[sample]
    columns = []
    for direction in range(gradient.shape[1]):
        _, tangent = torch.func.jvp(layer, (rows,), (gradient[:, direction],))
        columns.append(tangent)
    return torch.stack(columns, dim=1)


def _sample(gradient):
    """The ``sample`` column of the gradient samples, as int64 tensor"""
    return torch.tensor(gradient.samples.column("sample").tolist())


def _check_gradients(module, tensor, result, layers=None):
    """Every gradient of ``result`` follows the chain rule through the layer of
    its key"""
    if layers is None:
        layers = getattr(module, "module_map", module)
    for i, block in enumerate(tensor.blocks()):
        layer = layers[i]
        gradient = block.gradient("positions")
        sample = _sample(gradient)
        expected = _expected_gradient(
            layer, block.values.detach(), gradient.values, sample
        )
        got = result.block(i).gradient("positions")
        torch.testing.assert_close(got.values, expected)
        assert got.samples == gradient.samples
        assert got.properties == result.block(i).properties


def test_linear(flavour):
    keys = flavour.keys()
    tensor = flavour.tensor()
    module = flavour.nn.Linear(keys, 3, [2, 4, 5], dtype=torch.float64)
    result = module(tensor)
    assert result.keys == keys
    for i, block in enumerate(tensor.blocks()):
        layer = module.module_map[i]
        assert isinstance(layer, torch.nn.Linear)
        expected = block.values @ layer.weight.T + layer.bias
        torch.testing.assert_close(result.block(i).values, expected)
        assert result.block(i).properties == flavour.labels(
            ["_"], [[p] for p in range(layer.out_features)]
        )
        assert result.block(i).samples == block.samples
        assert result.block(i).components == block.components
    # the bias does not enter the gradients
    _check_gradients(module, tensor, result)
    assert len(list(module.parameters())) == 6


def test_linear_arguments(flavour):
    keys = flavour.keys()
    properties = flavour.labels(["out"], [[1], [2]])
    module = flavour.nn.Linear(
        keys, [3, 3, 3], out_properties=properties, bias=[True, False, True]
    )
    assert [layer.out_features for layer in module.module_map] == [2, 2, 2]
    assert [layer.bias is None for layer in module.module_map] == [False, True, False]
    assert module.in_keys == keys
    assert module.out_properties == [properties] * 3
    result = module(flavour.tensor().to(dtype=torch.float32))
    assert result.block(1).properties == properties

    with pytest.raises(ValueError, match="one of `out_features` or `out_properties`"):
        flavour.nn.Linear(keys, 3)
    with pytest.raises(ValueError, match="`in_features` has 2 entries but there"):
        flavour.nn.Linear(keys, [3, 3], 2)
    with pytest.raises(TypeError, match="`in_features` must be a int or a list"):
        flavour.nn.Linear(keys, 3.0, 2)
    with pytest.raises(ValueError, match=r"`out_features` \(\[3, 3, 3\]\) do not"):
        flavour.nn.Linear(keys, 3, 3, out_properties=properties)


def test_module_map(flavour):
    keys = flavour.keys()
    tensor = flavour.tensor()
    # a module of torch, without forward_gradient: applied to the gradients,
    # which is right for linear maps without bias
    layers = [torch.nn.Linear(3, 2, bias=False, dtype=torch.float64) for _ in range(3)]
    module = flavour.nn.ModuleMap(keys, layers)
    result = module(tensor)
    _check_gradients(module, tensor, result)
    assert module.out_properties is None

    copied = flavour.nn.ModuleMap.from_module(keys, layers[0])
    assert len(copied) == 3
    assert copied[0] is not layers[0] and copied[1] is not copied[0]
    torch.testing.assert_close(copied[2].weight, layers[0].weight)
    assert copied[2].weight.data_ptr() != layers[0].weight.data_ptr()

    with pytest.raises(ValueError, match="got 2 modules for 3 `in_keys`"):
        flavour.nn.ModuleMap(keys, layers[:2])
    with pytest.raises(TypeError, match="`in_keys` must be metatensor Labels"):
        flavour.nn.ModuleMap([0, 1, 2], layers)
    with pytest.raises(ValueError, match="got 1 `out_properties` for 3"):
        flavour.nn.ModuleMap(keys, layers, [flavour.labels(["p"], [[0]])])


def test_module_map_errors(flavour):
    keys = flavour.keys()
    tensor = flavour.tensor()
    module = flavour.nn.Linear(_first(flavour, 2), 3, 2)
    with pytest.raises(ValueError, match="this ModuleMap has no module for the key"):
        module(tensor.to(dtype=torch.float32))

    squeeze = flavour.nn.ModuleMap.from_module(keys, torch.nn.Flatten(1))
    with pytest.raises(ValueError, match="changed the shape of the values"):
        squeeze(tensor)

    wrong = flavour.nn.ModuleMap.from_module(
        keys, torch.nn.Identity(), [flavour.labels(["p"], [[0]])] * 3
    )
    with pytest.raises(ValueError, match="gives 3 features, but its out_properties"):
        wrong(tensor)


def test_gradients_of_gradients(flavour):
    block = flavour.block(0, gradients=False)
    xyz = flavour.labels(["xyz"], [[0], [1], [2]])
    gradient = flavour.TensorBlock(
        torch.zeros(1, 3, 1, 3, dtype=torch.float64),
        flavour.labels(["sample"], [[0]]),
        [xyz, block.components[0]],
        block.properties,
    )
    gradient.add_gradient(
        "cell",
        flavour.TensorBlock(
            torch.zeros(1, 2, 3, 1, 3, dtype=torch.float64),
            flavour.labels(["sample"], [[0]]),
            [flavour.labels(["cell"], [[0], [1]]), xyz, block.components[0]],
            block.properties,
        ),
    )
    block.add_gradient("positions", gradient)
    keys = flavour.labels(["o3_lambda", "o3_sigma"], [[0, 1]])
    nested = flavour.TensorMap(keys, [block])
    with pytest.raises(ValueError, match="gradients of gradients are not supported"):
        flavour.nn.ReLU(keys)(nested)


def _first(flavour, count):
    return flavour.labels(
        ["o3_lambda", "o3_sigma"], [[o3_lambda, 1] for o3_lambda in range(count)]
    )


def test_equivariant_linear(flavour):
    keys = flavour.keys()
    tensor = flavour.tensor()
    module = flavour.nn.EquivariantLinear(keys, 3, 4, dtype=torch.float64)
    layers = module.module_map
    assert [layer.bias is not None for layer in layers] == [True, False, False]
    result = module(tensor)
    for i, block in enumerate(tensor.blocks()):
        expected = torch.nn.functional.linear(
            block.values, layers[i].weight, layers[i].bias
        )
        torch.testing.assert_close(result.block(i).values, expected)
    _check_gradients(module, tensor, result)

    # invariant keys given explicitly, on other dimensions
    other = flavour.labels(["angular"], [[0], [1], [2]])
    module = flavour.nn.EquivariantLinear(
        other, 3, 2, invariant_keys=flavour.labels(["angular"], [[0], [2]])
    )
    assert [layer.bias is not None for layer in module.module_map] == [
        True,
        False,
        True,
    ]
    with pytest.raises(ValueError, match=r"`in_keys` have no dimension \['o3_lambda'"):
        flavour.nn.EquivariantLinear(other, 3, 2)
    module = flavour.nn.EquivariantLinear(keys, 3, 2, bias=False)
    assert all(layer.bias is None for layer in module.module_map)


@pytest.mark.parametrize("name", ["ReLU", "SiLU", "Tanh"])
def test_activations(flavour, name):
    keys = flavour.keys()
    tensor = flavour.tensor()
    function = getattr(torch.nn.functional, name.lower())
    module = getattr(flavour.nn, name)(keys)
    result = module(tensor)
    for i, block in enumerate(tensor.blocks()):
        torch.testing.assert_close(result.block(i).values, function(block.values))
        # the properties are kept
        assert result.block(i).properties == block.properties
    _check_gradients(module, tensor, result)

    invariant = getattr(flavour.nn, "Invariant" + name)(keys)
    result = invariant(tensor)
    torch.testing.assert_close(result.block(0).values, function(tensor.block(0).values))
    for i in (1, 2):
        torch.testing.assert_close(result.block(i).values, tensor.block(i).values)
        torch.testing.assert_close(
            result.block(i).gradient("positions").values,
            tensor.block(i).gradient("positions").values,
        )
    _check_gradients(invariant, tensor, result)

    properties = flavour.labels(["activated"], [[0], [1], [2]])
    result = getattr(flavour.nn, name)(keys, properties)(tensor)
    assert result.block(2).properties == properties


def test_in_place_activation(flavour):
    tensor = flavour.tensor()
    original = tensor.block(0).values.clone()
    result = flavour.nn.ReLU(tensor.keys, in_place=True)(tensor)
    torch.testing.assert_close(result.block(0).values, torch.relu(original))
    # the gradients use the values from before the activation
    expected = _expected_gradient(
        torch.relu,
        original,
        tensor.block(0).gradient("positions").values,
        _sample(tensor.block(0).gradient("positions")),
    )
    torch.testing.assert_close(result.block(0).gradient("positions").values, expected)


@pytest.mark.parametrize("mean", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(flavour, mean, affine):
    keys = flavour.keys()
    tensor = flavour.tensor(n_properties=5)
    module = flavour.nn.LayerNorm(
        keys, 5, mean=mean, elementwise_affine=affine, eps=1e-3, dtype=torch.float64
    )
    if affine:
        with torch.no_grad():
            for layer in module.module_map:
                layer.weight.uniform_(0.5, 1.5)
                layer.bias.uniform_(-1.0, 1.0)
    result = module(tensor)
    for i, block in enumerate(tensor.blocks()):
        values = block.values
        centered = values - values.mean(dim=-1, keepdim=True) if mean else values
        expected = centered / torch.sqrt(
            values.var(dim=-1, unbiased=False, keepdim=True) + 1e-3
        )
        if affine:
            layer = module.module_map[i]
            expected = expected * layer.weight + layer.bias
        torch.testing.assert_close(result.block(i).values, expected)
        if mean and affine:
            reference = torch.nn.functional.layer_norm(
                values, (5,), layer.weight, layer.bias, eps=1e-3
            )
            torch.testing.assert_close(result.block(i).values, reference)
        assert result.block(i).properties == block.properties
    _check_gradients(module, tensor, result)

    invariant = flavour.nn.InvariantLayerNorm(keys, 5, dtype=torch.float64)
    result = invariant(tensor)
    torch.testing.assert_close(result.block(2).values, tensor.block(2).values)
    assert isinstance(invariant.module_map[0], type(module.module_map[0]))
    _check_gradients(invariant, tensor, result)
    # no bias without elementwise_affine, or when asked
    assert flavour.nn.LayerNorm(keys, 5, bias=False).module_map[0].bias is None


def test_invariant_layer_norm_features(flavour):
    keys = flavour.keys()
    # `in_features` has one entry per invariant key, in the order of the keys
    module = flavour.nn.InvariantLayerNorm(
        keys, [4, 6], invariant_keys=flavour.labels(["o3_lambda"], [[0], [2]])
    )
    layers = module.module_map
    assert layers[0].in_features == 4 and layers[2].in_features == 6
    assert not hasattr(layers[1], "in_features")
    assert len(list(module.parameters())) == 4

    result = flavour.nn.InvariantLayerNorm(keys, [5])(flavour.tensor(n_properties=5))
    mean = result.block(0).values.mean(dim=-1)
    torch.testing.assert_close(mean, torch.zeros_like(mean))
    with pytest.raises(ValueError, match="has 3 entries but there are 1 invariant"):
        flavour.nn.InvariantLayerNorm(keys, [5, 5, 5])


def test_equivariant_transformation(flavour):
    keys = flavour.keys()
    tensor = flavour.tensor(gradients=False)
    module = flavour.nn.EquivariantTransformation(
        torch.nn.Sigmoid(),
        keys,
        3,
        out_properties=flavour.labels(["g"], [[0], [1], [2]]),
    )
    result = module(tensor)
    torch.testing.assert_close(
        result.block(0).values, torch.sigmoid(tensor.block(0).values)
    )
    for i in (1, 2):
        values = tensor.block(i).values
        norm = torch.linalg.norm(values, dim=1, keepdim=True)
        torch.testing.assert_close(
            result.block(i).values, values / norm * torch.sigmoid(norm)
        )
    assert result.block(1).properties == flavour.labels(["g"], [[0], [1], [2]])

    with pytest.raises(ValueError, match="does not support covariant blocks with"):
        module(flavour.tensor())


def test_equivariant_transformation_features(flavour):
    keys = flavour.keys()
    tensor = flavour.tensor(gradients=False)
    # the invariant block goes from 3 to 5 features, out_properties follow
    wide = flavour.labels(["g"], [[p] for p in range(5)])
    narrow = flavour.labels(["g"], [[0], [1], [2]])
    linear = torch.nn.Linear(3, 5, dtype=torch.float64)
    module = flavour.nn.EquivariantTransformation(
        [linear, torch.nn.Tanh(), torch.nn.Tanh()],
        keys,
        in_features=3,
        out_properties=[wide, narrow, narrow],
    )
    result = module(tensor)
    torch.testing.assert_close(result.block(0).values, linear(tensor.block(0).values))
    assert result.block(0).properties == wide
    assert result.block(2).properties == narrow

    # modules for covariant blocks must keep the number of features
    shrink = flavour.nn.EquivariantTransformation(torch.nn.Linear(3, 2), keys, 3, 2)
    with pytest.raises(ValueError, match="gives 2 features from 3: modules for"):
        shrink(tensor.to(dtype=torch.float32))


def test_sequential(flavour):
    keys = flavour.keys()
    tensor = flavour.tensor()
    linear = flavour.nn.EquivariantLinear(keys, 3, 4, dtype=torch.float64)
    activation = flavour.nn.InvariantTanh(keys)
    norm = flavour.nn.InvariantLayerNorm(keys, 4, dtype=torch.float64)
    module = flavour.nn.Sequential(keys, linear, activation, norm)
    assert module.in_keys == keys
    result = module(tensor)
    expected = norm(activation(linear(tensor)))
    assert flavour.equal(result, expected)
    # the layers of each key are chained, and shared with the modules given
    assert len(module.module_map[2]) == 3
    assert module.module_map[2][1] is activation.module_map[2]
    assert "module_map.module_list.0.0.weight" in module.state_dict()

    # the output properties are those the last module would give
    properties = flavour.labels(["energy"], [[0], [1], [2], [3]])
    named = flavour.nn.Linear(keys, 3, out_properties=properties, dtype=torch.float64)
    for modules in [(named, activation), (named, activation, norm)]:
        result = flavour.nn.Sequential(keys, *modules)(tensor)
        assert result.block(1).properties == properties
    keeping = [
        flavour.nn.Tanh(keys),
        flavour.nn.LayerNorm(keys, 3, dtype=torch.float64),
    ]
    result = flavour.nn.Sequential(keys, *keeping)(tensor)
    assert result.block(2).properties == tensor.block(2).properties

    with pytest.raises(ValueError, match="the module at position 1 has different"):
        flavour.nn.Sequential(keys, linear, flavour.nn.ReLU(_first(flavour, 2)))
    with pytest.raises(TypeError, match="position 0 of Sequential is a Tanh, which"):
        flavour.nn.Sequential(keys, torch.nn.Tanh())


def test_parameters_and_state_dict(flavour):
    keys = flavour.keys()
    tensor = flavour.tensor()
    module = flavour.nn.Sequential(
        keys,
        flavour.nn.EquivariantLinear(keys, 3, 4, dtype=torch.float64),
        flavour.nn.InvariantLayerNorm(keys, 4, dtype=torch.float64),
    )
    # 2 weights + 1 bias for the linear layers of 3 keys, weight and bias of
    # the invariant layer norm
    assert len(list(module.parameters())) == 3 + 1 + 2

    other = flavour.nn.Sequential(
        keys,
        flavour.nn.EquivariantLinear(keys, 3, 4, dtype=torch.float64),
        flavour.nn.InvariantLayerNorm(keys, 4, dtype=torch.float64),
    )
    assert not flavour.equal(module(tensor), other(tensor))
    other.load_state_dict(module.state_dict())
    assert flavour.equal(module(tensor), other(tensor))
    assert other.in_keys == keys

    moved = copy.deepcopy(module).to(torch.float32)
    assert moved.module_map[0][0].weight.dtype == torch.float32
    result = moved(tensor.to(dtype=torch.float32))
    assert result.block(1).values.dtype == torch.float32
    assert result.block(1).gradient("positions").values.dtype == torch.float32


def test_training_step(flavour):
    """The loss goes down when a model learns the outputs of another one with
    the same architecture"""
    keys = flavour.keys()
    tensor = flavour.tensor(gradients=False)

    def model():
        return flavour.nn.Sequential(
            keys,
            flavour.nn.EquivariantLinear(keys, 3, 8, dtype=torch.float64),
            flavour.nn.InvariantSiLU(keys),
            flavour.nn.EquivariantLinear(keys, 8, 2, dtype=torch.float64),
        )

    torch.manual_seed(0)
    with torch.no_grad():
        target = model()(tensor)
    module = model()
    optimizer = torch.optim.Adam(module.parameters(), lr=0.02)
    losses = []
    for _ in range(100):
        optimizer.zero_grad()
        prediction = module(tensor)
        loss = sum(
            ((prediction.block(i).values - target.block(i).values) ** 2).sum()
            for i in range(len(keys))
        )
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]


def test_flavour_classes(flavour):
    module = flavour.nn.Linear(flavour.keys(), 3, 2)
    assert isinstance(module.module_map, flavour.nn.ModuleMap)
    assert isinstance(module, flavour.nn.Module)
    other = TORCH if flavour is CORE else CORE
    assert not isinstance(module.module_map, other.nn.ModuleMap)
    with pytest.raises(TypeError, match="`in_keys` must be metatensor Labels"):
        flavour.nn.Linear(other.keys(), 3, 2)
