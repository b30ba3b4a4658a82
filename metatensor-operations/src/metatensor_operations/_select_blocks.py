"""Selecting whole blocks of a TensorMap: ``drop_blocks``, ``filter_blocks`` and
``drop_empty_blocks``."""

from typing import List

from . import _dispatch
from ._array_flags import _convert_block
from ._backend import Labels, TensorBlock, TensorMap


def _keep(tensor: TensorMap, positions: List[int], copy: bool) -> TensorMap:
    """The blocks at ``positions``, in this order"""
    keys = tensor.keys
    rows: List[List[int]] = []
    blocks: List[TensorBlock] = []
    for position in positions:
        rows.append(_dispatch.to_int_list(keys.entry(position).values))
        mode = "copy" if copy else "share"
        blocks.append(_convert_block(tensor.block_by_id(position), mode, False))
    values = _dispatch.int_array_like(rows, keys.values, len(keys.names))
    return TensorMap(Labels(keys.names, values), blocks)


def drop_blocks(tensor: TensorMap, keys: Labels, copy: bool = False) -> TensorMap:
    """A map without the blocks whose key matches one of ``keys`` (whose names can
    be a subset of the key names). Arrays are shared unless ``copy``.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> blocks = [
    ...     TensorBlock(np.ones((1, 1)), Labels.range("s", 1), [], Labels.range("p", 1))
    ...     for _ in range(3)
    ... ]
    >>> tensor = TensorMap(Labels.range("k", 3), blocks)
    >>> drop_blocks(tensor, Labels(["k"], np.array([[1]]))).keys.values.tolist()
    [[0], [2]]
    """
    dropped: List[bool] = []
    for _ in range(len(tensor.keys)):
        dropped.append(False)
    for position in _dispatch.to_int_list(tensor.keys.select(keys)):
        dropped[position] = True
    positions: List[int] = []
    for i in range(len(dropped)):
        if not dropped[i]:
            positions.append(i)
    return _keep(tensor, positions, copy)


def filter_blocks(tensor: TensorMap, keys: Labels, copy: bool = False) -> TensorMap:
    """A map with only the blocks whose key matches one of ``keys``, in the order
    of ``keys`` when they have the same names as the keys of ``tensor``, in the
    order of ``tensor`` otherwise. Arrays are shared unless ``copy``.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> blocks = [
    ...     TensorBlock(np.ones((1, 1)), Labels.range("s", 1), [], Labels.range("p", 1))
    ...     for _ in range(3)
    ... ]
    >>> tensor = TensorMap(Labels.range("k", 3), blocks)
    >>> filter_blocks(tensor, Labels(["k"], np.array([[2], [0]]))).keys.values.tolist()
    [[2], [0]]
    """
    return _keep(tensor, _dispatch.to_int_list(tensor.keys.select(keys)), copy)


def drop_empty_blocks(tensor: TensorMap, copy: bool = False) -> TensorMap:
    """A map without the blocks that have no values (an axis of size zero)

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> blocks = [
    ...     TensorBlock(np.ones((n, 1)), Labels.range("s", n), [], Labels.range("p", 1))
    ...     for n in (0, 2)
    ... ]
    >>> tensor = TensorMap(Labels.range("k", 2), blocks)
    >>> drop_empty_blocks(tensor).keys.values.tolist()
    [[1]]
    """
    positions: List[int] = []
    for i in range(len(tensor.keys)):
        if _dispatch.size(tensor.block_by_id(i).values) != 0:
            positions.append(i)
    return _keep(tensor, positions, copy)
