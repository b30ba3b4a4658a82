import functools
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import metatensor
from metatensor_learn.data import (
    DataLoader,
    Dataset,
    IndexedDataset,
    group,
    group_and_join,
)

# atomic types of the atoms of a few structures
STRUCTURES = [[1, 8, 1], [6, 1, 1, 1, 1], [8, 8], [1, 6, 7]]

# the structures have different keys: batches hold their union
UNION = {"different_keys": "union"}
join_union = functools.partial(group_and_join, join_kwargs=UNION)


def per_structure(system, types, module=metatensor, array=np.asarray, gradients=False):
    """Per-structure features: one block per atomic type in the structure (key
    ``center_type``), samples ``(system, atom)``, two properties, with values
    ``100 * system + 10 * atom + property`` and optionally ``positions``
    gradients (one row per atom pair, values ``-(1000 * system + 10 * sample +
    neighbor)``)"""

    def labels(names, values):
        values = np.array(values, dtype=np.int32).reshape(len(values), len(names))
        if module is not metatensor:
            values = torch.from_numpy(values)
        return module.Labels(names, values)

    keys = []
    blocks = []
    for atomic_type in sorted(set(types)):
        atoms = [atom for atom, t in enumerate(types) if t == atomic_type]
        values = [[100 * system + 10 * atom + p for p in range(2)] for atom in atoms]
        properties = labels(["n"], [[0], [1]])
        block = module.TensorBlock(
            values=array(np.array(values, dtype=np.float64)),
            samples=labels(["system", "atom"], [[system, atom] for atom in atoms]),
            components=[],
            properties=properties,
        )
        if gradients:
            rows = [
                [sample, system, neighbor]
                for sample in range(len(atoms))
                for neighbor in range(len(types))
            ]
            values = np.array(
                [-(1000 * system + 10 * s + n) for s, _, n in rows], dtype=np.float64
            )
            block.add_gradient(
                "positions",
                module.TensorBlock(
                    values=array(np.repeat(values, 3 * 2).reshape(-1, 3, 2)),
                    samples=labels(["sample", "system", "atom"], rows),
                    components=[labels(["xyz"], [[0], [1], [2]])],
                    properties=properties,
                ),
            )
        keys.append([atomic_type])
        blocks.append(block)
    return module.TensorMap(labels(["center_type"], keys), blocks)


def to_numpy(array):
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def check_joined(joined, systems, gradients=False):
    """``joined`` is the join along samples of the maps of ``systems`` (indices in
    STRUCTURES): check its keys, samples, values and gradients exactly"""
    expected_keys = []
    for system in systems:
        for atomic_type in sorted(set(STRUCTURES[system])):
            if atomic_type not in expected_keys:
                expected_keys.append(atomic_type)
    assert joined.keys.names == ["center_type"]
    assert to_numpy(joined.keys.values).tolist() == [[k] for k in expected_keys]

    for atomic_type, block in zip(expected_keys, joined.blocks()):
        samples = []
        gradient_rows = []
        for system in systems:
            atoms = [a for a, t in enumerate(STRUCTURES[system]) if t == atomic_type]
            for sample, atom in enumerate(atoms):
                for neighbor in range(len(STRUCTURES[system])):
                    gradient_rows.append([len(samples), system, neighbor, sample])
                samples.append([system, atom])

        assert block.samples.names == ["system", "atom"]
        assert to_numpy(block.samples.values).tolist() == samples
        expected = [[100 * s + 10 * a + p for p in range(2)] for s, a in samples]
        np.testing.assert_array_equal(to_numpy(block.values), np.array(expected))
        assert block.properties.names == ["n"]

        if not gradients:
            assert block.gradients_list() == []
            continue
        assert block.gradients_list() == ["positions"]
        gradient = block.gradient("positions")
        assert gradient.samples.names == ["sample", "system", "atom"]
        assert to_numpy(gradient.samples.values).tolist() == [
            row[:3] for row in gradient_rows
        ]
        expected = np.array(
            [
                -(1000 * system + 10 * sample + n)
                for _, system, n, sample in gradient_rows
            ],
            dtype=np.float64,
        )
        np.testing.assert_array_equal(
            to_numpy(gradient.values), np.repeat(expected, 6).reshape(-1, 3, 2)
        )


# =========================================================================== #
# group


def test_group():
    dataset = Dataset.from_dict({"energy": [1.0, 2.0, 3.0], "my-name": ["a", "b", "c"]})
    batch = group([dataset[0], dataset[2]])
    assert type(batch).__name__ == "Batch"
    assert batch._fields == ("energy", "my-name")
    assert batch.energy == (1.0, 3.0)
    assert getattr(batch, "my-name") == ("a", "c")
    assert repr(batch) == "Batch(energy=(1.0, 3.0), 'my-name'=('a', 'c'))"


def test_group_errors():
    with pytest.raises(ValueError, match="can not group an empty batch of samples"):
        group([])
    with pytest.raises(
        TypeError, match="samples to group must be named tuples .* got tuple"
    ):
        group([(1, 2)])

    first = Dataset(a=[1], b=[2])[0]
    second = Dataset(a=[1], c=[2])[0]
    with pytest.raises(
        ValueError,
        match=r"samples to group must all have the same fields, got \['a', 'b'\] and \['a', 'c'\]",
    ):
        group([first, second])


# =========================================================================== #
# group_and_join


@pytest.mark.parametrize("array", [np.asarray, torch.from_numpy])
def test_join_core(array):
    tensors = [
        per_structure(s, types, array=array) for s, types in enumerate(STRUCTURES)
    ]
    dataset = IndexedDataset(
        sample_id=["a", "b", "c", "d"],
        features=tensors,
        energy=[torch.tensor([float(i)]) for i in range(4)],
        name=["H2O", "CH4", "O2", "HCN"],
    )
    batch = join_union([dataset[i] for i in (1, 2, 3)])

    assert batch._fields == ("sample_id", "features", "energy", "name")
    assert batch.sample_id == ("b", "c", "d")
    assert batch.name == ("CH4", "O2", "HCN")
    assert torch.equal(batch.energy, torch.tensor([[1.0], [2.0], [3.0]]))

    assert isinstance(batch.features, metatensor.TensorMap)
    check_joined(batch.features, [1, 2, 3])
    assert type(batch.features.block(0).values) is type(tensors[0].block(0).values)


@pytest.mark.parametrize("array", [np.asarray, torch.from_numpy])
def test_join_core_gradients(array):
    tensors = [
        per_structure(s, types, array=array, gradients=True)
        for s, types in enumerate(STRUCTURES)
    ]
    dataset = Dataset(features=tensors)
    batch = join_union([dataset[i] for i in (0, 1, 3)])
    check_joined(batch.features, [0, 1, 3], gradients=True)


@pytest.mark.parametrize("gradients", [False, True])
def test_join_metatensor_torch(gradients):
    mtt = pytest.importorskip("metatensor.torch")
    tensors = [
        per_structure(s, types, module=mtt, array=torch.from_numpy, gradients=gradients)
        for s, types in enumerate(STRUCTURES)
    ]
    dataset = Dataset(features=tensors)
    batch = join_union([dataset[i] for i in (2, 0, 3)])
    assert isinstance(batch.features, mtt.TensorMap)
    check_joined(batch.features, [2, 0, 3], gradients=gradients)


def test_join_kwargs():
    tensors = [per_structure(0, [1, 8]), per_structure(0, [1, 1])]
    samples = [Dataset(features=tensors)[i] for i in (0, 1)]

    # different keys: `join`'s default is to refuse them
    with pytest.raises(
        metatensor.NotEqualError,
        match="failed to join the field 'features' of the batch: .*same keys",
    ):
        group_and_join(samples)
    # the same samples in two maps: join fails without a new dimension
    with pytest.raises(
        metatensor.MetatensorError,
        match="failed to join the field 'features' of the batch: .*multiple times",
    ):
        join_union(samples)

    batch = group_and_join(
        samples, join_kwargs={"add_dimension": "batch", "different_keys": "union"}
    )
    block = batch.features.block(0)
    assert block.samples.names == ["system", "atom", "batch"]
    assert block.samples.values.tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert batch.features.keys.values.tolist() == [[1], [8]]

    batch = group_and_join(
        samples,
        join_kwargs={"add_dimension": "batch", "different_keys": "intersection"},
    )
    assert batch.features.keys.values.tolist() == [[1]]

    for name in ["axis", "tensors"]:
        with pytest.raises(
            ValueError,
            match=f"`join_kwargs` in 'group_and_join' can not contain '{name}'",
        ):
            group_and_join(samples, join_kwargs={name: "samples"})
    with pytest.raises(
        TypeError, match="`join_kwargs` in 'group_and_join' must be a dict"
    ):
        group_and_join(samples, join_kwargs=[("add_dimension", "batch")])


def test_fields_to_join():
    dataset = IndexedDataset(
        sample_id=[torch.tensor(0), torch.tensor(1)],
        features=[per_structure(0, [1, 8]), per_structure(1, [6])],
        energy=[torch.tensor([1.0]), torch.tensor([2.0])],
        forces=[torch.zeros(2, 3), torch.ones(2, 3)],
    )
    samples = [dataset[0], dataset[1]]

    batch = group_and_join(samples, fields_to_join=["energy", "sample_id"])
    # sample_id is never joined, even when asked for
    assert isinstance(batch.sample_id, tuple)
    assert torch.equal(batch.energy, torch.tensor([[1.0], [2.0]]))
    assert isinstance(batch.features, tuple)
    assert batch.features[1] is samples[1].features
    assert isinstance(batch.forces, tuple)

    batch = group_and_join(samples, fields_to_join=[])
    assert batch == group(samples)

    batch = join_union(samples)
    # (2, 3) tensors are stacked along the first dimension
    assert torch.equal(batch.forces, torch.cat([torch.zeros(2, 3), torch.ones(2, 3)]))

    with pytest.raises(
        ValueError,
        match=r"`fields_to_join` in 'group_and_join' contains \['force'\], which are "
        r"not fields of the samples",
    ):
        group_and_join(samples, fields_to_join=["force"])
    with pytest.raises(
        TypeError,
        match="`fields_to_join` in 'group_and_join' must be a list of field names",
    ):
        group_and_join(samples, fields_to_join="energy")


def test_join_mixed_types():
    # callables may give values of different types
    values = [per_structure(0, [1]), torch.zeros(1), "x"]
    dataset = Dataset(size=3, x=lambda i: values[i])
    with pytest.raises(
        TypeError,
        match="can not join the field 'x' of the batch: it mixes values of types "
        "Tensor, TensorMap",
    ):
        group_and_join([dataset[0], dataset[1]])
    with pytest.raises(TypeError, match="mixes values of types Tensor, str"):
        group_and_join([dataset[1], dataset[2]])

    # values that are not joined may have any type
    other = Dataset(size=2, x=lambda i: ["a", 1][i])
    assert group_and_join([other[0], other[1]]).x == ("a", 1)


def test_core_join_does_not_import_metatensor_torch():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import metatensor
        from metatensor_learn.data import Dataset, group_and_join

        block = metatensor.TensorBlock(
            np.ones((1, 1)),
            metatensor.Labels(["s"], np.array([[0]])),
            [],
            metatensor.Labels.range("p", 1),
        )
        tensor = metatensor.TensorMap(metatensor.Labels.single(), [block])
        dataset = Dataset(x=[tensor, tensor])
        group_and_join([dataset[0], dataset[1]], join_kwargs={"add_dimension": "b"})
        assert "metatensor_torch" not in sys.modules
        assert "metatensor.torch" not in sys.modules
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# =========================================================================== #
# DataLoader


def batches_ids(loader):
    return [list(batch.sample_id) for batch in loader]


def features_dataset(n=10):
    types = [STRUCTURES[i % len(STRUCTURES)] for i in range(n)]
    return IndexedDataset(
        sample_id=list(range(n)),
        features=[
            per_structure(i, t, array=torch.from_numpy) for i, t in enumerate(types)
        ],
        energy=[torch.tensor([float(i)]) for i in range(n)],
    )


def test_dataloader():
    dataset = features_dataset()
    loader = DataLoader(dataset, batch_size=4, collate_fn=join_union)
    assert isinstance(loader, torch.utils.data.DataLoader)
    assert batches_ids(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]

    batch = next(iter(loader))
    assert type(batch).__name__ == "Batch"
    assert torch.equal(batch.energy, torch.tensor([[0.0], [1.0], [2.0], [3.0]]))
    check_joined(batch.features, [0, 1, 2, 3])

    # shuffled batches cover every sample once
    loader = DataLoader(
        dataset,
        batch_size=3,
        shuffle=True,
        generator=torch.Generator().manual_seed(1),
        collate_fn=join_union,
    )
    ids = batches_ids(loader)
    assert [len(batch) for batch in ids] == [3, 3, 3, 1]
    assert sorted(sum(ids, [])) == list(range(10))
    assert sum(ids, []) != list(range(10))


def test_dataloader_collate_fn():
    dataset = features_dataset(4)
    loader = DataLoader(dataset, collate_fn=group, batch_size=2)
    batch = next(iter(loader))
    assert isinstance(batch.features, tuple)

    collate = functools.partial(group_and_join, fields_to_join=["energy"])
    batch = next(iter(DataLoader(dataset, collate_fn=collate, batch_size=2)))
    assert isinstance(batch.features, tuple)
    assert batch.energy.shape == (2, 1)

    with pytest.raises(
        TypeError, match="`collate_fn` of DataLoader must be callable, got int"
    ):
        DataLoader(dataset, 4)


@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
def test_dataloader_workers():
    # batches come back from the worker process by pickle
    dataset = features_dataset(6)
    loader = DataLoader(dataset, batch_size=4, num_workers=1, collate_fn=join_union)
    batches = list(loader)
    assert [list(batch.sample_id) for batch in batches] == [[0, 1, 2, 3], [4, 5]]
    assert type(batches[0]).__name__ == "Batch"
    assert batches[0]._fields == ("sample_id", "features", "energy")
    assert torch.equal(batches[1].energy, torch.tensor([[4.0], [5.0]]))
    check_joined(batches[0].features, [0, 1, 2, 3])


def test_dataloader_distributed_sampler():
    from torch.utils.data.distributed import DistributedSampler

    dataset = features_dataset(10)
    ids = []
    for rank in range(2):
        sampler = DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=True)
        sampler.set_epoch(3)
        loader = DataLoader(
            dataset, batch_size=2, sampler=sampler, collate_fn=join_union
        )
        ids.append(sum(batches_ids(loader), []))

    assert len(ids[0]) == len(ids[1]) == 5
    assert set(ids[0]).isdisjoint(ids[1])
    assert sorted(ids[0] + ids[1]) == list(range(10))

    for rank in range(2):
        sampler = DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=False)
        loader = DataLoader(
            dataset, batch_size=5, sampler=sampler, collate_fn=join_union
        )
        assert batches_ids(loader) == [list(range(rank, 10, 2))]
