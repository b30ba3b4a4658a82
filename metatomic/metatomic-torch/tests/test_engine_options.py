"""Unit tests of the helpers shared by the Python engines (metatomic-ase and
metatomic-torchsim, whose tests check the behaviour through the engines): what
they take as parameters (the engine's name, the folders a warning skips)"""

import importlib
import os
import sys
import warnings

import numpy as np
import pytest
import torch

from metatensor.torch import Labels, TensorBlock
from metatomic.torch import ModelCapabilities, ModelOutput
from metatomic.torch._engine_options import (
    check_arguments,
    choose_outputs,
    model_dtype,
    package_folders,
    resolve_variants,
    uncertainty_message,
    warn,
)


def test_package_folders():
    (folder,) = package_folders("metatomic.torch")
    assert folder.endswith(os.path.join("metatomic", "torch", ""))
    assert os.path.isfile(os.path.join(folder, "_engine_options.py"))


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """A module calling ``warn`` from the folder ``tmp_path/engine``"""
    folder = tmp_path / "engine"
    folder.mkdir()
    (folder / "__init__.py").write_text(
        "from metatomic.torch._engine_options import warn\n"
        "def run(skip):\n"
        "    warn('something to say', skip)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("engine")
    sys.modules.pop("engine")


def test_warn_skips_folders(engine):
    with pytest.warns(UserWarning, match="something to say") as record:
        engine.run(package_folders("engine"))
    assert record[0].filename == __file__

    # without skipping the engine, the warning points at it
    with pytest.warns(UserWarning, match="something to say") as record:
        engine.run(())
    assert record[0].filename == engine.__file__

    # the frames of the helpers themselves are always skipped
    with pytest.warns(DeprecationWarning, match="other") as record:
        warn("other", (), DeprecationWarning)
    assert record[0].filename == __file__


def test_resolve_variants_names_the_engine():
    message = r"the variants of \['x'\] are ignored: SomeEngine only uses"
    with pytest.warns(UserWarning, match=message) as record:
        variants = resolve_variants({"x": "a", "energy": "b"}, "SomeEngine", ())
    assert record[0].filename == __file__
    assert variants.given == {"x", "energy"}
    assert variants.chosen == {
        "energy": "b",
        "energy_uncertainty": "b",
        "non_conservative_force": "b",
        "non_conservative_stress": "b",
    }

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        variants = resolve_variants(None, "SomeEngine", ())
    assert variants.given == frozenset()
    assert set(variants.chosen.values()) == {None}


def _arguments(**kwargs):
    """``check_arguments`` of the engine "SomeEngine", with default arguments"""
    arguments = {
        "check_consistency": False,
        "device": None,
        "variants": None,
        "non_conservative": False,
        "uncertainty_threshold": 0.1,
        "neighbor_skin": 2.0,
        "additional_outputs": None,
    }
    arguments.update(kwargs)
    return check_arguments("SomeEngine", (), **arguments)


def test_check_arguments():
    output = ModelOutput(unit="eV")
    arguments = _arguments(
        check_consistency=np.bool_(True),
        device=torch.device("cpu"),
        neighbor_skin=np.int64(0),
        uncertainty_threshold=None,
        additional_outputs={"features": output},
    )
    assert arguments.check_consistency is True
    assert arguments.device == "cpu"
    assert arguments.neighbor_skin == 0.0 and isinstance(arguments.neighbor_skin, float)
    assert arguments.uncertainty_threshold is None
    assert arguments.additional_outputs == {"features": output}
    assert _arguments().additional_outputs == {}
    assert _arguments().device is None

    with pytest.raises(TypeError, match="`neighbor_skin` must be a number, got None"):
        _arguments(neighbor_skin=None)
    message = r"must be positive \(or None to disable the uncertainty check\), got 0"
    with pytest.raises(ValueError, match=message):
        _arguments(uncertainty_threshold=0)


def _uncertainties(values, systems):
    samples = torch.tensor(
        [[s, a] for s, count in enumerate(systems) for a in range(count)],
        dtype=torch.int32,
    )
    return TensorBlock(
        torch.tensor(values, dtype=torch.float32).reshape(-1, 1),
        Labels(["system", "atom"], samples),
        [],
        Labels(["energy"], torch.tensor([[0]], dtype=torch.int32)),
    )


def test_uncertainty_message():
    block = _uncertainties([0.05, 0.2, 0.3, 0.01], [2, 2])
    assert uncertainty_message(block, 0.5, by_atom=False) == ""

    expected = (
        "the energy uncertainty of some atoms is above the threshold of 0.1 eV, the "
        "predictions may be unreliable: (system, atom) (0, 1), (1, 0) (maximal "
        "uncertainty: 0.3 eV)"
    )
    assert uncertainty_message(block, 0.1, by_atom=False) == expected

    block = _uncertainties([0.0] + [1.0] * 11, [12])
    message = uncertainty_message(block, 0.1, by_atom=True)
    assert "unreliable: atoms 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... (11 in total)" in (
        message
    )


def test_engine_names_in_errors():
    outputs = {"features": ModelOutput()}
    with pytest.raises(ValueError, match="no 'energy' output, which SomeEngine needs"):
        choose_outputs(outputs, _arguments(), needs_energy="SomeEngine")
    # the energy is optional by default
    arguments = _arguments(additional_outputs={"features": ModelOutput()})
    assert choose_outputs(outputs, arguments) == (None, None, None, None)

    # capabilities without dtype
    capabilities = ModelCapabilities(length_unit="angstrom", dtype="")
    with pytest.raises(ValueError, match="dtype '', which SomeEngine does not"):
        model_dtype(capabilities, "SomeEngine")
    capabilities = ModelCapabilities(length_unit="angstrom", dtype="float32")
    assert model_dtype(capabilities, "SomeEngine") is torch.float32
