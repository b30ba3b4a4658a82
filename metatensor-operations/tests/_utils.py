"""Builders and checks shared by the operations tests"""

import importlib.util

import numpy as np
import pytest

from metatensor import Labels, TensorBlock, TensorMap

has_torch = importlib.util.find_spec("torch") is not None
requires_torch = pytest.mark.skipif(not has_torch, reason="torch is not installed")

# the array kinds every operation is tested with
ARRAYS = ["numpy", pytest.param("torch", marks=requires_torch)]


def convert(tensor: TensorMap, arrays: str) -> TensorMap:
    """``tensor`` with numpy or torch values (float64, cpu)"""
    if arrays == "numpy":
        return tensor
    return tensor.to(arrays="torch")


def to_numpy(array) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return array
    return array.detach().cpu().numpy()


# ================================================================================ #
# a smooth tensor with exact gradients, for finite differences


N_ATOMS = 4


def _features(positions: np.ndarray, coefficients: np.ndarray, atoms: np.ndarray):
    """values[s, c, p] = sum_k coefficients[s, c, p, k] * sin(x[atom_s] . w_k + k),
    a smooth function of the positions, and its gradient with respect to the
    position of atom_s: shape (n_samples, 3, n_components, n_properties)"""
    w = np.array([[1.0, 0.5, -0.3], [0.2, -1.1, 0.7], [-0.6, 0.4, 0.9]])
    phase = positions[atoms] @ w.T + np.arange(3)  # (n_samples, k)
    values = np.einsum("scpk,sk->scp", coefficients, np.sin(phase))
    gradient = np.einsum("scpk,sk,kx->sxcp", coefficients, np.cos(phase), w)
    return values, gradient


def smooth_tensor(positions: np.ndarray, seed: int = 0, keys=((0,), (1,))) -> TensorMap:
    """A TensorMap whose values are smooth functions of ``positions`` (shape
    ``(N_ATOMS, 3)``), with exact ``"positions"`` gradients.

    Every block has samples ``(system, atom)``, one component ``c`` of size 2 and
    properties ``n``; block ``i`` has ``3 + i`` samples and ``2 + i`` properties.
    """
    rng = np.random.default_rng(seed)
    blocks = []
    for i, _ in enumerate(keys):
        n_samples = 3 + i
        atoms = np.arange(n_samples) % N_ATOMS
        samples = Labels(
            ["system", "atom"],
            np.stack([np.arange(n_samples) // N_ATOMS, atoms], axis=1),
        )
        components = [Labels.range("c", 2)]
        properties = Labels.range("n", 2 + i)
        coefficients = rng.normal(size=(n_samples, 2, 2 + i, 3))
        values, gradient = _features(positions, coefficients, atoms)
        block = TensorBlock(values, samples, components, properties)
        gradient_samples = Labels(
            ["sample", "system", "atom"],
            np.stack(
                [np.arange(n_samples), np.zeros(n_samples, dtype=int), atoms], axis=1
            ),
        )
        block.add_gradient(
            "positions",
            TensorBlock(
                gradient,
                gradient_samples,
                [Labels.range("xyz", 3), *components],
                properties,
            ),
        )
        blocks.append(block)
    return TensorMap(Labels(["key"], np.array(keys)), blocks)


def check_gradients(function, n_inputs: int = 1, arrays: str = "numpy", seed=0):
    """Check the gradients computed by ``function`` (taking ``n_inputs`` smooth
    TensorMaps, see :py:func:`smooth_tensor`) against finite differences of its
    values with respect to the positions.

    Each output gradient row with samples ``(sample, system, atom)`` must equal the
    derivative of the values of ``sample`` with respect to the position of
    ``atom``; rows that are absent must have a zero derivative.
    """
    rng = np.random.default_rng(seed)
    positions = rng.normal(size=(N_ATOMS, 3))

    def evaluate(positions):
        inputs = [
            convert(smooth_tensor(positions, seed=seed + i), arrays)
            for i in range(n_inputs)
        ]
        return function(*inputs)

    reference = evaluate(positions)
    delta = 1e-6
    for key, block in reference.items():
        gradient = block.gradient("positions")
        values = to_numpy(gradient.values)
        found = {}
        for row, (sample, _, atom) in enumerate(gradient.samples.values.tolist()):
            # several rows (e.g. from different systems) may share a position
            found[(sample, atom)] = found.get((sample, atom), 0.0) + values[row]

        for atom in range(N_ATOMS):
            for xyz in range(3):
                plus, minus = positions.copy(), positions.copy()
                plus[atom, xyz] += delta
                minus[atom, xyz] -= delta
                block_plus = evaluate(plus).block(key)
                block_minus = evaluate(minus).block(key)
                derivative = (
                    to_numpy(block_plus.values) - to_numpy(block_minus.values)
                ) / (2 * delta)
                for sample in range(len(block.samples)):
                    expected = derivative[sample]
                    if (sample, atom) in found:
                        actual = found[(sample, atom)][xyz]
                    else:
                        actual = np.zeros_like(expected)
                    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
