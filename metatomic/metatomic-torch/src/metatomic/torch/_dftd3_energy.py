"""The two-body D3(BJ) dispersion energy of pairs of atoms, from a half neighbor
list (TorchScript compatible functions on plain tensors).

With distances :math:`r_{ij}` in bohr, the D3 coordination number of atom
:math:`i` counts its neighbors within ``cn_cutoff``

.. math::

    \\text{CN}_i = \\sum_{j} \\frac{1}{1 + e^{-k_1 (R_i + R_j) / r_{ij} + k_1}},
    \\qquad k_1 = 16,

with the (scaled) covalent radii :math:`R`. The C6 coefficient of a pair
interpolates the reference values of the two elements with Gaussian weights of
the coordination numbers (:math:`k_3 = 4`)

.. math::

    C_6^{ij} = \\sum_{a, b} w_i^a w_j^b C_6^{\\text{ref}}(Z_i, a, Z_j, b), \\qquad
    w_i^a = \\frac{e^{-k_3 (\\text{CN}_i - \\text{CN}^a)^2}}
                 {\\sum_{a'} e^{-k_3 (\\text{CN}_i - \\text{CN}^{a'})^2}},

and the energy of a pair within ``cutoff``, with Becke-Johnson damping, is

.. math::

    E_{ij} = -s_6 \\frac{C_6^{ij}}{r_{ij}^6 + R_0^6}
             -s_8 \\frac{C_8^{ij}}{r_{ij}^8 + R_0^8}, \\qquad
    C_8^{ij} = 3 C_6^{ij} Q_i Q_j, \\qquad R_0 = a_1 \\sqrt{3 Q_i Q_j} + a_2,

where :math:`Q` are the ``r4r2`` values. This follows S. Grimme, J. Antony, S.
Ehrlich and H. Krieg, J. Chem. Phys. 132, 154104 (2010) and S. Grimme, S.
Ehrlich and L. Goerigk, J. Comput. Chem. 32, 1456 (2011), as implemented by
s-dftd3 and tad-dftd3.
"""

import torch


def coordination_numbers(
    n_atoms: int,
    first: torch.Tensor,
    second: torch.Tensor,
    distances: torch.Tensor,
    covalent_radii: torch.Tensor,
    cn_cutoff: float,
) -> torch.Tensor:
    """The D3 coordination number of each atom, shape ``(n_atoms,)``.

    :param first: ``(n_pairs,)`` index of the first atom of each pair of a half
        neighbor list (a pair of an atom with its own image counts for both
        images)
    :param second: ``(n_pairs,)`` index of the second atom
    :param distances: ``(n_pairs,)`` distances in bohr
    :param covalent_radii: ``(n_atoms,)`` scaled covalent radii, in bohr
    :param cn_cutoff: pairs further apart (in bohr) are not counted
    """
    radii = covalent_radii[first] + covalent_radii[second]
    # k1 = 16, the steepness of the counting function
    counts = 1.0 / (1.0 + torch.exp(-16.0 * (radii / distances - 1.0)))
    counts = torch.where(distances <= cn_cutoff, counts, torch.zeros_like(counts))
    cn = torch.zeros(n_atoms, dtype=distances.dtype, device=distances.device)
    return cn.index_add(0, first, counts).index_add(0, second, counts)


def reference_weights(cn: torch.Tensor, reference_cn: torch.Tensor) -> torch.Tensor:
    """The weight of each reference system of each atom, shape ``(n_atoms,
    n_references)``, computed in float64 and given in the dtype of ``cn``.

    :param cn: ``(n_atoms,)`` coordination numbers
    :param reference_cn: ``(n_atoms, n_references)`` coordination numbers of the
        references of each atom, negative for unused slots

    When all weights of an atom underflow (a coordination number far from every
    reference), the reference with the largest coordination number gets the
    whole weight, as in s-dftd3.
    """
    reference_cn = reference_cn.to(torch.float64)
    valid = reference_cn >= 0.0
    difference = reference_cn - cn.to(torch.float64).reshape(-1, 1)
    # k3 = 4, the width of the Gaussian weights
    weights = torch.exp(-4.0 * difference * difference)
    weights = torch.where(valid, weights, torch.zeros_like(weights))
    norm = torch.sum(weights, dim=1, keepdim=True)
    safe_norm = torch.where(norm > 0.0, norm, torch.ones_like(norm))

    largest = torch.max(reference_cn, dim=1, keepdim=True).values
    fallback = (reference_cn == largest).to(torch.float64)
    weights = torch.where(norm > 0.0, weights / safe_norm, fallback)
    return weights.to(cn.dtype)


def pair_c6(
    species: torch.Tensor,
    first: torch.Tensor,
    second: torch.Tensor,
    weights: torch.Tensor,
    c6_reference: torch.Tensor,
) -> torch.Tensor:
    """The C6 coefficient of each pair, shape ``(n_pairs,)``.

    :param species: ``(n_atoms,)`` index of the element of each atom in the
        tables
    :param first: ``(n_pairs,)`` index of the first atom of each pair
    :param second: ``(n_pairs,)`` index of the second atom of each pair
    :param weights: ``(n_atoms, n_references)`` reference weights
    :param c6_reference: ``(n_species, n_species, n_references,
        n_references)`` reference C6 coefficients (hartree bohr^6)

    The reference tables are contracted with the weights of each atom for the
    elements present only, so that nothing of size ``n_pairs * n_references^2``
    is created.
    """
    present, local = torch.unique(species, return_inverse=True)
    # (n_atoms, n_present, n_references, n_references)
    tables = c6_reference[species][:, present]
    # contracted with the weights of the first atom: (n_atoms, n_present, n_ref)
    contracted = torch.einsum("ipab,ia->ipb", [tables, weights])
    return torch.sum(contracted[first, local[second]] * weights[second], dim=1)


def pair_energies(
    distances: torch.Tensor,
    c6: torch.Tensor,
    r4r2_first: torch.Tensor,
    r4r2_second: torch.Tensor,
    s6: float,
    s8: float,
    a1: float,
    a2: float,
    cutoff: float,
) -> torch.Tensor:
    """The two-body D3(BJ) energy of each pair (hartree), zero beyond
    ``cutoff``; ``distances``, ``a2`` and ``cutoff`` are in bohr"""
    qq = 3.0 * r4r2_first * r4r2_second
    radius = a1 * torch.sqrt(qq) + a2
    r2 = distances * distances
    r6 = r2 * r2 * r2
    radius2 = radius * radius
    radius6 = radius2 * radius2 * radius2
    energies = -s6 * c6 / (r6 + radius6) - s8 * c6 * qq / (r6 * r2 + radius6 * radius2)
    return torch.where(distances <= cutoff, energies, torch.zeros_like(energies))
