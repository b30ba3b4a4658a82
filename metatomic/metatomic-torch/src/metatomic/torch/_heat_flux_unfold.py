"""Unfolding a periodic system for :py:class:`metatomic.torch.heat_flux.HeatFlux`:
the atoms of the cell plus their periodic replicas within a given range, as a
non-periodic system, with neighbor lists mapped from the periodic ones.

All functions are TorchScript compatible. An unfolded atom is described by the
index of the atom of the cell it replicates (its ``origin``) and the cell shift
``T`` of the replica, with position ``r[origin] + T @ cell``. The atoms of the
cell come first, in order, with ``T = 0``.
"""

from typing import List, Tuple

import torch


def _complete_cell(cell: torch.Tensor, pbc: torch.Tensor) -> torch.Tensor:
    """``cell`` with the (zero) rows of non-periodic directions replaced by unit
    vectors orthogonal to the periodic rows, so that it can be inverted"""
    periodic = cell[pbc]
    n_periodic = periodic.shape[0]
    if n_periodic == 3:
        return cell
    if n_periodic == 0:
        return torch.eye(3, dtype=cell.dtype, device=cell.device)
    _, _, vh = torch.linalg.svd(periodic, full_matrices=True)
    complete = cell.clone()
    complete[torch.logical_not(pbc)] = vh[n_periodic:]
    return complete


def _shift_grid(lowest: List[int], highest: List[int], device: torch.device):
    """All the integer cell shifts between ``lowest`` and ``highest`` (included)
    except zero, shape ``(n_shifts, 3)``"""
    ranges: List[torch.Tensor] = []
    for k in range(3):
        ranges.append(torch.arange(lowest[k], highest[k] + 1, device=device))
    grid = torch.cartesian_prod(ranges[0], ranges[1], ranges[2]).reshape(-1, 3)
    return grid[torch.any(grid != 0, dim=1)]


def unfold(
    positions: torch.Tensor, cell: torch.Tensor, pbc: torch.Tensor, cutoff: float
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The replicas of the atoms at ``positions`` closer than ``cutoff`` to at
    least one of them, in the periodic directions of ``cell``.

    :param positions: ``(n_atoms, 3)`` positions of the atoms of the cell
    :param cell: ``(3, 3)`` cell vectors as rows (zero rows where not periodic)
    :param pbc: ``(3,)`` periodicity of the cell directions
    :param cutoff: the range, in the unit of ``positions``
    :return: ``(origin, shifts)`` of the unfolded atoms: the cell atoms (shift
        zero) and then the replicas, shapes ``(n_unfolded,)`` and
        ``(n_unfolded, 3)`` (int64)
    """
    n_atoms = positions.shape[0]
    device = positions.device
    origin = torch.arange(n_atoms, device=device)
    shifts = torch.zeros((n_atoms, 3), dtype=torch.int64, device=device)
    if n_atoms == 0 or not bool(torch.any(pbc)):
        return origin, shifts

    complete = _complete_cell(cell, pbc)
    if float(torch.abs(torch.linalg.det(complete))) < 1e-12:
        raise ValueError(
            "the cell is degenerate in its periodic directions, can not unfold it"
        )
    inverse = torch.linalg.inv(complete)
    fractional = positions @ inverse
    # how far `cutoff` reaches, in fractional coordinates along each direction
    reach = cutoff * torch.linalg.vector_norm(inverse, dim=0)
    lowest_atom = torch.min(fractional, dim=0).values
    highest_atom = torch.max(fractional, dim=0).values

    lowest: List[int] = [0, 0, 0]
    highest: List[int] = [0, 0, 0]
    for k in range(3):
        if bool(pbc[k]):
            lowest[k] = int(
                torch.ceil(lowest_atom[k] - reach[k] - highest_atom[k]).item()
            )
            highest[k] = int(
                torch.floor(highest_atom[k] + reach[k] - lowest_atom[k]).item()
            )
    grid = _shift_grid(lowest, highest, device)

    # candidates: replicas inside the slab of the atoms, widened by the reach
    candidate_origin = torch.arange(n_atoms, device=device).repeat(grid.shape[0])
    candidate_shifts = grid.repeat_interleave(n_atoms, dim=0)
    candidate_fractional = fractional[candidate_origin] + candidate_shifts.to(
        fractional.dtype
    )
    inside = torch.all(
        (candidate_fractional >= lowest_atom - reach)
        & (candidate_fractional <= highest_atom + reach),
        dim=1,
    )
    candidate_origin = candidate_origin[inside]
    candidate_shifts = candidate_shifts[inside]

    # keep the replicas closer than the cutoff to an atom of the cell (by chunks,
    # to bound the memory of the distance matrix)
    chunk = max(1, (1 << 22) // n_atoms)
    kept: List[torch.Tensor] = []
    for start in range(0, candidate_origin.shape[0], chunk):
        chunk_origin = candidate_origin[start : start + chunk]
        chunk_shifts = candidate_shifts[start : start + chunk]
        replicas = positions[chunk_origin] + chunk_shifts.to(positions.dtype) @ cell
        distances = torch.cdist(
            replicas, positions, compute_mode="donot_use_mm_for_euclid_dist"
        )
        kept.append(torch.min(distances, dim=1).values <= cutoff)
    if len(kept) != 0:
        close = torch.cat(kept)
        origin = torch.cat([origin, candidate_origin[close]])
        shifts = torch.cat([shifts, candidate_shifts[close]])
    return origin, shifts


def _keys(
    origin: torch.Tensor,
    shifts: torch.Tensor,
    lowest: torch.Tensor,
    width: torch.Tensor,
) -> torch.Tensor:
    """One integer per (origin, shift), for shifts between ``lowest`` and
    ``lowest + width - 1``"""
    offset = shifts - lowest
    key = origin * width[0] + offset[:, 0]
    key = key * width[1] + offset[:, 1]
    return key * width[2] + offset[:, 2]


def unfolded_pairs(
    pairs: torch.Tensor, origin: torch.Tensor, shifts: torch.Tensor, n_atoms: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The pairs of the unfolded atoms, from the pairs of the periodic system.

    The periodic pair ``(i, j, S)`` connects every unfolded atom ``(i, T)`` to
    ``(j, T + S)`` when the latter is one of the unfolded atoms: the vector
    between them is the same, so that the result is a (full or half, strict or
    not) neighbor list of the unfolded atoms if ``pairs`` is one of the periodic
    system.

    :param pairs: ``(n_pairs, 5)`` samples of a neighbor list (``i``, ``j``,
        ``S``)
    :param origin: ``(n_unfolded,)`` atom of the cell each unfolded atom
        replicates
    :param shifts: ``(n_unfolded, 3)`` cell shift of each unfolded atom
    :param n_atoms: number of atoms in the cell
    :return: ``(first, second)``, indices of the unfolded atoms in each pair
    """
    device = origin.device
    first_origin = pairs[:, 0].to(torch.int64)
    second_origin = pairs[:, 1].to(torch.int64)
    pair_shifts = pairs[:, 2:5].to(torch.int64)

    # every unfolded atom replicating the first atom of each pair
    by_origin = torch.argsort(origin, stable=True)
    counts = torch.bincount(origin, minlength=n_atoms)
    starts = torch.cumsum(counts, dim=0) - counts
    repeats = counts[first_origin]
    pair_index = torch.repeat_interleave(
        torch.arange(pairs.shape[0], device=device), repeats
    )
    local = torch.arange(pair_index.shape[0], device=device) - (
        torch.cumsum(repeats, dim=0) - repeats
    ).repeat_interleave(repeats)
    first = by_origin[starts[first_origin[pair_index]] + local]

    # the unfolded atom each of them is paired with, if there is one
    target_origin = second_origin[pair_index]
    target_shifts = shifts[first] + pair_shifts[pair_index]
    if target_shifts.shape[0] == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=device)
        return empty, empty
    lowest = torch.minimum(
        torch.min(shifts, dim=0).values, torch.min(target_shifts, dim=0).values
    )
    highest = torch.maximum(
        torch.max(shifts, dim=0).values, torch.max(target_shifts, dim=0).values
    )
    width = highest - lowest + 1
    keys = _keys(origin, shifts, lowest, width)
    sorted_keys, order = torch.sort(keys)
    targets = _keys(target_origin, target_shifts, lowest, width)
    position = torch.searchsorted(sorted_keys, targets)
    position = torch.clamp(position, max=sorted_keys.shape[0] - 1)
    found = sorted_keys[position] == targets
    return first[found], order[position[found]]
