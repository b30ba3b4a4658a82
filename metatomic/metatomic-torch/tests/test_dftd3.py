"""DFTD3: the D3(BJ) dispersion wrapper, against the references computed by
tad-dftd3 and s-dftd3 (``data/dftd3.json``, from
``scripts/dftd3_test_references.py``), finite differences, units, options,
export and errors"""

import json
import os
from typing import Dict, List, Optional

import numpy as np
import pytest
import torch
import vesin
from _utils import (
    NEIGHBOR_SAMPLE_NAMES,
    PairPotential,
    add_neighbors,
    atomistic_model,
    energy_output,
    labels,
    labels_range,
    metadata,
    neighbors,
    system,
)
from test_export import BLOCKED, _run

import metatomic.torch as mta
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelEvaluationOptions,
    ModelOutput,
    NeighborListOptions,
    System,
    register_autograd_neighbors,
    unit_conversion_factor,
)
from metatomic.torch.dftd3 import DFTD3, default_d3_params, functional_names

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.[a-z]*` is deprecated")

with open(os.path.join(os.path.dirname(__file__), "data", "dftd3.json")) as _file:
    REFERENCES = json.load(_file)

BOHR = unit_conversion_factor("bohr", "angstrom")
HARTREE = unit_conversion_factor("hartree", "eV")
# D3(BJ) parameters of PBE, in bohr for a2
PBE = {"s6": 1.0, "s8": 0.7875, "a1": 0.4289, "a2": 4.4407}
# small cutoffs (in angstrom) for the 4-atom system of `_utils.system`, more
# than 0.01 angstrom away from all its distances
CUTOFF = 6.0
CN_CUTOFF = 4.5


# ==================================================================================== #
#                                       helpers                                        #
# ==================================================================================== #


# the constant non-conservative outputs of `NonConservative`
FORCE = 0.25
STRESS = -0.125


class NonConservative(torch.nn.Module):
    """The energy of :py:class:`PairPotential`, with constant non-conservative
    forces (``FORCE`` per component) and stress (``STRESS`` per component)"""

    def __init__(self, cutoff: float, epsilon: float):
        super().__init__()
        self.pair = PairPotential(cutoff=cutoff, epsilon=epsilon)
        self._force = FORCE
        self._stress = STRESS

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        results = self.pair(systems, outputs, selected_atoms)
        device = systems[0].device
        dtype = systems[0].dtype
        keys = Labels(["_"], torch.tensor([[0]], device=device))
        if "non_conservative_force" in outputs:
            samples: List[List[int]] = []
            for i, system in enumerate(systems):
                for atom in range(len(system)):
                    samples.append([i, atom])
            atoms = torch.tensor(samples, device=device).reshape(-1, 2)
            if selected_atoms is not None:
                selected = selected_atoms.values.to(device)
                kept: List[int] = []
                for row in range(atoms.shape[0]):
                    if bool(torch.any(torch.all(selected == atoms[row], dim=1))):
                        kept.append(row)
                atoms = atoms[torch.tensor(kept, dtype=torch.int64, device=device)]
            block = TensorBlock(
                torch.full((atoms.shape[0], 3, 1), self._force, dtype=dtype),
                Labels(["system", "atom"], atoms.to(torch.int32)),
                [Labels(["xyz"], torch.tensor([[0], [1], [2]], device=device))],
                Labels(["non_conservative_force"], torch.tensor([[0]], device=device)),
            )
            results["non_conservative_force"] = TensorMap(keys, [block])
        if "non_conservative_stress" in outputs:
            xyz = torch.tensor([[0], [1], [2]], device=device)
            block = TensorBlock(
                torch.full((len(systems), 3, 3, 1), self._stress, dtype=dtype),
                Labels(
                    ["system"],
                    torch.arange(
                        len(systems), device=device, dtype=torch.int32
                    ).reshape(-1, 1),
                ),
                [Labels(["xyz_1"], xyz), Labels(["xyz_2"], xyz)],
                Labels(["non_conservative_stress"], torch.tensor([[0]], device=device)),
            )
            results["non_conservative_stress"] = TensorMap(keys, [block])
        return results


def nc_model(
    energy_unit="eV", length_unit="angstrom", cutoff=3.0, epsilon=0.4, dtype="float64"
) -> AtomisticModel:
    """:py:class:`NonConservative` in an AtomisticModel"""
    force = f"({energy_unit})/({length_unit})"
    stress = f"({energy_unit})/({length_unit})^3"
    outputs = {
        "energy": energy_output("atom", energy_unit),
        "non_conservative_force": ModelOutput(unit=force, sample_kind="atom"),
        "non_conservative_stress": ModelOutput(unit=stress),
    }
    return atomistic_model(
        NonConservative(cutoff, epsilon),
        outputs=outputs,
        length_unit=length_unit,
        interaction_range=cutoff,
        dtype=dtype,
    )


def wrapped_model(model=None, **kwargs) -> AtomisticModel:
    """``model`` (by default :py:func:`nc_model`) with D3(PBE) and small cutoffs"""
    if model is None:
        model = nc_model()
    options = {"damping_params": PBE, "cutoff": CUTOFF, "cn_cutoff": CN_CUTOFF}
    options.update(kwargs)
    return DFTD3.wrap(model, **options)


def prepared(model, reference: System) -> System:
    """``reference`` (in angstrom) with the neighbor lists ``model`` needs"""
    for options in model.requested_neighbor_lists():
        if options in reference.known_neighbor_lists():
            continue
        engine = NeighborListOptions(
            options.engine_cutoff("angstrom"), options.full_list, options.strict
        )
        block = neighbors(reference, engine)
        register_autograd_neighbors(reference, block)
        reference.add_neighbor_list(options, block)
    return reference


def run(model, systems, outputs=("energy",), sample_kind="system", **kwargs):
    """The values of ``outputs`` (in eV, eV/Å and eV/Å^3) for ``systems``"""
    units = {
        "energy": "eV",
        "non_conservative_force": "eV/A",
        "non_conservative_stress": "eV/A^3",
    }
    kinds = {
        "energy": sample_kind,
        "non_conservative_force": "atom",
        "non_conservative_stress": "system",
    }
    requests = {
        name: ModelOutput(unit=units[name], sample_kind=kinds[name]) for name in outputs
    }
    options = ModelEvaluationOptions("angstrom", requests, kwargs.pop("selected", None))
    results = model(systems, options, kwargs.pop("check_consistency", True))
    return {name: results[name].block().values for name in outputs}


def vesin_neighbors(reference: System, options):
    """Add the neighbor list for ``options`` to ``reference``, computed by vesin
    (for the large default cutoffs)"""
    calculator = vesin.NeighborList(cutoff=options.cutoff, full_list=options.full_list)
    i, j, S = calculator.compute(
        reference.positions.detach().numpy(),
        reference.cell.detach().numpy(),
        reference.pbc.numpy(),
        "ijS",
    )
    samples = np.hstack([i[:, None], j[:, None], S]).astype(np.int32)
    samples = torch.tensor(samples).reshape(-1, 5)
    pairs = samples.to(torch.int64)
    vectors = (
        reference.positions.detach()[pairs[:, 1]]
        - reference.positions.detach()[pairs[:, 0]]
        + pairs[:, 2:].to(reference.dtype) @ reference.cell.detach()
    )
    block = TensorBlock(
        vectors.reshape(-1, 3, 1),
        Labels(NEIGHBOR_SAMPLE_NAMES, samples),
        [labels_range("xyz", 3)],
        labels_range("distance", 1),
    )
    register_autograd_neighbors(reference, block)
    reference.add_neighbor_list(options, block)


def zero_model(atomic_types) -> AtomisticModel:
    """A model whose energy is zero, for the types ``atomic_types``"""
    return atomistic_model(
        PairPotential(epsilon=0.0),
        atomic_types=atomic_types,
        outputs={"energy": energy_output("atom")},
    )


# ==================================================================================== #
#                           values: tad-dftd3 and s-dftd3                              #
# ==================================================================================== #

# relative agreement with each package: tad-dftd3 uses the same formulas, s-dftd3
# sums in another order and differentiates by hand
TOLERANCES = {"tad-dftd3": 1e-12, "dftd3": 1e-7}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_reference_values(name):
    data = REFERENCES[name]
    model = DFTD3.wrap(
        zero_model(sorted(set(data["numbers"]))),
        damping_params=data["functional"],
        cutoff=data["cutoff"] * BOHR,
        cn_cutoff=data["cn_cutoff"] * BOHR,
    )
    pbc = torch.tensor(data["pbc"])
    strain = torch.eye(3, dtype=torch.float64, requires_grad=True)
    positions = torch.tensor(data["positions"], dtype=torch.float64) * BOHR
    positions.requires_grad_(True)
    cell = torch.tensor(data["cell"], dtype=torch.float64) * BOHR
    reference = System(
        torch.tensor(data["numbers"]), positions @ strain, cell @ strain, pbc
    )
    for options in model.requested_neighbor_lists():
        vesin_neighbors(reference, options)

    energies = run(model, [reference], sample_kind="atom")["energy"].reshape(-1)
    energies.sum().backward()
    energies = energies.detach()

    assert data["references"], "no reference values"
    for package, expected in data["references"].items():
        tolerance = TOLERANCES[package.split()[0]]
        energy = expected["energy"] * HARTREE
        assert abs(float(energies.sum()) - energy) <= tolerance * abs(energy)
        np.testing.assert_allclose(
            energies.numpy(),
            np.array(expected["energies"]) * HARTREE,
            rtol=0,
            atol=tolerance * abs(energy),
        )
        gradient = np.array(expected["gradient"]) * HARTREE / BOHR
        np.testing.assert_allclose(
            positions.grad.numpy(),
            gradient,
            rtol=0,
            atol=tolerance * np.abs(gradient).max(),
        )
        if "virial" in expected:
            virial = np.array(expected["virial"]) * HARTREE
            np.testing.assert_allclose(
                strain.grad.numpy(),
                virial,
                rtol=0,
                atol=tolerance * np.abs(virial).max(),
            )


def test_references_cover_the_options():
    # the stored references exercise what the tests above claim
    packages = {p.split()[0] for d in REFERENCES.values() for p in d["references"]}
    assert packages == {"tad-dftd3", "dftd3"}
    pbc = [tuple(d["pbc"]) for d in REFERENCES.values()]
    assert (True, True, True) in pbc and (False, False, False) in pbc
    assert (True, True, False) in pbc
    assert any(d["cutoff"] != 60.0 for d in REFERENCES.values())
    assert len({d["functional"] for d in REFERENCES.values()}) >= 4


# ==================================================================================== #
#                       adding to the outputs of the wrapped model                     #
# ==================================================================================== #


def _dispersion_only(**kwargs) -> AtomisticModel:
    """D3(PBE) alone, with the cutoffs of :py:func:`wrapped_model`"""
    return wrapped_model(zero_model([1, 8]), **kwargs)


def test_energy_is_added():
    inner = nc_model()
    model = wrapped_model(inner)
    dispersion = _dispersion_only()
    reference = prepared(model, system())
    prepared(dispersion, reference)

    for sample_kind in ("system", "atom"):
        total = run(model, [reference], sample_kind=sample_kind)["energy"]
        alone = run(dispersion, [reference], sample_kind=sample_kind)["energy"]
        before = run(inner, [reference], sample_kind=sample_kind)["energy"]
        torch.testing.assert_close(total, before + alone)
        assert torch.all(alone < 0.0)

    # per-atom energies add up to the energy of the system
    per_atom = run(dispersion, [reference], sample_kind="atom")["energy"]
    per_system = run(dispersion, [reference])["energy"]
    torch.testing.assert_close(per_atom.sum(), per_system.sum())


def test_selected_atoms():
    model = wrapped_model()
    reference = prepared(model, system())
    everything = run(model, [reference], sample_kind="atom")["energy"].reshape(-1)

    selected = labels(["system", "atom"], [[0, 1], [0, 3]])
    per_atom = run(model, [reference], sample_kind="atom", selected=selected)
    torch.testing.assert_close(per_atom["energy"].reshape(-1), everything[[1, 3]])
    per_system = run(model, [reference], selected=selected)["energy"]
    torch.testing.assert_close(per_system.reshape(-1), everything[[1, 3]].sum(0, True))

    forces = run(model, [reference], ("non_conservative_force",), selected=selected)
    all_forces = run(model, [reference], ("non_conservative_force",))
    torch.testing.assert_close(
        forces["non_conservative_force"],
        all_forces["non_conservative_force"][[1, 3]],
    )


def test_several_systems():
    model = wrapped_model()
    first = prepared(model, system())
    second = prepared(model, system(pbc=(True, False, False)))
    outputs = ("energy", "non_conservative_force", "non_conservative_stress")
    together = run(model, [first, second], outputs, sample_kind="atom")
    alone = [run(model, [s], outputs, sample_kind="atom") for s in (first, second)]
    for name in outputs:
        torch.testing.assert_close(
            together[name], torch.cat([alone[0][name], alone[1][name]])
        )
    # the dispersion stress is only added to periodic systems
    stress = together["non_conservative_stress"]
    assert not torch.allclose(stress[0], torch.full_like(stress[0], STRESS))
    torch.testing.assert_close(stress[1], torch.full_like(stress[1], STRESS))


def _dispersion_forces_and_virial(model):
    """Forces and virial of the energy of ``model`` from autograd"""
    strain = torch.eye(3, dtype=torch.float64, requires_grad=True)
    reference = system(positions_requires_grad=True)
    positions = reference.positions
    strained_system = System(
        reference.types, positions @ strain, reference.cell @ strain, reference.pbc
    )
    prepared(model, strained_system)
    run(model, [strained_system])["energy"].sum().backward()
    return -positions.grad, strain.grad


def test_non_conservative_outputs():
    model = wrapped_model()
    reference = prepared(model, system())
    outputs = ("non_conservative_force", "non_conservative_stress")
    values = run(model, [reference], outputs)
    forces, virial = _dispersion_forces_and_virial(_dispersion_only())

    # the constant outputs of the wrapped model, plus the dispersion
    force = values["non_conservative_force"].reshape(-1, 3)
    torch.testing.assert_close(force - FORCE, forces)
    volume = torch.abs(torch.linalg.det(reference.cell))
    stress = values["non_conservative_stress"].reshape(3, 3)
    torch.testing.assert_close(stress - STRESS, virial / volume)
    # the net force of the dispersion is zero
    torch.testing.assert_close(forces.sum(0), torch.zeros(3, dtype=torch.float64))


def test_forces_and_stress_match_finite_differences():
    model = _dispersion_only()
    forces, virial = _dispersion_forces_and_virial(model)

    def energy(positions, cell):
        reference = system()
        shifted = System(reference.types, positions, cell, reference.pbc)
        return float(run(model, [prepared(model, shifted)])["energy"].sum())

    reference = system()
    delta = 1e-5
    for atom in range(len(reference)):
        for xyz in range(3):
            step = torch.zeros_like(reference.positions)
            step[atom, xyz] = delta
            plus = energy(reference.positions + step, reference.cell)
            minus = energy(reference.positions - step, reference.cell)
            expected = -(plus - minus) / (2 * delta)
            assert abs(float(forces[atom, xyz]) - expected) < 1e-8

    for a in range(3):
        for b in range(3):
            step = torch.eye(3, dtype=torch.float64)
            step[a, b] += delta
            plus = energy(reference.positions @ step, reference.cell @ step)
            step[a, b] -= 2 * delta
            minus = energy(reference.positions @ step, reference.cell @ step)
            expected = (plus - minus) / (2 * delta)
            assert abs(float(virial[a, b]) - expected) < 1e-8


def test_no_gradients_needed():
    model = wrapped_model()
    reference = prepared(model, system())
    outputs = ("energy", "non_conservative_force", "non_conservative_stress")
    expected = run(model, [reference], outputs)
    with torch.no_grad():
        values = run(model, [reference], outputs)
        # the mode is restored after computing the forces
        assert not torch.is_grad_enabled()
    for name in outputs:
        assert not values[name].requires_grad
        torch.testing.assert_close(values[name], expected[name].detach())

    # when positions require gradients, the energy keeps its graph
    reference = prepared(model, system(positions_requires_grad=True))
    values = run(model, [reference], outputs)
    assert values["energy"].requires_grad
    assert not values["non_conservative_force"].requires_grad


def test_units():
    # the same physics with a model in nm and kJ/mol: cutoffs are in nm
    in_nm = wrapped_model(
        nc_model("kJ/mol", "nm", cutoff=0.3, epsilon=0.0),
        cutoff=CUTOFF / 10,
        cn_cutoff=CN_CUTOFF / 10,
    )
    in_angstrom = wrapped_model(nc_model(epsilon=0.0))
    assert in_nm.requested_neighbor_lists()[0].cutoff == pytest.approx(CUTOFF / 10)
    range_ = in_nm.capabilities().interaction_range
    assert range_ == pytest.approx((CUTOFF + CN_CUTOFF) / 10)

    outputs = ("energy", "non_conservative_force", "non_conservative_stress")
    reference = prepared(in_angstrom, system())
    expected = run(in_angstrom, [reference], outputs, sample_kind="atom")
    # the constant outputs of the wrapped models are in their own units
    expected["non_conservative_force"] -= FORCE
    expected["non_conservative_stress"] -= STRESS

    values = run(in_nm, [prepared(in_nm, system())], outputs, sample_kind="atom")
    force = unit_conversion_factor("kJ/mol/nm", "eV/A")
    stress = unit_conversion_factor("kJ/mol/nm^3", "eV/A^3")
    values["non_conservative_force"] -= FORCE * force
    values["non_conservative_stress"] -= STRESS * stress
    for name in outputs:
        torch.testing.assert_close(values[name], expected[name])


def test_default_cutoffs():
    model = DFTD3.wrap(zero_model([1, 8]), damping_params="pbe")
    options = max(model.requested_neighbor_lists(), key=lambda o: o.cutoff)
    assert options.cutoff == pytest.approx(60 * BOHR)
    assert not options.full_list and options.strict
    assert model.capabilities().interaction_range == pytest.approx(100 * BOHR)

    # in the model's length unit
    nm = DFTD3.wrap(
        atomistic_model(PairPotential(epsilon=0.0), length_unit="nm"),
        damping_params="pbe",
    )
    cutoffs = [o.cutoff for o in nm.requested_neighbor_lists()]
    assert max(cutoffs) == pytest.approx(6 * BOHR)
    assert nm.capabilities().interaction_range == pytest.approx(10 * BOHR)


def test_cutoffs():
    # pairs further than `cutoff` do not contribute to the energy, pairs
    # further than `cn_cutoff` not to the coordination numbers: a pair of atoms
    # at 3 angstrom, and a third one at 5 angstrom from the second
    def energy(**kwargs):
        model = _dispersion_only(**kwargs)
        reference = System(
            torch.tensor([8, 8, 1]),
            torch.tensor(
                [[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [8.0, 0.0, 0.0]],
                dtype=torch.float64,
            ),
            torch.zeros((3, 3), dtype=torch.float64),
            torch.zeros(3, dtype=torch.bool),
        )
        return run(model, [prepared(model, reference)], sample_kind="atom")["energy"]

    everything = energy(cutoff=9.0, cn_cutoff=9.0)
    near = energy(cutoff=4.0, cn_cutoff=9.0)
    assert float(near[2]) == 0.0 and float(everything[2]) < 0.0
    # the coordination number of the second atom counts the third one when it
    # is within `cn_cutoff`
    torch.testing.assert_close(
        energy(cutoff=4.0, cn_cutoff=4.5), energy(cutoff=4.0, cn_cutoff=4.9)
    )
    assert not torch.equal(
        energy(cutoff=4.0, cn_cutoff=4.5), energy(cutoff=4.0, cn_cutoff=5.5)
    )
    torch.testing.assert_close(energy(cutoff=4.0, cn_cutoff=5.5), near)


def test_no_pairs():
    model = wrapped_model()
    far_apart = System(
        torch.tensor([1, 8]),
        torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 20.0]], dtype=torch.float64),
        torch.zeros((3, 3), dtype=torch.float64),
        torch.zeros(3, dtype=torch.bool),
    )
    outputs = ("energy", "non_conservative_force")
    values = run(model, [prepared(model, far_apart)], outputs, sample_kind="atom")
    torch.testing.assert_close(
        values["energy"], torch.zeros((2, 1), dtype=torch.float64)
    )
    forces = values["non_conservative_force"]
    torch.testing.assert_close(forces, torch.full_like(forces, FORCE))


def test_excluded_atom_types():
    # an atom of an excluded type changes nothing
    model = _dispersion_only()
    reference = prepared(model, system())
    expected = run(model, [reference], sample_kind="atom")["energy"]

    inner = zero_model([1, 6, 8])
    excluded = wrapped_model(inner, excluded_atom_types=[6])
    positions = torch.vstack(
        [system().positions, torch.tensor([[1.0, 1.0, 1.0]], dtype=torch.float64)]
    )
    with_carbon = System(
        torch.tensor([1, 1, 8, 8, 6]), positions, system().cell, system().pbc
    )
    values = run(excluded, [prepared(excluded, with_carbon)], sample_kind="atom")
    torch.testing.assert_close(values["energy"][:4], expected)
    assert float(values["energy"][4]) == 0.0

    # types without reference data can be excluded
    dummy = wrapped_model(zero_model([0, 1, 8]), excluded_atom_types=[0])
    with_dummy = System(
        torch.tensor([1, 1, 8, 8, 0]), positions, system().cell, system().pbc
    )
    values = run(dummy, [prepared(dummy, with_dummy)], sample_kind="atom")
    torch.testing.assert_close(values["energy"][:4], expected)


def test_float32():
    model = wrapped_model(nc_model(dtype="float32"))
    expected = run(wrapped_model(), [prepared(model, system())], sample_kind="atom")
    reference = prepared(model, system(dtype=torch.float32))
    values = run(model, [reference], sample_kind="atom")["energy"]
    assert values.dtype == torch.float32
    torch.testing.assert_close(values.double(), expected["energy"], rtol=1e-5, atol=0)


# ==================================================================================== #
#                                      parameters                                      #
# ==================================================================================== #


def _energy_with(**kwargs) -> torch.Tensor:
    model = _dispersion_only(**kwargs)
    return run(model, [prepared(model, system())], sample_kind="atom")["energy"]


def test_damping_params():
    expected = _energy_with(damping_params=PBE)
    torch.testing.assert_close(_energy_with(damping_params="pbe"), expected)
    torch.testing.assert_close(_energy_with(damping_params="PBE"), expected)
    # s6 is 1.0 by default
    no_s6 = {key: value for key, value in PBE.items() if key != "s6"}
    torch.testing.assert_close(_energy_with(damping_params=no_s6), expected)
    # numpy and 0-d tensors are numbers too
    values = {"s8": np.float32(0.7875), "a1": torch.tensor(0.4289), "a2": 4.4407}
    torch.testing.assert_close(_energy_with(damping_params=values), expected)

    # aliases and spellings of functional names
    torch.testing.assert_close(
        _energy_with(damping_params="PBEh"), _energy_with(damping_params="pbe0")
    )
    torch.testing.assert_close(
        _energy_with(damping_params="B3-LYP"), _energy_with(damping_params="b3lyp")
    )
    assert not torch.allclose(_energy_with(damping_params="b3lyp"), expected)

    names = functional_names()
    assert "pbe" in names and "r2scan" in names and len(names) > 100


def test_d3_params():
    expected = _energy_with()
    params = default_d3_params()
    torch.testing.assert_close(_energy_with(d3_params=params), expected)
    # both terms of the energy are proportional to C6
    params["c6_reference"] = 2 * params["c6_reference"]
    torch.testing.assert_close(_energy_with(d3_params=params), 2 * expected)

    shapes = {name: list(table.shape) for name, table in default_d3_params().items()}
    assert shapes == {
        "c6_reference": [104, 104, 7, 7],
        "cn_reference": [104, 7],
        "r4r2": [104],
        "covalent_radii": [104],
    }


def test_wrapped_capabilities_and_metadata():
    inner = nc_model()
    model = wrapped_model(inner)
    capabilities = model.capabilities()
    assert capabilities.interaction_range == CUTOFF + CN_CUTOFF
    assert capabilities.atomic_types == [1, 8]
    assert sorted(capabilities.outputs) == sorted(inner.capabilities().outputs)
    stress = inner.capabilities().outputs["non_conservative_stress"]
    assert capabilities.outputs["non_conservative_stress"].unit == stress.unit

    # the energy has no explicit gradients once wrapped
    with_gradients = atomistic_model(
        outputs={"energy": ModelOutput(unit="eV", explicit_gradients=["positions"])}
    )
    energy = wrapped_model(with_gradients).capabilities().outputs["energy"]
    assert energy.explicit_gradients == []
    assert energy.unit == "eV"

    # the wrapped interaction range is kept when it is longer
    long_range = atomistic_model(interaction_range=50.0)
    assert wrapped_model(long_range).capabilities().interaction_range == 50.0

    references = model.metadata().references["model"]
    assert references == [
        "https://doi.org/10.1063/1.3382344",
        "https://doi.org/10.1002/jcc.21759",
    ]
    assert model.metadata().name == metadata().name
    twice = wrapped_model(model)
    assert twice.metadata().references["model"] == references


# ==================================================================================== #
#                                  saving and loading                                  #
# ==================================================================================== #


def _exported_model() -> AtomisticModel:
    # with max(cutoff, cn_cutoff) = 3.0, the dispersion uses the neighbor list of
    # the pair potential, as `BLOCKED` expects
    return wrapped_model(cutoff=3.0, cn_cutoff=2.5)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("dftd3") / "d3.pt"
    _exported_model().save(str(path))
    return str(path)


def test_save_and_load(exported):
    model = _exported_model()
    loaded = mta.load_atomistic_model(exported)
    outputs = ("energy", "non_conservative_force", "non_conservative_stress")
    reference = prepared(model, system())
    expected = run(model, [reference], outputs, sample_kind="atom")
    values = run(loaded, [reference], outputs, sample_kind="atom")
    for name in outputs:
        torch.testing.assert_close(values[name], expected[name])
    references = mta.read_model_metadata(exported).references["model"]
    assert references[-1] == "https://doi.org/10.1002/jcc.21759"


def test_runs_without_our_packages(exported, tmp_path):
    model = _exported_model()
    assert len(model.requested_neighbor_lists()) == 1
    reference = system(positions_requires_grad=True)
    (block,) = [add_neighbors(reference, o) for o in model.requested_neighbor_lists()]
    energies = run(model, [reference], sample_kind="atom")["energy"]
    energies.sum().backward()
    dispersion = run(_dispersion_only(cutoff=3.0, cn_cutoff=2.5), [reference])
    assert float(dispersion["energy"].detach().sum()) < 0.0

    inputs = tmp_path / "inputs.pt"
    torch.save(
        {
            "types": reference.types,
            "positions": reference.positions.detach(),
            "cell": reference.cell,
            "pbc": reference.pbc,
            "pairs": block.samples.values.to(torch.int64),
        },
        inputs,
    )
    outputs = tmp_path / "outputs.pt"
    result = _run(BLOCKED, exported, str(inputs), str(outputs), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[(3.0, False, True)]", "[]"]
    computed = torch.load(outputs)
    torch.testing.assert_close(computed["energies"], 1000 * energies.detach())
    torch.testing.assert_close(computed["forces"], -1000 * reference.positions.grad)


def test_wrap_loaded_model(tmp_path):
    path = str(tmp_path / "inner.pt")
    nc_model().save(path)
    outputs = ("energy", "non_conservative_force", "non_conservative_stress")
    expected_model = wrapped_model()
    reference = prepared(expected_model, system())
    expected = run(expected_model, [reference], outputs, sample_kind="atom")

    loaded = mta.load_atomistic_model(path)
    for inner in (loaded, torch.jit.load(path)):
        model = wrapped_model(inner)
        values = run(model, [reference], outputs, sample_kind="atom")
        for name in outputs:
            torch.testing.assert_close(values[name], expected[name])


# ==================================================================================== #
#                                        errors                                        #
# ==================================================================================== #


def test_model_errors():
    with pytest.raises(TypeError, match="`model` must be an AtomisticModel"):
        DFTD3(PairPotential(), damping_params=PBE)

    forces_only = atomistic_model(
        outputs={"non_conservative_force": ModelOutput(unit="eV/A", sample_kind="atom")}
    )
    message = "DFTD3 needs a model with an 'energy' output, this model has the outputs"
    with pytest.raises(ValueError, match=message):
        wrapped_model(forces_only)

    with pytest.raises(ValueError, match="DFTD3 needs the length unit of the model"):
        wrapped_model(atomistic_model(length_unit=""))
    with pytest.warns(UserWarning, match="the output 'energy' has no unit"):
        no_unit = atomistic_model(outputs={"energy": ModelOutput()})
    with pytest.raises(ValueError, match="unit of the model's 'energy' output"):
        wrapped_model(no_unit)

    message = r"no D3 reference data for the atomic type\(s\) \[0, 200\]"
    with pytest.raises(ValueError, match=message):
        wrapped_model(zero_model([0, 1, 200]))


def test_damping_params_errors():
    with pytest.raises(TypeError, match="required keyword-only argument"):
        DFTD3.wrap(nc_model())
    with pytest.raises(ValueError, match=r"missing key\(s\) \['a1'\]"):
        wrapped_model(damping_params={"s8": 0.7875, "a2": 4.4407})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['alp', 's9'\]"):
        wrapped_model(damping_params={**PBE, "s9": 1.0, "alp": 14.0})
    with pytest.raises(TypeError, match="must be a dict or the name of a functional"):
        wrapped_model(damping_params=[1.0, 0.7875, 0.4289, 4.4407])
    with pytest.raises(TypeError, match=r"`damping_params\['a1'\]` must be a number"):
        wrapped_model(damping_params={**PBE, "a1": "0.4"})
    with pytest.raises(TypeError, match=r"`damping_params\['s8'\]` must be a number"):
        wrapped_model(damping_params={**PBE, "s8": True})
    with pytest.raises(
        ValueError, match=r"`damping_params\['a2'\]` must be a finite number, got nan"
    ):
        wrapped_model(damping_params={**PBE, "a2": float("nan")})
    with pytest.raises(ValueError, match="unknown functional 'pbe-d4' in"):
        wrapped_model(damping_params="pbe-d4")


def test_d3_params_errors():
    with pytest.raises(TypeError, match="`d3_params` must be a dict of tensors"):
        wrapped_model(d3_params=[1.0])
    params = default_d3_params()
    del params["r4r2"]
    with pytest.raises(ValueError, match="`d3_params` must have exactly the keys"):
        wrapped_model(d3_params=params)

    params = default_d3_params()
    params["r4r2"] = params["r4r2"][:50]
    message = r"`d3_params\['r4r2'\]` must have the shape \[104\]"
    with pytest.raises(ValueError, match=message):
        wrapped_model(d3_params=params)

    params = default_d3_params()
    params["cn_reference"] = params["cn_reference"].to(torch.int32)
    message = r"`d3_params\['cn_reference'\]` must be a floating point tensor with 2"
    with pytest.raises(ValueError, match=message):
        wrapped_model(d3_params=params)

    # elements without references have no data
    params = default_d3_params()
    params["cn_reference"][8] = -1.0
    with pytest.raises(ValueError, match=r"no D3 reference data .* \[8\]"):
        wrapped_model(d3_params=params)


def test_cutoff_errors():
    for name in ("cutoff", "cn_cutoff"):
        for value in (-1.0, 0.0, float("inf")):
            message = f"`{name}` must be a positive number .*'angstrom'"
            with pytest.raises(ValueError, match=message):
                wrapped_model(**{name: value})
        with pytest.raises(TypeError, match=f"`{name}` must be a number, got str"):
            wrapped_model(**{name: "3.0"})


def test_excluded_atom_types_errors():
    message = r"excluded atom type 6 is not one of the atomic types of the model"
    with pytest.raises(ValueError, match=message):
        wrapped_model(excluded_atom_types=[6])
    with pytest.raises(TypeError, match="must be a list of integers"):
        wrapped_model(excluded_atom_types=[1.0])
    with pytest.raises(ValueError, match="all the atomic types of the model are in"):
        wrapped_model(excluded_atom_types=[1, 8])


def test_explicit_gradients_refused():
    model = wrapped_model()
    reference = prepared(model, system())
    request = ModelOutput(unit="eV", explicit_gradients=["positions"])
    options = ModelEvaluationOptions("angstrom", {"energy": request})
    with pytest.raises(ValueError, match="DFTD3 does not compute explicit gradients"):
        model([reference], options, check_consistency=False)
