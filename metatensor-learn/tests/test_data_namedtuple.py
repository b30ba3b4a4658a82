import copy
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metatensor_learn.data._namedtuple import namedtuple


def test_fields_and_access():
    Sample = namedtuple("Sample", ["energy", "my-field", "count"])
    sample = Sample(1.0, "x", 3)

    assert Sample._fields == ("energy", "my-field", "count")
    assert sample._fields == ("energy", "my-field", "count")
    assert sample.energy == 1.0
    assert getattr(sample, "my-field") == "x"
    # like collections.namedtuple, a field may hide a tuple method
    assert sample.count == 3
    assert sample[1] == "x"
    assert sample._asdict() == {"energy": 1.0, "my-field": "x", "count": 3}
    assert list(sample._asdict()) == ["energy", "my-field", "count"]

    energy, field, count = sample
    assert (energy, field, count) == (1.0, "x", 3)
    assert sample == (1.0, "x", 3)
    assert isinstance(sample, tuple)
    assert len(sample) == 3


def test_repr():
    Sample = namedtuple("Sample", ["energy", "structure name"])
    # names that are not identifiers are quoted
    assert repr(Sample(-1.5, "H2O")) == "Sample(energy=-1.5, 'structure name'='H2O')"
    assert repr(namedtuple("Empty", [])()) == "Empty()"


def test_index_by_name():
    Sample = namedtuple("Sample", ["energy", "structure name"])
    sample = Sample(-1.5, "H2O")
    assert sample["structure name"] == "H2O" and sample["energy"] == -1.5
    assert sample[-1] == "H2O" and sample[:1] == (-1.5,)
    with pytest.raises(KeyError, match="'forces' is not a field of Sample, the"):
        sample["forces"]


def test_keywords_and_replace():
    Sample = namedtuple("Sample", ["a", "b-c"])
    assert Sample(1, **{"b-c": 2}) == (1, 2)
    assert Sample(**{"b-c": 2, "a": 1}) == (1, 2)

    replaced = Sample(1, 2)._replace(**{"b-c": 5})
    assert replaced == (1, 5)
    assert type(replaced) is Sample

    with pytest.raises(TypeError, match=r"Sample\(\) takes 2 values, got 3"):
        Sample(1, 2, 3)
    with pytest.raises(TypeError, match="Sample\\(\\) is missing the field 'b-c'"):
        Sample(1)
    with pytest.raises(TypeError, match="got an unexpected field 'd'"):
        Sample(1, 2, d=3)
    with pytest.raises(TypeError, match="got several values for the field 'a'"):
        Sample(1, a=2, **{"b-c": 3})
    with pytest.raises(TypeError, match="unexpected field 'z' in '_replace'"):
        Sample(1, 2)._replace(z=3)


def test_same_class_for_same_arguments():
    assert namedtuple("Sample", ["a", "b"]) is namedtuple("Sample", ("a", "b"))
    assert namedtuple("Sample", ["a", "b"]) is not namedtuple("Batch", ["a", "b"])
    assert namedtuple("Sample", ["a", "b"]) is not namedtuple("Sample", ["b", "a"])


def test_invalid_fields():
    with pytest.raises(TypeError, match="field names of 'Sample' must be str, got int"):
        namedtuple("Sample", ["a", 3])
    with pytest.raises(ValueError, match="field 'a' is repeated in 'Sample'"):
        namedtuple("Sample", ["a", "b", "a"])
    with pytest.raises(ValueError, match="must not be empty"):
        namedtuple("Sample", [""])
    for reserved in ["_fields", "_asdict", "_replace", "__len__", "__x__"]:
        with pytest.raises(ValueError, match="it is a reserved attribute name"):
            namedtuple("Sample", [reserved])
    with pytest.raises(TypeError, match="the name of a named tuple must be a str"):
        namedtuple(3, ["a"])


def test_pickle():
    Sample = namedtuple("Sample", ["energy", "per-atom energy"])
    sample = Sample(1.5, [0.5, 1.0])
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        loaded = pickle.loads(pickle.dumps(sample, protocol=protocol))
        assert type(loaded) is Sample
        assert loaded == sample
        assert getattr(loaded, "per-atom energy") == [0.5, 1.0]
        # the class itself pickles, as the same class
        assert pickle.loads(pickle.dumps(Sample, protocol=protocol)) is Sample

    assert copy.copy(sample) == sample
    deep = copy.deepcopy(sample)
    assert type(deep) is Sample and deep == sample
    assert deep[1] is not sample[1]


@settings(max_examples=40, deadline=None, database=None)
@given(
    fields=st.lists(
        st.text(min_size=1, max_size=8).filter(
            lambda name: (
                name not in ("_fields", "_asdict", "_replace")
                and not (name.startswith("__") and name.endswith("__"))
            )
        ),
        unique=True,
        max_size=5,
    )
)
def test_any_field_names(fields):
    Sample = namedtuple("Sample", fields)
    values = list(range(len(fields)))
    sample = Sample(*values)
    for field, value in zip(fields, values):
        assert getattr(sample, field) == value
    assert sample._asdict() == dict(zip(fields, values))
    assert pickle.loads(pickle.dumps(sample)) == sample
    assert Sample(**dict(zip(fields, values))) == sample
