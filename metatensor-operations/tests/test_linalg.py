import numpy as np
import pytest
from _utils import ARRAYS, convert, has_torch, requires_torch, to_numpy

from metatensor import Labels, TensorBlock, TensorMap
from metatensor_operations import NotEqualError, lstsq, solve, unsafe_disable_checks

if has_torch:
    import torch


def make_block(values, samples, components, properties, gradients=()):
    block = TensorBlock(values, samples, components, properties)
    for parameter, gradient_samples, extra, gradient_values in gradients:
        block.add_gradient(
            parameter,
            TensorBlock(
                gradient_values, gradient_samples, extra + components, properties
            ),
        )
    return block


def system(
    arrays="numpy",
    n_samples=6,
    gradients=("g",),
    components=False,
    seed=0,
    keys=((0,), (1,)),
    y_gradients_order=None,
):
    """X and Y = X @ W with a known W (one per key), with gradients following the
    same W"""
    rng = np.random.default_rng(seed)
    samples = Labels.range("s", n_samples)
    component_labels = [Labels.range("c", 2)] if components else []
    shape = (n_samples, 2) if components else (n_samples,)
    blocks_X, blocks_Y, weights = [], [], []
    for _ in keys:
        w = rng.normal(size=(3, 2))
        x = rng.normal(size=shape + (3,))
        X_gradients, Y_gradients = {}, {}
        for i, parameter in enumerate(gradients):
            gradient_samples = Labels(
                ["sample", "atom"],
                np.stack([np.arange(n_samples), np.full(n_samples, i)], axis=1),
            )
            extra = [Labels.range("xyz", 3)]
            gx = rng.normal(size=(n_samples, 3) + shape[1:] + (3,))
            X_gradients[parameter] = (parameter, gradient_samples, extra, gx)
            Y_gradients[parameter] = (parameter, gradient_samples, extra, gx @ w)
        order = y_gradients_order or gradients
        blocks_X.append(
            make_block(
                x,
                samples,
                component_labels,
                Labels.range("x", 3),
                [X_gradients[p] for p in gradients],
            )
        )
        blocks_Y.append(
            make_block(
                x @ w,
                samples,
                component_labels,
                Labels.range("y", 2),
                [Y_gradients[p] for p in order],
            )
        )
        weights.append(w)
    keys = Labels(["key"], np.array(keys))
    X = convert(TensorMap(keys, blocks_X), arrays)
    Y = convert(TensorMap(keys, blocks_Y), arrays)
    return X, Y, weights


def stacked_reference(block, parameters):
    """The rows of the linear system for one block, built with plain numpy"""
    values = to_numpy(block.values)
    rows = [values.reshape(-1, values.shape[-1])]
    for parameter in parameters:
        gradient = to_numpy(block.gradient(parameter).values)
        rows.append(gradient.reshape(-1, gradient.shape[-1]))
    return np.concatenate(rows)


@pytest.mark.parametrize("arrays", ARRAYS)
@pytest.mark.parametrize("components", [False, True])
@pytest.mark.parametrize("gradients", [(), ("g",), ("g", "h")])
def test_lstsq(arrays, components, gradients):
    X, Y, weights = system(arrays, gradients=gradients, components=components)
    result = lstsq(X, Y, rcond=None)
    assert result.keys == X.keys
    for i, w in enumerate(weights):
        block = result.block(i)
        assert block.samples == Labels.range("y", 2)
        assert block.components == []
        assert block.properties == Labels.range("x", 3)
        assert block.gradients_list() == []
        np.testing.assert_allclose(to_numpy(block.values), w.T, atol=1e-10)

        # against numpy on the same stacked system, with noise (no exact fit)
        x = stacked_reference(X.block(i), gradients)
        y = stacked_reference(Y.block(i), gradients)
        noisy = y + np.random.default_rng(i).normal(size=y.shape)
        Y_noisy = TensorMap(
            Labels.single(),
            [
                TensorBlock(
                    noisy,
                    Labels.range("r", len(noisy)),
                    [],
                    Labels.range("y", 2),
                )
            ],
        )
        X_flat = TensorMap(
            Labels.single(),
            [TensorBlock(x, Labels.range("r", len(x)), [], Labels.range("x", 3))],
        )
        expected = np.linalg.lstsq(x, noisy, rcond=None)[0]
        actual = lstsq(X_flat, Y_noisy, rcond=None).block().values
        np.testing.assert_allclose(actual, expected.T, atol=1e-12)


@pytest.mark.parametrize("arrays", ARRAYS)
def test_lstsq_matches_numpy_stacking(arrays):
    """The gradients of Y are matched to those of X by name, not by position"""
    X, Y, weights = system(arrays, gradients=("g", "h"), y_gradients_order=("h", "g"))
    assert Y.block(0).gradients_list() == ["h", "g"]
    result = lstsq(X, Y, rcond=1e-10)
    for i, w in enumerate(weights):
        np.testing.assert_allclose(to_numpy(result.block(i).values), w.T, atol=1e-10)


def test_keys_in_other_order():
    X, Y, weights = system()
    reordered = TensorMap(
        Labels(["key"], Y.keys.values[::-1].copy()),
        [block.copy() for block in reversed(list(Y.blocks()))],
    )
    result = lstsq(X, reordered, rcond=None)
    assert result.keys == X.keys
    for i, w in enumerate(weights):
        np.testing.assert_allclose(result.block(i).values, w.T, atol=1e-10)


@pytest.mark.parametrize("arrays", ARRAYS)
@pytest.mark.parametrize("components", [False, True])
def test_solve(arrays, components):
    # 3 unknowns: 3 samples without components, or 1 sample with 3 components
    X, Y, weights = system(arrays, n_samples=3, gradients=())
    result = solve(X, Y)
    for i, w in enumerate(weights):
        block = result.block(i)
        assert block.samples == Labels.range("y", 2)
        assert block.properties == Labels.range("x", 3)
        np.testing.assert_allclose(to_numpy(block.values), w.T, atol=1e-10)
        np.testing.assert_allclose(
            to_numpy(block.values),
            np.linalg.solve(to_numpy(X.block(i).values), to_numpy(Y.block(i).values)).T,
        )

    if components:
        # 1 sample x 3 components gives a square system
        rng = np.random.default_rng(3)
        x = rng.normal(size=(1, 3, 3))
        y = rng.normal(size=(1, 3, 2))
        c = [Labels.range("c", 3)]
        X = TensorMap(
            Labels.single(),
            [TensorBlock(x, Labels.range("s", 1), c, Labels.range("x", 3))],
        )
        Y = TensorMap(
            Labels.single(),
            [TensorBlock(y, Labels.range("s", 1), c, Labels.range("y", 2))],
        )
        X, Y = convert(X, arrays), convert(Y, arrays)
        expected = np.linalg.solve(x[0], y[0]).T
        np.testing.assert_allclose(to_numpy(solve(X, Y).block().values), expected)


def test_solve_with_gradients():
    # 1 sample and one gradient row with 2 xyz: 3 rows for 3 unknowns
    rng = np.random.default_rng(4)
    x, gx = rng.normal(size=(1, 3)), rng.normal(size=(1, 2, 3))
    w = rng.normal(size=(3, 1))
    gradient_samples = Labels(["sample"], np.array([[0]]))
    extra = [Labels.range("xyz", 2)]
    X = make_block(
        x, Labels.range("s", 1), [], Labels.range("x", 3),
        [("g", gradient_samples, extra, gx)],
    )  # fmt: skip
    Y = make_block(
        x @ w, Labels.range("s", 1), [], Labels.range("y", 1),
        [("g", gradient_samples, extra, gx @ w)],
    )  # fmt: skip
    result = solve(TensorMap(Labels.single(), [X]), TensorMap(Labels.single(), [Y]))
    np.testing.assert_allclose(result.block().values, w.T)


def test_empty():
    keys = Labels(["key"], np.zeros((0, 1), dtype=np.int32))
    empty = TensorMap(keys, [])
    assert len(lstsq(empty, empty, rcond=None)) == 0
    assert len(solve(empty, empty)) == 0


@requires_torch
def test_torch_driver_and_dtype():
    X, Y, weights = system("torch")
    for driver in ["gels", "gelsy", "gelsd", "gelss"]:
        result = lstsq(X, Y, rcond=None, driver=driver)
        assert result.block(0).values.dtype == torch.float64
        np.testing.assert_allclose(
            to_numpy(result.block(0).values), weights[0].T, atol=1e-10
        )
    # numpy ignores the driver (as upstream)
    X, Y, weights = system("numpy")
    result = lstsq(X, Y, rcond=None, driver="gelsd")
    np.testing.assert_allclose(result.block(0).values, weights[0].T, atol=1e-10)


@requires_torch
@pytest.mark.parametrize("function", ["lstsq", "solve"])
def test_torch_autograd(function):
    rng = np.random.default_rng(5)
    n_samples = 6 if function == "lstsq" else 3
    x0 = torch.tensor(rng.normal(size=(n_samples, 3)), dtype=torch.float64)
    y0 = torch.tensor(rng.normal(size=(n_samples, 2)), dtype=torch.float64)

    def run(x, y):
        samples = Labels.range("s", n_samples).to(arrays="torch")
        X = TensorMap(
            Labels.single().to(arrays="torch"),
            [TensorBlock(x, samples, [], Labels.range("x", 3).to(arrays="torch"))],
        )
        Y = TensorMap(
            Labels.single().to(arrays="torch"),
            [TensorBlock(y, samples, [], Labels.range("y", 2).to(arrays="torch"))],
        )
        if function == "lstsq":
            return lstsq(X, Y, rcond=None, driver="gelsd").block().values
        return solve(X, Y).block().values

    assert torch.autograd.gradcheck(
        run, (x0.requires_grad_(True), y0.requires_grad_(True))
    )


# ================================================================================ #
# errors


@pytest.mark.parametrize("function", ["lstsq", "solve"])
def test_metadata_errors(function):
    def call(X, Y):
        if function == "lstsq":
            return lstsq(X, Y, rcond=None)
        return solve(X, Y)

    X, Y, _ = system(n_samples=3, gradients=())
    other_keys = TensorMap(
        Labels(["other"], Y.keys.values), [b.copy() for b in Y.blocks()]
    )
    with pytest.raises(
        NotEqualError, match=f"inputs to '{function}' should have the same keys names"
    ):
        call(X, other_keys)
    missing = TensorMap(Labels(["key"], np.array([[0], [7]])), [b.copy() for b in Y])
    with pytest.raises(
        NotEqualError,
        match=rf"inputs to '{function}' should have the same keys, \(key=1\) is "
        "missing from the second one",
    ):
        call(X, missing)

    other, _, _ = system(n_samples=4, gradients=())
    with pytest.raises(
        NotEqualError,
        match=rf"inputs to '{function}' should have the same samples for the block "
        r"at key \(key=0\)",
    ):
        call(other, Y)

    with_components, _, _ = system(n_samples=3, gradients=(), components=True)
    with pytest.raises(
        NotEqualError,
        match=rf"inputs to '{function}' have a different number of components "
        r"for the block at key \(key=0\), got 1 and 0",
    ):
        call(with_components, Y)

    X_gradients, Y_gradients, _ = system(n_samples=3, gradients=("g",))
    with pytest.raises(
        NotEqualError,
        match=rf"inputs to '{function}' should have the same gradient parameters for the "
        r"block at key \(key=0\), got \['g'\] and \[\]",
    ):
        call(X_gradients, Y)

    # gradient samples must match too
    block = Y_gradients.block(0)
    gradient = block.gradient("g")
    samples = gradient.samples.values.copy()
    samples[:, 1] = 9
    shifted = make_block(
        block.values,
        block.samples,
        [],
        block.properties,
        [
            (
                "g",
                Labels(gradient.samples.names, samples),
                gradient.components,
                gradient.values,
            )
        ],
    )
    with pytest.raises(
        NotEqualError,
        match=rf"inputs to '{function}' should have the same samples for the block "
        r"at key \(_=0\) for the 'g' gradients",
    ):
        call(
            TensorMap(Labels.single(), [X_gradients.block(0).copy()]),
            TensorMap(Labels.single(), [shifted]),
        )


def test_solve_not_square():
    X, Y, _ = system(n_samples=6)
    with pytest.raises(
        ValueError,
        match=r"the values in each block of X should be a square 2D array: 'solve' "
        r"needs square systems, got a block of X with 24 rows \(samples, "
        r"components and gradients\) and 3 columns \(properties\) for the block at "
        r"key \(key=0\)",
    ):
        solve(X, Y)


def test_nested_gradients():
    X, Y, _ = system(n_samples=3, gradients=())

    def nested(block):
        gradient = TensorBlock(
            block.values.copy(),
            Labels(["sample"], np.arange(3).reshape(-1, 1)),
            [],
            block.properties,
        )
        gradient.add_gradient(
            "inner",
            TensorBlock(
                block.values.copy(),
                Labels(["sample"], np.arange(3).reshape(-1, 1)),
                [],
                block.properties,
            ),
        )
        new = block.copy()
        new.add_gradient("outer", gradient)
        return TensorMap(Labels.single(), [new])

    for function in (lambda a, b: lstsq(a, b, rcond=None), solve):
        with pytest.raises(
            NotImplementedError, match="gradients of gradients are not supported in"
        ):
            function(nested(X.block(0)), nested(Y.block(0)))


@requires_torch
@pytest.mark.parametrize("function", ["lstsq", "solve"])
def test_mixed_backends(function):
    X, Y, _ = system("numpy", n_samples=3, gradients=())
    _, Y_torch, _ = system("torch", n_samples=3, gradients=())
    with pytest.raises(
        TypeError,
        match=f"inputs to '{function}' must all be numpy arrays or all torch tensors",
    ):
        if function == "lstsq":
            lstsq(X, Y_torch, rcond=None)
        else:
            solve(X, Y_torch)


def test_argument_types():
    X, Y, _ = system(n_samples=3, gradients=())
    with pytest.raises(
        TypeError, match="`X` must be a metatensor TensorMap, not <class 'int'>"
    ):
        lstsq(1, Y, rcond=None)
    with pytest.raises(
        TypeError,
        match="`Y` must be a metatensor TensorMap, not <class 'metatensor.TensorBlock'>",
    ):
        solve(X, Y.block(0))
    with pytest.raises(TypeError, match="`rcond` in 'lstsq' must be a float or None"):
        lstsq(X, Y, rcond="small")
    with pytest.raises(TypeError, match="`driver` in 'lstsq' must be a string or None"):
        lstsq(X, Y, rcond=None, driver=3)


def test_checks_disabled():
    X, Y, weights = system()
    with unsafe_disable_checks():
        result = lstsq(X, Y, rcond=None)
    np.testing.assert_allclose(result.block(0).values, weights[0].T, atol=1e-10)
