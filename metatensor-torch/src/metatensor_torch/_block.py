"""``TensorBlock`` as a TorchScript class.

A TorchScript class can not hold instances of itself, so a block stores every
gradient below it, at any depth, in flat parallel lists (the path of the gradient:
``"positions"``, ``"positions/cell"``, ...; its values, samples and components).
Gradient blocks are built on access: views sharing these lists, the tensors and
the properties of their root block, which know their own path.
Gradients of gradients are thus stored like first-level gradients, and a gradient
block can get gradients of its own.
"""

from typing import Dict, List, Optional, Tuple, Union

import torch

from metatensor import _checks
from metatensor._printing import block_text

from . import _eager, _mts
from ._dtypes import dtype_name  # noqa: F401 (re-exported)
from ._jit import no_deprecation_warning
from ._labels import Labels, names_text, paths_error


def _component_names(components: List[Labels]) -> List[str]:
    names: List[str] = []
    for component in components:
        names.append(component.names[0])
    return names


def _dtype_text(values: torch.Tensor) -> str:
    """The dtype of ``values`` as upstream's messages write it (and
    metatensor-core's ``_dispatch.dtype_name``): kind and bits, ``f64``, ``i32``,
    ``u8``, ``c128``, ``b8`` (TorchScript shows dtypes as integers)"""
    dtype = values.dtype
    if values.is_complex():
        kind = "c"
    elif values.is_floating_point():
        kind = "f"
    elif dtype == torch.bool:
        kind = "b"
    elif (
        dtype == torch.uint8
        or dtype == torch.uint16
        or dtype == torch.uint32
        or dtype == torch.uint64
    ):
        kind = "u"
    else:
        kind = "i"
    return kind + str(values.element_size() * 8)


def _raise(message: Optional[str]):
    """Raise the message of a failed data check (``metatensor._checks``) as
    upstream's C++ classes do"""
    if message is not None:
        raise RuntimeError(message)


def _check_block(
    values: torch.Tensor, samples: Labels, components: List[Labels], properties: Labels
):
    """The checks of the TensorBlock constructor"""
    names: List[List[str]] = []
    sizes: List[int] = [len(samples)]
    devices: List[str] = []
    for component in components:
        names.append(component.names)
        sizes.append(len(component))
        devices.append(str(component.values.device))
    sizes.append(len(properties))
    _raise(_checks.block_components(names))
    _raise(_checks.block_shape(list(values.shape), sizes, names))
    _raise(
        _checks.block_devices(
            str(values.device),
            str(samples.values.device),
            devices,
            str(properties.values.device),
        )
    )


def _check_gradient(
    parameter: str,
    n_samples: int,
    values: torch.Tensor,
    components: List[Labels],
    properties: Labels,
    gradient_values: torch.Tensor,
    gradient_samples: Labels,
    gradient_components: List[Labels],
    gradient_properties: Labels,
):
    """The checks of ``TensorBlock.add_gradient``: the parts of a gradient block
    against the ones of its parent (``n_samples`` rows, ``values``,
    ``components``, ``properties``); dtype and device first (the metadata checks
    read the values of the Labels)"""
    if gradient_values.dtype != values.dtype:
        raise RuntimeError(
            _checks.gradient_dtype_error(
                parameter, _dtype_text(gradient_values), _dtype_text(values)
            )
        )
    _raise(
        _checks.gradient_device(
            parameter, str(gradient_values.device), str(values.device)
        )
    )

    _raise(_checks.gradient_sample_names(parameter, gradient_samples.names))
    if len(gradient_samples) != 0:
        sample = gradient_samples.values[:, 0]
        _raise(
            _checks.gradient_sample_range(
                parameter, int(sample.min()), int(sample.max()), n_samples
            )
        )

    n_extra = len(gradient_components) - len(components)
    same_components = n_extra >= 0
    if same_components:
        for i in range(len(components)):
            if gradient_components[n_extra + i] != components[i]:
                same_components = False
    if not same_components:
        raise RuntimeError(
            _checks.gradient_components_error(
                parameter,
                _component_names(gradient_components),
                _component_names(components),
            )
        )
    if gradient_properties != properties:
        raise RuntimeError(_checks.gradient_properties_error(parameter))


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
        # every gradient below this block, parents before their own gradients: the
        # path of the gradient ("positions" for the positions gradient of this
        # block, "positions/cell" for the cell gradient of that one, ...) and the
        # parts of the gradient block. Gradient blocks share these lists with
        # their root block
        #
        # The lists start with one item, removed at once: TorchScript gave every
        # block the same list from `[]` here once any compiled function creating
        # blocks had run under `torch.jit.optimized_execution(False)` (torch 2.13;
        # `test_blocks_read_by_compiled_code_do_not_share_gradients`)
        self._gradient_paths: List[str] = [""]
        self._gradient_values: List[torch.Tensor] = [values]
        self._gradient_samples: List[Labels] = [samples]
        self._gradient_components: List[List[Labels]] = [components]
        self._gradient_paths.clear()
        self._gradient_values.clear()
        self._gradient_samples.clear()
        self._gradient_components.clear()
        # the start of the paths of the gradients of this block: "" for a root
        # block, "positions/" for its positions gradient, ...
        self._path = ""

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
        same as this block's. The gradients of ``gradient`` come along; a gradient
        block (see :py:meth:`gradient`) can get gradients too, shared with the
        block it comes from."""
        if "/" in parameter:
            raise ValueError(
                "invalid gradient parameter '"
                + parameter
                + "': '/' is not allowed, it would make the block impossible to load "
                + "back from a file"
            )
        path = self._path + parameter
        if path in self._gradient_paths:
            raise ValueError(
                "gradient with respect to '"
                + parameter
                + "' already exists for this block"
            )
        _check_gradient(
            parameter,
            len(self),
            self._values,
            self._components,
            self._properties,
            gradient._values,
            gradient._samples,
            gradient._components,
            gradient._properties,
        )
        # taken first: `gradient` may share its lists with this block
        entries: List[int] = []
        if len(gradient._gradient_paths) != 0:
            entries = gradient._gradient_entries()
        self._append_gradient(
            path, gradient._values, gradient._samples, gradient._components
        )
        start = len(gradient._path)
        for i in entries:
            self._append_gradient(
                path + "/" + gradient._gradient_paths[i][start:],
                gradient._gradient_values[i],
                gradient._gradient_samples[i],
                gradient._gradient_components[i],
            )

    def _append_gradient(
        self,
        path: str,
        values: torch.Tensor,
        samples: Labels,
        components: List[Labels],
    ):
        """Store the gradient at ``path``, without checks"""
        self._gradient_paths.append(path)
        self._gradient_values.append(values)
        self._gradient_samples.append(samples)
        self._gradient_components.append(components)

    def _find_gradient(self, parameter: str) -> int:
        """Index in the lists of the gradient of this block with respect to
        ``parameter``, -1 if there is none"""
        path = self._path + parameter
        for i in range(len(self._gradient_paths)):
            if self._gradient_paths[i] == path:
                return i
        return -1

    def _gradient_entries(self) -> List[int]:
        """Indices in the lists of the gradients below this block, at any depth,
        parents before their own gradients"""
        entries: List[int] = []
        for i in range(len(self._gradient_paths)):
            if self._gradient_paths[i].startswith(self._path):
                entries.append(i)
        return entries

    def _own_gradients(self) -> List[int]:
        """Indices in the lists of the gradients of this block (not of its
        gradients), in insertion order"""
        start = len(self._path)
        entries: List[int] = []
        for i in range(len(self._gradient_paths)):
            path = self._gradient_paths[i]
            if path.startswith(self._path) and path.find("/", start) < 0:
                entries.append(i)
        return entries

    def _gradient_block(self, i: int) -> "TensorBlock":
        """The view of the gradient at index ``i`` in the lists"""
        gradient = TensorBlock(
            self._gradient_values[i],
            self._gradient_samples[i],
            self._gradient_components[i],
            self._properties,
        )
        gradient._gradient_paths = self._gradient_paths
        gradient._gradient_values = self._gradient_values
        gradient._gradient_samples = self._gradient_samples
        gradient._gradient_components = self._gradient_components
        gradient._path = self._gradient_paths[i] + "/"
        return gradient

    def gradient(self, parameter: str) -> "TensorBlock":
        """The gradient with respect to ``parameter``, a block sharing the tensors
        (and the gradients) of this one"""
        i = self._find_gradient(parameter)
        if i < 0:
            raise RuntimeError(
                "can not find gradients with respect to '"
                + parameter
                + "' in this block, available gradients are "
                + names_text(self.gradients_list())
            )
        return self._gradient_block(i)

    def gradients_list(self) -> List[str]:
        """Names of the gradient parameters, in insertion order"""
        start = len(self._path)
        parameters: List[str] = []
        for i in self._own_gradients():
            parameters.append(self._gradient_paths[i][start:])
        return parameters

    def has_gradient(self, parameter: str) -> bool:
        """Whether this block has a gradient with respect to ``parameter``"""
        return (self._path + parameter) in self._gradient_paths

    def gradients(self) -> List[Tuple[str, "TensorBlock"]]:
        """``(parameter, gradient)`` pairs, in insertion order"""
        # quoted: the class is still being compiled here
        result: List[Tuple[str, "TensorBlock"]] = []  # noqa: UP037
        start = len(self._path)
        for i in self._own_gradients():
            result.append((self._gradient_paths[i][start:], self._gradient_block(i)))
        return result

    # ================================================================================ #
    # copies and conversions

    def _with_values(
        self,
        values: torch.Tensor,
        entries: List[int],
        gradients: List[torch.Tensor],
        device: Optional[torch.device],
        non_blocking: bool,
    ) -> "TensorBlock":
        """A root block with new values, new values for the gradients at
        ``entries`` (see :py:meth:`_gradient_entries`), and the labels moved to
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
        start = len(self._path)
        for j in range(len(entries)):
            i = entries[j]
            gradient_components: List[Labels] = []
            for component in self._gradient_components[i]:
                gradient_components.append(_labels_to(component, device, non_blocking))
            block._append_gradient(
                self._gradient_paths[i][start:],
                gradients[j],
                _labels_to(self._gradient_samples[i], device, non_blocking),
                gradient_components,
            )
        return block

    def copy(self, deep: bool = True) -> "TensorBlock":
        """A copy of this block (a root block, with the gradients below this one):
        with ``deep``, new tensors (``clone``, which keeps autograd) with the same
        metadata; otherwise a new block sharing the tensors of this one"""
        entries = self._gradient_entries()
        gradients: List[torch.Tensor] = []
        for i in entries:
            if deep:
                gradients.append(self._gradient_values[i].clone())
            else:
                gradients.append(self._gradient_values[i])
        values = self._values
        if deep:
            values = values.clone()
        return self._with_values(values, entries, gradients, None, False)

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
        entries = self._gradient_entries()
        gradients: List[torch.Tensor] = []
        for i in entries:
            gradients.append(
                _to_dtype_device(self._gradient_values[i], dtype, target, non_blocking)
            )
        return self._with_values(values, entries, gradients, target, non_blocking)

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
        _add_members(
            prefix, self._values, self._samples, self._components, names, members
        )
        names.append(prefix + "properties.npy")
        members.append(_mts.npy_labels(self._properties.names, self._properties.values))
        # depth-first, the gradients of each block sorted by parameter, as core
        # writes them
        blocks: List["TensorBlock"] = []  # noqa: UP037
        prefixes: List[str] = []
        self._push_gradients(prefix, blocks, prefixes)
        while len(blocks) != 0:
            block = blocks.pop()
            block_prefix = prefixes.pop()
            _add_members(
                block_prefix,
                block._values,
                block._samples,
                block._components,
                names,
                members,
            )
            block._push_gradients(block_prefix, blocks, prefixes)

    def _push_gradients(
        self, prefix: str, blocks: List["TensorBlock"], prefixes: List[str]
    ):
        """Push the gradients of this block, stored under ``prefix`` in an archive,
        and their own prefixes on stacks, to pop them sorted by parameter"""
        parameters = self.gradients_list()
        parameters.sort()
        for k in range(len(parameters) - 1, -1, -1):
            blocks.append(self.gradient(parameters[k]))
            prefixes.append(prefix + "gradients/" + parameters[k] + "/")

    def _read_gradients(
        self,
        arrays: Dict[str, torch.Tensor],
        labels: Dict[str, Labels],
        parameters: Dict[str, List[str]],
        prefix: str,
    ):
        """Add the gradients, at any depth, of the block stored under ``prefix`` in
        a decoded archive (see :py:func:`decode_archive`)"""
        blocks: List["TensorBlock"] = [self]  # noqa: UP037
        prefixes: List[str] = [prefix]
        index = 0
        while index < len(blocks):
            block = blocks[index]
            block_prefix = prefixes[index]
            index += 1
            if block_prefix not in parameters:
                continue
            for parameter in parameters[block_prefix]:
                gradient_prefix = block_prefix + "gradients/" + parameter + "/"
                values, samples, components = _read_parts(
                    arrays, labels, gradient_prefix
                )
                block.add_gradient(
                    parameter,
                    TensorBlock(values, samples, components, self._properties),
                )
                blocks.append(block.gradient(parameter))
                prefixes.append(gradient_prefix)

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
        paths: List[str] = []
        gradient_values: List[torch.Tensor] = []
        gradient_samples: List[Labels] = []
        gradient_components: List[List[Labels]] = []
        self._gradient_paths = paths
        self._gradient_values = gradient_values
        self._gradient_samples = gradient_samples
        self._gradient_components = gradient_components
        self._path = ""
        self._read_gradients(arrays, labels, archive_parameters, "")

    def __repr__(self) -> str:
        parameter: Optional[str] = None
        if len(self._path) != 0:
            # the path of a gradient block ends with "<parameter>/"
            parent = self._path[: len(self._path) - 1]
            parameter = parent[parent.rfind("/") + 1 :]
        gradient_parameters: List[str] = []
        gradient_shapes: List[List[int]] = []
        for gradient_parameter, gradient in self.gradients():
            gradient_parameters.append(gradient_parameter)
            gradient_shapes.append(gradient.shape)
        return block_text(
            parameter,
            self.shape,
            self._samples.names,
            _component_names(self._components),
            self._properties.names,
            gradient_parameters,
            gradient_shapes,
        )

    def __str__(self) -> str:
        return self.__repr__()


def _add_members(
    prefix: str,
    values: torch.Tensor,
    samples: Labels,
    components: List[Labels],
    names: List[str],
    members: List[List[torch.Tensor]],
):
    """Add the values, samples and components members of a block stored under
    ``prefix`` to ``names`` and ``members``"""
    names.append(prefix + "values.npy")
    members.append(_mts.npy_array(values))
    names.append(prefix + "samples.npy")
    members.append(_mts.npy_labels(samples.names, samples.values))
    for i in range(len(components)):
        names.append(prefix + "components/" + str(i) + ".npy")
        members.append(_mts.npy_labels(components[i].names, components[i].values))


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
    depths: Dict[str, int],
) -> List[str]:
    """The members a block needs, once its values (under ``prefix``) are read:
    samples, components, properties (for a root block) and gradient values. The
    prefixes of gradient blocks are in ``depths`` (with their nesting depth), which
    gets the new ones"""
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
    depth = 0
    if prefix in depths:
        depth = depths[prefix]
    else:
        names.append(prefix + "properties.npy")
    if prefix in parameters:
        for parameter in parameters[prefix]:
            gradient_prefix = prefix + "gradients/" + parameter + "/"
            _mts.check_gradient_depth(gradient_prefix, depth + 1)
            depths[gradient_prefix] = depth + 1
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
    gradients): the others are ignored, even when they are invalid. Gradients are
    nested at most 16 levels deep, as in core.

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
    # prefix => nesting depth of the gradient blocks
    depths: Dict[str, int] = {}
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
            wanted += _block_members(prefix, values, parameters, depths)
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
