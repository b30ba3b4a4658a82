import pickle

import numpy as np
import pytest
import torch

from metatensor_learn.data import Dataset, IndexedDataset


class Loader:
    """A lazy field recording the arguments it is called with"""

    def __init__(self, scale=1.0):
        self.calls = []
        self.scale = scale

    def __call__(self, argument):
        self.calls.append(argument)
        return torch.full((2,), self.scale * len(self.calls))


# =========================================================================== #
# Dataset


def test_dataset_from_lists():
    dataset = Dataset(energy=[1.0, 2.0, 3.0], name=["a", "b", "c"])
    assert isinstance(dataset, torch.utils.data.Dataset)
    assert len(dataset) == 3

    sample = dataset[1]
    assert type(sample).__name__ == "Sample"
    assert sample._fields == ("energy", "name")
    assert sample.energy == 2.0
    assert sample.name == "b"
    assert sample == (2.0, "b")
    assert repr(sample) == "Sample(energy=2.0, name='b')"

    assert [sample.name for sample in dataset] == ["a", "b", "c"]
    assert list(dataset) == [(1.0, "a"), (2.0, "b"), (3.0, "c")]
    assert repr(dataset) == "Dataset(size=3, fields=['energy', 'name'])"

    # the same class for every sample
    assert type(dataset[0]) is type(dataset[2])


def test_dataset_lazy_fields():
    loader = Loader()
    dataset = Dataset(size=4, positions=loader)
    assert len(dataset) == 4
    assert loader.calls == []

    sample = dataset[2]
    assert loader.calls == [2]
    assert torch.equal(sample.positions, torch.full((2,), 1.0))

    dataset[0]
    dataset[2]
    assert loader.calls == [2, 0, 2]


def test_dataset_lists_and_callables():
    loader = Loader()
    dataset = Dataset(energy=[-1.0, -2.0], forces=loader)
    assert len(dataset) == 2
    assert loader.calls == []

    sample = dataset[1]
    assert sample.energy == -2.0
    assert loader.calls == [1]
    assert [s.energy for s in dataset] == [-1.0, -2.0]
    assert loader.calls == [1, 0, 1]

    # size is checked against the lists
    assert len(Dataset(size=2, energy=[-1.0, -2.0], forces=loader)) == 2


def test_dataset_array_fields():
    # numpy arrays, torch tensors and other sequences are lists of samples
    dataset = Dataset(
        energy=np.array([1.0, 2.0]),
        dipole=torch.arange(6.0).reshape(2, 3),
        index=range(2),
        label=("x", "y"),
    )
    sample = dataset[1]
    assert sample.energy == 2.0
    assert torch.equal(sample.dipole, torch.tensor([3.0, 4.0, 5.0]))
    assert sample.index == 1
    assert sample.label == "y"


def test_dataset_index():
    dataset = Dataset(x=[10, 20, 30])
    assert dataset[np.int64(2)].x == 30
    assert dataset[torch.tensor(1)].x == 20

    message = (
        r"Index -1 not in dataset: Dataset has 3 samples, indices must be in \[0, 3\)"
    )
    with pytest.raises(ValueError, match=message):
        dataset[-1]
    with pytest.raises(ValueError, match="Index 3 not in dataset"):
        dataset[3]
    with pytest.raises(TypeError, match="Dataset indices must be integers, got float"):
        dataset[1.0]
    with pytest.raises(TypeError, match="Dataset indices must be integers, got slice"):
        dataset[0:2]

    loader = Loader()
    lazy = Dataset(size=2, x=loader)
    with pytest.raises(ValueError, match="Index 2 not in dataset"):
        lazy[2]
    assert loader.calls == []


def failing(argument):
    raise FileNotFoundError(f"no file for {argument}")


def test_dataset_lazy_errors():
    dataset = Dataset(x=[1, 2], c=failing)
    with pytest.raises(
        ValueError,
        match="Error loading data field 'c' at sample index 1: "
        "FileNotFoundError: no file for 1",
    ) as error:
        dataset[1]
    assert isinstance(error.value.__cause__, FileNotFoundError)

    indexed = IndexedDataset(sample_id=["cat", 3], c=failing)
    with pytest.raises(
        ValueError, match="Error loading data field 'c' for sample 'cat'"
    ):
        indexed.get_sample("cat")
    with pytest.raises(ValueError, match="Error loading data field 'c' for sample 3"):
        indexed[1]


def test_dataset_data():
    # user code reads and replaces the list or the callable of a field
    dataset = Dataset(x=[1, 2], y=failing)
    assert dataset._data == {"x": [1, 2], "y": failing}
    dataset._data["y"] = lambda index: -index
    assert dataset[1] == (2, -1)
    indexed = IndexedDataset(sample_id=["a"], x=[1])
    assert indexed._data == {"x": [1]}


def test_dataset_empty():
    dataset = Dataset(x=[])
    assert len(dataset) == 0
    assert list(dataset) == []
    with pytest.raises(ValueError, match=r"must be in \[0, 0\)"):
        dataset[0]


def test_dataset_from_dict():
    data = {"energy": [1.0, 2.0], "dipole-moment": [0.1, 0.2], "size": [3, 4]}
    dataset = Dataset.from_dict(data)
    sample = dataset[0]
    assert sample._fields == ("energy", "dipole-moment", "size")
    assert getattr(sample, "dipole-moment") == 0.1
    # a field may be called "size" in a dictionary
    assert sample.size == 3
    # names that are not identifiers are quoted
    assert repr(sample) == "Sample(energy=1.0, 'dipole-moment'=0.1, size=3)"
    # fields by name
    assert sample["dipole-moment"] == 0.1 and sample["energy"] == 1.0
    assert sample[0] == 1.0 and sample[1:] == (0.1, 3)

    loader = Loader()
    dataset = Dataset.from_dict({"lazy field": loader}, size=5)
    assert len(dataset) == 5
    getattr(dataset[4], "lazy field")
    assert loader.calls == [4]


def test_dataset_errors():
    with pytest.raises(ValueError, match="Dataset needs at least one field"):
        Dataset()
    with pytest.raises(ValueError, match="Dataset needs at least one field"):
        Dataset(size=3)
    with pytest.raises(
        ValueError, match="Dataset needs `size` when every field is a callable"
    ):
        Dataset(x=Loader(), y=Loader())
    with pytest.raises(
        ValueError,
        match=r"Number of samples inconsistent between data fields: \[2, 3\]: "
        "got 2 for 'x', 3 for 'y'",
    ):
        Dataset(x=[1, 2], y=[1, 2, 3])
    with pytest.raises(
        ValueError,
        match=r"Number of samples inconsistent between argument 'size' \(3\) and "
        r"data fields: \(\[2, 3\]\): got 2 for 'x', 3 for 'z'",
    ):
        Dataset(size=3, x=[1, 2], y=Loader(), z=[1, 2, 3])
    with pytest.raises(
        TypeError, match="`size` of Dataset must be an integer, got float"
    ):
        Dataset(size=2.0, x=[1, 2])
    with pytest.raises(
        TypeError, match="`size` of Dataset must be an integer, got bool"
    ):
        Dataset(size=True, x=Loader())
    with pytest.raises(
        ValueError, match="`size` of Dataset must be non-negative, got -1"
    ):
        Dataset(size=-1, x=Loader())


def test_dataset_field_types():
    message = (
        "field 'x' of Dataset must hold values of a single type, "
        "got builtins.float, builtins.int"
    )
    with pytest.raises(TypeError, match=message):
        Dataset(x=[1, 2.0, 3])
    with pytest.raises(TypeError, match="must hold values of a single type"):
        Dataset(x=[torch.zeros(2), np.zeros(2)])
    with pytest.raises(TypeError, match="must hold values of a single type"):
        Dataset(x=[None, 1])

    invalid = [3, "abc", b"abc", {0: 1}, (i for i in range(3)), {1, 2}]
    for value in invalid:
        message = (
            "field 'x' of Dataset must be a list with one value per sample or a "
            f"callable, got {type(value).__name__}"
        )
        with pytest.raises(TypeError, match=message):
            Dataset(x=value)


def test_dataset_sample_id_is_reserved():
    message = "Dataset can not have a field named 'sample_id': .* use IndexedDataset"
    with pytest.raises(ValueError, match=message):
        Dataset(sample_id=[1, 2], x=[1, 2])
    with pytest.raises(ValueError, match=message):
        Dataset.from_dict({"x": [1, 2], "sample_id": [1, 2]})


def test_dataset_from_dict_errors():
    with pytest.raises(
        TypeError, match="`data` in Dataset.from_dict must be a dict, got list"
    ):
        Dataset.from_dict([("x", [1])])
    with pytest.raises(
        TypeError, match=r"field names of Dataset must be str, got int \(3\)"
    ):
        Dataset.from_dict({3: [1, 2]})
    with pytest.raises(
        ValueError, match="'_fields' can not be a field name of 'Sample'"
    ):
        Dataset.from_dict({"_fields": [1, 2]})
    with pytest.raises(ValueError, match="Dataset needs at least one field"):
        Dataset.from_dict({}, size=2)


def test_dataset_pickle():
    dataset = Dataset.from_dict(
        {"x": [1, 2], "my-field": [torch.zeros(1), torch.ones(1)]}
    )
    loaded = pickle.loads(pickle.dumps(dataset))
    assert type(loaded) is Dataset
    assert len(loaded) == 2
    assert loaded[1].x == 2
    assert torch.equal(getattr(loaded[1], "my-field"), torch.ones(1))
    assert type(loaded[0]) is type(dataset[0])


# =========================================================================== #
# IndexedDataset


def test_indexed_dataset():
    loader = Loader()
    dataset = IndexedDataset(
        sample_id=["water", "ethanol", 7], energy=[1.0, 2.0, 3.0], positions=loader
    )
    assert isinstance(dataset, torch.utils.data.Dataset)
    assert len(dataset) == 3
    assert loader.calls == []

    sample = dataset[1]
    assert sample._fields == ("sample_id", "energy", "positions")
    assert sample.sample_id == "ethanol"
    assert sample.energy == 2.0
    # callables receive the sample id, not the index
    assert loader.calls == ["ethanol"]

    sample = dataset.get_sample(7)
    assert sample.sample_id == 7
    assert sample.energy == 3.0
    assert loader.calls == ["ethanol", 7]

    assert [s.sample_id for s in dataset] == ["water", "ethanol", 7]
    assert repr(dataset) == (
        "IndexedDataset(size=3, fields=['sample_id', 'energy', 'positions'])"
    )

    with pytest.raises(ValueError, match="Index 3 not in dataset: IndexedDataset"):
        dataset[3]
    with pytest.raises(ValueError, match="Index -1 not in dataset: IndexedDataset"):
        dataset[-1]


def test_indexed_dataset_get_sample_errors():
    dataset = IndexedDataset(sample_id=[(0, 1), (1, 0)], x=[1, 2])
    assert dataset.get_sample((1, 0)).x == 2
    with pytest.raises(ValueError, match=r"Sample ID \(2, 2\) not in dataset"):
        dataset.get_sample((2, 2))
    with pytest.raises(ValueError, match="Sample ID 'foo' not in dataset"):
        dataset.get_sample("foo")
    with pytest.raises(
        TypeError, match=r"sample ids are hashable, got an unhashable list \(\[0, 1\]\)"
    ):
        dataset.get_sample([0, 1])


def test_indexed_dataset_array_ids():
    dataset = IndexedDataset(sample_id=np.array([4, 2, 9]), x=Loader())
    assert dataset.get_sample(2).sample_id == 2
    assert type(dataset[0].sample_id) is int

    dataset = IndexedDataset(sample_id=torch.tensor([4, 2]), x=[1, 2])
    assert dataset.get_sample(4).x == 1


def test_indexed_dataset_errors():
    with pytest.raises(
        ValueError,
        match="Sample IDs must be unique, found some duplicate: "
        "'b' at positions 1 and 3 of `sample_id`",
    ):
        IndexedDataset(sample_id=["a", "b", "c", "b"], x=[1, 2, 3, 4])
    with pytest.raises(
        TypeError,
        match=r"`sample_id` of IndexedDataset must hold hashable values, "
        r"got list \(\[1\]\) at position 1",
    ):
        IndexedDataset(sample_id=[0, [1]], x=[1, 2])
    with pytest.raises(
        ValueError, match="IndexedDataset does not take a `size` argument"
    ):
        IndexedDataset(sample_id=[0, 1], size=2, x=[1, 2])
    with pytest.raises(
        ValueError,
        match=r"Number of samples inconsistent between argument 'sample_id' \(2\) "
        r"and data fields: \(\[2, 3\]\): got 2 for 'x', 3 for 'y'",
    ):
        IndexedDataset(sample_id=[0, 1], x=[1, 2], y=[1, 2, 3])
    with pytest.raises(
        TypeError,
        match="`sample_id` of IndexedDataset must be a list of ids, got function",
    ):
        IndexedDataset(sample_id=lambda i: i, x=[1, 2])
    with pytest.raises(
        TypeError, match="`sample_id` of IndexedDataset must be a list of ids, got str"
    ):
        IndexedDataset(sample_id="ab", x=[1, 2])
    with pytest.raises(ValueError, match="IndexedDataset needs at least one field"):
        IndexedDataset(sample_id=[0, 1])
    with pytest.raises(
        TypeError, match="field 'x' of IndexedDataset must hold values of a single type"
    ):
        IndexedDataset(sample_id=[0, 1], x=[1, "a"])


def test_indexed_dataset_from_dict():
    dataset = IndexedDataset.from_dict(
        {"band-gap": [1.1, 5.5], "size": [8, 2]}, sample_id=["Si", "C"]
    )
    sample = dataset.get_sample("C")
    assert sample._fields == ("sample_id", "band-gap", "size")
    assert getattr(sample, "band-gap") == 5.5
    assert sample.size == 2

    with pytest.raises(
        ValueError, match="IndexedDataset can not have a field named 'sample_id'"
    ):
        IndexedDataset.from_dict({"sample_id": [1, 2]}, sample_id=[1, 2])
    with pytest.raises(
        TypeError, match="`data` in IndexedDataset.from_dict must be a dict, got tuple"
    ):
        IndexedDataset.from_dict((), sample_id=[1, 2])


def test_indexed_dataset_pickle():
    dataset = IndexedDataset(sample_id=["a", "b"], x=[1, 2])
    loaded = pickle.loads(pickle.dumps(dataset))
    assert loaded.get_sample("b") == ("b", 2)
