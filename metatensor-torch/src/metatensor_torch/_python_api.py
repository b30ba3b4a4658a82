"""Python-only parts of the API of the TorchScript classes.

Some of upstream's Python API can not be written in TorchScript (``**kwargs``,
iteration, a dtype and a device in either positional order, one method returning
an entry or a column, operators). These methods are set on the classes *after*
they were compiled, so they exist only in Python; TorchScript code uses the typed
methods documented in the classes.

TorchScript compiles static methods lazily, resolving names through the globals of
every function of the class: the functions here must be plain ``def`` functions
(no lambdas), and this module must not define a global name that the classes'
modules use with another meaning.
"""

import numbers

import torch

from . import _eager
from ._block import TensorBlock
from ._labels import Labels, LabelsEntry
from ._tensor import TensorMap

_compiled_to_block = TensorBlock.to
_compiled_to_tensor = TensorMap.to
_compiled_block = TensorMap.block
_compiled_blocks = TensorMap.blocks


def _operations():
    from . import operations

    return operations


# ==================================================================================== #
# Labels


def _labels_getitem(self, index):
    """An entry for an integer ``index``, a column for a str"""
    if isinstance(index, str):
        return self.column(index)
    if isinstance(index, numbers.Integral) and not isinstance(index, bool):
        return self.entry(int(index))
    raise TypeError(
        "Labels can only be indexed by int or str, got "
        f"'{_eager.type_name(index)}' instead (int for entries, str for columns); "
        "use `Labels.column` or `Labels.select` for other selections"
    )


def _labels_iter(self):
    names = self._names
    for row in self.values:
        yield LabelsEntry(names, row)


def _labels_copy(self):
    return self


def _labels_deepcopy(self, memo):
    return self


# ==================================================================================== #
# TensorBlock and TensorMap


def _values_setter(self, value):
    raise ValueError(
        "Direct assignment to `values` is not possible. Please use "
        "`block.values[:] = new_values` instead. (or create a new TensorBlock)"
    )


def _split_to_arguments(args, dtype, device):
    """Split up to two positional arguments of ``to()`` into dtype and device"""
    if len(args) > 2:
        raise TypeError(f"`to()` takes at most 2 positional arguments, got {len(args)}")
    for arg in args:
        if isinstance(arg, torch.dtype):
            if dtype is not None:
                raise TypeError("the dtype was given more than once to `to()`")
            dtype = arg
        elif isinstance(arg, (str, torch.device)):
            if device is not None:
                raise TypeError("the device was given more than once to `to()`")
            device = arg
        else:
            raise TypeError(
                "positional arguments of `to()` must be a torch.dtype or a device, "
                f"got {type(arg).__name__}"
            )
    return dtype, device


def _block_to(self, *args, dtype=None, device=None, arrays=None, non_blocking=False):
    """This block converted to ``dtype`` and/or moved to ``device``; the dtype and
    device can be given positionally, in any order"""
    dtype, device = _split_to_arguments(args, dtype, device)
    return _compiled_to_block(self, dtype, device, arrays, non_blocking)


def _tensor_to(self, *args, dtype=None, device=None, arrays=None, non_blocking=False):
    """This map converted to ``dtype`` and/or moved to ``device``; the dtype and
    device can be given positionally, in any order"""
    dtype, device = _split_to_arguments(args, dtype, device)
    return _compiled_to_tensor(self, dtype, device, arrays, non_blocking)


def _index(index) -> int:
    if not isinstance(index, numbers.Integral) or isinstance(index, bool):
        raise TypeError(
            f"block positions must be integers, got '{_eager.type_name(index)}'"
        )
    return int(index)


def _selection(selection, kwargs, positions=False):
    """The selection of ``block`` (or of ``blocks``, which also takes a list of
    int ``positions``), with keyword arguments as a dict"""
    if kwargs:
        if selection is not None:
            raise TypeError(
                "the selection can be given either as an argument or as keyword "
                "arguments, not both"
            )
        selection = kwargs
    if isinstance(selection, dict):
        for name, value in selection.items():
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise TypeError(
                    "expected argument to be Dict[str, int], got Dict[str, "
                    f"{_eager.type_name(value)}]: the values in a block selection "
                    f"must be integers, got {value!r} for '{name}'"
                )
        return {name: int(value) for name, value in selection.items()}
    if isinstance(selection, numbers.Integral) and not isinstance(selection, bool):
        return int(selection)
    if positions and isinstance(selection, (list, tuple)):
        return [_index(index) for index in selection]
    if selection is not None and not isinstance(selection, (Labels, LabelsEntry)):
        raise TypeError(
            "expected argument to be int, Dict[str, int], Labels, or LabelsEntry, "
            f"got {_eager.type_name(selection)}"
        )
    return selection


def _tensor_block(self, selection=None, **kwargs):
    """The single block matching ``selection``: an int position, Labels, a
    LabelsEntry, a dict or keyword arguments naming some key dimensions"""
    return _compiled_block(self, _selection(selection, kwargs))


def _tensor_blocks(self, selection=None, **kwargs):
    """All blocks matching ``selection`` (see ``block``; also a list of int
    positions), ``[]`` if none"""
    return _compiled_blocks(self, _selection(selection, kwargs, positions=True))


def _tensor_getitem(self, selection):
    return _compiled_block(self, _selection(selection, {}))


def _tensor_iter(self):
    return iter(self._blocks)


def _shallow_copy(self):
    return self.copy(deep=False)


def _deep_copy(self, memo):
    return self.copy()


def _binary(name):
    def operator(self, other):
        return getattr(_operations(), name)(self, other)

    operator.__name__ = f"__{name}__"
    return operator


def _tensor_eq(self, other):
    return _operations().equal(self, other)


def _tensor_ne(self, other):
    return not _operations().equal(self, other)


def _block_eq(self, other):
    return _operations().equal_block(self, other)


def _block_ne(self, other):
    return not _operations().equal_block(self, other)


def _tensor_neg(self):
    return _operations().multiply(self, -1)


def _tensor_pos(self):
    return self


def install():
    """Add the Python-only methods to the (already compiled) classes"""
    Labels.__getitem__ = _labels_getitem
    Labels.__iter__ = _labels_iter
    Labels.__copy__ = _labels_copy
    Labels.__deepcopy__ = _labels_deepcopy

    TensorBlock.values = property(TensorBlock.values.fget, _values_setter)
    TensorBlock.to = _block_to
    TensorBlock.__eq__ = _block_eq
    TensorBlock.__ne__ = _block_ne
    TensorBlock.__hash__ = None
    TensorBlock.__copy__ = _shallow_copy
    TensorBlock.__deepcopy__ = _deep_copy

    TensorMap.to = _tensor_to
    TensorMap.block = _tensor_block
    TensorMap.blocks = _tensor_blocks
    TensorMap.__getitem__ = _tensor_getitem
    TensorMap.__iter__ = _tensor_iter
    TensorMap.__copy__ = _shallow_copy
    TensorMap.__deepcopy__ = _deep_copy
    TensorMap.__eq__ = _tensor_eq
    TensorMap.__ne__ = _tensor_ne
    TensorMap.__hash__ = None
    TensorMap.__neg__ = _tensor_neg
    TensorMap.__pos__ = _tensor_pos
    for operator, name in [
        ("__add__", "add"),
        ("__sub__", "subtract"),
        ("__mul__", "multiply"),
        ("__truediv__", "divide"),
        ("__pow__", "pow"),
        ("__matmul__", "dot"),
    ]:
        setattr(TensorMap, operator, _binary(name))
