"""Changing the dimensions of the labels of a TensorMap: ``append_dimension``,
``insert_dimension``, ``remove_dimension``, ``rename_dimension`` and
``permute_dimensions``, on the keys, samples, components or properties. The
arrays are shared with the input."""

from typing import List, Optional, Tuple, Union

from . import _dispatch
from ._backend import (
    Labels,
    LabelsIndexError,
    TensorBlock,
    TensorMap,
    torch_jit_is_scripting,
)
from ._dispatch import Array


def _check_axis(axis: str, function: str, components: bool):
    allowed = ["keys", "samples", "properties"]
    if components:
        allowed.append("components")
    if axis not in allowed:
        raise ValueError(
            f"'{axis}' is not a valid axis. `axis` in '{function}' must be one of "
            f"{allowed}"
        )


def _relabel_block(
    block: TensorBlock, axis: str, old_name: str, labels: Labels, new_name: str = ""
) -> TensorBlock:
    """``block`` (sharing its arrays) with the samples, the properties or the
    component named ``old_name`` replaced by ``labels``; gradients follow the
    properties and components. Gradient samples are unchanged, except when a
    sample dimension is renamed to ``new_name``: the dimension of the same name
    in the gradient samples is renamed too"""
    samples = block.samples
    properties = block.properties
    components = block.components
    if axis == "samples":
        samples = labels
    elif axis == "properties":
        properties = labels
    else:
        components = _replace_component(components, old_name, labels)
    result = TensorBlock(
        values=block.values,
        samples=samples,
        components=components,
        properties=properties,
    )
    for parameter in block.gradients_list():
        gradient = block.gradient(parameter)
        if len(gradient.gradients_list()) != 0:
            raise NotImplementedError(
                "gradients of gradients are not supported when changing dimensions"
            )
        gradient_components = gradient.components
        if axis == "components":
            gradient_components = _replace_component(
                gradient_components, old_name, labels
            )
        gradient_samples = gradient.samples
        if axis == "samples" and new_name != "":
            if old_name in gradient_samples.names:
                gradient_samples = gradient_samples.rename(old_name, new_name)
        result.add_gradient(
            parameter,
            TensorBlock(
                values=gradient.values,
                samples=gradient_samples,
                components=gradient_components,
                properties=properties,
            ),
        )
    return result


def _replace_component(components: List[Labels], name: str, labels: Labels):
    result: List[Labels] = []
    found = False
    for component in components:
        if component.names[0] == name:
            result.append(labels)
            found = True
        else:
            result.append(component)
    if not found:
        raise ValueError(f"'{name}' is not a component of this TensorMap")
    return result


def _axis_labels(block: TensorBlock, axis: str, name: str) -> Labels:
    if axis == "samples":
        return block.samples
    elif axis == "properties":
        return block.properties
    for component in block.components:
        if component.names[0] == name:
            return component
    raise ValueError(f"'{name}' is not a component of this TensorMap")


def _transform(
    tensor: TensorMap,
    axis: str,
    mode: str,
    index: int,
    name: str,
    new_name: str,
    value: int,
    column: Optional[Array],
    order: List[int],
) -> TensorMap:
    """Apply one change to the labels of ``axis``:

    - ``"insert"``: a dimension ``name`` at ``index``, with values ``column`` (an
      array) or, when ``column`` is None, the integer ``value`` everywhere;
    - ``"append"``: the same as a last dimension;
    - ``"remove"``: the dimension ``name``;
    - ``"rename"``: ``name`` becomes ``new_name``;
    - ``"permute"``: the dimensions reordered by ``order``.
    """
    if axis == "keys":
        keys = _change(tensor.keys, mode, index, name, new_name, value, column, order)
        blocks: List[TensorBlock] = []
        for block in tensor.blocks():
            blocks.append(_relabel_block(block, "samples", "", block.samples))
        return TensorMap(keys, blocks)

    relabeled: List[TensorBlock] = []
    for block in tensor.blocks():
        labels = _axis_labels(block, axis, name)
        new = _change(labels, mode, index, name, new_name, value, column, order)
        relabeled.append(_relabel_block(block, axis, name, new, new_name))
    return TensorMap(tensor.keys, relabeled)


def _change(
    labels: Labels,
    mode: str,
    index: int,
    name: str,
    new_name: str,
    value: int,
    column: Optional[Array],
    order: List[int],
) -> Labels:
    if mode == "insert" or mode == "append":
        if mode == "append":
            index = len(labels.names)
        elif index < 0 or index > len(labels.names):
            raise LabelsIndexError(
                f"index {index} is out of bounds: can not insert a dimension at index "
                f"{index}, these Labels have {len(labels.names)} dimensions"
            )
        if column is None:
            values = _dispatch.int_column_like(value, len(labels), labels.values)
        else:
            values = _dispatch.int_column_like(column, len(labels), labels.values)
            if len(values.shape) == 1 and values.shape[0] != len(labels):
                raise ValueError(
                    f"the new `values` contains {values.shape[0]} entries, but the "
                    f"Labels contains {len(labels)}"
                )
        return labels.insert(index, name, values)
    elif mode == "remove":
        return labels.remove(name)
    elif mode == "rename":
        return labels.rename(name, new_name)
    return labels.permute(order)


def _split_values(values: Union[int, Array]) -> Tuple[int, Optional[Array]]:
    if not torch_jit_is_scripting():
        # numpy integer scalars (and 0-d integer arrays) count as integers
        if not isinstance(values, (int, bool)) and hasattr(values, "__index__"):
            if len(getattr(values, "shape", ())) == 0:
                values = int(values)
    if isinstance(values, int):
        return values, None
    return 0, values


def append_dimension(
    tensor: TensorMap, axis: str, name: str, values: Union[int, Array]
) -> TensorMap:
    """Append a dimension ``name`` to the labels of ``axis`` (``"keys"``,
    ``"samples"`` or ``"properties"``), with one value per entry (a 1-D array), or
    the same integer for all entries. Gradient samples are not changed.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((2, 1)), Labels.range("s", 2), [], Labels.range("p", 1))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> append_dimension(tensor, "samples", "system", 3).block().samples.values.tolist()
    [[0, 3], [1, 3]]
    """
    _check_axis(axis, "append_dimension", False)
    value, column = _split_values(values)
    return _transform(tensor, axis, "append", 0, name, "", value, column, [])


def insert_dimension(
    tensor: TensorMap, axis: str, index: int, name: str, values: Union[int, Array]
) -> TensorMap:
    """Insert a dimension ``name`` at position ``index`` in the labels of ``axis``
    (``"keys"``, ``"samples"`` or ``"properties"``); see
    :py:func:`append_dimension`

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((2, 1)), Labels.range("s", 2), [], Labels.range("p", 1))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> insert_dimension(tensor, "keys", 0, "k", 5).keys.names
    ['k', '_']
    """
    _check_axis(axis, "insert_dimension", False)
    value, column = _split_values(values)
    return _transform(tensor, axis, "insert", index, name, "", value, column, [])


def remove_dimension(tensor: TensorMap, axis: str, name: str) -> TensorMap:
    """Remove the dimension ``name`` from the labels of ``axis`` (``"keys"``,
    ``"samples"`` or ``"properties"``); fails if the remaining entries are not
    unique

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> samples = Labels(["system", "atom"], np.array([[0, 0], [0, 1]]))
    >>> block = TensorBlock(np.ones((2, 1)), samples, [], Labels.range("p", 1))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> remove_dimension(tensor, "samples", "system").block().samples.names
    ['atom']
    """
    _check_axis(axis, "remove_dimension", False)
    return _transform(tensor, axis, "remove", 0, name, "", 0, None, [])


def rename_dimension(tensor: TensorMap, axis: str, old: str, new: str) -> TensorMap:
    """Rename the dimension ``old`` of the labels of ``axis`` (``"keys"``,
    ``"samples"``, ``"components"`` or ``"properties"``) to ``new``; renaming a
    sample dimension also renames it in the gradient samples that have it

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((2, 1)), Labels.range("s", 2), [], Labels.range("p", 1))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> rename_dimension(tensor, "properties", "p", "n").property_names
    ['n']
    """
    _check_axis(axis, "rename_dimension", True)
    return _transform(tensor, axis, "rename", 0, old, new, 0, None, [])


def permute_dimensions(
    tensor: TensorMap, axis: str, dimensions_indexes: List[int]
) -> TensorMap:
    """Reorder the dimensions of the labels of ``axis`` (``"keys"``,
    ``"samples"`` or ``"properties"``): dimension ``i`` of the result is dimension
    ``dimensions_indexes[i]`` of the input

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> samples = Labels(["system", "atom"], np.array([[0, 0], [0, 1]]))
    >>> block = TensorBlock(np.ones((2, 1)), samples, [], Labels.range("p", 1))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> permute_dimensions(tensor, "samples", [1, 0]).sample_names
    ['atom', 'system']
    """
    _check_axis(axis, "permute_dimensions", False)
    return _transform(tensor, axis, "permute", 0, "", "", 0, None, dimensions_indexes)
