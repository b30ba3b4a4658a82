"""The metatomic systems of a torch-sim state.

torch-sim stores the atoms of all its systems together (``positions`` of shape
``(n_atoms, 3)``, ``system_idx`` giving the system of each atom) and the cells
as *column* vectors (``cell[s, :, k]`` is the k-th vector of system ``s``); a
metatomic :py:class:`System` holds one system, with the cell vectors as rows.

For forces and stress, the positions of the state are one leaf of the autograd
graph, and each periodic system is deformed by its own strain ``ε_s`` (the
identity, a slice of one ``(n_systems, 3, 3)`` leaf): ``r' = r ε_s`` and
``H' = H ε_s``, so that one backward pass gives every force and every virial.

torch-sim wraps the atoms in the cell at every step of a simulation, which
would make the Verlet lists of the neighbors search all pairs again whenever an
atom crosses the cell. The atoms given to the model are instead moved by
lattice vectors next to where they were at the previous call: the same
periodic system, with the same energy, forces and stress.
"""

from typing import List, NamedTuple, Optional

import numpy as np
import torch

from metatomic.torch import NeighborListOptions, System
from metatomic.torch._engine_neighbors import NeighborListBuilder


class Batch(NamedTuple):
    """The systems of a state and what is needed to get gradients from them"""

    systems: List[System]
    #: the positions of all atoms (in the order of the state), a leaf of the
    #: autograd graph when computing forces
    positions: torch.Tensor
    #: the strains of all systems ``(n_systems, 3, 3)`` when computing the stress
    strain: Optional[torch.Tensor]
    #: whether each system is periodic in the three directions ``(n_systems,)``
    periodic: torch.Tensor
    #: the cells of the systems as row vectors ``(n_systems, 3, 3)``, in Å
    cells: torch.Tensor
    #: the index of the first atom of each system in the state ``(n_systems,)``
    offsets: torch.Tensor

    def atom_index(self, system: torch.Tensor, atom: torch.Tensor) -> torch.Tensor:
        """The index in the state of the atoms ``atom`` of the systems
        ``system`` (the columns of per-atom samples)"""
        return self.offsets[system.to(torch.int64)] + atom.to(torch.int64)


def _counts(system_idx: torch.Tensor, n_systems: int) -> torch.Tensor:
    """The number of atoms of each system

    :raises ValueError: when the atoms are not sorted by system (torch-sim
        keeps the atoms of each system together, in the order of the systems)
    """
    if len(system_idx) > 1 and bool(torch.any(system_idx[1:] < system_idx[:-1])):
        raise ValueError(
            "the atoms of the state must be sorted by system (`system_idx` must "
            "not decrease)"
        )
    return torch.bincount(system_idx, minlength=n_systems)


class _History:
    """What is kept from one call to the next for one system index of the
    states: its neighbor lists, the positions given to the model and the
    inverse of its cell"""

    def __init__(self, builders: List[NeighborListBuilder]):
        self.builders = builders
        self._positions: Optional[np.ndarray] = None
        self._cell: Optional[np.ndarray] = None
        self._inverse: Optional[np.ndarray] = None

    def translations(
        self, positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray
    ) -> Optional[np.ndarray]:
        """The lattice vectors ``(n_atoms, 3)`` moving the atoms next to their
        positions at the last call (``None`` when they already are)

        :param positions: the positions of the system in the state
        :param cell: its cell (rows are cell vectors, zero when not periodic)
        :param pbc: its periodicity
        """
        previous = self._positions
        translations = None
        if previous is not None and previous.shape == positions.shape and pbc.any():
            if self._cell is None or not np.array_equal(cell, self._cell):
                self._cell = cell.copy()
                # the components along non-periodic directions (zero rows) are zero
                self._inverse = np.linalg.pinv(cell)
            images = np.round((positions - previous) @ self._inverse)
            if images.any():
                translations = -images @ cell
                positions = positions + translations
        self._positions = positions.copy()
        return translations


class SystemsBuilder:
    """Creates the :py:class:`System` of successive torch-sim states, with
    their neighbor lists (kept for each system index of the states, to reuse
    their Verlet skin from one step to the next).

    :param requests: the neighbor lists the model requests
    :param skin: the Verlet skin of the neighbor lists, in Å
    :param check_consistency: check the neighbor lists against lists computed
        from scratch (slow)
    """

    def __init__(
        self, requests: List[NeighborListOptions], skin: float, check_consistency: bool
    ):
        self._requests = list(requests)
        self._skin = skin
        self._check_consistency = check_consistency
        self._histories: List[_History] = []

    def _histories_of(self, n_systems: int) -> List[_History]:
        while len(self._histories) < n_systems:
            builders = [
                NeighborListBuilder(options, self._skin, self._check_consistency)
                for options in self._requests
            ]
            self._histories.append(_History(builders))
        return self._histories[:n_systems]

    def build(self, state, forces: bool, stress: bool) -> Batch:
        """The systems of the torch-sim ``state``.

        :param state: a ``torch_sim.SimState``
        :param forces: make the positions a leaf of the autograd graph
        :param stress: deform the periodic systems by a strain which is a leaf
            of the autograd graph
        """
        positions = state.positions.detach()
        if forces:
            positions = positions.clone().requires_grad_(True)
        device = positions.device
        cells = state.row_vector_cell.detach()
        n_systems = cells.shape[0]
        pbc = torch.as_tensor(state.pbc, dtype=torch.bool, device=device)
        pbc = pbc.expand(n_systems, 3)
        # the cell has no meaning in non-periodic directions
        cells = torch.where(pbc.unsqueeze(-1), cells, torch.zeros_like(cells))
        periodic = pbc.all(dim=1)
        periodic_list = periodic.tolist()

        strain = None
        if stress and any(periodic_list):
            strain = torch.eye(3, dtype=cells.dtype, device=device).repeat(
                n_systems, 1, 1
            )
            strain.requires_grad_(True)

        types = state.atomic_numbers.to(torch.int32)
        counts = _counts(state.system_idx, n_systems)
        offsets = torch.zeros_like(counts)
        offsets[1:] = torch.cumsum(counts, 0)[:-1]

        # neighbors are searched on the CPU, in float64
        positions_np = positions.detach().to("cpu", torch.float64).numpy()
        cells_np = cells.to("cpu", torch.float64).numpy()
        pbc_np = pbc.cpu().numpy()

        systems: List[System] = []
        histories = self._histories_of(n_systems)
        start = 0
        for s, count in enumerate(counts.tolist()):
            end = start + count
            system_positions = positions[start:end]
            system_positions_np = positions_np[start:end]
            translations = histories[s].translations(
                system_positions_np, cells_np[s], pbc_np[s]
            )
            if translations is not None:
                system_positions_np = system_positions_np + translations
                system_positions = system_positions + torch.from_numpy(translations).to(
                    dtype=positions.dtype, device=device
                )
            system_cell = cells[s]
            if strain is not None and periodic_list[s]:
                system_positions = system_positions @ strain[s]
                system_cell = system_cell @ strain[s]

            system = System(types[start:end], system_positions, system_cell, pbc[s])
            for builder in histories[s].builders:
                neighbors = builder.compute(
                    system, system_positions_np, cells_np[s], pbc_np[s]
                )
                system.add_neighbor_list(builder.options, neighbors)
            systems.append(system)
            start = end

        return Batch(systems, positions, strain, periodic, cells, offsets)
