"""``System``: the atoms an engine gives to a model (types, positions, cell,
periodicity), with the neighbor lists the model requested and extra data
(masses, charges, ...), as a TorchScript class."""

from typing import Dict, List, Optional

import torch

from metatensor.torch import TensorBlock, TensorMap

from ._jit import script_class
from ._neighbors import (
    NeighborListOptions,
    _PairVectors,
    fixed_6,
    neighbors_layout_error,
    pair_vectors,
)
from ._quantities import check_name, new_name
from ._warnings import warn_once


def reserved_data_names() -> List[str]:
    """Data names that would shadow the system's own content (compared in lower
    case)"""
    return ["types", "positions", "position", "cell", "neighbors", "neighbor"]


def _check_types(types: torch.Tensor) -> torch.Tensor:
    if types.dim() != 1:
        raise ValueError(
            "`types` must be a 1-D tensor, got a tensor with "
            + str(types.dim())
            + " dimensions"
        )
    if types.is_floating_point() or types.is_complex() or types.dtype == torch.bool:
        raise ValueError(
            "`types` must be a tensor of integers, got dtype " + str(types.dtype)
        )
    if types.dtype != torch.int32:
        types = types.to(torch.int32)
    return types


def _check_positions(positions: torch.Tensor, n_atoms: int, device: torch.device):
    if positions.dim() != 2 or positions.shape[1] != 3:
        raise ValueError(
            "`positions` must be a tensor of shape (n_atoms, 3), got "
            + str(list(positions.shape))
        )
    if positions.shape[0] != n_atoms:
        raise ValueError(
            "`positions` must contain one row per atom: got "
            + str(positions.shape[0])
            + " positions for "
            + str(n_atoms)
            + " types"
        )
    if not positions.is_floating_point():
        raise ValueError(
            "`positions` must be a floating point tensor, got dtype "
            + str(positions.dtype)
        )
    if positions.device != device:
        raise ValueError(
            "`positions` must be on the device of `types` ("
            + str(device)
            + "), got "
            + str(positions.device)
        )


def _check_cell(cell: torch.Tensor, positions: torch.Tensor):
    if cell.dim() != 2 or cell.shape[0] != 3 or cell.shape[1] != 3:
        raise ValueError(
            "`cell` must be a tensor of shape (3, 3), got " + str(list(cell.shape))
        )
    if cell.dtype != positions.dtype:
        raise ValueError(
            "`cell` must have the dtype of `positions` ("
            + str(positions.dtype)
            + "), got "
            + str(cell.dtype)
        )
    if cell.device != positions.device:
        raise ValueError(
            "`cell` must be on the device of `positions` ("
            + str(positions.device)
            + "), got "
            + str(cell.device)
        )


def _check_pbc(pbc: torch.Tensor, cell: torch.Tensor):
    if pbc.dim() != 1 or pbc.shape[0] != 3:
        raise ValueError(
            "`pbc` must be a tensor of shape (3,), got " + str(list(pbc.shape))
        )
    if pbc.dtype != torch.bool:
        raise ValueError("`pbc` must be a tensor of bool, got dtype " + str(pbc.dtype))
    if pbc.device != cell.device:
        raise ValueError(
            "`pbc` must be on the device of `positions` ("
            + str(cell.device)
            + "), got "
            + str(pbc.device)
        )
    non_periodic = torch.logical_not(pbc)
    # `any` first: most systems are periodic in every direction, or in none
    if bool(torch.any(non_periodic)) and bool(torch.any(cell[non_periodic] != 0.0)):
        raise ValueError(
            "the cell vectors of non-periodic directions must be zero: set the rows "
            + "of `cell` to zero where `pbc` is False"
        )


def _number(value: float) -> str:
    """``value`` with at most 6 decimals and no trailing zeros"""
    text = fixed_6(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


class System:
    """The atoms of one structure given to a model.

    :param types: 1-D integer tensor with the type of each atom (usually the
        atomic number), stored as int32
    :param positions: ``(n_atoms, 3)`` floating point tensor of Cartesian
        positions; its dtype is the dtype of the system
    :param cell: ``(3, 3)`` tensor whose rows are the cell vectors (zero rows in
        non-periodic directions)
    :param pbc: 3 booleans, whether the system is periodic along each cell vector

    All tensors must be on the same device.

    >>> system = System(
    ...     types=torch.tensor([8, 1, 1]),
    ...     positions=torch.zeros((3, 3), dtype=torch.float64),
    ...     cell=torch.zeros((3, 3), dtype=torch.float64),
    ...     pbc=torch.tensor([False, False, False]),
    ... )
    >>> len(system)
    3
    >>> system
    System with 3 atoms, non periodic
    """

    def __init__(
        self,
        types: torch.Tensor,
        positions: torch.Tensor,
        cell: torch.Tensor,
        pbc: torch.Tensor,
    ):
        types = _check_types(types)
        _check_positions(positions, types.shape[0], types.device)
        _check_cell(cell, positions)
        _check_pbc(pbc, cell)
        self._types = types
        self._positions = positions
        self._cell = cell
        self._pbc = pbc
        self._neighbor_options: List[NeighborListOptions] = []
        self._neighbor_lists: List[TensorBlock] = []
        self._data: Dict[str, TensorMap] = {}

    @property
    def types(self) -> torch.Tensor:
        """Type of each atom, 1-D int32 tensor"""
        return self._types

    @types.setter
    def types(self, types: torch.Tensor):
        types = _check_types(types)
        if types.shape[0] != self._types.shape[0] or types.device != self._types.device:
            raise ValueError(
                "the new `types` must have the same number of atoms and device as "
                + "the old ones"
            )
        self._types = types

    @property
    def positions(self) -> torch.Tensor:
        """Positions of the atoms, ``(n_atoms, 3)``"""
        return self._positions

    @positions.setter
    def positions(self, positions: torch.Tensor):
        _check_positions(positions, self._types.shape[0], self._types.device)
        if positions.dtype != self._positions.dtype:
            raise ValueError(
                "the new `positions` must have the dtype of the system ("
                + str(self._positions.dtype)
                + "), got "
                + str(positions.dtype)
            )
        self._positions = positions

    @property
    def cell(self) -> torch.Tensor:
        """Cell vectors as rows, ``(3, 3)``"""
        return self._cell

    @cell.setter
    def cell(self, cell: torch.Tensor):
        _check_cell(cell, self._positions)
        _check_pbc(self._pbc, cell)
        self._cell = cell

    @property
    def pbc(self) -> torch.Tensor:
        """Periodicity along each cell vector, 3 booleans"""
        return self._pbc

    @pbc.setter
    def pbc(self, pbc: torch.Tensor):
        _check_pbc(pbc, self._cell)
        self._pbc = pbc

    @property
    def device(self) -> torch.device:
        """Device of every tensor of the system"""
        return self._positions.device

    @property
    def dtype(self) -> torch.dtype:
        """dtype of the positions, cell, neighbor lists and data"""
        return self._positions.dtype

    def __len__(self) -> int:
        return self._types.shape[0]

    def __str__(self) -> str:
        text = "System with " + str(self._types.shape[0]) + " atoms, "
        if not bool(torch.any(self._pbc)):
            return text + "non periodic"
        rows: List[str] = []
        for i in range(3):
            row: List[str] = []
            for j in range(3):
                row.append(_number(float(self._cell[i, j])))
            rows.append("[" + ", ".join(row) + "]")
        text += "periodic cell: [" + ", ".join(rows) + "]"
        if not bool(torch.all(self._pbc)):
            flags: List[str] = []
            for i in range(3):
                flags.append(str(bool(self._pbc[i])))
            text += ", pbc: [" + ", ".join(flags) + "]"
        return text

    def __repr__(self) -> str:
        return self.__str__()

    def to(
        self,
        dtype: Optional[torch.dtype] = None,
        device: Optional[torch.device] = None,
        non_blocking: bool = False,
    ) -> "System":
        """A copy of this system with every tensor (positions, cell, neighbor
        lists, data) converted to ``dtype`` and moved to ``device``; the types
        stay integers"""
        if dtype is not None:
            if not (dtype == torch.float32 or dtype == torch.float64):
                if not (dtype == torch.float16 or dtype == torch.bfloat16):
                    raise ValueError(
                        "a system's dtype must be a floating point dtype, got "
                        + str(dtype)
                    )
        if device is None:
            device = self._positions.device
        if dtype is None:
            dtype = self._positions.dtype
        system = System(
            self._types.to(device=device, non_blocking=non_blocking),
            self._positions.to(dtype=dtype, device=device, non_blocking=non_blocking),
            self._cell.to(dtype=dtype, device=device, non_blocking=non_blocking),
            self._pbc.to(device=device, non_blocking=non_blocking),
        )
        for i in range(len(self._neighbor_options)):
            system._neighbor_options.append(self._neighbor_options[i])
            system._neighbor_lists.append(
                self._neighbor_lists[i].to(
                    dtype=dtype, device=device, non_blocking=non_blocking
                )
            )
        for name, data in self._data.items():
            system._data[name] = data.to(
                dtype=dtype, device=device, non_blocking=non_blocking
            )
        return system

    def add_neighbor_list(self, options: NeighborListOptions, neighbors: TensorBlock):
        """Add the neighbor list computed for ``options``.

        :param options: the options the list was computed with
        :param neighbors: the list: samples ``first_atom``, ``second_atom``,
            ``cell_shift_a``, ``cell_shift_b``, ``cell_shift_c``, one ``xyz``
            component and one ``distance`` property, the pair vectors as values
            (shape ``(n_pairs, 3, 1)``), with the dtype and device of the system
        """
        message = neighbors_layout_error(neighbors)
        if message != "":
            raise ValueError("invalid neighbor list: " + message)
        values = neighbors.values
        if values.dtype != self._positions.dtype:
            raise ValueError(
                "`neighbors` dtype ("
                + str(values.dtype)
                + ") does not match this system's dtype ("
                + str(self._positions.dtype)
                + ")"
            )
        if values.device != self._positions.device:
            raise ValueError(
                "`neighbors` device ("
                + str(values.device)
                + ") does not match this system's device ("
                + str(self._positions.device)
                + ")"
            )
        for existing in self._neighbor_options:
            if existing == options:
                raise ValueError(
                    "this system already has a neighbor list for " + options.__repr__()
                )
        if (
            self._positions.requires_grad or self._cell.requires_grad
        ) and not values.requires_grad:
            warn_once(
                "the positions or the cell of this system require gradients but the "
                + "neighbor list values do not: gradients will not flow through "
                + "the neighbor list, call `register_autograd_neighbors` first"
            )
        self._neighbor_options.append(options)
        self._neighbor_lists.append(neighbors)

    def get_neighbor_list(self, options: NeighborListOptions) -> TensorBlock:
        """The neighbor list added for ``options`` (compared on cutoff,
        ``full_list`` and ``strict``)"""
        for i in range(len(self._neighbor_options)):
            if self._neighbor_options[i] == options:
                return self._neighbor_lists[i]
        raise ValueError(
            "No neighbor list for "
            + options.__repr__()
            + " was found in this system: is it returned by the model's "
            + "`requested_neighbor_lists()`?"
        )

    def known_neighbor_lists(self) -> List[NeighborListOptions]:
        """Options of the neighbor lists of this system (a new list: adding to
        it does not add neighbor lists)"""
        return self._neighbor_options.copy()

    def add_data(self, name: str, tensor: TensorMap, override: bool = False):
        """Add extra data (an input of the model such as masses or charges).

        :param name: a standard quantity (``mass``), a variant of one, or a
            custom name containing ``::``; the names of the system's own content
            (types, positions, cell, neighbors) are reserved
        :param tensor: the data, with the dtype and device of the system
        :param override: replace existing data with the same name
        """
        if name.lower() in reserved_data_names():
            raise ValueError(
                "'"
                + name
                + "' is a reserved name for the content of a system, use another "
                + "name for this data"
            )
        name = check_name(name, "system data")
        # a map without blocks has no values, hence no dtype to check
        if len(tensor) != 0 and tensor.dtype != self._positions.dtype:
            raise ValueError(
                "the dtype of the data '"
                + name
                + "' ("
                + str(tensor.dtype)
                + ") does not match this system's dtype ("
                + str(self._positions.dtype)
                + ")"
            )
        if tensor.device != self._positions.device:
            raise ValueError(
                "the device of the data '"
                + name
                + "' ("
                + str(tensor.device)
                + ") does not match this system's device ("
                + str(self._positions.device)
                + ")"
            )
        if name in self._data and not override:
            raise ValueError(
                "this system already has data named '"
                + name
                + "': use `override=True` to replace it"
            )
        self._data[name] = tensor

    def get_data(self, name: str) -> TensorMap:
        """The extra data added as ``name``"""
        key = new_name(name)
        if key not in self._data:
            raise ValueError(
                "no data named '"
                + name
                + "' in this system, the known data are ["
                + ", ".join(self.known_data())
                + "]"
            )
        return self._data[key]

    def known_data(self) -> List[str]:
        """Names of the extra data of this system"""
        names: List[str] = []
        for name in self._data.keys():
            names.append(name)
        return names


script_class(System)


def register_autograd_neighbors(
    system: System, neighbors: TensorBlock, check_consistency: bool = False
):
    """Connect the values of ``neighbors`` to ``system.positions`` and
    ``system.cell`` in the autograd graph, so that gradients of the model outputs
    reach the positions and the cell through the neighbor list.

    Engines compute neighbor lists outside of torch (the values do not require
    gradients); this registers ``values = r_j - r_i + S @ cell`` for autograd
    without changing them.

    :param system: the system the neighbor list was computed for
    :param neighbors: the neighbor list; its values are replaced in place by
        values connected to the graph (equal to the old ones)
    :param check_consistency: also check the layout of ``neighbors`` and that
        its values are the pair vectors of ``system`` (slower)
    """
    if check_consistency:
        message = neighbors_layout_error(neighbors)
        if message != "":
            raise ValueError(message)

    values = neighbors.values
    if values.requires_grad:
        raise ValueError(
            "the values of this neighbor list already require gradients: "
            + "`register_autograd_neighbors` expects values computed outside of "
            + "autograd"
        )
    positions = system.positions
    cell = system.cell
    samples = neighbors.samples.values
    if values.dtype != positions.dtype or values.device != positions.device:
        raise ValueError(
            "the neighbor list values must have the dtype and device of the "
            + "system positions"
        )
    if check_consistency:
        expected = pair_vectors(positions.detach(), cell.detach(), samples)
        if not torch.allclose(expected, values.reshape(-1, 3), rtol=1e-5, atol=1e-5):
            raise ValueError(
                "the neighbor list values are not the pair vectors "
                + "r_j - r_i + S @ cell of this system: check the cell shifts and "
                + "the pairs"
            )

    if not (positions.requires_grad or cell.requires_grad):
        return
    if not torch.jit.is_scripting():
        new_values = _PairVectors.apply(values, positions, cell, samples)
    else:
        # the same gradients, from an expression whose value is exactly zero
        vectors = pair_vectors(positions, cell, samples).reshape(values.shape)
        new_values = values + (vectors - vectors.detach())
    neighbors._values = new_values
