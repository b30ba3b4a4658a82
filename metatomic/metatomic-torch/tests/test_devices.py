"""Tests of pick_device, pick_output and systems_to_torch (SPEC §1.5)"""

import re
import warnings

import _utils
import numpy as np
import pytest
import torch

from metatomic.torch import (
    ModelOutput,
    System,
    pick_device,
    pick_output,
    systems_to_torch,
)

HAS_CUDA = torch.cuda.is_available()


@pytest.fixture
def fake_cuda(monkeypatch):
    """Pretend that CUDA is available"""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


@pytest.fixture
def no_cuda(monkeypatch):
    """Pretend that CUDA is not available"""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


# ==================================================================================== #
#                                      pick_device                                     #
# ==================================================================================== #


def test_first_available_device(no_cuda):
    assert pick_device(["cpu"]) == "cpu"
    assert pick_device(["cuda", "cpu"]) == "cpu"
    assert pick_device(["cpu", "cuda"]) == "cpu"


def test_first_available_device_cuda(fake_cuda):
    assert pick_device(["cuda", "cpu"]) == "cuda"
    assert pick_device(["cpu", "cuda"]) == "cpu"


@pytest.mark.parametrize("devices", [[], ["cuda"], ["cuda", "mps"]])
def test_no_available_device(no_cuda, monkeypatch, devices):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    message = (
        f"none of the devices supported by the model ({devices}) is available on "
        "this machine"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        pick_device(devices)


@pytest.mark.parametrize("desired", ["cpu", torch.device("cpu"), "cpu:0"])
def test_desired_device(desired):
    assert pick_device(["cuda", "cpu"], desired) == str(desired)


@pytest.mark.parametrize("desired", ["cuda", "cuda:1", torch.device("cuda:1")])
def test_desired_cuda_device(fake_cuda, desired):
    # the device index is kept
    assert pick_device(["cpu", "cuda"], desired) == str(desired)


def test_desired_device_not_supported():
    message = "the model does not support the device 'cuda:1': it supports ['cpu']"
    with pytest.raises(ValueError, match=re.escape(message)):
        pick_device(["cpu"], "cuda:1")

    message = "the model does not support the device 'cpu': it supports ['cuda']"
    with pytest.raises(ValueError, match=re.escape(message)):
        pick_device(["cuda"], "cpu")


def test_desired_device_not_available(no_cuda):
    message = (
        "the device 'cuda:1' is supported by the model but not available on this "
        "machine"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        pick_device(["cuda", "cpu"], "cuda:1")


def test_invalid_desired_device():
    message = "invalid desired device 'foo': "
    with pytest.raises(ValueError, match=re.escape(message)):
        pick_device(["cpu"], "foo")


def test_unknown_device_types_warn():
    message = "the model declares the unknown device type 'foo', it will be ignored"
    with pytest.warns(UserWarning, match=re.escape(message)) as record:
        assert pick_device(["foo", "cpu"]) == "cpu"
    # the warning points at the caller
    assert record[0].filename == __file__

    with pytest.warns(UserWarning, match=re.escape(message)):
        with pytest.raises(ValueError, match="none of the devices"):
            pick_device(["foo"])

    with pytest.warns(UserWarning, match=re.escape(message)):
        with pytest.raises(ValueError, match="invalid desired device 'foo'"):
            pick_device(["foo", "cpu"], "foo")


@pytest.mark.parametrize(
    "device",
    [
        "cpu",
        "cuda",
        "mps",
        "hip",
        "xla",
        "ipu",
        "xpu",
        "ve",
        "opencl",
        "opengl",
        "vulkan",
        "mkldnn",
        "ideep",
        "mtia",
        "meta",
        "hpu",
    ],
)
def test_known_device_types(device):
    # SPEC §1.5: the device types pick_device recognises, without warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            pick_device([device])
        except ValueError as e:
            assert "none of the devices supported by the model" in str(e)


# ==================================================================================== #
#                                      pick_output                                     #
# ==================================================================================== #


def _outputs():
    return {
        "energy": ModelOutput(unit="eV"),
        "energy/pbe0": ModelOutput(unit="eV", description="PBE0 hybrid functional"),
        "energy/r2scan": ModelOutput(unit="eV"),
        "energy_uncertainty/pbe0": ModelOutput(unit="eV", description="ensemble"),
        "my_code::dipole": ModelOutput(),
    }


def test_pick_output():
    outputs = _outputs()
    assert pick_output("energy", outputs) == "energy"
    assert pick_output("energy", outputs, "pbe0") == "energy/pbe0"
    assert pick_output("energy", outputs, "r2scan") == "energy/r2scan"
    assert pick_output("energy_uncertainty", outputs, "pbe0") == (
        "energy_uncertainty/pbe0"
    )
    assert pick_output("my_code::dipole", outputs) == "my_code::dipole"


def test_pick_output_missing():
    outputs = _outputs()
    message = "the model does not have the output 'non_conservative_force'"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        pick_output("non_conservative_force", outputs)

    message = (
        "the model does not have the output 'energy/b3lyp': its 'energy' outputs are "
        "['energy', 'energy/pbe0', 'energy/r2scan']"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        pick_output("energy", outputs, "b3lyp")

    message = (
        "the model does not have the output 'non_conservative_force/pbe0': its "
        "'non_conservative_force' outputs are none"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        pick_output("non_conservative_force", outputs, "pbe0")


def test_pick_output_without_default():
    outputs = _outputs()
    del outputs["energy"]
    message = (
        "the model has no default 'energy' output, pick one of its variants:\n"
        " - 'energy/pbe0': PBE0 hybrid functional\n"
        " - 'energy/r2scan': (no description)"
    )
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        pick_output("energy", outputs)

    message = (
        "the model has no default 'energy_uncertainty' output, pick one of its "
        "variants:\n - 'energy_uncertainty/pbe0': ensemble"
    )
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        pick_output("energy_uncertainty", outputs)


# ==================================================================================== #
#                                   systems_to_torch                                   #
# ==================================================================================== #


def _atoms(pbc=True):
    ase = pytest.importorskip("ase")
    return ase.Atoms(
        numbers=_utils.TYPES, positions=_utils.POSITIONS, cell=_utils.CELL, pbc=pbc
    )


def _check_system(system, atoms, dtype):
    assert isinstance(system, System)
    assert system.dtype == dtype
    assert system.device == torch.device("cpu")
    assert system.types.dtype == torch.int32
    assert system.types.tolist() == atoms.numbers.tolist()
    np.testing.assert_array_equal(
        system.positions.detach().numpy(), atoms.positions.astype(dtype_numpy(dtype))
    )
    assert system.pbc.tolist() == atoms.pbc.tolist()
    expected_cell = atoms.cell.array.copy()
    expected_cell[~atoms.pbc] = 0.0
    np.testing.assert_array_equal(
        system.cell.detach().numpy(), expected_cell.astype(dtype_numpy(dtype))
    )
    assert system.known_neighbor_lists() == []
    assert system.known_data() == []


def dtype_numpy(dtype):
    return {torch.float32: np.float32, torch.float64: np.float64}[dtype]


def test_systems_to_torch():
    atoms = _atoms()
    system = systems_to_torch(atoms)
    _check_system(system, atoms, torch.get_default_dtype())
    assert not system.positions.requires_grad
    assert not system.cell.requires_grad

    system = systems_to_torch(atoms, dtype=torch.float64, device="cpu")
    _check_system(system, atoms, torch.float64)

    system = systems_to_torch(atoms, dtype=torch.float64, device=torch.device("cpu"))
    _check_system(system, atoms, torch.float64)


@pytest.mark.parametrize("container", [list, tuple])
def test_systems_to_torch_list(container):
    first = _atoms()
    second = _atoms()
    second.positions += 0.5
    second.numbers = [8, 8, 1, 1]
    systems = systems_to_torch(container([first, second]), dtype=torch.float64)
    assert isinstance(systems, list)
    assert len(systems) == 2
    _check_system(systems[0], first, torch.float64)
    _check_system(systems[1], second, torch.float64)

    assert systems_to_torch([]) == []


@pytest.mark.parametrize("positions_requires_grad", [True, False])
@pytest.mark.parametrize("cell_requires_grad", [True, False])
def test_systems_to_torch_requires_grad(positions_requires_grad, cell_requires_grad):
    system = systems_to_torch(
        _atoms(),
        dtype=torch.float64,
        positions_requires_grad=positions_requires_grad,
        cell_requires_grad=cell_requires_grad,
    )
    assert system.positions.requires_grad == positions_requires_grad
    assert system.cell.requires_grad == cell_requires_grad
    # leaf tensors, which get gradients
    assert system.positions.is_leaf
    assert system.cell.is_leaf


def test_systems_to_torch_non_periodic():
    message = (
        "the cell vectors of non-periodic directions are not zero in these atoms, "
        "they are set to zero in the system"
    )
    atoms = _atoms(pbc=[True, False, True])
    with pytest.warns(UserWarning, match=re.escape(message)) as record:
        system = systems_to_torch(atoms, dtype=torch.float64)
    _check_system(system, atoms, torch.float64)
    assert system.cell[1].tolist() == [0.0, 0.0, 0.0]
    assert record[0].filename == __file__
    # the atoms are unchanged
    np.testing.assert_array_equal(atoms.cell.array, np.array(_utils.CELL))

    with pytest.warns(UserWarning, match=re.escape(message)) as record:
        systems = systems_to_torch([_atoms(), atoms], dtype=torch.float64)
    assert systems[1].cell[1].tolist() == [0.0, 0.0, 0.0]
    assert record[0].filename == __file__

    # no warning when the cell rows are already zero
    atoms = _atoms(pbc=False)
    atoms.cell = np.zeros((3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        system = systems_to_torch(atoms, dtype=torch.float64)
    assert str(system) == "System with 4 atoms, non periodic"


@pytest.mark.skipif(not HAS_CUDA, reason="CUDA is not available")
def test_systems_to_torch_device():
    system = systems_to_torch(_atoms(), device="cuda", positions_requires_grad=True)
    assert system.device.type == "cuda"
    assert system.types.device.type == "cuda"
    assert system.pbc.device.type == "cuda"
    assert system.positions.is_leaf
