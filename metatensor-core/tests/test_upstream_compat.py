"""Behaviours that code written for upstream metatensor-core relies on"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from _utils import requires_torch

import metatensor
from metatensor import Labels, TensorBlock, TensorMap


def test_cmake_prefix_path():
    # no C library here: the path is the installed package, without CMake files
    import metatensor.utils

    path = metatensor.utils.cmake_prefix_path
    assert os.path.isdir(path)
    assert os.path.samefile(path, os.path.dirname(metatensor.__file__))
    code = "import metatensor; print(metatensor.utils.cmake_prefix_path)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert os.path.samefile(result.stdout.strip(), path)


def test_print_truncation():
    labels = Labels.range("n", 10)
    # more rows shown at the start than at the end, and "..." in the middle
    assert labels.print(3, indent=1) == " n\n  0\n  1\n ...\n  9"
    assert labels.print(1) == " n\n 0\n..."
    assert labels.print(-1).count("\n") == 10

    keys = Labels(["k"], np.array([[1], [-10], [200]]))
    blocks = [
        TensorBlock(np.zeros((1, 1)), Labels.range("s", 1), [], Labels.range("p", 1))
        for _ in range(3)
    ]
    text = TensorMap(keys, blocks).print(2)
    assert text.splitlines()[3:] == [
        "         1   => TensorBlock with shape (1, 1)",
        "       -10   => TensorBlock with shape (1, 1)",
        "            ...",
    ]
    empty = TensorMap(Labels.empty(["k"]), [])
    assert empty.print(-1).splitlines()[0] == "TensorMap with 0 blocks"


# ================================================================================ #
# exception classes and messages: each case is written for upstream, the pattern is
# the one upstream's message matches, ours may add details after it


def _numpy_block(n_samples=3):
    return TensorBlock(
        np.zeros((n_samples, 2)),
        Labels.range("s", n_samples),
        [],
        Labels.range("p", 2),
    )


def _gradient(sample_names, sample_values, array=None):
    samples = Labels(sample_names, np.array(sample_values, dtype=np.int32))
    if array is None:
        array = np.zeros((len(samples), 2))
    return TensorBlock(array, samples, [], Labels.range("p", 2))


def _add_gradient(gradient):
    _numpy_block().add_gradient("g", gradient)


def _two_blocks(first, second):
    return TensorMap(Labels.range("k", 2), [first, second])


def _labels_entry():
    return Labels(["a", "b"], np.array([[1, 2]]))[0]


def _values_assignment():
    _numpy_block().values = np.zeros((3, 2))


def _more_than_one_block():
    keys = Labels(["key_1", "key_2"], np.array([[0, 0], [1, 0]]))
    tensor = TensorMap(keys, [_numpy_block(), _numpy_block()])
    tensor.block(key_2=0)


CORE_MESSAGES = [
    (
        lambda: TensorBlock(np.zeros((1, 1)), "s", [], Labels.range("p", 1)),
        TypeError,
        "`samples` must be metatensor Labels, not <class 'str'>",
    ),
    (
        lambda: TensorBlock(
            np.zeros((1, 1, 1)), Labels.range("s", 1), ["c"], Labels.range("p", 1)
        ),
        TypeError,
        "`components` elements must be metatensor Labels, not <class 'str'>",
    ),
    (
        lambda: TensorBlock(np.zeros((1, 1)), Labels.range("s", 1), [], "p"),
        TypeError,
        "`properties` must be metatensor Labels, not <class 'str'>",
    ),
    (
        lambda: _add_gradient(_gradient([], np.zeros((0, 0)))),
        metatensor.MetatensorError,
        "invalid parameter: gradients samples must have at least one dimension, "
        "named 'sample', we got none",
    ),
    (
        lambda: _add_gradient(_gradient(["sample"], [[-3]])),
        metatensor.MetatensorError,
        "invalid parameter: invalid value for the 'sample' dimension in gradient "
        "samples: all values should be positive, but we got -3",
    ),
    (
        lambda: _add_gradient(_gradient(["sample"], [[42]])),
        metatensor.MetatensorError,
        "invalid parameter: invalid value for the 'sample' dimension in gradient "
        "samples: we got 42, but the values contain 3 samples",
    ),
    (
        lambda: _add_gradient(_gradient(["sample"], [[0]], np.zeros((1, 2), "f4"))),
        metatensor.MetatensorError,
        "invalid parameter: the gradient values have dtype 'f32' but the block values "
        "have dtype 'f64'",
    ),
    (
        lambda: _numpy_block().to("cpu", device="cpu"),
        ValueError,
        "can not give a device twice in `TensorBlock.to`",
    ),
    (
        lambda: _numpy_block().to(np.float32, dtype=np.float64),
        ValueError,
        "can not give a dtype twice in `TensorBlock.to`",
    ),
    (
        lambda: _numpy_block().to(device="test"),
        ValueError,
        "can not move numpy array to non-cpu device: test",
    ),
    (
        lambda: _numpy_block().to(np.array([0])),
        TypeError,
        "unexpected type in `TensorBlock.to`: <class 'numpy.ndarray'>",
    ),
    (
        _values_assignment,
        AttributeError,
        r"Direct\ assignment\ to\ `values`\ is\ not\ possible\.\ Please\ use\ "
        r"block\.values\[:\]\ =\ new_values\ instead\.",
    ),
    (
        lambda: Labels(["not an ident"], np.array([[0]])),
        metatensor.MetatensorError,
        "invalid parameter: 'not an ident' is not a valid label name",
    ),
    (
        lambda: Labels([0], np.array([[0]])),
        TypeError,
        "Labels names must be strings, got <class 'int'> instead",
    ),
    (
        lambda: Labels.range("foo", 1).insert(0, "bar", [1]),
        ValueError,
        "`values` must be a numpy ndarray",
    ),
    (
        lambda: Labels.range("foo", 1).insert(0, "bar", np.array([[1]])),
        ValueError,
        "`values` must be a 1D array",
    ),
    (
        lambda: Labels.range("foo", 1).insert(42, "bar", np.array([1])),
        IndexError,
        "index 42 is out of bounds",
    ),
    (
        lambda: Labels.range("foo", 2)[1.5],
        TypeError,
        "Labels can only be indexed by a single string or integer, got <class 'float'>",
    ),
    (
        lambda: _labels_entry()[(1, 2)],
        TypeError,
        "can only index LabelsEntry with str or int, got <class 'tuple'>",
    ),
    (
        lambda: _labels_entry()[["a", "b"]],
        TypeError,
        "can only index LabelsEntry with str or int, got <class 'list'>",
    ),
    (
        lambda: Labels(["aa", "bb"], np.array([[0, 0]])).select(
            Labels(["aaaa"], np.array([[0]]))
        ),
        metatensor.MetatensorError,
        "invalid parameter: 'aaaa' in selection is not part of these Labels",
    ),
    (
        lambda: TensorMap("keys", []),
        TypeError,
        "`keys` must be metatensor Labels, not <class 'str'>",
    ),
    (
        lambda: TensorMap(Labels.range("k", 1), ["block"]),
        TypeError,
        "`blocks` elements must be metatensor TensorBlock, not <class 'str'>",
    ),
    (
        _more_than_one_block,
        ValueError,
        r"more than one block matched \(key_2=0\), use `TensorMap.blocks` to get all "
        "of them",
    ),
    (
        lambda: _two_blocks(_numpy_block(), _numpy_block().to(dtype=np.float32)),
        metatensor.MetatensorError,
        "invalid parameter: invalid tensor map: got blocks with different dtypes, at "
        "least 'f64' and 'f32' were detected",
    ),
    (
        lambda: TensorMap(Labels.range("k", 1), [_numpy_block()]).to(
            "cpu", device="cpu"
        ),
        ValueError,
        "can not give a device twice in `TensorMap.to`",
    ),
    (
        lambda: TensorMap(Labels.range("k", 1), [_numpy_block()]).to(
            "float32", dtype="float64"
        ),
        ValueError,
        "can not give a dtype twice in `TensorMap.to`",
    ),
    (
        lambda: TensorMap(Labels.range("k", 1), [_numpy_block()]).to(np.array([0])),
        TypeError,
        "unexpected type in `TensorMap.to`: <class 'numpy.ndarray'>",
    ),
]


@pytest.mark.parametrize("case", range(len(CORE_MESSAGES)))
def test_core_messages(case):
    function, error, pattern = CORE_MESSAGES[case]
    with pytest.raises(error) as info:
        function()
    assert re.search(pattern, str(info.value)) is not None, str(info.value)


def test_values_assignment_is_also_a_value_error():
    with pytest.raises(ValueError, match="Direct assignment to `values`"):
        _values_assignment()


@requires_torch
def test_core_messages_torch():
    import torch

    def torch_values(shape, **kwargs):
        return torch.zeros(shape, dtype=torch.float64, **kwargs)

    with pytest.raises(metatensor.MetatensorError) as info:
        TensorBlock(
            torch_values((1, 1), device="meta"),
            Labels.range("s", 1),
            [],
            Labels.range("p", 1),
        )
    assert re.search(
        "invalid parameter: invalid block: values and samples must be on the same "
        "device, got 'ExtDev:0' and 'CPU:0'",
        str(info.value),
    )

    block = TensorBlock(
        torch_values((3, 2)), Labels.range("s", 3), [], Labels.range("p", 2)
    )
    gradient = _gradient(["sample"], [[0]], torch_values((1, 2)))
    with pytest.raises(metatensor.MetatensorError) as info:
        _add_gradient(gradient)
    assert re.search(
        r"invalid\ parameter:\ the\ gradient\ data\ has\ a\ different\ origin\ "
        r"\('python\.torch'\)\ than\ the\ value\ data\ \('python\.numpy'\)",
        str(info.value),
    )

    meta_gradient = _gradient(["sample"], [[0]], torch_values((1, 2))).to("meta")
    with pytest.raises(metatensor.MetatensorError) as info:
        block.add_gradient("g", meta_gradient)
    assert re.search(
        "invalid parameter: the gradient values are on device 'ExtDev:0' but the "
        "block values are on device 'CPU:0'",
        str(info.value),
    )

    with pytest.raises(metatensor.MetatensorError) as info:
        _two_blocks(_numpy_block(), _numpy_block().to(arrays="torch"))
    assert re.search(
        r"invalid\ parameter:\ invalid\ tensor\ map:\ got\ blocks\ with\ different\ "
        r"origins,\ at\ least\ \('python\.numpy'\)\ and\ \('python\.torch'\)\ were\ "
        r"detected",
        str(info.value),
    )


# ================================================================================ #
# behaviours


def test_empty_names_string_means_no_dimensions():
    labels = Labels("", np.zeros((1, 0), dtype=np.int32))
    assert labels.names == []
    assert labels == Labels([], np.zeros((1, 0), dtype=np.int32))


def test_permute_negative_indices():
    labels = Labels(["a", "b", "c"], np.array([[1, 2, 3]]))
    assert labels.permute([-1, 0, -2]) == labels.permute([2, 0, 1])
    assert labels.permute([2, 0, 1]).names == ["c", "a", "b"]
    with pytest.raises(ValueError, match="permutation"):
        labels.permute([-4, 0, 1])


def test_components_to_properties_one_after_the_other():
    values = np.arange(2 * 2 * 3 * 4, dtype=np.float64).reshape(2, 2, 3, 4)
    block = TensorBlock(
        values,
        Labels.range("s", 2),
        [Labels.range("a", 2), Labels.range("b", 3)],
        Labels.range("p", 4),
    )
    tensor = TensorMap(Labels.range("k", 1), [block])
    together = tensor.components_to_properties(["a", "b"]).block()
    one_by_one = (
        tensor.components_to_properties("a").components_to_properties("b").block()
    )
    assert together.properties == one_by_one.properties
    assert together.properties.names == ["b", "a", "p"]
    assert np.array_equal(together.values, one_by_one.values)


def test_blocks_of_an_empty_tensor_map():
    tensor = TensorMap(Labels.empty(["key_1", "key_2"]), [])
    assert tensor.blocks({"key_1": 3}) == []
    assert tensor.blocks(key_1=3, key_2=1) == []
    with pytest.raises(metatensor.MetatensorError, match="not part of these Labels"):
        tensor.blocks(other=3)
    # with blocks, a selection matching nothing is still an error
    full = TensorMap(Labels(["key_1"], np.array([[0]])), [_numpy_block()])
    with pytest.raises(ValueError, match="couldn't find any block"):
        full.blocks(key_1=3)


def test_labels_to_device_twice():
    with pytest.raises(ValueError, match="can not give a device twice in `Labels.to`"):
        Labels.range("a", 2).to("cpu", device="cpu")


def test_loading_the_wrong_kind_of_data(tmp_path):
    labels = metatensor.Labels.range("a", 2)
    path = tmp_path / "labels.mts"
    metatensor.save(str(path), labels)
    with pytest.raises(
        metatensor.MetatensorError,
        match="serialization format error: unable to load a TensorMap from '.*', use "
        "`load_labels` to load Labels",
    ):
        metatensor.load(str(path))
    with pytest.raises(
        metatensor.MetatensorError,
        match="serialization format error: unable to load a TensorMap from buffer, "
        "use `load_labels_buffer` to load Labels",
    ):
        metatensor.io.load_buffer(metatensor.io.save_buffer(labels))

    block = metatensor.TensorBlock(
        np.zeros((2, 2)),
        metatensor.Labels.range("s", 2),
        [],
        metatensor.Labels.range("p", 2),
    )
    tensor = metatensor.TensorMap(metatensor.Labels.range("k", 1), [block])
    path = tmp_path / "tensor.mts"
    metatensor.save(str(path), tensor)
    with pytest.raises(
        metatensor.MetatensorError,
        match="serialization format error: unable to load Labels from '.*', use `load` "
        "to load TensorMap: start does not match magic string",
    ):
        metatensor.load_labels(str(path))
    with pytest.raises(
        metatensor.MetatensorError,
        match="serialization format error: unable to load Labels from buffer, use "
        "`load_buffer` to load TensorMap: start does not match magic string",
    ):
        metatensor.io.load_labels_buffer(metatensor.io.save_buffer(tensor))
    with pytest.raises(
        TypeError,
        match="`data` must be one of 'Labels', 'TensorBlock' or 'TensorMap', "
        "not <class 'numpy.ndarray'>",
    ):
        metatensor.save(str(tmp_path / "x.mts"), np.zeros(3))
