"""Equivariant modules commute with rotations of covariant blocks (o3_lambda <= 2)"""

import pytest
import torch
from _flavours import FLAVOURS


@pytest.fixture(params=FLAVOURS, ids=repr)
def flavour(request):
    return request.param


def _harmonics(points: torch.Tensor, o3_lambda: int) -> torch.Tensor:
    """Real solid harmonics of degree ``o3_lambda`` at ``points`` of shape ``(n,
    3)``, in the order ``o3_mu = -l..l``, with the relative normalization of the
    real spherical harmonics (so that rotations act on them with orthogonal
    matrices)"""
    x, y, z = points.T
    if o3_lambda == 0:
        return torch.ones_like(x).reshape(-1, 1)
    elif o3_lambda == 1:
        return torch.stack([y, z, x], dim=1)
    elif o3_lambda == 2:
        r2 = x * x + y * y + z * z
        return torch.stack(
            [
                x * y,
                y * z,
                (3 * z * z - r2) / (2 * 3**0.5),
                x * z,
                (x * x - y * y) / 2,
            ],
            dim=1,
        )
    raise ValueError(o3_lambda)


def _wigner_d(rotation: torch.Tensor, o3_lambda: int) -> torch.Tensor:
    """The matrix ``D`` with ``Y(R p) = D Y(p)`` for the harmonics of degree
    ``o3_lambda``, fitted on random points (exact: the harmonics of a degree
    span a space closed under rotations)"""
    points = torch.randn(50, 3, dtype=torch.float64, generator=_GENERATOR)
    before = _harmonics(points, o3_lambda)
    after = _harmonics(points @ rotation.T, o3_lambda)
    # after = before @ D.T
    solution = torch.linalg.lstsq(before, after).solution
    assert torch.allclose(before @ solution, after, atol=1e-10)
    return solution.T


def _random_rotation() -> torch.Tensor:
    matrix = torch.randn(3, 3, dtype=torch.float64, generator=_GENERATOR)
    q, r = torch.linalg.qr(matrix)
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


_GENERATOR = torch.Generator().manual_seed(1234)


def _rotate(flavour, tensor, rotation):
    """Rotate the components of each block with the Wigner D matrix of its
    ``o3_lambda``"""
    blocks = []
    for key, block in tensor.items():
        wigner = _wigner_d(rotation, int(key["o3_lambda"]))
        values = torch.einsum("mn,snp->smp", wigner, block.values)
        blocks.append(
            flavour.TensorBlock(
                values, block.samples, block.components, block.properties
            )
        )
    return flavour.TensorMap(tensor.keys, blocks)


def _modules(flavour):
    keys = flavour.keys()
    nn = flavour.nn
    float64 = {"dtype": torch.float64}
    return {
        "EquivariantLinear": nn.EquivariantLinear(keys, 3, 4, **float64),
        "InvariantReLU": nn.InvariantReLU(keys),
        "InvariantSiLU": nn.InvariantSiLU(keys),
        "InvariantTanh": nn.InvariantTanh(keys),
        "InvariantLayerNorm": nn.InvariantLayerNorm(keys, 3, **float64),
        "EquivariantTransformation": nn.EquivariantTransformation(
            torch.nn.Sequential(torch.nn.Linear(3, 3, **float64), torch.nn.SiLU()),
            keys,
            3,
        ),
        "model": nn.Sequential(
            keys,
            nn.EquivariantLinear(keys, 3, 8, **float64),
            nn.InvariantTanh(keys),
            nn.EquivariantLinear(keys, 8, 2, **float64),
        ),
    }


def test_wigner_d():
    rotation = _random_rotation()
    for o3_lambda in range(3):
        wigner = _wigner_d(rotation, o3_lambda)
        identity = torch.eye(2 * o3_lambda + 1, dtype=torch.float64)
        torch.testing.assert_close(wigner @ wigner.T, identity)
        # a representation: D(R1 R2) = D(R1) D(R2)
        other = _random_rotation()
        torch.testing.assert_close(
            _wigner_d(rotation @ other, o3_lambda),
            wigner @ _wigner_d(other, o3_lambda),
        )


@pytest.mark.parametrize(
    "name",
    [
        "EquivariantLinear",
        "InvariantReLU",
        "InvariantSiLU",
        "InvariantTanh",
        "InvariantLayerNorm",
        "EquivariantTransformation",
        "model",
    ],
)
def test_commutes_with_rotations(flavour, name):
    module = _modules(flavour)[name]
    tensor = flavour.tensor(gradients=False)
    for _ in range(3):
        rotation = _random_rotation()
        rotated_first = module(_rotate(flavour, tensor, rotation))
        rotated_after = _rotate(flavour, module(tensor), rotation)
        for i in range(len(tensor.keys)):
            torch.testing.assert_close(
                rotated_first.block(i).values, rotated_after.block(i).values
            )


@pytest.mark.parametrize("name", ["ReLU", "LayerNorm"])
def test_not_equivariant(flavour, name):
    """The test above can fail: non-linearities applied to every component of
    covariant blocks do not commute with rotations"""
    keys = flavour.keys()
    module = (
        flavour.nn.ReLU(keys)
        if name == "ReLU"
        else flavour.nn.LayerNorm(keys, 3, dtype=torch.float64)
    )
    tensor = flavour.tensor(gradients=False)
    rotation = _random_rotation()
    rotated_first = module(_rotate(flavour, tensor, rotation))
    rotated_after = _rotate(flavour, module(tensor), rotation)
    torch.testing.assert_close(
        rotated_first.block(0).values, rotated_after.block(0).values
    )
    assert not torch.allclose(
        rotated_first.block(1).values, rotated_after.block(1).values
    )
