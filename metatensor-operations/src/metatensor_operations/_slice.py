"""Keeping some samples or properties of blocks: ``slice`` (and ``slice_block``)
keeps the entries matching a selection, ``split`` (and ``split_block``) makes one
output per selection. Gradients keep the rows of the kept samples."""

from typing import List, Union

from . import _dispatch
from ._backend import Labels, TensorBlock, TensorMap, torch_jit_is_scripting
from ._dispatch import Array
from ._utils import check_type


def _check_axis(axis: str, function: str):
    if not torch_jit_is_scripting():
        if not isinstance(axis, str):
            raise TypeError(
                f"axis must be a string, not {type(axis)} (in '{function}')"
            )
    if axis != "samples" and axis != "properties":
        raise ValueError(
            f"axis must be either 'samples' or 'properties', not '{axis}' "
            f"(in '{function}')"
        )


def _as_selection(
    selection: Union[Labels, List[int]], function: str
) -> Union[Labels, List[int]]:
    """Check the type of ``selection``; in eager Python, tuples and 1-D integer
    arrays of positions become lists"""
    if not torch_jit_is_scripting():
        if isinstance(selection, tuple):
            selection = list(selection)
        elif hasattr(selection, "tolist") and not isinstance(selection, Labels):
            if len(getattr(selection, "shape", ())) != 1:
                raise ValueError(
                    "`selection` must be a 1-D array of integers, got an array of "
                    f"shape {tuple(selection.shape)} (in '{function}')"
                )
            selection = selection.tolist()
        if isinstance(selection, list):
            for index in selection:
                if isinstance(index, bool) or not isinstance(index, int):
                    raise TypeError(
                        f"`selection` in '{function}' must be Labels or a list of "
                        f"integer positions, got an entry of type {type(index).__name__}"
                    )
        elif not isinstance(selection, Labels):
            raise TypeError(
                "`selection` must be metatensor Labels, an array or List[int], "
                f"not {type(selection)} (in '{function}')"
            )
    return selection


def _positions(
    labels: Labels, selection: Union[Labels, List[int]], axis: str, function: str
) -> Array:
    """Positions in ``labels`` of the entries kept by ``selection``"""
    if isinstance(selection, Labels):
        for name in selection.names:
            if name not in labels.names:
                what = "sample" if axis == "samples" else "property"
                raise ValueError(
                    f"invalid {what} name '{name}' which is not part of the "
                    f"input, expected some of {labels.names} (in '{function}')"
                )
        return labels.select(selection)
    count = len(labels)
    for index in selection:
        if index < 0 or index >= count:
            raise IndexError(
                f"position {index} in `selection` of '{function}' is out of range "
                f"for {count} {axis}"
            )
    return _dispatch.index_like(selection, labels.values)


def _slice_block(
    block: TensorBlock,
    axis: str,
    selection: Union[Labels, List[int]],
    function: str,
) -> TensorBlock:
    if axis == "samples":
        labels = block.samples
    else:
        labels = block.properties
    positions = _positions(labels, selection, axis, function)
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


def slice_block(
    block: TensorBlock, axis: str, selection: Union[Labels, List[int]]
) -> TensorBlock:
    """Keep the samples or properties (``axis``) of ``block`` matching
    ``selection``.

    :param block: the block to slice; gradients keep the rows of the kept samples
        (their ``"sample"`` column is renumbered) or the kept properties
    :param axis: ``"samples"`` or ``"properties"``
    :param selection: Labels whose names are a subset of the axis names (see
        :py:meth:`Labels.select` for the order of the result: the order of
        ``selection`` when it has exactly the axis names, the order of the block
        otherwise), or a list of integer positions along the axis, kept in the
        given order (tuples and 1-D integer arrays are accepted in eager Python)
    :return: a new block (empty when nothing is kept)

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> samples = Labels(["system", "atom"], np.array([[0, 0], [0, 1], [1, 0]]))
    >>> block = TensorBlock(np.arange(3.0).reshape(3, 1), samples, [], Labels.range("p", 1))
    >>> selection = Labels(["system"], np.array([[0]]))
    >>> slice_block(block, "samples", selection).values.tolist()
    [[0.0], [1.0]]
    >>> slice_block(block, "samples", [2, 0]).samples.values.tolist()
    [[1, 0], [0, 0]]
    """
    if not torch_jit_is_scripting():
        check_type(block, TensorBlock, "block", "slice_block")
    _check_axis(axis, "slice_block")
    selection = _as_selection(selection, "slice_block")
    return _slice_block(block, axis, selection, "slice_block")


def slice(
    tensor: TensorMap, axis: str, selection: Union[Labels, List[int]]
) -> TensorMap:
    """Keep the samples or properties (``axis``) matching ``selection`` in every
    block of ``tensor``.

    :param tensor: the map to slice
    :param axis: ``"samples"`` or ``"properties"``
    :param selection: Labels whose names are a subset of the axis names, or a
        list of integer positions (applied to every block); see
        :py:func:`slice_block`
    :return: a new map with the same keys (blocks where nothing is kept are
        empty)

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 3)), Labels.range("s", 1), [], Labels.range("p", 3))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> selection = Labels(["p"], np.array([[2], [0]]))
    >>> slice(tensor, "properties", selection).block().properties.values.tolist()
    [[2], [0]]
    """
    if not torch_jit_is_scripting():
        check_type(tensor, TensorMap, "tensor", "slice")
    _check_axis(axis, "slice")
    selection = _as_selection(selection, "slice")
    blocks: List[TensorBlock] = []
    for block in tensor.blocks():
        blocks.append(_slice_block(block, axis, selection, "slice"))
    return TensorMap(tensor.keys, blocks)


def _as_selections(
    selections: List[Union[Labels, List[int]]], function: str
) -> List[Union[Labels, List[int]]]:
    if not torch_jit_is_scripting():
        if not isinstance(selections, (list, tuple)):
            raise TypeError(
                f"`selections` must be a list, not {type(selections)}: '{function}' "
                "takes a list of Labels or of lists of integer positions"
            )
    checked: List[Union[Labels, List[int]]] = []
    for selection in selections:
        checked.append(_as_selection(selection, function))
    return checked


def split_block(
    block: TensorBlock, axis: str, selections: List[Union[Labels, List[int]]]
) -> List[TensorBlock]:
    """One block for each selection, with the samples or properties (``axis``)
    of ``block`` matching it.

    :param block: the block to split
    :param axis: ``"samples"`` or ``"properties"``
    :param selections: list of selections, each Labels or a list of integer
        positions as in :py:func:`slice_block`; they may overlap or leave entries
        out
    :return: a list of new blocks, one per selection

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((3, 1)), Labels.range("s", 3), [], Labels.range("p", 1))
    >>> parts = split_block(
    ...     block, "samples", [Labels(["s"], np.array([[0]])), Labels(["s"], np.array([[1], [2]]))]
    ... )
    >>> [len(part) for part in parts]
    [1, 2]
    """
    if not torch_jit_is_scripting():
        check_type(block, TensorBlock, "block", "split_block")
    _check_axis(axis, "split_block")
    checked = _as_selections(selections, "split_block")
    results: List[TensorBlock] = []
    for selection in checked:
        results.append(_slice_block(block, axis, selection, "split_block"))
    return results


def split(
    tensor: TensorMap, axis: str, selections: List[Union[Labels, List[int]]]
) -> List[TensorMap]:
    """One map for each selection, keeping the samples or properties (``axis``)
    matching it in every block.

    :param tensor: the map to split
    :param axis: ``"samples"`` or ``"properties"``
    :param selections: list of selections, each Labels or a list of integer
        positions as in :py:func:`slice_block`
    :return: a list of new maps with the keys of ``tensor``, one per selection

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((3, 1)), Labels.range("s", 3), [], Labels.range("p", 1))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> parts = split(tensor, "samples", [Labels(["s"], np.array([[0], [2]]))])
    >>> parts[0].block().samples.values.tolist()
    [[0], [2]]
    """
    if not torch_jit_is_scripting():
        check_type(tensor, TensorMap, "tensor", "split")
    _check_axis(axis, "split")
    checked = _as_selections(selections, "split")
    results: List[TensorMap] = []
    for selection in checked:
        blocks: List[TensorBlock] = []
        for block in tensor.blocks():
            blocks.append(_slice_block(block, axis, selection, "split"))
        results.append(TensorMap(tensor.keys, blocks))
    return results
