"""The data flow between a simulation engine and an exported model: what the
engine sends, what AtomisticModel does around the model, what comes back"""

import matplotlib.patches
import matplotlib.pyplot as plt
from blocks import COLORS

BOXES = {
    # name: (x, y, width, height, color, text)
    "engine": (
        0.0,
        0.0,
        2.6,
        5.6,
        COLORS[1],
        "simulation engine\n(ASE, i-PI, torch-sim,\nLAMMPS, C++ code ...)",
    ),
    "wrapper": (4.8, 0.0, 5.4, 5.6, COLORS[0], "AtomisticModel (exported file)"),
    "checks": (
        5.2,
        3.5,
        4.6,
        1.1,
        COLORS[0],
        "check the inputs, convert positions,\ncell and neighbors to the model's units",
    ),
    "model": (
        5.2,
        2.0,
        4.6,
        1.1,
        COLORS[2],
        "your model: forward(systems, outputs,\nselected_atoms) -> TensorMaps",
    ),
    "outputs": (
        5.2,
        0.5,
        4.6,
        1.1,
        COLORS[0],
        "check the outputs, convert them\nto the engine's units",
    ),
}
ARROWS = [
    # (from, to, text, text position)
    ((2.6, 4.05), (5.2, 4.05), "Systems: types, positions,\ncell, pbc, neighbor lists"),
    ((7.5, 3.5), (7.5, 3.1), ""),
    ((7.5, 2.0), (7.5, 1.6), ""),
    ((5.2, 1.05), (2.6, 1.05), '{"energy": TensorMap, ...}\nforces = -dE/dpositions'),
]

figure, ax = plt.subplots(figsize=(8.0, 3.6))
ax.set_axis_off()
for name, (x, y, width, height, color, text) in BOXES.items():
    outer = name in ("engine", "wrapper")
    ax.add_patch(
        matplotlib.patches.FancyBboxPatch(
            (x, y),
            width,
            height,
            boxstyle="round,pad=0.05",
            facecolor=color,
            alpha=0.12 if outer else 0.3,
            edgecolor=color,
        )
    )
    ax.text(
        x + width / 2,
        y + height - 0.25 if outer else y + height / 2,
        text,
        ha="center",
        va="top" if outer else "center",
        fontsize=8,
        weight="bold" if outer else "normal",
    )
for start, end, text in ARROWS:
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={"arrowstyle": "-|>", "color": "0.2", "lw": 1.2},
    )
    if text:
        ax.text(
            (start[0] + end[0]) / 2,
            start[1] + 0.12,
            text,
            ha="center",
            va="bottom",
            fontsize=6.5,
        )
ax.text(
    1.3,
    2.6,
    "before the run:\nload the file, read the\ncapabilities and the\n"
    "requested neighbor lists",
    ha="center",
    va="center",
    fontsize=7,
    color="0.3",
)
ax.set_xlim(-0.2, 10.4)
ax.set_ylim(-0.2, 5.8)
