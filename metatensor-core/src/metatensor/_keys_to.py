"""Moving key dimensions to samples or properties (merging the blocks that end up
with the same key), and component dimensions to properties.

The index plans (which rows and columns of the merged arrays each block fills) are
computed on the label values with the compiled primitives of ``_index.impl``;
the arrays themselves go through ``_dispatch``, so numpy and torch data follow the
same path.
"""

import numpy as np

from . import _checks, _dispatch, _index
from ._block import _BlockData
from ._errors import MetatensorError
from ._labels import Labels


def _names_to_move(tensor, keys_to_move, function: str):
    """Normalise ``keys_to_move`` to a tuple of names, and the Labels entries given
    with them (or None)"""
    entries = None
    if isinstance(keys_to_move, str):
        names = (keys_to_move,)
    elif isinstance(keys_to_move, Labels):
        names = keys_to_move._names
        if len(keys_to_move) != 0:
            entries = keys_to_move._array
    else:
        names = tuple(keys_to_move)
        for name in names:
            if not isinstance(name, str):
                raise TypeError(
                    f"`keys_to_move` in {function} must be a str, a list of str or "
                    f"Labels, got {name!r} in the list"
                )
    message = _checks.names_to_move("keys_to_move", function, names, "key")
    if message is not None:
        raise ValueError(message)
    message = _checks.keys_to_move(names, tensor.keys._names, len(tensor))
    if message is not None:
        raise MetatensorError(message)
    return names, entries


def _group_blocks(keys: Labels, names: tuple):
    """Group the blocks by the values of the keys that stay.

    :return: the new keys, the groups (list of arrays of block positions, in block
        order) and the moved key values (int32 array, one row per block)
    """
    keep = [i for i, name in enumerate(keys._names) if name not in names]
    moved = np.ascontiguousarray(keys._array[:, [keys._names.index(n) for n in names]])
    if keep:
        remaining = np.ascontiguousarray(keys._array[:, keep])
        unique, (group_of_block,) = _index.impl.unique_rows([remaining])
        new_names = tuple(keys._names[i] for i in keep)
        new_keys = Labels._unchecked(new_names, unique, like=keys)
    else:
        group_of_block = np.zeros(len(keys), dtype=np.int64)
        new_keys = Labels._unchecked(
            ("_",), np.zeros((1, 1), dtype=np.int32), like=keys
        )

    order = np.argsort(group_of_block, kind="stable")
    bounds = np.cumsum(np.bincount(group_of_block, minlength=len(new_keys)))[:-1]
    return new_keys, np.split(order, bounds), moved


def _check_components(blocks: list, function: str):
    first = blocks[0].components
    for block in blocks[1:]:
        if block.components is not first and block.components != first:
            raise MetatensorError(_checks.merge_components_error(function))


def _check_no_nested_gradients(blocks: list, function: str):
    for block in blocks:
        for parameter, gradient in block.gradients.items():
            if gradient.gradients:
                raise NotImplementedError(
                    f"{function} does not support gradients of gradients (found in "
                    f"the '{parameter}' gradient)"
                )


def _union_properties(blocks: list):
    """Union of the properties of ``blocks``, and the column of the union for each
    property of each block (None when all blocks have the same properties)"""
    first = blocks[0].properties
    if all(b.properties is first or b.properties == first for b in blocks):
        return first, None
    unique, inverses = _index.impl.unique_rows([b.properties._array for b in blocks])
    return Labels._unchecked(first._names, unique, like=first), inverses


def _merged_gradient(first: _BlockData, values, samples: np.ndarray, properties):
    """Gradient data of a merged block, from the merged values and samples"""
    samples = Labels._unchecked(first.samples._names, samples, like=first.samples)
    return _BlockData(values, samples, first.components, properties, {})


def _sort_plan(merged: np.ndarray, sort: bool):
    """Sorted rows of ``merged`` and, for each original row, its new position
    (None when the order does not change)"""
    if not sort or _index.impl.is_sorted(merged):
        return merged, None
    order = _index.impl.argsort_rows(merged)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    return np.ascontiguousarray(merged[order]), position


def _scatter(arrays, rows, columns, shape, fill_value, like):
    """Merge ``arrays`` into a new array of ``shape``, array ``j`` going to
    ``rows[j]`` and ``columns[j]`` (slices or int64 arrays)"""
    out = _dispatch.full(shape, fill_value, like=like)
    for array, row, column in zip(arrays, rows, columns):
        _dispatch.assign(out, row, column, array)
    return out


# ================================================================================ #
# keys_to_samples


def keys_to_samples(tensor, keys_to_move, fill_value, sort_samples: bool):
    names, entries = _names_to_move(tensor, keys_to_move, "keys_to_samples")
    if entries is not None:
        raise NotImplementedError(_checks.keys_to_samples_entries_error())
    new_keys, groups, moved = _group_blocks(tensor.keys, names)
    blocks = []
    for group in groups:
        datas = [tensor._blocks[i] for i in group]
        blocks.append(
            _merge_samples(datas, moved[group], names, fill_value, sort_samples)
        )
    return type(tensor)._unchecked(new_keys, blocks, tensor._info)


def _merge_samples(blocks: list, moved: np.ndarray, names: tuple, fill, sort: bool):
    _check_components(blocks, "keys_to_samples")
    _check_no_nested_gradients(blocks, "keys_to_samples")
    first = blocks[0]

    counts = [len(b.samples) for b in blocks]
    starts = np.concatenate([[0], np.cumsum(counts)])
    merged = np.concatenate(
        [
            np.concatenate([b.samples._array, np.broadcast_to(m, (n, len(m)))], axis=1)
            for b, m, n in zip(blocks, moved, counts)
        ]
    ).astype(np.int32, copy=False)
    merged, position = _sort_plan(merged, sort)
    samples = Labels._unchecked(
        first.samples._names + names, merged, like=first.samples
    )

    properties, columns = _union_properties(blocks)
    values = _merge_rows(
        [b.values for b in blocks], position, starts, columns, len(properties), fill
    )

    gradients = {}
    for parameter, first_gradient in first.gradients.items():
        gradient_blocks = [b.gradients[parameter] for b in blocks]
        _check_components(gradient_blocks, "keys_to_samples")
        gradient_samples = []
        for j, gradient in enumerate(gradient_blocks):
            array = gradient.samples._array.copy()
            array[:, 0] += starts[j]
            if position is not None:
                array[:, 0] = position[array[:, 0]]
            gradient_samples.append(array)
        counts = [len(g) for g in gradient_samples]
        gradient_starts = np.concatenate([[0], np.cumsum(counts)])
        merged_gradient, gradient_position = _sort_plan(
            np.concatenate(gradient_samples), sort
        )
        gradient_values = _merge_rows(
            [g.values for g in gradient_blocks],
            gradient_position,
            gradient_starts,
            columns,
            len(properties),
            0,
        )
        gradients[parameter] = _merged_gradient(
            first_gradient, gradient_values, merged_gradient, properties
        )

    return _BlockData(values, samples, first.components, properties, gradients)


def _merge_rows(arrays, position, starts, columns, n_properties, fill):
    """Stack ``arrays`` along the first axis, rows going to ``position`` (or in
    order when None), properties to ``columns`` (or all when None)"""
    if columns is None:
        merged = _dispatch.concatenate(arrays, axis=0)
        if position is None:
            return merged
        order = np.empty(len(position), dtype=np.int64)
        order[position] = np.arange(len(position))
        return _dispatch.take_rows(merged, order)

    rows = []
    for j in range(len(arrays)):
        if position is None:
            rows.append(slice(int(starts[j]), int(starts[j + 1])))
        else:
            rows.append(position[starts[j] : starts[j + 1]])
    first = arrays[0]
    shape = (int(starts[-1]), *first.shape[1:-1], n_properties)
    return _scatter(arrays, rows, columns, shape, fill, like=first)


# ================================================================================ #
# keys_to_properties


def keys_to_properties(tensor, keys_to_move, fill_value, sort_samples: bool):
    names, entries = _names_to_move(tensor, keys_to_move, "keys_to_properties")
    new_keys, groups, moved = _group_blocks(tensor.keys, names)
    entries_index = None
    if entries is not None:
        entries_index = _index.impl.LabelsIndex(entries, True)
    blocks = []
    for group in groups:
        datas = [tensor._blocks[i] for i in group]
        blocks.append(
            _merge_properties(
                datas, moved[group], names, entries_index, fill_value, sort_samples
            )
        )
    return type(tensor)._unchecked(new_keys, blocks, tensor._info)


def _new_properties(blocks, moved, names, entries_index):
    """Merged properties (moved key values prepended to the old properties) and the
    columns of each block in them"""
    first = blocks[0].properties
    property_names = names + first._names
    if entries_index is None:
        arrays = []
        columns = []
        start = 0
        for block, m in zip(blocks, moved):
            n = len(block.properties)
            arrays.append(
                np.concatenate(
                    [np.broadcast_to(m, (n, len(m))), block.properties._array], axis=1
                )
            )
            columns.append(slice(start, start + n))
            start += n
        # unique: the moved values differ between the blocks of a group
        merged = np.concatenate(arrays).astype(np.int32, copy=False)
        return Labels._unchecked(property_names, merged, like=first), columns

    for block in blocks[1:]:
        if block.properties is not first and block.properties != first:
            raise MetatensorError(_checks.merge_properties_error())
    entries = entries_index.values
    n = len(first)
    merged = np.concatenate(
        [np.repeat(entries, n, axis=0), np.tile(first._array, (len(entries), 1))],
        axis=1,
    ).astype(np.int32, copy=False)
    positions = entries_index.positions(np.ascontiguousarray(moved))
    columns = []
    for m, position in zip(moved, positions):
        if position < 0:
            raise MetatensorError(_checks.moved_entry_error(m.tolist()))
        columns.append(slice(int(position) * n, (int(position) + 1) * n))
    return Labels._unchecked(property_names, merged, like=first), columns


def _merge_properties(blocks, moved, names, entries_index, fill, sort: bool):
    _check_components(blocks, "keys_to_properties")
    _check_no_nested_gradients(blocks, "keys_to_properties")
    first = blocks[0]
    properties, columns = _new_properties(blocks, moved, names, entries_index)

    same_samples = all(
        b.samples is first.samples or b.samples == first.samples for b in blocks
    )
    if same_samples:
        merged, position = _sort_plan(first.samples._array, sort)
        rows = [position if position is not None else slice(None)] * len(blocks)
    else:
        merged, inverses = _index.impl.unique_rows([b.samples._array for b in blocks])
        merged, position = _sort_plan(merged, sort)
        rows = inverses if position is None else [position[i] for i in inverses]
    samples = Labels._unchecked(first.samples._names, merged, like=first.samples)

    arrays = [b.values for b in blocks]
    if same_samples and position is None and entries_index is None:
        # every block fills every sample, and the columns follow each other
        values = _dispatch.concatenate(arrays, axis=-1)
    else:
        values = _merge_columns(
            arrays, rows, columns, len(samples), len(properties), fill
        )

    gradients = {}
    for parameter, first_gradient in first.gradients.items():
        gradient_blocks = [b.gradients[parameter] for b in blocks]
        _check_components(gradient_blocks, "keys_to_properties")
        gradient_samples = []
        for gradient, row in zip(gradient_blocks, rows):
            array = gradient.samples._array
            if not isinstance(row, slice):
                array = array.copy()
                array[:, 0] = row[array[:, 0]]
            gradient_samples.append(array)
        merged_gradient, gradient_rows = _index.impl.unique_rows(gradient_samples)
        merged_gradient, gradient_position = _sort_plan(merged_gradient, sort)
        if gradient_position is not None:
            gradient_rows = [gradient_position[r] for r in gradient_rows]
        gradient_values = _merge_columns(
            [g.values for g in gradient_blocks],
            gradient_rows,
            columns,
            len(merged_gradient),
            len(properties),
            0,
        )
        gradients[parameter] = _merged_gradient(
            first_gradient, gradient_values, merged_gradient, properties
        )

    return _BlockData(values, samples, first.components, properties, gradients)


def _merge_columns(arrays, rows, columns, n_samples, n_properties, fill):
    """Place ``arrays`` side by side along the last axis: array ``j`` goes to
    ``rows[j]`` and ``columns[j]``"""
    first = arrays[0]
    shape = (n_samples, *first.shape[1:-1], n_properties)
    return _scatter(arrays, rows, columns, shape, fill, like=first)


# ================================================================================ #
# components_to_properties


def components_to_properties(tensor, dimensions):
    if isinstance(dimensions, str):
        dimensions = (dimensions,)
    dimensions = tuple(dimensions)
    message = _checks.names_to_move(
        "dimensions", "components_to_properties", dimensions, "dimension"
    )
    if message is not None:
        raise ValueError(message)

    blocks = []
    cache = {}
    for data in tensor._blocks:
        component_names = [c._names[0] for c in data.components]
        message = _checks.components_to_move(dimensions, component_names)
        if message is not None:
            raise MetatensorError(message)
        moved = [component_names.index(name) for name in dimensions]
        # same as moving the dimensions one after the other, each placed first
        moved.reverse()
        properties = _product_properties(data, moved, cache)
        blocks.append(_move_components(data, moved, 0, properties))
    return type(tensor)._unchecked(tensor.keys, blocks, tensor._info)


def _product_properties(data: _BlockData, moved: list, cache: dict) -> Labels:
    """Properties for every combination of the moved components and the old
    properties, the first moved component varying slowest"""
    components = [data.components[i] for i in moved]
    old = data.properties
    key = (old._names, old._array.tobytes(), *(c._array.tobytes() for c in components))
    cached = cache.get(key)
    if cached is not None:
        return cached

    sizes = [len(c) for c in components] + [len(old)]
    grids = np.indices(sizes).reshape(len(sizes), -1)
    columns = [c._array[grids[i], 0] for i, c in enumerate(components)]
    array = np.column_stack(columns + [old._array[grids[-1]]]).astype(np.int32)
    names = tuple(c._names[0] for c in components) + old._names
    properties = Labels._unchecked(names, np.ascontiguousarray(array), like=old)
    cache[key] = properties
    return properties


def _move_components(data: _BlockData, moved: list, n_extra: int, properties):
    """Fold the components at positions ``moved`` (counted after ``n_extra``
    gradient-specific components) into the last axis"""
    n_components = len(data.components)
    moved_axes = [1 + n_extra + i for i in moved]
    kept_axes = [a for a in range(1, n_components + 1) if a not in moved_axes]
    values = _dispatch.permute(
        data.values, [0, *kept_axes, *moved_axes, n_components + 1]
    )
    shape = [values.shape[0], *(values.shape[a] for a in range(1, len(kept_axes) + 1))]
    values = values.reshape(*shape, -1)

    components = tuple(data.components[a - 1] for a in kept_axes)
    gradients = {
        parameter: _move_components(
            gradient,
            moved,
            len(gradient.components) - (n_components - n_extra),
            properties,
        )
        for parameter, gradient in data.gradients.items()
    }
    return _BlockData(values, data.samples, components, properties, gradients)
