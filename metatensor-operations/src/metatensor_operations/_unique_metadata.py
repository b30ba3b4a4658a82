"""``unique_metadata``: the distinct values of some dimensions of the samples or
properties of a TensorMap."""

from typing import List, Optional, Union

from . import _dispatch
from ._backend import Labels, TensorBlock, TensorMap, torch_jit_is_scripting
from ._dispatch import Array
from ._utils import check_type


def _check_arguments(
    axis: str, names: Union[str, List[str]], gradient: Optional[str], function: str
):
    """Eager-only type checks of the arguments"""
    if not isinstance(axis, str):
        raise TypeError(f"`axis` must be a string, not {type(axis)} (in '{function}')")
    if not isinstance(names, (str, list, tuple)):
        raise TypeError(
            f"`names` must be a list of strings, not {type(names)} (in '{function}')"
        )
    if not isinstance(names, str):
        for name in names:
            if not isinstance(name, str):
                raise TypeError(
                    f"`names` elements must be a strings, not {type(name)} "
                    f"(in '{function}')"
                )
    if gradient is not None and not isinstance(gradient, str):
        raise TypeError(
            f"`gradient` must be a string, not {type(gradient)} (in '{function}')"
        )


def _columns(labels: Labels, names: List[str]) -> Array:
    all_names = labels.names
    columns: List[int] = []
    for name in names:
        if name not in all_names:
            raise ValueError(
                f"'{name}' not found in the dimensions of these Labels, expected some "
                f"of {all_names} (in 'unique_metadata')"
            )
        columns.append(all_names.index(name))
    return _dispatch.select_columns(labels.values, columns)


def _labels_of(block: TensorBlock, axis: str, gradient: Optional[str]) -> Labels:
    if axis != "samples" and axis != "properties":
        raise ValueError(
            "`axis` must be either 'samples' or 'properties', "
            f"not '{axis}' (in 'unique_metadata')"
        )
    if gradient is not None:
        block = block.gradient(gradient)
    if axis == "samples":
        return block.samples
    return block.properties


def unique_metadata_block(
    block: TensorBlock,
    axis: str,
    names: Union[str, List[str]],
    gradient: Optional[str] = None,
) -> Labels:
    """The distinct values (sorted) of the dimensions ``names`` of the samples or
    properties (``axis``) of ``block``, or of its ``gradient``

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> samples = Labels(["system", "atom"], np.array([[0, 0], [0, 1], [2, 0]]))
    >>> block = TensorBlock(np.ones((3, 1)), samples, [], Labels.range("p", 1))
    >>> unique_metadata_block(block, "samples", "system").values.tolist()
    [[0], [2]]
    """
    if not torch_jit_is_scripting():
        check_type(block, TensorBlock, "block", "unique_metadata_block")
        _check_arguments(axis, names, gradient, "unique_metadata_block")
        names = list(names) if isinstance(names, tuple) else names
    if isinstance(names, str):
        names = [names]
    labels = _labels_of(block, axis, gradient)
    unique, _ = _dispatch.unique_rows(_columns(labels, names))
    return Labels(names, unique)


def unique_metadata(
    tensor: TensorMap,
    axis: str,
    names: Union[str, List[str]],
    gradient: Optional[str] = None,
) -> Labels:
    """The distinct values (sorted) of the dimensions ``names`` of the samples or
    properties (``axis``) over every block of ``tensor`` (or of their
    ``gradient``)

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> blocks = [
    ...     TensorBlock(
    ...         np.ones((1, 1)),
    ...         Labels(["system"], np.array([[system]])),
    ...         [],
    ...         Labels.range("p", 1),
    ...     )
    ...     for system in (3, 1)
    ... ]
    >>> tensor = TensorMap(Labels.range("k", 2), blocks)
    >>> unique_metadata(tensor, "samples", "system").values.tolist()
    [[1], [3]]
    """
    if not torch_jit_is_scripting():
        check_type(tensor, TensorMap, "tensor", "unique_metadata")
        _check_arguments(axis, names, gradient, "unique_metadata")
        names = list(names) if isinstance(names, tuple) else names
    if isinstance(names, str):
        names = [names]
    arrays: List[Array] = []
    for block in tensor.blocks():
        arrays.append(_columns(_labels_of(block, axis, gradient), names))
    if len(arrays) == 0:
        return Labels(
            names, _dispatch.int_array_like([], tensor.keys.values, len(names))
        )
    unique, _ = _dispatch.unique_rows(_dispatch.concatenate(arrays, 0))
    return Labels(names, unique)
