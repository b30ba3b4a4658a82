"""Eager (non-TorchScript) fast paths of the TorchScript classes.

The classes call these functions only under ``if not torch.jit.is_scripting():``,
which the TorchScript compiler skips. They hand the work to metatensor-core:

* every ``Labels`` keeps a core ``metatensor.Labels`` handing out the same int32
  tensor (built on first use, attribute ``_core``), whose C index (over a private
  copy of the values) answers ``position``, the set operations and ``select``,
  and which notices in-place modifications of the tensor. Values on the meta
  device have no data to copy: Labels created there have no core Labels (moved
  there with ``to()``, they keep the one of the original). Values wrapped by the
  ``torch.func`` transforms have no storage: their copy is made through
  ``tolist()``;
* ``keys_to_samples``, ``keys_to_properties`` and ``components_to_properties`` run
  core's implementation on core objects sharing the same tensors;
* files and buffers go through ``metatensor.io`` (the same ``.mts`` format).

Objects coming back from TorchScript code are rebuilt by torch from their
declared attributes only, so every cache here is optional and rebuilt lazily.
"""

import numbers
import os

import numpy as np
import torch

import metatensor
from metatensor import _block as _core_block
from metatensor import _labels as _core_labels
from metatensor._index import impl as _index
from metatensor.io._atomic import atomic_file

from . import _labels

# the classes of this package, set by `bind` once they are defined (they import
# this module)
Labels = LabelsEntry = TensorBlock = TensorMap = None


def bind(labels, entry, block, tensor):
    """Give this module the classes of the package"""
    global Labels, LabelsEntry, TensorBlock, TensorMap
    Labels, LabelsEntry, TensorBlock, TensorMap = labels, entry, block, tensor


# ==================================================================================== #
#                                        Labels                                        #
# ==================================================================================== #

_functorch = torch._C._functorch
_is_wrapped = _functorch.is_functorch_wrapped_tensor


def _check_not_batched(values: torch.Tensor, what: str):
    """Refuse ``values`` batched by ``vmap``: ``what`` they are in the message"""
    if _functorch.is_batchedtensor(values):
        raise ValueError(
            f"{what} can not be batched by `torch.func.vmap`: Labels have the same "
            "entries for every item of the batch; build them from tensors that do "
            "not depend on the vmapped inputs (e.g. `torch.arange`)"
        )


def type_name(value) -> str:
    """The TorchScript name of the type of ``value``, as upstream's messages
    write it (``int``, ``(int, int)``, ``str[]``, ...)"""
    if isinstance(value, tuple):
        return "(" + ", ".join(type_name(item) for item in value) + ")"
    if isinstance(value, list):
        return (type_name(value[0]) if value else "Any") + "[]"
    if isinstance(value, torch.Tensor):
        return "Tensor"
    return type(value).__name__


class data_errors:
    """Raise the errors of metatensor-core's data layer as RuntimeError, like
    upstream's C++ classes do (with its ``invalid parameter:`` prefix)"""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None or not issubclass(kind, metatensor.MetatensorError):
            return False
        message = str(error)
        if not message.startswith("invalid parameter: "):
            message = "invalid parameter: " + message
        raise RuntimeError(message) from None


def labels_names(names, values) -> list:
    """Type checks of the Labels constructor, as upstream; returns the names as a
    list"""
    if not isinstance(values, torch.Tensor):
        raise RuntimeError(
            "Expected a value of type 'Tensor' for argument 'values' but instead "
            f"found type '{type(values).__name__}': Labels values must be a torch.Tensor"
        )
    if isinstance(names, str):
        return _labels._names_list(names)
    if not isinstance(names, (list, tuple)):
        raise TypeError(
            f"names must be a list of strings, got '{type_name(names)}' instead"
        )
    for name in names:
        if not isinstance(name, str):
            raise TypeError(
                f"names must be a {type(names).__name__} of strings, got element "
                f"with type '{type_name(name)}' instead"
            )
    return list(names)


def check_entry_index(index):
    """``LabelsEntry`` indexes are int or str"""
    if not isinstance(index, (str, numbers.Integral)) or isinstance(index, bool):
        raise TypeError(
            "LabelsEntry can only be indexed by int or str, got "
            f"'{type_name(index)}' instead"
        )


def init_labels(labels, names, values, assume_unique) -> bool:
    """``Labels.__init__`` in Python (after the checks of ``labels_names``):
    validation by metatensor-core. Returns False, doing nothing, for values whose
    data Python can not read (on the meta device, or wrapped by the ``torch.func``
    transforms): the TorchScript code builds these Labels"""
    if values.is_meta or _is_wrapped(values):
        _check_not_batched(values, "Labels values")
        return False
    _labels._check_layout(values, len(names))
    with data_errors():
        core_labels = metatensor.Labels(names, values, assume_unique=assume_unique)
    labels._names = list(core_labels._names)
    labels._values = core_labels._values
    labels._core = core_labels
    return True


def _private_array(values: torch.Tensor, what: str) -> np.ndarray:
    """A read-only numpy copy of the Labels ``values``, for core's index; ``what``
    names the operation refused on the meta device"""
    if values.is_meta:
        raise RuntimeError(_labels.no_data_error(what))
    if _is_wrapped(values):
        array = np.array(values.tolist(), dtype=np.int32).reshape(tuple(values.shape))
        return _index.readonly_view(array)
    return _core_labels._torch_array(values)


def indexed(labels) -> bool:
    """Whether ``labels`` have (or can build) a core Labels: all but those created
    on the meta device"""
    return "_core" in labels.__dict__ or not labels._values.is_meta


def core(labels, what: str = "use") -> metatensor.Labels:
    """The core Labels handing out the values of ``labels`` (created on first use,
    from the values at that time); ``what`` names the operation refused for Labels
    created on the meta device"""
    try:
        return labels.__dict__["_core"]
    except KeyError:
        pass
    values = labels._values
    core_labels = metatensor.Labels._from_parts(
        tuple(labels._names), values, _private_array(values, what), None
    )
    labels._core = core_labels
    return core_labels


def check_values(labels):
    """Raise if the values of ``labels`` were modified in place"""
    try:
        core_labels = labels.__dict__["_core"]
    except KeyError:
        if labels._values.is_meta:
            # no data, and no copy of it to protect
            return
        core_labels = core(labels)
    if core_labels._version is not None:
        core_labels._check_values()


def moved(labels, values: torch.Tensor):
    """``labels`` with their ``values`` moved to another device, sharing the core
    Labels' private copy and index (which keep working on the meta device)"""
    if not indexed(labels):
        return Labels(labels._names, values, True)
    old = core(labels)
    new = object.__new__(Labels)
    new._names = list(labels._names)
    new._values = values
    new._core = metatensor.Labels._from_parts(
        old._names, values, old._array, old._index
    )
    return new


def wrap_labels(core_labels: metatensor.Labels):
    """Labels of this package over a core Labels with torch values"""

    if not isinstance(core_labels._values, torch.Tensor):
        core_labels = core_labels.to(arrays="torch")
    labels = object.__new__(Labels)
    labels._names = list(core_labels._names)
    labels._values = core_labels._values
    labels._core = core_labels
    return labels


def _check_labels(value, what: str):

    if not isinstance(value, Labels):
        raise TypeError(
            f"{what} must be metatensor.torch.Labels, got {type(value).__name__}"
        )


def labels_equal(labels, other) -> bool:
    """``Labels.__eq__``, computed by core (when neither was created on the meta
    device)"""
    _check_labels(other, "the other Labels")
    if indexed(labels) and indexed(other):
        return core(labels) == core(other)
    return labels._names == other._names and _labels.equal_values(
        labels._values, other._values
    )


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    """The data of an entry ``tensor``, on any device, as a numpy array"""
    try:
        return tensor.numpy()
    except (RuntimeError, TypeError):
        pass
    # on another device, requiring gradients, or without storage
    if _is_wrapped(tensor):
        _check_not_batched(tensor, "entries to look up")
        return np.array(tensor.tolist())
    if tensor.is_meta:
        raise RuntimeError(
            "entries to look up can not be on the 'meta' device: they have no data"
        )
    return tensor.detach().cpu().numpy()


def position(labels, entry):
    """``Labels.position`` computed by core, after the checks of the class"""
    if not isinstance(entry, (list, tuple, np.ndarray)):
        values = labels._entry_tensor(entry)
        if values is None:
            raise TypeError(
                "parameter to Labels::positions must be a LabelsEntry, tensor, or "
                f"list/tuple of integers, got '{type(entry).__name__}' instead"
            )
        entry = _numpy(values)
    return core(labels, "find an entry in").position(entry)


def set_operation(labels, other, method: str):
    """``union_and_mapping``, ``intersection_and_mapping`` or
    ``difference_and_mapping``, computed by core"""
    _check_labels(other, "`other`")
    what = "take the " + method.split("_")[0] + " of"
    result = getattr(core(labels, what), method)(core(other, what))
    return (wrap_labels(result[0]),) + tuple(result[1:])


def select(labels, selection):

    core_labels = core(labels, "select entries of")
    if isinstance(selection, LabelsEntry):
        core_selection = metatensor.LabelsEntry._unchecked(
            tuple(selection._names), _numpy(selection._values)
        )
    else:
        _check_labels(selection, "`selection`")
        check_values(selection)
        core_selection = core(selection, "select with")
    check_values(labels)
    with data_errors():
        return core_labels.select(core_selection)


# ==================================================================================== #
#                              conversions to and from core                            #
# ==================================================================================== #


def _core_data(block) -> _core_block._BlockData:
    """Core block data sharing the tensors and labels of ``block``"""
    properties = core(block._properties)
    data = _core_block._BlockData(
        block._values,
        core(block._samples),
        tuple(core(c) for c in block._components),
        properties,
        {},
    )
    # start of the paths of their gradients => data of the blocks, filled as they
    # come (parents before their gradients)
    blocks = {block._path: data}
    for i in block._gradient_entries():
        path = block._gradient_paths[i]
        split = path.rfind("/") + 1
        gradient = _core_block._BlockData(
            block._gradient_values[i],
            core(block._gradient_samples[i]),
            tuple(core(c) for c in block._gradient_components[i]),
            properties,
            {},
        )
        blocks[path[:split]].gradients[path[split:]] = gradient
        blocks[path + "/"] = gradient
    return data


def to_core(data):
    """The core object (Labels, TensorBlock or TensorMap) sharing the tensors of
    ``data``, an object of this package"""

    if isinstance(data, Labels):
        return core(data)
    elif isinstance(data, TensorBlock):
        return metatensor.TensorBlock._wrap(_core_data(data))
    elif isinstance(data, TensorMap):
        blocks = [_core_data(block) for block in data._blocks]
        return metatensor.TensorMap._unchecked(core(data._keys), blocks, data._info)
    raise TypeError(
        "`data` must be metatensor.torch Labels, TensorBlock or TensorMap, "
        f"got {type(data).__name__}"
    )


def _from_core_data(data: _core_block._BlockData):
    """A block of this package sharing the tensors of core block data"""

    block = object.__new__(TensorBlock)
    block._values = _torch_values(data.values)
    block._samples = wrap_labels(data.samples)
    block._components = [wrap_labels(c) for c in data.components]
    block._properties = wrap_labels(data.properties)
    block._gradient_paths = []
    block._gradient_values = []
    block._gradient_samples = []
    block._gradient_components = []
    block._path = ""
    _add_core_gradients(block, "", data)
    return block


def _add_core_gradients(block, start: str, data: _core_block._BlockData):
    """Store the gradients of core ``data`` (at any depth) in ``block``, their
    paths starting with ``start``"""
    for parameter, gradient in data.gradients.items():
        block._append_gradient(
            start + parameter,
            _torch_values(gradient.values),
            wrap_labels(gradient.samples),
            [wrap_labels(c) for c in gradient.components],
        )
        _add_core_gradients(block, start + parameter + "/", gradient)


def _torch_values(values):
    if isinstance(values, np.ndarray):
        return torch.from_numpy(values)
    return values


def from_core(data):
    """The object of this package sharing the tensors of a core object"""

    if isinstance(data, metatensor.Labels):
        return wrap_labels(data)
    elif isinstance(data, metatensor.TensorBlock):
        return _from_core_data(data._get())
    tensor = object.__new__(TensorMap)
    tensor._keys = wrap_labels(data._keys)
    tensor._blocks = [_from_core_data(block) for block in data._blocks]
    tensor._info = dict(data._info)
    return tensor


# ==================================================================================== #
#                                     files and buffers                                #
# ==================================================================================== #


def save(file, data):
    """Save to a path (used as given, no extension is added, written atomically
    like metatensor-core does) or a file object"""
    core_data = to_core(data)
    if isinstance(file, (str, os.PathLike)):
        with atomic_file(os.fsdecode(os.fspath(file))) as output:
            metatensor.io.save(output, core_data)
    else:
        metatensor.io.save(file, core_data)


def save_buffer(data) -> torch.Tensor:
    buffer = metatensor.io.save_buffer(to_core(data))
    return torch.frombuffer(buffer, dtype=torch.uint8)


def _buffer(buffer):
    if not isinstance(buffer, torch.Tensor):
        raise TypeError(
            f"`buffer` must be a torch.Tensor of uint8, got {type(buffer).__name__}"
        )
    if buffer.dtype != torch.uint8 or buffer.dim() != 1:
        raise ValueError(
            "`buffer` must be a 1-D tensor of uint8, got a tensor of dtype "
            f"{buffer.dtype} with shape {tuple(buffer.shape)}"
        )
    return buffer.detach().cpu().contiguous().numpy()


def load(file):
    create = metatensor.io.create_torch_array
    return from_core(metatensor.io.load_custom_array(file, create))


def load_buffer(buffer):
    create = metatensor.io.create_torch_array
    return from_core(metatensor.io.load_buffer_custom_array(_buffer(buffer), create))


def load_block(file):
    create = metatensor.io.create_torch_array
    return from_core(metatensor.io.load_block_custom_array(file, create))


def load_block_buffer(buffer):
    create = metatensor.io.create_torch_array
    data = metatensor.io.load_block_buffer_custom_array(_buffer(buffer), create)
    return from_core(data)


def load_labels(file):
    return from_core(metatensor.io.load_labels(file))


def load_labels_buffer(buffer):
    return from_core(metatensor.io.load_labels_buffer(_buffer(buffer)))


def set_labels_state(labels, state):
    loaded = load_labels_buffer(state)
    labels.__dict__.update(loaded.__dict__)


def set_state(data, loaded):
    """``__setstate__`` in Python: take the attributes of ``loaded``"""
    data.__dict__.update(loaded.__dict__)


# ==================================================================================== #
#                           TensorBlock and TensorMap helpers                          #
# ==================================================================================== #


def check_block_arguments(values, samples, components, properties) -> list:
    """Type checks of the TensorBlock constructor; returns the components as a
    list"""
    if not isinstance(values, torch.Tensor):
        raise TypeError(
            "`values` must be a torch.Tensor, got "
            f"{type(values).__module__}.{type(values).__name__}"
        )
    _check_labels(samples, "`samples`")
    _check_labels(properties, "`properties`")
    if not isinstance(components, (list, tuple)):
        raise TypeError(
            f"`components` must be a list of Labels, got {type(components).__name__}"
        )
    for component in components:
        _check_labels(component, "`components`")
    return list(components)


def check_tensor_arguments(keys, blocks) -> list:
    """Type checks of the TensorMap constructor; returns the blocks as a list"""

    _check_labels(keys, "`keys`")
    blocks = list(blocks)
    for i, block in enumerate(blocks):
        if not isinstance(block, TensorBlock):
            raise TypeError(
                "`blocks` must contain metatensor.torch.TensorBlock, got "
                f"{type(block).__name__} at index {i}"
            )
    return blocks


def keys_to(tensor, function: str, keys_to_move, fill_value, sort_samples):
    """``keys_to_samples`` / ``keys_to_properties`` computed by core"""

    if isinstance(keys_to_move, Labels):
        keys_to_move = core(keys_to_move)
    elif isinstance(keys_to_move, tuple):
        keys_to_move = list(keys_to_move)
    method = getattr(to_core(tensor), function)
    with data_errors():
        result = method(keys_to_move, fill_value=fill_value, sort_samples=sort_samples)
    return from_core(result)
