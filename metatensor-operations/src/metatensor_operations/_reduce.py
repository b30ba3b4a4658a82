"""Reductions over samples or properties: sum, mean, variance and standard
deviation, grouping the entries that share the values of the remaining
dimensions.

For a group :math:`G` of :math:`N` entries :math:`x_i` with gradients
:math:`\\nabla x_i`, the gradients of the results are

.. math::

    \\nabla \\sum_G x_i = \\sum_G \\nabla x_i, \\qquad
    \\nabla \\bar{x} = \\frac{1}{N} \\sum_G \\nabla x_i, \\qquad
    \\nabla \\sigma^2 = \\frac{2}{N} \\sum_G (x_i - \\bar{x}) \\nabla x_i, \\qquad
    \\nabla \\sigma = \\frac{\\nabla \\sigma^2}{2 \\sigma}

(the gradient of the standard deviation is set to zero where :math:`\\sigma = 0`).
The new entries are sorted in lexicographic order.
"""

from typing import List, Tuple, Union

from . import _dispatch
from ._backend import Labels, TensorBlock, TensorMap, torch_jit_is_scripting
from ._dispatch import Array
from ._utils import check_type


def _names_list(names: Union[str, List[str]]) -> List[str]:
    if isinstance(names, str):
        return [names]
    return names


def _groups(labels: Labels, names: List[str], axis: str) -> Tuple[Labels, Array]:
    """The Labels of the groups of entries of ``labels`` sharing the values of the
    dimensions not in ``names``, and the (int64) group of each entry"""
    all_names = labels.names
    for name in names:
        if name not in all_names:
            raise ValueError(
                f"'{name}' is not part of the {axis} of this block, "
                f"expected one of {all_names}"
            )
    keep: List[int] = []
    keep_names: List[str] = []
    for i in range(len(all_names)):
        if all_names[i] not in names:
            keep.append(i)
            keep_names.append(all_names[i])
    if len(keep) == 0:
        # everything is reduced in a single entry ``_=0``; without entries, in
        # Labels without dimensions (as upstream)
        inverse = _dispatch.zeros_index(len(labels), labels.values)
        if len(labels) == 0:
            # no columns and no rows
            empty = _dispatch.select_columns(labels.values, keep)
            return Labels(keep_names, empty), inverse
        unique = _dispatch.int_array_like([[0]], labels.values, 1)
        return Labels(["_"], unique), inverse
    remaining = _dispatch.select_columns(labels.values, keep)
    unique, inverse = _dispatch.unique_rows(remaining)
    return Labels(keep_names, unique), inverse


def _broadcast_rows(array: Array, ndim: int) -> Array:
    """Reshape a 1-D array to ``(n, 1, ..., 1)`` with ``ndim`` dimensions"""
    shape: List[int] = [array.shape[0]]
    for _ in range(ndim - 1):
        shape.append(1)
    return array.reshape(shape)


def _check_block(block: TensorBlock, function: str):
    if not torch_jit_is_scripting():
        check_type(block, TensorBlock, "block", function)
    for parameter in block.gradients_list():
        if len(block.gradient(parameter).gradients_list()) != 0:
            raise NotImplementedError(
                f"gradients of gradients are not supported in '{function}'"
            )


def _reduce_samples_block(
    block: TensorBlock, names: List[str], mode: str, function: str
) -> TensorBlock:
    _check_block(block, function)
    values = block.values
    samples, groups = _groups(block.samples, names, "samples")
    index = _dispatch.to_index(groups, values)
    n_groups = len(samples)

    total = _dispatch.sum_rows(values, index, n_groups)
    count = _broadcast_rows(
        _dispatch.counts(index, n_groups, values), len(values.shape)
    )
    # derivative of the result with respect to each value (unused for sums)
    factor = values
    if mode == "sum":
        result = total
    else:
        mean = total / count
        result = mean
        if mode != "mean":
            difference = values - _dispatch.take(mean, index, 0)
            variance = _dispatch.sum_rows(difference * difference, index, n_groups)
            variance = variance / count
            result = variance if mode == "var" else _dispatch.sqrt(variance)
            # derivative of the variance with respect to each value
            factor = 2.0 * difference / _dispatch.take(count, index, 0)
            if mode == "std":
                std = _dispatch.take(result, index, 0)
                factor = factor * (std != 0) / (2.0 * std + (std == 0))
        else:
            factor = 1.0 / _dispatch.take(count, index, 0)

    new_block = TensorBlock(
        values=result,
        samples=samples,
        components=block.components,
        properties=block.properties,
    )
    for parameter in block.gradients_list():
        gradient = block.gradient(parameter)
        gradient_samples = gradient.samples
        sample = gradient_samples.column("sample")
        n_extra = len(gradient.components) - len(block.components)
        gradient_values = gradient.values
        if mode != "sum":
            weights = _dispatch.rows_for_gradient(factor, sample, n_extra)
            gradient_values = gradient_values * weights
        new_sample = _dispatch.take(groups, sample, 0)
        rows = _dispatch.with_first_column(gradient_samples.values, new_sample)
        unique, gradient_groups = _dispatch.unique_rows(rows)
        gradient_index = _dispatch.to_index(gradient_groups, gradient_values)
        new_block.add_gradient(
            parameter,
            TensorBlock(
                values=_dispatch.sum_rows(
                    gradient_values, gradient_index, unique.shape[0]
                ),
                samples=Labels(gradient_samples.names, unique),
                components=gradient.components,
                properties=gradient.properties,
            ),
        )
    return new_block


def _reduce_properties_block(
    block: TensorBlock, names: List[str], mode: str, function: str
) -> TensorBlock:
    _check_block(block, function)
    values = block.values
    properties, groups = _groups(block.properties, names, "properties")
    index = _dispatch.to_index(groups, values)
    n_groups = len(properties)

    total = _dispatch.moveaxis(
        _dispatch.sum_rows(_dispatch.moveaxis(values, -1, 0), index, n_groups), 0, -1
    )
    count = _dispatch.counts(index, n_groups, values)
    # derivative of the result with respect to each value (unused for sums)
    factor = values
    if mode == "sum":
        result = total
    else:
        mean = total / count
        result = mean
        if mode != "mean":
            difference = values - _dispatch.take(mean, index, -1)
            squares = _dispatch.moveaxis(difference * difference, -1, 0)
            variance = _dispatch.sum_rows(squares, index, n_groups)
            variance = _dispatch.moveaxis(variance, 0, -1) / count
            result = variance if mode == "var" else _dispatch.sqrt(variance)
            factor = 2.0 * difference / _dispatch.take(count, index, 0)
            if mode == "std":
                std = _dispatch.take(result, index, -1)
                factor = factor * (std != 0) / (2.0 * std + (std == 0))
        else:
            ones = _dispatch.new_like(values, "ones")
            factor = ones / _dispatch.take(count, index, 0)

    new_block = TensorBlock(
        values=result,
        samples=block.samples,
        components=block.components,
        properties=properties,
    )
    for parameter in block.gradients_list():
        gradient = block.gradient(parameter)
        n_extra = len(gradient.components) - len(block.components)
        gradient_values = gradient.values
        if mode != "sum":
            sample = gradient.samples.column("sample")
            weights = _dispatch.rows_for_gradient(factor, sample, n_extra)
            gradient_values = gradient_values * weights
        summed = _dispatch.sum_rows(
            _dispatch.moveaxis(gradient_values, -1, 0), index, n_groups
        )
        new_block.add_gradient(
            parameter,
            TensorBlock(
                values=_dispatch.moveaxis(summed, 0, -1),
                samples=gradient.samples,
                components=gradient.components,
                properties=properties,
            ),
        )
    return new_block


def _reduce(
    tensor: TensorMap, names: Union[str, List[str]], mode: str, axis: str, function: str
) -> TensorMap:
    if not torch_jit_is_scripting():
        check_type(tensor, TensorMap, "tensor", function)
    names_list = _names_list(names)
    blocks: List[TensorBlock] = []
    for block in tensor.blocks():
        if axis == "samples":
            blocks.append(_reduce_samples_block(block, names_list, mode, function))
        else:
            blocks.append(_reduce_properties_block(block, names_list, mode, function))
    return TensorMap(tensor.keys, blocks)


# ================================================================================ #
# public functions


def sum_over_samples(
    tensor: TensorMap, sample_names: Union[str, List[str]]
) -> TensorMap:
    """Sum the values of the samples that share the values of every sample
    dimension except ``sample_names`` (which are removed); gradients are summed
    accordingly. The new samples are sorted.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     values=np.array([[1.0], [3.0], [10.0]]),
    ...     samples=Labels(["system", "atom"], np.array([[0, 0], [0, 1], [1, 0]])),
    ...     components=[],
    ...     properties=Labels.range("n", 1),
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> summed = sum_over_samples(tensor, "atom").block()
    >>> summed.samples.names, summed.values.tolist()
    (['system'], [[4.0], [10.0]])
    """
    return _reduce(tensor, sample_names, "sum", "samples", "sum_over_samples")


def sum_over_samples_block(
    block: TensorBlock, sample_names: Union[str, List[str]]
) -> TensorBlock:
    """Block version of :py:func:`sum_over_samples`"""
    return _reduce_samples_block(
        block, _names_list(sample_names), "sum", "sum_over_samples_block"
    )


def mean_over_samples(
    tensor: TensorMap, sample_names: Union[str, List[str]]
) -> TensorMap:
    """Average the values of the samples that share the values of every sample
    dimension except ``sample_names``; see :py:func:`sum_over_samples`.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     values=np.array([[1.0], [3.0], [10.0]]),
    ...     samples=Labels(["system", "atom"], np.array([[0, 0], [0, 1], [1, 0]])),
    ...     components=[],
    ...     properties=Labels.range("n", 1),
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> mean_over_samples(tensor, "atom").block().values.tolist()
    [[2.0], [10.0]]
    """
    return _reduce(tensor, sample_names, "mean", "samples", "mean_over_samples")


def mean_over_samples_block(
    block: TensorBlock, sample_names: Union[str, List[str]]
) -> TensorBlock:
    """Block version of :py:func:`mean_over_samples`"""
    return _reduce_samples_block(
        block, _names_list(sample_names), "mean", "mean_over_samples_block"
    )


def var_over_samples(
    tensor: TensorMap, sample_names: Union[str, List[str]]
) -> TensorMap:
    """Variance (population, dividing by N) of the values of the samples that share
    the values of every sample dimension except ``sample_names``.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     values=np.array([[1.0], [3.0], [10.0]]),
    ...     samples=Labels(["system", "atom"], np.array([[0, 0], [0, 1], [1, 0]])),
    ...     components=[],
    ...     properties=Labels.range("n", 1),
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> var_over_samples(tensor, "atom").block().values.tolist()
    [[1.0], [0.0]]
    """
    return _reduce(tensor, sample_names, "var", "samples", "var_over_samples")


def var_over_samples_block(
    block: TensorBlock, sample_names: Union[str, List[str]]
) -> TensorBlock:
    """Block version of :py:func:`var_over_samples`"""
    return _reduce_samples_block(
        block, _names_list(sample_names), "var", "var_over_samples_block"
    )


def std_over_samples(
    tensor: TensorMap, sample_names: Union[str, List[str]]
) -> TensorMap:
    """Standard deviation (population) of the values of the samples that share the
    values of every sample dimension except ``sample_names``.

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     values=np.array([[1.0], [3.0], [10.0]]),
    ...     samples=Labels(["system", "atom"], np.array([[0, 0], [0, 1], [1, 0]])),
    ...     components=[],
    ...     properties=Labels.range("n", 1),
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> std_over_samples(tensor, "atom").block().values.tolist()
    [[1.0], [0.0]]
    """
    return _reduce(tensor, sample_names, "std", "samples", "std_over_samples")


def std_over_samples_block(
    block: TensorBlock, sample_names: Union[str, List[str]]
) -> TensorBlock:
    """Block version of :py:func:`std_over_samples`"""
    return _reduce_samples_block(
        block, _names_list(sample_names), "std", "std_over_samples_block"
    )


def sum_over_properties(
    tensor: TensorMap, property_names: Union[str, List[str]]
) -> TensorMap:
    """Sum the values of the properties that share the values of every property
    dimension except ``property_names`` (which are removed).

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     values=np.array([[1.0, 2.0, 4.0]]),
    ...     samples=Labels.range("s", 1),
    ...     components=[],
    ...     properties=Labels(["l", "n"], np.array([[0, 0], [0, 1], [1, 0]])),
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> sum_over_properties(tensor, "n").block().values.tolist()
    [[3.0, 4.0]]
    """
    return _reduce(tensor, property_names, "sum", "properties", "sum_over_properties")


def sum_over_properties_block(
    block: TensorBlock, property_names: Union[str, List[str]]
) -> TensorBlock:
    """Block version of :py:func:`sum_over_properties`"""
    return _reduce_properties_block(
        block, _names_list(property_names), "sum", "sum_over_properties_block"
    )


def mean_over_properties(
    tensor: TensorMap, property_names: Union[str, List[str]]
) -> TensorMap:
    """Average over the properties that share the values of every property
    dimension except ``property_names``; see :py:func:`sum_over_properties`

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     values=np.array([[1.0, 2.0, 4.0]]),
    ...     samples=Labels.range("s", 1),
    ...     components=[],
    ...     properties=Labels(["l", "n"], np.array([[0, 0], [0, 1], [1, 0]])),
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> mean_over_properties(tensor, "n").block().values.tolist()
    [[1.5, 4.0]]
    """
    return _reduce(tensor, property_names, "mean", "properties", "mean_over_properties")


def mean_over_properties_block(
    block: TensorBlock, property_names: Union[str, List[str]]
) -> TensorBlock:
    """Block version of :py:func:`mean_over_properties`"""
    return _reduce_properties_block(
        block, _names_list(property_names), "mean", "mean_over_properties_block"
    )


def var_over_properties(
    tensor: TensorMap, property_names: Union[str, List[str]]
) -> TensorMap:
    """Variance (population) over the properties that share the values of every
    property dimension except ``property_names``

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     values=np.array([[1.0, 3.0, 4.0]]),
    ...     samples=Labels.range("s", 1),
    ...     components=[],
    ...     properties=Labels(["l", "n"], np.array([[0, 0], [0, 1], [1, 0]])),
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> var_over_properties(tensor, "n").block().values.tolist()
    [[1.0, 0.0]]
    """
    return _reduce(tensor, property_names, "var", "properties", "var_over_properties")


def var_over_properties_block(
    block: TensorBlock, property_names: Union[str, List[str]]
) -> TensorBlock:
    """Block version of :py:func:`var_over_properties`"""
    return _reduce_properties_block(
        block, _names_list(property_names), "var", "var_over_properties_block"
    )


def std_over_properties(
    tensor: TensorMap, property_names: Union[str, List[str]]
) -> TensorMap:
    """Standard deviation (population) over the properties that share the values
    of every property dimension except ``property_names``

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(
    ...     values=np.array([[1.0, 3.0, 4.0]]),
    ...     samples=Labels.range("s", 1),
    ...     components=[],
    ...     properties=Labels(["l", "n"], np.array([[0, 0], [0, 1], [1, 0]])),
    ... )
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> std_over_properties(tensor, "n").block().values.tolist()
    [[1.0, 0.0]]
    """
    return _reduce(tensor, property_names, "std", "properties", "std_over_properties")


def std_over_properties_block(
    block: TensorBlock, property_names: Union[str, List[str]]
) -> TensorBlock:
    """Block version of :py:func:`std_over_properties`"""
    return _reduce_properties_block(
        block, _names_list(property_names), "std", "std_over_properties_block"
    )
