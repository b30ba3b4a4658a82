"""``metatomic.torch.heat_flux.HeatFlux``: the heat flux of a pair potential
against finite differences of the energy current, for non-periodic and periodic
systems, options, errors, exported models and the ASE calculator.

Velocities are in angstrom/fs, masses in dalton, energies in eV and the heat
flux in eV*angstrom/fs, unless said otherwise.
"""

import itertools

import numpy as np
import pytest
import torch
from _utils import (
    CELL,
    POSITIONS,
    TYPES,
    PairPotential,
    add_neighbors,
    atomistic_model,
    labels,
    labels_range,
    mass_data,
    neighbors,
    pair_energy_reference,
)

import metatomic.torch as mta
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    ModelEvaluationOptions,
    ModelOutput,
    System,
    unit_conversion_factor,
)
from metatomic.torch._heat_flux_unfold import unfold
from metatomic.torch._neighbors import pair_vectors
from metatomic.torch.heat_flux import HeatFlux

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.[a-z]*` is deprecated")

MASSES = np.array([1.008, 1.008, 15.999, 15.999])
# eV => u*A^2/fs^2
EV = unit_conversion_factor("eV", "u*A^2/fs^2")

VELOCITIES = np.array(
    [
        [0.031, -0.052, 0.017],
        [-0.044, 0.013, 0.061],
        [0.008, 0.021, -0.012],
        [-0.015, -0.006, 0.019],
    ]
)


def velocity_data(velocities, unit="A/fs") -> TensorMap:
    """Per-atom velocities (of system 0) in the ``velocity`` layout of SPEC §2"""
    velocities = torch.as_tensor(velocities, dtype=torch.float64)
    n_atoms = velocities.shape[0]
    block = TensorBlock(
        values=velocities.reshape(n_atoms, 3, 1),
        samples=labels(["system", "atom"], [[0, a] for a in range(n_atoms)]),
        components=[labels_range("xyz", 3)],
        properties=labels_range("velocity", 1),
    )
    tensor = TensorMap(labels("_", [[0]]), [block])
    tensor.set_info("unit", unit)
    return tensor


def make_system(positions=POSITIONS, pbc=(True, True, True)) -> System:
    """The 4-atom test system, at ``positions``"""
    pbc = torch.tensor(pbc)
    cell = torch.tensor(CELL, dtype=torch.float64)
    cell[~pbc] = 0.0
    return System(
        torch.tensor(TYPES, dtype=torch.int32),
        torch.as_tensor(positions, dtype=torch.float64),
        cell,
        pbc,
    )


def heat_flux(model, system, velocities=VELOCITIES, selected_atoms=None, **kwargs):
    """The heat flux computed by ``model`` (an AtomisticModel with the
    ``heat_flux`` output), in eV*A/fs"""
    for options in model.requested_neighbor_lists():
        if options not in system.known_neighbor_lists():
            add_neighbors(system, options)
    system.add_data("velocity", velocity_data(velocities, **kwargs))
    system.add_data("mass", mass_data(system))
    options = ModelEvaluationOptions(
        length_unit="angstrom",
        outputs={"heat_flux": ModelOutput(unit="eV*A/fs")},
        selected_atoms=selected_atoms,
    )
    block = model([system], options, check_consistency=True)["heat_flux"].block()
    assert block.values.shape == (1, 3, 1)
    assert block.samples.names == ["system"]
    assert block.components[0].names == ["xyz"]
    assert block.properties.names == ["heat_flux"]
    return block.values.reshape(3).numpy()


def energies(positions, pbc=(True, True, True), cutoff=3.0) -> np.ndarray:
    """Per-atom energies of the pair potential at ``positions`` (the first atoms
    of the test system, or a non-periodic cluster), from the direct formula"""
    positions = np.asarray(positions)
    system = System(
        torch.tensor((TYPES * len(positions))[: len(positions)], dtype=torch.int32),
        torch.tensor(positions),
        torch.tensor(CELL, dtype=torch.float64) * torch.tensor(pbc).reshape(3, 1),
        torch.tensor(pbc),
    )
    return pair_energy_reference(system, cutoff=cutoff)


def kinetic(velocities):
    """Kinetic energy of each atom, in eV"""
    return 0.5 * MASSES * np.sum(velocities**2, axis=1) / EV


def derivative(function, step):
    """Central finite difference of ``function(t)`` at ``t = 0``"""
    return (function(step) - function(-step)) / (2 * step)


def test_non_periodic_energy_current():
    """For a non-periodic system, the heat flux is the time derivative of the
    energy barycenter ``sum_i r_i (E_i + m_i v_i^2 / 2)`` along the (Newtonian)
    trajectory ``r(t) = r + v t + F/(2m) t^2``, ``v(t) = v + F/m t``"""
    pbc = (False, False, False)
    model = HeatFlux.wrap(atomistic_model())
    computed = heat_flux(model, make_system(pbc=pbc))

    positions = np.array(POSITIONS)
    forces = np.zeros_like(positions)
    for atom, k in itertools.product(range(4), range(3)):
        shift = np.zeros_like(positions)
        shift[atom, k] = 1e-5
        forces[atom, k] = -derivative(
            lambda t, shift=shift: energies(positions + shift * t / 1e-5, pbc).sum(),
            1e-5,
        )
    accelerations = forces * EV / MASSES[:, None]

    def barycenter(t):
        r = positions + VELOCITIES * t + 0.5 * accelerations * t**2
        v = VELOCITIES + accelerations * t
        return np.sum(r * (energies(r, pbc) + kinetic(v))[:, None], axis=0)

    expected = derivative(barycenter, 2e-4)
    assert np.linalg.norm(expected) > 1e-3
    np.testing.assert_allclose(computed, expected, rtol=1e-7, atol=1e-9)


def cluster(n_shifts):
    """The atoms of the periodic test system with all their replicas up to
    ``n_shifts`` cells away (the cell atoms first), and the atom each one
    replicates"""
    positions = [np.array(POSITIONS)]
    for shift in itertools.product(range(-n_shifts, n_shifts + 1), repeat=3):
        if any(shift):
            positions.append(np.array(POSITIONS) + np.array(shift) @ np.array(CELL))
    origin = np.tile(np.arange(4), len(positions))
    return np.concatenate(positions), origin


@pytest.mark.parametrize("cutoff, full_list", [(3.0, False), (5.0, True)])
def test_periodic_finite_differences(cutoff, full_list):
    """For a periodic system, with ``C`` the atoms of the cell and ``U`` all
    their replicas (an explicit cluster built here, large enough for the cell
    atoms to have their periodic energies ``E_i``), the heat flux is

        J = sum_{i in C} (E_i + m_i v_i^2 / 2) v_i
            + sum_{i in C} r_i dE_i/dt - sum_{j in U} r_j (dU_C/dr_j . v_j)

    where ``dE_i/dt`` is the derivative of the periodic per-atom energies along
    ``r(t) = r + v t`` (the energy current), and the last term is the derivative
    of ``U_C = sum_{i in C} E_i`` (computed on the cluster) when each atom j of
    the cluster moves by ``r_j,a v_j`` (for each direction a). Both derivatives
    are finite differences of energies from the direct formula."""
    potential = PairPotential(cutoff=cutoff, full_list=full_list)
    model = HeatFlux.wrap(atomistic_model(potential, interaction_range=cutoff))
    computed = heat_flux(model, make_system())

    positions = np.array(POSITIONS)
    E = energies(positions, cutoff=cutoff)
    convective = np.sum((E + kinetic(VELOCITIES))[:, None] * VELOCITIES, axis=0)
    current = derivative(
        lambda t: energies(positions + VELOCITIES * t, cutoff=cutoff), 1e-4
    )
    potential_part = positions.T @ current

    unfolded, origin = cluster(n_shifts=3 if cutoff > 4 else 2)
    np.testing.assert_allclose(
        energies(unfolded, (False,) * 3, cutoff)[:4], E, rtol=1e-12
    )

    def cell_energy(displacement):
        return energies(unfolded + displacement, (False,) * 3, cutoff)[:4].sum()

    velocities = VELOCITIES[origin]
    for a in range(3):
        moved = unfolded[:, a : a + 1] * velocities
        potential_part[a] -= derivative(lambda t, d=moved: cell_energy(d * t), 1e-5)

    expected = convective + potential_part
    assert np.linalg.norm(potential_part) > 1e-3
    np.testing.assert_allclose(computed, expected, rtol=1e-6, atol=1e-9)


def test_periodic_images_and_units():
    model = HeatFlux.wrap(atomistic_model())
    reference = heat_flux(model, make_system())

    # atoms moved by lattice vectors (positions not wrapped in the cell), with
    # the neighbor list of the wrapped positions where the shift of each pair
    # (i, j, S) becomes S + n_i - n_j
    moves = torch.tensor([[0, 0, 0], [1, 0, 0], [0, -2, 1], [-1, 1, 0]])
    cell = torch.tensor(CELL, dtype=torch.float64)
    positions = torch.tensor(POSITIONS, dtype=torch.float64)
    system = make_system(positions + moves.to(torch.float64) @ cell)
    options = PairPotential().requested_neighbor_lists()[0]
    wrapped = neighbors(make_system(), options)
    samples = wrapped.samples.values.clone()
    samples[:, 2:] += moves[samples[:, 0]] - moves[samples[:, 1]]
    block = TensorBlock(
        pair_vectors(system.positions, system.cell, samples).reshape(-1, 3, 1),
        Labels(wrapped.samples.names, samples),
        wrapped.components,
        wrapped.properties,
    )
    torch.testing.assert_close(block.values, wrapped.values)
    system.add_neighbor_list(options, block)
    computed = heat_flux(model, system)
    assert not np.allclose(system.positions.numpy(), POSITIONS)
    np.testing.assert_allclose(computed, reference, rtol=1e-10, atol=1e-12)

    # velocities given in the units of ASE, the result in other units
    system = make_system()
    add_neighbors(system, PairPotential().requested_neighbor_lists()[0])
    ase_velocity = unit_conversion_factor("A/fs", "(eV/u)^(1/2)")
    system.add_data(
        "velocity", velocity_data(VELOCITIES * ase_velocity, "(eV/u)^(1/2)")
    )
    system.add_data("mass", mass_data(system))
    options = ModelEvaluationOptions(
        length_unit="angstrom",
        outputs={"heat_flux": ModelOutput(unit="J*m/s")},
    )
    values = model([system], options, False)["heat_flux"].block().values
    factor = unit_conversion_factor("eV*A/fs", "J*m/s")
    np.testing.assert_allclose(
        values.reshape(3).numpy(), factor * reference, rtol=1e-10
    )


def test_selected_atoms_and_lists():
    model = HeatFlux.wrap(atomistic_model())
    total = heat_flux(model, make_system())

    first = labels(["system", "atom"], [[0, 0], [0, 2]])
    second = labels(["system", "atom"], [[0, 1], [0, 3]])
    parts = heat_flux(model, make_system(), selected_atoms=first) + heat_flux(
        model, make_system(), selected_atoms=second
    )
    np.testing.assert_allclose(parts, total, rtol=1e-10, atol=1e-12)

    # with a full neighbor list, the same energies give the same heat flux
    full = HeatFlux.wrap(atomistic_model(PairPotential(full_list=True)))
    np.testing.assert_allclose(heat_flux(full, make_system()), total, rtol=1e-10)

    # no velocity, no flux
    np.testing.assert_allclose(
        heat_flux(model, make_system(), np.zeros((4, 3))), np.zeros(3), atol=1e-14
    )


def test_unfold():
    positions = torch.tensor(POSITIONS, dtype=torch.float64)
    cell = torch.tensor(CELL, dtype=torch.float64)
    for pbc in [(True, True, True), (True, False, True), (False, False, False)]:
        pbc = torch.tensor(pbc)
        cell_pbc = cell * pbc.reshape(3, 1)
        origin, shifts = unfold(positions, cell_pbc, pbc, 3.0)
        assert torch.equal(origin[:4], torch.arange(4))
        assert torch.all(shifts[:4] == 0)
        assert torch.all(shifts[:, ~pbc] == 0)
        replicas = positions[origin] + shifts.to(torch.float64) @ cell_pbc
        distances = torch.cdist(replicas, positions).min(dim=1).values
        assert torch.all(distances <= 3.0)

        # every replica closer than the cutoff is there
        expected = 0
        for shift in itertools.product(range(-3, 4), repeat=3):
            shift = torch.tensor(shift)
            if torch.any(shift[~pbc] != 0):
                continue
            images = positions + shift.to(torch.float64) @ cell_pbc
            expected += int(
                torch.sum(torch.cdist(images, positions).min(1).values <= 3.0)
            )
        assert origin.shape[0] == expected


def test_no_grad_and_other_outputs():
    model = HeatFlux.wrap(atomistic_model())
    reference = heat_flux(model, make_system())

    system = make_system()
    add_neighbors(system, PairPotential().requested_neighbor_lists()[0])
    system.add_data("velocity", velocity_data(VELOCITIES))
    system.add_data("mass", mass_data(system))
    options = ModelEvaluationOptions(
        length_unit="angstrom",
        outputs={
            "heat_flux": ModelOutput(unit="eV*A/fs"),
            "energy": ModelOutput(unit="eV", sample_kind="atom"),
        },
    )
    with torch.no_grad():
        results = model([system], options, True)
        assert not torch.is_grad_enabled()
    assert sorted(results) == ["energy", "heat_flux"]
    np.testing.assert_allclose(
        results["heat_flux"].block().values.reshape(3), reference
    )
    np.testing.assert_allclose(
        results["energy"].block().values.reshape(4), energies(POSITIONS), rtol=1e-12
    )


def test_capabilities_and_errors():
    model = HeatFlux.wrap(atomistic_model())
    output = model.capabilities().outputs["heat_flux"]
    assert output.unit == "eV*angstrom/fs"
    assert output.sample_kind == "system"
    assert "energy" in model.capabilities().outputs
    inputs = model.requested_inputs(use_new_names=True)
    assert sorted(inputs) == ["mass", "velocity"]
    assert inputs["velocity"].unit == "angstrom/fs"
    assert inputs["mass"].unit == "u"
    assert (
        "https://doi.org/10.1063/5.0155760"
        in (model.metadata().references["implementation"])
    )
    assert atomistic_model().metadata().references.get("implementation") is None

    nm = HeatFlux.wrap(atomistic_model(length_unit="nm", interaction_range=0.3))
    assert nm.capabilities().outputs["heat_flux"].unit == "eV*nm/fs"

    with pytest.raises(TypeError, match="`model` must be an AtomisticModel"):
        HeatFlux(PairPotential())
    with pytest.raises(ValueError, match="needs a model with per-atom energies"):
        HeatFlux.wrap(atomistic_model(outputs={"energy": ModelOutput(unit="eV")}))
    with pytest.raises(ValueError, match="needs a model with per-atom energies"):
        HeatFlux.wrap(
            atomistic_model(
                outputs={
                    "energy/pbe": ModelOutput(
                        unit="eV", sample_kind="atom", description="pbe"
                    )
                }
            )
        )
    with pytest.raises(
        ValueError, match="needs a model with a finite `interaction_range`"
    ):
        HeatFlux.wrap(atomistic_model(interaction_range=float("inf")))
    with pytest.raises(ValueError, match="its 'energy' output unit \\(''\\)"):
        with pytest.warns(UserWarning, match="has no unit"):
            HeatFlux.wrap(
                atomistic_model(outputs={"energy": ModelOutput(sample_kind="atom")})
            )
    with pytest.raises(ValueError, match="already has a 'heat_flux' output"):
        HeatFlux.wrap(model)

    system = make_system()
    add_neighbors(system, PairPotential().requested_neighbor_lists()[0])
    options = ModelEvaluationOptions(
        length_unit="angstrom",
        outputs={"heat_flux": ModelOutput(unit="eV*A/fs", sample_kind="atom")},
    )
    with pytest.raises(ValueError, match="only available per system"):
        model([system], options, False)
    options.outputs["heat_flux"].sample_kind = "system"
    with pytest.raises(ValueError, match="no data named 'velocity'"):
        model([system], options, False)


def test_export_and_loaded_models(tmp_path):
    reference = heat_flux(HeatFlux.wrap(atomistic_model()), make_system())

    path = str(tmp_path / "heat-flux.pt")
    HeatFlux.wrap(atomistic_model()).save(path)
    loaded = mta.load_atomistic_model(path)
    assert sorted(loaded.requested_inputs(True)) == ["mass", "velocity"]
    np.testing.assert_allclose(heat_flux(loaded, make_system()), reference, rtol=1e-12)

    # wrapping a model loaded from a file
    path = str(tmp_path / "pair.pt")
    atomistic_model().save(path)
    wrapped = HeatFlux.wrap(mta.load_atomistic_model(path))
    np.testing.assert_allclose(heat_flux(wrapped, make_system()), reference, rtol=1e-12)


def test_ase_calculator():
    ase = pytest.importorskip("ase")
    from metatomic_ase import MetatomicCalculator

    model = HeatFlux.wrap(atomistic_model())
    request = ModelOutput(unit="eV*A/fs", sample_kind="system")
    calculator = MetatomicCalculator(model, additional_outputs={"heat_flux": request})

    atoms = ase.Atoms(TYPES, positions=POSITIONS, cell=CELL, pbc=True)
    atoms.set_masses(MASSES)
    # ASE's velocity unit, with our value of the constants (ASE's differ by 1e-8)
    atoms.set_velocities(VELOCITIES * unit_conversion_factor("A/fs", "(eV/u)^(1/2)"))
    atoms.calc = calculator
    atoms.get_potential_energy()
    values = calculator.additional_outputs["heat_flux"].block().values
    expected = heat_flux(model, make_system())
    np.testing.assert_allclose(values.reshape(3).numpy(), expected, rtol=1e-10)
