"""Drawing of TensorBlocks as grids of cells labelled with their metadata, for
the figures of the explanations (``.. plot::`` in the pages)"""

import matplotlib.patches
import matplotlib.pyplot as plt

CELL = 0.55  # size of one cell of a block, in axes units
COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3"]


def entry_text(entry):
    """``"(1, 2)"`` for a LabelsEntry with values 1 and 2"""
    values = [str(int(v)) for v in entry.values]
    return values[0] if len(values) == 1 else "(" + ", ".join(values) + ")"


def draw_block(ax, block, x, y, color, title, depth=1):
    """Draw the values of ``block`` (samples down, properties across) with
    their top-left corner at ``(x, y)``; ``depth`` stacks that many layers for
    a component axis. Return the width and height used."""
    n_samples = len(block.samples)
    n_properties = len(block.properties)
    label_width = 2.3
    # the layers of a component axis go back to the bottom right
    for layer in reversed(range(depth)):
        shift = 0.16 * layer
        for i in range(n_samples):
            for j in range(n_properties):
                ax.add_patch(
                    matplotlib.patches.Rectangle(
                        (
                            x + label_width + j * CELL + shift,
                            y - (i + 1) * CELL - shift,
                        ),
                        CELL,
                        CELL,
                        facecolor=color,
                        alpha=0.35 if layer == 0 else 0.15,
                        edgecolor="white" if layer == 0 else color,
                    )
                )

    names = ", ".join(block.samples.names)
    ax.text(x, y + 0.1, f"samples\n({names})", fontsize=6.5, va="bottom", color="0.3")
    for i, entry in enumerate(block.samples):
        ax.text(
            x + 0.05,
            y - (i + 0.5) * CELL,
            entry_text(entry),
            fontsize=7.5,
            va="center",
            family="monospace",
        )
    for j, entry in enumerate(block.properties):
        ax.text(
            x + label_width + (j + 0.5) * CELL,
            y + 0.1,
            entry_text(entry),
            fontsize=7.5,
            ha="center",
            va="bottom",
            family="monospace",
        )
    property_names = ", ".join(block.properties.names)
    ax.text(
        x + label_width + n_properties * CELL / 2,
        y + 0.5,
        f"properties ({property_names})",
        fontsize=7,
        ha="center",
        color="0.3",
    )
    ax.text(x, y + 1.0, title, fontsize=9, weight="bold", color=color, va="bottom")
    width = label_width + n_properties * CELL + 0.16 * (depth - 1)
    height = n_samples * CELL + 0.16 * (depth - 1)
    return width, height


def new_axes(width, height):
    """A figure without frame whose axes units are the same in x and y"""
    figure, ax = plt.subplots(figsize=(width, height))
    ax.set_axis_off()
    ax.set_aspect("equal")
    return figure, ax
