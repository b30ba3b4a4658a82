"""
Training a model on TensorMap features
======================================

This example fits per-atom energies with one small neural network per atomic
type. The features of each structure are stored in a :py:class:`TensorMap` (one
block per central atom type), the structures are batched by a
:py:class:`metatensor.learn.DataLoader` (which joins the TensorMaps of a batch
along their samples), and the model is built from the modules of
:py:mod:`metatensor.learn.nn`, which apply a different network to each block.

Run it with ``python examples/learn/train_module_map.py`` once
``metatensor-learn`` and ``tqdm`` are installed.
"""

import numpy as np
import torch
import tqdm

import metatensor
from metatensor import Labels, TensorBlock, TensorMap
from metatensor.learn import DataLoader, IndexedDataset, nn

torch.manual_seed(0)
rng = np.random.default_rng(0)

# %%
# A synthetic dataset
# -------------------
#
# 300 structures of 4 to 10 atoms of hydrogen (1) and oxygen (8) in a box. The
# features of an atom are smooth radial densities of its neighbors of each type
# (Gaussians centered at 4 distances), and the energy of a structure is a sum of
# pair terms depending on both atom types: a model has to learn it from the
# features of each atom.

ATOM_TYPES = [1, 8]
CENTERS = np.linspace(0.5, 3.0, 4)
PAIR_STRENGTH = {(1, 1): 0.5, (1, 8): -1.0, (8, 1): -1.0, (8, 8): 0.8}


def make_structure(system: int):
    n_atoms = int(rng.integers(4, 11))
    types = rng.choice(ATOM_TYPES, size=n_atoms)
    positions = rng.uniform(0, 4.0, size=(n_atoms, 3))
    distances = np.linalg.norm(positions[:, None] - positions[None, :], axis=-1)

    energy = 0.0
    blocks = []
    for center_type in ATOM_TYPES:
        atoms = np.nonzero(types == center_type)[0]
        values = np.zeros((len(atoms), len(ATOM_TYPES) * len(CENTERS)))
        for row, i in enumerate(atoms):
            for column, neighbor_type in enumerate(ATOM_TYPES):
                for j in np.nonzero(types == neighbor_type)[0]:
                    if i == j:
                        continue
                    density = np.exp(-((distances[i, j] - CENTERS) ** 2))
                    values[
                        row, column * len(CENTERS) : (column + 1) * len(CENTERS)
                    ] += density
                    energy += (
                        0.5
                        * PAIR_STRENGTH[center_type, neighbor_type]
                        * np.exp(-distances[i, j])
                    )
        blocks.append(
            TensorBlock(
                values=torch.tensor(values),
                samples=Labels(
                    ["system", "atom"],
                    np.array([[system, atom] for atom in atoms]).reshape(-1, 2),
                ),
                components=[],
                properties=Labels(
                    ["neighbor_type", "center"],
                    np.array([[t, c] for t in ATOM_TYPES for c in range(len(CENTERS))]),
                ),
            )
        )
    keys = Labels(["center_type"], np.array([[t] for t in ATOM_TYPES]))
    return TensorMap(keys, blocks), torch.tensor([[energy]])


structures = [make_structure(system) for system in range(300)]

# %%
# Datasets and data loaders
# -------------------------
#
# An :py:class:`IndexedDataset` keeps the features and energies of each
# structure with its id; fields could also be functions loading each sample
# from disk when it is needed.

dataset = IndexedDataset(
    sample_id=list(range(len(structures))),
    features=[features for features, _ in structures],
    energy=[energy for _, energy in structures],
)
train, test = torch.utils.data.random_split(dataset, [250, 50])

# the default collate function joins the TensorMaps of a batch along samples
# and stacks the energies in a (batch, 1) tensor
train_loader = DataLoader(train, batch_size=16, shuffle=True)
test_loader = DataLoader(test, batch_size=50)

batch = next(iter(test_loader))
print("a batch has the fields", batch._fields)
print(batch.features.block(0).samples)

# %%
# The model
# ---------
#
# One multi-layer perceptron per central atom type: each module of
# ``metatensor.learn.nn`` holds one torch module per key. The per-atom energies
# are summed over the atoms of each structure.

in_keys = Labels(["center_type"], np.array([[t] for t in ATOM_TYPES]))
n_features = len(ATOM_TYPES) * len(CENTERS)
model = nn.Sequential(
    in_keys,
    nn.Linear(in_keys, n_features, 16, dtype=torch.float64),
    nn.SiLU(in_keys),
    nn.Linear(in_keys, 16, 1, dtype=torch.float64),
)


def predict(features: TensorMap) -> torch.Tensor:
    """Energies of the structures in ``features``, sorted by structure id"""
    atomic = model(features).keys_to_samples("center_type")
    return metatensor.sum_over_samples(atomic, ["atom", "center_type"]).block().values


def targets(batch) -> torch.Tensor:
    """The reference energies of the batch, sorted by structure id"""
    order = np.argsort(batch.sample_id)
    return batch.energy[torch.from_numpy(order)]


def test_loss() -> float:
    with torch.no_grad():
        return sum(
            torch.nn.functional.mse_loss(predict(b.features), targets(b)).item()
            for b in test_loader
        )


# %%
# Training
# --------

optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
initial = test_loss()
progress = tqdm.trange(60, desc="epochs")
for epoch in progress:
    for batch in train_loader:
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(predict(batch.features), targets(batch))
        loss.backward()
        optimizer.step()
    if epoch % 10 == 0:
        progress.set_postfix(test_loss=f"{test_loss():.2e}")

final = test_loss()
print(f"test loss: {initial:.3e} before training, {final:.3e} after")
assert final < 0.1 * initial, "the loss did not fall"
