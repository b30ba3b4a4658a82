"""Operations on the rows of 2-D integer tensors (Labels values), compiled into
TorchScript with the classes. ``torch.unique(dim=0)`` is slow on CPU; these sort
the rows with one stable ``argsort`` per column instead.

``argsort_rows`` and ``unique_rows`` repeat the torch branch of the functions of
the same names in ``metatensor_operations._dispatch``: compiling those here would
tie the classes to the operations' core backend, whose array type depends on
whether torch was imported before metatensor-operations."""

from typing import Tuple

import torch


def argsort_rows(values: torch.Tensor) -> torch.Tensor:
    """The (int64) stable permutation sorting the rows lexicographically"""
    order = torch.arange(values.shape[0], device=values.device)
    for column in range(values.shape[1] - 1, -1, -1):
        order = order[torch.argsort(values[order, column], stable=True)]
    return order


def unique_rows(values: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The distinct rows of ``values``, sorted, and the (int64) position of each
    row of ``values`` among them"""
    n = values.shape[0]
    if n == 0 or values.shape[1] == 0:
        inverse = torch.zeros([n], dtype=torch.int64, device=values.device)
        return values[: min(n, 1)], inverse
    order = argsort_rows(values)
    ordered = values[order]
    new_group = torch.ones([n], dtype=torch.bool, device=values.device)
    new_group[1:] = (ordered[1:] != ordered[:-1]).any(dim=1)
    inverse = torch.empty([n], dtype=torch.int64, device=values.device)
    inverse[order] = torch.cumsum(new_group, 0) - 1
    return ordered[new_group], inverse


def unique_rows_in_order(values: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The distinct rows of ``values`` in order of first appearance, and the
    position of each row of ``values`` among them"""
    n = values.shape[0]
    _, inverse = unique_rows(values)
    if n == 0:
        return values, inverse
    n_unique = int(inverse.max()) + 1
    rows = torch.arange(n, device=values.device)
    first = torch.full([n_unique], n, dtype=torch.int64, device=values.device)
    first = first.scatter_reduce(0, inverse, rows, "amin")
    order = torch.argsort(first)
    return values[first[order]], inverse_permutation(order)[inverse]


def inverse_permutation(permutation: torch.Tensor) -> torch.Tensor:
    inverse = torch.empty_like(permutation)
    inverse[permutation] = torch.arange(permutation.shape[0], device=permutation.device)
    return inverse


def first_duplicate(values: torch.Tensor) -> int:
    """Index of the first row equal to an earlier one, or -1"""
    n = values.shape[0]
    if n < 2:
        return -1
    _, inverse = unique_rows(values)
    rows = torch.arange(n, device=values.device)
    first = torch.full([n], n, dtype=torch.int64, device=values.device)
    first = first.scatter_reduce(0, inverse, rows, "amin")
    duplicated = torch.nonzero(first[inverse] != rows)
    if duplicated.shape[0] == 0:
        return -1
    return int(duplicated[0, 0])


def positions(haystack: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Position of each row of ``queries`` in ``haystack`` (whose rows are
    unique), -1 when absent: an int64 tensor of ``len(queries)`` entries"""
    n = haystack.shape[0]
    device = queries.device
    if n == 0 or queries.shape[0] == 0:
        return torch.full([queries.shape[0]], -1, dtype=torch.int64, device=device)
    if haystack.shape[1] == 0:
        return torch.zeros([queries.shape[0]], dtype=torch.int64, device=device)
    _, inverse = unique_rows(torch.cat([haystack, queries.to(haystack.device)]))
    lookup = torch.full(
        [n + queries.shape[0]], -1, dtype=torch.int64, device=haystack.device
    )
    lookup[inverse[:n]] = torch.arange(n, device=haystack.device)
    return lookup[inverse[n:]].to(device)


def sort_plan(values: torch.Tensor, sort: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """The (unique) rows of ``values`` sorted when ``sort``, and the new position
    of each row"""
    if not sort:
        return values, torch.arange(values.shape[0], device=values.device)
    order = argsort_rows(values)
    return values[order], inverse_permutation(order)
