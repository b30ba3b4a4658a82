"""Linear algebra between TensorMap: ``lstsq`` and ``solve``, block by block.

In each block, the components are folded into the samples and the gradients are
stacked below the values as extra rows (so that the solution fits the values and
their gradients); the solution ``W`` of ``X W = Y`` is returned transposed, with
the properties of ``Y`` as samples and the properties of ``X`` as properties.
"""

from typing import List, Optional

from . import _dispatch
from ._backend import TensorBlock, TensorMap, torch_jit_is_scripting
from ._checks import checks_enabled
from ._dispatch import Array
from ._utils import (
    NotEqualError,
    _check_blocks_impl,
    _check_same_gradients_impl,
    _check_same_keys_raise,
    check_type,
)


def _as_rows(values: Array) -> Array:
    """``values`` as a 2-D array, all axes but the last folded into rows (this
    also works with zero properties, unlike ``reshape(-1, n)``)"""
    n_rows = 1
    for size in values.shape[:-1]:
        n_rows *= size
    return values.reshape(n_rows, values.shape[-1])


def _stacked(block: TensorBlock, parameters: List[str]) -> Array:
    """The values of ``block`` and of its gradients with respect to
    ``parameters`` (in this order), as one 2-D array of rows"""
    arrays: List[Array] = [_as_rows(block.values)]
    for parameter in parameters:
        arrays.append(_as_rows(block.gradient(parameter).values))
    if len(arrays) == 1:
        return arrays[0]
    return _dispatch.concatenate(arrays, 0)


def _check_arguments(
    X: TensorMap,
    Y: TensorMap,
    function: str,
    rcond: Optional[float],
    driver: Optional[str],
):
    """Eager-only argument type checks"""
    if not torch_jit_is_scripting():
        check_type(X, TensorMap, "X", function)
        check_type(Y, TensorMap, "Y", function)
        if rcond is not None and (
            isinstance(rcond, bool) or not isinstance(rcond, (int, float))
        ):
            raise TypeError(
                f"`rcond` in '{function}' must be a float or None, "
                f"got {type(rcond).__name__}"
            )
        if driver is not None and not isinstance(driver, str):
            raise TypeError(
                f"`driver` in '{function}' must be a string or None, "
                f"got {type(driver).__name__}"
            )


def _solve_all(
    X: TensorMap,
    Y: TensorMap,
    function: str,
    rcond: Optional[float],
    driver: Optional[str],
) -> TensorMap:
    _check_arguments(X, Y, function, rcond, driver)
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
        parameters = block_X.gradients_list()
        where = f" for the block at key {entry.print()}"
        if checks_enabled():
            message = _check_blocks_impl(
                block_X, block_Y, function, ["samples", "components"], where
            )
            if message == "":
                message = _check_same_gradients_impl(
                    block_X, block_Y, function, ["samples", "components"], where
                )
            if message != "":
                raise NotEqualError(message)
        for parameter in parameters:
            if (
                len(block_X.gradient(parameter).gradients_list()) != 0
                or len(block_Y.gradient(parameter).gradients_list()) != 0
            ):
                raise NotImplementedError(
                    f"gradients of gradients are not supported in '{function}'"
                )
        matrix_X = _stacked(block_X, parameters)
        matrix_Y = _stacked(block_Y, parameters)
        if function == "solve":
            if matrix_X.shape[0] != matrix_X.shape[1]:
                raise ValueError(
                    "the values in each block of X should be a square 2D array: "
                    "'solve' needs square systems, got a block of X with "
                    f"{matrix_X.shape[0]} rows (samples, components and gradients) "
                    f"and {matrix_X.shape[1]} columns (properties){where}"
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
    r"""Least-squares solution ``W`` of ``X W = Y``, block by block.

    For each key, the block of ``X`` (shape ``(n_samples, n_components...,
    n_x_properties)``) and the block of ``Y`` (``(n_samples, n_components...,
    n_y_properties)``) become 2-D matrices with the components folded into the
    rows; the gradients of both (in the order of the gradients of ``X``) are
    stacked below as extra rows, so that ``W`` fits the values and their
    gradients at once. ``W`` minimises :math:`\|X W - Y\|_2` and is returned
    transposed: the result block has the properties of ``Y`` as samples, the
    properties of ``X`` as properties, no components and no gradients.

    The blocks of ``X`` and ``Y`` must have the same samples and components, and
    the same gradients with the same gradient samples and components. Torch
    autograd flows through the values.

    :param X: TensorMap with the left-hand side
    :param Y: TensorMap with the right-hand side, with the same keys as ``X``
    :param rcond: cut-off ratio for the small singular values of ``X``, as in
        ``numpy.linalg.lstsq`` and ``torch.linalg.lstsq``; ``None`` uses the
        machine precision times the largest dimension
    :param driver: the LAPACK driver of ``torch.linalg.lstsq`` (``"gels"``,
        ``"gelsy"``, ``"gelsd"``, ``"gelss"``); ignored for numpy arrays, which
        always use ``gelsd`` (as upstream)
    :return: a TensorMap with the keys of ``X`` and ``W.T`` in each block
    :raises NotEqualError: if the keys, samples, components or gradients of the
        inputs differ
    :raises TypeError: if one input holds numpy arrays and the other torch tensors
    :raises NotImplementedError: for gradients of gradients

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> X = TensorMap(Labels.single(), [TensorBlock(
    ...     np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]),
    ...     Labels.range("s", 3), [], Labels.range("x", 2),
    ... )])
    >>> Y = TensorMap(Labels.single(), [TensorBlock(
    ...     np.array([[1.0], [4.0], [3.0]]), Labels.range("s", 3), [], Labels.range("y", 1),
    ... )])
    >>> W = lstsq(X, Y, rcond=None).block()
    >>> np.round(W.values, 6).tolist()
    [[1.0, 2.0]]
    >>> W.samples.names, W.properties.names
    (['y'], ['x'])
    """
    return _solve_all(X, Y, "lstsq", rcond, driver)


def solve(X: TensorMap, Y: TensorMap) -> TensorMap:
    """Solution ``W`` of the square systems ``X W = Y``, block by block.

    The matrices are built as in :py:func:`lstsq` (components folded into the
    rows, gradients stacked as extra rows), and must be square: as many rows as
    the properties of ``X``. The result is laid out as in :py:func:`lstsq`: the
    properties of ``Y`` as samples, the properties of ``X`` as properties, no
    components and no gradients. Torch autograd flows through the values.

    :param X: TensorMap with the left-hand side
    :param Y: TensorMap with the right-hand side, with the same keys as ``X``
    :return: a TensorMap with the keys of ``X`` and ``W.T`` in each block
    :raises NotEqualError: if the keys, samples, components or gradients of the
        inputs differ
    :raises ValueError: if a block of ``X`` does not give a square matrix
    :raises TypeError: if one input holds numpy arrays and the other torch tensors
    :raises NotImplementedError: for gradients of gradients

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
