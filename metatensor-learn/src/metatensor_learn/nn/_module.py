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


def _check_metatensor(name: str, value):
    """Raise unless ``value`` is a metatensor object or a (nested) container of
    them"""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"the buffer '{name}' is a dict: its keys must be str, got "
                    f"{type(key).__name__}"
                )
            _check_metatensor(name, item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_metatensor(name, item)
    elif _kind(value) == "":
        raise TypeError(
            f"the buffer '{name}' mixes metatensor and other values "
            f"(found {type(value).__name__}): a container buffer must only hold "
            "Labels, TensorBlock and TensorMap"
        )


def _map(value, function):
    """``value`` with ``function`` applied to every metatensor object in it"""
    if isinstance(value, dict):
        return {key: _map(item, function) for key, item in value.items()}
    elif isinstance(value, list):
        return [_map(item, function) for item in value]
    elif isinstance(value, tuple):
        return tuple(_map(item, function) for item in value)
    return function(value)


def _is_metatensor_buffer(value) -> bool:
    return _kind(value) != "" or isinstance(value, (dict, list, tuple))


def _to_state(value):
    """A metatensor object as the triple stored in the ``state_dict``: kind,
    ``.mts`` bytes, and an empty tensor with its dtype and device"""
    kind = _kind(value)
    dtype = torch.int32 if kind == "metatensor.Labels" else _torch_dtype(value.dtype)
    like = torch.empty(0, dtype=dtype, device=value.device)
    return (kind, save_buffer(move(value, None, "cpu")), like)


def _torch_dtype(dtype) -> torch.dtype:
    """``dtype`` as a torch dtype (metatensor-core data may be numpy arrays)"""
    if isinstance(dtype, torch.dtype):
        return dtype
    return torch.from_numpy(np.empty(0, dtype=dtype)).dtype


def _is_state(value) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], str)
        and value[0] in _KINDS
    )


def _from_state(state):
    """Inverse of :py:func:`_to_state`, on nested containers"""
    if _is_state(state):
        kind, buffer, like = state
        value = load_buffer(_KINDS[kind], buffer)
        dtype = None if kind == "metatensor.Labels" else like.dtype
        return move(value, dtype, like.device)
    elif isinstance(state, dict):
        return {key: _from_state(item) for key, item in state.items()}
    elif isinstance(state, list):
        return [_from_state(item) for item in state]
    elif isinstance(state, tuple):
        return tuple(_from_state(item) for item in state)
    raise ValueError(
        f"invalid metatensor buffer in the state: expected a (kind, buffer, "
        f"tensor) triple or a container of them, got {type(state).__name__}"
    )


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
    ``state_dict`` (as extra state) and restored by ``load_state_dict``.
    """

    def __init__(self):
        super().__init__()
        self._mts_buffer_names: List[str] = []
        self._mts_persistent: List[str] = []
        # follows the device of the module: `_apply` compares it before and
        # after to know where metatensor buffers go
        self.register_buffer("_mts_helper", torch.empty(0), persistent=False)

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
        _check_metatensor(name, tensor)
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
            _check_metatensor(name, value)
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
            if dtype is not None or new_device is not None:
                for name in self._mts_buffer_names:
                    self.__dict__[name] = _map(
                        self.__dict__[name],
                        lambda value: _move_floating(value, dtype, new_device),
                    )
        return result

    def get_extra_state(self) -> Dict[str, Any]:
        """The persistent metatensor buffers, each as a ``(kind, buffer, like)``
        triple (or a container of them): ``kind`` is ``"metatensor.Labels"``,
        ``"metatensor.TensorBlock"`` or ``"metatensor.TensorMap"``, ``buffer``
        the ``.mts`` bytes in a uint8 tensor, ``like`` an empty tensor with the
        dtype and device of the data"""
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
            self.register_buffer(name, _from_state(value))


def _move_floating(value, dtype, device):
    """Move ``value`` to ``device``; convert it to ``dtype`` only if it holds
    floating-point data (torch's ``.to(dtype)`` leaves integers alone)"""
    if dtype is not None and (
        _kind(value) == "metatensor.Labels"
        or not _torch_dtype(value.dtype).is_floating_point
    ):
        dtype = None
    if dtype is None and device is None:
        return value
    return move(value, dtype, device)
