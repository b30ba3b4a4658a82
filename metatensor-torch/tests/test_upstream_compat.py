"""Behaviours that code written for upstream metatensor-torch relies on"""

import io
import os
import warnings

import torch

import metatensor.torch as mts


def _tensor() -> mts.TensorMap:
    block = mts.block_from_array(torch.arange(6.0).reshape(3, 2))
    return mts.TensorMap(mts.Labels.range("key", 1), [block])


def test_operations_can_be_saved_with_torch_jit_save(tmp_path):
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "`torch.jit.(script|save|load)` is deprecated"
        )
        path = tmp_path / "add.pt"
        torch.jit.save(mts.add, str(path))
        add = torch.jit.load(str(path))
        buffer = io.BytesIO()
        torch.jit.save(mts.sum_over_samples, buffer)
        buffer.seek(0)
        sum_over_samples = torch.jit.load(buffer)

        tensor = _tensor()
        assert mts.equal(add(tensor, 1.0), mts.add(tensor, 1.0))
        summed = sum_over_samples(tensor, "sample")
        assert summed.block().values.tolist() == [[6.0, 9.0]]

        # every operation compiles and saves, except the switches of the checks
        # (context managers, as upstream)
        skipped = {"unsafe_enable_checks", "unsafe_disable_checks"}
        for name in mts.operations.__all__:
            function = getattr(mts, name)
            if name in skipped or not callable(function) or isinstance(function, type):
                continue
            assert len(function.save_to_buffer()) > 0, name


def test_cmake_prefix_path():
    import metatensor.torch.utils

    path = mts.utils.cmake_prefix_path
    assert metatensor.torch.utils.cmake_prefix_path == path
    assert os.path.isdir(path)
    assert os.path.samefile(path, os.path.dirname(mts.__file__))
