"""Creating TensorMap and TensorBlock: ``block_from_array`` and the ``*_like``
functions, which copy the metadata of an existing map or block."""

from typing import List, Optional, Union

from . import _dispatch
from ._backend import Labels, TensorBlock, TensorMap, torch_jit_is_scripting
from ._utils import check_type


def block_from_array(
    array,
    sample_names: Optional[List[str]] = None,
    component_names: Optional[List[str]] = None,
    property_names: Optional[List[str]] = None,
) -> TensorBlock:
    """Wrap an array in a block, with labels numbering the entries of each axis.

    The first ``len(sample_names)`` axes become the samples (default one axis,
    named ``sample``) and the last ``len(property_names)`` axes the properties
    (default one axis, named ``property``); with several names, these axes are
    flattened and the labels hold every combination of their indices, in C order.
    The axes in between are components, named ``component_names`` (default
    ``component_1, component_2, ...``). The block holds ``array`` itself with one
    sample and one property name, and a reshaped view of it (a copy where numpy or
    torch can not make a view) otherwise.

    :param array: numpy array or torch tensor
    :param sample_names: names of the sample dimensions, one per leading axis
    :param component_names: one name per component axis
    :param property_names: names of the property dimensions, one per trailing
        axis
    :return: a block with values of shape ``(samples, *components, properties)``

    >>> import numpy as np
    >>> block = block_from_array(np.zeros((3, 2, 4)))
    >>> block.samples.names, [c.names for c in block.components], block.properties.names
    (['sample'], [['component_1']], ['property'])
    >>> block = block_from_array(np.zeros((2, 3, 4)), sample_names=["system", "atom"])
    >>> block.values.shape, block.samples.values[:4].tolist()
    ((6, 4), [[0, 0], [0, 1], [0, 2], [1, 0]])
    """
    shape = list(array.shape)
    if sample_names is None:
        sample_names = ["sample"]
    if property_names is None:
        property_names = ["property"]
    n_samples = len(sample_names)
    n_properties = len(property_names)
    if n_samples == 0 or n_properties == 0:
        raise ValueError(
            "'block_from_array' needs at least one sample name and one property name"
        )
    if len(shape) < n_samples + n_properties:
        raise ValueError(
            f"the array in 'block_from_array' does not have enough dimensions: it "
            f"has {len(shape)}, but {n_samples} sample and {n_properties} property "
            "names were given"
        )
    n_components = len(shape) - n_samples - n_properties
    if component_names is None:
        component_names = []
        for i in range(n_components):
            component_names.append(f"component_{i + 1}")
    if len(component_names) != n_components:
        raise ValueError(
            f"'block_from_array' got {len(component_names)} component names for an "
            f"array with {n_components} component axes"
        )
    sample_sizes = shape[:n_samples]
    property_sizes = shape[len(shape) - n_properties :]
    samples = Labels(sample_names, _dispatch.grid_like(sample_sizes, array))
    components: List[Labels] = []
    for i in range(n_components):
        values = _dispatch.range_like(shape[n_samples + i], array)
        components.append(Labels([component_names[i]], values))
    properties = Labels(property_names, _dispatch.grid_like(property_sizes, array))
    values = array
    if n_samples != 1 or n_properties != 1:
        new_shape = [len(samples)] + shape[n_samples : n_samples + n_components]
        new_shape.append(len(properties))
        values = array.reshape(new_shape)
    return TensorBlock(
        values=values,
        samples=samples,
        components=components,
        properties=properties,
    )


def _like_function(kind: str, what: str) -> str:
    """Name of the ``*_like`` function creating ``kind`` values for a ``what``
    ("tensor" or "block")"""
    name = "random_uniform" if kind == "uniform" else kind
    return name + "_like" if what == "tensor" else name + "_like_block"


def _selected_gradients(
    block: TensorBlock, gradients: Optional[Union[List[str], str]], function: str
) -> List[str]:
    if gradients is None:
        return block.gradients_list()
    if isinstance(gradients, str):
        selected = [gradients]
    else:
        selected = gradients
    for parameter in selected:
        if not block.has_gradient(parameter):
            raise ValueError(
                f"requested gradient '{parameter}' in '{function}' is not defined in "
                f"this tensor, available gradients are {block.gradients_list()}"
            )
    return selected


def _like_block(
    block: TensorBlock,
    kind: str,
    gradients: Optional[Union[List[str], str]],
    requires_grad: bool,
    what: str = "block",
) -> TensorBlock:
    """A block like ``block`` with new values (``kind``), inside a ``*_like``
    function for a ``what`` ("tensor" or "block")"""
    function = _like_function(kind, what)
    if not torch_jit_is_scripting() and what == "block":
        check_type(block, TensorBlock, "block", function)
    result = TensorBlock(
        values=_dispatch.new_like(block.values, kind, requires_grad),
        samples=block.samples,
        components=block.components,
        properties=block.properties,
    )
    for parameter in _selected_gradients(block, gradients, function):
        gradient = block.gradient(parameter)
        if len(gradient.gradients_list()) != 0:
            raise NotImplementedError(
                "gradients of gradients are not supported in the '*_like' functions"
            )
        result.add_gradient(
            parameter,
            TensorBlock(
                values=_dispatch.new_like(gradient.values, kind, requires_grad),
                samples=gradient.samples,
                components=gradient.components,
                properties=gradient.properties,
            ),
        )
    return result


def _like(
    tensor: TensorMap,
    kind: str,
    gradients: Optional[Union[List[str], str]],
    requires_grad: bool,
) -> TensorMap:
    if not torch_jit_is_scripting():
        check_type(tensor, TensorMap, "tensor", _like_function(kind, "tensor"))
    blocks: List[TensorBlock] = []
    for block in tensor.blocks():
        blocks.append(_like_block(block, kind, gradients, requires_grad, "tensor"))
    return TensorMap(tensor.keys, blocks)


def empty_like(
    tensor: TensorMap,
    gradients: Optional[Union[List[str], str]] = None,
    requires_grad: bool = False,
) -> TensorMap:
    """A map with the metadata of ``tensor`` and uninitialised values; ``gradients``
    selects the gradients to keep (all by default, a name or a list of names);
    ``requires_grad`` sets the torch autograd flag

    >>> import numpy as np
    >>> from metatensor import Labels, TensorMap
    >>> tensor = TensorMap(Labels.single(), [block_from_array(np.ones((2, 3)))])
    >>> empty_like(tensor).block().shape
    (2, 3)
    """
    return _like(tensor, "empty", gradients, requires_grad)


def empty_like_block(
    block: TensorBlock,
    gradients: Optional[Union[List[str], str]] = None,
    requires_grad: bool = False,
) -> TensorBlock:
    """A block with the metadata of ``block`` and uninitialised values (see
    :py:func:`empty_like`)

    >>> import numpy as np
    >>> empty_like_block(block_from_array(np.ones((2, 3)))).shape
    (2, 3)
    """
    return _like_block(block, "empty", gradients, requires_grad)


def zeros_like(
    tensor: TensorMap,
    gradients: Optional[Union[List[str], str]] = None,
    requires_grad: bool = False,
) -> TensorMap:
    """A map with the metadata of ``tensor`` filled with zeros (see
    :py:func:`empty_like` for the arguments)

    >>> import numpy as np
    >>> from metatensor import Labels, TensorMap
    >>> tensor = TensorMap(Labels.single(), [block_from_array(np.ones((1, 2)))])
    >>> zeros_like(tensor).block().values
    array([[0., 0.]])
    """
    return _like(tensor, "zeros", gradients, requires_grad)


def zeros_like_block(
    block: TensorBlock,
    gradients: Optional[Union[List[str], str]] = None,
    requires_grad: bool = False,
) -> TensorBlock:
    """A block with the metadata of ``block`` filled with zeros

    >>> import numpy as np
    >>> zeros_like_block(block_from_array(np.ones((1, 2)))).values
    array([[0., 0.]])
    """
    return _like_block(block, "zeros", gradients, requires_grad)


def ones_like(
    tensor: TensorMap,
    gradients: Optional[Union[List[str], str]] = None,
    requires_grad: bool = False,
) -> TensorMap:
    """A map with the metadata of ``tensor`` filled with ones (see
    :py:func:`empty_like` for the arguments)

    >>> import numpy as np
    >>> from metatensor import Labels, TensorMap
    >>> tensor = TensorMap(Labels.single(), [block_from_array(np.zeros((1, 2)))])
    >>> ones_like(tensor).block().values
    array([[1., 1.]])
    """
    return _like(tensor, "ones", gradients, requires_grad)


def ones_like_block(
    block: TensorBlock,
    gradients: Optional[Union[List[str], str]] = None,
    requires_grad: bool = False,
) -> TensorBlock:
    """A block with the metadata of ``block`` filled with ones

    >>> import numpy as np
    >>> ones_like_block(block_from_array(np.zeros((1, 2)))).values
    array([[1., 1.]])
    """
    return _like_block(block, "ones", gradients, requires_grad)


def random_uniform_like(
    tensor: TensorMap,
    gradients: Optional[Union[List[str], str]] = None,
    requires_grad: bool = False,
) -> TensorMap:
    """A map with the metadata of ``tensor`` and values drawn uniformly in [0, 1)
    (see :py:func:`empty_like` for the arguments)

    >>> import numpy as np
    >>> from metatensor import Labels, TensorMap
    >>> tensor = TensorMap(Labels.single(), [block_from_array(np.zeros((5, 2)))])
    >>> values = random_uniform_like(tensor).block().values
    >>> bool(((values >= 0) & (values < 1)).all())
    True
    """
    return _like(tensor, "uniform", gradients, requires_grad)


def random_uniform_like_block(
    block: TensorBlock,
    gradients: Optional[Union[List[str], str]] = None,
    requires_grad: bool = False,
) -> TensorBlock:
    """A block with the metadata of ``block`` and values drawn uniformly in [0, 1)

    >>> import numpy as np
    >>> random_uniform_like_block(block_from_array(np.zeros((5, 2)))).shape
    (5, 2)
    """
    return _like_block(block, "uniform", gradients, requires_grad)
