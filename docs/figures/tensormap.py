"""One TensorMap and its blocks: the keys on the left, each block's values
with their samples (rows) and properties (columns), and below each block its
gradient block, with a component axis (xyz, three layers)"""

import numpy as np
from blocks import COLORS, draw_block, entry_text, new_axes

from metatensor import Labels, TensorBlock, TensorMap


def block_with_gradient(samples, n_properties, gradient_samples):
    """A block of zeros with ``samples`` (system, atom), ``n_properties``
    properties and a gradient with respect to positions"""
    properties = Labels("n", np.arange(n_properties).reshape(-1, 1))
    block = TensorBlock(
        values=np.zeros((len(samples), n_properties)),
        samples=Labels(["system", "atom"], np.array(samples)),
        components=[],
        properties=properties,
    )
    block.add_gradient(
        "positions",
        TensorBlock(
            values=np.zeros((len(gradient_samples), 3, n_properties)),
            samples=Labels(["sample", "system", "atom"], np.array(gradient_samples)),
            components=[Labels("xyz", np.arange(3).reshape(-1, 1))],
            properties=properties,
        ),
    )
    return block


def example_tensor():
    """A TensorMap with one block per atomic type (H and O) of two water
    molecules, each block with its gradient with respect to positions"""
    hydrogen = block_with_gradient(
        [[0, 1], [0, 2], [1, 1], [1, 2]],
        4,
        [[0, 0, 1], [0, 0, 0], [1, 0, 2], [2, 1, 1], [3, 1, 2]],
    )
    oxygen = block_with_gradient([[0, 0], [1, 0]], 3, [[0, 0, 0], [1, 1, 0]])
    keys = Labels("center_type", np.array([[1], [8]]))
    return TensorMap(keys, [hydrogen, oxygen])


tensor = example_tensor()
figure, ax = new_axes(8.0, 5.0)

# the keys, one row per block
ax.text(0, 1.0, "keys", fontsize=9, weight="bold")
ax.text(0, 0.4, "(" + ", ".join(tensor.keys.names) + ")", fontsize=7, color="0.3")
for i, key in enumerate(tensor.keys):
    ax.text(
        0.1,
        -i * 0.8 - 0.4,
        entry_text(key),
        fontsize=10,
        family="monospace",
        color=COLORS[i],
        weight="bold",
    )

# the gradient blocks go below the tallest block
gradients_y = -max(len(block.samples) for block in tensor) * 0.55 - 2.0
x = 2.0
for i, (key, block) in enumerate(tensor.items()):
    title = f"block {i}: center_type = {entry_text(key)}"
    width, _ = draw_block(ax, block, x, 0, COLORS[i], title)
    gradient = block.gradient("positions")
    draw_block(
        ax,
        gradient,
        x,
        gradients_y,
        COLORS[i],
        "its gradient w.r.t. positions\n(components: xyz, 3 layers)",
        depth=3,
    )
    x += width + 1.2

ax.set_xlim(-0.2, x)
ax.set_ylim(gradients_y - 3.3, 1.6)
