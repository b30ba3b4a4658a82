"""Element-wise math on TensorMap: ``add``, ``subtract``, ``multiply``, ``divide``,
``pow`` and ``abs``, with the gradients following the sum, product, quotient and
chain rules."""

import numbers
from typing import List, Optional, Union

from . import _dispatch
from ._backend import TensorBlock, TensorMap, torch_jit_is_scripting
from ._checks import checks_enabled
from ._utils import (
    NotEqualError,
    _check_blocks_impl,
    _check_same_gradients_impl,
    _check_same_keys_raise,
    check_type,
)


def _check_no_nested_gradients(block: TensorBlock, function: str):
    for parameter in block.gradients_list():
        if len(block.gradient(parameter).gradients_list()) != 0:
            raise NotImplementedError(
                f"gradients of gradients are not supported in '{function}'"
            )


def _check_tensor(A: TensorMap, name: str, function: str):
    if not torch_jit_is_scripting():
        check_type(A, TensorMap, name, function)


def _is_scalar(value) -> bool:
    """Whether ``value`` is a real Python or numpy scalar (not a bool, not an
    array)"""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_scalar(B: Union[float, int, TensorMap], function: str):
    if not torch_jit_is_scripting():
        if not _is_scalar(B):
            raise TypeError(
                "`B` must be a metatensor TensorMap or a scalar value, "
                f"not {type(B)} (in '{function}')"
            )


def _new_block(values, like: TensorBlock) -> TensorBlock:
    """A block with ``values`` and the metadata of ``like``"""
    return TensorBlock(
        values=values,
        samples=like.samples,
        components=like.components,
        properties=like.properties,
    )


def _n_extra(gradient: TensorBlock, block: TensorBlock) -> int:
    """Number of gradient-specific components"""
    return len(gradient.components) - len(block.components)


def _block_block(
    first: TensorBlock, second: TensorBlock, operation: str
) -> TensorBlock:
    """``first <operation> second`` on two blocks with the same metadata"""
    a = first.values
    b = second.values
    if operation == "add":
        result = _new_block(a + b, first)
    elif operation == "subtract":
        result = _new_block(a - b, first)
    elif operation == "multiply":
        result = _new_block(a * b, first)
    else:
        result = _new_block(a / b, first)

    for parameter in first.gradients_list():
        gradient_1 = first.gradient(parameter)
        gradient_2 = second.gradient(parameter)
        g_1 = gradient_1.values
        g_2 = gradient_2.values
        if operation == "add":
            values = g_1 + g_2
        elif operation == "subtract":
            values = g_1 - g_2
        else:
            sample = gradient_1.samples.column("sample")
            n_extra = _n_extra(gradient_1, first)
            a_rows = _dispatch.rows_for_gradient(a, sample, n_extra)
            b_rows = _dispatch.rows_for_gradient(b, sample, n_extra)
            if operation == "multiply":
                values = g_1 * b_rows + a_rows * g_2
            else:
                values = g_1 / b_rows - a_rows * g_2 / (b_rows * b_rows)
        result.add_gradient(parameter, _new_block(values, gradient_1))
    return result


def _block_scalar(block: TensorBlock, constant: float, operation: str) -> TensorBlock:
    """``block <operation> constant``"""
    a = block.values
    if operation == "add":
        result = _new_block(a + constant, block)
    elif operation == "subtract":
        result = _new_block(a - constant, block)
    elif operation == "multiply":
        result = _new_block(a * constant, block)
    else:
        result = _new_block(a / constant, block)

    for parameter in block.gradients_list():
        gradient = block.gradient(parameter)
        if operation == "multiply":
            values = gradient.values * constant
        elif operation == "divide":
            values = gradient.values / constant
        else:
            # the derivative of a constant is zero: gradients are unchanged
            values = _dispatch.copy(gradient.values)
        result.add_gradient(parameter, _new_block(values, gradient))
    return result


def _binary(A: TensorMap, B: Union[float, int, TensorMap], operation: str) -> TensorMap:
    _check_tensor(A, "A", operation)
    blocks: List[TensorBlock] = []
    if isinstance(B, TensorMap):
        if checks_enabled():
            _check_same_keys_raise(A, B, operation)
        # the blocks of B in the order of A's keys (same keys in the same order in
        # most cases)
        same_order = A.keys == B.keys
        for i in range(len(A.keys)):
            first = A.block_by_id(i)
            position: Optional[int] = i
            if not same_order:
                position = B.keys.position(A.keys.entry(i))
            if position is None:
                raise NotEqualError(
                    f"inputs to '{operation}' should have the same keys"
                )
            second = B.block_by_id(position)
            _dispatch.check_same_backend(first.values, second.values, operation)
            if checks_enabled():
                axes = ["samples", "components", "properties"]
                message = _check_blocks_impl(first, second, operation, axes)
                if message != "":
                    # again, to say where
                    where = f" for the block at key {A.keys.entry(i).print()}"
                    message = _check_blocks_impl(first, second, operation, axes, where)
                if message == "":
                    message = _check_same_gradients_impl(
                        first,
                        second,
                        operation,
                        ["samples", "components", "properties"],
                    )
                if message != "":
                    raise NotEqualError(message)
            _check_no_nested_gradients(first, operation)
            blocks.append(_block_block(first, second, operation))
    else:
        _check_scalar(B, operation)
        constant = float(B)
        for block in A.blocks():
            _check_no_nested_gradients(block, operation)
            blocks.append(_block_scalar(block, constant, operation))
    return TensorMap(A.keys, blocks)


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
    return _binary(A, B, "add")


def subtract(A: TensorMap, B: Union[float, int, TensorMap]) -> TensorMap:
    """Difference ``A - B``, block by block; ``B`` is a scalar or a TensorMap with
    the same metadata as ``A`` (see :py:func:`add`).

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     np.array([[1.0, 2.0]]), Labels.range("s", 1), [], Labels.range("p", 2)
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> subtract(tensor, 1.0).block().values
    array([[0., 1.]])
    """
    return _binary(A, B, "subtract")


def multiply(A: TensorMap, B: Union[float, int, TensorMap]) -> TensorMap:
    """Element-wise product ``A * B``; ``B`` is a scalar or a TensorMap with the
    same metadata as ``A``. Gradients follow the product rule:

    .. math::

        \\nabla (A B) = (\\nabla A) B + A (\\nabla B)

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     np.array([[1.0, 2.0]]), Labels.range("s", 1), [], Labels.range("p", 2)
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> multiply(tensor, tensor).block().values
    array([[1., 4.]])
    """
    return _binary(A, B, "multiply")


def divide(A: TensorMap, B: Union[float, int, TensorMap]) -> TensorMap:
    """Element-wise quotient ``A / B``; ``B`` is a scalar or a TensorMap with the
    same metadata as ``A``. Gradients follow the quotient rule:

    .. math::

        \\nabla (A / B) = (\\nabla A) / B - A (\\nabla B) / B^2

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     np.array([[1.0, 2.0]]), Labels.range("s", 1), [], Labels.range("p", 2)
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> divide(tensor, 2).block().values
    array([[0.5, 1. ]])
    """
    return _binary(A, B, "divide")


def pow(A: TensorMap, B: Union[float, int]) -> TensorMap:
    """Element-wise power ``A ** B`` for a scalar ``B``. Gradients follow the chain
    rule:

    .. math::

        \\nabla (A^B) = B A^{B - 1} \\nabla A

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     np.array([[1.0, 2.0]]), Labels.range("s", 1), [], Labels.range("p", 2)
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> pow(tensor, 3).block().values
    array([[1., 8.]])
    """
    _check_tensor(A, "A", "pow")
    if not torch_jit_is_scripting():
        if not _is_scalar(B):
            raise TypeError(f"`B` must be a scalar value, not {type(B)} (in 'pow')")
    exponent = float(B)
    blocks: List[TensorBlock] = []
    for block in A.blocks():
        _check_no_nested_gradients(block, "pow")
        a = block.values
        result = _new_block(a**exponent, block)
        for parameter in block.gradients_list():
            gradient = block.gradient(parameter)
            rows = _dispatch.rows_for_gradient(
                a, gradient.samples.column("sample"), _n_extra(gradient, block)
            )
            values = exponent * rows ** (exponent - 1.0) * gradient.values
            result.add_gradient(parameter, _new_block(values, gradient))
        blocks.append(result)
    return TensorMap(A.keys, blocks)


def abs(A: TensorMap) -> TensorMap:
    """Element-wise absolute value ``|A|``. Gradients are multiplied by the sign of
    the values; the gradient at zero is zero. For complex torch values, the
    result is real and gradients are multiplied by :math:`\\bar{A} / |A|`, keeping
    the real part (the derivative of the modulus); complex numpy values keep their
    complex dtype (:math:`|A| + 0i`) and gradients are multiplied by
    :math:`A / |A|`, as in upstream metatensor.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     np.array([[-1.0, 2.0]]), Labels.range("s", 1), [], Labels.range("p", 2)
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> abs(tensor).block().values
    array([[1., 2.]])
    """
    _check_tensor(A, "A", "abs")
    blocks: List[TensorBlock] = []
    for block in A.blocks():
        _check_no_nested_gradients(block, "abs")
        a = block.values
        modulus = _dispatch.abs(a)
        result = _new_block(modulus, block)
        complex_values = _dispatch.is_complex(a)
        for parameter in block.gradients_list():
            gradient = block.gradient(parameter)
            n_extra = _n_extra(gradient, block)
            sample = gradient.samples.column("sample")
            if complex_values:
                safe = modulus + (modulus == 0)
                if _dispatch.is_complex(modulus):
                    # numpy: a complex modulus, and (z / |z|) dz (as upstream)
                    rows = _dispatch.rows_for_gradient(a / safe, sample, n_extra)
                    values = rows * gradient.values
                else:
                    factor = _dispatch.conj(a) / safe
                    rows = _dispatch.rows_for_gradient(factor, sample, n_extra)
                    values = _dispatch.real(rows * gradient.values)
            else:
                rows = _dispatch.rows_for_gradient(_dispatch.sign(a), sample, n_extra)
                values = rows * gradient.values
            result.add_gradient(parameter, _new_block(values, gradient))
        blocks.append(result)
    return TensorMap(A.keys, blocks)
