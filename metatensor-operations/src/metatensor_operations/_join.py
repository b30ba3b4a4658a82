"""Joining blocks or maps along samples or properties: ``join_blocks`` and
``join``."""

from typing import List, Optional, Tuple

from . import _dispatch
from ._backend import Labels, TensorBlock, TensorMap, torch_jit_is_scripting
from ._dispatch import Array
from ._utils import NotEqualError, check_type


def _check_axis(axis: str, function: str):
    if axis != "samples" and axis != "properties":
        raise ValueError(
            "only 'samples' and 'properties' are valid values for the `axis` "
            f"parameter, got '{axis}' (in '{function}')"
        )


def _joined_labels(
    labels: List[Labels], add_dimension: Optional[str], function: str, what: str
) -> Labels:
    """Concatenation of ``labels`` (with an extra last dimension holding the index
    of the source when ``add_dimension`` is given); duplicated entries raise.
    Properties with different names become ``(joined_index, property)`` entries:
    the index of the source and the position in it."""
    names = labels[0].names
    arrays: List[Array] = []
    for i in range(len(labels)):
        if labels[i].names != names:
            if what == "property":
                return _indexed_labels(labels)
            raise ValueError(
                "Different tensor have different sample names in `join`. Joining "
                "along samples with different sample names will lose information "
                f"and is not supported (got {names} and {labels[i].names})"
            )
        values = labels[i].values
        if add_dimension is not None:
            column = _dispatch.int_column_like(i, values.shape[0], values)
            values = _dispatch.concatenate([values, column.reshape(-1, 1)], 1)
        arrays.append(values)
    if add_dimension is not None:
        names = names + [add_dimension]
    return Labels(names, _dispatch.concatenate(arrays, 0))


def _indexed_labels(labels: List[Labels]) -> Labels:
    """Labels ``(joined_index, property)`` numbering the entries of each of
    ``labels`` in turn"""
    arrays: List[Array] = []
    for i in range(len(labels)):
        like = labels[i].values
        positions = _dispatch.range_like(len(labels[i]), like)
        source = _dispatch.int_column_like(i, len(labels[i]), like).reshape(-1, 1)
        arrays.append(_dispatch.concatenate([source, positions], 1))
    return Labels(["joined_index", "property"], _dispatch.concatenate(arrays, 0))


def _all_same_labels(labels: List[Labels]) -> bool:
    """Whether all ``labels`` are equal to the first, comparing all the values at
    once"""
    first = labels[0]
    n_entries = len(first)
    for other in labels[1:]:
        if len(other) != n_entries or other.names != first.names:
            return False
    values: List[Array] = []
    expected: List[Array] = []
    for other in labels:
        values.append(other.values)
        expected.append(first.values)
    return _dispatch.array_equal(
        _dispatch.concatenate(values, 0), _dispatch.concatenate(expected, 0)
    )


def _check_same(blocks: List[TensorBlock], axis: str, function: str):
    # this runs for every key of every batch a DataLoader joins: the per-block
    # work is kept small, and the labels are compared all at once
    first = blocks[0]
    n_components = len(first.components)
    gradients = first.gradients_list()
    components: List[List[Labels]] = []
    for _ in range(n_components):
        no_labels: List[Labels] = []
        components.append(no_labels)
    properties: List[Labels] = []
    for block in blocks:
        block_components = block.components
        if len(block_components) != n_components:
            raise ValueError(f"inputs to '{function}' should have the same components")
        for i in range(n_components):
            components[i].append(block_components[i])
        properties.append(block.properties)
        if block.gradients_list() != gradients:
            raise ValueError(f"inputs to '{function}' should have the same gradients")
        _dispatch.check_same_backend(first.values, block.values, function)
    for i in range(n_components):
        if not _all_same_labels(components[i]):
            raise ValueError(f"inputs to '{function}' should have the same components")
    if axis == "samples" and not _all_same_labels(properties):
        raise ValueError(
            f"inputs to '{function}' should have the same properties to be "
            "joined along samples"
        )


def _join_samples(
    blocks: List[TensorBlock], add_dimension: Optional[str]
) -> TensorBlock:
    samples: List[Labels] = []
    arrays: List[Array] = []
    for block in blocks:
        samples.append(block.samples)
        arrays.append(block.values)
    first = blocks[0]
    result = TensorBlock(
        values=_dispatch.concatenate(arrays, 0),
        samples=_joined_labels(samples, add_dimension, "join", "sample"),
        components=first.components,
        properties=first.properties,
    )
    for parameter in first.gradients_list():
        gradient_samples: List[Array] = []
        gradient_values: List[Array] = []
        # the "sample" column of the gradient rows of each block moves by the
        # number of samples in the blocks before it; the rows of block ``i`` end at
        # ``ends[i]`` in the concatenated rows
        offsets: List[int] = []
        ends: List[int] = []
        n_samples = 0
        n_rows = 0
        for block in blocks:
            gradient = block.gradient(parameter)
            rows = gradient.samples.values
            gradient_samples.append(rows)
            gradient_values.append(gradient.values)
            offsets.append(n_samples)
            n_samples += len(block.samples)
            n_rows += rows.shape[0]
            ends.append(n_rows)
        rows = _dispatch.concatenate(gradient_samples, 0)
        # block of each row: the number of blocks ending at or before it
        row_block = _dispatch.searchsorted_positions(
            _dispatch.index_like(ends, rows), _dispatch.arange_index(n_rows, rows) + 1
        )
        row_offsets = _dispatch.take(_dispatch.index_like(offsets, rows), row_block, 0)
        rows = _dispatch.with_first_column(rows, rows[:, 0] + row_offsets)
        first_gradient = first.gradient(parameter)
        result.add_gradient(
            parameter,
            TensorBlock(
                values=_dispatch.concatenate(gradient_values, 0),
                samples=Labels(first_gradient.samples.names, rows),
                components=first_gradient.components,
                properties=first.properties,
            ),
        )
    return result


def _union_rows(labels: List[Labels]) -> List[Array]:
    """The union of ``labels`` (first) and the row of each entry of each Labels in
    it"""
    union = labels[0]
    mappings: List[Array] = []
    for i in range(1, len(labels)):
        union, _, mapping = union.union_and_mapping(labels[i])
        mappings.append(mapping)
    first_rows = _dispatch.to_index(
        _dispatch.range_like(len(labels[0]), labels[0].values).reshape(-1),
        labels[0].values,
    )
    result: List[Array] = [union.values, first_rows]
    for mapping in mappings:
        result.append(mapping)
    return result


def _all_equal(labels: List[Labels]) -> bool:
    for i in range(1, len(labels)):
        if labels[i].names != labels[0].names or not (labels[i] == labels[0]):
            return False
    return True


def _join_same_samples(blocks: List[TensorBlock], properties: Labels) -> TensorBlock:
    """Join along properties blocks sharing the same samples, and the same
    gradient samples for every gradient: a concatenation of the arrays"""
    first = blocks[0]
    arrays: List[Array] = []
    for block in blocks:
        arrays.append(block.values)
    result = TensorBlock(
        values=_dispatch.concatenate(arrays, -1),
        samples=first.samples,
        components=first.components,
        properties=properties,
    )
    for parameter in first.gradients_list():
        gradient_samples: List[Labels] = []
        gradient_values: List[Array] = []
        for block in blocks:
            gradient = block.gradient(parameter)
            gradient_samples.append(gradient.samples)
            gradient_values.append(gradient.values)
        first_gradient = first.gradient(parameter)
        if _all_equal(gradient_samples):
            values = _dispatch.concatenate(gradient_values, -1)
            samples = first_gradient.samples
        else:
            # different gradient rows: the union of them, with zeros where a block
            # has no row
            union = _union_rows(gradient_samples)
            samples = Labels(first_gradient.samples.names, union[0])
            shape = (
                [len(samples)]
                + list(first_gradient.values.shape[1:-1])
                + [len(properties)]
            )
            values = _dispatch.zeros_like(first_gradient.values, shape)
            start = 0
            for i in range(len(blocks)):
                _dispatch.assign_columns(
                    values, union[i + 1], start, gradient_values[i]
                )
                start += len(blocks[i].properties)
        result.add_gradient(
            parameter,
            TensorBlock(
                values=values,
                samples=samples,
                components=first_gradient.components,
                properties=properties,
            ),
        )
    return result


def _join_properties(
    blocks: List[TensorBlock], add_dimension: Optional[str]
) -> TensorBlock:
    first = blocks[0]
    properties: List[Labels] = []
    samples: List[Labels] = []
    for block in blocks:
        properties.append(block.properties)
        samples.append(block.samples)
    new_properties = _joined_labels(properties, add_dimension, "join", "property")
    if _all_equal(samples):
        return _join_same_samples(blocks, new_properties)

    union = _union_rows(samples)
    new_samples = Labels(first.samples.names, union[0])
    values = _dispatch.zeros_like(
        first.values,
        [len(new_samples)] + list(first.values.shape[1:-1]) + [len(new_properties)],
    )
    start = 0
    starts: List[int] = []
    for i in range(len(blocks)):
        starts.append(start)
        _dispatch.assign_columns(values, union[i + 1], start, blocks[i].values)
        start += len(blocks[i].properties)

    result = TensorBlock(
        values=values,
        samples=new_samples,
        components=first.components,
        properties=new_properties,
    )
    for parameter in first.gradients_list():
        gradient_samples: List[Labels] = []
        for i in range(len(blocks)):
            gradient = blocks[i].gradient(parameter)
            rows = gradient.samples.values
            new_sample = _dispatch.take(
                union[i + 1], gradient.samples.column("sample"), 0
            )
            gradient_samples.append(
                Labels(
                    gradient.samples.names,
                    _dispatch.with_first_column(rows, new_sample),
                )
            )
        gradient_union = _union_rows(gradient_samples)
        first_gradient = first.gradient(parameter)
        shape = (
            [gradient_union[0].shape[0]]
            + list(first_gradient.values.shape[1:-1])
            + [len(new_properties)]
        )
        gradient_values = _dispatch.zeros_like(first_gradient.values, shape)
        for i in range(len(blocks)):
            _dispatch.assign_columns(
                gradient_values,
                gradient_union[i + 1],
                starts[i],
                blocks[i].gradient(parameter).values,
            )
        result.add_gradient(
            parameter,
            TensorBlock(
                values=gradient_values,
                samples=Labels(first_gradient.samples.names, gradient_union[0]),
                components=first_gradient.components,
                properties=new_properties,
            ),
        )
    return result


def join_blocks(
    blocks: List[TensorBlock], axis: str, add_dimension: Optional[str] = None
) -> TensorBlock:
    """Concatenate ``blocks`` along ``axis`` (``"samples"`` or
    ``"properties"``).

    Along samples, the blocks must have the same components and properties; the
    samples are concatenated (gradient rows follow). Along properties, the samples
    of the result are the union of the samples (in order of appearance), missing
    values being zero. With ``add_dimension``, a last dimension of that name holds
    the index of the source block; otherwise repeated entries raise an error.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((2, 1)), Labels.range("s", 2), [], Labels.range("p", 1))
    >>> joined = join_blocks([block, block], "samples", add_dimension="tensor")
    >>> joined.samples.values.tolist()
    [[0, 0], [1, 0], [0, 1], [1, 1]]
    """
    _check_axis(axis, "join_blocks")
    if len(blocks) == 0:
        raise ValueError("provide at least one TensorBlock to 'join_blocks'")
    for block in blocks:
        for parameter in block.gradients_list():
            if len(block.gradient(parameter).gradients_list()) != 0:
                raise NotImplementedError(
                    "gradients of gradients are not supported in 'join'"
                )
    _check_same(blocks, axis, "join")
    if axis == "samples":
        return _join_samples(blocks, add_dimension)
    return _join_properties(blocks, add_dimension)


def _union_in_order(first: Labels, values: Array) -> Tuple[Labels, List[int]]:
    """The distinct rows of ``values`` (whose first rows are ``first``), in order
    of first appearance, and the position of each row among them"""
    unique, inverse = _dispatch.unique_rows(values)
    groups = _dispatch.to_int_list(inverse)
    # rank of each group of equal rows, in order of first appearance
    rank: List[int] = []
    for _ in range(len(unique)):
        rank.append(-1)
    order: List[int] = []
    positions: List[int] = []
    for group in groups:
        if rank[group] < 0:
            rank[group] = len(order)
            order.append(group)
        positions.append(rank[group])
    if len(order) == len(first):
        # the first rows hold every distinct row
        return first, positions
    union = _dispatch.take(unique, _dispatch.index_like(order, unique), 0)
    return Labels(first.names, union), positions


def join(
    tensors: List[TensorMap],
    axis: str,
    different_keys: str = "error",
    add_dimension: Optional[str] = None,
) -> TensorMap:
    """Join maps block by block along ``axis`` (``"samples"`` or
    ``"properties"``), see :py:func:`join_blocks`.

    ``different_keys`` says what to do when the maps do not have the same keys:
    ``"error"`` raises, ``"intersection"`` keeps the keys present in every map,
    ``"union"`` keeps all keys, maps without a key contributing nothing to it.
    Keys come in the order of the first map (then the new ones, for ``"union"``).
    Joining a single map returns it (the same object). Joining along properties
    maps whose property names differ gives properties ``(joined_index,
    property)``: the index of the map and the position in its properties.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((2, 1)), Labels.range("s", 2), [], Labels.range("p", 1))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> join([tensor, tensor], "properties", add_dimension="tensor").block().shape
    (2, 2)
    """
    if not torch_jit_is_scripting():
        if not isinstance(tensors, (list, tuple)):
            raise TypeError(
                "`tensors` must be a list or a tuple of TensorMap, "
                f"not {type(tensors)} (in 'join')"
            )
        for tensor in tensors:
            check_type(tensor, TensorMap, "tensors", "join")
    _check_axis(axis, "join")
    if len(tensors) == 0:
        raise ValueError("provide at least one TensorMap to 'join'")
    if different_keys not in ["error", "intersection", "union"]:
        raise ValueError(
            f"'{different_keys}' is not a valid option for `different_keys`, expected "
            "'error', 'intersection' or 'union' (in 'join')"
        )
    if len(tensors) == 1:
        return tensors[0]

    # the union of all keys (in order of appearance), with the position in it of
    # each key of each map, from one pass over all the keys: the blocks to join
    # are then found without looking up every key in every map
    first_keys = tensors[0].keys
    all_keys: List[Array] = []
    for tensor in tensors:
        if tensor.keys.names != first_keys.names:
            raise NotEqualError(
                "inputs to 'join' should have the same keys, got keys names "
                f"{first_keys.names} and {tensor.keys.names}"
            )
        all_keys.append(tensor.keys.values)
    union, positions = _union_in_order(first_keys, _dispatch.concatenate(all_keys, 0))

    selected: List[List[TensorBlock]] = []
    for _ in range(len(union)):
        no_blocks: List[TensorBlock] = []
        selected.append(no_blocks)
    start = 0
    for tensor in tensors:
        for i in range(len(tensor.keys)):
            selected[positions[start + i]].append(tensor.block_by_id(i))
        start += len(tensor.keys)

    if different_keys == "union":
        keys = union
    else:
        # keys present in every map, which are the first map's keys when they are
        # all present: in the order of the first map
        kept: List[int] = []
        for i in range(len(union)):
            if len(selected[i]) == len(tensors):
                kept.append(i)
        if different_keys == "error":
            if len(kept) != len(union):
                raise NotEqualError(
                    "inputs to 'join' should have the same keys, use "
                    "`different_keys='intersection'` or 'union' to join them anyway"
                )
            keys = union
        elif len(kept) == len(first_keys):
            keys = first_keys
        else:
            keys = Labels(
                first_keys.names,
                _dispatch.take(
                    union.values, _dispatch.index_like(kept, union.values), 0
                ),
            )
        kept_blocks: List[List[TensorBlock]] = []
        for i in kept:
            kept_blocks.append(selected[i])
        selected = kept_blocks

    blocks: List[TensorBlock] = []
    for i in range(len(selected)):
        blocks.append(join_blocks(selected[i], axis, add_dimension))
    return TensorMap(keys, blocks)
