"""How a gradient block refers to the values: each gradient row has a
``sample`` index (the row of the values it is the gradient of) and the
``system``/``atom`` with respect to whose position it is taken"""

import matplotlib.patches
import numpy as np
from blocks import CELL, COLORS, draw_block, new_axes

from metatensor import Labels, TensorBlock

# the energy of each of two systems (a molecule of 2 atoms, and one of 3)
values = TensorBlock(
    values=np.zeros((2, 1)),
    samples=Labels("system", np.array([[0], [1]])),
    components=[],
    properties=Labels("energy", np.array([[0]])),
)
# d energy / d positions: only the atoms of the same system have a gradient
gradient = TensorBlock(
    values=np.zeros((5, 3, 1)),
    samples=Labels(
        ["sample", "system", "atom"],
        np.array([[0, 0, 0], [0, 0, 1], [1, 1, 0], [1, 1, 1], [1, 1, 2]]),
    ),
    components=[Labels("xyz", np.arange(3).reshape(-1, 1))],
    properties=values.properties,
)
values.add_gradient("positions", gradient)
# the block now owns the gradient: get it back from there
gradient = values.gradient("positions")

figure, ax = new_axes(7.0, 3.6)
draw_block(ax, values, 0, 0, COLORS[0], "values: energy per system")
draw_block(
    ax,
    gradient,
    5.0,
    0,
    COLORS[2],
    "gradient w.r.t. positions\n(components: xyz)",
    depth=3,
)

# one arrow from each gradient row to the row of the values it belongs to
for row, entry in enumerate(gradient.samples):
    target = int(entry[0])
    ax.add_patch(
        matplotlib.patches.FancyArrowPatch(
            (4.95, -(row + 0.5) * CELL),
            (2.3 + CELL + 0.1, -(target + 0.5) * CELL),
            arrowstyle="-|>",
            mutation_scale=9,
            color=COLORS[target + 3],
            connectionstyle="arc3,rad=0.15",
        )
    )
ax.text(
    3.05,
    -3.3,
    'the "sample" column of a gradient row\nis the row of the values it derives',
    fontsize=7.5,
    ha="center",
    color="0.3",
)
ax.set_xlim(-0.2, 9.2)
ax.set_ylim(-3.8, 1.6)
