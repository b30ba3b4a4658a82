"""``TensorMap`` as a TorchScript class, with the TorchScript versions of
``keys_to_samples``, ``keys_to_properties`` and ``components_to_properties``
(eager Python uses metatensor-core's implementation, see ``_eager``)."""

from typing import Dict, List, Optional, Tuple, Union

import torch

from metatensor import _checks
from metatensor._printing import tensor_text

from . import _eager, _mts, _rows
from ._block import (
    TensorBlock,
    _check_arrays,
    _component_names,
    _device_or_none,
    _dtype_text,
    _labels_to,
    _raise,
    block_from_archive,
    decode_archive,
)
from ._jit import no_deprecation_warning
from ._labels import (
    Labels,
    LabelsEntry,
    paths_error,
)

# ==================================================================================== #
# row helpers on int32 tensors


def _with_moved(values: torch.Tensor, moved: torch.Tensor, first: bool) -> torch.Tensor:
    """``values`` with the 1-D ``moved`` repeated on every row, before (``first``)
    or after the existing columns"""
    repeated = moved.reshape(1, -1).expand(values.shape[0], moved.shape[0])
    if first:
        return torch.cat([repeated, values], 1)
    return torch.cat([values, repeated], 1)


def _same_labels(blocks: List[Labels]) -> bool:
    for labels in blocks:
        if labels != blocks[0]:
            return False
    return True


def _check_same_components(blocks: List[TensorBlock], function: str):
    for block in blocks:
        same = len(block.components) == len(blocks[0].components)
        if same:
            for i in range(len(block.components)):
                if block.components[i] != blocks[0].components[i]:
                    same = False
        if not same:
            raise RuntimeError(_checks.merge_components_error(function))


def _select_rows(values: torch.Tensor, rows: List[int]) -> torch.Tensor:
    return values.index_select(0, torch.tensor(rows, device=values.device))


def _index_of(names: List[str], name: str) -> int:
    for i in range(len(names)):
        if names[i] == name:
            return i
    return -1


# ==================================================================================== #
# keys_to_samples / keys_to_properties


def _names_to_move(
    keys: Labels, keys_to_move: Union[str, List[str], Labels], function: str
) -> Tuple[List[str], Optional[torch.Tensor]]:
    entries: Optional[torch.Tensor] = None
    if isinstance(keys_to_move, str):
        names = [keys_to_move]
    elif isinstance(keys_to_move, Labels):
        names = keys_to_move.names
        if len(keys_to_move) != 0:
            entries = keys_to_move.values
    else:
        names = keys_to_move
    message = _checks.names_to_move("keys_to_move", function, names, "key")
    if message is not None:
        raise ValueError(message)
    _raise(_checks.keys_to_move(names, keys.names, len(keys)))
    return names, entries


def _group_blocks(
    keys: Labels, names: List[str]
) -> Tuple[Labels, List[List[int]], torch.Tensor]:
    """The new keys, the positions of the blocks merged into each new key, and the
    moved key values (one row per block)"""
    keep: List[int] = []
    moved_columns: List[int] = []
    for i in range(len(keys.names)):
        if _index_of(names, keys.names[i]) < 0:
            keep.append(i)
    for name in names:
        moved_columns.append(_index_of(keys.names, name))
    moved = keys.values[:, moved_columns]

    if len(keep) == 0:
        new_keys = Labels(["_"], torch.zeros([1, 1], dtype=torch.int32), True)
        new_keys = new_keys.to(keys.values.device)
        group = torch.zeros([len(keys)], dtype=torch.int64)
    else:
        new_names: List[str] = []
        for i in keep:
            new_names.append(keys.names[i])
        unique, group = _rows.unique_rows_in_order(keys.values[:, keep])
        new_keys = Labels(new_names, unique, True)

    groups: List[List[int]] = []
    for _ in range(len(new_keys)):
        group_blocks: List[int] = []
        groups.append(group_blocks)
    group_list: List[int] = group.cpu().tolist()
    for block in range(len(group_list)):
        groups[group_list[block]].append(block)
    return new_keys, groups, moved


def _union_properties(blocks: List[TensorBlock]) -> Tuple[Labels, List[torch.Tensor]]:
    """Union of the properties of ``blocks`` (in order of first appearance), and
    the columns of each block's properties in it (empty when all blocks have the
    same properties)"""
    properties: List[Labels] = []
    for block in blocks:
        properties.append(block.properties)
    columns: List[torch.Tensor] = []
    if _same_labels(properties):
        return properties[0], columns
    values: List[torch.Tensor] = []
    for labels in properties:
        values.append(labels.values)
    unique, inverse = _rows.unique_rows_in_order(torch.cat(values))
    start = 0
    for labels in properties:
        columns.append(inverse[start : start + len(labels)])
        start += len(labels)
    return Labels(properties[0].names, unique, True), columns


def _merge_rows(
    arrays: List[torch.Tensor],
    position: torch.Tensor,
    columns: List[torch.Tensor],
    n_properties: int,
    fill: float,
) -> torch.Tensor:
    """Stack ``arrays`` along samples, rows going to ``position``, properties to
    ``columns`` (all of them when empty)"""
    if len(columns) != 0:
        expanded: List[torch.Tensor] = []
        for j in range(len(arrays)):
            shape = list(arrays[j].shape)
            shape[-1] = n_properties
            full = torch.full(
                shape, fill, dtype=arrays[j].dtype, device=arrays[j].device
            )
            expanded.append(full.index_copy(-1, columns[j], arrays[j]))
        arrays = expanded
    merged = torch.cat(arrays)
    return merged.index_select(0, _rows.inverse_permutation(position))


def _gradient_parts(
    blocks: List[TensorBlock], parameter: str, rows: List[torch.Tensor], operation: str
) -> Tuple[List[TensorBlock], List[torch.Tensor], List[torch.Tensor]]:
    """The gradients of ``parameter`` in ``blocks``, their samples with the first
    column sent through ``rows[j]`` (old row of block ``j`` -> new merged row), and
    their values"""
    gradients: List[TensorBlock] = []
    for block in blocks:
        gradient = block.gradient(parameter)
        if len(gradient.gradients_list()) != 0:
            raise NotImplementedError(
                operation
                + " does not support gradients of gradients (found in the '"
                + parameter
                + "' gradient)"
            )
        gradients.append(gradient)
    _check_same_components(gradients, operation)
    samples: List[torch.Tensor] = []
    arrays: List[torch.Tensor] = []
    for j in range(len(gradients)):
        array = gradients[j].samples.values.clone()
        array[:, 0] = rows[j][array[:, 0].to(torch.int64)].to(torch.int32)
        samples.append(array)
        arrays.append(gradients[j].values)
    return gradients, samples, arrays


def _split_rows(
    position: torch.Tensor, inverse: torch.Tensor, parts: List[torch.Tensor]
) -> List[torch.Tensor]:
    """Where each row of each of ``parts`` went, given the ``inverse`` of their
    concatenation in the unique rows and the ``position`` of those"""
    rows: List[torch.Tensor] = []
    start = 0
    for part in parts:
        rows.append(position[inverse[start : start + len(part)]])
        start += len(part)
    return rows


def _merge_samples(
    blocks: List[TensorBlock],
    moved: torch.Tensor,
    names: List[str],
    fill: float,
    sort: bool,
) -> TensorBlock:
    _check_same_components(blocks, "keys_to_samples")
    first = blocks[0]
    samples: List[torch.Tensor] = []
    starts: List[int] = [0]
    for j in range(len(blocks)):
        samples.append(_with_moved(blocks[j].samples.values, moved[j], False))
        starts.append(starts[j] + len(blocks[j]))
    merged, position = _rows.sort_plan(torch.cat(samples), sort)
    new_samples = Labels(first.samples.names + names, merged, True)

    properties, columns = _union_properties(blocks)
    arrays: List[torch.Tensor] = []
    for block in blocks:
        arrays.append(block.values)
    values = _merge_rows(arrays, position, columns, len(properties), fill)
    result = TensorBlock(values, new_samples, first.components, properties)

    rows: List[torch.Tensor] = []
    for j in range(len(blocks)):
        rows.append(position[starts[j] : starts[j + 1]])
    for parameter in first.gradients_list():
        gradients, gradient_samples, gradient_arrays = _gradient_parts(
            blocks, parameter, rows, "keys_to_samples"
        )
        merged_gradient, gradient_position = _rows.sort_plan(
            torch.cat(gradient_samples), sort
        )
        gradient_values = _merge_rows(
            gradient_arrays, gradient_position, columns, len(properties), 0.0
        )
        result.add_gradient(
            parameter,
            TensorBlock(
                gradient_values,
                Labels(gradients[0].samples.names, merged_gradient, True),
                gradients[0].components,
                properties,
            ),
        )
    return result


def _new_properties(
    blocks: List[TensorBlock],
    moved: torch.Tensor,
    names: List[str],
    entries: Optional[torch.Tensor],
) -> Tuple[Labels, List[int]]:
    """Merged properties (moved key values prepended to the old properties) and
    the first column of each block in them"""
    first = blocks[0].properties
    property_names = names + first.names
    starts: List[int] = []
    if entries is None:
        arrays: List[torch.Tensor] = []
        start = 0
        for j in range(len(blocks)):
            arrays.append(_with_moved(blocks[j].properties.values, moved[j], True))
            starts.append(start)
            start += len(blocks[j].properties)
        return Labels(property_names, torch.cat(arrays), True), starts

    for block in blocks:
        if block.properties != first:
            raise RuntimeError(_checks.merge_properties_error())
    entries = entries.to(first.values.device)
    n = len(first)
    merged = torch.cat(
        [
            entries.repeat_interleave(n, 0),
            first.values.repeat(entries.shape[0], 1),
        ],
        1,
    )
    positions: List[int] = _rows.positions(entries, moved).cpu().tolist()
    for j in range(len(positions)):
        if positions[j] < 0:
            values: List[int] = moved[j].to(torch.int64).cpu().tolist()
            raise RuntimeError(_checks.moved_entry_error(values))
        starts.append(positions[j] * n)
    return Labels(property_names, merged, True), starts


def _merge_columns(
    arrays: List[torch.Tensor],
    rows: List[torch.Tensor],
    starts: List[int],
    n_samples: int,
    n_properties: int,
    fill: float,
) -> torch.Tensor:
    """Place ``arrays`` side by side along properties: array ``j`` goes to the rows
    ``rows[j]`` and to the properties from ``starts[j]``"""
    first = arrays[0]
    shape = list(first.shape)
    shape[0] = n_samples
    shape[-1] = n_properties
    output = torch.full(shape, fill, dtype=first.dtype, device=first.device)
    for j in range(len(arrays)):
        target = output.narrow(-1, starts[j], arrays[j].shape[-1])
        target.index_copy_(0, rows[j], arrays[j])
    return output


def _merge_properties(
    blocks: List[TensorBlock],
    moved: torch.Tensor,
    names: List[str],
    entries: Optional[torch.Tensor],
    fill: float,
    sort: bool,
) -> TensorBlock:
    _check_same_components(blocks, "keys_to_properties")
    first = blocks[0]
    properties, starts = _new_properties(blocks, moved, names, entries)

    samples: List[Labels] = []
    for block in blocks:
        samples.append(block.samples)
    rows: List[torch.Tensor] = []
    if _same_labels(samples):
        merged, position = _rows.sort_plan(first.samples.values, sort)
        for _ in blocks:
            rows.append(position)
    else:
        values: List[torch.Tensor] = []
        for labels in samples:
            values.append(labels.values)
        unique, inverse = _rows.unique_rows_in_order(torch.cat(values))
        merged, position = _rows.sort_plan(unique, sort)
        rows = _split_rows(position, inverse, values)
    new_samples = Labels(first.samples.names, merged, True)

    arrays: List[torch.Tensor] = []
    for block in blocks:
        arrays.append(block.values)
    values = _merge_columns(
        arrays, rows, starts, len(new_samples), len(properties), fill
    )
    result = TensorBlock(values, new_samples, first.components, properties)

    for parameter in first.gradients_list():
        gradients, gradient_samples, gradient_arrays = _gradient_parts(
            blocks, parameter, rows, "keys_to_properties"
        )
        unique, inverse = _rows.unique_rows_in_order(torch.cat(gradient_samples))
        merged_gradient, gradient_position = _rows.sort_plan(unique, sort)
        gradient_rows = _split_rows(gradient_position, inverse, gradient_samples)
        gradient_values = _merge_columns(
            gradient_arrays,
            gradient_rows,
            starts,
            len(merged_gradient),
            len(properties),
            0.0,
        )
        result.add_gradient(
            parameter,
            TensorBlock(
                gradient_values,
                Labels(gradients[0].samples.names, merged_gradient, True),
                gradients[0].components,
                properties,
            ),
        )
    return result


# ==================================================================================== #
# components_to_properties


def _product_properties(components: List[Labels], old: Labels) -> Labels:
    """Properties for every combination of ``components`` and ``old`` properties,
    the first component varying slowest"""
    ranges: List[torch.Tensor] = []
    for component in components:
        ranges.append(torch.arange(len(component), device=old.values.device))
    ranges.append(torch.arange(len(old), device=old.values.device))
    grids = torch.meshgrid(ranges, indexing="ij")
    columns: List[torch.Tensor] = []
    names: List[str] = []
    for i in range(len(components)):
        columns.append(components[i].values[grids[i].reshape(-1), 0].reshape(-1, 1))
        names.append(components[i].names[0])
    columns.append(old.values[grids[-1].reshape(-1)])
    return Labels(names + old.names, torch.cat(columns, 1), True)


def _fold_components(
    values: torch.Tensor, components: List[Labels], moved: List[int], n_extra: int
) -> Tuple[torch.Tensor, List[Labels]]:
    """Fold the component axes ``moved`` (counted after ``n_extra`` leading
    gradient components) into the last axis"""
    n_components = len(components)
    moved_axes: List[int] = []
    for i in moved:
        moved_axes.append(1 + n_extra + i)
    kept_axes: List[int] = []
    for axis in range(1, n_components + 1):
        if axis not in moved_axes:
            kept_axes.append(axis)
    permuted = values.permute([0] + kept_axes + moved_axes + [n_components + 1])
    shape: List[int] = [permuted.shape[0]]
    kept: List[Labels] = []
    for axis in kept_axes:
        shape.append(values.shape[axis])
        kept.append(components[axis - 1])
    shape.append(-1)
    return permuted.reshape(shape), kept


def _components_to_properties(block: TensorBlock, dimensions: List[str]) -> TensorBlock:
    names = _component_names(block.components)
    _raise(_checks.components_to_move(dimensions, names))
    moved: List[int] = []
    moved_components: List[Labels] = []
    for name in dimensions:
        index = _index_of(names, name)
        moved.append(index)
        moved_components.append(block.components[index])
    properties = _product_properties(moved_components, block.properties)
    values, components = _fold_components(block.values, block.components, moved, 0)
    result = TensorBlock(values, block.samples, components, properties)
    # the gradients at any depth: pairs of blocks with their new version
    sources: List[TensorBlock] = [block]
    results: List[TensorBlock] = [result]
    index = 0
    while index < len(sources):
        source = sources[index]
        target = results[index]
        index += 1
        for parameter, gradient in source.gradients():
            n_extra = len(gradient.components) - len(block.components)
            gradient_values, gradient_components = _fold_components(
                gradient.values, gradient.components, moved, n_extra
            )
            target.add_gradient(
                parameter,
                TensorBlock(
                    gradient_values, gradient.samples, gradient_components, properties
                ),
            )
            sources.append(gradient)
            results.append(target.gradient(parameter))
    return result


# ==================================================================================== #
# checks of the constructor


def _names(block: TensorBlock) -> List[List[str]]:
    """The sample, component and property names of a block"""
    return [
        block.samples.names,
        _component_names(block.components),
        block.properties.names,
    ]


def _check_same_gradients(first: TensorBlock, block: TensorBlock):
    """Check that ``block`` has the same gradients as ``first``, with the same
    names (at any depth)"""
    firsts: List[TensorBlock] = [first]
    blocks: List[TensorBlock] = [block]
    wheres: List[str] = [""]
    index = 0
    while index < len(firsts):
        parameters = firsts[index].gradients_list()
        _raise(
            _checks.tensor_gradients(
                parameters, blocks[index].gradients_list(), wheres[index]
            )
        )
        for parameter in parameters:
            where = " in the '" + parameter + "' gradients"
            gradient = firsts[index].gradient(parameter)
            other = blocks[index].gradient(parameter)
            _raise(_checks.tensor_block_names(_names(gradient), _names(other), where))
            firsts.append(gradient)
            blocks.append(other)
            wheres.append(where)
        index += 1


def _check_blocks(keys: Labels, blocks: List[TensorBlock]):
    """The checks of the TensorMap constructor"""
    _raise(_checks.tensor_blocks_count(len(keys), len(blocks)))
    if len(blocks) == 0:
        return
    first = blocks[0]
    first_names = _names(first)
    keys_device = str(keys.values.device)
    for i in range(len(blocks)):
        block = blocks[i]
        if block.values.dtype != first.values.dtype:
            raise RuntimeError(
                _checks.tensor_dtypes_error(
                    _dtype_text(first.values), _dtype_text(block.values)
                )
            )
        _raise(_checks.tensor_device(keys_device, str(block.values.device)))
        if i != 0:
            _raise(_checks.tensor_block_names(first_names, _names(block), ""))
            _check_same_gradients(first, block)


def _read_map(
    buffer: torch.Tensor,
) -> Tuple[Labels, List[TensorBlock], Dict[str, str]]:
    """Keys, blocks and info of a TensorMap saved in ``buffer``"""
    arrays, labels, info, parameters = decode_archive(buffer, "keys.npy")
    keys = labels["keys.npy"]
    blocks: List[TensorBlock] = []
    for i in range(len(keys)):
        prefix = "blocks/" + str(i) + "/"
        blocks.append(block_from_archive(arrays, labels, parameters, prefix))
    return keys, blocks, info


def _selection_text(
    selection: Union[None, int, Labels, LabelsEntry, Dict[str, int]],
) -> str:
    if selection is None:
        return "None"
    elif isinstance(selection, int):
        return str(selection)
    elif isinstance(selection, LabelsEntry):
        return selection.print()
    elif isinstance(selection, Labels):
        return selection.print(4, 0)
    else:
        pairs: List[str] = []
        for name, value in selection.items():
            pairs.append(name + "=" + str(value))
        return "(" + ", ".join(pairs) + ")"


class TensorMap:
    """A collection of :py:class:`TensorBlock`, each identified by one entry of
    the ``keys``. All blocks share the same sample, component and property names,
    the same gradients, dtype and device (the device of the keys).

    :param keys: one entry for each block
    :param blocks: the blocks, in the order of ``keys`` (stored as given)
    """

    def __init__(self, keys: Labels, blocks: List[TensorBlock]):
        if not torch.jit.is_scripting():
            blocks = _eager.check_tensor_arguments(keys, blocks)
        _check_blocks(keys, blocks)
        self._keys = keys
        self._blocks = blocks
        # not `{}`: see the gradient lists in the TensorBlock constructor
        self._info: Dict[str, str] = {"": ""}
        self._info.clear()

    # ================================================================================ #
    # properties

    @property
    def keys(self) -> Labels:
        """The keys of the blocks"""
        return self._keys

    def __len__(self) -> int:
        return len(self._blocks)

    @property
    def sample_names(self) -> List[str]:
        """Names of the sample dimensions, shared by all blocks"""
        if len(self._blocks) == 0:
            return []
        return self._blocks[0].samples.names

    @property
    def component_names(self) -> List[str]:
        """Names of the component dimensions, shared by all blocks"""
        if len(self._blocks) == 0:
            return []
        return _component_names(self._blocks[0].components)

    @property
    def property_names(self) -> List[str]:
        """Names of the property dimensions, shared by all blocks"""
        if len(self._blocks) == 0:
            return []
        return self._blocks[0].properties.names

    @property
    def dtype(self) -> torch.dtype:
        """dtype of the blocks (the default dtype for a map without blocks)"""
        if len(self._blocks) == 0:
            return torch.empty(0).dtype
        return self._blocks[0].values.dtype

    @property
    def device(self) -> torch.device:
        """Device of the keys and of all the blocks"""
        return self._keys.values.device

    # ================================================================================ #
    # block access

    def block_by_id(self, index: int) -> TensorBlock:
        """The block at position ``index``"""
        if index < 0 or index >= len(self._blocks):
            raise IndexError(
                "block index out of bounds: we have "
                + str(len(self._blocks))
                + " blocks but the index is "
                + str(index)
            )
        return self._blocks[index]

    def blocks_by_id(self, indices: List[int]) -> List[TensorBlock]:
        """The blocks at the given positions"""
        blocks: List[TensorBlock] = []
        for index in indices:
            blocks.append(self.block_by_id(index))
        return blocks

    def _selected(
        self,
        selection: Union[None, int, List[int], Labels, LabelsEntry, Dict[str, int]],
    ) -> List[int]:
        """Positions of the blocks matching ``selection``"""
        if selection is None:
            return list(range(len(self._blocks)))
        elif isinstance(selection, int):
            return [selection]
        elif isinstance(selection, list):
            return selection
        elif isinstance(selection, Labels):
            positions = self._keys.select(selection)
        elif isinstance(selection, LabelsEntry):
            positions = self._keys.select(selection)
        else:
            names: List[str] = []
            values: List[int] = []
            for name, value in selection.items():
                names.append(name)
                values.append(value)
            if names == self._keys.names:
                position = self._keys.position(values)
                if position is None:
                    return []
                return [position]
            labels = Labels(names, torch.tensor([values], dtype=torch.int32), True)
            positions = self._keys.select(labels.to(self._keys.values.device))
        result: List[int] = positions.cpu().tolist()
        return result

    def block(
        self, selection: Union[None, int, Labels, LabelsEntry, Dict[str, int]] = None
    ) -> TensorBlock:
        """The single block matching ``selection``: an int position, or Labels, a
        LabelsEntry or a dict naming some key dimensions (in Python also keyword
        arguments). Raises if no block or more than one block matches."""
        if isinstance(selection, int):
            return self.block_by_id(selection)
        if len(self._blocks) == 0:
            raise ValueError("there is no block in this TensorMap")
        matching = self._selected(selection)
        if len(matching) == 0:
            raise ValueError(
                "could not find blocks matching the selection "
                + _selection_text(selection)
            )
        if len(matching) > 1:
            if selection is None:
                raise ValueError(
                    "there is more than one block in this TensorMap, provide a "
                    + "selection"
                )
            raise ValueError(
                "got more than one matching block for "
                + _selection_text(selection)
                + ", use the `blocks` function to select more than one block"
            )
        return self._blocks[matching[0]]

    def blocks(
        self,
        selection: Union[
            None, int, List[int], Labels, LabelsEntry, Dict[str, int]
        ] = None,
    ) -> List[TensorBlock]:
        """All blocks matching ``selection`` (see :py:meth:`block`; also a list of
        int positions), all the blocks without selection; ``[]`` when nothing
        matches"""
        if isinstance(selection, int):
            return [self.block_by_id(selection)]
        return self.blocks_by_id(self._selected(selection))

    def __getitem__(
        self, selection: Union[int, Labels, LabelsEntry, Dict[str, int]]
    ) -> TensorBlock:
        return self.block(selection)

    def items(self) -> List[Tuple[LabelsEntry, TensorBlock]]:
        """``(key, block)`` pairs"""
        result: List[Tuple[LabelsEntry, TensorBlock]] = []
        for i in range(len(self._blocks)):
            result.append((self._keys.entry(i), self._blocks[i]))
        return result

    # ================================================================================ #
    # moving metadata around

    def _with_blocks(self, keys: Labels, blocks: List[TensorBlock]) -> "TensorMap":
        tensor = TensorMap(keys, blocks)
        for name, value in self._info.items():
            tensor._info[name] = value
        return tensor

    def keys_to_samples(
        self,
        keys_to_move: Union[str, List[str], Labels],
        fill_value: float = 0.0,
        sort_samples: bool = True,
    ) -> "TensorMap":
        """Move the key dimensions ``keys_to_move`` (a str, list of str or Labels
        without entries) to the samples, merging the blocks sharing the other key
        values. The moved dimensions are appended to the sample names; properties
        missing from some merged blocks are filled with ``fill_value``."""
        if not torch.jit.is_scripting():
            return _eager.keys_to(
                self, "keys_to_samples", keys_to_move, fill_value, sort_samples
            )
        names, entries = _names_to_move(self._keys, keys_to_move, "keys_to_samples")
        if entries is not None:
            raise NotImplementedError(_checks.keys_to_samples_entries_error())
        new_keys, groups, moved = _group_blocks(self._keys, names)
        blocks: List[TensorBlock] = []
        for group in groups:
            merged: List[TensorBlock] = []
            for i in group:
                merged.append(self._blocks[i])
            blocks.append(
                _merge_samples(
                    merged, _select_rows(moved, group), names, fill_value, sort_samples
                )
            )
        return self._with_blocks(new_keys, blocks)

    def keys_to_properties(
        self,
        keys_to_move: Union[str, List[str], Labels],
        fill_value: float = 0.0,
        sort_samples: bool = True,
    ) -> "TensorMap":
        """Move the key dimensions ``keys_to_move`` (a str, list of str, or Labels,
        whose entries, if any, fix the full set of moved values) to the
        properties, merging the blocks sharing the other key values. The moved
        dimensions are prepended to the property names; samples missing from some
        merged blocks are filled with ``fill_value``."""
        if not torch.jit.is_scripting():
            return _eager.keys_to(
                self, "keys_to_properties", keys_to_move, fill_value, sort_samples
            )
        names, entries = _names_to_move(self._keys, keys_to_move, "keys_to_properties")
        new_keys, groups, moved = _group_blocks(self._keys, names)
        blocks: List[TensorBlock] = []
        for group in groups:
            merged: List[TensorBlock] = []
            for i in group:
                merged.append(self._blocks[i])
            blocks.append(
                _merge_properties(
                    merged,
                    _select_rows(moved, group),
                    names,
                    entries,
                    fill_value,
                    sort_samples,
                )
            )
        return self._with_blocks(new_keys, blocks)

    def components_to_properties(
        self, dimensions: Union[str, List[str]]
    ) -> "TensorMap":
        """Move the component dimensions ``dimensions`` to the properties; their
        names are prepended to the property names"""
        if isinstance(dimensions, str):
            dimensions = [dimensions]
        message = _checks.names_to_move(
            "dimensions", "components_to_properties", dimensions, "dimension"
        )
        if message is not None:
            raise ValueError(message)
        blocks: List[TensorBlock] = []
        for block in self._blocks:
            blocks.append(_components_to_properties(block, dimensions))
        return self._with_blocks(self._keys, blocks)

    # ================================================================================ #
    # info

    def set_info(self, key: str, value: str):
        """Set the global metadata ``key`` to ``value``"""
        self._info[key] = value

    def get_info(self, key: str) -> Optional[str]:
        """The global metadata ``key``, or ``None``"""
        if key in self._info:
            return self._info[key]
        return None

    def info(self) -> Dict[str, str]:
        """All the global metadata, as a new dict"""
        result: Dict[str, str] = {}
        for name, value in self._info.items():
            result[name] = value
        return result

    # ================================================================================ #
    # copies and conversions

    def copy(self, deep: bool = True) -> "TensorMap":
        """A copy of this map: with ``deep``, a ``clone`` of every tensor (which
        keeps autograd); otherwise new blocks sharing the tensors of this map"""
        blocks: List[TensorBlock] = []
        for block in self._blocks:
            blocks.append(block.copy(deep))
        return self._with_blocks(self._keys, blocks)

    def to(
        self,
        dtype: Optional[torch.dtype] = None,
        device: Optional[Union[torch.device, str]] = None,
        arrays: Optional[str] = None,
        non_blocking: bool = False,
    ) -> "TensorMap":
        """This map with every block converted to ``dtype`` and/or moved to
        ``device`` (with the keys); ``arrays`` can only be ``None`` or
        ``"torch"``. In Python, the dtype and device can also be given as two
        positional arguments in any order."""
        _check_arrays(arrays)
        target = _device_or_none(device)
        blocks: List[TensorBlock] = []
        for block in self._blocks:
            blocks.append(
                block.to(
                    dtype=dtype, device=target, arrays=arrays, non_blocking=non_blocking
                )
            )
        return self._with_blocks(_labels_to(self._keys, target, non_blocking), blocks)

    # ================================================================================ #
    # serialization and printing

    def save(self, path: str):
        """Save this map to ``path``; see :py:func:`metatensor.torch.save`"""
        if not torch.jit.is_scripting():
            return _eager.save(path, self)
        raise ValueError(paths_error())

    def save_buffer(self) -> torch.Tensor:
        """This map serialized in a 1-D uint8 tensor (the ``.mts`` format)"""
        if not torch.jit.is_scripting():
            return _eager.save_buffer(self)
        names: List[str] = ["keys.npy"]
        members: List[List[torch.Tensor]] = [
            _mts.npy_labels(self._keys.names, self._keys.values)
        ]
        for i in range(len(self._blocks)):
            self._blocks[i]._members("blocks/" + str(i) + "/", names, members)
        if len(self._info) != 0:
            names.append("info.json")
            members.append([_mts.info_json(self._info)])
        return _mts.write_zip(names, members)

    @staticmethod
    def load(path: str) -> "TensorMap":
        """Load a map saved with :py:meth:`TensorMap.save`"""
        if not torch.jit.is_scripting():
            return _eager.load(path)
        raise ValueError(paths_error())

    @staticmethod
    def load_buffer(buffer: torch.Tensor) -> "TensorMap":
        """Load a map from a buffer made by :py:meth:`TensorMap.save_buffer`"""
        if not torch.jit.is_scripting():
            return _eager.load_buffer(buffer)
        keys, blocks, info = _read_map(buffer)
        tensor = TensorMap(keys, blocks)
        tensor._info = info
        return tensor

    def __getstate__(self) -> torch.Tensor:
        return self.save_buffer()

    def __setstate__(self, state: torch.Tensor):
        if not torch.jit.is_scripting():
            _eager.set_state(self, _eager.load_buffer(state))
            return
        keys, blocks, info = _read_map(state)
        _check_blocks(keys, blocks)
        self._keys = keys
        self._blocks = blocks
        self._info = info

    def print(self, max_keys: int) -> str:
        """Text summary listing the shape of the blocks for at most ``max_keys``
        keys (all if negative)"""
        keys: List[List[int]] = self._keys.values.to(torch.int64).cpu().tolist()
        shapes: List[List[int]] = []
        for block in self._blocks:
            shapes.append(block.shape)
        return tensor_text(self._keys.names, keys, shapes, max_keys)

    def __repr__(self) -> str:
        return self.print(-1)

    def __str__(self) -> str:
        return self.print(7)


# compiled here: TorchScript resolves the names used by a class in this frame
with no_deprecation_warning():
    torch.jit.script(TensorMap)
