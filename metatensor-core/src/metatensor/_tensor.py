"""``TensorMap``: a sparse collection of blocks, each identified by a key."""

import numbers

import numpy as np

from . import _checks, _dispatch, _keys_to
from ._block import (
    TensorBlock,
    _BlockData,
    _convert_data,
    _copy_data,
    _operations,
    _parse_to_args,
)
from ._errors import MetatensorError
from ._labels import Labels, LabelsEntry, _reduce_with_buffer
from ._printing import tensor_text


def _check_same_structure(
    first: _BlockData, first_names: list, block: _BlockData, where: str
):
    """Check that two blocks have the same metadata names (``first_names`` are the
    ones of ``first``, see :py:func:`_names`), recursively through gradients"""
    message = _checks.tensor_block_names(
        first_names, _names(block), where
    ) or _checks.tensor_gradients(list(first.gradients), list(block.gradients), where)
    if message is not None:
        raise MetatensorError(message)
    for parameter, gradient in block.gradients.items():
        first_gradient = first.gradients[parameter]
        _check_same_structure(
            first_gradient,
            _names(first_gradient),
            gradient,
            f" in the '{parameter}' gradients",
        )


def _names(block: _BlockData) -> list:
    """The sample, component and property names of a block"""
    return [block.samples._names, _component_names(block), block.properties._names]


def _component_names(block: _BlockData) -> list:
    return [c._names[0] for c in block.components]


class TensorMap:
    """A collection of :py:class:`TensorBlock`, each identified by one entry of the
    ``keys``. All blocks share the same sample, component and property names, the
    same gradients, dtype and device.

    The blocks are moved inside the map: the block objects passed here can no
    longer be used afterwards (views from another map are copied instead). Blocks
    taken out of a map with :py:meth:`block` or :py:meth:`blocks` are views.

    :param keys: one entry for each block
    :param blocks: the blocks, in the order of ``keys``

    >>> import numpy as np
    >>> block = TensorBlock(
    ...     values=np.ones((2, 1)),
    ...     samples=Labels.range("system", 2),
    ...     components=[],
    ...     properties=Labels.range("energy", 1),
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> len(tensor), tensor.sample_names
    (1, ['system'])
    """

    __slots__ = ("_keys", "_blocks", "_info", "__weakref__")

    def __init__(self, keys: Labels, blocks):
        if not isinstance(keys, Labels):
            raise TypeError(f"`keys` must be metatensor Labels, not {type(keys)}")
        blocks = list(blocks)
        message = _checks.tensor_blocks_count(len(keys), len(blocks))
        if message is not None:
            raise MetatensorError(message)

        datas = []
        for i, block in enumerate(blocks):
            if not isinstance(block, TensorBlock):
                raise TypeError(
                    "`blocks` elements must be metatensor TensorBlock, not "
                    f"{type(block)} (at index {i})"
                )
            datas.append(block._get())
        if len(set(map(id, datas))) != len(datas):
            raise MetatensorError("the same block can not be used twice in a TensorMap")
        _check_blocks(keys, datas)

        for i, block in enumerate(blocks):
            if block._parent is None:
                block._data = None
            else:
                # views stay valid in their parent: store a copy
                datas[i] = _copy_data(datas[i], deep=True)

        self._keys = keys
        self._blocks = datas
        self._info = {}

    @classmethod
    def _unchecked(cls, keys: Labels, blocks: list, info: dict) -> "TensorMap":
        """A map over trusted block data (list of ``_BlockData``)"""
        tensor = object.__new__(cls)
        tensor._keys = keys
        tensor._blocks = blocks
        tensor._info = dict(info)
        return tensor

    # ============================================================================ #
    # properties

    @property
    def keys(self) -> Labels:
        """The keys of the blocks"""
        return self._keys

    def __len__(self) -> int:
        return len(self._blocks)

    def __iter__(self):
        for data in self._blocks:
            yield TensorBlock._wrap(data, parent=self)

    @property
    def sample_names(self) -> list:
        """Names of the sample dimensions, shared by all blocks"""
        return list(self._blocks[0].samples._names) if self._blocks else []

    @property
    def component_names(self) -> list:
        """Names of the component dimensions, shared by all blocks"""
        return _component_names(self._blocks[0]) if self._blocks else []

    @property
    def property_names(self) -> list:
        """Names of the property dimensions, shared by all blocks"""
        return list(self._blocks[0].properties._names) if self._blocks else []

    @property
    def dtype(self):
        """dtype of all the blocks (``None`` for a map without blocks)"""
        return self._blocks[0].values.dtype if self._blocks else None

    @property
    def device(self):
        """Device of the keys and of all the blocks"""
        return self._keys.device

    @property
    def is_view(self) -> bool:
        """Always ``False``: maps are never borrowed"""
        return False

    # ============================================================================ #
    # block access

    def block_by_id(self, index: int) -> TensorBlock:
        """The block at position ``index``, as a view"""
        if not isinstance(index, numbers.Integral) or isinstance(index, bool):
            raise TypeError(f"`index` must be an integer, got {type(index).__name__}")
        if index < 0 or index >= len(self._blocks):
            raise IndexError(
                f"block index {index} is out of bounds for a TensorMap with "
                f"{len(self._blocks)} blocks"
            )
        return TensorBlock._wrap(self._blocks[index], parent=self)

    def blocks_by_id(self, indices) -> list:
        """The blocks at the given positions, as views"""
        return [self.block_by_id(i) for i in indices]

    def _selected(self, selection, kwargs) -> list:
        """Positions of the blocks matching a selection given as Labels,
        LabelsEntry, dict or keyword arguments"""
        if kwargs:
            if selection is not None:
                raise TypeError(
                    "the selection can be given either as an argument or as keyword "
                    "arguments, not both"
                )
            selection = kwargs
        if selection is None:
            return list(range(len(self._blocks)))

        if isinstance(selection, dict):
            names = tuple(selection)
            values = tuple(selection.values())
            for name, value in zip(names, values):
                if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                    raise TypeError(
                        f"the values in a block selection must be integers, got "
                        f"{value!r} for '{name}'"
                    )
            if names == self._keys._names:
                position = self._keys._get_index().position(values)
                return [] if position is None else [position]
            selection = Labels(names, np.array([values], dtype=np.int64).reshape(1, -1))
        elif not isinstance(selection, (Labels, LabelsEntry)):
            raise TypeError(
                "block selection must be an int, Labels, LabelsEntry or a dict, "
                f"got {type(selection).__name__}"
            )
        return [int(i) for i in _dispatch.to_numpy(self._keys.select(selection))]

    def _describe_selection(self, selection, kwargs) -> str:
        if kwargs:
            selection = kwargs
        if isinstance(selection, dict):
            return "(" + ", ".join(f"{k}={v}" for k, v in selection.items()) + ")"
        if isinstance(selection, LabelsEntry):
            return selection.print()
        if isinstance(selection, Labels):
            return selection.print(4, indent=0)
        return repr(selection)

    def block(self, selection=None, **kwargs) -> TensorBlock:
        """The single block matching ``selection`` (an int position, Labels,
        LabelsEntry, dict or keyword arguments naming some key dimensions), as a
        view. Raises if no block or more than one block matches."""
        if isinstance(selection, numbers.Integral) and not isinstance(selection, bool):
            if kwargs:
                raise TypeError("can not use keyword arguments with a block index")
            return self.block_by_id(selection)
        if len(self._blocks) == 0:
            raise ValueError("there are no blocks in this TensorMap")

        matching = self._selected(selection, kwargs)
        if len(matching) == 0:
            raise ValueError(
                "couldn't find any block matching "
                f"{self._describe_selection(selection, kwargs)}"
            )
        if len(matching) > 1:
            raise ValueError(
                "more than one block matched "
                f"{self._describe_selection(selection, kwargs)}, use `TensorMap.blocks` "
                "to get all of them"
            )
        return TensorBlock._wrap(self._blocks[matching[0]], parent=self)

    def blocks(self, selection=None, **kwargs) -> list:
        """All blocks matching ``selection`` (see :py:meth:`block`), as views; all the
        blocks when there is no selection. Raises if a selection matches nothing,
        unless this TensorMap has no blocks at all."""
        if isinstance(selection, numbers.Integral) and not isinstance(selection, bool):
            return [self.block_by_id(selection)]
        matching = self._selected(selection, kwargs)
        if len(matching) == 0 and self._blocks and (selection is not None or kwargs):
            raise ValueError(
                "couldn't find any block matching "
                f"{self._describe_selection(selection, kwargs)}"
            )
        return [TensorBlock._wrap(self._blocks[i], parent=self) for i in matching]

    def __getitem__(self, selection) -> TensorBlock:
        return self.block(selection)

    def items(self) -> list:
        """``(key, block)`` pairs, with the key as a :py:class:`LabelsEntry`"""
        return list(zip(self._keys, self))

    # ============================================================================ #
    # moving metadata around

    def keys_to_samples(self, keys_to_move, *, fill_value=0.0, sort_samples=True):
        """Move the key dimensions ``keys_to_move`` (a str, list of str or Labels
        without entries) to the samples, merging the blocks that share the other
        key values. The moved dimensions are appended to the sample names; missing
        properties in merged blocks are filled with ``fill_value`` (the gradients
        with zero)."""
        return _keys_to.keys_to_samples(self, keys_to_move, fill_value, sort_samples)

    def keys_to_properties(self, keys_to_move, *, fill_value=0.0, sort_samples=True):
        """Move the key dimensions ``keys_to_move`` (a str, list of str, or Labels,
        optionally with entries fixing the full set of values) to the properties,
        merging the blocks that share the other key values. The moved dimensions
        are prepended to the property names; samples missing from a merged block
        are filled with ``fill_value`` (the gradients with zero)."""
        return _keys_to.keys_to_properties(self, keys_to_move, fill_value, sort_samples)

    def components_to_properties(self, dimensions) -> "TensorMap":
        """Move the component dimensions ``dimensions`` (a str or list of str) to
        the properties, one after the other: each moved dimension becomes the first
        property dimension, so ``["a", "b"]`` gives properties ``["b", "a", ...]``"""
        return _keys_to.components_to_properties(self, dimensions)

    # ============================================================================ #
    # copies and conversions

    def copy(self, deep: bool = True) -> "TensorMap":
        """A new map: with ``deep=True`` every array is copied, with ``deep=False``
        the arrays are shared"""
        blocks = [_copy_data(data, deep) for data in self._blocks]
        return TensorMap._unchecked(self._keys, blocks, self._info)

    def __copy__(self) -> "TensorMap":
        return self.copy(deep=False)

    def __deepcopy__(self, memo) -> "TensorMap":
        return self.copy(deep=True)

    def to(self, *args, dtype=None, device=None, arrays=None, non_blocking=False):
        """A new map with every block (and the keys) converted to another ``dtype``,
        ``device`` or backend (``arrays`` is ``"numpy"`` or ``"torch"``); positional
        arguments can be a dtype or a device. The info is kept."""
        dtype, device = _parse_to_args(args, dtype, device, "TensorMap.to")
        blocks = [
            _convert_data(data, dtype, device, arrays, non_blocking)
            for data in self._blocks
        ]
        keys_device = device
        keys_arrays = arrays
        if blocks:
            keys_device = _dispatch.device(blocks[0].values)
            if arrays is None and str(keys_device) != "cpu":
                keys_arrays = "torch"
        keys = self._keys.to(device=keys_device, arrays=keys_arrays)
        return TensorMap._unchecked(keys, blocks, self._info)

    # ============================================================================ #
    # global information

    def set_info(self, key: str, value: str):
        """Set a global ``key: value`` string pair, saved with the map"""
        if not isinstance(key, str):
            raise TypeError(f"info keys must be str, got {type(key).__name__}")
        if not isinstance(value, str):
            raise TypeError(f"info values must be str, got {type(value).__name__}")
        self._info[key] = value

    def get_info(self, key: str):
        """The info value for ``key``, or None if it is not set (an empty string
        value reads back as ``""``; upstream returns None for it)"""
        return self._info.get(key)

    def info(self) -> dict:
        """A copy of all the global info"""
        return dict(self._info)

    # ============================================================================ #
    # serialization

    def save(self, file, use_numpy: bool = False):
        """Save this map to ``file``; see :py:func:`metatensor.io.save`"""
        from .io import save

        save(file, self, use_numpy=use_numpy)

    def save_buffer(self, use_numpy: bool = False) -> memoryview:
        """Serialize this map to an in-memory buffer"""
        from .io import save_buffer

        return save_buffer(self, use_numpy=use_numpy)

    @staticmethod
    def load(file, use_numpy: bool = False) -> "TensorMap":
        """Load a map saved with :py:meth:`TensorMap.save`"""
        from .io import load

        return load(file, use_numpy=use_numpy)

    @staticmethod
    def load_buffer(buffer, use_numpy: bool = False) -> "TensorMap":
        """Load a map from a buffer made by :py:meth:`TensorMap.save_buffer`"""
        from .io import load_buffer

        return load_buffer(buffer, use_numpy=use_numpy)

    def __reduce_ex__(self, protocol):
        from .io import load_buffer

        return _reduce_with_buffer(load_buffer, self.save_buffer(), protocol)

    # ============================================================================ #
    # printing

    def print(self, max_keys: int) -> str:
        """Text summary listing the shape of the blocks for at most ``max_keys``
        keys (all if negative)"""
        return tensor_text(
            list(self._keys._names),
            self._keys._array.tolist(),
            [list(block.values.shape) for block in self._blocks],
            max_keys,
        )

    def __repr__(self) -> str:
        return self.print(-1)

    def __str__(self) -> str:
        return self.print(7)

    # ============================================================================ #
    # operators, implemented by metatensor-operations

    def __eq__(self, other):
        return _operations().equal(self, other)

    def __ne__(self, other):
        return not _operations().equal(self, other)

    __hash__ = None

    def __add__(self, other):
        return _operations().add(self, other)

    def __sub__(self, other):
        return _operations().subtract(self, other)

    def __mul__(self, other):
        return _operations().multiply(self, other)

    def __truediv__(self, other):
        return _operations().divide(self, other)

    def __pow__(self, other):
        return _operations().pow(self, other)

    def __matmul__(self, other):
        return _operations().dot(self, other)

    def __neg__(self):
        return _operations().multiply(self, -1)

    def __pos__(self):
        return self


def _check_blocks(keys: Labels, blocks: list):
    """Check that the blocks of a map are consistent with each other and the keys"""
    if not blocks:
        return
    first = blocks[0]
    dtype = first.values.dtype
    backend = _dispatch.backend(first.values)
    first_names = _names(first)
    keys_device = str(keys.device)
    for block in blocks:
        if _dispatch.backend(block.values) != backend:
            raise MetatensorError(
                "invalid parameter: invalid tensor map: got blocks with different "
                f"origins, at least ('python.{backend}') and "
                f"('python.{_dispatch.backend(block.values)}') were detected"
            )
        if block.values.dtype != dtype:
            raise MetatensorError(
                _checks.tensor_dtypes_error(
                    _dispatch.dtype_name(dtype),
                    _dispatch.dtype_name(block.values.dtype),
                )
            )
        message = _checks.tensor_device(
            keys_device, str(_dispatch.device(block.values))
        )
        if message is not None:
            raise MetatensorError(message)
        if block is not first:
            _check_same_structure(first, first_names, block, "")
