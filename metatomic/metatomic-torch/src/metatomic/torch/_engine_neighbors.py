"""Neighbor lists for the Python engines (the ASE calculator of metatomic-ase
and the torch-sim model of metatomic-torchsim): vesin finds the pairs, torch
computes the pair vectors.

vesin keeps a Verlet list: with a skin ``s``, it stores the pairs closer than
``rc + s`` and, until an atom moved by more than ``s / 2``, only filters them
again at the next call (in C). The vesin calculator is created again when the
number of atoms, the cell or the periodicity change.

The vectors of the pairs,

.. math::

    \\vec r_{ij} = \\vec r_j - \\vec r_i + \\vec S \\cdot H

(``H`` is the cell, rows are the cell vectors, ``S`` the cell shift), are
computed with torch from the positions and the cell of the system, so that they
are part of the autograd graph of both (there is no need to register them with
``register_autograd_neighbors``). The pairs are found on the CPU, from float64
numpy copies of the positions and cell, and the vectors are computed on the
device of the system. While the same pairs are found (most steps of a
simulation), their Labels and index tensors are reused.

vesin is not a dependency of metatomic-torch (the engines depend on it): it is
imported when a builder is created.
"""

from typing import Optional

import numpy as np
import torch

from metatensor.torch import Labels, TensorBlock

from ._neighbors import NeighborListOptions, neighbor_sample_names
from ._system import System

# the unit of length of the engines (ASE, torch-sim), in which positions, cells and
# cutoffs are given here
ENGINE_LENGTH_UNIT = "angstrom"

_SAMPLE_NAMES = neighbor_sample_names()


def _vesin_neighbor_list():
    """vesin's ``NeighborList`` class"""
    try:
        import vesin
    except ImportError as error:
        raise ImportError(
            "the neighbor lists of metatomic engines need vesin: install it with "
            "`pip install vesin`"
        ) from error
    return vesin.NeighborList


def _canonical_pairs(samples: np.ndarray, full_list: bool) -> set:
    """The pairs of ``samples`` as a set of tuples; in a half list, a pair and
    its reverse (``j, i, -S``) are the same pair"""
    pairs = set()
    for i, j, a, b, c in samples.tolist():
        pair = (i, j, a, b, c)
        if not full_list:
            pair = min(pair, (j, i, -a, -b, -c))
        pairs.add(pair)
    return pairs


class NeighborListBuilder:
    """The neighbor list requested with ``options``, for successive
    configurations of a system.

    :param options: the request of the model (its cutoff is converted from the
        model's length unit to Å)
    :param skin: Verlet skin in Å; 0 finds the pairs from scratch at every call
    :param check_consistency: compare the pairs with a list computed from
        scratch at every call (slow, to debug the Verlet list)
    :raises ImportError: when vesin is not installed
    """

    def __init__(
        self, options: NeighborListOptions, skin: float, check_consistency: bool
    ):
        self.options = options
        self._cutoff = float(options.engine_cutoff(ENGINE_LENGTH_UNIT))
        self._skin = float(skin)
        self._check_consistency = check_consistency

        # the vesin calculator, and the system it was created for
        self._new_vesin = _vesin_neighbor_list()
        self._vesin = None
        self._n_atoms = -1
        self._cell: Optional[np.ndarray] = None
        self._pbc: Optional[np.ndarray] = None

        # the pairs found at the last call, and what torch needs to compute their
        # vectors on the device (and with the dtype) of the system
        self._pairs: Optional[np.ndarray] = None
        self._shifts: Optional[np.ndarray] = None
        self._key: Optional[tuple] = None
        self._first: Optional[torch.Tensor] = None
        self._second: Optional[torch.Tensor] = None
        self._shifts_tensor: Optional[torch.Tensor] = None
        self._periodic = False
        self._labels: Optional[Labels] = None
        self._xyz: Optional[Labels] = None
        self._distance: Optional[Labels] = None

    def _calculator(self, positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray):
        """The vesin calculator, created again if the system changed"""
        if (
            self._vesin is None
            or len(positions) != self._n_atoms
            or not np.array_equal(cell, self._cell)
            or not np.array_equal(pbc, self._pbc)
        ):
            self._vesin = self._new_vesin(
                cutoff=self._cutoff, full_list=self.options.full_list, skin=self._skin
            )
            self._n_atoms = len(positions)
            self._cell = cell.copy()
            self._pbc = pbc.copy()
            self._periodic = bool(np.any(pbc))
        return self._vesin

    def compute(
        self,
        system: System,
        positions: np.ndarray,
        cell: np.ndarray,
        pbc: np.ndarray,
    ) -> TensorBlock:
        """The neighbor list of ``system``.

        :param system: the system, whose positions and cell (in Å) may be part
            of an autograd graph; the pair vectors are connected to it
        :param positions: the positions of ``system``, as float64 numpy array
        :param cell: the cell of ``system`` (zero rows for non-periodic
            directions), as float64 numpy array
        :param pbc: the periodicity of ``system``, as bool numpy array
        """
        calculator = self._calculator(positions, cell, pbc)
        # views of vesin's memory, valid until the next call
        pairs, shifts = calculator.compute(
            points=positions, box=cell, periodic=pbc, quantities="PS", copy=False
        )

        key = (system.dtype, system.device)
        if not (
            key == self._key
            and len(pairs) == len(self._pairs)
            and np.array_equal(pairs, self._pairs)
            and np.array_equal(shifts, self._shifts)
        ):
            self._update_pairs(pairs, shifts, key)

        system_positions = system.positions
        vectors = system_positions.index_select(0, self._second)
        vectors = vectors - system_positions.index_select(0, self._first)
        if self._periodic:
            vectors = torch.addmm(vectors, self._shifts_tensor, system.cell)

        if self._check_consistency:
            self._check(self._labels.values.cpu().numpy(), positions, cell, pbc)

        return TensorBlock(
            vectors.reshape(-1, 3, 1),
            self._labels,
            [self._xyz],
            self._distance,
        )

    def _update_pairs(self, pairs: np.ndarray, shifts: np.ndarray, key: tuple):
        dtype, device = key
        self._pairs = pairs.copy()
        self._shifts = shifts.copy()
        self._key = key

        samples = np.empty((len(pairs), 5), dtype=np.int32)
        samples[:, :2] = pairs
        samples[:, 2:] = shifts
        samples = torch.from_numpy(samples).to(device)
        # int64 indices: the backward of index_select is slower with int32
        self._first = samples[:, 0].to(torch.int64)
        self._second = samples[:, 1].to(torch.int64)
        self._shifts_tensor = samples[:, 2:].to(dtype)
        self._labels = Labels(_SAMPLE_NAMES, samples, assume_unique=True)
        if self._xyz is None or self._xyz.device != device:
            self._xyz = Labels(
                ["xyz"], torch.tensor([[0], [1], [2]], dtype=torch.int32, device=device)
            )
            self._distance = Labels(
                ["distance"], torch.zeros((1, 1), dtype=torch.int32, device=device)
            )

    def _check(
        self,
        samples: np.ndarray,
        positions: np.ndarray,
        cell: np.ndarray,
        pbc: np.ndarray,
    ):
        """Compare ``samples`` with the pairs found from scratch"""
        reference = self._new_vesin(
            cutoff=self._cutoff, full_list=self.options.full_list
        )
        pairs, shifts = reference.compute(
            points=positions, box=cell, periodic=pbc, quantities="PS", copy=True
        )
        expected = np.hstack([pairs.astype(np.int64), shifts.astype(np.int64)])
        full = self.options.full_list
        different = _canonical_pairs(samples, full) ^ _canonical_pairs(expected, full)
        # pairs at the cutoff (within rounding errors) may be in one list only
        for i, j, a, b, c in different:
            vector = positions[j] - positions[i] + np.array([a, b, c]) @ cell
            if abs(np.linalg.norm(vector) - self._cutoff) > 1e-4:
                raise RuntimeError(
                    "the neighbor list kept with a Verlet skin of "
                    f"{self._skin} Å does not contain the same pairs as a list "
                    f"computed from scratch (pair {i}-{j} with the cell shift "
                    f"{[a, b, c]} differs): set `neighbor_skin=0` to work around "
                    "this bug of the neighbor list"
                )
