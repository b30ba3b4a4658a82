"""``dot``: contraction of two TensorMap over their properties."""

from typing import List

from . import _dispatch
from ._backend import TensorBlock, TensorMap, torch_jit_is_scripting
from ._checks import checks_enabled
from ._utils import NotEqualError, _check_same_keys_raise, check_type


def dot(tensor_1: TensorMap, tensor_2: TensorMap) -> TensorMap:
    """Block-wise product ``tensor_1 @ tensor_2.T`` over the properties.

    Each block of ``tensor_2`` must have the same properties as the block with the
    same key in ``tensor_1``, no components and no gradients. The result takes its
    samples and components from ``tensor_1`` and its properties from the samples of
    ``tensor_2``; the gradients of ``tensor_1`` are contracted the same way.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     np.array([[1.0, 2.0]]), Labels.range("s", 1), [], Labels.range("p", 2)
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> dot(tensor, tensor).block().values
    array([[5.]])
    """
    if not torch_jit_is_scripting():
        check_type(tensor_1, TensorMap, "tensor_1", "dot")
        check_type(tensor_2, TensorMap, "tensor_2", "dot")
    if checks_enabled():
        _check_same_keys_raise(tensor_1, tensor_2, "dot")
    blocks: List[TensorBlock] = []
    for i in range(len(tensor_1.keys)):
        block_1 = tensor_1.block_by_id(i)
        position = tensor_2.keys.position(tensor_1.keys.entry(i))
        if position is None:
            raise NotEqualError("inputs to 'dot' should have the same keys")
        block_2 = tensor_2.block_by_id(position)
        _dispatch.check_same_backend(block_1.values, block_2.values, "dot")
        if block_1.properties != block_2.properties:
            raise NotEqualError("inputs to 'dot' should have the same properties")
        if len(block_2.components) != 0:
            raise ValueError("the second input of 'dot' can not have components")
        if len(block_2.gradients_list()) != 0:
            raise ValueError("the second input of 'dot' can not have gradients")
        matrix = block_2.values
        result = TensorBlock(
            values=_dispatch.dot(block_1.values, matrix),
            samples=block_1.samples,
            components=block_1.components,
            properties=block_2.samples,
        )
        for parameter in block_1.gradients_list():
            gradient = block_1.gradient(parameter)
            if len(gradient.gradients_list()) != 0:
                raise NotImplementedError(
                    "gradients of gradients are not supported in 'dot'"
                )
            result.add_gradient(
                parameter,
                TensorBlock(
                    values=_dispatch.dot(gradient.values, matrix),
                    samples=gradient.samples,
                    components=gradient.components,
                    properties=block_2.samples,
                ),
            )
        blocks.append(result)
    return TensorMap(tensor_1.keys, blocks)
