import numpy as np
import pytest
from _utils import ARRAYS, convert, to_numpy

from metatensor import Labels, TensorBlock, TensorMap
from metatensor_operations import NotEqualError, lstsq, solve


def system(arrays="numpy", n_samples=6, gradients=True, seed=0):
    """X and Y = X @ W with a known W, with gradients following the same W"""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(3, 2))
    x = rng.normal(size=(n_samples, 3))
    samples = Labels.range("s", n_samples)
    X = TensorBlock(x, samples, [], Labels.range("x", 3))
    Y = TensorBlock(x @ weights, samples, [], Labels.range("y", 2))
    if gradients:
        gradient_samples = Labels(["sample"], np.arange(n_samples).reshape(-1, 1))
        gx = rng.normal(size=(n_samples, 3, 3))
        X.add_gradient(
            "g",
            TensorBlock(gx, gradient_samples, [Labels.range("xyz", 3)], X.properties),
        )
        Y.add_gradient(
            "g",
            TensorBlock(
                gx @ weights, gradient_samples, [Labels.range("xyz", 3)], Y.properties
            ),
        )
    X = convert(TensorMap(Labels.single(), [X]), arrays)
    Y = convert(TensorMap(Labels.single(), [Y]), arrays)
    return X, Y, weights


@pytest.mark.parametrize("arrays", ARRAYS)
def test_lstsq(arrays):
    X, Y, weights = system(arrays)
    result = lstsq(X, Y, rcond=None).block()
    assert result.samples == Labels.range("y", 2)
    assert result.properties == Labels.range("x", 3)
    np.testing.assert_allclose(to_numpy(result.values), weights.T, atol=1e-10)
    # without gradients the stacked system is just the values
    X, Y, weights = system(arrays, gradients=False)
    np.testing.assert_allclose(
        to_numpy(lstsq(X, Y, rcond=None).block().values), weights.T, atol=1e-10
    )


@pytest.mark.parametrize("arrays", ARRAYS)
def test_solve(arrays):
    X, Y, weights = system(arrays, n_samples=3, gradients=False)
    result = solve(X, Y).block()
    np.testing.assert_allclose(to_numpy(result.values), weights.T, atol=1e-10)


def test_errors():
    X, Y, _ = system()
    with pytest.raises(ValueError, match="'solve' needs square systems"):
        solve(X, Y)
    other, _, _ = system(n_samples=5)
    with pytest.raises(
        NotEqualError, match="inputs to 'lstsq' should have the same samples"
    ):
        lstsq(other, Y, rcond=None)
