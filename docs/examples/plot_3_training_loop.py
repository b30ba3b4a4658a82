"""
A training loop with metatensor-learn
=====================================

Fit the energies of synthetic structures with one small neural network per
atomic type: features in a :py:class:`~metatensor.TensorMap` (one block per
type), batches made by :py:class:`metatensor.learn.DataLoader`, and modules
from :py:mod:`metatensor.learn.nn`. The repository's
``examples/learn/train_module_map.py`` is a longer version of this loop.
"""

# %%
#
# Data
# ----
#
# 200 structures of 4 to 8 atoms of two types; the features of an atom are
# Gaussian densities of its neighbors of each type, and the energy of a
# structure a sum of pair terms depending on the types of both atoms.

import matplotlib.pyplot as plt
import numpy as np
import torch

import metatensor
from metatensor import Labels, TensorBlock, TensorMap
from metatensor.learn import DataLoader, IndexedDataset, nn

torch.manual_seed(0)
rng = np.random.default_rng(0)
TYPES = [1, 8]
KEYS = Labels("center_type", np.array([[t] for t in TYPES]))
CENTERS = np.linspace(0.5, 3.0, 6)


def structure(system):
    """the features (a TensorMap) and the energy of one random structure"""
    n_atoms = int(rng.integers(4, 9))
    types = rng.choice(TYPES, size=n_atoms)
    positions = rng.uniform(0, 3.5, size=(n_atoms, 3))
    distances = np.linalg.norm(positions[:, None] - positions[None, :], axis=-1)
    np.fill_diagonal(distances, np.inf)
    # Gaussian densities of the neighbors of each type, side by side
    gaussians = np.exp(-((distances[:, :, None] - CENTERS) ** 2))
    features = np.concatenate(
        [gaussians[:, types == t].sum(axis=1) for t in TYPES], axis=1
    )
    # pair energies, attractive between different types
    strength = np.where(types[:, None] == types[None, :], 0.5, -1.0)
    energy = 0.5 * (strength * np.exp(-((distances - 1.5) ** 2))).sum()

    blocks = []
    for center_type in TYPES:
        atoms = np.nonzero(types == center_type)[0]
        blocks.append(
            TensorBlock(
                values=torch.tensor(features[atoms]),
                samples=Labels(
                    ["system", "atom"],
                    np.array([[system, a] for a in atoms], dtype=np.int32).reshape(
                        -1, 2
                    ),
                ),
                components=[],
                properties=Labels(
                    ["neighbor_type", "center"],
                    np.array([[t, c] for t in TYPES for c in range(len(CENTERS))]),
                ),
            )
        )
    return TensorMap(KEYS, blocks), torch.tensor([energy])


data = [structure(i) for i in range(200)]
dataset = IndexedDataset(
    sample_id=list(range(len(data))),
    features=[d[0] for d in data],
    energy=[d[1] for d in data],
)
train = torch.utils.data.Subset(dataset, range(160))
test = torch.utils.data.Subset(dataset, range(160, 200))

# %%
#
# Model
# -----
#
# ``nn.Sequential`` applies, to each block, a chain of modules of its own
# (here 12 -> 16 -> 1 networks); the sum over the atoms of each system gives
# its energy.

model = nn.Sequential(
    KEYS,
    nn.Linear(KEYS, in_features=2 * len(CENTERS), out_features=16, dtype=torch.float64),
    nn.SiLU(KEYS),
    nn.Linear(KEYS, in_features=16, out_features=1, dtype=torch.float64),
)


def predict(features):
    """energy of each system of the batch, shape ``(n_systems, 1)``, in the
    order of the system indices"""
    per_atom = model(features)
    # one block with all the atoms, then the sum over the atoms of each system
    per_atom = per_atom.keys_to_samples("center_type")
    return metatensor.sum_over_samples(per_atom, ["atom", "center_type"]).block().values


# %%
#
# Training
# --------
#
# The data loader joins the TensorMaps of a batch along their samples, and
# stacks the energies in the order of the batch. The sum over samples gives the
# energies sorted by system index: the targets are sorted the same way, with
# the indices of the systems that :py:class:`~metatensor.learn.IndexedDataset`
# keeps with each entry.


def targets(batch):
    """the reference energies of the batch, sorted by system index"""
    order = torch.argsort(torch.tensor(batch.sample_id))
    return batch.energy[order]


optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loader = DataLoader(train, batch_size=16, shuffle=True)
test_batch = next(iter(DataLoader(test, batch_size=len(test))))

losses, test_losses = [], []
for _ in range(40):
    total = 0.0
    for batch in loader:
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(predict(batch.features), targets(batch))
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch.energy)
    losses.append(total / len(train))
    with torch.no_grad():
        test_losses.append(
            torch.nn.functional.mse_loss(
                predict(test_batch.features), targets(test_batch)
            ).item()
        )

print(f"loss: {losses[0]:.4f} at the first epoch, {losses[-1]:.4f} at the last")
print(f"test loss: {test_losses[-1]:.4f}")

figure, ax = plt.subplots(figsize=(5, 3.5))
ax.semilogy(losses, label="training set")
ax.semilogy(test_losses, label="test set")
ax.set_xlabel("epoch")
ax.set_ylabel("mean squared error")
ax.legend()
figure.tight_layout()
