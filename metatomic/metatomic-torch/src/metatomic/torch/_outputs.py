"""What a model can compute and what an engine asks of it: ``ModelOutput``,
``ModelCapabilities`` and ``ModelEvaluationOptions``, as TorchScript classes
(compiled at import, usable in eager Python and inside exported models)."""

from typing import Dict, List, Optional, Union

import torch

from metatensor.torch import Labels

from ._jit import script_class
from ._quantities import (
    check_name,
    is_custom,
    split_variant,
    standard_dimensions,
)
from ._units import check_unit_dimension, unit_conversion_factor, validate_unit
from ._warnings import warn_once


def _check_sample_kind(sample_kind: str) -> str:
    if sample_kind not in ["system", "atom", "atom_pair"]:
        raise ValueError(
            "invalid sample_kind '"
            + sample_kind
            + "': expected one of 'system', 'atom' or 'atom_pair'"
        )
    return sample_kind


def check_length_unit(unit: str, what: str) -> str:
    """Raise if ``unit`` (when not empty) is not a unit of length, return it"""
    message = check_unit_dimension(unit, "length", what)
    if message != "":
        raise ValueError("invalid " + what + ": " + message)
    return unit


def _per_atom_kind(per_atom: bool) -> str:
    if per_atom:
        return "atom"
    return "system"


def _warn_per_atom():
    warn_once(
        "ModelOutput.per_atom is deprecated, use ModelOutput.sample_kind "
        "('system', 'atom' or 'atom_pair') instead",
        True,
    )


def _warn_quantity():
    warn_once(
        "ModelOutput.quantity is deprecated and ignored: the quantity is given by "
        "the name of the output",
        True,
    )


def _str_list(values: List[str]) -> str:
    quoted: List[str] = []
    for value in values:
        quoted.append("'" + value + "'")
    return "[" + ", ".join(quoted) + "]"


class ModelOutput:
    """Description of one output of a model: its unit, what its samples are and
    which gradients the model computes explicitly.

    :param quantity: deprecated, ignored (the quantity is given by the output
        name); a non-empty value warns once
    :param unit: unit of the values, any expression of
        :py:func:`unit_conversion_factor`
    :param sample_kind: ``"system"`` (one sample per system), ``"atom"`` (one per
        atom) or ``"atom_pair"`` (one per pair of atoms); the deprecated form of
        this argument, a bool ``per_atom``, is also accepted here
    :param explicit_gradients: gradients stored by the model in its output, in
        forward mode (e.g. ``["positions"]``)
    :param description: free text, recommended for variants of a quantity
    :param per_atom: deprecated, ``True`` for ``sample_kind="atom"``

    >>> output = ModelOutput(unit="eV", sample_kind="atom")
    >>> output.sample_kind
    'atom'
    """

    def __init__(
        self,
        quantity: str = "",
        unit: str = "",
        sample_kind: Union[str, bool, None] = None,
        explicit_gradients: Optional[List[str]] = None,
        description: str = "",
        per_atom: Optional[bool] = None,
    ):
        if sample_kind is not None and per_atom is not None:
            raise ValueError(
                "ModelOutput got both `sample_kind` and `per_atom`: only give "
                "`sample_kind` (`per_atom` is deprecated)"
            )
        kind = "system"
        if isinstance(sample_kind, bool):
            _warn_per_atom()
            kind = _per_atom_kind(sample_kind)
        elif isinstance(sample_kind, str):
            kind = _check_sample_kind(sample_kind)
        elif sample_kind is not None:
            # only reachable in eager Python, TorchScript checks the type
            raise TypeError(
                "`sample_kind` must be a str (or a bool for the deprecated "
                "`per_atom`), got " + type(sample_kind).__name__
            )
        if per_atom is not None:
            _warn_per_atom()
            kind = _per_atom_kind(per_atom)
        if explicit_gradients is None:
            explicit_gradients = torch.jit.annotate(List[str], [])
        validate_unit(unit)
        if quantity != "":
            _warn_quantity()

        self._quantity = quantity
        self._unit = unit
        self._sample_kind = kind
        self.explicit_gradients: List[str] = explicit_gradients
        self.description: str = description

    @property
    def unit(self) -> str:
        """Unit of the output values"""
        return self._unit

    @unit.setter
    def unit(self, unit: str):
        validate_unit(unit)
        self._unit = unit

    @property
    def sample_kind(self) -> str:
        """``"system"``, ``"atom"`` or ``"atom_pair"``"""
        return self._sample_kind

    @sample_kind.setter
    def sample_kind(self, sample_kind: str):
        self._sample_kind = _check_sample_kind(sample_kind)

    @property
    def per_atom(self) -> bool:
        """Deprecated: whether ``sample_kind`` is ``"atom"``"""
        _warn_per_atom()
        if self._sample_kind == "atom_pair":
            raise ValueError(
                "`per_atom` is not defined for outputs with sample_kind='atom_pair', "
                "use `sample_kind` instead"
            )
        return self._sample_kind == "atom"

    @per_atom.setter
    def per_atom(self, per_atom: bool):
        _warn_per_atom()
        self._sample_kind = _per_atom_kind(per_atom)

    @property
    def quantity(self) -> str:
        """Deprecated and ignored: the quantity is given by the output name"""
        return self._quantity

    @quantity.setter
    def quantity(self, quantity: str):
        if quantity != "":
            _warn_quantity()
        self._quantity = quantity

    def __repr__(self) -> str:
        return (
            "ModelOutput(unit='"
            + self._unit
            + "', sample_kind='"
            + self._sample_kind
            + "', explicit_gradients="
            + _str_list(self.explicit_gradients)
            + ", description='"
            + self.description
            + "')"
        )


script_class(ModelOutput)


def _check_outputs(outputs: Dict[str, ModelOutput]):
    """The checks of ``ModelCapabilities.outputs``: valid names, units with the
    dimension of the quantity, descriptions of variants"""
    dimensions = standard_dimensions()
    for name, output in outputs.items():
        singular = check_name(name, "model output")
        if is_custom(name):
            continue
        base = split_variant(singular)[0]
        dimension = dimensions[base]
        if output.unit == "":
            if dimension != "none":
                warn_once(
                    "the output '"
                    + name
                    + "' has no unit: engines can not convert it, set "
                    + "`ModelOutput.unit`"
                )
        elif dimension == "none":
            warn_once(
                "the output '"
                + name
                + "' is dimensionless but has a unit ('"
                + output.unit
                + "')"
            )
        else:
            message = check_unit_dimension(output.unit, dimension, base)
            if message != "":
                raise ValueError(
                    "invalid unit for the output '" + name + "': " + message
                )
        if split_variant(name)[1] != "" and output.description == "":
            warn_once(
                "the output '"
                + name
                + "' is a variant but has no description: set "
                + "`ModelOutput.description` to say how it differs from the "
                + "other variants"
            )


def _check_dtype(dtype: str) -> str:
    if dtype not in ["", "float32", "float64"]:
        raise ValueError(
            "invalid dtype '" + dtype + "': expected 'float32' or 'float64'"
        )
    return dtype


class ModelCapabilities:
    """What a model can do: its outputs, the atomic types it handles, its range,
    units, devices and dtype.

    :param outputs: output name => :py:class:`ModelOutput`
    :param atomic_types: the atomic types (usually atomic numbers) the model
        handles
    :param interaction_range: how far (in ``length_unit``) an atom influences the
        outputs of another, for domain decomposition; may be ``inf``
    :param length_unit: unit of the lengths the model works with
    :param supported_devices: device types (``"cpu"``, ``"cuda"``, ...) the model
        can run on, the preferred one first
    :param dtype: ``"float32"`` or ``"float64"``, the dtype of the model

    >>> capabilities = ModelCapabilities(
    ...     outputs={"energy": ModelOutput(unit="eV")},
    ...     atomic_types=[1, 8],
    ...     interaction_range=0.5,
    ...     length_unit="nm",
    ...     supported_devices=["cpu"],
    ...     dtype="float64",
    ... )
    >>> capabilities.engine_interaction_range("angstrom")
    5.0
    """

    def __init__(
        self,
        outputs: Optional[Dict[str, ModelOutput]] = None,
        atomic_types: Optional[List[int]] = None,
        interaction_range: float = -1.0,
        length_unit: str = "",
        supported_devices: Optional[List[str]] = None,
        dtype: str = "",
    ):
        if outputs is None:
            outputs = torch.jit.annotate(Dict[str, ModelOutput], {})
        if atomic_types is None:
            atomic_types = torch.jit.annotate(List[int], [])
        if supported_devices is None:
            supported_devices = torch.jit.annotate(List[str], [])
        _check_outputs(outputs)
        self._outputs = outputs
        self.atomic_types: List[int] = atomic_types
        self.interaction_range: float = interaction_range
        self._length_unit = check_length_unit(length_unit, "length_unit")
        self.supported_devices: List[str] = supported_devices
        self._dtype = _check_dtype(dtype)

    @property
    def outputs(self) -> Dict[str, ModelOutput]:
        """Output name => :py:class:`ModelOutput`; names and units are checked
        when set"""
        return self._outputs

    @outputs.setter
    def outputs(self, outputs: Dict[str, ModelOutput]):
        _check_outputs(outputs)
        self._outputs = outputs

    @property
    def length_unit(self) -> str:
        """Unit of length of the model"""
        return self._length_unit

    @length_unit.setter
    def length_unit(self, unit: str):
        self._length_unit = check_length_unit(unit, "length_unit")

    @property
    def dtype(self) -> str:
        """``"float32"`` or ``"float64"``"""
        return self._dtype

    @dtype.setter
    def dtype(self, dtype: str):
        self._dtype = _check_dtype(dtype)

    def engine_interaction_range(self, engine_length_unit: str) -> float:
        """``interaction_range`` in ``engine_length_unit``"""
        return self.interaction_range * unit_conversion_factor(
            self._length_unit, engine_length_unit
        )


script_class(ModelCapabilities)


class ModelEvaluationOptions:
    """What an engine asks of a model for one evaluation.

    :param length_unit: unit of lengths in the engine's systems
    :param outputs: the requested outputs, name => :py:class:`ModelOutput` (with
        the unit the engine wants)
    :param selected_atoms: the atoms to compute outputs for, as Labels with the
        names ``["system", "atom"]``; ``None`` for all atoms
    """

    def __init__(
        self,
        length_unit: str = "",
        outputs: Optional[Dict[str, ModelOutput]] = None,
        selected_atoms: Optional[Labels] = None,
    ):
        if outputs is None:
            outputs = torch.jit.annotate(Dict[str, ModelOutput], {})
        self._length_unit = check_length_unit(length_unit, "length_unit")
        self.outputs: Dict[str, ModelOutput] = outputs
        self._selected_atoms = _check_selected_atoms(selected_atoms)

    @property
    def length_unit(self) -> str:
        """Unit of lengths in the engine's systems"""
        return self._length_unit

    @length_unit.setter
    def length_unit(self, unit: str):
        self._length_unit = check_length_unit(unit, "length_unit")

    @property
    def selected_atoms(self) -> Optional[Labels]:
        """The atoms to compute outputs for (names ``["system", "atom"]``), or
        ``None`` for all atoms"""
        return self._selected_atoms

    @selected_atoms.setter
    def selected_atoms(self, selected_atoms: Optional[Labels]):
        self._selected_atoms = _check_selected_atoms(selected_atoms)


def _check_selected_atoms(selected_atoms: Optional[Labels]) -> Optional[Labels]:
    if selected_atoms is not None:
        if selected_atoms.names != ["system", "atom"]:
            raise ValueError(
                "invalid `selected_atoms`: expected Labels with the names "
                "['system', 'atom'], got [" + ", ".join(selected_atoms.names) + "]"
            )
    return selected_atoms


script_class(ModelEvaluationOptions)
