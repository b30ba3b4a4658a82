"""Keeping some samples or properties of blocks: ``slice`` (and ``slice_block``)
keeps the entries matching a selection, ``split`` (and ``split_block``) makes one
output per selection. Gradients keep the rows of the kept samples."""

import warnings
from typing import List

from . import _dispatch
from ._backend import Labels, TensorBlock, TensorMap, torch_jit_is_scripting


def _check_axis(axis: str, function: str):
    if axis != "samples" and axis != "properties":
        raise ValueError(
            f"`axis` in '{function}' must be 'samples' or 'properties', got '{axis}'"
        )


def _slice_block(block: TensorBlock, axis: str, selection: Labels) -> TensorBlock:
    if axis == "samples":
        labels = block.samples
    else:
        labels = block.properties
    positions = labels.select(selection)
    new_labels = Labels(labels.names, _dispatch.take(labels.values, positions, 0))

    if axis == "samples":
        values = _dispatch.take(block.values, positions, 0)
        result = TensorBlock(
            values=values,
            samples=new_labels,
            components=block.components,
            properties=block.properties,
        )
        mapping = _dispatch.inverse_mapping(positions, len(labels))
    else:
        values = _dispatch.take(block.values, positions, -1)
        result = TensorBlock(
            values=values,
            samples=block.samples,
            components=block.components,
            properties=new_labels,
        )
        mapping = positions

    for parameter in block.gradients_list():
        gradient = block.gradient(parameter)
        if len(gradient.gradients_list()) != 0:
            raise NotImplementedError(
                "gradients of gradients are not supported in 'slice'"
            )
        if axis == "samples":
            new_sample = _dispatch.take(mapping, gradient.samples.column("sample"), 0)
            kept = _dispatch.nonzero(new_sample >= 0)
            samples_values = _dispatch.with_first_column(
                _dispatch.take(gradient.samples.values, kept, 0),
                _dispatch.take(new_sample, kept, 0),
            )
            gradient_block = TensorBlock(
                values=_dispatch.take(gradient.values, kept, 0),
                samples=Labels(gradient.samples.names, samples_values),
                components=gradient.components,
                properties=result.properties,
            )
        else:
            gradient_block = TensorBlock(
                values=_dispatch.take(gradient.values, mapping, -1),
                samples=gradient.samples,
                components=gradient.components,
                properties=result.properties,
            )
        result.add_gradient(parameter, gradient_block)
    return result


def slice_block(block: TensorBlock, axis: str, selection: Labels) -> TensorBlock:
    """Keep the samples or properties (``axis``) of ``block`` that match
    ``selection`` (Labels whose names are a subset of the axis names); see
    :py:meth:`Labels.select` for the order of the result

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> samples = Labels(["system", "atom"], np.array([[0, 0], [0, 1], [1, 0]]))
    >>> block = TensorBlock(np.arange(3.0).reshape(3, 1), samples, [], Labels.range("p", 1))
    >>> selection = Labels(["system"], np.array([[0]]))
    >>> slice_block(block, "samples", selection).values.tolist()
    [[0.0], [1.0]]
    """
    _check_axis(axis, "slice_block")
    result = _slice_block(block, axis, selection)
    if not torch_jit_is_scripting():
        if _dispatch.size(result.values) == 0 and _dispatch.size(block.values) != 0:
            warnings.warn(
                f"'slice' selected no {axis}, the result is an empty block",
                UserWarning,
                stacklevel=2,
            )
    return result


def slice(tensor: TensorMap, axis: str, selection: Labels) -> TensorMap:
    """Keep the samples or properties (``axis``) matching ``selection`` in every
    block of ``tensor``; see :py:func:`slice_block`

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 3)), Labels.range("s", 1), [], Labels.range("p", 3))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> selection = Labels(["p"], np.array([[2], [0]]))
    >>> slice(tensor, "properties", selection).block().properties.values.tolist()
    [[2], [0]]
    """
    _check_axis(axis, "slice")
    blocks: List[TensorBlock] = []
    empty = False
    for block in tensor.blocks():
        result = _slice_block(block, axis, selection)
        if _dispatch.size(result.values) == 0 and _dispatch.size(block.values) != 0:
            empty = True
        blocks.append(result)
    if not torch_jit_is_scripting():
        if empty:
            warnings.warn(
                f"'slice' selected no {axis} in some blocks, they are now empty",
                UserWarning,
                stacklevel=2,
            )
    return TensorMap(tensor.keys, blocks)


def split_block(
    block: TensorBlock, axis: str, selections: List[Labels]
) -> List[TensorBlock]:
    """One block for each selection, with the samples or properties (``axis``)
    of ``block`` matching it

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((3, 1)), Labels.range("s", 3), [], Labels.range("p", 1))
    >>> parts = split_block(
    ...     block, "samples", [Labels(["s"], np.array([[0]])), Labels(["s"], np.array([[1], [2]]))]
    ... )
    >>> [len(part) for part in parts]
    [1, 2]
    """
    _check_axis(axis, "split_block")
    results: List[TensorBlock] = []
    for selection in selections:
        results.append(_slice_block(block, axis, selection))
    return results


def split(tensor: TensorMap, axis: str, selections: List[Labels]) -> List[TensorMap]:
    """One map for each selection, keeping the samples or properties (``axis``)
    matching it in every block

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((3, 1)), Labels.range("s", 3), [], Labels.range("p", 1))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> parts = split(tensor, "samples", [Labels(["s"], np.array([[0], [2]]))])
    >>> parts[0].block().samples.values.tolist()
    [[0], [2]]
    """
    _check_axis(axis, "split")
    results: List[TensorMap] = []
    for selection in selections:
        blocks: List[TensorBlock] = []
        for block in tensor.blocks():
            blocks.append(_slice_block(block, axis, selection))
        results.append(TensorMap(tensor.keys, blocks))
    return results
