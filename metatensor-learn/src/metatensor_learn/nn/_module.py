"""A ``torch.nn.Module`` that can hold metatensor objects as buffers"""

from typing import Any, Dict, List

import numpy as np
import torch

from ._backend import Labels, TensorBlock, TensorMap, load_buffer, move, save_buffer

_KINDS = {
    "metatensor.Labels": "Labels",
    "metatensor.TensorBlock": "TensorBlock",
    "metatensor.TensorMap": "TensorMap",
}


class Buffer:
    """Marks a value to register as a buffer when assigned to an attribute of a
    :py:class:`Module`: ``self.keys = Buffer(labels)`` is
    ``self.register_buffer("keys", labels)``.

    :param value: Labels, TensorBlock, TensorMap, a (nested) dict, list or tuple
        of them, or a torch tensor
    :param persistent: whether the buffer is part of the ``state_dict``
    """

    def __init__(self, value, persistent: bool = True):
        self.value = value
        self.persistent = persistent


def _kind(value) -> str:
    if isinstance(value, Labels):
        return "metatensor.Labels"
    elif isinstance(value, TensorBlock):
        return "metatensor.TensorBlock"
    elif isinstance(value, TensorMap):
        return "metatensor.TensorMap"
    return ""


def _is_metatensor_buffer(value) -> bool:
    return _kind(value) != "" or isinstance(value, (dict, list, tuple))


def _is_state(value) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], str)
        and value[0] in _KINDS
    )


def _map(value, function):
    """``value`` with ``function`` applied to every leaf of its (nested) dicts,
    lists and tuples; a ``(kind, buffer, like)`` triple of the state is a leaf"""
    if _is_state(value):
        return function(value)
    elif isinstance(value, dict):
        return {key: _map(item, function) for key, item in value.items()}
    elif isinstance(value, list):
        return [_map(item, function) for item in value]
    elif isinstance(value, tuple):
        return tuple(_map(item, function) for item in value)
    return function(value)


def _to_state(value):
    """A metatensor object as the triple stored in the ``state_dict``: kind,
    ``.mts`` bytes, and an empty tensor with its dtype and device; other values
    (in containers mixing them with metatensor objects) as they are"""
    kind = _kind(value)
    if kind == "":
        return value
    dtype = torch.int32 if kind == "metatensor.Labels" else _torch_dtype(value.dtype)
    like = torch.empty(0, dtype=dtype, device=value.device)
    data = save_buffer(move(value, None, "cpu")).numpy().tobytes()
    return (kind, data, like)


def _from_state(value):
    """Inverse of :py:func:`_to_state`"""
    if not _is_state(value):
        return value
    kind, data, like = value
    if not isinstance(data, bytes) or not isinstance(like, torch.Tensor):
        raise ValueError(
            f"invalid {kind} in the state of a metatensor Module: expected "
            f"(kind, bytes, tensor), got ({kind!r}, {type(data).__name__}, "
            f"{type(like).__name__})"
        )
    buffer = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    dtype = None if kind == "metatensor.Labels" else like.dtype
    return move(load_buffer(_KINDS[kind], buffer), dtype, like.device)


def _torch_dtype(dtype) -> torch.dtype:
    """``dtype`` as a torch dtype (metatensor-core data may be numpy arrays)"""
    if isinstance(dtype, torch.dtype):
        return dtype
    return torch.from_numpy(np.empty(0, dtype=dtype)).dtype


def _target_dtype(fn):
    """The floating-point dtype ``fn`` (given to ``Module._apply``) converts to,
    or ``None`` if it keeps dtypes"""
    single = fn(torch.empty(0, dtype=torch.float32))
    double = fn(torch.empty(0, dtype=torch.float64))
    if single.dtype == double.dtype:
        return double.dtype
    return None


class Module(torch.nn.Module):
    """A ``torch.nn.Module`` whose buffers can be metatensor objects.

    ``register_buffer(name, value, persistent=True)`` (or assigning a
    :py:class:`Buffer`) accepts Labels, TensorBlock, TensorMap, and (nested)
    dicts, lists and tuples of them; a torch tensor gets the usual torch
    behaviour. Such buffers move and change dtype with the module (``.to()``,
    ``.double()``, ``.cuda()``, ...), and persistent ones are saved in the
    ``state_dict`` (as extra state) and restored by ``load_state_dict``. A
    container may also hold other values: it is saved with them as they are,
    but ``.to()`` refuses to move it.

    The empty ``_mts_helper`` buffer follows the dtype and device of the module;
    it is part of the ``state_dict``, as in upstream metatensor-learn.
    """

    def __init__(self):
        super().__init__()
        self._mts_buffer_names: List[str] = []
        self._mts_persistent: List[str] = []
        # `_apply` compares its device before and after to know where the
        # metatensor buffers go
        self.register_buffer("_mts_helper", torch.empty(0))

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add a buffer: a torch tensor (see ``torch.nn.Module.register_buffer``)
        or a metatensor object, possibly in (nested) dicts, lists and tuples"""
        if not _is_metatensor_buffer(tensor):
            return super().register_buffer(name, tensor, persistent)
        if "_mts_buffer_names" not in self.__dict__:
            raise AttributeError(
                "cannot register a metatensor buffer before Module.__init__() call"
            )
        if not isinstance(name, str) or name == "" or "." in name:
            raise KeyError(f"invalid buffer name {name!r}")
        if hasattr(self, name) and name not in self._mts_buffer_names:
            raise KeyError(f"attribute '{name}' already exists")
        self.__dict__[name] = tensor
        if name not in self._mts_buffer_names:
            self._mts_buffer_names.append(name)
        if persistent and name not in self._mts_persistent:
            self._mts_persistent.append(name)
        elif not persistent and name in self._mts_persistent:
            self._mts_persistent.remove(name)

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Buffer):
            self.register_buffer(name, value.value, value.persistent)
        elif name in self.__dict__.get("_mts_buffer_names", ()):
            if not _is_metatensor_buffer(value):
                raise TypeError(
                    f"can not assign {type(value).__name__} to the metatensor "
                    f"buffer '{name}': expected Labels, TensorBlock, TensorMap or "
                    "a dict, list or tuple of them"
                )
            self.__dict__[name] = value
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in self.__dict__.get("_mts_buffer_names", ()):
            self._mts_buffer_names.remove(name)
            if name in self._mts_persistent:
                self._mts_persistent.remove(name)
        super().__delattr__(name)

    def _apply(self, fn, recurse=True):
        device = self._mts_helper.device
        result = super()._apply(fn, recurse)
        if self._mts_buffer_names:
            dtype = _target_dtype(fn)
            new_device = self._mts_helper.device
            if new_device == device:
                new_device = None
            for name in self._mts_buffer_names:
                self.__dict__[name] = _map(
                    self.__dict__[name],
                    lambda value, name=name: _move_floating(
                        name, value, dtype, new_device
                    ),
                )
        return result

    def get_extra_state(self) -> Dict[str, Any]:
        """The persistent metatensor buffers, each as a ``(kind, buffer, like)``
        triple (or a container of them): ``kind`` is ``"metatensor.Labels"``,
        ``"metatensor.TensorBlock"`` or ``"metatensor.TensorMap"``, ``buffer``
        the ``.mts`` data as ``bytes``, ``like`` an empty tensor with the dtype
        and device of the data. This is the layout of upstream
        metatensor-learn's checkpoints."""
        return {
            name: _map(self.__dict__[name], _to_state) for name in self._mts_persistent
        }

    def set_extra_state(self, state: Dict[str, Any]) -> None:
        """Restore the buffers saved by :py:meth:`get_extra_state`"""
        if not isinstance(state, dict):
            raise ValueError(
                f"invalid extra state for a metatensor Module: expected a dict, "
                f"got {type(state).__name__}"
            )
        for name, value in state.items():
            if not (_is_state(value) or isinstance(value, (dict, list, tuple))):
                raise ValueError(
                    f"invalid metatensor buffer '{name}' in the state: expected a "
                    "(kind, bytes, tensor) triple or a container of them, got "
                    f"{type(value).__name__}"
                )
            self.register_buffer(name, _map(value, _from_state))


def _move_floating(name: str, value, dtype, device):
    """Move ``value`` (a leaf of the buffer ``name``) to ``device``; convert it
    to ``dtype`` only if it holds floating-point data (torch's ``.to(dtype)``
    leaves integers alone)"""
    kind = _kind(value)
    if kind == "":
        raise ValueError(
            f"can not move the metatensor buffer '{name}': it holds a "
            f"{type(value).__name__}, and only Labels, TensorBlock and TensorMap "
            "(in dicts, lists and tuples) can be moved; register other values in "
            "a separate buffer"
        )
    if dtype is not None and (
        kind == "metatensor.Labels" or not _torch_dtype(value.dtype).is_floating_point
    ):
        dtype = None
    if dtype is None and device is None:
        return value
    return move(value, dtype, device)
