import copy
import pickle

import numpy as np
import pytest
from _utils import requires_torch

from metatensor import Labels, LabelsEntry, MetatensorError, TensorBlock, TensorMap

MOVED = "this block has been released or moved inside a TensorBlock or TensorMap"


def make_block(seed, n_samples, properties, gradient=True, dtype=np.float64):
    rng = np.random.default_rng(seed)
    properties = Labels(["n"], np.array(properties).reshape(-1, 1))
    block = TensorBlock(
        values=rng.normal(size=(n_samples, 3, len(properties))).astype(dtype),
        samples=Labels(
            ["system", "atom"], np.array([[0, i] for i in range(n_samples)])
        ),
        components=[Labels.range("c", 3)],
        properties=properties,
    )
    if gradient:
        samples = np.array([[i, 0, j] for i in range(n_samples) for j in (i, 7)])
        samples = Labels(["sample", "system", "atom"], samples)
        block.add_gradient(
            "positions",
            TensorBlock(
                rng.normal(size=(len(samples), 3, 3, len(properties))).astype(dtype),
                samples,
                [Labels.range("xyz", 3), Labels.range("c", 3)],
                properties,
            ),
        )
    return block


def example(gradient=True):
    keys = Labels(["center", "neighbor"], np.array([[1, 1], [1, 6], [6, 1], [6, 6]]))
    blocks = [
        make_block(1, 3, [0, 1], gradient),
        make_block(2, 2, [1, 2], gradient),
        make_block(3, 4, [0, 1], gradient),
        make_block(4, 1, [5], gradient),
    ]
    return TensorMap(keys, blocks)


# ================================================================================ #
# construction


def test_construction():
    tensor = example()
    assert len(tensor) == 4
    assert tensor.keys.names == ["center", "neighbor"]
    assert tensor.sample_names == ["system", "atom"]
    assert tensor.component_names == ["c"]
    assert tensor.property_names == ["n"]
    assert tensor.dtype == np.float64
    assert tensor.device == "cpu"
    assert not tensor.is_view


def test_empty_map():
    tensor = TensorMap(Labels.empty(["a"]), [])
    assert len(tensor) == 0
    assert tensor.dtype is None
    assert tensor.blocks() == []
    assert tensor.sample_names == []
    with pytest.raises(ValueError, match="there are no blocks in this TensorMap"):
        tensor.block()
    with pytest.raises(MetatensorError, match="no keys to move in an empty TensorMap"):
        tensor.keys_to_samples("a")


def test_blocks_are_moved():
    block = make_block(0, 2, [0])
    tensor = TensorMap(Labels.single(), [block])
    with pytest.raises(ValueError, match=MOVED):
        block.values  # noqa: B018
    with pytest.raises(ValueError, match=MOVED):
        TensorMap(Labels.single(), [block])
    assert "moved" in repr(block)
    assert tensor.block().shape == (2, 3, 1)


def test_views_are_copied():
    tensor = example()
    view = tensor.block(0)
    assert view.is_view
    other = TensorMap(Labels.single(), [view])
    # the view is still usable, the new map has a copy
    assert view.values is tensor.block(0).values
    assert other.block(0).values is not view.values
    assert np.array_equal(other.block(0).values, view.values)


def test_construction_errors():
    block = make_block(0, 2, [0])
    with pytest.raises(TypeError, match="`keys` must be metatensor Labels"):
        TensorMap(np.array([[0]]), [block])
    with pytest.raises(MetatensorError, match="got 1 blocks and 2 keys"):
        TensorMap(Labels.range("k", 2), [block])
    with pytest.raises(
        TypeError, match="`blocks` elements must be metatensor TensorBlock"
    ):
        TensorMap(Labels.single(), [np.zeros(2)])
    with pytest.raises(MetatensorError, match="the same block can not be used twice"):
        TensorMap(Labels.range("k", 2), [block, block])

    other = TensorBlock(
        np.zeros((1, 1)), Labels.range("s", 1), [], Labels.range("n", 1)
    )
    with pytest.raises(MetatensorError, match="same sample names"):
        TensorMap(Labels.range("k", 2), [make_block(0, 2, [0], False), other])

    with pytest.raises(MetatensorError, match="same gradients"):
        TensorMap(
            Labels.range("k", 2), [make_block(0, 2, [0]), make_block(0, 2, [0], False)]
        )

    with pytest.raises(MetatensorError, match="at least 'f64' and 'f32'"):
        TensorMap(
            Labels.range("k", 2),
            [make_block(0, 2, [0]), make_block(0, 2, [0], dtype=np.float32)],
        )
    # failed construction does not consume the blocks
    assert block.values.shape == (2, 3, 1)


# ================================================================================ #
# block selection


def test_block_selection():
    tensor = example()
    assert tensor.block(1).shape == (2, 3, 2)
    assert tensor.block(center=1, neighbor=6).shape == (2, 3, 2)
    assert tensor.block({"center": 6, "neighbor": 6}).shape == (1, 3, 1)
    assert tensor.block({"neighbor": 6, "center": 6}).shape == (1, 3, 1)
    assert tensor.block(tensor.keys[2]).shape == (4, 3, 2)
    assert tensor[3].shape == (1, 3, 1)
    selection = Labels(["center", "neighbor"], np.array([[6, 1]]))
    assert tensor.block(selection).shape == (4, 3, 2)
    assert tensor.block(selection).is_view


def test_block_selection_errors():
    tensor = example()
    with pytest.raises(
        ValueError, match=r"couldn't find any block matching \(center=9\)"
    ):
        tensor.block(center=9)
    with pytest.raises(ValueError, match=r"more than one block matched \(center=1\)"):
        tensor.block(center=1)
    with pytest.raises(ValueError, match="more than one block matched"):
        tensor.block()
    with pytest.raises(TypeError, match="must be integers"):
        tensor.block(center=1.5)
    with pytest.raises(MetatensorError, match="'foo' in selection is not part"):
        tensor.block(foo=1)
    with pytest.raises(TypeError, match="block selection must be"):
        tensor.block("center")
    with pytest.raises(TypeError, match="not both"):
        tensor.block({"center": 1}, neighbor=1)
    with pytest.raises(IndexError, match="block index 4 is out of bounds"):
        tensor.block(4)
    with pytest.raises(IndexError, match="out of bounds"):
        tensor.block_by_id(-1)


def test_blocks():
    tensor = example()
    assert len(tensor.blocks()) == 4
    assert [b.shape[0] for b in tensor.blocks(center=1)] == [3, 2]
    assert [b.shape[0] for b in tensor.blocks({"neighbor": 1})] == [3, 4]
    assert [b.shape[0] for b in tensor.blocks_by_id([3, 0])] == [1, 3]
    with pytest.raises(ValueError, match="couldn't find any block matching"):
        tensor.blocks(center=9)


def test_iteration_and_items():
    tensor = example()
    assert [b.shape[0] for b in tensor] == [3, 2, 4, 1]
    items = tensor.items()
    assert [key.values.tolist() for key, _ in items] == tensor.keys.values.tolist()
    assert all(isinstance(key, LabelsEntry) for key, _ in items)
    assert all(block.is_view for _, block in items)


def test_views_share_data():
    tensor = example()
    tensor.block(0).values[0, 0, 0] = 42.0
    assert tensor.block(0).values[0, 0, 0] == 42.0


# ================================================================================ #
# copies, conversions, info


def test_copy():
    tensor = example()
    tensor.set_info("unit", "eV")
    deep = tensor.copy()
    assert deep.block(0).values is not tensor.block(0).values
    assert np.array_equal(deep.block(0).values, tensor.block(0).values)
    assert deep.info() == {"unit": "eV"}
    assert tensor.copy(deep=False).block(0).values is tensor.block(0).values
    assert copy.deepcopy(tensor).block(0).values is not tensor.block(0).values
    assert copy.copy(tensor).block(0).values is tensor.block(0).values


def test_to():
    tensor = example()
    tensor.set_info("a", "b")
    converted = tensor.to(np.float32)
    assert converted.dtype == np.float32
    assert converted.block(0).gradient("positions").values.dtype == np.float32
    assert converted.info() == {"a": "b"}
    assert tensor.to(dtype="float32", device="cpu").dtype == np.float32


@requires_torch
def test_to_torch():
    import torch

    tensor = example()
    converted = tensor.to(arrays="torch", dtype=torch.float32)
    assert isinstance(converted.block(0).values, torch.Tensor)
    assert converted.dtype == torch.float32
    assert isinstance(converted.keys.values, torch.Tensor)
    assert converted.device == torch.device("cpu")
    back = converted.to(arrays="numpy")
    assert back.dtype == np.float32

    # mixed numpy/torch blocks are refused
    blocks = [
        make_block(0, 2, [0], False),
        make_block(1, 2, [0], False).to(arrays="torch"),
    ]
    with pytest.raises(MetatensorError, match="different origins"):
        TensorMap(Labels.range("k", 2), blocks)


def test_info():
    tensor = example()
    assert tensor.info() == {}
    assert tensor.get_info("unit") is None
    tensor.set_info("unit", "eV")
    tensor.set_info("empty", "")
    assert tensor.get_info("unit") == "eV"
    assert tensor.get_info("empty") == ""
    info = tensor.info()
    info["other"] = "x"
    assert "other" not in tensor.info()
    with pytest.raises(TypeError, match="info values must be str"):
        tensor.set_info("unit", 3)
    with pytest.raises(TypeError, match="info keys must be str"):
        tensor.set_info(3, "x")


def test_print():
    tensor = example()
    assert str(tensor) == repr(tensor)
    assert repr(tensor).startswith(
        "TensorMap with 4 blocks\n    keys: [center, neighbor]\n    blocks:\n"
    )
    keys = Labels(["k"], np.arange(20).reshape(-1, 1))
    blocks = [make_block(i, 1, [0], False) for i in range(20)]
    big = TensorMap(keys, blocks)
    assert len(str(big).splitlines()) < len(repr(big).splitlines())
    assert "..." in str(big)


@pytest.mark.parametrize("protocol", [2, 5])
def test_pickle(protocol):
    tensor = example()
    tensor.set_info("unit", "eV")
    loaded = pickle.loads(pickle.dumps(tensor, protocol=protocol))
    assert loaded.keys == tensor.keys
    assert loaded.info() == {"unit": "eV"}
    for block, other in zip(tensor, loaded):
        assert np.array_equal(block.values, other.values)
        assert block.samples == other.samples


def test_operators_need_operations():
    import importlib.util

    if importlib.util.find_spec("metatensor_operations") is not None:
        pytest.skip("metatensor-operations is installed")
    with pytest.raises(ImportError, match="pip install metatensor-operations"):
        example() + example()
    with pytest.raises(ImportError, match="pip install metatensor-operations"):
        example() == example()  # noqa: B015


def test_pickle_uses_public_path():
    import pickletools

    data = pickle.dumps(example(), protocol=4)
    strings = [arg for _, arg, _ in pickletools.genops(data) if isinstance(arg, str)]
    assert "metatensor.io" in strings
    assert "load_buffer" in strings
