"""O(3) transformations (metatomic.torch.o3): Wigner D matrices against real
spherical harmonics, transformations of values, blocks, TensorMaps and systems,
random rotations and the quadrature over O(3)"""

import numpy as np
import pytest
import scipy.special
import torch
from _utils import PairPotential, add_neighbors, labels, labels_range, mass_data
from _utils import system as make_system

from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import o3

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.[a-z]*` is deprecated")


def real_spherical_harmonics(o3_lambda: int, points: np.ndarray) -> np.ndarray:
    """Real spherical harmonics of the directions of ``points`` (``[n, 3]``) in the
    convention of sphericart, from scipy's complex ones (which include the
    Condon-Shortley phase): ``[n, 2λ+1]``"""
    directions = points / np.linalg.norm(points, axis=1, keepdims=True)
    theta = np.arccos(np.clip(directions[:, 2], -1.0, 1.0))
    phi = np.arctan2(directions[:, 1], directions[:, 0])
    columns = []
    for m in range(-o3_lambda, o3_lambda + 1):
        complex_y = scipy.special.sph_harm_y(o3_lambda, abs(m), theta, phi)
        if m < 0:
            columns.append(np.sqrt(2) * (-1) ** m * complex_y.imag)
        elif m == 0:
            columns.append(complex_y.real)
        else:
            columns.append(np.sqrt(2) * (-1) ** m * complex_y.real)
    return np.stack(columns, axis=1)


def rotations(n=6, max_angular_momentum=6, seed=0, add_inversions=True):
    return o3.random_transformations(
        n,
        max_angular_momentum,
        device="cpu",
        dtype=torch.float64,
        add_inversions=add_inversions,
        generator=torch.Generator().manual_seed(seed),
    )


POINTS = np.random.default_rng(0).normal(size=(25, 3))


def test_spherical_harmonics_convention():
    # the reference of these tests is sphericart's convention: Y_1 ~ (y, z, x),
    # Y_2 ~ (xy, yz, 3z^2 - r^2, xz, x^2 - y^2), all with positive factors
    x, y, z = (POINTS / np.linalg.norm(POINTS, axis=1, keepdims=True)).T
    first = real_spherical_harmonics(1, POINTS)
    np.testing.assert_allclose(first, np.sqrt(3 / (4 * np.pi)) * np.stack([y, z, x], 1))
    second = real_spherical_harmonics(2, POINTS)
    factor = np.sqrt(15 / np.pi) / 2
    expected = np.stack(
        [
            factor * x * y,
            factor * y * z,
            np.sqrt(5 / np.pi) / 4 * (3 * z**2 - 1),
            factor * x * z,
            factor / 2 * (x**2 - y**2),
        ],
        axis=1,
    )
    np.testing.assert_allclose(second, expected, atol=1e-14)


@pytest.mark.parametrize("o3_lambda", range(7))
def test_wigner_d_rotates_spherical_harmonics(o3_lambda):
    transformations = rotations()
    wigner = transformations.wigner_d(o3_lambda).numpy()
    assert wigner.shape == (12, 2 * o3_lambda + 1, 2 * o3_lambda + 1)
    for i, matrix in enumerate(transformations.matrices.numpy()):
        # Y(R r) = D(R) Y(r), for proper and improper R
        rotated = real_spherical_harmonics(o3_lambda, POINTS @ matrix.T)
        expected = real_spherical_harmonics(o3_lambda, POINTS) @ wigner[i].T
        np.testing.assert_allclose(rotated, expected, atol=1e-11)


def test_wigner_d_group_properties():
    transformations = rotations(n=4, max_angular_momentum=4)
    matrices = transformations.matrices
    products = o3.O3Transformations(matrices[:4] @ matrices[4:], 4)
    transposed = o3.O3Transformations(matrices.transpose(1, 2), 4)
    inversion = o3.O3Transformations(-torch.eye(3, dtype=torch.float64), 4)
    for o3_lambda in range(5):
        wigner = transformations.wigner_d(o3_lambda)
        eye = torch.eye(2 * o3_lambda + 1, dtype=torch.float64)
        torch.testing.assert_close(
            wigner @ wigner.transpose(1, 2), eye.expand(8, -1, -1)
        )
        # D(R1 R2) = D(R1) D(R2) and D(R^T) = D(R)^T
        torch.testing.assert_close(
            products.wigner_d(o3_lambda), wigner[:4] @ wigner[4:]
        )
        torch.testing.assert_close(
            transposed.wigner_d(o3_lambda), wigner.transpose(1, 2)
        )
        # the inversion gives (-1)^λ, and the opposite for pseudo-tensors
        sign = (-1) ** o3_lambda
        torch.testing.assert_close(inversion.wigner_d(o3_lambda)[0], sign * eye)
        torch.testing.assert_close(inversion.wigner_d(o3_lambda, -1)[0], -sign * eye)
        pseudo = transformations.wigner_d(o3_lambda, -1)
        torch.testing.assert_close(pseudo[:4], wigner[:4])
        torch.testing.assert_close(pseudo[4:], -wigner[4:])


def test_random_transformations():
    first = rotations(n=5, max_angular_momentum=0, seed=3, add_inversions=False)
    again = rotations(n=5, max_angular_momentum=0, seed=3, add_inversions=False)
    other = rotations(n=5, max_angular_momentum=0, seed=4, add_inversions=False)
    assert len(first) == 5
    assert torch.equal(first.matrices, again.matrices)
    assert not torch.allclose(first.matrices, other.matrices)
    torch.testing.assert_close(
        torch.linalg.det(first.matrices), torch.ones(5, dtype=torch.float64)
    )

    inverted = rotations(n=5, max_angular_momentum=0, seed=3, add_inversions=True)
    assert len(inverted) == 10
    assert torch.equal(inverted.matrices[:5], first.matrices)
    assert torch.equal(inverted.matrices[5:], -first.matrices)

    single = o3.random_transformations(2000, device="cpu", dtype=torch.float32)
    assert single.matrices.dtype == torch.float32
    assert single.max_angular_momentum == 0
    # uniform rotations: the average of R (and of the rotated z axis) vanishes
    assert single.matrices.mean(dim=0).abs().max() < 0.05
    # and each entry R_ij has variance 1/3
    variance = single.matrices.double().var(dim=0)
    torch.testing.assert_close(
        variance, torch.full((3, 3), 1 / 3, dtype=torch.float64), atol=0.05, rtol=0
    )

    with pytest.raises(ValueError, match="`n` must be positive, got -1"):
        o3.random_transformations(-1, device="cpu", dtype=torch.float64)
    with pytest.raises(TypeError, match="`n` must be an integer, got float"):
        o3.random_transformations(2.0, device="cpu", dtype=torch.float64)
    with pytest.raises(TypeError, match="`add_inversions` must be a bool"):
        o3.random_transformations(
            2, device="cpu", dtype=torch.float64, add_inversions=1
        )


def test_constructor_errors():
    with pytest.raises(TypeError, match="`matrices` must be a torch.Tensor, got list"):
        o3.O3Transformations([[1.0, 0.0, 0.0]], 0)
    with pytest.raises(
        ValueError, match=r"must have the shape \[n, 3, 3\].*got \[2, 3\]"
    ):
        o3.O3Transformations(torch.zeros(2, 3), 0)
    with pytest.raises(TypeError, match="floating point values, got torch.int64"):
        o3.O3Transformations(torch.eye(3, dtype=torch.int64), 0)
    skewed = torch.eye(3, dtype=torch.float64).repeat(3, 1, 1)
    skewed[2, 0, 1] = 0.1
    with pytest.raises(ValueError, match="must be orthogonal .*: matrix 2 is not"):
        o3.O3Transformations(skewed, 0)
    with pytest.raises(
        ValueError, match="`max_angular_momentum` must be positive, got -1"
    ):
        o3.O3Transformations(torch.eye(3), -1)
    with pytest.raises(TypeError, match="`max_angular_momentum` must be an integer"):
        o3.O3Transformations(torch.eye(3), 1.0)


def test_transform_cartesian_and_spherical():
    transformations = rotations(n=3, max_angular_momentum=2)
    matrices = transformations.matrices
    values = torch.tensor(np.random.default_rng(1).normal(size=(4, 3, 3, 2)))

    # rank 2: R T R^T on the two middle axes, for each property
    rotated = transformations.transform_cartesian(values, 4, axis=1)
    rotated = transformations.transform_cartesian(rotated, 4, axis=2)
    expected = torch.einsum("ia,jb,sabp->sijp", matrices[4], matrices[4], values)
    torch.testing.assert_close(rotated, expected)
    back = transformations.transform_cartesian(rotated, 4, axis=1, inverse=True)
    back = transformations.transform_cartesian(back, 4, axis=2, inverse=True)
    torch.testing.assert_close(back, values)

    # one transformation per sample
    index = torch.tensor([0, 5, 2, 2])
    per_sample = transformations.transform_cartesian(values, index, axis=2)
    expected = torch.einsum("sia,sjap->sjip", matrices[index], values)
    torch.testing.assert_close(per_sample, expected)
    # a tensor with a single entry applies to every sample
    torch.testing.assert_close(
        transformations.transform_cartesian(values, torch.tensor([4]), axis=1),
        transformations.transform_cartesian(values, 4, axis=1),
    )

    # spherical values: the harmonics of points
    spherical = torch.tensor(real_spherical_harmonics(2, POINTS)).reshape(25, 5, 1)
    for i in range(6):
        rotated = real_spherical_harmonics(2, POINTS @ matrices[i].numpy().T)
        computed = transformations.transform_spherical(
            spherical, i, axis=1, o3_lambda=2
        )
        np.testing.assert_allclose(computed.numpy()[:, :, 0], rotated, atol=1e-12)
        back = transformations.transform_spherical(computed, i, 1, 2, inverse=True)
        torch.testing.assert_close(back, spherical)

    with pytest.raises(
        ValueError, match="axis 1 of the values must have 5 entries, got 3"
    ):
        transformations.transform_spherical(values, 0, axis=1, o3_lambda=2)
    with pytest.raises(
        ValueError, match=r"`axis` must be between 1 and 3 \(axis 0 holds"
    ):
        transformations.transform_cartesian(values, 0, axis=0)
    with pytest.raises(
        ValueError, match="`o3_lambda` must be between 0 and max_angular_momentum=2"
    ):
        transformations.transform_spherical(values, 0, axis=1, o3_lambda=3)
    with pytest.raises(ValueError, match="`o3_sigma` must be 1 or -1, got 0"):
        transformations.wigner_d(1, 0)
    with pytest.raises(
        IndexError, match="transformation index 6 is out of range for 6"
    ):
        transformations.transform_cartesian(values, 6, axis=1)
    with pytest.raises(
        IndexError, match="`index` contains transformations out of range"
    ):
        transformations.transform_cartesian(values, torch.tensor([0, 1, 2, -1]), axis=1)
    with pytest.raises(
        ValueError, match=r"one transformation, or one per sample \(4\), got 2"
    ):
        transformations.transform_cartesian(values, torch.tensor([0, 1]), axis=1)
    with pytest.raises(
        TypeError, match="tensor of integers, got a tensor of torch.float32"
    ):
        transformations.transform_cartesian(values, torch.tensor([0.0]), axis=1)


def _spherical_expansion(system, options):
    """A TensorMap of spherical tensors of each atom: sums over neighbors of the
    harmonics of the pair vectors (λ = 1, 2; σ = 1), and of the cross product of
    the pair vectors with a fixed neighbor's (a pseudo-vector, λ = 1, σ = -1);
    with (arbitrary) gradients with respect to the positions"""
    neighbors = system.get_neighbor_list(options)
    vectors = neighbors.values.reshape(-1, 3)
    first = neighbors.samples.column("first_atom").to(torch.int64)
    n_atoms = len(system)
    blocks = []
    for o3_lambda in (1, 2):
        harmonics = torch.tensor(
            real_spherical_harmonics(o3_lambda, vectors.detach().numpy())
        )
        values = torch.zeros(n_atoms, 2 * o3_lambda + 1).double()
        values = values.index_add(0, first, harmonics).reshape(n_atoms, -1, 1)
        values = torch.cat([values, 2.0 * values], dim=2)
        blocks.append(values)
    # pseudo-vector: sum of r_ij x r_0, in (y, z, x) order
    cross = torch.linalg.cross(vectors, vectors[:1].expand(len(vectors), -1))
    pseudo = torch.zeros(n_atoms, 3).double().index_add(0, first, cross)
    blocks.append(pseudo[:, [1, 2, 0]].reshape(n_atoms, 3, 1))

    samples = labels(["system", "atom"], [[0, a] for a in range(n_atoms)])
    result = []
    for values in blocks:
        size = values.shape[1]
        components = [
            Labels(
                ["o3_mu"],
                torch.arange(-(size // 2), size // 2 + 1, dtype=torch.int32).reshape(
                    -1, 1
                ),
            )
        ]
        block = TensorBlock(
            values, samples, components, labels_range("n", values.shape[2])
        )
        result.append(block)
    # gradients with respect to the positions (arbitrary fixed values)
    generator = np.random.default_rng(2)
    gradient_samples = labels(
        ["sample", "system", "atom"], [[a, 0, a] for a in range(n_atoms)]
    )
    for block in result:
        shape = (n_atoms, 3) + tuple(block.values.shape[1:])
        gradient = TensorBlock(
            torch.tensor(generator.normal(size=shape)),
            gradient_samples,
            [labels_range("xyz", 3)] + block.components,
            block.properties,
        )
        block.add_gradient("positions", gradient)
    keys = labels(["o3_lambda", "o3_sigma"], [[1, 1], [2, 1], [1, -1]])
    tensor = TensorMap(keys, result)
    tensor.set_info("note", "spherical")
    return tensor


def test_transform_system_and_tensor_map():
    options = PairPotential().requested_neighbor_lists()[0]
    system = make_system()
    add_neighbors(system, options)
    velocities = TensorMap(
        labels("_", [[0]]),
        [
            TensorBlock(
                torch.arange(12, dtype=torch.float64).reshape(4, 3, 1),
                labels(["system", "atom"], [[0, a] for a in range(4)]),
                [labels_range("xyz", 3)],
                labels_range("velocity", 1),
            )
        ],
    )
    system.add_data("velocity", velocities)
    system.add_data("mass", mass_data(system))
    reference = _spherical_expansion(system, options)

    transformations = rotations(n=3, max_angular_momentum=2)
    for i, matrix in enumerate(transformations.matrices):
        transformed = transformations.transform_system(system, i)
        torch.testing.assert_close(transformed.positions, system.positions @ matrix.T)
        torch.testing.assert_close(transformed.cell, system.cell @ matrix.T)
        assert torch.equal(transformed.types, system.types)
        assert torch.equal(transformed.pbc, system.pbc)
        neighbors = transformed.get_neighbor_list(options)
        original = system.get_neighbor_list(options)
        assert neighbors.samples == original.samples
        torch.testing.assert_close(
            neighbors.values[:, :, 0], original.values[:, :, 0] @ matrix.T
        )
        torch.testing.assert_close(
            transformed.get_data("velocity").block().values[:, :, 0],
            velocities.block().values[:, :, 0] @ matrix.T,
        )
        assert torch.equal(
            transformed.get_data("mass").block().values,
            system.get_data("mass").block().values,
        )

        # equivariance of the spherical tensors, proper and improper
        expected = _spherical_expansion(transformed, options)
        computed = transformations.transform_tensor_map(reference, i)
        assert computed.keys == reference.keys
        assert computed.info() == {"note": "spherical"}
        for key, block in computed.items():
            torch.testing.assert_close(block.values, expected.block(key).values)
        # gradients: the xyz and o3_mu axes are both transformed
        gradient = computed.block_by_id(0).gradient("positions").values
        original = reference.block_by_id(0).gradient("positions").values
        wigner = transformations.wigner_d(1)[i]
        torch.testing.assert_close(
            gradient, torch.einsum("ia,mb,sabp->simp", matrix, wigner, original)
        )
        back = transformations.transform_tensor_map(computed, i, inverse=True)
        for key, block in back.items():
            torch.testing.assert_close(block.values, reference.block(key).values)

    # one transformation per sample (and the gradients follow their sample)
    index = torch.tensor([0, 3, 5, 1])
    computed = transformations.transform_tensor_map(reference, index)
    for i in range(4):
        single = transformations.transform_tensor_map(reference, int(index[i]))
        for key, block in computed.items():
            torch.testing.assert_close(block.values[i], single.block(key).values[i])
            if block.has_gradient("positions"):
                torch.testing.assert_close(
                    block.gradient("positions").values[i],
                    single.block(key).gradient("positions").values[i],
                )

    with pytest.raises(IndexError, match="transformation index 7 is out of range"):
        transformations.transform_system(system, 7)


def test_invariant_model_and_forces():
    # the pair potential is invariant: same energy, rotated forces
    options = PairPotential().requested_neighbor_lists()[0]
    model = PairPotential()
    system = make_system(positions_requires_grad=True)
    add_neighbors(system, options)
    energy = model._atom_energies(system).sum()
    (forces,) = torch.autograd.grad(-energy, system.positions, retain_graph=True)

    transformations = rotations(n=2, max_angular_momentum=0)
    for i in range(len(transformations)):
        transformed = transformations.transform_system(system, i)
        rotated_energy = model._atom_energies(transformed).sum()
        torch.testing.assert_close(rotated_energy, energy)
        # gradients flow to the original positions through the transformation
        (gradient,) = torch.autograd.grad(
            -rotated_energy, system.positions, retain_graph=True
        )
        torch.testing.assert_close(gradient, forces)


def test_torchscript():
    transformations = rotations(n=2, max_angular_momentum=2)
    scripted = torch.jit.script(transformations)
    options = PairPotential().requested_neighbor_lists()[0]
    system = make_system()
    add_neighbors(system, options)
    reference = _spherical_expansion(system, options)
    for i in range(4):
        expected = transformations.transform_tensor_map(reference, i)
        computed = scripted.transform_tensor_map(reference, i, False)
        for key, block in computed.items():
            torch.testing.assert_close(block.values, expected.block(key).values)
        torch.testing.assert_close(
            scripted.transform_system(system, i).positions,
            transformations.transform_system(system, i).positions,
        )
    torch.testing.assert_close(
        scripted.wigner_d(2, -1), transformations.wigner_d(2, -1)
    )
    values = torch.ones(3, 3, dtype=torch.float64)
    torch.testing.assert_close(
        scripted.transform_cartesian(values, torch.tensor([0, 1, 2]), 1, True),
        transformations.transform_cartesian(values, torch.tensor([0, 1, 2]), 1, True),
    )


def test_transformations_move_with_the_module():
    transformations = rotations(n=2, max_angular_momentum=1)
    converted = transformations.to(torch.float32)
    assert converted.matrices.dtype == torch.float32
    assert converted.wigner_d(1).dtype == torch.float32
    assert repr(converted) == "O3Transformations(4 matrices, max_angular_momentum=1)"


# ==================================================================================== #


@pytest.mark.parametrize("include_inversion", [True, False])
def test_quadrature_is_exact(include_inversion):
    degree = 4
    matrices, weights = o3.quadrature(degree, include_inversion=include_inversion)
    assert matrices.shape == (len(weights), 3, 3)
    assert np.all(weights > 0)
    np.testing.assert_allclose(weights.sum(), 1.0)
    np.testing.assert_allclose(
        matrices @ matrices.transpose(0, 2, 1),
        np.broadcast_to(np.eye(3), matrices.shape),
        atol=1e-14,
    )
    determinants = np.linalg.det(matrices)
    if include_inversion:
        half = len(weights) // 2
        np.testing.assert_allclose(determinants[:half], 1.0)
        np.testing.assert_allclose(matrices[half:], -matrices[:half])
    else:
        np.testing.assert_allclose(determinants, 1.0)

    transformations = o3.O3Transformations(torch.tensor(matrices), degree + 2)
    for o3_lambda in range(1, degree + 3):
        average = np.einsum(
            "k,kij->ij", weights, transformations.wigner_d(o3_lambda).numpy()
        )
        if o3_lambda <= degree:
            # exact: the average of D^λ over rotations is zero
            np.testing.assert_allclose(average, 0.0, atol=1e-13)
        elif o3_lambda == degree + 2:
            # the quadrature is not exact for larger λ (odd λ vanish by symmetry
            # with the inversion)
            assert np.abs(average).max() > 1e-3


def test_quadrature_sizes_and_errors():
    # Lebedev rule of degree 3 (6 points) times 4 angles, twice
    matrices, _ = o3.quadrature(3)
    assert len(matrices) == 6 * 4 * 2
    # degree 4 uses the rule of degree 5 (14 points)
    matrices, _ = o3.quadrature(4)
    assert len(matrices) == 14 * 5 * 2
    # degree 12 skips the degree 13 rule (it has negative weights) for degree 15
    _, weights = o3.quadrature(12, include_inversion=False)
    assert len(weights) == 86 * 13
    assert np.all(weights > 0)

    with pytest.raises(ValueError, match="no Lebedev rule of degree 132 or more"):
        o3.quadrature(132)
    with pytest.raises(
        ValueError, match="`max_angular_momentum` must be positive, got -2"
    ):
        o3.quadrature(-2)
    with pytest.raises(
        TypeError, match="`max_angular_momentum` must be an integer, got bool"
    ):
        o3.quadrature(True)
    with pytest.raises(TypeError, match="`include_inversion` must be a bool, got str"):
        o3.quadrature(2, include_inversion="yes")
