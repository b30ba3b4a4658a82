"""Creating TensorMap and TensorBlock: ``block_from_array`` and the ``*_like``
functions, which copy the metadata of an existing map or block."""

from typing import List, Optional, Union

from . import _dispatch
from ._backend import Labels, TensorBlock, TensorMap, torch_jit_is_scripting


def block_from_array(
    array,
    sample_names: Optional[List[str]] = None,
    component_names: Optional[List[str]] = None,
    property_names: Optional[List[str]] = None,
) -> TensorBlock:
    """Wrap an array of at least two dimensions in a block, with labels numbering
    the entries of each axis: samples named ``sample`` (or ``sample_names``),
    components ``component_1, component_2, ...`` and properties ``property``. The
    array is not copied.

    :param array: numpy array or torch tensor, at least 2-D
    :param sample_names: name of the sample dimension, as a list of one name
        (default ``["sample"]``)
    :param component_names: one name per component axis
    :param property_names: name of the property dimension, as a list of one name
        (default ``["property"]``)
    :return: a block sharing ``array``

    >>> import numpy as np
    >>> block = block_from_array(np.zeros((3, 2, 4)))
    >>> block.samples.names, [c.names for c in block.components], block.properties.names
    (['sample'], [['component_1']], ['property'])
    """
    shape = array.shape
    if len(shape) < 2:
        raise ValueError(
            f"the array in 'block_from_array' must have at least two dimensions, "
            f"got {len(shape)}"
        )
    if sample_names is None:
        sample_names = ["sample"]
    if property_names is None:
        property_names = ["property"]
    if component_names is None:
        component_names = []
        for i in range(len(shape) - 2):
            component_names.append(f"component_{i + 1}")
    if len(component_names) != len(shape) - 2:
        raise ValueError(
            f"'block_from_array' got {len(component_names)} component names for an "
            f"array with {len(shape) - 2} component axes"
        )
    if len(sample_names) != 1 or len(property_names) != 1:
        raise ValueError(
            "'block_from_array' needs exactly one sample name and one property name"
        )
    samples = Labels(sample_names, _dispatch.range_like(shape[0], array))
    components: List[Labels] = []
    for i in range(len(component_names)):
        values = _dispatch.range_like(shape[i + 1], array)
        components.append(Labels([component_names[i]], values))
    properties = Labels(property_names, _dispatch.range_like(shape[-1], array))
    return TensorBlock(
        values=array, samples=samples, components=components, properties=properties
    )


def _selected_gradients(
    block: TensorBlock, gradients: Optional[Union[List[str], str]]
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
                f"requested gradient '{parameter}' is not defined in this block, "
                f"available gradients are {block.gradients_list()}"
            )
    return selected


def _like_block(
    block: TensorBlock,
    kind: str,
    gradients: Optional[Union[List[str], str]],
    requires_grad: bool,
) -> TensorBlock:
    result = TensorBlock(
        values=_dispatch.new_like(block.values, kind, requires_grad),
        samples=block.samples,
        components=block.components,
        properties=block.properties,
    )
    for parameter in _selected_gradients(block, gradients):
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
        if not isinstance(tensor, TensorMap):
            raise TypeError(
                f"`tensor` must be a TensorMap, got {type(tensor).__name__}"
            )
    blocks: List[TensorBlock] = []
    for block in tensor.blocks():
        blocks.append(_like_block(block, kind, gradients, requires_grad))
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
