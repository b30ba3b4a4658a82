"""Labels can not change under their index: numpy values that can never be made
writeable, torch values whose in-place modification is refused; one rule for the
shape of values without entries; the extension without the GIL"""

import io
import pickle
import subprocess
import sys
import sysconfig
import threading

import numpy as np
import pytest
from _index_impls import index_impl  # noqa: F401 (autouse fixture)
from _utils import requires_torch

import metatensor
import metatensor._index
from metatensor import Labels, MetatensorError

MODIFIED = "the values of these Labels were modified in place"


def example_array():
    return np.array([[0, 1], [1, 0], [2, 2]])


# ================================================================================ #
# numpy values can never be written to


def numpy_labels():
    """Labels made in every way a user can get them"""
    first = Labels(["a", "b"], example_array())
    other = Labels(["a", "b"], np.array([[2, 2], [5, 5]], dtype=np.int32))
    return {
        "constructor": first,
        "int64 input": Labels(["a", "b"], example_array().astype(np.int64)),
        "list input": Labels(["a", "b"], [[0, 1], [1, 0]]),
        "single": Labels.single(),
        "range": Labels.range("n", 4),
        "union": first.union(other),
        "intersection": first.intersection(other),
        "difference": first.difference(other),
        "insert": first.insert(0, "c", np.arange(3)),
        "permute": first.permute([1, 0]),
        "remove": first.remove("b"),
        "rename": first.rename("a", "x"),
        "loaded": Labels.load_buffer(first.save_buffer()),
    }


@pytest.mark.parametrize("kind", list(numpy_labels()))
def test_numpy_values_can_not_be_made_writeable(kind):
    labels = numpy_labels()[kind]
    expected = labels.values.copy()
    positions = [labels.position(row) for row in expected]
    assert positions == list(range(len(labels)))

    for values in (labels.values, labels.column(labels.names[0]), labels[0].values):
        with pytest.raises(ValueError, match="read-only"):
            values[0] = 42
        with pytest.raises(ValueError, match="cannot set WRITEABLE flag"):
            values.flags.writeable = True
        with pytest.raises(ValueError, match="cannot set WRITEABLE flag"):
            values.setflags(write=True)
    assert np.array_equal(labels.values, expected)
    assert [labels.position(row) for row in expected] == positions


def test_numpy_values_do_not_share_the_input():
    values = example_array().astype(np.int32)
    labels = Labels(["a", "b"], values)
    values[0] = [7, 7]
    assert labels.values.tolist() == example_array().tolist()
    assert labels.position((7, 7)) is None


def test_readonly_copy_memory_is_immutable():
    impl = metatensor._index.impl
    values = np.arange(12, dtype=np.int32).reshape(4, 3)
    for source in (values, values[::-2], np.asfortranarray(values), values[:0]):
        copy = impl.readonly_copy(source)
        assert np.array_equal(copy, source)
        assert not np.shares_memory(copy, source)
        assert copy.flags.c_contiguous and copy.flags.aligned
        with pytest.raises(ValueError, match="cannot set WRITEABLE flag"):
            copy.flags.writeable = True
        # the index accepts it as it is
        index = impl.LabelsIndex(copy, False)
        assert len(index) == len(source)


def test_readonly_view_memory_is_immutable():
    impl = metatensor._index.impl
    for values in (
        np.arange(12, dtype=np.int32).reshape(4, 3),
        np.zeros((3, 0), np.int32),
    ):
        view = impl.readonly_view(values)
        assert np.array_equal(view, values)
        assert view.size == 0 or np.shares_memory(view, values)
        assert not values.flags.writeable
        for array in (view, view[1:], view.T, view.reshape(-1)):
            with pytest.raises(ValueError, match="cannot set WRITEABLE flag"):
                array.flags.writeable = True
        assert len(impl.LabelsIndex(view, False)) == len(values)

    values = np.arange(12, dtype=np.int32).reshape(4, 3)
    with pytest.raises(ValueError, match="expected a C-contiguous and aligned array"):
        impl.readonly_view(values[::2])
    with pytest.raises(TypeError, match="expected a numpy array of int32"):
        impl.readonly_view(values.astype(np.int64))


# ================================================================================ #
# values without entries


@pytest.mark.parametrize(
    "values, names, shape",
    [
        ([], ["a", "b"], (0, 2)),
        (np.zeros((0,), dtype=np.int64), ["a"], (0, 1)),
        (np.zeros((0, 3), dtype=np.int32), ["a"], (0, 1)),
        (np.zeros((0, 3, 2)), ["a", "b"], (0, 2)),
        # entries without dimensions are kept
        (np.zeros((3, 0), dtype=np.int32), [], (3, 0)),
        (np.zeros((3, 0)), [], (3, 0)),
    ],
)
def test_values_without_entries(values, names, shape):
    labels = Labels(names, values)
    assert labels.values.shape == shape
    assert len(labels) == shape[0]


@pytest.mark.parametrize(
    "values, names, message",
    [
        (np.zeros((2, 0), dtype=np.int32), ["a", "b"], "0 columns but there are 2"),
        (np.zeros((3,), dtype=np.int32), [], "must be a 2-D array, got 1 dim"),
        (np.zeros((2, 1, 1), dtype=np.int32), ["a"], "must be a 2-D array, got 3"),
        (np.zeros((2, 2)), ["a", "b"], "must be convertible to integers"),
    ],
)
def test_values_shape_errors(values, names, message):
    with pytest.raises((MetatensorError, TypeError), match=message):
        Labels(names, values)


# ================================================================================ #
# torch values: a private copy is indexed, in-place modifications are refused


def torch_labels():
    import torch

    return Labels(["a", "b"], torch.tensor([[0, 1], [1, 0], [2, 2]]))


def modify_values(labels):
    labels.values[0, 0] = 1


def modify_column(labels):
    labels.column("b").add_(1)


def modify_entry(labels):
    labels[2].values[1] = 0


def modify_in_iteration(labels):
    for entry in labels:
        entry.values.zero_()


def modify_detached(labels):
    labels.values.detach()[1] = 5


MODIFICATIONS = [
    modify_values,
    modify_column,
    modify_entry,
    modify_in_iteration,
    modify_detached,
]


def uses(labels, other):
    """Every use of ``labels`` that must refuse modified values"""
    return {
        "values": lambda: labels.values,
        "position": lambda: labels.position((0, 1)),
        "in": lambda: (0, 1) in labels,
        "entry": lambda: labels.entry(0),
        "getitem": lambda: labels[0],
        "iter": lambda: list(labels),
        "column": lambda: labels.column("a"),
        "column by name": lambda: labels["a"],
        "eq": lambda: labels == other,
        "eq other": lambda: other == labels,
        "eq itself": lambda: labels == labels,
        "union": lambda: labels.union(other),
        "union other": lambda: other.union(labels),
        "intersection": lambda: labels.intersection_and_mapping(other),
        "difference": lambda: other.difference(labels),
        "select": lambda: labels.select(other),
        "select partial": lambda: labels.select(Labels(["a"], np.array([[0]]))),
        "selection": lambda: other.select(labels),
        "insert": lambda: labels.insert(0, "c", np.arange(3)),
        "append": lambda: labels.append("c", np.arange(3)),
        "permute": lambda: labels.permute([1, 0]),
        "remove": lambda: labels.remove("b"),
        "rename": lambda: labels.rename("a", "x"),
        "to numpy": lambda: labels.to(arrays="numpy"),
        "to device": lambda: labels.to("cpu"),
        "save_buffer": lambda: labels.save_buffer(),
        "pickle": lambda: pickle.dumps(labels),
    }


@requires_torch
@pytest.mark.parametrize("use", list(uses(None, None)))
def test_modified_torch_values_are_refused(use):
    labels = torch_labels()
    other = Labels(["a", "b"], torch_labels().values[1:].clone())
    uses(labels, other)[use]()
    modify_values(labels)
    with pytest.raises(MetatensorError, match=MODIFIED):
        uses(labels, other)[use]()
    # `other` was not modified, and still works
    assert other.position((2, 2)) == 1


@requires_torch
@pytest.mark.parametrize("modify", MODIFICATIONS)
def test_every_modification_is_noticed(modify):
    labels = torch_labels()
    modify(labels)
    with pytest.raises(MetatensorError, match=MODIFIED):
        labels.position((2, 2))
    with pytest.raises(MetatensorError, match=MODIFIED):
        _ = labels.values


@requires_torch
def test_modified_torch_values_are_never_saved(tmp_path):
    labels = torch_labels()
    labels.values[0] = labels.values[1]  # a duplicated entry
    with pytest.raises(MetatensorError, match=MODIFIED):
        labels.save(tmp_path / "labels.mts")
    with pytest.raises(MetatensorError, match=MODIFIED):
        metatensor.save(io.BytesIO(), labels)
    assert not (tmp_path / "labels.mts").exists()


@requires_torch
def test_modified_keys_are_refused():
    import torch

    keys = Labels(["key"], torch.tensor([[0], [1]]))
    blocks = [
        metatensor.TensorBlock(
            torch.full((1, 1), float(i)),
            Labels.range("s", 1).to(arrays="torch"),
            [],
            Labels.range("p", 1).to(arrays="torch"),
        )
        for i in range(2)
    ]
    tensor = metatensor.TensorMap(keys, blocks)
    assert tensor.block({"key": 1}).values.item() == 1.0
    keys.values[1, 0] = 0
    with pytest.raises(MetatensorError, match=MODIFIED):
        tensor.block({"key": 1})
    with pytest.raises(MetatensorError, match=MODIFIED):
        metatensor.io.save_buffer(tensor)


@requires_torch
def test_torch_values_are_private_copies():
    import torch

    values = torch.tensor([[0, 1], [1, 0]], dtype=torch.int32)
    labels = Labels(["a", "b"], values)
    # the input is copied: modifying it changes nothing
    values[0] = torch.tensor([1, 0])
    assert labels.position((0, 1)) == 0
    assert labels.values.tolist() == [[0, 1], [1, 0]]

    # the tensor handed out is not the array the index reads
    assert not np.shares_memory(labels.values.numpy(), labels._array)
    for result in (
        labels.union(labels),
        labels.intersection(labels),
        labels.difference(labels),
        labels.insert(0, "c", np.arange(2)),
        labels.rename("a", "x"),
        Labels.load_buffer(labels.save_buffer()).to(arrays="torch"),
        Labels(["a", "b"], np.array([[0, 1]])).to(arrays="torch"),
    ):
        assert not np.shares_memory(result.values.numpy(), result._array)


@requires_torch
def test_torch_values_modified_outside_of_autograd_counters():
    # torch does not count modifications through `.numpy()`: they are not
    # detected, but the index keeps answering for the values the Labels hold
    labels = torch_labels()
    labels.values.numpy()[0] = [2, 2]
    assert labels.position((0, 1)) == 0
    assert labels.position((2, 2)) == 2
    assert labels == torch_labels()


@requires_torch
def test_inference_tensors():
    import torch

    with torch.inference_mode():
        labels = Labels(["a"], torch.tensor([[0], [1]]))
    assert labels.values.is_inference()
    assert labels.position((1,)) == 1
    # torch refuses to modify inference tensors outside of inference mode
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor"):
        labels.values[0, 0] = 1
    assert labels.position((1,)) == 1


@requires_torch
def test_torch_values_without_entries():
    import torch

    assert Labels([], torch.zeros((3, 0), dtype=torch.int32)).values.shape == (3, 0)
    assert Labels(["a"], torch.zeros((0, 3), dtype=torch.int8)).values.shape == (0, 1)
    with pytest.raises(MetatensorError, match="0 columns but there are 2 names"):
        Labels(["a", "b"], torch.zeros((2, 0), dtype=torch.int32))
    with pytest.raises(MetatensorError, match="must be a 2-D array, got 1 dim"):
        Labels([], torch.zeros((3,), dtype=torch.int32))


# ================================================================================ #
# the extension without the GIL


def test_extension_threads():
    """Threads share Labels and build new ones; the loops over many rows run
    without the GIL (and everything does on a free-threaded Python)"""
    rng = np.random.default_rng(0)
    values = np.unique(rng.integers(0, 60, size=(40_000, 3), dtype=np.int32), axis=0)
    values = values[rng.permutation(len(values))]
    shared = Labels(["a", "b", "c"], values)
    queries = values[::3]
    expected = np.arange(len(values))[::3]
    errors = []

    def run(seed):
        try:
            local = np.random.default_rng(seed).permutation(len(values))
            for _ in range(3):
                selected = shared.select(Labels(shared.names, queries))
                assert np.array_equal(selected, expected)
                labels = Labels(["a", "b", "c"], values[local])
                assert labels.position(tuple(values[local[7]])) == 7
                assert len(labels.union(shared)) == len(values)
                assert len(shared.difference(labels)) == 0
        except Exception as error:  # pragma: no cover (reported below)
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.skipif(
    not sysconfig.get_config_var("Py_GIL_DISABLED"),
    reason="only free-threaded Python builds can run without the GIL",
)
def test_importing_keeps_the_gil_disabled():
    code = (
        "import sys, warnings; warnings.simplefilter('error'); "
        "import metatensor._labels_ext; assert not sys._is_gil_enabled()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
