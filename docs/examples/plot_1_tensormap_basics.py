"""
TensorMap basics
================

Build :py:class:`~metatensor.Labels`, :py:class:`~metatensor.TensorBlock` and
:py:class:`~metatensor.TensorMap` objects, look data up through their
metadata, and save them to a ``.mts`` file.
"""

# %%
#
# Labels: the metadata of one axis
# --------------------------------

import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import metatensor
from metatensor import Labels, TensorBlock, TensorMap

samples = Labels(["system", "atom"], np.array([[0, 0], [0, 1], [1, 0], [1, 2]]))
print(samples)
print("names:", samples.names, "position of (1, 0):", samples.position([1, 0]))

# %%
#
# A block: values and one Labels per axis
# ---------------------------------------
#
# Here, 4 atoms (the samples) and 5 radial basis functions (the properties),
# with a Gaussian density of neighbors as values.

radial = Labels.range("n", 5)
distances = np.array([1.0, 1.5, 2.0, 2.5])
values = np.exp(-((distances[:, None] - np.linspace(0.5, 3.0, 5)[None, :]) ** 2))
block = TensorBlock(values=values, samples=samples, components=[], properties=radial)
print(block)

# %%
#
# A map: blocks identified by keys
# --------------------------------
#
# One block per atomic type of the central atom; the oxygen block has other
# samples and other values, with the same names.

oxygen = TensorBlock(
    values=0.5 * values[:2],
    samples=Labels(["system", "atom"], np.array([[0, 2], [1, 1]])),
    components=[],
    properties=radial,
)
keys = Labels("center_type", np.array([[1], [8]]))
tensor = TensorMap(keys, [block, oxygen])
print(tensor)

# select a block by its key, and a row by its sample
hydrogen = tensor.block(center_type=1)
row = hydrogen.samples.position([1, 2])
print("values of atom 2 of system 1:", hydrogen.values[row])

# %%
#
# Plot the blocks, with their metadata as tick labels.

figure, axes = plt.subplots(1, 2, figsize=(8, 3), sharex=True)
for ax, (key, block) in zip(axes, tensor.items()):
    ax.imshow(block.values, cmap="viridis", vmin=0, vmax=1)
    ax.set_title(f"center_type = {key['center_type']}")
    ax.set_xlabel("property n")
    ax.set_yticks(range(len(block.samples)))
    ax.set_yticklabels([f"system {s}, atom {a}" for s, a in block.samples.values])
figure.tight_layout()

# %%
#
# Save and load
# -------------
#
# ``.mts`` files are ZIP archives of NPY arrays (:doc:`/reference/mts-format`),
# readable by upstream metatensor.

with tempfile.TemporaryDirectory() as directory:
    path = os.path.join(directory, "density.mts")
    metatensor.save(path, tensor)
    loaded = metatensor.load(path)
    print("same data after loading:", metatensor.equal(tensor, loaded))
    print("file size:", os.path.getsize(path), "bytes")
