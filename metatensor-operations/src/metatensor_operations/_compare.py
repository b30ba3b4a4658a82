"""Comparisons of TensorMap and TensorBlock: ``equal``, ``allclose`` and
``equal_metadata``, each as a bool function, a ``_raise`` function raising
:py:class:`NotEqualError` with what differs first, and ``_block`` versions.

All of them go through one ``*_impl`` function returning ``""`` or the message
saying what differs first (TorchScript can not catch exceptions, so the bool
forms never use them for control flow). Blocks are compared metadata first, then
values; gradients (and gradients of gradients) are visited breadth-first, in the
order of the first input's ``gradients_list()``.

These functions always compare, even when the metadata checks of the other
operations are disabled with :py:func:`unsafe_disable_checks`: comparing is their
whole purpose.
"""

from typing import List, Optional, Tuple, Union

from . import _dispatch
from ._backend import Labels, TensorBlock, TensorMap, torch_jit_is_scripting
from ._utils import (
    NotEqualError,
    _check_blocks_impl,
    _check_same_gradient_parameters_impl,
    _check_same_keys_impl,
    check_type,
)


def _all_axes() -> List[str]:
    return ["samples", "components", "properties"]


def _check_maps(first: TensorMap, second: TensorMap, function: str):
    """Eager-only: both inputs must be TensorMap"""
    if not torch_jit_is_scripting():
        check_type(first, TensorMap, "tensor_1", function)
        check_type(second, TensorMap, "tensor_2", function)


def _check_blocks(first: TensorBlock, second: TensorBlock, function: str):
    """Eager-only: both inputs must be TensorBlock"""
    if not torch_jit_is_scripting():
        check_type(first, TensorBlock, "block_1", function)
        check_type(second, TensorBlock, "block_2", function)


def _axes(check: Optional[Union[str, List[str]]], function: str) -> List[str]:
    """The axes to compare, from the ``check`` argument of ``equal_metadata``: "all"
    (or None) means samples, components and properties; a single axis name or a
    list (a tuple too, in Python) of them select some"""
    if not torch_jit_is_scripting():
        if not (check is None or isinstance(check, (str, list, tuple))):
            raise TypeError(
                f"`check` in '{function}' must be a string or a list of strings, "
                f"got {type(check).__name__}"
            )
    axes: List[str] = []
    if check is None:
        return _all_axes()
    elif isinstance(check, str):
        if check == "all":
            return _all_axes()
        axes.append(check)
    else:
        for axis in check:
            axes.append(axis)
    for axis in axes:
        if axis != "samples" and axis != "components" and axis != "properties":
            raise ValueError(
                f"'{axis}' does not refer to metadata to check, choose from "
                f"'samples', 'properties' and 'components' (or 'all', in '{function}')"
            )
    return axes


def _values_impl(
    a: _dispatch.Array,
    b: _dispatch.Array,
    function: str,
    exact: bool,
    rtol: float,
    atol: float,
    equal_nan: bool,
    what: str,
) -> str:
    """Compare two arrays of the same shape by value (an integer and a floating
    point array can be equal); mixing numpy and torch raises. ``what`` names the
    arrays in the message (``"values"`` or ``"gradient 'g' values"``)"""
    _dispatch.check_same_backend(a, b, function)
    device_1 = _dispatch.device_name(a)
    device_2 = _dispatch.device_name(b)
    if device_1 != device_2:
        return (
            f"inputs to '{function}' should be on the same device: {what} are on "
            f"{device_1} and {device_2}"
        )
    if exact:
        if not _dispatch.array_equal(a, b):
            return f"{what} are not equal"
    elif not _dispatch.allclose(a, b, rtol, atol, equal_nan):
        return f"{what} are not allclose (rtol={rtol}, atol={atol})"
    return ""


def _labels_message(first: Labels, second: Labels, what: str, prefix: str) -> str:
    """``""`` when the labels are the same, else the message of equal/allclose
    saying that the ``what`` (samples, components, properties) differ"""
    if first.names == second.names and first == second:
        return ""
    message = f"{prefix} {what} are not the same or not in the same order"
    if first.names != second.names:
        message += f", got names {first.names} and {second.names}"
    return message


def _compared_metadata_impl(
    first: TensorBlock, second: TensorBlock, function: str, gradient: str
) -> str:
    """The metadata check of equal and allclose, in upstream's words: samples,
    then the shape of the values, then components and properties. ``gradient``
    is the gradient parameter of these blocks (``""`` for the values)"""
    if gradient == "":
        prefix = f"inputs to '{function}' should have the same"
        what = "values"
        but = ", but they"
    else:
        prefix = (
            f"inputs to '{function}' should have the same gradients: "
            f"gradient '{gradient}'"
        )
        what = f"gradient '{gradient}' values"
        but = ""
    message = _labels_message(first.samples, second.samples, "samples" + but, prefix)
    if message != "":
        return message
    shape_1 = list(first.values.shape)
    shape_2 = list(second.values.shape)
    if shape_1 != shape_2:
        return f"{what} shapes are different, got {shape_1} and {shape_2}"
    components_1 = first.components
    components_2 = second.components
    for i in range(len(components_1)):
        message = _labels_message(
            components_1[i], components_2[i], "components" + but, prefix
        )
        if message != "":
            return message
    return _labels_message(
        first.properties, second.properties, "properties" + but, prefix
    )


def _blocks_impl(
    first: TensorBlock,
    second: TensorBlock,
    function: str,
    check: List[str],
    check_gradients: bool,
    compare_values: bool,
    exact: bool,
    rtol: float,
    atol: float,
    equal_nan: bool,
    where: str,
) -> str:
    """Compare two blocks: the metadata on the ``check`` axes, then the values
    (if ``compare_values``, exactly or within tolerances), then the same for all
    gradients, recursively (with a queue: TorchScript has no recursion).
    ``where`` says which block this is in the messages of ``equal_metadata``"""
    # blocks, their gradient parameter ("" for the values, "g/h" for gradients of
    # gradients) and where they are for the messages
    queue: List[Tuple[TensorBlock, TensorBlock, str, str]] = [
        (first, second, "", where)
    ]
    index = 0
    while index < len(queue):
        block_1, block_2, gradient, location = queue[index]
        index += 1
        if compare_values:
            message = _compared_metadata_impl(block_1, block_2, function, gradient)
            if message != "":
                return message
            what = "values" if gradient == "" else f"gradient '{gradient}' values"
            message = _values_impl(
                block_1.values,
                block_2.values,
                function,
                exact,
                rtol,
                atol,
                equal_nan,
                what,
            )
        else:
            message = _check_blocks_impl(block_1, block_2, function, check, location)
        if message != "":
            return message
        if check_gradients:
            message = _check_same_gradient_parameters_impl(
                block_1, block_2, function, location
            )
            if message != "":
                return message
            for parameter in block_1.gradients_list():
                path = parameter if gradient == "" else f"{gradient}/{parameter}"
                queue.append(
                    (
                        block_1.gradient(parameter),
                        block_2.gradient(parameter),
                        path,
                        f"{location} for the '{parameter}' gradients",
                    )
                )
    return ""


def _tensors_impl(
    first: TensorMap,
    second: TensorMap,
    function: str,
    check: List[str],
    check_gradients: bool,
    compare_values: bool,
    exact: bool,
    rtol: float,
    atol: float,
    equal_nan: bool,
) -> str:
    """Compare two maps: same keys in any order, then block by block"""
    message = _check_same_keys_impl(first, second, function)
    if message != "":
        return message
    same_order = first.keys == second.keys
    for i in range(len(first.keys)):
        entry = first.keys.entry(i)
        position: Optional[int] = None
        if same_order:
            position = i
        else:
            position = second.keys.position(entry)
        if position is None:
            return f"inputs to '{function}' should have the same keys"
        message = _blocks_impl(
            first.block_by_id(i),
            second.block_by_id(position),
            function,
            check,
            check_gradients,
            compare_values,
            exact,
            rtol,
            atol,
            equal_nan,
            f" for the block at key {entry.print()}",
        )
        if message != "":
            if compare_values:
                return f"blocks for key {entry.print()} are different: {message}"
            return message
    return ""


def _raise(message: str):
    if message != "":
        raise NotEqualError(message)


# ================================================================================ #
# equal


def _equal_impl(tensor_1: TensorMap, tensor_2: TensorMap, function: str) -> str:
    _check_maps(tensor_1, tensor_2, function)
    return _tensors_impl(
        tensor_1, tensor_2, function, _all_axes(), True, True, True, 0.0, 0.0, False
    )


def _equal_block_impl(block_1: TensorBlock, block_2: TensorBlock, function: str) -> str:
    _check_blocks(block_1, block_2, function)
    return _blocks_impl(
        block_1, block_2, "equal", _all_axes(), True, True, True, 0.0, 0.0, False, ""
    )


def equal(tensor_1: TensorMap, tensor_2: TensorMap) -> bool:
    """Whether two TensorMap are exactly equal.

    They must have the same keys (in any order) and, for each key, blocks with the
    same samples, components and properties (in the same order), the same values
    (same array kind and device, and exact values compared by value whatever the
    dtype: NaN differs from everything, like in ``numpy.array_equal``), and the
    same gradients, compared the same way, recursively. This is what ``tensor_1 == tensor_2`` calls.

    :param tensor_1: first TensorMap
    :param tensor_2: second TensorMap
    :return: True if the maps are equal, False otherwise
    :raises TypeError: if one map holds numpy arrays and the other torch tensors

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> equal(tensor, tensor.copy())
    True
    >>> equal(tensor, tensor + 1.0)
    False
    """
    return _equal_impl(tensor_1, tensor_2, "equal") == ""


def equal_raise(tensor_1: TensorMap, tensor_2: TensorMap):
    """Check that two TensorMap are exactly equal (see :py:func:`equal`), raising
    :py:class:`NotEqualError` saying what differs first otherwise: the keys, or
    for which key, which axis or the values, and in which gradient.

    :param tensor_1: first TensorMap
    :param tensor_2: second TensorMap
    :raises NotEqualError: if the maps differ
    :raises TypeError: if one map holds numpy arrays and the other torch tensors

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> equal_raise(tensor, tensor + 1.0)
    Traceback (most recent call last):
      ...
    metatensor_operations._utils.NotEqualError: blocks for key (_=0) are different: values are not equal
    """  # noqa: E501
    _raise(_equal_impl(tensor_1, tensor_2, "equal"))


def equal_block(block_1: TensorBlock, block_2: TensorBlock) -> bool:
    """Whether two TensorBlock are exactly equal: same samples, components and
    properties, same values (array kind, device and values, by value) and same
    gradients, recursively. This is what ``block_1 == block_2`` calls.

    :param block_1: first TensorBlock
    :param block_2: second TensorBlock
    :return: True if the blocks are equal, False otherwise
    :raises TypeError: if one block holds a numpy array and the other a torch tensor

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> equal_block(block, block.copy())
    True
    """
    return _equal_block_impl(block_1, block_2, "equal_block") == ""


def equal_block_raise(block_1: TensorBlock, block_2: TensorBlock):
    """Check that two TensorBlock are exactly equal (see :py:func:`equal_block`),
    raising :py:class:`NotEqualError` saying what differs first otherwise.

    :param block_1: first TensorBlock
    :param block_2: second TensorBlock
    :raises NotEqualError: if the blocks differ
    :raises TypeError: if one block holds a numpy array and the other a torch tensor

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> other = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("q", 2))
    >>> equal_block_raise(block, other)
    Traceback (most recent call last):
      ...
    metatensor_operations._utils.NotEqualError: inputs to 'equal' should have the same properties, but they are not the same or not in the same order, got names ['p'] and ['q']
    """  # noqa: E501
    _raise(_equal_block_impl(block_1, block_2, "equal_block"))


# ================================================================================ #
# allclose


def _allclose_impl(
    tensor_1: TensorMap,
    tensor_2: TensorMap,
    rtol: float,
    atol: float,
    equal_nan: bool,
    function: str,
) -> str:
    _check_maps(tensor_1, tensor_2, function)
    return _tensors_impl(
        tensor_1,
        tensor_2,
        function,
        _all_axes(),
        True,
        True,
        False,
        float(rtol),
        float(atol),
        equal_nan,
    )


def _allclose_block_impl(
    block_1: TensorBlock,
    block_2: TensorBlock,
    rtol: float,
    atol: float,
    equal_nan: bool,
    function: str,
) -> str:
    _check_blocks(block_1, block_2, function)
    return _blocks_impl(
        block_1,
        block_2,
        "allclose",
        _all_axes(),
        True,
        True,
        False,
        float(rtol),
        float(atol),
        equal_nan,
        "",
    )


def allclose(
    tensor_1: TensorMap,
    tensor_2: TensorMap,
    rtol: float = 1e-13,
    atol: float = 1e-12,
    equal_nan: bool = False,
) -> bool:
    """Whether two TensorMap have the same metadata and close values.

    The keys must be the same (in any order); for each key, the blocks must have
    the same samples, components, properties and gradients (as in
    :py:func:`equal`), the same array kind and device, and values (by value, whatever the dtype) (and
    gradient values) close element-wise, as in ``numpy.allclose``:

    .. math::

        |a - b| \\leq \\text{atol} + \\text{rtol} \\, |b|

    :param tensor_1: first TensorMap (``a``)
    :param tensor_2: second TensorMap (``b``)
    :param rtol: relative tolerance
    :param atol: absolute tolerance
    :param equal_nan: whether NaN values at the same place count as close
    :return: True if the maps are close, False otherwise
    :raises TypeError: if one map holds numpy arrays and the other torch tensors

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> allclose(tensor, tensor + 1e-14)
    True
    >>> allclose(tensor, tensor + 1e-6)
    False
    >>> allclose(tensor, tensor + 1e-6, atol=1e-5)
    True
    """
    return _allclose_impl(tensor_1, tensor_2, rtol, atol, equal_nan, "allclose") == ""


def allclose_raise(
    tensor_1: TensorMap,
    tensor_2: TensorMap,
    rtol: float = 1e-13,
    atol: float = 1e-12,
    equal_nan: bool = False,
):
    """Check that two TensorMap have the same metadata and close values (see
    :py:func:`allclose`), raising :py:class:`NotEqualError` saying what differs
    first otherwise.

    :param tensor_1: first TensorMap
    :param tensor_2: second TensorMap
    :param rtol: relative tolerance
    :param atol: absolute tolerance
    :param equal_nan: whether NaN values at the same place count as close
    :raises NotEqualError: if the maps differ
    :raises TypeError: if one map holds numpy arrays and the other torch tensors

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> allclose_raise(tensor, tensor + 1e-6)
    Traceback (most recent call last):
      ...
    metatensor_operations._utils.NotEqualError: blocks for key (_=0) are different: values are not allclose (rtol=1e-13, atol=1e-12)
    """  # noqa: E501
    _raise(_allclose_impl(tensor_1, tensor_2, rtol, atol, equal_nan, "allclose"))


def allclose_block(
    block_1: TensorBlock,
    block_2: TensorBlock,
    rtol: float = 1e-13,
    atol: float = 1e-12,
    equal_nan: bool = False,
) -> bool:
    """Whether two TensorBlock have the same metadata and gradients, and close
    values and gradient values (see :py:func:`allclose`).

    :param block_1: first TensorBlock
    :param block_2: second TensorBlock
    :param rtol: relative tolerance
    :param atol: absolute tolerance
    :param equal_nan: whether NaN values at the same place count as close
    :return: True if the blocks are close, False otherwise
    :raises TypeError: if one block holds a numpy array and the other a torch tensor

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> allclose_block(block, block.copy())
    True
    """
    message = _allclose_block_impl(
        block_1, block_2, rtol, atol, equal_nan, "allclose_block"
    )
    return message == ""


def allclose_block_raise(
    block_1: TensorBlock,
    block_2: TensorBlock,
    rtol: float = 1e-13,
    atol: float = 1e-12,
    equal_nan: bool = False,
):
    """Check that two TensorBlock have the same metadata and close values (see
    :py:func:`allclose_block`), raising :py:class:`NotEqualError` saying what
    differs first otherwise.

    :param block_1: first TensorBlock
    :param block_2: second TensorBlock
    :param rtol: relative tolerance
    :param atol: absolute tolerance
    :param equal_nan: whether NaN values at the same place count as close
    :raises NotEqualError: if the blocks differ
    :raises TypeError: if one block holds a numpy array and the other a torch tensor

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> allclose_block_raise(block, block.copy(), rtol=1e-8)
    """
    _raise(
        _allclose_block_impl(block_1, block_2, rtol, atol, equal_nan, "allclose_block")
    )


# ================================================================================ #
# equal_metadata


def _equal_metadata_impl(
    tensor_1: TensorMap,
    tensor_2: TensorMap,
    check: Optional[Union[str, List[str]]],
    check_gradients: bool,
    function: str,
) -> str:
    _check_maps(tensor_1, tensor_2, function)
    axes = _axes(check, function)
    return _tensors_impl(
        tensor_1,
        tensor_2,
        function,
        axes,
        check_gradients,
        False,
        True,
        0.0,
        0.0,
        False,
    )


def _equal_metadata_block_impl(
    block_1: TensorBlock,
    block_2: TensorBlock,
    check: Optional[Union[str, List[str]]],
    check_gradients: bool,
    function: str,
) -> str:
    _check_blocks(block_1, block_2, function)
    axes = _axes(check, function)
    return _blocks_impl(
        block_1,
        block_2,
        function,
        axes,
        check_gradients,
        False,
        True,
        0.0,
        0.0,
        False,
        "",
    )


def equal_metadata(
    tensor_1: TensorMap,
    tensor_2: TensorMap,
    check: Optional[Union[str, List[str]]] = "all",
    check_gradients: bool = True,
) -> bool:
    """Whether two TensorMap have the same metadata; values are not compared.

    The keys must be the same (in any order) and, for each key, the blocks must
    have the same labels (names and entries, in the same order) on the ``check``
    axes. With ``check_gradients``, the blocks must also have gradients with
    respect to the same parameters, with the same labels on the ``check`` axes,
    recursively (gradient samples are compared when ``"samples"`` is checked).

    :param tensor_1: first TensorMap
    :param tensor_2: second TensorMap
    :param check: the axes to compare: ``"all"`` (the default, also ``None``), or
        one of ``"samples"``, ``"components"``, ``"properties"``, or a list or
        tuple of them (an empty list compares only the keys and the gradient
        parameters)
    :param check_gradients: whether to compare the gradients too
    :return: True if the metadata is the same, False otherwise
    :raises ValueError: if ``check`` names another axis

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> tensor = TensorMap(Labels.single(), [block])
    >>> equal_metadata(tensor, tensor + 1.0)
    True
    >>> equal_metadata(tensor, tensor, check=["samples", "properties"])
    True
    """
    message = _equal_metadata_impl(
        tensor_1, tensor_2, check, check_gradients, "equal_metadata"
    )
    return message == ""


def equal_metadata_raise(
    tensor_1: TensorMap,
    tensor_2: TensorMap,
    check: Optional[Union[str, List[str]]] = "all",
    check_gradients: bool = True,
):
    """Check that two TensorMap have the same metadata (see
    :py:func:`equal_metadata`), raising :py:class:`NotEqualError` saying what
    differs first otherwise.

    :param tensor_1: first TensorMap
    :param tensor_2: second TensorMap
    :param check: the axes to compare, see :py:func:`equal_metadata`
    :param check_gradients: whether to compare the gradients too
    :raises NotEqualError: if the metadata differs
    :raises ValueError: if ``check`` names another axis

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock, TensorMap
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> other = TensorMap(Labels.range("key", 1), [block.copy()])
    >>> equal_metadata_raise(TensorMap(Labels.single(), [block]), other)
    Traceback (most recent call last):
      ...
    metatensor_operations._utils.NotEqualError: inputs to 'equal_metadata' should have the same keys names, got ['_'] and ['key']
    """  # noqa: E501
    _raise(
        _equal_metadata_impl(
            tensor_1, tensor_2, check, check_gradients, "equal_metadata"
        )
    )


def equal_metadata_block(
    block_1: TensorBlock,
    block_2: TensorBlock,
    check: Optional[Union[str, List[str]]] = "all",
    check_gradients: bool = True,
) -> bool:
    """Whether two TensorBlock have the same metadata on the ``check`` axes, and
    the same gradients' metadata when ``check_gradients`` (see
    :py:func:`equal_metadata`); values are not compared.

    :param block_1: first TensorBlock
    :param block_2: second TensorBlock
    :param check: the axes to compare, see :py:func:`equal_metadata`
    :param check_gradients: whether to compare the gradients too
    :return: True if the metadata is the same, False otherwise
    :raises ValueError: if ``check`` names another axis

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> other = TensorBlock(np.zeros((1, 2)), Labels.range("t", 1), [], Labels.range("p", 2))
    >>> equal_metadata_block(block, other)
    False
    >>> equal_metadata_block(block, other, check="properties")
    True
    """
    message = _equal_metadata_block_impl(
        block_1, block_2, check, check_gradients, "equal_metadata_block"
    )
    return message == ""


def equal_metadata_block_raise(
    block_1: TensorBlock,
    block_2: TensorBlock,
    check: Optional[Union[str, List[str]]] = "all",
    check_gradients: bool = True,
):
    """Check that two TensorBlock have the same metadata (see
    :py:func:`equal_metadata_block`), raising :py:class:`NotEqualError` saying
    what differs first otherwise.

    :param block_1: first TensorBlock
    :param block_2: second TensorBlock
    :param check: the axes to compare, see :py:func:`equal_metadata`
    :param check_gradients: whether to compare the gradients too
    :raises NotEqualError: if the metadata differs
    :raises ValueError: if ``check`` names another axis

    >>> import numpy as np
    >>> from metatensor import Labels, TensorBlock
    >>> block = TensorBlock(np.ones((1, 2)), Labels.range("s", 1), [], Labels.range("p", 2))
    >>> other = TensorBlock(np.zeros((1, 2)), Labels.range("t", 1), [], Labels.range("p", 2))
    >>> equal_metadata_block_raise(block, other)
    Traceback (most recent call last):
      ...
    metatensor_operations._utils.NotEqualError: inputs to 'equal_metadata_block_raise' should have the same samples names, got ['s'] and ['t']
    """  # noqa: E501
    _raise(
        _equal_metadata_block_impl(
            block_1, block_2, check, check_gradients, "equal_metadata_block_raise"
        )
    )
