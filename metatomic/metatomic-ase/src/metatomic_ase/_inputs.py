"""The extra inputs a model can request (``requested_inputs()``), read from an
``ase.Atoms``.

Each input becomes a TensorMap with a single block (key ``_`` = 0), whose samples
are ``["system", "atom"]`` for per-atom quantities and ``["system"]`` for
per-system ones (the data of a system always describe system 0, see
``System.add_data``), with an ``xyz`` component for 3-vectors and properties
named after the quantity. The ``unit`` info gives the ASE unit of the values, so
that the model converts them to the unit it asked for.

=========================  =========================================  ===============
input                      read from                                  unit
=========================  =========================================  ===============
``momentum`` (atom)        ``atoms.get_momenta()``                    ``(eV*u)^(1/2)``
``velocity`` (atom)        ``atoms.get_velocities()``                 ``(eV/u)^(1/2)``
``mass`` (atom)            ``atoms.get_masses()``                     ``u``
``charge`` (atom)          ``atoms.get_initial_charges()``            ``e``
``charge`` (system)        ``atoms.info["charge"]`` (default 0)       ``e``
``spin_multiplicity``      ``atoms.info["spin_multiplicity"]``, then
(system)                   ``atoms.info["spin"]`` (default 1)
``ase::initial_magmoms``   ``atoms.get_initial_magnetic_moments()``
``ase::initial_charges``   ``atoms.get_initial_charges()``            ``e``
``ase::tags``              ``atoms.get_tags()``
``ase::arrays::<name>``    ``atoms.arrays[name]`` (per atom)
``ase::info::<name>``      ``atoms.info[name]`` (per system)
=========================  =========================================  ===============
"""

import re
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch

from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import ModelOutput

# per-atom inputs: name => (ASE unit, key watched in `atoms.arrays`, getter)
_PER_ATOM: Dict[str, Tuple[str, str, Callable]] = {
    "momentum": ("(eV*u)^(1/2)", "momenta", lambda atoms: atoms.get_momenta()),
    "velocity": ("(eV/u)^(1/2)", "momenta", lambda atoms: atoms.get_velocities()),
    "mass": ("u", "masses", lambda atoms: atoms.get_masses()),
    "ase::initial_magmoms": (
        "",
        "initial_magmoms",
        lambda atoms: atoms.get_initial_magnetic_moments(),
    ),
    "ase::initial_charges": (
        "e",
        "initial_charges",
        lambda atoms: atoms.get_initial_charges(),
    ),
    "ase::tags": ("", "tags", lambda atoms: atoms.get_tags()),
}

_ARRAYS_PREFIX = "ase::arrays::"
_INFO_PREFIX = "ase::info::"

_KNOWN_INPUTS = [
    "momentum",
    "velocity",
    "mass",
    "charge",
    "spin_multiplicity",
    "ase::initial_magmoms",
    "ase::initial_charges",
    "ase::tags",
    "ase::arrays::<name>",
    "ase::info::<name>",
]


def _property_name(name: str) -> str:
    """A valid Labels dimension name for the quantity ``name``"""
    name = name.split("::")[-1]
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if name == "" or name[0].isdigit():
        name = "value_" + name
    return name


def _spin_multiplicity(atoms) -> float:
    if "spin_multiplicity" in atoms.info:
        return atoms.info["spin_multiplicity"]
    return atoms.info.get("spin", 1)


def _info_value(key: str):
    def read(atoms):
        if key not in atoms.info:
            raise ValueError(
                f"the model requests the input '{_INFO_PREFIX}{key}', but "
                f"`atoms.info` has no {key!r} entry (it has {sorted(atoms.info)})"
            )
        return atoms.info[key]

    return read


def _array_value(key: str):
    def read(atoms):
        if key not in atoms.arrays:
            raise ValueError(
                f"the model requests the input '{_ARRAYS_PREFIX}{key}', but "
                f"`atoms.arrays` has no {key!r} entry (it has {sorted(atoms.arrays)})"
            )
        return atoms.arrays[key]

    return read


class _Input:
    """How to build one input from ``ase.Atoms``"""

    def __init__(self, name: str, request: ModelOutput):
        self.name = name
        self.per_atom = True
        self.unit = ""
        # keys of `atoms.info` and `atoms.arrays` the value is read from
        self.info_keys: List[str] = []
        self.arrays: List[str] = []

        if name in _PER_ATOM:
            self.unit, array, self._read = _PER_ATOM[name]
            self.arrays.append(array)
        elif name == "charge":
            self.unit = "e"
            if request.sample_kind == "system":
                self.per_atom = False
                self.info_keys.append("charge")
                self._read = lambda atoms: atoms.info.get("charge", 0.0)
            else:
                self.arrays.append("initial_charges")
                self._read = lambda atoms: atoms.get_initial_charges()
        elif name == "spin_multiplicity":
            self.per_atom = False
            self.info_keys.extend(["spin_multiplicity", "spin"])
            self._read = _spin_multiplicity
        elif name.startswith(_ARRAYS_PREFIX) and len(name) > len(_ARRAYS_PREFIX):
            key = name[len(_ARRAYS_PREFIX) :]
            self.arrays.append(key)
            self._read = _array_value(key)
        elif name.startswith(_INFO_PREFIX) and len(name) > len(_INFO_PREFIX):
            key = name[len(_INFO_PREFIX) :]
            self.per_atom = False
            self.info_keys.append(key)
            self._read = _info_value(key)
        else:
            raise ValueError(
                f"the model requests the input {name!r}, which MetatomicCalculator "
                f"can not provide: the known inputs are {_KNOWN_INPUTS}"
            )

        expected = "atom" if self.per_atom else "system"
        if request.sample_kind != expected:
            raise ValueError(
                f"the model requests the input {name!r} with "
                f"sample_kind={request.sample_kind!r}, but MetatomicCalculator "
                f"provides it with sample_kind={expected!r}"
            )

        self._property = _property_name(name)
        # Labels cached between calls, by shape
        self._labels: Dict[Tuple, Labels] = {}

    def _cached_labels(self, key: Tuple, names: List[str], values, device) -> Labels:
        labels = self._labels.get(key)
        if labels is None:
            labels = Labels(
                names, torch.as_tensor(values, dtype=torch.int32, device=device)
            )
            self._labels[key] = labels
        return labels

    def build(self, atoms, dtype: torch.dtype, device: torch.device) -> TensorMap:
        """The TensorMap of this input for ``atoms``"""
        value = np.asarray(self._read(atoms), dtype=np.float64)
        n_atoms = len(atoms)

        if self.per_atom:
            if value.ndim == 0 or value.shape[0] != n_atoms:
                raise ValueError(
                    f"the input {self.name!r} must have one entry per atom "
                    f"({n_atoms}), got an array of shape {value.shape}"
                )
            samples = self._cached_labels(
                ("samples", n_atoms),
                ["system", "atom"],
                np.stack(
                    [np.zeros(n_atoms, dtype=np.int32), np.arange(n_atoms)], axis=1
                ),
                device,
            )
            value = value.reshape(n_atoms, -1)
        else:
            samples = self._cached_labels(("samples",), ["system"], [[0]], device)
            value = value.reshape(1, -1)

        components = []
        if value.shape[1] == 3:
            # a 3-vector per sample
            components.append(
                self._cached_labels(("xyz",), ["xyz"], [[0], [1], [2]], device)
            )
            value = value.reshape(-1, 3, 1)
        n_properties = value.shape[-1]
        properties = self._cached_labels(
            ("properties", n_properties),
            [self._property],
            np.arange(n_properties).reshape(-1, 1),
            device,
        )
        keys = self._cached_labels(("keys",), ["_"], [[0]], device)

        values = torch.from_numpy(value).to(dtype=dtype, device=device)
        block = TensorBlock(values, samples, components, properties)
        tensor = TensorMap(keys, [block])
        tensor.set_info("unit", self.unit)
        return tensor


class InputsBuilder:
    """Builds every input requested by a model from ``ase.Atoms``.

    :param requested: the model's ``requested_inputs(use_new_names=True)``
    :raises ValueError: for an input that can not be read from ``ase.Atoms``
    """

    def __init__(self, requested: Dict[str, ModelOutput]):
        self._inputs = [_Input(name, request) for name, request in requested.items()]
        self.info_keys = sorted({k for i in self._inputs for k in i.info_keys})
        self.arrays = sorted({k for i in self._inputs for k in i.arrays})

    def __len__(self) -> int:
        return len(self._inputs)

    def build(
        self, atoms, dtype: torch.dtype, device: torch.device
    ) -> Dict[str, TensorMap]:
        """Input name => TensorMap for ``atoms``"""
        return {i.name: i.build(atoms, dtype, device) for i in self._inputs}
