"""Builders and assertions shared by the metatensor.io tests"""

import io
import zipfile

import numpy as np
from _utils import has_torch as HAS_TORCH
from _utils import requires_torch as requires_torch

from metatensor import Labels, TensorBlock, TensorMap
from metatensor.io import _npy, _zip

if HAS_TORCH:
    import torch

ALL_DTYPES = [
    np.float64,
    np.float32,
    np.float16,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.bool_,
    np.complex64,
    np.complex128,
]


def make_labels(names, values) -> Labels:
    return Labels(names, np.array(values, dtype=np.int32).reshape(-1, len(names)))


def random_values(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.normal(size=shape) * 10
    if np.dtype(dtype).kind == "c":
        data = data + 1j * rng.normal(size=shape)
    if np.dtype(dtype).kind in "iub":
        data = np.abs(data)
    return data.astype(dtype)


def make_block(
    dtype=np.float64, n_samples=3, gradients=("positions",), seed=0, nested=False
):
    """A block with one component axis and gradients (with an extra xyz component)"""
    components = [make_labels(["o3_mu"], [[-1], [0], [1]])]
    properties = make_labels(["n"], [[0], [1]])
    block = TensorBlock(
        random_values((n_samples, 3, 2), dtype, seed),
        make_labels(["system", "atom"], [[0, i] for i in range(n_samples)]),
        components,
        properties,
    )
    xyz = make_labels(["xyz"], [[0], [1], [2]])
    for i, parameter in enumerate(gradients):
        samples = [[s, 0, a] for s in range(n_samples) for a in range(2)]
        gradient = TensorBlock(
            random_values((len(samples), 3, 3, 2), dtype, seed + i + 1),
            make_labels(["sample", "system", "atom"], samples),
            [xyz] + components,
            properties,
        )
        if nested:
            strain = make_labels(["cell"], [[0], [1]])
            gradient.add_gradient(
                "strain",
                TensorBlock(
                    random_values((len(samples), 2, 3, 3, 2), dtype, seed + 10),
                    make_labels(["sample"], [[s] for s in range(len(samples))]),
                    [strain, xyz] + components,
                    properties,
                ),
            )
        block.add_gradient(parameter, gradient)
    return block


def make_tensor(
    dtype=np.float64, n_blocks=2, gradients=("positions",), nested=False, info=None
):
    keys = make_labels(["key"], [[i] for i in range(n_blocks)])
    blocks = [
        make_block(dtype, n_samples=i + 1, gradients=gradients, seed=i, nested=nested)
        for i in range(n_blocks)
    ]
    tensor = TensorMap(keys, blocks)
    for key, value in (info or {}).items():
        tensor.set_info(key, value)
    return tensor


def as_numpy(array):
    if HAS_TORCH and isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def assert_labels_equal(first, second):
    assert first.names == second.names
    first_values = as_numpy(first.values)
    second_values = as_numpy(second.values)
    assert first_values.shape == second_values.shape
    np.testing.assert_array_equal(first_values, second_values)


def assert_blocks_equal(first, second):
    first_values = as_numpy(first.values)
    second_values = as_numpy(second.values)
    assert first_values.dtype == second_values.dtype
    assert first_values.shape == second_values.shape
    np.testing.assert_array_equal(first_values, second_values)
    assert_labels_equal(first.samples, second.samples)
    assert len(first.components) == len(second.components)
    for a, b in zip(first.components, second.components, strict=True):
        assert_labels_equal(a, b)
    assert_labels_equal(first.properties, second.properties)
    assert sorted(first.gradients_list()) == sorted(second.gradients_list())
    for parameter in first.gradients_list():
        assert_blocks_equal(first.gradient(parameter), second.gradient(parameter))


def assert_tensors_equal(first, second):
    assert_labels_equal(first.keys, second.keys)
    assert len(first) == len(second)
    for a, b in zip(first.blocks(), second.blocks(), strict=True):
        assert_blocks_equal(a, b)
    assert first.info() == second.info()


def loaded_arrays(tensor):
    def block_arrays(block):
        yield block.values
        for parameter in block.gradients_list():
            yield from block_arrays(block.gradient(parameter))

    for block in tensor.blocks():
        yield from block_arrays(block)


def rewrite_archive(buffer, transform):
    """Rewrite a native archive: ``transform(members)`` gets and returns a list of
    ``(name, bytes)``; the result is written with our zip writer"""
    with zipfile.ZipFile(io.BytesIO(bytes(buffer))) as file:
        members = [(name, file.read(name)) for name in file.namelist()]
    chunks = []
    writer = _zip.ZipWriter(chunks.append)
    for name, data in transform(members):
        writer.add(name, [data])
    writer.finish()
    return b"".join(chunks)


def replace_member(buffer, name, data):
    return rewrite_archive(
        buffer, lambda members: [(n, data if n == name else d) for n, d in members]
    )


def labels_member(names, values):
    values = np.array(values, dtype=np.int32).reshape(-1, len(names))
    return _npy.labels_header(names, len(values)) + values.tobytes()
