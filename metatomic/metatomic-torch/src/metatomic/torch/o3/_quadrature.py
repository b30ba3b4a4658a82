"""A quadrature over rotations (SO(3)) and over O(3): Lebedev points on the
sphere S² times equispaced angles on the circle S¹, optionally with the
inversion.

A rotation is written ``R = R_z(α) R_y(β) R_z(γ)``, where ``(α, β)`` are the
spherical angles of ``R ẑ`` (a Lebedev point) and ``γ`` a rotation around ``ẑ``.
If ``f(R)`` only contains angular momenta up to ``L`` (it is a sum of Wigner D
matrix elements ``D^l_{mk}(R)``, l ≤ L), averaging it over ``N ≥ L + 1``
equispaced ``γ`` gives a function of ``R ẑ`` with angular momenta up to ``L``
(a polynomial of degree ``L`` on the sphere), which a Lebedev rule of degree
``≥ L`` integrates exactly: the weighted sum over the quadrature is then the
exact average of ``f`` over all rotations.
"""

from typing import Tuple

import numpy as np

# the largest degree of scipy's Lebedev rules
_MAX_LEBEDEV_ORDER = 131


def _lebedev(degree: int) -> Tuple[np.ndarray, np.ndarray]:
    """The smallest Lebedev rule of scipy integrating polynomials of ``degree``
    exactly, among those with positive weights (some rules, e.g. of order 13,
    have negative weights): ``[n, 3]`` points and ``[n]`` weights summing to 1"""
    try:
        from scipy.integrate import lebedev_rule
    except ImportError as error:
        raise ImportError(
            "the O(3) quadrature uses Lebedev rules from scipy >= 1.15: install it "
            "with `pip install 'scipy>=1.15'`"
        ) from error

    for order in range(max(degree, 3), _MAX_LEBEDEV_ORDER + 1):
        try:
            points, weights = lebedev_rule(order)
        except (ValueError, NotImplementedError):  # no rule of this order
            continue
        if np.all(weights > 0.0):
            return points.T, weights / np.sum(weights)
    raise ValueError(
        f"no Lebedev rule of degree {degree} or more is available (the largest is "
        f"{_MAX_LEBEDEV_ORDER}): use a smaller maximal angular momentum"
    )


def _zyz_rotations(alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray):
    """``R_z(α) R_y(β) R_z(γ)`` for arrays of angles (``[n, 3, 3]``)"""

    def z_rotation(angle):
        cos, sin = np.cos(angle), np.sin(angle)
        zero, one = np.zeros_like(angle), np.ones_like(angle)
        return np.stack(
            [
                np.stack([cos, -sin, zero], axis=-1),
                np.stack([sin, cos, zero], axis=-1),
                np.stack([zero, zero, one], axis=-1),
            ],
            axis=-2,
        )

    cos, sin = np.cos(beta), np.sin(beta)
    zero, one = np.zeros_like(beta), np.ones_like(beta)
    y_rotation = np.stack(
        [
            np.stack([cos, zero, sin], axis=-1),
            np.stack([zero, one, zero], axis=-1),
            np.stack([-sin, zero, cos], axis=-1),
        ],
        axis=-2,
    )
    return z_rotation(alpha) @ y_rotation @ z_rotation(gamma)


def quadrature(
    max_angular_momentum: int, include_inversion: bool = True
) -> Tuple[np.ndarray, np.ndarray]:
    """Rotation matrices and weights averaging exactly over SO(3), or over O(3)
    with ``include_inversion``, every function of the rotation with angular
    momenta up to ``max_angular_momentum``.

    To average a quantity with angular momentum ``λ`` computed by a model whose
    dependence on orientation goes up to ``l_max`` (see
    :py:class:`SymmetrizedModel`), use ``max_angular_momentum = l_max + λ``.

    :param max_angular_momentum: ``L``: the Lebedev rule on the sphere has degree
        ``L`` or more, and there are ``L + 1`` equispaced angles around each
        Lebedev direction
    :param include_inversion: also include each rotation combined with the
        inversion (``-R``), to average over O(3)
    :return: ``[n, 3, 3]`` orthogonal matrices (acting on column vectors; the
        rotations first, then their inverted copies) and ``[n]`` positive
        weights summing to 1, as float64 numpy arrays

    >>> matrices, weights = quadrature(2, include_inversion=False)
    >>> matrices.shape, weights.shape  # 6 Lebedev points, 3 angles
    ((18, 3, 3), (18,))
    >>> bool(np.allclose(weights.sum(), 1.0))
    True

    .. versionadded:: 0.1.19
    """
    if isinstance(max_angular_momentum, bool) or not isinstance(
        max_angular_momentum, (int, np.integer)
    ):
        raise TypeError(
            "`max_angular_momentum` must be an integer, got "
            f"{type(max_angular_momentum).__name__}"
        )
    if max_angular_momentum < 0:
        raise ValueError(
            f"`max_angular_momentum` must be positive, got {max_angular_momentum}"
        )
    if not isinstance(include_inversion, bool):
        raise TypeError(
            "`include_inversion` must be a bool, got "
            f"{type(include_inversion).__name__}"
        )

    points, sphere_weights = _lebedev(int(max_angular_momentum))
    n_angles = int(max_angular_momentum) + 1
    angles = 2.0 * np.pi * np.arange(n_angles) / n_angles

    alpha = np.arctan2(points[:, 1], points[:, 0])
    beta = np.arccos(np.clip(points[:, 2], -1.0, 1.0))
    alpha, gamma = np.meshgrid(alpha, angles, indexing="ij")
    beta = np.repeat(beta[:, None], n_angles, axis=1)
    matrices = _zyz_rotations(alpha.ravel(), beta.ravel(), gamma.ravel())
    weights = np.repeat(sphere_weights, n_angles) / n_angles

    if include_inversion:
        matrices = np.concatenate([matrices, -matrices])
        weights = np.concatenate([weights, weights]) / 2.0
    return matrices, weights
