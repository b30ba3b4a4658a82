"""Wigner D matrices of real spherical harmonics, computed from rotation matrices
with the recursion of Ivanic and Ruedenberg (J. Phys. Chem. 100, 6342 (1996),
with the corrections of J. Phys. Chem. A 102, 9099 (1998)).

The real spherical harmonics are those of sphericart and metatensor: for
``o3_mu = -λ..λ``, ``Y_λμ ∝ sin(|μ|φ)`` for μ < 0 and ``cos(μφ)`` for μ > 0,
without Condon-Shortley sign in the real form, so that ``Y_1 ∝ (y, z, x)``. The
Wigner D matrix of a rotation ``R`` is defined by

.. math::

    Y_λ(R \\vec r) = D^λ(R) \\, Y_λ(\\vec r)

TorchScript compatible: the loops run over angular momenta and components only,
every operation is vectorised over the batch of rotations.
"""

import math
from typing import List

import torch


def _term(
    i: int, o3_lambda: int, a: int, b: int, d1: torch.Tensor, previous: torch.Tensor
) -> torch.Tensor:
    """The function ``P`` of Ivanic and Ruedenberg: ``d1`` holds the λ = 1 and
    ``previous`` the λ - 1 matrices, indexed from ``-λ`` (``[n, 2λ+1, 2λ+1]``)"""
    offset = o3_lambda - 1
    row = d1[:, i + 1]
    if b == o3_lambda:
        return (
            row[:, 2] * previous[:, a + offset, 2 * offset]
            - row[:, 0] * previous[:, a + offset, 0]
        )
    if b == -o3_lambda:
        return (
            row[:, 2] * previous[:, a + offset, 0]
            + row[:, 0] * previous[:, a + offset, 2 * offset]
        )
    return row[:, 1] * previous[:, a + offset, b + offset]


def _entry(
    o3_lambda: int, m: int, k: int, d1: torch.Tensor, previous: torch.Tensor
) -> torch.Tensor:
    """The ``(m, k)`` entry of the D matrices of angular momentum ``o3_lambda``"""
    l = o3_lambda  # noqa: E741
    if abs(k) == l:
        denominator = float((2 * l) * (2 * l - 1))
    else:
        denominator = float((l + k) * (l - k))
    m_is_zero = 1.0 if m == 0 else 0.0
    u = math.sqrt((l + m) * (l - m) / denominator)
    v = (
        0.5
        * math.sqrt((1.0 + m_is_zero) * (l + abs(m) - 1) * (l + abs(m)) / denominator)
        * (1.0 - 2.0 * m_is_zero)
    )
    w = (
        -0.5
        * math.sqrt((l - abs(m) - 1) * (l - abs(m)) / denominator)
        * (1.0 - m_is_zero)
    )

    # u and v are never both zero
    terms: List[torch.Tensor] = []
    if u != 0.0:
        terms.append(u * _term(0, l, m, k, d1, previous))
    if v != 0.0:
        if m == 0:
            term = _term(1, l, 1, k, d1, previous) + _term(-1, l, -1, k, d1, previous)
        elif m == 1:
            term = math.sqrt(2.0) * _term(1, l, 0, k, d1, previous)
        elif m == -1:
            term = math.sqrt(2.0) * _term(-1, l, 0, k, d1, previous)
        elif m > 0:
            term = _term(1, l, m - 1, k, d1, previous) - _term(
                -1, l, -m + 1, k, d1, previous
            )
        else:
            term = _term(1, l, m + 1, k, d1, previous) + _term(
                -1, l, -m - 1, k, d1, previous
            )
        terms.append(v * term)
    if w != 0.0:
        if m > 0:
            term = _term(1, l, m + 1, k, d1, previous) + _term(
                -1, l, -m - 1, k, d1, previous
            )
        else:
            term = _term(1, l, m - 1, k, d1, previous) - _term(
                -1, l, -m + 1, k, d1, previous
            )
        terms.append(w * term)
    value = terms[0]
    for term in terms[1:]:
        value = value + term
    return value


def wigner_d_matrices(
    rotations: torch.Tensor, max_angular_momentum: int
) -> List[torch.Tensor]:
    """The Wigner D matrices of proper ``rotations`` for every angular momentum.

    :param rotations: ``[n, 3, 3]`` rotation matrices (determinant +1), acting
        on column vectors
    :param max_angular_momentum: the largest angular momentum λ
    :return: one ``[n, 2λ+1, 2λ+1]`` tensor for each λ = 0..max_angular_momentum,
        components in ``o3_mu`` order ``-λ..λ``
    """
    n = rotations.shape[0]
    matrices: List[torch.Tensor] = [
        torch.ones((n, 1, 1), dtype=rotations.dtype, device=rotations.device)
    ]
    if max_angular_momentum == 0:
        return matrices
    # λ = 1: the real spherical harmonics are (y, z, x)
    order = torch.tensor([1, 2, 0], device=rotations.device)
    d1 = rotations.index_select(1, order).index_select(2, order)
    matrices.append(d1)
    for o3_lambda in range(2, max_angular_momentum + 1):
        previous = matrices[o3_lambda - 1]
        rows: List[torch.Tensor] = []
        for m in range(-o3_lambda, o3_lambda + 1):
            row: List[torch.Tensor] = []
            for k in range(-o3_lambda, o3_lambda + 1):
                row.append(_entry(o3_lambda, m, k, d1, previous))
            rows.append(torch.stack(row, dim=1))
        matrices.append(torch.stack(rows, dim=1))
    return matrices
