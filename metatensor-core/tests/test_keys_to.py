"""keys_to_samples, keys_to_properties and components_to_properties, checked
against a cell-by-cell reference on small maps."""

import numpy as np
import pytest
from _index_impls import index_impl  # noqa: F401 (autouse fixture)
from _utils import requires_torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tensor import example, make_block

from metatensor import Labels, MetatensorError, TensorMap


def cells(tensor, parameter=None):
    """Every value of the map as {(key, sample, component, property): value}"""
    result = {}
    for key, block in tensor.items():
        if parameter is not None:
            block = block.gradient(parameter)
        key = dict(zip(key.names, key.values.tolist()))
        values = np.asarray(block.values)
        for s, sample in enumerate(block.samples.values.tolist()):
            sample = dict(zip(block.samples.names, sample))
            for p, prop in enumerate(block.properties.values.tolist()):
                prop = dict(zip(block.properties.names, prop))
                for c in np.ndindex(*values.shape[1:-1]):
                    value = values[(s, *c, p)]
                    result[
                        (
                            frozenset(key.items()),
                            frozenset(sample.items()),
                            c,
                            frozenset(prop.items()),
                        )
                    ] = value
    return result


def moved_cells(original, names, axis):
    """Where each cell of ``original`` lands after moving ``names`` to ``axis``"""
    result = {}
    for (key, sample, c, prop), value in original.items():
        moved = {k: v for k, v in key if k in names}
        key = frozenset((k, v) for k, v in key if k not in names) or frozenset(
            {("_", 0)}
        )
        if axis == "samples":
            sample = sample | frozenset(moved.items())
        else:
            prop = prop | frozenset(moved.items())
        result[(key, sample, c, prop)] = value
    return result


def check_moved(original, result, names, axis, fill_value, parameter=None):
    expected = moved_cells(cells(original, parameter), names, axis)
    actual = cells(result, parameter)
    for cell, value in expected.items():
        assert actual[cell] == value
    fill = fill_value if parameter is None else 0.0
    for cell, value in actual.items():
        if cell not in expected:
            assert value == fill


def sample_gradient_rows(tensor, parameter):
    """Gradient rows as {(key, parent sample, other gradient sample dims): row}"""
    rows = {}
    for key, block in tensor.items():
        gradient = block.gradient(parameter)
        samples = block.samples.values.tolist()
        for i, row in enumerate(gradient.samples.values.tolist()):
            parent = samples[row[0]]
            rows[(tuple(key.values.tolist()), tuple(parent), tuple(row[1:]))] = (
                np.asarray(gradient.values[i])
            )
    return rows


@pytest.mark.parametrize("sort_samples", [True, False])
@pytest.mark.parametrize("fill_value", [0.0, -3.5])
def test_keys_to_samples(sort_samples, fill_value):
    tensor = example()
    tensor.set_info("unit", "eV")
    result = tensor.keys_to_samples(
        "neighbor", fill_value=fill_value, sort_samples=sort_samples
    )
    assert result.keys.names == ["center"]
    assert result.keys.values.tolist() == [[1], [6]]
    assert result.sample_names == ["system", "atom", "neighbor"]
    assert result.info() == {"unit": "eV"}
    check_moved(tensor, result, {"neighbor"}, "samples", fill_value)

    block = result.block(center=1)
    samples = block.samples.values.tolist()
    if sort_samples:
        assert samples == sorted(samples)
    else:
        assert samples == [[0, 0, 1], [0, 1, 1], [0, 2, 1], [0, 0, 6], [0, 1, 6]]
    # properties are the union, in order of appearance
    assert block.properties.values.tolist() == [[0], [1], [2]]

    # gradients follow their samples
    for (key, parent, rest), value in sample_gradient_rows(tensor, "positions").items():
        center, neighbor = key
        new_block = result.block(center=center)
        new_sample = new_block.samples.position((*parent, neighbor))
        gradient = new_block.gradient("positions")
        row = gradient.samples.position((new_sample, *rest))
        old_properties = tensor.block(center=center, neighbor=neighbor).properties
        columns = [new_block.properties.position(p) for p in old_properties.values]
        assert np.array_equal(gradient.values[row][..., columns], value)
    if sort_samples:
        for new_block in result:
            rows = new_block.gradient("positions").samples.values.tolist()
            assert rows == sorted(rows)


def test_keys_to_samples_all_keys():
    tensor = example(gradient=False)
    result = tensor.keys_to_samples(["center", "neighbor"])
    assert result.keys == Labels.single()
    assert result.sample_names == ["system", "atom", "center", "neighbor"]
    assert len(result.block().samples) == 10
    check_moved(tensor, result, {"center", "neighbor"}, "samples", 0.0)


def test_keys_to_samples_errors():
    tensor = example()
    with pytest.raises(MetatensorError, match="'foo' in `keys_to_move` is not part"):
        tensor.keys_to_samples("foo")
    with pytest.raises(ValueError, match="at least one key"):
        tensor.keys_to_samples([])
    with pytest.raises(NotImplementedError, match="Labels carrying values"):
        tensor.keys_to_samples(Labels(["neighbor"], np.array([[1]])))
    # Labels without entries are fine
    result = tensor.keys_to_samples(Labels.empty(["neighbor"]))
    assert result.keys.names == ["center"]


@pytest.mark.parametrize("sort_samples", [True, False])
@pytest.mark.parametrize("fill_value", [0.0, 2.0])
def test_keys_to_properties(sort_samples, fill_value):
    tensor = example()
    tensor.set_info("unit", "eV")
    result = tensor.keys_to_properties(
        "neighbor", fill_value=fill_value, sort_samples=sort_samples
    )
    assert result.keys.values.tolist() == [[1], [6]]
    assert result.property_names == ["neighbor", "n"]
    assert result.info() == {"unit": "eV"}
    block = result.block(center=1)
    assert block.properties.values.tolist() == [[1, 0], [1, 1], [6, 1], [6, 2]]
    assert block.samples.values.tolist() == [[0, 0], [0, 1], [0, 2]]
    check_moved(tensor, result, {"neighbor"}, "properties", fill_value)
    check_moved(tensor, result, {"neighbor"}, "properties", fill_value, "positions")


def test_keys_to_properties_unsorted_samples():
    block_a = make_block(0, 3, [0], False)
    samples = Labels(["system", "atom"], np.array([[0, 5], [0, 1]]))
    block_b = make_block(1, 2, [0], False)
    block_b = type(block_b)(
        block_b.values, samples, block_b.components, block_b.properties
    )
    tensor = TensorMap(Labels.range("k", 2), [block_a, block_b])

    result = tensor.keys_to_properties("k", sort_samples=False)
    assert result.block().samples.values.tolist() == [[0, 0], [0, 1], [0, 2], [0, 5]]
    result = tensor.keys_to_properties("k", sort_samples=True)
    assert result.block().samples.values.tolist() == [[0, 0], [0, 1], [0, 2], [0, 5]]

    reversed_map = TensorMap(
        Labels.range("k", 2), [block.copy() for block in reversed(list(tensor))]
    )
    unsorted = reversed_map.keys_to_properties("k", sort_samples=False)
    assert unsorted.block().samples.values.tolist() == [[0, 5], [0, 1], [0, 0], [0, 2]]
    check_moved(reversed_map, unsorted, {"k"}, "properties", 0.0)


def test_keys_to_properties_with_entries():
    tensor = TensorMap(
        Labels(["k"], np.array([[2], [0]])),
        [make_block(0, 2, [0, 1], False), make_block(1, 3, [0, 1], False)],
    )
    entries = Labels(["k"], np.array([[0], [1], [2]]))
    result = tensor.keys_to_properties(entries, fill_value=-1.0)
    block = result.block()
    assert block.properties.values.tolist() == [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
        [2, 0],
        [2, 1],
    ]
    # the block for k=1 is absent: filled
    assert np.all(block.values[:, :, 2:4] == -1.0)
    check_moved(tensor, result, {"k"}, "properties", -1.0)

    with pytest.raises(MetatensorError, match="is not part of the entries"):
        tensor.keys_to_properties(Labels(["k"], np.array([[0], [1]])))

    different = TensorMap(
        Labels(["k"], np.array([[2], [0]])),
        [make_block(0, 2, [0, 1], False), make_block(1, 3, [0, 5], False)],
    )
    with pytest.raises(MetatensorError, match="must have the same properties"):
        different.keys_to_properties(entries)


def test_merge_needs_same_components():
    block = make_block(0, 2, [0], False)
    other = block.copy().to(arrays="numpy")
    tensor = TensorMap(Labels.range("k", 2), [block, other])
    assert len(tensor.keys_to_properties("k")) == 1

    from metatensor import TensorBlock

    different = TensorBlock(
        np.zeros((2, 2, 1)),
        Labels(["system", "atom"], np.array([[0, 0], [0, 1]])),
        [Labels.range("c", 2)],
        Labels.range("n", 1),
    )
    tensor = TensorMap(Labels.range("k", 2), [make_block(0, 2, [0], False), different])
    with pytest.raises(MetatensorError, match="call components_to_properties first"):
        tensor.keys_to_samples("k")
    with pytest.raises(MetatensorError, match="call components_to_properties first"):
        tensor.keys_to_properties("k")


def test_components_to_properties():
    tensor = example()
    tensor.set_info("unit", "eV")
    result = tensor.components_to_properties("c")
    assert result.component_names == []
    assert result.property_names == ["c", "n"]
    assert result.info() == {"unit": "eV"}
    for original, block in zip(tensor, result):
        n_properties = len(original.properties)
        assert block.properties.values.tolist() == [
            [c, n] for c in range(3) for n in original.properties.values[:, 0].tolist()
        ]
        assert np.array_equal(block.values, original.values.reshape(len(original), -1))
        gradient = block.gradient("positions")
        assert [c.names[0] for c in gradient.components] == ["xyz"]
        assert gradient.values.shape == (len(gradient.samples), 3, 3 * n_properties)
        expected = original.gradient("positions").values.reshape(
            len(gradient.samples), 3, -1
        )
        assert np.array_equal(gradient.values, expected)
        assert gradient.properties is block.properties

    with pytest.raises(MetatensorError, match="'xyz' is not a component"):
        tensor.components_to_properties("xyz")


def test_components_to_properties_several():
    from metatensor import TensorBlock

    rng = np.random.default_rng(0)
    values = rng.normal(size=(2, 2, 3, 4))
    block = TensorBlock(
        values,
        Labels.range("s", 2),
        [Labels.range("a", 2), Labels.range("b", 3)],
        Labels.range("p", 4),
    )
    tensor = TensorMap(Labels.single(), [block])

    result = tensor.components_to_properties(["b"])
    assert result.component_names == ["a"]
    new = result.block()
    for b in range(3):
        for p in range(4):
            column = new.properties.position((b, p))
            assert np.array_equal(new.values[:, :, column], values[:, :, b, p])

    # moved one after the other, each placed first among the properties
    result = tensor.components_to_properties(["a", "b"])
    new = result.block()
    assert new.properties.names == ["b", "a", "p"]
    for a in range(2):
        for b in range(3):
            for p in range(4):
                column = new.properties.position((b, a, p))
                assert np.array_equal(new.values[:, column], values[:, a, b, p])


@requires_torch
def test_torch_merges():
    import torch

    tensor = example()
    torch_tensor = tensor.to(arrays="torch")
    for method, names in (
        ("keys_to_samples", "neighbor"),
        ("keys_to_properties", "neighbor"),
        ("components_to_properties", "c"),
    ):
        expected = getattr(tensor, method)(names)
        result = getattr(torch_tensor, method)(names)
        assert isinstance(result.keys.values, torch.Tensor)
        for block, other in zip(expected, result):
            assert isinstance(other.values, torch.Tensor)
            assert np.array_equal(block.values, other.values.numpy())
            assert block.samples == other.samples
            assert block.properties == other.properties
            assert np.array_equal(
                block.gradient("positions").values,
                other.gradient("positions").values.numpy(),
            )


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_keys_to_properties_random(data):
    """Random sparse maps: every cell lands where it should"""
    n_keys = data.draw(st.integers(1, 5))
    key_values = data.draw(
        st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 3)),
            min_size=n_keys,
            max_size=n_keys,
            unique=True,
        )
    )
    blocks = []
    for seed in range(n_keys):
        atoms = data.draw(
            st.lists(st.integers(0, 6), min_size=0, max_size=5, unique=True)
        )
        properties = data.draw(
            st.lists(st.integers(0, 4), min_size=1, max_size=3, unique=True)
        )
        block = make_block(seed, len(atoms), properties, gradient=False)
        samples = Labels(
            ["system", "atom"], np.array([[0, a] for a in atoms]).reshape(-1, 2)
        )
        blocks.append(
            type(block)(block.values, samples, block.components, block.properties)
        )
    tensor = TensorMap(Labels(["a", "b"], np.array(key_values)), blocks)
    name = data.draw(st.sampled_from(["a", "b"]))
    sort = data.draw(st.booleans())
    check_moved(
        tensor,
        tensor.keys_to_properties(name, sort_samples=sort),
        {name},
        "properties",
        0.0,
    )
    check_moved(
        tensor, tensor.keys_to_samples(name, sort_samples=sort), {name}, "samples", 0.0
    )
