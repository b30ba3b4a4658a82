"""``sort``: lexicographic order of keys, samples, components and properties."""

from typing import List, Union

from . import _dispatch
from ._backend import Labels, TensorBlock, TensorMap
from ._dispatch import Array


def _axes_list(axes: Union[str, List[str]], keys: bool) -> List[str]:
    allowed = ["samples", "components", "properties"]
    if keys:
        allowed.append("keys")
    if isinstance(axes, str):
        if axes == "all":
            return allowed
        selected = [axes]
    else:
        selected = axes
    for axis in selected:
        if axis not in allowed:
            also = "'keys' or 'all'" if keys else "'all'"
            raise ValueError(
                "`axes` must be one of 'samples', 'components' or 'properties', "
                f"not '{axis}' ({also} are also accepted by 'sort')"
            )
    return selected


def _sorted_labels(labels: Labels, descending: bool):
    order = _dispatch.argsort_rows(labels.values, descending)
    return Labels(labels.names, _dispatch.take(labels.values, order, 0)), order


def _sort_block(block: TensorBlock, axes: List[str], descending: bool) -> TensorBlock:
    values = block.values
    samples = block.samples
    components = block.components
    properties = block.properties
    sample_order = _dispatch.zeros_index(0, samples.values)
    sort_samples = "samples" in axes
    if sort_samples:
        samples, sample_order = _sorted_labels(samples, descending)
        values = _dispatch.take(values, sample_order, 0)
    sort_components = "components" in axes
    component_orders: List[Array] = []
    if sort_components:
        new_components: List[Labels] = []
        for i in range(len(components)):
            component, order = _sorted_labels(components[i], descending)
            new_components.append(component)
            component_orders.append(order)
            values = _dispatch.take(values, order, i + 1)
        components = new_components
    property_order = _dispatch.zeros_index(0, properties.values)
    sort_properties = "properties" in axes
    if sort_properties:
        properties, property_order = _sorted_labels(properties, descending)
        values = _dispatch.take(values, property_order, -1)

    result = TensorBlock(
        values=values, samples=samples, components=components, properties=properties
    )
    for parameter in block.gradients_list():
        gradient = block.gradient(parameter)
        if len(gradient.gradients_list()) != 0:
            raise NotImplementedError(
                "gradients of gradients are not supported in 'sort'"
            )
        gradient_values = gradient.values
        gradient_samples = gradient.samples
        if sort_samples:
            mapping = _dispatch.inverse_mapping(sample_order, len(block.samples))
            new_sample = _dispatch.take(mapping, gradient_samples.column("sample"), 0)
            rows = _dispatch.with_first_column(gradient_samples.values, new_sample)
            order = _dispatch.argsort_rows(rows, descending)
            gradient_samples = Labels(
                gradient_samples.names, _dispatch.take(rows, order, 0)
            )
            gradient_values = _dispatch.take(gradient_values, order, 0)
        n_extra = len(gradient.components) - len(block.components)
        gradient_components: List[Labels] = []
        for i in range(n_extra):
            # the components that only exist in the gradient (e.g. ``xyz``)
            component = gradient.components[i]
            if sort_components:
                component, order = _sorted_labels(component, descending)
                gradient_values = _dispatch.take(gradient_values, order, i + 1)
            gradient_components.append(component)
        for i in range(len(component_orders)):
            gradient_values = _dispatch.take(
                gradient_values, component_orders[i], n_extra + i + 1
            )
        if sort_properties:
            gradient_values = _dispatch.take(gradient_values, property_order, -1)
        for component in components:
            gradient_components.append(component)
        result.add_gradient(
            parameter,
            TensorBlock(
                values=gradient_values,
                samples=gradient_samples,
                components=gradient_components,
                properties=properties,
            ),
        )
    return result


def sort_block(
    block: TensorBlock, axes: Union[str, List[str]] = "all", descending: bool = False
) -> TensorBlock:
    """Sort the samples, components and/or properties (``axes``, ``"all"`` by
    default) of ``block`` in lexicographic order; gradients follow, and their rows
    are sorted too, as are the components that only exist in gradients

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> samples = Labels(["s"], np.array([[2], [0], [1]]))
    >>> block = TensorBlock(np.array([[2.0], [0.0], [1.0]]), samples, [], Labels.range("p", 1))
    >>> sort_block(block).values.tolist()
    [[0.0], [1.0], [2.0]]
    """
    return _sort_block(block, _axes_list(axes, False), descending)


def sort(
    tensor: TensorMap, axes: Union[str, List[str]] = "all", descending: bool = False
) -> TensorMap:
    """Sort the keys, samples, components and/or properties (``axes``, ``"all"``
    by default) of ``tensor`` in lexicographic order

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> blocks = [
    ...     TensorBlock(np.ones((1, 1)), Labels.range("s", 1), [], Labels.range("p", 1))
    ...     for _ in range(2)
    ... ]
    >>> tensor = TensorMap(Labels(["k"], np.array([[3], [1]])), blocks)
    >>> sort(tensor).keys.values.tolist()
    [[1], [3]]
    """
    selected = _axes_list(axes, True)
    keys = tensor.keys
    order = _dispatch.to_int_list(_dispatch.arange_index(len(keys), keys.values))
    if "keys" in selected:
        keys, key_order = _sorted_labels(keys, descending)
        order = _dispatch.to_int_list(key_order)
    blocks: List[TensorBlock] = []
    for position in order:
        blocks.append(_sort_block(tensor.block_by_id(position), selected, descending))
    return TensorMap(keys, blocks)
