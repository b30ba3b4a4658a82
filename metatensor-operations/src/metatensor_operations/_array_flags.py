"""Operations changing how the arrays of a TensorMap are held, not their values:
``detach``, ``requires_grad``, ``make_contiguous``, ``is_contiguous`` and
``remove_gradients``."""

from typing import List, Optional

from . import _dispatch
from ._backend import TensorBlock, TensorMap
from ._dispatch import Array


def _convert_array(values: Array, mode: str, flag: bool) -> Array:
    if mode == "share":
        return values
    elif mode == "copy":
        return _dispatch.copy(values)
    elif mode == "detach":
        return _dispatch.detach(values)
    elif mode == "requires_grad":
        return _dispatch.requires_grad(_dispatch.detach(values), flag)
    return _dispatch.make_contiguous(values)


def _convert_block(block: TensorBlock, mode: str, flag: bool) -> TensorBlock:
    """A new block whose values and gradients are the same arrays
    (``mode="share"``), copies (``"copy"``), detached (``"detach"``), have their
    autograd flag set to ``flag`` (``"requires_grad"``) or are made contiguous
    (``"contiguous"``)"""
    result = TensorBlock(
        values=_convert_array(block.values, mode, flag),
        samples=block.samples,
        components=block.components,
        properties=block.properties,
    )
    for parameter in block.gradients_list():
        gradient = block.gradient(parameter)
        if len(gradient.gradients_list()) != 0:
            raise NotImplementedError(
                "gradients of gradients are not supported in this operation"
            )
        result.add_gradient(
            parameter,
            TensorBlock(
                values=_convert_array(gradient.values, mode, flag),
                samples=gradient.samples,
                components=gradient.components,
                properties=gradient.properties,
            ),
        )
    return result


def _convert(tensor: TensorMap, mode: str, flag: bool) -> TensorMap:
    blocks: List[TensorBlock] = []
    for block in tensor.blocks():
        blocks.append(_convert_block(block, mode, flag))
    return TensorMap(tensor.keys, blocks)


def detach(tensor: TensorMap) -> TensorMap:
    """A map sharing the data of ``tensor`` without autograd history (torch),
    gradients included; numpy data is unchanged

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 1)), Labels.range("s", 1), [], Labels.range("p", 1))
    >>> detach(TensorMap(Labels.single(), [block])).block().values
    array([[1.]])
    """
    return _convert(tensor, "detach", False)


def detach_block(block: TensorBlock) -> TensorBlock:
    """Block version of :py:func:`detach`"""
    return _convert_block(block, "detach", False)


def requires_grad(tensor: TensorMap, requires_grad: bool = True) -> TensorMap:
    """A map sharing the data of ``tensor`` (detached from previous autograd
    history) whose values and gradients have the torch ``requires_grad`` flag set;
    numpy data can only use ``requires_grad=False``

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 1)), Labels.range("s", 1), [], Labels.range("p", 1))
    >>> len(requires_grad(TensorMap(Labels.single(), [block]), False))
    1
    """
    return _convert(tensor, "requires_grad", requires_grad)


def requires_grad_block(block: TensorBlock, requires_grad: bool = True) -> TensorBlock:
    """Block version of :py:func:`requires_grad`"""
    return _convert_block(block, "requires_grad", requires_grad)


def make_contiguous(tensor: TensorMap) -> TensorMap:
    """A map with every array (values and gradients) in contiguous memory

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> values = np.ones((2, 2)).T
    >>> block = TensorBlock(values, Labels.range("s", 2), [], Labels.range("p", 2))
    >>> tensor = make_contiguous(TensorMap(Labels.single(), [block]))
    >>> is_contiguous(tensor)
    True
    """
    return _convert(tensor, "contiguous", False)


def make_contiguous_block(block: TensorBlock) -> TensorBlock:
    """Block version of :py:func:`make_contiguous`"""
    return _convert_block(block, "contiguous", False)


def is_contiguous_block(block: TensorBlock) -> bool:
    """Whether the values and all gradients of ``block`` are contiguous"""
    stack: List[TensorBlock] = [block]
    while len(stack) != 0:
        current = stack.pop()
        if not _dispatch.is_contiguous(current.values):
            return False
        for parameter in current.gradients_list():
            stack.append(current.gradient(parameter))
    return True


def is_contiguous(tensor: TensorMap) -> bool:
    """Whether every array of ``tensor`` (values and gradients) is contiguous

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> values = np.ones((2, 2)).T
    >>> block = TensorBlock(values, Labels.range("s", 2), [], Labels.range("p", 2))
    >>> is_contiguous(TensorMap(Labels.single(), [block]))
    False
    """
    for block in tensor.blocks():
        if not is_contiguous_block(block):
            return False
    return True


def remove_gradients_block(
    block: TensorBlock, remove: Optional[List[str]] = None
) -> TensorBlock:
    """A block sharing the arrays of ``block``, without the gradients listed in
    ``remove`` (all of them by default)"""
    result = TensorBlock(
        values=block.values,
        samples=block.samples,
        components=block.components,
        properties=block.properties,
    )
    if remove is None:
        return result
    for parameter in block.gradients_list():
        if parameter not in remove:
            gradient = block.gradient(parameter)
            if len(gradient.gradients_list()) != 0:
                raise NotImplementedError(
                    "gradients of gradients are not supported in 'remove_gradients'"
                )
            result.add_gradient(
                parameter,
                TensorBlock(
                    values=gradient.values,
                    samples=gradient.samples,
                    components=gradient.components,
                    properties=gradient.properties,
                ),
            )
    return result


def remove_gradients(
    tensor: TensorMap, remove: Optional[List[str]] = None
) -> TensorMap:
    """A map sharing the arrays of ``tensor`` without the gradients listed in
    ``remove`` (all of them by default)

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 1)), Labels.range("s", 1), [], Labels.range("p", 1))
    >>> remove_gradients(TensorMap(Labels.single(), [block])).block().gradients_list()
    []
    """
    blocks: List[TensorBlock] = []
    for block in tensor.blocks():
        blocks.append(remove_gradients_block(block, remove))
    return TensorMap(tensor.keys, blocks)
