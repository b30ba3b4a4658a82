"""Neighbor lists: the options a model requests (``NeighborListOptions``), the
layout of the TensorBlock an engine provides, and the autograd connection
between positions, cell and the pair vectors (``register_autograd_neighbors``).

A neighbor list is a TensorBlock with

* samples ``["first_atom", "second_atom", "cell_shift_a", "cell_shift_b",
  "cell_shift_c"]``: the pair i-j and the cell shift S of j;
* one component ``xyz`` = [0, 1, 2] and one property ``distance`` = [0];
* values of shape ``(n_pairs, 3, 1)``: the vectors ``r_j - r_i + S @ cell``.
"""

import math
from typing import List

import torch

from metatensor.torch import TensorBlock

from ._jit import script_class
from ._outputs import check_length_unit
from ._units import unit_conversion_factor


def neighbor_sample_names() -> List[str]:
    """Names of the samples of a neighbor list"""
    return ["first_atom", "second_atom", "cell_shift_a", "cell_shift_b", "cell_shift_c"]


def _integer_text(value: float) -> str:
    """The exact decimal digits of ``value``, a non-negative integral float (too
    large for ``int`` above 2^63: written as mantissa * 2^exponent and doubled
    digit by digit)"""
    exponent = 0
    while value >= 9007199254740992.0:  # 2^53, above which floats are integers
        value = value / 2.0
        exponent += 1
    if exponent == 0:
        return str(int(value))
    digits: List[int] = []  # least significant first
    for character in str(int(value)):
        digits.insert(0, int(character))
    for _ in range(exponent):
        carry = 0
        for i in range(len(digits)):
            doubled = 2 * digits[i] + carry
            digits[i] = doubled % 10
            carry = doubled // 10
        if carry != 0:
            digits.append(carry)
    text = ""
    for digit in digits:
        text = str(digit) + text
    return text


def fixed_6(value: float) -> str:
    """``value`` with 6 decimals, as C's ``%f`` prints it (TorchScript has no
    format specifications)"""
    if value != value:
        return "nan"
    if value == float("inf"):
        return "inf"
    if value == -float("inf"):
        return "-inf"
    sign = ""
    if value < 0:
        sign = "-"
        value = -value
    # the integer part is exact (value * 1e6 would lose digits for large values)
    whole = value - math.fmod(value, 1.0)
    micro = int(round((value - whole) * 1e6))
    if micro >= 1000000:
        whole += 1.0
        micro -= 1000000
    return sign + _integer_text(whole) + "." + str(micro).rjust(6, "0")


class NeighborListOptions:
    """A neighbor list requested by a model.

    :param cutoff: spherical cutoff radius, in the model's length unit
    :param full_list: whether each pair appears in both directions (i-j and j-i)
        or once (half list)
    :param strict: whether the list contains only pairs within the cutoff
        (``True``), or may contain more (``False``)
    :param requestor: who asks for this list (e.g. a module path)

    >>> options = NeighborListOptions(cutoff=3.5, full_list=True, strict=False)
    >>> options
    NeighborListOptions(cutoff=3.500000, full_list=True, strict=False)
    >>> options.length_unit = "nm"
    >>> options.engine_cutoff("angstrom")
    35.0
    """

    def __init__(
        self, cutoff: float, full_list: bool, strict: bool, requestor: str = ""
    ):
        if not cutoff > 0.0:
            raise ValueError(
                "the cutoff of a neighbor list must be positive, got " + str(cutoff)
            )
        self._cutoff = float(cutoff)
        self._full_list = full_list
        self._strict = strict
        self._length_unit = ""
        # not `[]`: see the gradient lists in metatensor-torch's TensorBlock
        # constructor
        self._requestors: List[str] = [""]
        self._requestors.clear()
        self.add_requestor(requestor)

    @property
    def cutoff(self) -> float:
        """Cutoff radius, in ``length_unit``"""
        return self._cutoff

    @property
    def full_list(self) -> bool:
        """Whether the list contains each pair in both directions"""
        return self._full_list

    @property
    def strict(self) -> bool:
        """Whether the list contains only the pairs within the cutoff"""
        return self._strict

    @property
    def length_unit(self) -> str:
        """Unit of the cutoff (set by :py:class:`AtomisticModel` to the model's
        unit)"""
        return self._length_unit

    @length_unit.setter
    def length_unit(self, unit: str):
        self._length_unit = check_length_unit(unit, "length_unit")

    def engine_cutoff(self, engine_length_unit: str) -> float:
        """The cutoff in ``engine_length_unit``"""
        return self._cutoff * unit_conversion_factor(
            self._length_unit, engine_length_unit
        )

    def requestors(self) -> List[str]:
        """Who requested this list"""
        return self._requestors

    def add_requestor(self, requestor: str):
        """Record one more requestor (ignored if empty or already known)"""
        if requestor != "" and requestor not in self._requestors:
            self._requestors.append(requestor)

    def __eq__(self, other: "NeighborListOptions") -> bool:
        return (
            self._cutoff == other._cutoff
            and self._full_list == other._full_list
            and self._strict == other._strict
        )

    def __ne__(self, other: "NeighborListOptions") -> bool:
        return not self.__eq__(other)

    def __repr__(self) -> str:
        return (
            "NeighborListOptions(cutoff="
            + fixed_6(self._cutoff)
            + ", full_list="
            + str(self._full_list)
            + ", strict="
            + str(self._strict)
            + ")"
        )

    def __str__(self) -> str:
        unit = ""
        if self._length_unit != "":
            unit = " " + self._length_unit
        text = (
            "Neighbor list options\n    cutoff: "
            + fixed_6(self._cutoff)
            + unit
            + "\n    full_list: "
            + str(self._full_list)
            + "\n    strict: "
            + str(self._strict)
        )
        if len(self._requestors) != 0:
            text += "\n    requested by:"
            for requestor in self._requestors:
                text += "\n        - " + requestor
        return text


script_class(NeighborListOptions)


def neighbors_layout_error(neighbors: TensorBlock) -> str:
    """Why ``neighbors`` does not have the layout of a neighbor list (``""`` if
    it does)"""
    if neighbors.samples.names != neighbor_sample_names():
        return (
            "the samples of a neighbor list must be named ['first_atom', "
            + "'second_atom', 'cell_shift_a', 'cell_shift_b', 'cell_shift_c'], got ["
            + ", ".join(neighbors.samples.names)
            + "]"
        )
    components = neighbors.components
    if len(components) != 1 or components[0].names != ["xyz"]:
        return "a neighbor list must have a single component named 'xyz'"
    xyz: List[int] = components[0].values.reshape(-1).to(torch.int64).tolist()
    if xyz != [0, 1, 2]:
        return "the 'xyz' component of a neighbor list must contain [0, 1, 2]"
    properties = neighbors.properties
    if properties.names != ["distance"] or len(properties) != 1:
        return "a neighbor list must have a single property named 'distance'"
    if int(properties.values[0, 0]) != 0:
        return "the 'distance' property of a neighbor list must be [0]"
    if len(neighbors.gradients_list()) != 0:
        return "a neighbor list can not have gradients"
    return ""


def pair_vectors(
    positions: torch.Tensor, cell: torch.Tensor, samples: torch.Tensor
) -> torch.Tensor:
    """The vectors ``r_j - r_i + S @ cell`` of the pairs in ``samples`` (the
    int32 values of neighbor-list samples), shape ``(n_pairs, 3)``"""
    first = samples[:, 0].to(torch.int64)
    second = samples[:, 1].to(torch.int64)
    shifts = samples[:, 2:5].to(positions.dtype)
    return positions[second] - positions[first] + shifts @ cell


class _PairVectors(torch.autograd.Function):
    """Identity on the pair vectors, whose backward sends their gradient to the
    positions and the cell (eager mode only)"""

    @staticmethod
    def forward(ctx, values, positions, cell, samples):
        ctx.save_for_backward(samples)
        ctx.n_atoms = positions.shape[0]
        return values.view_as(values)

    @staticmethod
    def backward(ctx, grad_values):
        (samples,) = ctx.saved_tensors
        grad = grad_values.reshape(-1, 3)
        grad_positions = grad_cell = None
        if ctx.needs_input_grad[1]:
            grad_positions = torch.zeros(
                (ctx.n_atoms, 3), dtype=grad.dtype, device=grad.device
            )
            grad_positions.index_add_(0, samples[:, 1].to(torch.int64), grad)
            grad_positions.index_add_(0, samples[:, 0].to(torch.int64), -grad)
        if ctx.needs_input_grad[2]:
            shifts = samples[:, 2:5].to(grad.dtype)
            grad_cell = shifts.T @ grad
        return None, grad_positions, grad_cell, None
