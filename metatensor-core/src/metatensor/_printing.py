"""Text of the ``Labels``, ``LabelsEntry``, ``TensorBlock`` and ``TensorMap``
printouts, byte-identical to upstream metatensor's.

The functions work on plain values (names, rows of integers, shapes) and are
TorchScript-compatible: metatensor-core calls them from Python, and
metatensor-torch compiles them with its TorchScript classes, so that both
packages print the same text from this one implementation.
"""

from typing import List, Optional


def shown_entries(n_entries: int, max_entries: int) -> List[int]:
    """Positions of the labels entries printed among ``n_entries``: all of them
    when ``max_entries`` is negative or large enough, else the first
    ``(max_entries + 1) // 2`` and the last ``max_entries // 2``"""
    positions: List[int] = []
    if max_entries < 0 or n_entries <= max_entries:
        for i in range(n_entries):
            positions.append(i)
        return positions
    for i in range((max_entries + 1) // 2):
        positions.append(i)
    for i in range(n_entries - max_entries // 2, n_entries):
        positions.append(i)
    return positions


def labels_table(
    names: List[str], rows: List[List[int]], n_entries: int, indent: int
) -> str:
    """Table of labels entries, each value centered under its dimension name.

    :param names: names of the dimensions
    :param rows: the entries picked by :py:func:`shown_entries`, one list of
        ``len(names)`` values each
    :param n_entries: number of entries in the labels; ``...`` stands for the
        entries missing from ``rows``
    :param indent: number of spaces starting every line but the first
    """
    widths: List[int] = []
    for name in names:
        widths.append(len(name))
    for row in rows:
        for i in range(len(row)):
            widths[i] = max(widths[i], len(str(row[i])))
    total = 0
    for i in range(len(widths)):
        widths[i] += 2
        total += widths[i]

    skip_at = -1
    if len(rows) < n_entries:
        skip_at = (len(rows) + 1) // 2
    lines: List[str] = [_centered_row(names, widths)]
    for r in range(len(rows)):
        if r == skip_at:
            lines.append(_center("...", total).rstrip())
        values: List[str] = []
        for value in rows[r]:
            values.append(str(value))
        lines.append(_centered_row(values, widths))
    if skip_at == len(rows):
        lines.append(_center("...", total).rstrip())
    return ("\n" + "".ljust(indent)).join(lines)


def entry_text(names: List[str], values: List[int]) -> str:
    """One labels entry as ``(system=0, atom=2)``"""
    pairs: List[str] = []
    for i in range(len(names)):
        pairs.append(names[i] + "=" + str(values[i]))
    return "(" + ", ".join(pairs) + ")"


def block_text(
    parameter: Optional[str],
    shape: List[int],
    samples: List[str],
    components: List[str],
    properties: List[str],
    gradient_parameters: List[str],
    gradient_shapes: List[List[int]],
) -> str:
    """Summary of a block: its shape, the dimension names of its samples,
    components and properties, and the shape of each of its gradients.

    :param parameter: for a gradient block, the parameter of the gradient; None
        for a block of values
    :param shape: shape of the values
    :param samples: names of the samples dimensions
    :param components: names of the components, one per component axis
    :param properties: names of the properties dimensions
    :param gradient_parameters: parameters of the block's gradients, in order
    :param gradient_shapes: shape of the values of each gradient
    """
    title = "TensorBlock"
    if parameter is not None:
        title = "TensorBlock gradient for '" + parameter + "',"
    lines: List[str] = [
        title + " with shape " + _shape_text(shape),
        "    samples: " + _names_text(samples),
        "    components: " + _names_text(components),
        "    properties: " + _names_text(properties),
    ]
    if len(gradient_parameters) != 0:
        width = 0
        for gradient in gradient_parameters:
            width = max(width, len(gradient))
        lines.append("")
        lines.append("    gradients:")
        for i in range(len(gradient_parameters)):
            lines.append(
                "        "
                + gradient_parameters[i].ljust(width)
                + " => TensorBlock with shape "
                + _shape_text(gradient_shapes[i])
            )
    return "\n".join(lines)


def tensor_text(
    key_names: List[str], keys: List[List[int]], shapes: List[List[int]], max_keys: int
) -> str:
    """Summary of a tensor map: the key names, then the key and block shape of
    the first ``max_keys`` blocks (all of them if negative).

    :param key_names: names of the keys dimensions
    :param keys: all the keys, one list of ``len(key_names)`` values each
    :param shapes: shape of the values of each block, in the order of ``keys``
    :param max_keys: number of blocks to list, negative for all
    """
    n_blocks = len(keys)
    shown = n_blocks
    if max_keys >= 0 and max_keys < n_blocks:
        shown = max_keys
    widths: List[int] = []
    for _ in key_names:
        widths.append(0)
    for key in keys:
        for i in range(len(key)):
            widths[i] = max(widths[i], len(str(key[i])))

    title = "TensorMap with " + str(n_blocks) + " block"
    if n_blocks != 1:
        title += "s"
    lines: List[str] = [title, "    keys: " + _names_text(key_names), "    blocks:"]
    for b in range(shown):
        values: List[str] = []
        for i in range(len(widths)):
            values.append(str(keys[b][i]).rjust(widths[i]))
        lines.append(
            "       "
            + "  ".join(values)
            + "   => TensorBlock with shape "
            + _shape_text(shapes[b])
        )
    if shown < n_blocks:
        # "..." ends under the end of "=>"
        end = 10
        for width in widths:
            end += width + 2
        lines.append("...".rjust(end))
    return "\n".join(lines)


def _center(text: str, width: int) -> str:
    """``text`` centered in ``width`` characters, the extra space going right"""
    left = (width - len(text)) // 2
    return "".ljust(left) + text.ljust(width - left)


def _centered_row(cells: List[str], widths: List[int]) -> str:
    line = ""
    for i in range(len(cells)):
        line += _center(cells[i], widths[i])
    return line.rstrip()


def _names_text(names: List[str]) -> str:
    return "[" + ", ".join(names) + "]"


def _shape_text(shape: List[int]) -> str:
    dimensions: List[str] = []
    for size in shape:
        dimensions.append(str(size))
    return "(" + ", ".join(dimensions) + ")"
