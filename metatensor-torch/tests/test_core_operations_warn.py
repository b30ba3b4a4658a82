"""metatensor-core operations given metatensor-torch objects (here: the session of
the operations tests does not install metatensor-torch)"""

import pytest
import torch

import metatensor
import metatensor.torch as mts


def test_core_operations_warn_about_torch_objects():
    tensor = mts.TensorMap(
        mts.Labels.range("key", 1), [mts.block_from_array(torch.zeros((2, 2)))]
    )
    message = (
        "you should use the operation from `metatensor.torch` as well, e.g. "
        r"`metatensor.torch.add\(...\)` instead of `metatensor.add\(...\)`"
    )
    with pytest.warns(UserWarning, match=message):
        with pytest.raises(TypeError, match="`A` must be a metatensor TensorMap"):
            metatensor.add(tensor, 1.0)
    # the operations of metatensor.torch take them without warning
    assert metatensor.torch.add(tensor, 1.0).block().values.sum() == 4.0
