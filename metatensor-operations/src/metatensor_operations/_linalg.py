"""Linear algebra between TensorMap: ``lstsq`` and ``solve``, block by block.

In each block, the components are folded into the samples and the gradients are
stacked below the values as extra rows (so that the solution fits the values and
their gradients); the solution ``W`` of ``X W = Y`` is returned transposed, with
the properties of ``Y`` as samples and the properties of ``X`` as properties.
"""

from typing import List, Optional

from . import _dispatch
from ._backend import TensorBlock, TensorMap
from ._checks import checks_enabled
from ._dispatch import Array
from ._utils import (
    NotEqualError,
    _check_blocks_impl,
    _check_same_gradients_impl,
    _check_same_keys_raise,
)


def _stacked(block: TensorBlock) -> Array:
    """The values and gradients of ``block`` as one 2-D array of rows"""
    n_properties = len(block.properties)
    arrays: List[Array] = [block.values.reshape(-1, n_properties)]
    for parameter in block.gradients_list():
        arrays.append(block.gradient(parameter).values.reshape(-1, n_properties))
    return _dispatch.concatenate(arrays, 0)


def _solve_all(
    X: TensorMap,
    Y: TensorMap,
    function: str,
    rcond: Optional[float],
    driver: Optional[str],
) -> TensorMap:
    if checks_enabled():
        _check_same_keys_raise(X, Y, function)
    blocks: List[TensorBlock] = []
    for i in range(len(X.keys)):
        block_X = X.block_by_id(i)
        entry = X.keys.entry(i)
        position = Y.keys.position(entry)
        if position is None:
            raise NotEqualError(f"inputs to '{function}' should have the same keys")
        block_Y = Y.block_by_id(position)
        _dispatch.check_same_backend(block_X.values, block_Y.values, function)
        if checks_enabled():
            message = _check_blocks_impl(
                block_X,
                block_Y,
                function,
                ["samples", "components"],
                f" for the block at key {entry.print()}",
            )
            if message == "":
                message = _check_same_gradients_impl(
                    block_X, block_Y, function, ["samples", "components"]
                )
            if message != "":
                raise NotEqualError(message)
        matrix_X = _stacked(block_X)
        matrix_Y = _stacked(block_Y)
        if function == "solve":
            if matrix_X.shape[0] != matrix_X.shape[1]:
                raise ValueError(
                    "'solve' needs square systems, got a block of X with "
                    f"{matrix_X.shape[0]} rows and {matrix_X.shape[1]} columns"
                )
            weights = _dispatch.solve(matrix_X, matrix_Y)
        else:
            weights = _dispatch.lstsq(matrix_X, matrix_Y, rcond, driver)
        blocks.append(
            TensorBlock(
                values=weights.T,
                samples=block_Y.properties,
                components=[],
                properties=block_X.properties,
            )
        )
    return TensorMap(X.keys, blocks)


def lstsq(
    X: TensorMap, Y: TensorMap, rcond: Optional[float], driver: Optional[str] = None
) -> TensorMap:
    """Least-squares solution ``W`` of ``X W = Y``, block by block; ``rcond`` is the
    cut-off for small singular values (as in numpy/torch), ``driver`` the torch
    LAPACK driver. The result holds ``W`` transposed, with the properties of ``Y``
    as samples and those of ``X`` as properties.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> X = TensorMap(Labels.single(), [TensorBlock(
    ...     np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]),
    ...     Labels.range("s", 3), [], Labels.range("x", 2),
    ... )])
    >>> Y = TensorMap(Labels.single(), [TensorBlock(
    ...     np.array([[1.0], [4.0], [3.0]]), Labels.range("s", 3), [], Labels.range("y", 1),
    ... )])
    >>> np.round(lstsq(X, Y, rcond=None).block().values, 6).tolist()
    [[1.0, 2.0]]
    """
    return _solve_all(X, Y, "lstsq", rcond, driver)


def solve(X: TensorMap, Y: TensorMap) -> TensorMap:
    """Solution ``W`` of the square systems ``X W = Y``, block by block, laid out
    as in :py:func:`lstsq`

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> X = TensorMap(Labels.single(), [TensorBlock(
    ...     np.array([[2.0, 0.0], [0.0, 4.0]]), Labels.range("s", 2), [], Labels.range("x", 2),
    ... )])
    >>> Y = TensorMap(Labels.single(), [TensorBlock(
    ...     np.array([[2.0], [2.0]]), Labels.range("s", 2), [], Labels.range("y", 1),
    ... )])
    >>> solve(X, Y).block().values.tolist()
    [[1.0, 0.5]]
    """
    return _solve_all(X, Y, "solve", None, None)
