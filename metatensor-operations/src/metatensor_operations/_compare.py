"""Comparisons of TensorMap and TensorBlock: ``equal``, ``allclose`` and
``equal_metadata``, each as a bool function, a ``_raise`` function raising
:py:class:`NotEqualError` with what differs first, and ``_block`` versions."""

from typing import List, Optional, Tuple

from . import _dispatch
from ._backend import TensorBlock, TensorMap
from ._utils import (
    NotEqualError,
    _check_blocks_impl,
    _check_same_gradients_impl,
    _check_same_keys_impl,
)


def _values_impl(
    first: TensorBlock,
    second: TensorBlock,
    function: str,
    exact: bool,
    rtol: float,
    atol: float,
    equal_nan: bool,
    where: str,
) -> str:
    """Compare the values of two blocks with the same metadata, and those of their
    gradients (iteratively: TorchScript has no recursion)"""
    stack: List[Tuple[TensorBlock, TensorBlock, str]] = [(first, second, where)]
    while len(stack) != 0:
        block_1, block_2, location = stack.pop()
        a = block_1.values
        b = block_2.values
        if _dispatch.is_torch_array(a) != _dispatch.is_torch_array(b):
            return (
                f"inputs to '{function}' should both be numpy or torch arrays{location}"
            )
        if a.dtype != b.dtype:
            return (
                f"inputs to '{function}' should have the same dtype{location}, "
                f"got {a.dtype} and {b.dtype}"
            )
        if exact:
            if not _dispatch.array_equal(a, b):
                return f"inputs to '{function}' should have the same values{location}"
        elif not _dispatch.allclose(a, b, rtol, atol, equal_nan):
            return (
                f"inputs to '{function}' should have close values{location} "
                f"(rtol={rtol}, atol={atol})"
            )
        for parameter in block_1.gradients_list():
            stack.append(
                (
                    block_1.gradient(parameter),
                    block_2.gradient(parameter),
                    f"{location} for the '{parameter}' gradients",
                )
            )
    return ""


def _metadata_impl(
    first: TensorBlock,
    second: TensorBlock,
    function: str,
    check: List[str],
    check_gradients: bool,
    where: str,
) -> str:
    """Compare the metadata of two blocks on the ``check`` axes, and the metadata of
    their gradients when ``check_gradients`` (iteratively: TorchScript has no
    recursion)"""
    stack: List[Tuple[TensorBlock, TensorBlock, str]] = [(first, second, where)]
    while len(stack) != 0:
        block_1, block_2, location = stack.pop()
        message = _check_blocks_impl(block_1, block_2, function, check, location)
        if message != "" or not check_gradients:
            return message
        message = _check_same_gradients_impl(block_1, block_2, function, check)
        if message != "":
            return message
        for parameter in block_1.gradients_list():
            stack.append(
                (
                    block_1.gradient(parameter),
                    block_2.gradient(parameter),
                    f"{location} for the '{parameter}' gradients",
                )
            )
    return ""


def _block_impl(
    first: TensorBlock,
    second: TensorBlock,
    function: str,
    exact: bool,
    rtol: float,
    atol: float,
    equal_nan: bool,
    where: str,
) -> str:
    message = _metadata_impl(
        first, second, function, ["samples", "components", "properties"], True, where
    )
    if message != "":
        return message
    return _values_impl(first, second, function, exact, rtol, atol, equal_nan, where)


def _tensor_impl(
    first: TensorMap,
    second: TensorMap,
    function: str,
    exact: bool,
    rtol: float,
    atol: float,
    equal_nan: bool,
) -> str:
    message = _check_same_keys_impl(first, second, function)
    if message != "":
        return message
    for i in range(len(first.keys)):
        entry = first.keys.entry(i)
        position = second.keys.position(entry)
        if position is None:
            return f"inputs to '{function}' should have the same keys"
        message = _block_impl(
            first.block_by_id(i),
            second.block_by_id(position),
            function,
            exact,
            rtol,
            atol,
            equal_nan,
            f" for the block at key {entry.print()}",
        )
        if message != "":
            return message
    return ""


def _tensor_metadata_impl(
    first: TensorMap,
    second: TensorMap,
    function: str,
    check: List[str],
    check_gradients: bool,
) -> str:
    message = _check_same_keys_impl(first, second, function)
    if message != "":
        return message
    for i in range(len(first.keys)):
        entry = first.keys.entry(i)
        position = second.keys.position(entry)
        if position is None:
            return f"inputs to '{function}' should have the same keys"
        message = _metadata_impl(
            first.block_by_id(i),
            second.block_by_id(position),
            function,
            check,
            check_gradients,
            f" for the block at key {entry.print()}",
        )
        if message != "":
            return message
    return ""


def _axes(check: Optional[List[str]]) -> List[str]:
    """The axes to compare: all of them by default"""
    if check is None:
        return ["samples", "components", "properties"]
    return check


def _raise(message: str):
    if message != "":
        raise NotEqualError(message)


# ================================================================================ #
# equal


def equal(tensor_1: TensorMap, tensor_2: TensorMap) -> bool:
    """Whether two maps have the same keys (in any order), and for each key the
    same metadata, values (same dtype and array kind) and gradients.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> equal(tensor, tensor)
    True
    """
    return _tensor_impl(tensor_1, tensor_2, "equal", True, 0.0, 0.0, False) == ""


def equal_raise(tensor_1: TensorMap, tensor_2: TensorMap):
    """Like :py:func:`equal`, raising :py:class:`NotEqualError` saying what
    differs first instead of returning False"""
    _raise(_tensor_impl(tensor_1, tensor_2, "equal", True, 0.0, 0.0, False))


def equal_block(block_1: TensorBlock, block_2: TensorBlock) -> bool:
    """Whether two blocks have the same metadata, values and gradients

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> equal_block(block, block.copy())
    True
    """
    return _block_impl(block_1, block_2, "equal_block", True, 0.0, 0.0, False, "") == ""


def equal_block_raise(block_1: TensorBlock, block_2: TensorBlock):
    """Like :py:func:`equal_block`, raising :py:class:`NotEqualError` instead of
    returning False"""
    _raise(_block_impl(block_1, block_2, "equal_block", True, 0.0, 0.0, False, ""))


# ================================================================================ #
# allclose


def allclose(
    tensor_1: TensorMap,
    tensor_2: TensorMap,
    rtol: float = 1e-13,
    atol: float = 1e-12,
    equal_nan: bool = False,
) -> bool:
    """Whether two maps have the same metadata (keys in any order) and values and
    gradients close within ``|a - b| <= atol + rtol * |b|``

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> allclose(tensor, tensor)
    True
    """
    return (
        _tensor_impl(tensor_1, tensor_2, "allclose", False, rtol, atol, equal_nan) == ""
    )


def allclose_raise(
    tensor_1: TensorMap,
    tensor_2: TensorMap,
    rtol: float = 1e-13,
    atol: float = 1e-12,
    equal_nan: bool = False,
):
    """Like :py:func:`allclose`, raising :py:class:`NotEqualError` instead of
    returning False"""
    _raise(_tensor_impl(tensor_1, tensor_2, "allclose", False, rtol, atol, equal_nan))


def allclose_block(
    block_1: TensorBlock,
    block_2: TensorBlock,
    rtol: float = 1e-13,
    atol: float = 1e-12,
    equal_nan: bool = False,
) -> bool:
    """Whether two blocks have the same metadata and close values and gradients

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> allclose_block(block, block.copy())
    True
    """
    message = _block_impl(
        block_1, block_2, "allclose_block", False, rtol, atol, equal_nan, ""
    )
    return message == ""


def allclose_block_raise(
    block_1: TensorBlock,
    block_2: TensorBlock,
    rtol: float = 1e-13,
    atol: float = 1e-12,
    equal_nan: bool = False,
):
    """Like :py:func:`allclose_block`, raising :py:class:`NotEqualError` instead
    of returning False"""
    _raise(
        _block_impl(
            block_1, block_2, "allclose_block", False, rtol, atol, equal_nan, ""
        )
    )


# ================================================================================ #
# equal_metadata


def equal_metadata(
    tensor_1: TensorMap,
    tensor_2: TensorMap,
    check: Optional[List[str]] = None,
    check_gradients: bool = True,
) -> bool:
    """Whether two maps have the same keys (in any order) and, for each key, the
    same metadata on the ``check`` axes (a list with some of ``"samples"``,
    ``"components"``, ``"properties"``; all of them by default), and the same gradients' metadata when
    ``check_gradients``. Values are not compared.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> equal_metadata(tensor, tensor, check=["samples"])
    True
    """
    message = _tensor_metadata_impl(
        tensor_1, tensor_2, "equal_metadata", _axes(check), check_gradients
    )
    return message == ""


def equal_metadata_raise(
    tensor_1: TensorMap,
    tensor_2: TensorMap,
    check: Optional[List[str]] = None,
    check_gradients: bool = True,
):
    """Like :py:func:`equal_metadata`, raising :py:class:`NotEqualError` instead
    of returning False"""
    _raise(
        _tensor_metadata_impl(
            tensor_1, tensor_2, "equal_metadata", _axes(check), check_gradients
        )
    )


def equal_metadata_block(
    block_1: TensorBlock,
    block_2: TensorBlock,
    check: Optional[List[str]] = None,
    check_gradients: bool = True,
) -> bool:
    """Whether two blocks have the same metadata on the ``check`` axes (and their
    gradients, when ``check_gradients``)

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> equal_metadata_block(block, block.copy())
    True
    """
    message = _metadata_impl(
        block_1, block_2, "equal_metadata_block", _axes(check), check_gradients, ""
    )
    return message == ""


def equal_metadata_block_raise(
    block_1: TensorBlock,
    block_2: TensorBlock,
    check: Optional[List[str]] = None,
    check_gradients: bool = True,
):
    """Like :py:func:`equal_metadata_block`, raising :py:class:`NotEqualError`
    instead of returning False"""
    _raise(
        _metadata_impl(
            block_1, block_2, "equal_metadata_block", _axes(check), check_gradients, ""
        )
    )
