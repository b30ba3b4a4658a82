"""
Operations with gradients
=========================

Store a function of the positions with its gradient, compute with
metatensor-operations, and check that the gradients of the results agree with
finite differences.
"""

# %%
#
# A block with a gradient
# -----------------------
#
# For each atom of a chain, a density :math:`\rho_i = \sum_j e^{-r_{ij}^2}`
# of its neighbors, with its gradient with respect to every position it
# depends on.

import matplotlib.pyplot as plt
import numpy as np

import metatensor
from metatensor import Labels, TensorBlock, TensorMap


def density(positions):
    """``rho`` of each atom (shape ``(n,)``) and its gradient with respect to
    positions (shape ``(n, n, 3)``)"""
    vectors = positions[None, :, :] - positions[:, None, :]
    weights = np.exp(-(vectors**2).sum(axis=-1))
    np.fill_diagonal(weights, 0.0)
    rho = weights.sum(axis=1)
    # d w_ij / d r_j = -2 (r_j - r_i) w_ij; d w_ij / d r_i is the opposite
    d_neighbors = -2 * vectors * weights[:, :, None]
    gradient = d_neighbors.copy()
    gradient[np.arange(len(rho)), np.arange(len(rho))] = -d_neighbors.sum(axis=1)
    return rho, gradient


def as_tensor(positions):
    """the densities as a TensorMap with their gradients w.r.t. positions"""
    rho, gradient = density(positions)
    n_atoms = len(rho)
    block = TensorBlock(
        values=rho.reshape(-1, 1),
        samples=Labels(["system", "atom"], np.array([[0, i] for i in range(n_atoms)])),
        components=[],
        properties=Labels.range("rho", 1),
    )
    # one gradient row per (atom i, atom j): sample i, position of atom j
    rows = np.array([[i, 0, j] for i in range(n_atoms) for j in range(n_atoms)])
    block.add_gradient(
        "positions",
        TensorBlock(
            values=gradient.reshape(-1, 3, 1),
            samples=Labels(["sample", "system", "atom"], rows),
            components=[Labels.range("xyz", 3)],
            properties=block.properties,
        ),
    )
    return TensorMap(Labels.range("_", 1), [block])


positions = np.array([[0.0, 0, 0], [1.0, 0.2, 0], [2.1, 0, 0.3], [3.0, 0.1, 0]])
tensor = as_tensor(positions)
print(tensor.block().gradient("positions"))

# %%
#
# Operations keep the gradients
# -----------------------------
#
# A "energy" :math:`E = \sum_i \rho_i^2 + 0.5 \rho_i`, computed with
# operations: the product rule and the sum over samples go through the
# gradients too.

squared = metatensor.multiply(tensor, tensor)
per_atom = metatensor.add(squared, metatensor.multiply(tensor, 0.5))
energy = metatensor.sum_over_samples(per_atom, "atom")
print("energy:", energy.block().values[0, 0])
forces = -energy.block().gradient("positions").values[:, :, 0]

# %%
#
# Check against finite differences
# --------------------------------


def energy_of(positions):
    rho, _ = density(positions)
    return (rho**2 + 0.5 * rho).sum()


delta = 1e-6
finite_differences = np.zeros_like(positions)
for atom in range(len(positions)):
    for axis in range(3):
        displaced = positions.copy()
        displaced[atom, axis] += delta
        plus = energy_of(displaced)
        displaced[atom, axis] -= 2 * delta
        finite_differences[atom, axis] = -(plus - energy_of(displaced)) / (2 * delta)

print("largest difference:", np.abs(forces - finite_differences).max())
assert np.allclose(forces, finite_differences, atol=1e-7)

figure, ax = plt.subplots(figsize=(5, 4))
ax.scatter(finite_differences.ravel(), forces.ravel())
limit = np.abs(forces).max() * 1.1
ax.plot([-limit, limit], [-limit, limit], color="black", lw=0.8)
ax.set_xlabel("force from finite differences")
ax.set_ylabel("force from the gradients of the operations")
ax.set_aspect("equal")
figure.tight_layout()
