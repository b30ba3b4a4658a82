"""A tour of metatensor-core: per-atom features with gradients, stored in a
TensorMap, reshaped by moving keys, saved to a ``.mts`` file and loaded back.

Run it with ``python examples/demo.py`` once ``metatensor-core`` is installed.
"""

import os
import tempfile

import numpy as np

import metatensor
from metatensor import Labels, TensorBlock, TensorMap

rng = np.random.default_rng(42)

# two small molecules, each atom with a type (H=1, C=6, O=8)
systems = [np.array([8, 1, 1]), np.array([6, 8, 1, 1, 1, 1])]
positions = [rng.normal(size=(len(types), 3)) for types in systems]

# one block per (central atom type, angular channel): values have shape
# (atoms of this type, 2 * o3_lambda + 1 components, 4 radial properties)
keys = []
blocks = []
for center_type in (1, 6, 8):
    samples = [
        (system, atom)
        for system, types in enumerate(systems)
        for atom, atom_type in enumerate(types)
        if atom_type == center_type
    ]
    samples = Labels(["system", "atom"], np.array(samples, dtype=np.int32))
    for o3_lambda in (0, 1):
        o3_mu = Labels(["o3_mu"], np.arange(-o3_lambda, o3_lambda + 1).reshape(-1, 1))
        properties = Labels.range("n", 4)
        values = rng.normal(size=(len(samples), len(o3_mu), len(properties)))
        block = TensorBlock(values, samples, [o3_mu], properties)

        # gradients with respect to the positions of the atom itself and of one
        # neighbor: the "sample" column points to the row of the values
        gradient_samples = []
        for row, (system, atom) in enumerate(samples.values.tolist()):
            neighbor = (atom + 1) % len(systems[system])
            for other in sorted({atom, neighbor}):
                gradient_samples.append((row, system, other))
        gradient_samples = Labels(
            ["sample", "system", "atom"], np.array(gradient_samples, dtype=np.int32)
        )
        gradient = TensorBlock(
            values=rng.normal(size=(len(gradient_samples), 3, len(o3_mu), 4)),
            samples=gradient_samples,
            components=[Labels.range("xyz", 3), o3_mu],
            properties=properties,
        )
        block.add_gradient("positions", gradient)

        keys.append((o3_lambda, center_type))
        blocks.append(block)

tensor = TensorMap(Labels(["o3_lambda", "center_type"], np.array(keys)), blocks)
tensor.set_info("description", "random spherical-expansion-like features")
print("the features:")
print(tensor)
print()
print("the block for o3_lambda=1 and carbon atoms:")
print(tensor.block(o3_lambda=1, center_type=6))
print()

# the central atom type becomes a sample dimension: one block per o3_lambda
per_lambda = tensor.keys_to_samples("center_type")
block = per_lambda.block(o3_lambda=0)
print(f"after keys_to_samples('center_type'): {len(per_lambda)} blocks")
print(f"  samples are {block.samples.names}, {len(block.samples)} of them")
print()

# fold the components into properties, then move o3_lambda to the properties:
# a single invariant-like block with every feature of each atom
flat = per_lambda.components_to_properties("o3_mu").keys_to_properties("o3_lambda")
block = flat.block()
print("after components_to_properties('o3_mu') and keys_to_properties('o3_lambda'):")
print(f"  values shape {block.values.shape}, properties {block.properties.names}")
print(f"  positions gradient shape {block.gradient('positions').values.shape}")
print()

with tempfile.TemporaryDirectory() as directory:
    path = os.path.join(directory, "features.mts")
    metatensor.save(path, tensor)
    size = os.path.getsize(path)
    loaded = metatensor.load(path)

print(f"saved to features.mts ({size} bytes) and loaded back:")
same = all(
    np.array_equal(a.values, b.values)
    and a.samples == b.samples
    and np.array_equal(a.gradient("positions").values, b.gradient("positions").values)
    for a, b in zip(tensor, loaded)
)
print(f"  {len(loaded)} blocks, keys {loaded.keys.names}, identical data: {same}")
print(f"  info: {loaded.info()}")
