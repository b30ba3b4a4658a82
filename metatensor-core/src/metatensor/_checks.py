"""Checks of block and map metadata, and their messages, written once for
metatensor-core and metatensor-torch.

The functions take plain values (lists of names, shapes and sizes as ints, device
and dtype names) and return the message of the error, ``None`` when all is fine.
Conditions that need the arrays themselves (comparing Labels, dtypes) are
decided by the caller, which then takes the message from an ``*_error`` function.
Each package raises the message with its own exception class, as upstream does:

* *data* errors (upstream raises them from its C library, with the
  ``invalid parameter:`` prefix) are :py:class:`MetatensorError` in
  metatensor-core and :py:class:`RuntimeError` in metatensor-torch;
* *argument* errors are :py:class:`ValueError` in both.

metatensor-torch compiles these functions into its TorchScript classes (and so
into the archives of the models using them): the code here sticks to what
TorchScript accepts (annotated arguments, no comprehension with ``if``, no
module-level containers, lists written with :py:func:`names_text` since
TorchScript's ``str`` of a list does not quote the items).
"""

from typing import List, Optional


def _invalid(message: str) -> str:
    """A data error message, with the prefix of upstream's C library"""
    return "invalid parameter: " + message


def names_text(names: List[str]) -> str:
    """``names`` written as Python writes a list of str: ``['a', 'b']``"""
    quoted: List[str] = []
    for name in names:
        quoted.append("'" + name + "'")
    return "[" + ", ".join(quoted) + "]"


def device_name(device: str) -> str:
    """The DLPack name of a device (``"cuda:1"`` gives ``'CUDA:1'``), as upstream
    writes devices in its messages; devices without a DLPack type (``meta``) are
    ``'ExtDev'``"""
    parts = device.split(":")
    kind = parts[0]
    index = "0"
    if len(parts) > 1:
        index = parts[1]
    if kind == "cpu":
        name = "CPU"
    elif kind == "cuda":
        name = "CUDA"
    elif kind == "mps":
        name = "Metal"
    elif kind == "xpu":
        name = "OneAPI"
    elif kind == "hip":
        name = "ROCM"
    else:
        name = "ExtDev"
    return "'" + name + ":" + index + "'"


def _two_devices(first: str, second: str) -> str:
    """Two devices, by their DLPack names and then by torch's"""
    return (
        device_name(first)
        + " and "
        + device_name(second)
        + " ("
        + first
        + " and "
        + second
        + ")"
    )


def _duplicated(names: List[str]) -> bool:
    for i in range(len(names)):
        for j in range(i):
            if names[i] == names[j]:
                return True
    return False


# ==================================================================================== #
# TensorBlock constructor (data errors)


def block_components(names: List[List[str]]) -> Optional[str]:
    """The names of the component Labels (one list per component): a single
    dimension each, different from each other"""
    seen: List[str] = []
    for component in names:
        if len(component) != 1:
            return _invalid(
                "component labels must have a single dimension, got "
                + str(len(component))
                + ": "
                + names_text(component)
            )
        if component[0] in seen:
            return _invalid(
                "component names must be unique, got '"
                + component[0]
                + "' multiple times"
            )
        seen.append(component[0])
    return None


def block_shape(
    shape: List[int], sizes: List[int], components: List[List[str]]
) -> Optional[str]:
    """The ``shape`` of the values against the ``sizes`` of the Labels of each
    axis (samples, components named in ``components``, properties)"""
    if shape == sizes:
        return None
    n_components = len(components)
    if len(shape) != n_components + 2:
        return _invalid(
            "the values must have "
            + str(n_components + 2)
            + " dimensions for "
            + str(n_components)
            + " components, got an array of shape "
            + str(shape)
        )
    for axis in range(len(shape)):
        if shape[axis] != sizes[axis]:
            if axis == 0:
                entries = " sample label entries"
            elif axis == n_components + 1:
                entries = " property label entries"
            else:
                entries = " entries for the '" + components[axis - 1][0] + "' component"
            return _invalid(
                "the values shape along axis "
                + str(axis)
                + " is "
                + str(shape[axis])
                + " but we have "
                + str(sizes[axis])
                + entries
            )
    return None


def _labels_device(values: str, axis: str, labels: str) -> Optional[str]:
    if labels == values:
        return None
    return _invalid(
        "invalid block: values and "
        + axis
        + " must be on the same device, got "
        + _two_devices(values, labels)
    )


def block_devices(
    values: str, samples: str, components: List[str], properties: str
) -> Optional[str]:
    """The devices of the samples, components and properties Labels against the
    device of the values"""
    same = samples == values and properties == values
    for component in components:
        same = same and component == values
    if same:
        return None
    message = _labels_device(values, "samples", samples)
    for component in components:
        if message is None:
            message = _labels_device(values, "components", component)
    if message is None:
        message = _labels_device(values, "properties", properties)
    return message


# ==================================================================================== #
# TensorBlock.add_gradient (data errors)


def _gradient_context(parameter: str) -> str:
    return " (for the gradient with respect to '" + parameter + "')"


def gradient_sample_names(parameter: str, names: List[str]) -> Optional[str]:
    """The names of the gradient samples start with ``"sample"``"""
    if len(names) == 0:
        return _invalid(
            "gradients samples must have at least one dimension, named 'sample', "
            + "we got none"
            + _gradient_context(parameter)
        )
    if names[0] != "sample":
        return _invalid(
            "invalid gradient samples for '"
            + parameter
            + "': the first dimension must be 'sample', got "
            + names_text(names)
        )
    return None


def gradient_sample_range(
    parameter: str, low: int, high: int, n_samples: int
) -> Optional[str]:
    """The lowest and highest values of the ``"sample"`` dimension of the gradient
    samples are rows of the values"""
    if low < 0:
        problem = "all values should be positive, but we got " + str(low)
    elif high >= n_samples:
        problem = "we got " + str(high) + ", but the values contain " + str(n_samples)
        problem += " samples"
    else:
        return None
    return _invalid(
        "invalid value for the 'sample' dimension in gradient samples: "
        + problem
        + _gradient_context(parameter)
    )


def gradient_components_error(
    parameter: str, gradient: List[str], values: List[str]
) -> str:
    """The gradient components (named ``gradient``) are not the components of the
    values (named ``values``) with gradient-specific components in front"""
    return _invalid(
        "invalid gradient components for '"
        + parameter
        + "': they must be the components of the values with gradient-specific "
        + "components in front, got "
        + names_text(gradient)
        + " for values with "
        + names_text(values)
    )


def gradient_properties_error(parameter: str) -> str:
    """The gradient properties differ from the properties of the values"""
    return _invalid(
        "invalid gradient properties for '"
        + parameter
        + "': they must be the same as the values properties"
    )


def gradient_dtype_error(parameter: str, gradient: str, values: str) -> str:
    """The gradient values have another dtype than the values (dtype names as
    upstream writes them, ``f64``)"""
    return _invalid(
        "the gradient values have dtype '"
        + gradient
        + "' but the block values have dtype '"
        + values
        + "'"
        + _gradient_context(parameter)
    )


def gradient_device(parameter: str, gradient: str, values: str) -> Optional[str]:
    """The gradient values are on the device of the values"""
    if gradient == values:
        return None
    return _invalid(
        "the gradient values are on device "
        + device_name(gradient)
        + " but the block values are on device "
        + device_name(values)
        + " ("
        + gradient
        + " and "
        + values
        + ", for the gradient with respect to '"
        + parameter
        + "')"
    )


# ==================================================================================== #
# TensorMap constructor (data errors)


def tensor_blocks_count(n_keys: int, n_blocks: int) -> Optional[str]:
    """One block for each entry of the keys"""
    if n_keys == n_blocks:
        return None
    return _invalid(
        "expected the same number of blocks and keys, got "
        + str(n_blocks)
        + " blocks and "
        + str(n_keys)
        + " keys"
    )


def tensor_device(keys: str, block: str) -> Optional[str]:
    """A block is on the device of the keys"""
    if keys == block:
        return None
    return _invalid(
        "invalid tensor map: all blocks must be on the same device as the keys, "
        + "got keys on "
        + device_name(keys)
        + " ("
        + keys
        + ") and a block on "
        + device_name(block)
        + " ("
        + block
        + ")"
    )


def tensor_dtypes_error(first: str, other: str) -> str:
    """Two blocks have different dtypes (names as upstream writes them, ``f64``)"""
    return _invalid(
        "invalid tensor map: got blocks with different dtypes, at least '"
        + first
        + "' and '"
        + other
        + "' were detected"
    )


def tensor_block_names(
    first: List[List[str]], block: List[List[str]], where: str
) -> Optional[str]:
    """The sample, component and property names (three lists) of a block against
    the ones of the first block; ``where`` ends the message (``" in the
    'positions' gradients"``)"""
    if first[0] == block[0] and first[1] == block[1] and first[2] == block[2]:
        return None
    for i in range(3):
        if first[i] != block[i]:
            kinds = ["sample", "component", "property"]
            return _invalid(
                "all blocks must have the same "
                + kinds[i]
                + " names"
                + where
                + ", got "
                + names_text(first[i])
                + " and "
                + names_text(block[i])
            )
    return None


def tensor_gradients(first: List[str], block: List[str], where: str) -> Optional[str]:
    """The gradient parameters of a block against the ones of the first block, in
    any order; ``where`` ends the message (as in :py:func:`tensor_block_names`)"""
    if first == block:
        return None
    first = sorted(first)
    block = sorted(block)
    if first == block:
        return None
    return _invalid(
        "all blocks must have the same gradients"
        + where
        + ", got "
        + names_text(first)
        + " and "
        + names_text(block)
    )


# ==================================================================================== #
# keys_to_samples, keys_to_properties and components_to_properties


def names_to_move(
    argument: str, function: str, names: List[str], what: str
) -> Optional[str]:
    """Argument error: ``names`` (the ``argument`` of ``function``, naming
    ``what``, a key or a component) is not empty and without duplicates"""
    if len(names) == 0:
        return "`" + argument + "` in " + function + " must name at least one " + what
    if _duplicated(names):
        return "`" + argument + "` in " + function + " contains duplicated names"
    return None


def keys_to_move(names: List[str], keys: List[str], n_blocks: int) -> Optional[str]:
    """The key dimensions to move (``names``) are part of the ``keys`` names, of a
    map with blocks"""
    if n_blocks == 0:
        return _invalid("there are no keys to move in an empty TensorMap")
    for name in names:
        if name not in keys:
            return _invalid(
                "'"
                + name
                + "' in `keys_to_move` is not part of the keys of this TensorMap, "
                + "expected one of "
                + names_text(keys)
            )
    return None


def keys_to_samples_entries_error() -> str:
    """NotImplementedError: keys_to_samples given Labels with entries"""
    return (
        "keys_to_samples with Labels carrying values in `keys_to_move` is not "
        + "implemented, give only the names"
    )


def merge_components_error(function: str) -> str:
    """Blocks merged by ``function`` have different components"""
    return _invalid(
        "can not merge blocks with different components in "
        + function
        + ", call components_to_properties first"
    )


def merge_properties_error() -> str:
    """Blocks merged by keys_to_properties with entries have different
    properties"""
    return _invalid(
        "all blocks must have the same properties when `keys_to_move` in "
        + "keys_to_properties is Labels with entries"
    )


def moved_entry_error(values: List[int]) -> str:
    """The moved key ``values`` of a block are not in the entries given to
    keys_to_properties"""
    return _invalid(
        "the block with moved key values "
        + str(values)
        + " is not part of the entries in `keys_to_move`"
    )


def components_to_move(dimensions: List[str], components: List[str]) -> Optional[str]:
    """The ``dimensions`` moved by components_to_properties are component names"""
    for name in dimensions:
        if name not in components:
            return _invalid(
                "'"
                + name
                + "' is not a component of this TensorMap, expected one of "
                + names_text(components)
            )
    return None
