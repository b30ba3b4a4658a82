"""``TensorBlock``: one dense array with metadata on each axis, and its
gradients."""

from . import _dispatch
from ._errors import MetatensorError
from ._labels import Labels, _is_dtype

_MOVED_MESSAGE = (
    "this block has been released or moved inside a TensorBlock or TensorMap and "
    "can no longer be used"
)


class _BlockData:
    """What a block holds. Several :py:class:`TensorBlock` objects (the owner and
    its views) share one instance; gradients are stored as ``_BlockData`` too"""

    __slots__ = ("values", "samples", "components", "properties", "gradients")

    def __init__(self, values, samples, components: tuple, properties, gradients):
        self.values = values
        self.samples = samples
        self.components = components
        self.properties = properties
        # parameter name => _BlockData, in insertion order
        self.gradients = gradients


class _ValuesAssignmentError(AttributeError, ValueError):
    """Raised by ``block.values = ...``: upstream raised AttributeError, then
    ValueError"""


def _check_labels(labels, what: str):
    """``what`` names the argument in the message (``"`samples`"``)"""
    if not isinstance(labels, Labels):
        raise TypeError(f"{what} must be metatensor Labels, not {type(labels)}")


def _validate(values, samples, components, properties) -> tuple:
    """Check the arguments of the TensorBlock constructor; return the components as
    a tuple"""
    if not _dispatch.is_array(values):
        raise TypeError(
            "`values` must be a numpy ndarray or a torch Tensor, "
            f"got {type(values).__module__}.{type(values).__name__}"
        )
    _check_labels(samples, "`samples`")
    _check_labels(properties, "`properties`")
    if isinstance(components, Labels):
        raise TypeError("`components` must be a list of Labels, got a single Labels")
    components = tuple(components)
    names = set()
    for component in components:
        _check_labels(component, "`components` elements")
        if len(component._names) != 1:
            raise MetatensorError(
                "component labels must have a single dimension, got "
                f"{len(component._names)}: {list(component._names)}"
            )
        if component._names[0] in names:
            raise MetatensorError(
                f"component names must be unique, got '{component._names[0]}' "
                "multiple times"
            )
        names.add(component._names[0])

    shape = tuple(values.shape)
    if len(shape) != len(components) + 2:
        raise MetatensorError(
            f"the values must have {len(components) + 2} dimensions for "
            f"{len(components)} components, got an array of shape {shape}"
        )
    if shape[0] != len(samples):
        raise MetatensorError(
            f"the values shape along axis 0 is {shape[0]} but we have "
            f"{len(samples)} sample label entries"
        )
    for axis, component in enumerate(components, start=1):
        if shape[axis] != len(component):
            raise MetatensorError(
                f"the values shape along axis {axis} is {shape[axis]} but we have "
                f"{len(component)} entries for the '{component._names[0]}' component"
            )
    if shape[-1] != len(properties):
        raise MetatensorError(
            f"the values shape along axis {len(shape) - 1} is {shape[-1]} but we "
            f"have {len(properties)} property label entries"
        )

    device = _dispatch.device(values)
    for labels in (samples, properties, *components):
        if not _dispatch.same_device(labels.device, device):
            if labels is samples:
                what = "samples"
            else:
                what = "properties" if labels is properties else "components"
            raise MetatensorError(
                f"invalid parameter: invalid block: values and {what} must be on the "
                f"same device, got '{_dispatch.device_name(device)}' and "
                f"'{_dispatch.device_name(labels.device)}'"
            )
    return components


class TensorBlock:
    """A dense array of values (numpy or torch, any dtype and device), with
    :py:class:`Labels` for its samples (first axis), components (middle axes) and
    properties (last axis), and optional gradients with respect to parameters.

    The array is stored as given, without copy.

    :param values: array of shape ``(len(samples), *[len(c) for c in components],
        len(properties))``
    :param samples: metadata of the first axis
    :param components: metadata of the middle axes, each with a single dimension
    :param properties: metadata of the last axis

    >>> import numpy as np
    >>> block = TensorBlock(
    ...     values=np.zeros((2, 3, 4)),
    ...     samples=Labels(["system"], np.array([[0], [1]])),
    ...     components=[Labels.range("xyz", 3)],
    ...     properties=Labels.range("n", 4),
    ... )
    >>> block.shape
    (2, 3, 4)
    """

    __slots__ = ("_data", "_parent")

    def __init__(self, values, samples: Labels, components, properties: Labels):
        components = _validate(values, samples, components, properties)
        self._data = _BlockData(values, samples, components, properties, {})
        self._parent = None

    @classmethod
    def _wrap(cls, data: _BlockData, parent=None) -> "TensorBlock":
        """A block object over existing data: owned if ``parent`` is None, else a
        view that keeps ``parent`` alive"""
        block = object.__new__(cls)
        block._data = data
        block._parent = parent
        return block

    def _get(self) -> _BlockData:
        data = self._data
        if data is None:
            raise ValueError(_MOVED_MESSAGE)
        return data

    def _take(self, what: str) -> _BlockData:
        """Take the data out of this block (which can not be used afterwards); views
        can not be moved"""
        data = self._get()
        if self._parent is not None:
            raise ValueError(
                f"can not use a view inside a TensorMap or TensorBlock as {what}, "
                "make a copy first with `block.copy()`"
            )
        self._data = None
        return data

    # ============================================================================ #
    # properties

    @property
    def values(self):
        """The array of values"""
        return self._get().values

    @values.setter
    def values(self, new_values):
        raise _ValuesAssignmentError(
            "Direct assignment to `values` is not possible. Please use "
            "block.values[:] = new_values instead. To change the shape, create a "
            "new TensorBlock"
        )

    @property
    def samples(self) -> Labels:
        """Metadata of the first axis"""
        return self._get().samples

    @property
    def components(self) -> list:
        """Metadata of the middle axes, one Labels per axis"""
        return list(self._get().components)

    @property
    def properties(self) -> Labels:
        """Metadata of the last axis"""
        return self._get().properties

    @property
    def shape(self) -> tuple:
        """Shape of the values"""
        return tuple(self._get().values.shape)

    def __len__(self) -> int:
        """Number of samples"""
        return self._get().values.shape[0]

    @property
    def dtype(self):
        """dtype of the values"""
        return self._get().values.dtype

    @property
    def device(self):
        """Device of the values (``"cpu"`` for numpy)"""
        return _dispatch.device(self._get().values)

    @property
    def is_view(self) -> bool:
        """Whether this block is borrowed from a TensorMap or a parent block"""
        return self._parent is not None

    # ============================================================================ #
    # gradients

    def add_gradient(self, parameter: str, gradient: "TensorBlock"):
        """Attach ``gradient``, the gradient of the values with respect to
        ``parameter``. The gradient block is moved inside this block and can no
        longer be used on its own.

        The first dimension of the gradient samples must be ``"sample"``, giving
        the row of the values each gradient row belongs to; the gradient
        components are the components of this block, with gradient-specific ones
        (e.g. ``xyz``) in front; the properties must be the same as this block's.
        """
        data = self._get()
        if self._parent is not None:
            raise ValueError(
                "can not add a gradient to a view inside a TensorMap or TensorBlock, "
                "make a copy first with `block.copy()`"
            )
        if not isinstance(parameter, str):
            raise TypeError(
                f"`parameter` must be a str, got {type(parameter).__name__}"
            )
        if "/" in parameter:
            raise ValueError(
                f"invalid gradient parameter {parameter!r}: '/' is not allowed, it "
                "would make the block impossible to load back from a file"
            )
        if not isinstance(gradient, TensorBlock):
            raise TypeError(
                f"`gradient` must be a TensorBlock, got {type(gradient).__name__}"
            )
        if parameter in data.gradients:
            raise MetatensorError(
                f"gradient with respect to '{parameter}' already exists for this block"
            )
        gradient_data = gradient._get()
        _check_gradient(data, parameter, gradient_data)
        data.gradients[parameter] = gradient._take("a gradient")

    def gradient(self, parameter: str) -> "TensorBlock":
        """The gradient with respect to ``parameter``, as a view"""
        data = self._get()
        try:
            gradient = data.gradients[parameter]
        except KeyError:
            raise MetatensorError(
                f"can not find gradients with respect to '{parameter}' in this block, "
                f"available gradients are {list(data.gradients)}"
            ) from None
        return TensorBlock._wrap(gradient, parent=self)

    def gradients_list(self) -> list:
        """Names of the gradient parameters, in insertion order"""
        return list(self._get().gradients)

    def has_gradient(self, parameter: str) -> bool:
        """Whether this block has a gradient with respect to ``parameter``"""
        return parameter in self._get().gradients

    def gradients(self):
        """Iterator over ``(parameter, gradient)`` pairs, gradients being views"""
        for parameter, gradient in list(self._get().gradients.items()):
            yield parameter, TensorBlock._wrap(gradient, parent=self)

    # ============================================================================ #
    # copies and conversions

    def copy(self, deep: bool = True) -> "TensorBlock":
        """A new block owning its data: with ``deep=True`` the arrays are copied too,
        with ``deep=False`` they are shared"""
        return TensorBlock._wrap(_copy_data(self._get(), deep))

    def __copy__(self) -> "TensorBlock":
        return self.copy(deep=False)

    def __deepcopy__(self, memo) -> "TensorBlock":
        return self.copy(deep=True)

    def to(self, *args, dtype=None, device=None, arrays=None, non_blocking=False):
        """A new block with values and gradients converted to another ``dtype``,
        ``device`` or backend (``arrays`` is ``"numpy"`` or ``"torch"``); labels move
        with them. Positional arguments can be a dtype or a device."""
        dtype, device = _parse_to_args(args, dtype, device, "TensorBlock.to")
        data = _convert_data(self._get(), dtype, device, arrays, non_blocking)
        return TensorBlock._wrap(data)

    # ============================================================================ #
    # serialization and printing

    def save(self, file, use_numpy: bool = False):
        """Save this block to ``file``; see :py:func:`metatensor.io.save`"""
        from .io import save

        save(file, self, use_numpy=use_numpy)

    def save_buffer(self, use_numpy: bool = False) -> memoryview:
        """Serialize this block to an in-memory buffer"""
        from .io import save_buffer

        return save_buffer(self, use_numpy=use_numpy)

    @staticmethod
    def load(file, use_numpy: bool = False) -> "TensorBlock":
        """Load a block saved with :py:meth:`TensorBlock.save`"""
        from .io import load_block

        return load_block(file, use_numpy=use_numpy)

    @staticmethod
    def load_buffer(buffer, use_numpy: bool = False) -> "TensorBlock":
        """Load a block from a buffer made by :py:meth:`TensorBlock.save_buffer`"""
        from .io import load_block_buffer

        return load_block_buffer(buffer, use_numpy=use_numpy)

    def __reduce__(self):
        raise TypeError(
            "a TensorBlock can not be pickled on its own, wrap it in a TensorMap first"
        )

    def __eq__(self, other):
        return _operations().equal_block(self, other)

    def __ne__(self, other):
        return not _operations().equal_block(self, other)

    __hash__ = None

    def __repr__(self) -> str:
        data = self._data
        if data is None:
            return "TensorBlock (moved, can no longer be used)"
        parent = self._parent
        if isinstance(parent, TensorBlock) and parent._data is not None:
            for parameter, gradient in parent._data.gradients.items():
                if gradient is data:
                    return _describe(data, f"TensorBlock gradient for '{parameter}',")
        return _describe(data, "TensorBlock")

    __str__ = __repr__


def _operations():
    """The operations module, which implements comparisons and arithmetic (its
    import fails with installation instructions when the package is missing)"""
    from . import operations

    return operations


def _check_gradient(parent: _BlockData, parameter: str, gradient: _BlockData):
    """Check that ``gradient`` fits as a gradient of ``parent``"""
    names = gradient.samples._names
    if len(names) == 0:
        raise MetatensorError(
            "invalid parameter: gradients samples must have at least one dimension, "
            f"named 'sample', we got none (for the gradient with respect to "
            f"'{parameter}')"
        )
    if names[0] != "sample":
        raise MetatensorError(
            f"invalid gradient samples for '{parameter}': the first dimension must "
            f"be 'sample', got {list(names)}"
        )
    sample = gradient.samples._array[:, 0]
    n_samples = len(parent.samples)
    if len(sample) != 0:
        low, high = int(sample.min()), int(sample.max())
        if low < 0 or high >= n_samples:
            if low < 0:
                problem = f"all values should be positive, but we got {low}"
            else:
                problem = f"we got {high}, but the values contain {n_samples} samples"
            raise MetatensorError(
                "invalid parameter: invalid value for the 'sample' dimension in "
                f"gradient samples: {problem} (for the gradient with respect to "
                f"'{parameter}')"
            )

    n_extra = len(gradient.components) - len(parent.components)
    if n_extra < 0 or any(
        g is not p and g != p
        for g, p in zip(gradient.components[n_extra:], parent.components)
    ):
        raise MetatensorError(
            f"invalid gradient components for '{parameter}': they must be the "
            "components of the values with gradient-specific components in front, "
            f"got {[c._names[0] for c in gradient.components]} for values with "
            f"{[c._names[0] for c in parent.components]}"
        )
    if gradient.properties is not parent.properties:
        if gradient.properties != parent.properties:
            raise MetatensorError(
                f"invalid gradient properties for '{parameter}': they must be the "
                "same as the values properties"
            )
        # share the parent properties, they are identical
        gradient.properties = parent.properties

    context = f" (for the gradient with respect to '{parameter}')"
    gradient_backend = _dispatch.backend(gradient.values)
    parent_backend = _dispatch.backend(parent.values)
    if gradient_backend != parent_backend:
        raise MetatensorError(
            "invalid parameter: the gradient data has a different origin "
            f"('python.{gradient_backend}') than the value data "
            f"('python.{parent_backend}'){context}"
        )
    if gradient.values.dtype != parent.values.dtype:
        raise MetatensorError(
            "invalid parameter: the gradient values have dtype "
            f"'{_dispatch.dtype_name(gradient.values.dtype)}' but the block values "
            f"have dtype '{_dispatch.dtype_name(parent.values.dtype)}'{context}"
        )
    gradient_device = _dispatch.device(gradient.values)
    parent_device = _dispatch.device(parent.values)
    if not _dispatch.same_device(gradient_device, parent_device):
        raise MetatensorError(
            "invalid parameter: the gradient values are on device "
            f"'{_dispatch.device_name(gradient_device)}' but the block values are "
            f"on device '{_dispatch.device_name(parent_device)}'{context}"
        )


def _copy_data(data: _BlockData, deep: bool) -> _BlockData:
    gradients = {p: _copy_data(g, deep) for p, g in data.gradients.items()}
    values = _dispatch.copy(data.values) if deep else data.values
    return _BlockData(values, data.samples, data.components, data.properties, gradients)


def _parse_to_args(args, dtype, device, where: str):
    """Split the positional arguments of ``to()`` into dtype and device; ``where``
    names the method in error messages (``"TensorBlock.to"``)"""
    torch = _dispatch.torch_module()
    for arg in args:
        if _is_dtype(arg) or isinstance(arg, str) and _looks_like_dtype(arg):
            if dtype is not None:
                raise ValueError(f"can not give a dtype twice in `{where}`")
            dtype = arg
        elif (
            isinstance(arg, str) or torch is not None and isinstance(arg, torch.device)
        ):
            if device is not None:
                raise ValueError(f"can not give a device twice in `{where}`")
            device = arg
        else:
            raise TypeError(
                f"unexpected type in `{where}`: {type(arg)}, expected a dtype or "
                "a device"
            )
    if not (
        device is None
        or isinstance(device, str)
        or torch is not None
        and isinstance(device, torch.device)
    ):
        raise TypeError(
            f"unexpected type in `{where}`: {type(device)}, expected a device"
        )
    return dtype, device


def _looks_like_dtype(name: str) -> bool:
    """Whether a string names a numpy dtype (``"float32"``) rather than a device"""
    import numpy as np

    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


def _convert_data(data: _BlockData, dtype, device, arrays, non_blocking):
    values = _dispatch.to(
        data.values,
        arrays=arrays,
        dtype=dtype,
        device=device,
        non_blocking=non_blocking,
    )
    labels_device = _dispatch.device(values)
    labels_arrays = arrays
    if arrays is None and str(labels_device) != "cpu":
        labels_arrays = "torch"

    def convert(labels):
        return labels.to(device=labels_device, arrays=labels_arrays)

    gradients = {
        p: _convert_data(g, dtype, device, arrays, non_blocking)
        for p, g in data.gradients.items()
    }
    properties = convert(data.properties)
    # gradients share the converted properties of their parent
    for gradient in gradients.values():
        gradient.properties = properties
    return _BlockData(
        values,
        convert(data.samples),
        tuple(convert(c) for c in data.components),
        properties,
        gradients,
    )


def _describe(data: _BlockData, title: str) -> str:
    """Summary of a block's metadata, with the shape of its gradients"""

    def names(labels) -> str:
        return "[" + ", ".join(labels) + "]"

    lines = [
        f"{title} with shape {tuple(data.values.shape)}",
        f"    samples: {names(data.samples._names)}",
        f"    components: {names(c._names[0] for c in data.components)}",
        f"    properties: {names(data.properties._names)}",
    ]
    if data.gradients:
        width = max(len(parameter) for parameter in data.gradients)
        lines += ["", "    gradients:"]
        for parameter, gradient in data.gradients.items():
            shape = tuple(gradient.values.shape)
            lines.append(
                f"        {parameter.ljust(width)} => TensorBlock with shape {shape}"
            )
    return "\n".join(lines)
