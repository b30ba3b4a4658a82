"""``add``: sum of two TensorMap, or of a TensorMap and a scalar"""

from typing import List, Union

from . import _dispatch
from ._backend import TensorBlock, TensorMap, torch_jit_is_scripting
from ._checks import checks_enabled
from ._utils import (
    NotEqualError,
    _check_blocks_impl,
    _check_same_gradients_impl,
    _check_same_keys_raise,
)


def _check_no_nested_gradients(block: TensorBlock, function: str):
    for parameter in block.gradients_list():
        if len(block.gradient(parameter).gradients_list()) != 0:
            raise NotImplementedError(
                f"gradients of gradients are not supported in '{function}'"
            )


def _add_block_block(first: TensorBlock, second: TensorBlock) -> TensorBlock:
    result = TensorBlock(
        values=first.values + second.values,
        samples=first.samples,
        components=first.components,
        properties=first.properties,
    )
    for parameter in first.gradients_list():
        gradient_1 = first.gradient(parameter)
        gradient_2 = second.gradient(parameter)
        result.add_gradient(
            parameter,
            TensorBlock(
                values=gradient_1.values + gradient_2.values,
                samples=gradient_1.samples,
                components=gradient_1.components,
                properties=gradient_1.properties,
            ),
        )
    return result


def _add_block_constant(block: TensorBlock, constant: float) -> TensorBlock:
    result = TensorBlock(
        values=block.values + constant,
        samples=block.samples,
        components=block.components,
        properties=block.properties,
    )
    for parameter in block.gradients_list():
        gradient = block.gradient(parameter)
        # the derivative of a constant is zero: gradients are unchanged
        result.add_gradient(
            parameter,
            TensorBlock(
                values=_dispatch.copy(gradient.values),
                samples=gradient.samples,
                components=gradient.components,
                properties=gradient.properties,
            ),
        )
    return result


def add(A: TensorMap, B: Union[float, int, TensorMap]) -> TensorMap:
    """Sum of ``A`` and ``B``, block by block.

    ``B`` is either a scalar, added to every value of ``A`` (gradients are then
    unchanged), or a TensorMap with the same metadata as ``A`` (same keys, and for
    each key the same samples, components, properties and gradients), whose values
    and gradients are added to those of ``A``.

    :param A: first TensorMap
    :param B: second TensorMap, or a scalar
    :return: a new TensorMap with the sum

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     np.array([[1.0, 2.0]]), Labels.range("s", 1), [], Labels.range("p", 2)
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> add(tensor, 1.5).block().values
    array([[2.5, 3.5]])
    """
    if not torch_jit_is_scripting():
        if not isinstance(A, TensorMap):
            raise TypeError(f"`A` must be a TensorMap, got {type(A).__name__}")

    blocks: List[TensorBlock] = []
    if isinstance(B, TensorMap):
        if checks_enabled():
            _check_same_keys_raise(A, B, "add")
        for i in range(len(A.keys)):
            first = A.block_by_id(i)
            position = B.keys.position(A.keys.entry(i))
            if position is None:
                raise NotEqualError("inputs to 'add' should have the same keys")
            second = B.block_by_id(position)
            _dispatch.check_same_backend(first.values, second.values, "add")
            if checks_enabled():
                message = _check_blocks_impl(
                    first, second, "add", ["samples", "components", "properties"]
                )
                if message == "":
                    message = _check_same_gradients_impl(
                        first, second, "add", ["samples", "components", "properties"]
                    )
                if message != "":
                    raise NotEqualError(message)
            _check_no_nested_gradients(first, "add")
            blocks.append(_add_block_block(first, second))
    else:
        if not torch_jit_is_scripting():
            if isinstance(B, bool) or not hasattr(B, "__float__"):
                raise TypeError(
                    f"`B` must be a TensorMap or a scalar, got {type(B).__name__}"
                )
        constant = float(B)
        for block in A.blocks():
            _check_no_nested_gradients(block, "add")
            blocks.append(_add_block_constant(block, constant))
    return TensorMap(A.keys, blocks)
