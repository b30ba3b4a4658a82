"""``TensorBlock`` as a TorchScript class.

A TorchScript class can not hold instances of itself, so the gradients are stored
as parallel lists (parameter names, values, samples, components); the gradient
blocks are built on access and share the parent's tensors and properties.
Gradients of gradients are not supported.
"""

from typing import Dict, List, Optional, Tuple, Union

import torch

from . import _eager, _mts
from ._dtypes import dtype_name
from ._jit import no_deprecation_warning
from ._labels import Labels, names_text, paths_error


def _component_names(components: List[Labels]) -> List[str]:
    names: List[str] = []
    for component in components:
        names.append(component.names[0])
    return names


def _device_text(device: torch.device) -> str:
    """A device as upstream's messages write it (DLPack names: ``'CPU:0'``,
    ``'CUDA:1'``, ``'ExtDev:0'`` for meta, ...)"""
    kinds = ["cpu", "cuda", "mps", "meta", "xpu", "hip"]
    names = ["CPU", "CUDA", "Metal", "ExtDev", "OneAPI", "ROCM"]
    name = device.type
    for i in range(len(kinds)):
        if kinds[i] == device.type:
            name = names[i]
    index = device.index
    if index is None:
        index = 0
    return "'" + name + ":" + str(index) + "'"


def _check_labels_device(labels: Labels, axis: str, device: torch.device):
    if labels.values.device != device:
        raise RuntimeError(
            "invalid parameter: invalid block: values and "
            + axis
            + " must be on the same device, got "
            + _device_text(device)
            + " and "
            + _device_text(labels.values.device)
            + " ("
            + str(device)
            + " and "
            + str(labels.values.device)
            + ")"
        )


def _check_block(
    values: torch.Tensor, samples: Labels, components: List[Labels], properties: Labels
):
    """The checks of the TensorBlock constructor"""
    names: List[str] = []
    for component in components:
        if len(component.names) != 1:
            raise ValueError(
                "component labels must have a single dimension, got "
                + str(len(component.names))
                + ": "
                + names_text(component.names)
            )
        if component.names[0] in names:
            raise ValueError(
                "component names must be unique, got '"
                + component.names[0]
                + "' multiple times"
            )
        names.append(component.names[0])

    shape = values.shape
    if len(shape) != len(components) + 2:
        raise ValueError(
            "the values must have "
            + str(len(components) + 2)
            + " dimensions for "
            + str(len(components))
            + " components, got a tensor of shape "
            + str(list(shape))
        )
    if shape[0] != len(samples):
        raise ValueError(
            "the values shape along axis 0 is "
            + str(shape[0])
            + " but we have "
            + str(len(samples))
            + " sample label entries"
        )
    for i in range(len(components)):
        if shape[i + 1] != len(components[i]):
            raise ValueError(
                "the values shape along axis "
                + str(i + 1)
                + " is "
                + str(shape[i + 1])
                + " but we have "
                + str(len(components[i]))
                + " entries for the '"
                + components[i].names[0]
                + "' component"
            )
    if shape[-1] != len(properties):
        raise ValueError(
            "the values shape along axis "
            + str(len(shape) - 1)
            + " is "
            + str(shape[-1])
            + " but we have "
            + str(len(properties))
            + " property label entries"
        )

    _check_labels_device(samples, "samples", values.device)
    for component in components:
        _check_labels_device(component, "components", values.device)
    _check_labels_device(properties, "properties", values.device)


def _check_gradient_samples(parameter: str, samples: Labels, n_samples: int):
    names = samples.names
    if len(names) == 0 or names[0] != "sample":
        raise ValueError(
            "invalid gradient samples for '"
            + parameter
            + "': the first dimension must be 'sample', got "
            + names_text(names)
        )
    sample = samples.values[:, 0]
    if sample.shape[0] != 0:
        low = int(sample.min())
        high = int(sample.max())
        if low < 0 or high >= n_samples:
            bad = high
            if low < 0:
                bad = low
            raise ValueError(
                "invalid value for the 'sample' dimension of the gradient samples for '"
                + parameter
                + "': we got "
                + str(bad)
                + ", but the values contain "
                + str(n_samples)
                + " samples"
            )


def _describe(
    title: str,
    samples: Labels,
    components: List[Labels],
    properties: Labels,
    gradients: List[str],
) -> str:
    sizes: List[str] = []
    for component in components:
        sizes.append(str(len(component)))
    text = (
        title
        + "\n    samples ("
        + str(len(samples))
        + "): "
        + names_text(samples.names)
    )
    text += "\n    components (" + ", ".join(sizes) + "): "
    text += names_text(_component_names(components))
    text += (
        "\n    properties ("
        + str(len(properties))
        + "): "
        + names_text(properties.names)
    )
    if len(gradients) == 0:
        text += "\n    gradients: None"
    else:
        text += "\n    gradients: " + names_text(gradients)
    return text


def _to_dtype_device(
    tensor: torch.Tensor,
    dtype: Optional[torch.dtype],
    device: Optional[torch.device],
    non_blocking: bool,
) -> torch.Tensor:
    if dtype is None and device is None:
        return tensor
    if device is None:
        device = tensor.device
    if dtype is None:
        dtype = tensor.dtype
    return tensor.to(dtype=dtype, device=device, non_blocking=non_blocking)


def _labels_to(labels: Labels, device: Optional[torch.device], non_blocking: bool):
    if device is None:
        return labels
    return labels.to(device, non_blocking)


def _check_arrays(arrays: Optional[str]):
    if arrays is not None and arrays != "torch":
        raise ValueError(
            "`arrays` must be None or 'torch' for metatensor.torch data, got '"
            + arrays
            + "'"
        )


def _device_or_none(
    device: Optional[Union[torch.device, str]],
) -> Optional[torch.device]:
    if device is None:
        return None
    if isinstance(device, str):
        return torch.device(device)
    return device


class TensorBlock:
    """A dense tensor of values with :py:class:`Labels` for its samples (first
    axis), components (middle axes) and properties (last axis), and gradients with
    respect to parameters. The tensor is stored as given (no copy); autograd flows
    through it.

    :param values: tensor of shape ``(len(samples), *[len(c) for c in
        components], len(properties))``
    :param samples: metadata of the first axis
    :param components: metadata of the middle axes, each with one dimension
    :param properties: metadata of the last axis
    """

    def __init__(
        self,
        values: torch.Tensor,
        samples: Labels,
        components: List[Labels],
        properties: Labels,
    ):
        if not torch.jit.is_scripting():
            components = _eager.check_block_arguments(
                values, samples, components, properties
            )
        _check_block(values, samples, components, properties)
        self._values = values
        self._samples = samples
        self._components = components
        self._properties = properties
        self._gradient_parameters: List[str] = []
        self._gradient_values: List[torch.Tensor] = []
        self._gradient_samples: List[Labels] = []
        self._gradient_components: List[List[Labels]] = []
        self._is_gradient = False

    # ================================================================================ #
    # properties

    @property
    def values(self) -> torch.Tensor:
        """The tensor of values (modify it in place, it can not be re-assigned)"""
        return self._values

    @property
    def samples(self) -> Labels:
        """Metadata of the first axis"""
        return self._samples

    @property
    def components(self) -> List[Labels]:
        """Metadata of the middle axes, one Labels per axis"""
        return self._components

    @property
    def properties(self) -> Labels:
        """Metadata of the last axis"""
        return self._properties

    @property
    def shape(self) -> List[int]:
        """Shape of the values"""
        return list(self._values.shape)

    @property
    def dtype(self) -> torch.dtype:
        """dtype of the values"""
        return self._values.dtype

    @property
    def device(self) -> torch.device:
        """Device of the values"""
        return self._values.device

    def __len__(self) -> int:
        """Number of samples"""
        return self._values.shape[0]

    # ================================================================================ #
    # gradients

    def add_gradient(self, parameter: str, gradient: "TensorBlock"):
        """Attach ``gradient``, the gradient of the values with respect to
        ``parameter``: its samples start with a ``"sample"`` dimension (the row of
        the values), its components are this block's components with
        gradient-specific ones (e.g. ``xyz``) in front, and its properties are the
        same as this block's"""
        if self._is_gradient:
            raise ValueError(
                "can not add gradients to a gradient block: gradients of gradients "
                + "are not supported by metatensor.torch"
            )
        if "/" in parameter:
            raise ValueError(
                "invalid gradient parameter '"
                + parameter
                + "': '/' is not allowed, it would make the block impossible to load "
                + "back from a file"
            )
        if parameter in self._gradient_parameters:
            raise ValueError(
                "gradient with respect to '"
                + parameter
                + "' already exists for this block"
            )
        if len(gradient._gradient_parameters) != 0:
            raise ValueError(
                "the gradient with respect to '"
                + parameter
                + "' has gradients itself: gradients of gradients are not supported "
                + "by metatensor.torch"
            )
        _check_gradient_samples(parameter, gradient._samples, len(self))

        n_extra = len(gradient._components) - len(self._components)
        same_components = n_extra >= 0
        if same_components:
            for i in range(len(self._components)):
                if gradient._components[n_extra + i] != self._components[i]:
                    same_components = False
        if not same_components:
            raise ValueError(
                "invalid gradient components for '"
                + parameter
                + "': they must be the components of the values with "
                + "gradient-specific components in front, got "
                + names_text(_component_names(gradient._components))
                + " for values with "
                + names_text(_component_names(self._components))
            )
        if gradient._properties != self._properties:
            raise ValueError(
                "invalid gradient properties for '"
                + parameter
                + "': they must be the same as the values properties"
            )
        if gradient._values.dtype != self._values.dtype:
            raise RuntimeError(
                "invalid parameter: the gradient values have dtype "
                + dtype_name(gradient._values.dtype)
                + " but the block values have dtype "
                + dtype_name(self._values.dtype)
                + " (gradient with respect to '"
                + parameter
                + "')"
            )
        if gradient._values.device != self._values.device:
            raise RuntimeError(
                "invalid parameter: the gradient values are on device "
                + _device_text(gradient._values.device)
                + " but the block values are on device "
                + _device_text(self._values.device)
                + " ("
                + str(gradient._values.device)
                + " and "
                + str(self._values.device)
                + ", gradient with respect to '"
                + parameter
                + "')"
            )
        self._gradient_parameters.append(parameter)
        self._gradient_values.append(gradient._values)
        self._gradient_samples.append(gradient._samples)
        self._gradient_components.append(gradient._components)

    def _gradient_index(self, parameter: str) -> int:
        for i in range(len(self._gradient_parameters)):
            if self._gradient_parameters[i] == parameter:
                return i
        raise RuntimeError(
            "can not find gradients with respect to '"
            + parameter
            + "' in this block, available gradients are "
            + names_text(self._gradient_parameters)
        )

    def _gradient_block(self, i: int) -> "TensorBlock":
        gradient = TensorBlock(
            self._gradient_values[i],
            self._gradient_samples[i],
            self._gradient_components[i],
            self._properties,
        )
        gradient._is_gradient = True
        return gradient

    def gradient(self, parameter: str) -> "TensorBlock":
        """The gradient with respect to ``parameter``, a block sharing the tensors
        of this one"""
        return self._gradient_block(self._gradient_index(parameter))

    def gradients_list(self) -> List[str]:
        """Names of the gradient parameters, in insertion order"""
        return self._gradient_parameters

    def has_gradient(self, parameter: str) -> bool:
        """Whether this block has a gradient with respect to ``parameter``"""
        return parameter in self._gradient_parameters

    def gradients(self) -> List[Tuple[str, "TensorBlock"]]:
        """``(parameter, gradient)`` pairs, in insertion order"""
        # quoted: the class is still being compiled here
        result: List[Tuple[str, "TensorBlock"]] = []  # noqa: UP037
        for i in range(len(self._gradient_parameters)):
            result.append((self._gradient_parameters[i], self._gradient_block(i)))
        return result

    # ================================================================================ #
    # copies and conversions

    def _with_values(
        self,
        values: torch.Tensor,
        gradients: List[torch.Tensor],
        device: Optional[torch.device],
        non_blocking: bool,
    ) -> "TensorBlock":
        """A block with new values and gradient values, and the labels moved to
        ``device`` (when given)"""
        properties = _labels_to(self._properties, device, non_blocking)
        components: List[Labels] = []
        for component in self._components:
            components.append(_labels_to(component, device, non_blocking))
        block = TensorBlock(
            values,
            _labels_to(self._samples, device, non_blocking),
            components,
            properties,
        )
        for i in range(len(self._gradient_parameters)):
            gradient_components: List[Labels] = []
            for component in self._gradient_components[i]:
                gradient_components.append(_labels_to(component, device, non_blocking))
            block.add_gradient(
                self._gradient_parameters[i],
                TensorBlock(
                    gradients[i],
                    _labels_to(self._gradient_samples[i], device, non_blocking),
                    gradient_components,
                    properties,
                ),
            )
        return block

    def copy(self, deep: bool = True) -> "TensorBlock":
        """A copy of this block: with ``deep``, new tensors (``clone``, which keeps
        autograd) with the same metadata; otherwise a new block sharing the tensors
        of this one"""
        if not deep:
            return self._with_values(
                self._values, list(self._gradient_values), None, False
            )
        gradients: List[torch.Tensor] = []
        for values in self._gradient_values:
            gradients.append(values.clone())
        return self._with_values(self._values.clone(), gradients, None, False)

    def to(
        self,
        dtype: Optional[torch.dtype] = None,
        device: Optional[Union[torch.device, str]] = None,
        arrays: Optional[str] = None,
        non_blocking: bool = False,
    ) -> "TensorBlock":
        """This block with values, gradients and labels converted to ``dtype``
        and/or moved to ``device``; ``arrays`` can only be ``None`` or
        ``"torch"``. In Python, the dtype and device can also be given as two
        positional arguments in any order."""
        _check_arrays(arrays)
        target = _device_or_none(device)
        values = _to_dtype_device(self._values, dtype, target, non_blocking)
        gradients: List[torch.Tensor] = []
        for gradient in self._gradient_values:
            gradients.append(_to_dtype_device(gradient, dtype, target, non_blocking))
        return self._with_values(values, gradients, target, non_blocking)

    # ================================================================================ #
    # serialization and printing

    def save(self, path: str):
        """Save this block to ``path``; see :py:func:`metatensor.torch.save`"""
        if not torch.jit.is_scripting():
            return _eager.save(path, self)
        raise ValueError(paths_error())

    def _members(
        self, prefix: str, names: List[str], members: List[List[torch.Tensor]]
    ):
        """Add the archive members of this block to ``names`` and ``members``"""
        names.append(prefix + "values.npy")
        members.append(_mts.npy_array(self._values))
        names.append(prefix + "samples.npy")
        members.append(_mts.npy_labels(self._samples.names, self._samples.values))
        for i in range(len(self._components)):
            component = self._components[i]
            names.append(prefix + "components/" + str(i) + ".npy")
            members.append(_mts.npy_labels(component.names, component.values))
        names.append(prefix + "properties.npy")
        members.append(_mts.npy_labels(self._properties.names, self._properties.values))
        for parameter in sorted(self._gradient_parameters):
            gradient = self.gradient(parameter)
            gradient_prefix = prefix + "gradients/" + parameter + "/"
            names.append(gradient_prefix + "values.npy")
            members.append(_mts.npy_array(gradient._values))
            names.append(gradient_prefix + "samples.npy")
            members.append(
                _mts.npy_labels(gradient._samples.names, gradient._samples.values)
            )
            for i in range(len(gradient._components)):
                component = gradient._components[i]
                names.append(gradient_prefix + "components/" + str(i) + ".npy")
                members.append(_mts.npy_labels(component.names, component.values))

    def _read_gradients(
        self,
        arrays: Dict[str, torch.Tensor],
        labels: Dict[str, Labels],
        parameters: Dict[str, List[str]],
        prefix: str,
    ):
        """Add the gradients of the block stored under ``prefix`` in a decoded
        archive (see :py:func:`decode_archive`)"""
        if prefix not in parameters:
            return
        for parameter in parameters[prefix]:
            values, samples, components = _read_parts(
                arrays, labels, prefix + "gradients/" + parameter + "/"
            )
            gradient = TensorBlock(values, samples, components, self._properties)
            self.add_gradient(parameter, gradient)

    def save_buffer(self) -> torch.Tensor:
        """This block serialized in a 1-D uint8 tensor (the ``.mts`` format)"""
        if not torch.jit.is_scripting():
            return _eager.save_buffer(self)
        names: List[str] = []
        members: List[List[torch.Tensor]] = []
        self._members("", names, members)
        return _mts.write_zip(names, members)

    @staticmethod
    def load(path: str) -> "TensorBlock":
        """Load a block saved with :py:meth:`TensorBlock.save`"""
        if not torch.jit.is_scripting():
            return _eager.load_block(path)
        raise ValueError(paths_error())

    @staticmethod
    def load_buffer(buffer: torch.Tensor) -> "TensorBlock":
        """Load a block from a buffer made by :py:meth:`TensorBlock.save_buffer`"""
        if not torch.jit.is_scripting():
            return _eager.load_block_buffer(buffer)
        arrays, labels, _, parameters = decode_archive(buffer, "values.npy")
        values, samples, components = _read_parts(arrays, labels, "")
        block = TensorBlock(values, samples, components, labels["properties.npy"])
        block._read_gradients(arrays, labels, parameters, "")
        return block

    def __getstate__(self) -> torch.Tensor:
        return self.save_buffer()

    def __setstate__(self, state: torch.Tensor):
        if not torch.jit.is_scripting():
            _eager.set_state(self, _eager.load_block_buffer(state))
            return
        arrays, labels, _, archive_parameters = decode_archive(state, "values.npy")
        values, samples, components = _read_parts(arrays, labels, "")
        properties = labels["properties.npy"]
        _check_block(values, samples, components, properties)
        self._values = values
        self._samples = samples
        self._components = components
        self._properties = properties
        parameters: List[str] = []
        gradient_values: List[torch.Tensor] = []
        gradient_samples: List[Labels] = []
        gradient_components: List[List[Labels]] = []
        self._gradient_parameters = parameters
        self._gradient_values = gradient_values
        self._gradient_samples = gradient_samples
        self._gradient_components = gradient_components
        self._is_gradient = False
        self._read_gradients(arrays, labels, archive_parameters, "")

    def __repr__(self) -> str:
        title = "TensorBlock"
        if self._is_gradient:
            title = "Gradient TensorBlock"
        return _describe(
            title,
            self._samples,
            self._components,
            self._properties,
            self._gradient_parameters,
        )

    def __str__(self) -> str:
        return self.__repr__()


# ==================================================================================== #
# reading archive members (used by TensorBlock and TensorMap)


def _missing(name: str) -> str:
    """Message of the error for a member missing from an archive (as core's)"""
    return _mts._format_error("specified file not found in archive: at '" + name + "'")


def _gradient_parameters(names: List[str]) -> Dict[str, List[str]]:
    """The sorted gradient parameters of each block in an archive, by the prefix of
    the block (``""``, ``"blocks/3/"``, ``"blocks/3/gradients/positions/"``), found
    from the ``<prefix>gradients/<parameter>/{values,samples}.npy`` member names,
    as metatensor-core does (a gradient with only one of them is reported as a
    missing member)"""
    parameters: Dict[str, List[str]] = {}
    for name in names:
        head = ""
        if name.endswith("/values.npy"):
            head = "/" + name[: len(name) - len("/values.npy")]
        elif name.endswith("/samples.npy"):
            head = "/" + name[: len(name) - len("/samples.npy")]
        else:
            continue
        start = head.rfind("/gradients/")
        if start < 0:
            continue
        parent = head[1 : start + 1]
        parameter = head[start + len("/gradients/") :]
        if parent not in parameters:
            empty: List[str] = []
            parameters[parent] = empty
        if parameter not in parameters[parent]:
            parameters[parent].append(parameter)
    for parent in parameters.keys():
        parameters[parent].sort()
    return parameters


def _block_members(
    prefix: str,
    values: torch.Tensor,
    parameters: Dict[str, List[str]],
    gradients: Dict[str, str],
) -> List[str]:
    """The members a block needs, once its values (under ``prefix``) are read:
    samples, components, properties and gradient values for a block, samples and
    components for a gradient (a prefix in ``gradients``, which gets the
    prefixes of the new gradients, with their parameter)"""
    if values.dim() < 2:
        raise ValueError(
            _mts._format_error(
                "the values in '"
                + prefix
                + "values.npy' must have at least two dimensions, got a shape of "
                + _mts._shape_text(values.shape)
            )
        )
    names: List[str] = [prefix + "samples.npy"]
    for i in range(values.dim() - 2):
        names.append(prefix + "components/" + str(i) + ".npy")
    if prefix in gradients:
        if prefix in parameters:
            raise ValueError(_mts.nested_gradients_error(gradients[prefix]))
        return names
    names.append(prefix + "properties.npy")
    if prefix in parameters:
        for parameter in parameters[prefix]:
            gradient_prefix = prefix + "gradients/" + parameter + "/"
            gradients[gradient_prefix] = parameter
            names.append(gradient_prefix + "values.npy")
    return names


def decode_archive(
    buffer: torch.Tensor, root: str
) -> Tuple[
    Dict[str, torch.Tensor], Dict[str, Labels], Dict[str, str], Dict[str, List[str]]
]:
    """The members of an ``.mts`` archive making up the TensorMap (``root`` is
    ``"keys.npy"``) or the TensorBlock (``root`` is ``"values.npy"``) it holds,
    decoded: the data arrays and the Labels (by member name), the ``info.json``
    metadata and the gradient parameters of each block (by block prefix).

    As in metatensor-core, only the members the data requires are read (the keys
    give the blocks, the values give the components, the member names give the
    gradients): the others are ignored, even when they are invalid. Gradients of
    gradients are refused, metatensor.torch blocks can not hold them.

    TorchScript inlines a function at each place it is called, and optimizes the
    resulting graph on the first calls: each decoder is called at a single place
    here, which keeps that graph (and the time to optimize it) small.
    """
    members, problems = _mts.check_zip(buffer)
    names = list(members.keys()) + list(problems.keys())
    parameters = _gradient_parameters(names)

    arrays: Dict[str, torch.Tensor] = {}
    labels: Dict[str, Labels] = {}
    info: Dict[str, str] = {}
    # prefix => parameter of the gradient blocks
    gradients: Dict[str, str] = {}
    # the members to read, growing as they are read
    wanted: List[str] = [root]
    if root == "keys.npy" and ("info.json" in members or "info.json" in problems):
        wanted.append("info.json")
    index = 0
    while index < len(wanted):
        name = wanted[index]
        index += 1
        if name in problems:
            raise ValueError(problems[name])
        if name not in members:
            raise ValueError(_missing(name))
        member = members[name]
        if name == "info.json":
            info = _mts.load_info_json(member)
        elif name == "values.npy" or name.endswith("/values.npy"):
            values = _mts.load_npy_array(member, name)
            arrays[name] = values
            prefix = name[: len(name) - len("values.npy")]
            wanted += _block_members(prefix, values, parameters, gradients)
        else:
            dimensions, values = _mts.load_npy_labels(member, name)
            labels[name] = Labels(dimensions, values, False)
            if name == "keys.npy":
                for i in range(values.shape[0]):
                    wanted.append("blocks/" + str(i) + "/values.npy")
    return arrays, labels, info, parameters


def _read_parts(
    arrays: Dict[str, torch.Tensor], labels: Dict[str, Labels], prefix: str
) -> Tuple[torch.Tensor, Labels, List[Labels]]:
    """Values, samples and components of the block stored under ``prefix`` in a
    decoded archive (all there: :py:func:`decode_archive` checked it)"""
    values = arrays[prefix + "values.npy"]
    components: List[Labels] = []
    for i in range(values.dim() - 2):
        components.append(labels[prefix + "components/" + str(i) + ".npy"])
    return values, labels[prefix + "samples.npy"], components


# compiled here: TorchScript resolves the names used by a class in this frame
with no_deprecation_warning():
    torch.jit.script(TensorBlock)


def block_from_archive(
    arrays: Dict[str, torch.Tensor],
    labels: Dict[str, Labels],
    parameters: Dict[str, List[str]],
    prefix: str,
) -> TensorBlock:
    """The block stored under ``prefix`` in a decoded archive (used by TensorMap;
    TensorBlock's own methods can not call a function returning a TensorBlock
    while it is being compiled)"""
    values, samples, components = _read_parts(arrays, labels, prefix)
    properties = labels[prefix + "properties.npy"]
    block = TensorBlock(values, samples, components, properties)
    block._read_gradients(arrays, labels, parameters, prefix)
    return block
