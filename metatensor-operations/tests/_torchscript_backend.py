"""A backend for compiling the operations with TorchScript before metatensor-torch
exists.

``Labels``, ``LabelsEntry``, ``TensorBlock`` and ``TensorMap`` here are
TorchScript classes declaring the API that metatensor-torch will provide
(upstream's metatensor-torch API: SPEC §1.1 with the §1.4 differences). They are
**compile-time stand-ins for metatensor.torch**: methods store their arguments or
raise ``RuntimeError``, and are never run. ``test_torchscript.py`` compiles every
operation against them, so that a construct TorchScript rejects is caught now.

This file is the contract metatensor-torch must meet: every signature below
(argument names, types, defaults, return types) must be accepted by the real
classes. Where TorchScript can not express upstream's Python signature, the
closest typed one is declared, with a comment saying so. Things TorchScript can
not do with these classes, which the operations must therefore avoid:

* iterate over ``Labels`` or ``TensorMap`` (``for entry in labels`` does not
  compile for a TorchScript class): use ``range(len(labels))`` with
  ``labels.entry(i)``, and ``tensor.blocks()``;
* use ``labels["name"]`` as a tensor: a TorchScript method has one return type,
  so ``labels["name"]`` is a ``LabelsEntry`` over the column there; columns come
  from ``labels.column(name)``;
* pass ``**kwargs`` selections to ``TensorMap.block``/``blocks``: use a
  ``Dict[str, int]``, ``Labels`` or ``LabelsEntry`` selection;
* pass a device positionally to ``TensorBlock.to``/``TensorMap.to``: the first
  positional argument is ``dtype``, use ``to(device=...)``.
"""

from typing import Dict, List, Optional, Tuple, Union

import torch

__all__ = [
    "Labels",
    "LabelsEntry",
    "LabelsIndexError",
    "TensorBlock",
    "TensorMap",
    "TorchTensor",
    "torch",
    "torch_jit_is_scripting",
    "torch_jit_script",
]

LabelsIndexError = RuntimeError
TorchTensor = torch.Tensor
torch_jit_is_scripting = torch.jit.is_scripting
torch_jit_script = torch.jit.script


@torch.jit.script
class LabelsEntry:
    def __init__(self, names: List[str], values: torch.Tensor):
        self._names = names
        self._values = values

    @property
    def names(self) -> List[str]:
        return self._names

    @property
    def values(self) -> torch.Tensor:
        return self._values

    @property
    def device(self) -> torch.device:
        return self._values.device

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, dimension: Union[int, str]) -> int:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def print(self) -> str:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def __eq__(self, other: "LabelsEntry") -> bool:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def __ne__(self, other: "LabelsEntry") -> bool:
        raise RuntimeError("compile-time stand-in for metatensor.torch")


@torch.jit.script
class Labels:
    # upstream also takes a single `str` for `names`; TorchScript code must give
    # a list
    def __init__(
        self, names: List[str], values: torch.Tensor, assume_unique: bool = False
    ):
        self._names = names
        self._values = values

    @property
    def names(self) -> List[str]:
        return self._names

    @property
    def values(self) -> torch.Tensor:
        return self._values

    @property
    def device(self) -> torch.device:
        return self._values.device

    @staticmethod
    def single() -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @staticmethod
    def empty(names: List[str]) -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @staticmethod
    def range(name: str, end: int) -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @staticmethod
    def load(path: str) -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @staticmethod
    def load_buffer(buffer: torch.Tensor) -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def save(self, path: str):
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def save_buffer(self) -> torch.Tensor:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def __len__(self) -> int:
        return self._values.shape[0]

    # upstream's `labels["name"]` (a column) can not share this method in
    # TorchScript (one return type): use `column(name)`
    # a column name gives a LabelsEntry over the column in TorchScript (a method
    # has one return type); the operations use `column(name)` for columns
    def __getitem__(self, index: Union[int, str]) -> LabelsEntry:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def __contains__(self, entry: Union[LabelsEntry, torch.Tensor, List[int]]) -> bool:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def entry(self, index: int) -> LabelsEntry:
        return LabelsEntry(self._names, self._values[index])

    def column(self, dimension: str) -> torch.Tensor:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    # upstream also accepts a Tuple of ints, which TorchScript can only type with
    # a fixed length
    def position(
        self, entry: Union[LabelsEntry, torch.Tensor, List[int]]
    ) -> Optional[int]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def __eq__(self, other: "Labels") -> bool:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def __ne__(self, other: "Labels") -> bool:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def union(self, other: "Labels") -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def union_and_mapping(
        self, other: "Labels"
    ) -> Tuple["Labels", torch.Tensor, torch.Tensor]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def intersection(self, other: "Labels") -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def intersection_and_mapping(
        self, other: "Labels"
    ) -> Tuple["Labels", torch.Tensor, torch.Tensor]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def difference(self, other: "Labels") -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def difference_and_mapping(self, other: "Labels") -> Tuple["Labels", torch.Tensor]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def select(self, selection: Union["Labels", LabelsEntry]) -> torch.Tensor:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def append(self, name: str, values: torch.Tensor) -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def insert(self, index: int, name: str, values: torch.Tensor) -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def permute(self, dimensions_indexes: List[int]) -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def remove(self, name: str) -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def rename(self, old: str, new: str) -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    # device only (SPEC §1.4), no dtype and no `arrays`
    def to(self, device: torch.device, non_blocking: bool = False) -> "Labels":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def print(self, max_entries: int, indent: int = 0) -> str:
        raise RuntimeError("compile-time stand-in for metatensor.torch")


@torch.jit.script
class TensorBlock:
    # gradients can not be stored as TensorBlock attributes (TorchScript classes
    # can not hold instances of themselves): metatensor-torch keeps them as
    # parallel lists (parameters, values, samples, components) and builds the
    # gradient blocks on access. The stand-in stores no gradients.
    def __init__(
        self,
        values: torch.Tensor,
        samples: Labels,
        components: List[Labels],
        properties: Labels,
    ):
        self._values = values
        self._samples = samples
        self._components = components
        self._properties = properties

    @staticmethod
    def load(path: str) -> "TensorBlock":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @staticmethod
    def load_buffer(buffer: torch.Tensor) -> "TensorBlock":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def save(self, path: str):
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def save_buffer(self) -> torch.Tensor:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @property
    def values(self) -> torch.Tensor:
        return self._values

    @property
    def samples(self) -> Labels:
        return self._samples

    @property
    def components(self) -> List[Labels]:
        return self._components

    @property
    def properties(self) -> Labels:
        return self._properties

    @property
    def shape(self) -> List[int]:
        return self._values.shape

    @property
    def dtype(self) -> torch.dtype:
        return self._values.dtype

    @property
    def device(self) -> torch.device:
        return self._values.device

    def __len__(self) -> int:
        return self._values.shape[0]

    def add_gradient(self, parameter: str, gradient: "TensorBlock"):
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def gradient(self, parameter: str) -> "TensorBlock":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def gradients_list(self) -> List[str]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def has_gradient(self, parameter: str) -> bool:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def gradients(self) -> List[Tuple[str, "TensorBlock"]]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    # always a deep copy (upstream core's `copy(deep=True)` flag is not in mt)
    def copy(self) -> "TensorBlock":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    # upstream's two leading positional `_0`/`_1` (dtype or device in any order)
    # are not expressible: the positional order is dtype, device
    def to(
        self,
        dtype: Optional[torch.dtype] = None,
        device: Optional[torch.device] = None,
        arrays: Optional[str] = None,
        non_blocking: bool = False,
    ) -> "TensorBlock":
        raise RuntimeError("compile-time stand-in for metatensor.torch")


@torch.jit.script
class TensorMap:
    def __init__(self, keys: Labels, blocks: List[TensorBlock]):
        self._keys = keys
        self._blocks = blocks

    @staticmethod
    def load(path: str) -> "TensorMap":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @staticmethod
    def load_buffer(buffer: torch.Tensor) -> "TensorMap":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def save(self, path: str):
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def save_buffer(self) -> torch.Tensor:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @property
    def keys(self) -> Labels:
        return self._keys

    def __len__(self) -> int:
        return len(self._blocks)

    # upstream's `block(selection=None, **kwargs)` and `blocks(...)`: TorchScript
    # has no **kwargs, the selection is one typed argument (an int is a position
    # in the keys, a dict maps key names to values)
    def block(
        self, selection: Union[None, int, Labels, LabelsEntry, Dict[str, int]] = None
    ) -> TensorBlock:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    # no matching block gives [] (SPEC §1.4)
    def blocks(
        self, selection: Union[None, int, Labels, LabelsEntry, Dict[str, int]] = None
    ) -> List[TensorBlock]:
        return self._blocks

    def __getitem__(
        self, selection: Union[int, Labels, LabelsEntry, Dict[str, int]]
    ) -> TensorBlock:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def block_by_id(self, index: int) -> TensorBlock:
        return self._blocks[index]

    def blocks_by_id(self, indices: List[int]) -> List[TensorBlock]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def items(self) -> List[Tuple[LabelsEntry, TensorBlock]]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @property
    def sample_names(self) -> List[str]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @property
    def component_names(self) -> List[str]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @property
    def property_names(self) -> List[str]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @property
    def dtype(self) -> torch.dtype:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    @property
    def device(self) -> torch.device:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    # upstream also takes a Tuple of names, and an int or complex fill_value;
    # TorchScript code gives a str, a list of str or Labels, and a float
    def keys_to_samples(
        self,
        keys_to_move: Union[str, List[str], Labels],
        fill_value: float = 0.0,
        sort_samples: bool = True,
    ) -> "TensorMap":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def keys_to_properties(
        self,
        keys_to_move: Union[str, List[str], Labels],
        fill_value: float = 0.0,
        sort_samples: bool = True,
    ) -> "TensorMap":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def components_to_properties(
        self, dimensions: Union[str, List[str]]
    ) -> "TensorMap":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def set_info(self, key: str, value: str):
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def get_info(self, key: str) -> Optional[str]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def info(self) -> Dict[str, str]:
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def copy(self) -> "TensorMap":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    # see TensorBlock.to
    def to(
        self,
        dtype: Optional[torch.dtype] = None,
        device: Optional[torch.device] = None,
        arrays: Optional[str] = None,
        non_blocking: bool = False,
    ) -> "TensorMap":
        raise RuntimeError("compile-time stand-in for metatensor.torch")

    def print(self, max_keys: int) -> str:
        raise RuntimeError("compile-time stand-in for metatensor.torch")
