"""Wrapping models loaded from a file (``WeightedSum``, ``HeatFlux``, ``DFTD3``),
saving the wrapped models and running them, also in a process that can not
import our packages, and wrapping them again"""

import zipfile

import numpy as np
import pytest
import torch
from _utils import PairPotential, atomistic_model, system
from test_dftd3 import nc_model, prepared, run, wrapped_model
from test_export import BLOCKED, _run
from test_heat_flux import heat_flux, make_system
from test_weighted_sum import BLOCKED_MIX, _system, _values, variants_model

import metatomic.torch as mta
from metatomic.torch.dftd3 import DFTD3
from metatomic.torch.heat_flux import HeatFlux
from metatomic.torch.weighted_sum import WeightedSum

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.[a-z]*` is deprecated")

WEIGHTS = {"energy/a": 0.25, "energy/b": 0.75}


def _saved(model, path) -> str:
    model.save(str(path))
    return str(path)


def _blocked_inputs(reference, pairs, path) -> str:
    """The tensors of ``reference`` with the ``pairs`` of its neighbor list,
    saved at ``path`` for the scripts run without our packages"""
    torch.save(
        {
            "types": reference.types,
            "positions": reference.positions.detach(),
            "cell": reference.cell,
            "pbc": reference.pbc,
            "pairs": pairs.to(torch.int64),
        },
        path,
    )
    return str(path)


def test_weighted_sum(tmp_path):
    path = _saved(variants_model(), tmp_path / "variants.pt")
    expected = _values(
        WeightedSum.wrap(variants_model(), "energy/mix", WEIGHTS), "energy/mix", "atom"
    )

    # from load_atomistic_model, and from torch.jit.load
    for i, loaded in enumerate([mta.load_atomistic_model(path), torch.jit.load(path)]):
        mixed = WeightedSum.wrap(loaded, "energy/mix", WEIGHTS)
        again = _saved(mixed, tmp_path / f"mixed-{i}.pt")
        reloaded = mta.load_atomistic_model(again)
        assert reloaded.capabilities().outputs["energy/mix"].unit == "eV"
        torch.testing.assert_close(_values(reloaded, "energy/mix", "atom"), expected)

    # in a process that can not import our packages
    reference = _system()
    block = reference.get_neighbor_list(PairPotential().requested_neighbor_lists()[0])
    inputs = _blocked_inputs(reference, block.samples.values, tmp_path / "inputs.pt")
    outputs = tmp_path / "outputs.pt"
    result = _run(BLOCKED_MIX, again, inputs, str(outputs), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    computed = torch.load(outputs)
    torch.testing.assert_close(computed["energy/mix"], 1000 * expected)


def test_dftd3(tmp_path):
    # with max(cutoff, cn_cutoff) = 3.0, the dispersion uses the neighbor list
    # of the pair potential, as `BLOCKED` expects
    options = {"cutoff": 3.0, "cn_cutoff": 2.5}
    expected_model = wrapped_model(**options)
    outputs = ("energy", "non_conservative_force", "non_conservative_stress")
    reference = prepared(expected_model, system(positions_requires_grad=True))
    expected = run(expected_model, [reference], outputs, sample_kind="atom")

    loaded = mta.load_atomistic_model(_saved(nc_model(), tmp_path / "inner.pt"))
    again = _saved(wrapped_model(loaded, **options), tmp_path / "d3.pt")
    values = run(mta.load_atomistic_model(again), [reference], outputs, "atom")
    for name in outputs:
        torch.testing.assert_close(values[name], expected[name])

    # in a process that can not import our packages
    expected["energy"].sum().backward()
    (neighbors,) = reference.known_neighbor_lists()
    pairs = reference.get_neighbor_list(neighbors).samples.values
    inputs = _blocked_inputs(reference, pairs, tmp_path / "inputs.pt")
    result = _run(BLOCKED, again, inputs, str(tmp_path / "out.pt"), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[(3.0, False, True)]", "[]"]
    computed = torch.load(tmp_path / "out.pt")
    torch.testing.assert_close(computed["energies"], 1000 * expected["energy"].detach())
    forces = -1000 * reference.positions.grad
    torch.testing.assert_close(computed["forces"], forces)


@pytest.fixture(scope="module")
def heat_flux_file(tmp_path_factory):
    """A HeatFlux wrapper around a loaded pair potential, saved"""
    directory = tmp_path_factory.mktemp("wrap-loaded")
    loaded = mta.load_atomistic_model(_saved(atomistic_model(), directory / "pp.pt"))
    return _saved(HeatFlux.wrap(loaded), directory / "heat-flux.pt")


def test_heat_flux(heat_flux_file):
    expected = heat_flux(HeatFlux.wrap(atomistic_model()), make_system())
    reloaded = mta.load_atomistic_model(heat_flux_file)
    assert sorted(reloaded.requested_inputs(True)) == ["mass", "velocity"]
    np.testing.assert_allclose(heat_flux(reloaded, make_system()), expected, rtol=1e-12)


def test_wrap_again(heat_flux_file, tmp_path):
    # a file holding a wrapper around a loaded model, wrapped and saved again
    options = {"damping_params": "pbe", "cutoff": 3.0, "cn_cutoff": 2.5}
    eager = DFTD3.wrap(HeatFlux.wrap(atomistic_model()), **options)
    loaded = mta.load_atomistic_model(heat_flux_file)
    path = _saved(DFTD3.wrap(loaded, **options), tmp_path / "d3.pt")
    with zipfile.ZipFile(path) as archive:
        nested = [n for n in archive.namelist() if n.count("/___rehomed_") == 2]
    assert any(name.endswith("/_utils.py") for name in nested)

    reloaded = mta.load_atomistic_model(path)
    results = []
    for model in (eager, reloaded):
        assert sorted(model.capabilities().outputs) == ["energy", "heat_flux"]
        reference = make_system()
        flux = heat_flux(model, reference)
        energy = run(model, [reference], sample_kind="atom")["energy"]
        results.append((flux, energy))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
    torch.testing.assert_close(results[1][1], results[0][1])


def test_same_model_twice(tmp_path):
    path = _saved(variants_model(), tmp_path / "variants.pt")
    loaded = mta.load_atomistic_model(path)
    a = _values(variants_model(), "energy/a", "atom")
    b = _values(variants_model(), "energy/b", "atom")
    for i, weights in enumerate([WEIGHTS, {"energy/a": 2.0, "energy/b": -1.0}]):
        mixed = WeightedSum.wrap(loaded, "energy/mix", weights)
        again = mta.load_atomistic_model(_saved(mixed, tmp_path / f"mixed-{i}.pt"))
        expected = weights["energy/a"] * a + weights["energy/b"] * b
        torch.testing.assert_close(_values(again, "energy/mix", "atom"), expected)

    # the loaded model itself is unchanged
    again = mta.load_atomistic_model(_saved(loaded, tmp_path / "again.pt"))
    assert "energy/mix" not in again.capabilities().outputs
    torch.testing.assert_close(_values(again, "energy/a", "atom"), a)
