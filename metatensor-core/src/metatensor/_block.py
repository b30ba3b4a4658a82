"""``TensorBlock``: one dense array with metadata on each axis, and its
gradients."""

from . import _checks, _dispatch
from ._errors import MetatensorError
from ._labels import Labels, _is_dtype
from ._printing import block_text

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
    names = []
    sizes = [len(samples)]
    devices = []
    for component in components:
        _check_labels(component, "`components` elements")
        names.append(component._names)
        sizes.append(len(component))
        devices.append(str(component.device))
    sizes.append(len(properties))

    message = (
        _checks.block_components(names)
        or _checks.block_shape(list(values.shape), sizes, names)
        or _checks.block_devices(
            str(_dispatch.device(values)),
            str(samples.device),
            devices,
            str(properties.device),
        )
    )
    if message is not None:
        raise MetatensorError(message)
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
                    return _describe(data, parameter)
        return _describe(data, None)

    __str__ = __repr__


def _operations():
    """The operations module, which implements comparisons and arithmetic (its
    import fails with installation instructions when the package is missing)"""
    from . import operations

    return operations


def _check_gradient(parent: _BlockData, parameter: str, gradient: _BlockData):
    """Check that ``gradient`` fits as a gradient of ``parent``: array kind,
    dtype and device first (the metadata checks read the values of the Labels)"""
    gradient_backend = _dispatch.backend(gradient.values)
    parent_backend = _dispatch.backend(parent.values)
    if gradient_backend != parent_backend:
        raise MetatensorError(
            "invalid parameter: the gradient data has a different origin "
            f"('python.{gradient_backend}') than the value data "
            f"('python.{parent_backend}') (for the gradient with respect to "
            f"'{parameter}')"
        )
    if gradient.values.dtype != parent.values.dtype:
        raise MetatensorError(
            _checks.gradient_dtype_error(
                parameter,
                _dispatch.dtype_name(gradient.values.dtype),
                _dispatch.dtype_name(parent.values.dtype),
            )
        )
    message = _checks.gradient_device(
        parameter,
        str(_dispatch.device(gradient.values)),
        str(_dispatch.device(parent.values)),
    )
    if message is not None:
        raise MetatensorError(message)

    samples = gradient.samples
    message = _checks.gradient_sample_names(parameter, samples._names)
    if message is None and len(samples) != 0:
        sample = samples._array[:, 0]
        message = _checks.gradient_sample_range(
            parameter, int(sample.min()), int(sample.max()), len(parent.samples)
        )
    if message is not None:
        raise MetatensorError(message)

    n_extra = len(gradient.components) - len(parent.components)
    if n_extra < 0 or any(
        g is not p and g != p
        for g, p in zip(gradient.components[n_extra:], parent.components)
    ):
        raise MetatensorError(
            _checks.gradient_components_error(
                parameter,
                [c._names[0] for c in gradient.components],
                [c._names[0] for c in parent.components],
            )
        )
    if gradient.properties is not parent.properties:
        if gradient.properties != parent.properties:
            raise MetatensorError(_checks.gradient_properties_error(parameter))
        # share the parent properties, they are identical
        gradient.properties = parent.properties


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


def _describe(data: _BlockData, parameter) -> str:
    """Summary of a block's metadata, with the shape of its gradients;
    ``parameter`` names the gradient the block is, None for values"""
    return block_text(
        parameter,
        list(data.values.shape),
        list(data.samples._names),
        [component._names[0] for component in data.components],
        list(data.properties._names),
        list(data.gradients),
        [list(gradient.values.shape) for gradient in data.gradients.values()],
    )
