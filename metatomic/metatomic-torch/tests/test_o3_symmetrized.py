"""SymmetrizedModel (metatomic.torch.o3): a model that is not equivariant becomes
invariant and equivariant, an invariant one is unchanged; options, errors, and
the symmetrized model saved, reloaded, and run without our packages"""

import math
from typing import Dict, List, Optional

import pytest
import torch
from _utils import (
    CUTOFF,
    PairPotential,
    add_neighbors,
    atomistic_model,
    evaluation_options,
    labels,
    metadata,
)
from _utils import system as make_system
from test_export import BLOCKED, _run

import metatomic.torch as mta
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    ModelEvaluationOptions,
    ModelOutput,
    NeighborListOptions,
    System,
)
from metatomic.torch.o3 import SymmetrizedModel, random_transformations

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.[a-z]*` is deprecated")


def _single_block(
    values: torch.Tensor, samples: Labels, components: List[Labels], name: str
) -> TensorMap:
    device = values.device
    block = TensorBlock(
        values, samples, components, Labels([name], torch.tensor([[0]], device=device))
    )
    return TensorMap(Labels(["_"], torch.tensor([[0]], device=device)), [block])


def _mu(o3_lambda: int, device: torch.device) -> Labels:
    values = torch.arange(-o3_lambda, o3_lambda + 1, device=device, dtype=torch.int32)
    return Labels(["o3_mu"], values.reshape(-1, 1))


def _xyz(name: str, device: torch.device) -> Labels:
    return Labels(
        [name], torch.arange(3, device=device, dtype=torch.int32).reshape(-1, 1)
    )


class AnisotropicModel(torch.nn.Module):
    """A model that is neither invariant nor equivariant, with a dependence on
    the orientation of angular momentum up to 3 (polynomials of degree 3 in the
    pair directions ``u``, with fixed vectors ``a``, ``b``, ``c``):

    * ``energy`` (per atom) ``sum_j φ(r) (1 + a·u + (b·u)² + (c·u)³)``, plus a
      pseudo-scalar ``κ det[r_1 - r_0, r_2 - r_0, r_3 - r_0]`` shared by the atoms;
    * ``non_conservative_force``: ``sum_j φ(r) (u + (a·u) b)``;
    * ``non_conservative_stress``: ``sum_ij φ(r) (u u^T + (a·u)² 1)``;
    * ``test::spherical``: per atom, blocks (λ=1, σ=1) ``sum_j φ(r) Y_1(u) (1 +
      c·u)`` and (λ=2, σ=-1) ``sum_j φ(r) Y_2(u) (b·u)``, with two properties.
    """

    def __init__(self, pseudo_scalar: float = 0.0):
        super().__init__()
        self._options = NeighborListOptions(cutoff=CUTOFF, full_list=True, strict=True)
        # (buffers: in TorchScript, `torch.tensor` of a list of floats goes
        # through float32)
        self.register_buffer("_a", torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64))
        self.register_buffer("_b", torch.tensor([0.1, 0.4, -0.3], dtype=torch.float64))
        self.register_buffer(
            "_c", torch.tensor([-0.25, 0.15, 0.35], dtype=torch.float64)
        )
        self._kappa = pseudo_scalar
        self._cutoff = CUTOFF

    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        return [self._options]

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        if len(systems) == 0:
            return {}
        device = systems[0].device
        dtype = systems[0].dtype
        a = self._a.to(dtype=dtype, device=device)
        b = self._b.to(dtype=dtype, device=device)
        c = self._c.to(dtype=dtype, device=device)

        energies: List[torch.Tensor] = []
        forces: List[torch.Tensor] = []
        stresses: List[torch.Tensor] = []
        first_block: List[torch.Tensor] = []
        second_block: List[torch.Tensor] = []
        samples: List[torch.Tensor] = []
        for i, system in enumerate(systems):
            neighbors = system.get_neighbor_list(self._options)
            vectors = neighbors.values.reshape(-1, 3)
            distances = torch.linalg.vector_norm(vectors, dim=1)
            u = vectors / distances.reshape(-1, 1)
            phi = 0.5 * (torch.cos(math.pi * distances / self._cutoff) + 1.0)
            first = neighbors.samples.column("first_atom").to(torch.int64)
            n = len(system)
            zeros = torch.zeros(n, dtype=dtype, device=device)

            a_u = u @ a
            b_u = u @ b
            c_u = u @ c
            pair = phi * (1.0 + a_u + b_u**2 + c_u**3)
            atomic = zeros.index_add(0, first, pair)
            positions = system.positions
            frame = torch.stack(
                [
                    positions[1] - positions[0],
                    positions[2] - positions[0],
                    positions[3] - positions[0],
                ]
            )
            atomic = atomic + self._kappa * torch.linalg.det(frame) / n
            energies.append(atomic)

            force = u + a_u.reshape(-1, 1) * b.reshape(1, 3)
            force = phi.reshape(-1, 1) * force
            forces.append(
                torch.zeros((n, 3), dtype=dtype, device=device).index_add(
                    0, first, force
                )
            )

            eye = torch.eye(3, dtype=dtype, device=device)
            stress = u.reshape(-1, 3, 1) * u.reshape(-1, 1, 3)
            stress = stress + (a_u**2).reshape(-1, 1, 1) * eye
            stresses.append(
                (phi.reshape(-1, 1, 1) * stress).sum(dim=0).reshape(1, 3, 3)
            )

            x, y, z = u[:, 0], u[:, 1], u[:, 2]
            y1 = torch.stack([y, z, x], dim=1) * (phi * (1.0 + c_u)).reshape(-1, 1)
            s3 = math.sqrt(3.0)
            y2 = torch.stack(
                [
                    2 * s3 * x * y,
                    2 * s3 * y * z,
                    3 * z * z - 1,
                    2 * s3 * x * z,
                    s3 * (x * x - y * y),
                ],
                dim=1,
            ) * (phi * b_u).reshape(-1, 1)
            first_block.append(
                torch.zeros((n, 3), dtype=dtype, device=device).index_add(0, first, y1)
            )
            second_block.append(
                torch.zeros((n, 5), dtype=dtype, device=device).index_add(0, first, y2)
            )

            atoms = torch.arange(n, device=device)
            samples.append(torch.stack([torch.full_like(atoms, i), atoms], dim=1))

        atom_samples = Labels(["system", "atom"], torch.cat(samples).to(torch.int32))
        system_samples = Labels(
            ["system"],
            torch.arange(len(systems), device=device, dtype=torch.int32).reshape(-1, 1),
        )
        results: Dict[str, TensorMap] = {}
        no_components: List[Labels] = []
        if "energy" in outputs:
            values = torch.cat(energies).reshape(-1, 1)
            if outputs["energy"].sample_kind == "atom":
                tensor = _single_block(values, atom_samples, no_components, "energy")
            else:
                totals: List[torch.Tensor] = []
                for atomic in energies:
                    totals.append(atomic.sum().reshape(1, 1))
                tensor = _single_block(
                    torch.cat(totals), system_samples, no_components, "energy"
                )
            results["energy"] = _selected(tensor, selected_atoms)
        if "non_conservative_force" in outputs:
            values = torch.cat(forces).reshape(-1, 3, 1)
            results["non_conservative_force"] = _selected(
                _single_block(
                    values,
                    atom_samples,
                    [_xyz("xyz", device)],
                    "non_conservative_force",
                ),
                selected_atoms,
            )
        if "non_conservative_stress" in outputs:
            values = torch.cat(stresses).reshape(-1, 3, 3, 1)
            results["non_conservative_stress"] = _single_block(
                values,
                system_samples,
                [_xyz("xyz_1", device), _xyz("xyz_2", device)],
                "non_conservative_stress",
            )
        if "test::spherical" in outputs:
            blocks: List[TensorBlock] = []
            properties = Labels(["n"], torch.tensor([[0], [1]], device=device))
            for o3_lambda, parts in [(1, first_block), (2, second_block)]:
                values = torch.cat(parts).reshape(-1, 2 * o3_lambda + 1, 1)
                values = torch.cat([values, -2.0 * values], dim=2)
                blocks.append(
                    TensorBlock(
                        values, atom_samples, [_mu(o3_lambda, device)], properties
                    )
                )
            keys = Labels(
                ["o3_lambda", "o3_sigma"],
                torch.tensor([[1, 1], [2, -1]], device=device),
            )
            tensor = TensorMap(keys, blocks)
            tensor.set_info("origin", "anisotropic")
            results["test::spherical"] = tensor
        return results


def _selected(tensor: TensorMap, selected_atoms: Optional[Labels]) -> TensorMap:
    """Keep the samples of ``selected_atoms`` in a per-atom ``tensor``"""
    block = tensor.block_by_id(0)
    if selected_atoms is None or block.samples.names != ["system", "atom"]:
        return tensor
    keep = torch.zeros(len(block.samples), dtype=torch.bool, device=block.values.device)
    for i in range(len(selected_atoms)):
        keep = keep | torch.all(block.samples.values == selected_atoms.values[i], dim=1)
    samples = Labels(block.samples.names, block.samples.values[keep])
    return _single_block(
        block.values[keep], samples, block.components, block.properties.names[0]
    )


def _outputs(energy_gradients=()):
    """The outputs of :py:class:`AnisotropicModel`"""
    return {
        "energy": ModelOutput(
            unit="eV", sample_kind="atom", explicit_gradients=list(energy_gradients)
        ),
        "non_conservative_force": ModelOutput(unit="eV/A", sample_kind="atom"),
        "non_conservative_stress": ModelOutput(unit="eV/A^3", sample_kind="system"),
        "test::spherical": ModelOutput(sample_kind="atom"),
    }


OUTPUTS = _outputs()


def anisotropic_model(pseudo_scalar=0.0, energy_gradients=()):
    outputs = _outputs(energy_gradients)
    return atomistic_model(AnisotropicModel(pseudo_scalar), outputs=outputs)


def _system(positions_requires_grad=False, pbc=(True, True, True)):
    system = make_system(positions_requires_grad=positions_requires_grad, pbc=pbc)
    add_neighbors(system, AnisotropicModel().requested_neighbor_lists()[0])
    add_neighbors(system, PairPotential().requested_neighbor_lists()[0])
    return system


def _run_model(model, systems, names=tuple(OUTPUTS), selected_atoms=None, check=True):
    options = ModelEvaluationOptions(
        length_unit="angstrom",
        outputs={name: OUTPUTS[name] for name in names},
        selected_atoms=selected_atoms,
    )
    return model(systems, options, check)


def _transformed_values(transformations, index, tensor, inverse=False):
    return [
        block.values
        for block in transformations.transform_tensor_map(
            tensor, index, inverse
        ).blocks()
    ]


@pytest.fixture(scope="module")
def symmetrized():
    return SymmetrizedModel.wrap(
        anisotropic_model(), max_angular_momentum_target=2, l_max=3
    )


def test_symmetrized_outputs_are_equivariant(symmetrized):
    system = _system()
    reference = _run_model(symmetrized, [system])
    original = _run_model(anisotropic_model(), [system])

    transformations = random_transformations(
        2,
        2,
        device="cpu",
        dtype=torch.float64,
        add_inversions=True,
        generator=torch.Generator().manual_seed(1),
    )
    for i in range(len(transformations)):
        transformed = transformations.transform_system(system, i)
        computed = _run_model(symmetrized, [transformed])
        not_symmetrized = _run_model(anisotropic_model(), [transformed])
        for name in OUTPUTS:
            expected = _transformed_values(transformations, i, reference[name])
            values = [block.values for block in computed[name].blocks()]
            for value, target in zip(values, expected):
                torch.testing.assert_close(value, target, atol=1e-10, rtol=1e-10)
            # the wrapped model is not equivariant
            wrong = _transformed_values(transformations, i, original[name])
            new = [block.values for block in not_symmetrized[name].blocks()]
            assert max(float((v - w).abs().max()) for v, w in zip(new, wrong)) > 1e-3

    # metadata is kept
    assert reference["test::spherical"].keys == original["test::spherical"].keys
    assert reference["test::spherical"].info() == {"origin": "anisotropic"}
    for name in OUTPUTS:
        for block, expected in zip(reference[name].blocks(), original[name].blocks()):
            assert block.samples == expected.samples
            assert block.components == expected.components
            assert block.properties == expected.properties


def test_symmetrized_forces_from_autograd(symmetrized):
    system = _system(positions_requires_grad=True)
    energy = (
        _run_model(symmetrized, [system], ["energy"])["energy"].block().values.sum()
    )
    (forces,) = torch.autograd.grad(-energy, system.positions)

    transformations = random_transformations(
        1,
        device="cpu",
        dtype=torch.float64,
        add_inversions=True,
        generator=torch.Generator().manual_seed(2),
    )
    for matrix in transformations.matrices:
        positions = system.positions.detach() @ matrix.T
        transformed = System(
            system.types,
            positions.requires_grad_(True),
            system.cell @ matrix.T,
            system.pbc,
        )
        add_neighbors(transformed, AnisotropicModel().requested_neighbor_lists()[0])
        energy_i = (
            _run_model(symmetrized, [transformed], ["energy"])["energy"]
            .block()
            .values.sum()
        )
        torch.testing.assert_close(energy_i, energy, atol=1e-10, rtol=1e-10)
        (forces_i,) = torch.autograd.grad(-energy_i, transformed.positions)
        torch.testing.assert_close(forces_i, forces @ matrix.T, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_invariant_model_is_unchanged(dtype):
    model = atomistic_model(dtype=str(dtype).split(".")[1])
    wrapped = SymmetrizedModel.wrap(model, max_angular_momentum_target=0, l_max=2)
    system = make_system(dtype=dtype, positions_requires_grad=True)
    add_neighbors(system, PairPotential().requested_neighbor_lists()[0])
    options = evaluation_options("atom")
    energies = model([system], options, True)["energy"].block().values
    (forces,) = torch.autograd.grad(
        -energies.sum(), system.positions, retain_graph=True
    )
    symmetrized = wrapped([system], options, True)["energy"].block().values
    assert symmetrized.dtype == dtype
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(symmetrized, energies, atol=tolerance, rtol=tolerance)
    (symmetrized_forces,) = torch.autograd.grad(-symmetrized.sum(), system.positions)
    torch.testing.assert_close(
        symmetrized_forces, forces, atol=tolerance, rtol=tolerance
    )


def test_inversion():
    # a pseudo-scalar energy survives the average over rotations only, and
    # vanishes in the average over O(3)
    system = _system()
    rotations_only = SymmetrizedModel.wrap(
        anisotropic_model(pseudo_scalar=0.7),
        max_angular_momentum_target=0,
        include_inversion=False,
    )
    full = SymmetrizedModel.wrap(
        anisotropic_model(pseudo_scalar=0.7), max_angular_momentum_target=0
    )
    without = SymmetrizedModel.wrap(anisotropic_model(), max_angular_momentum_target=0)
    assert len(rotations_only.module.weights) * 2 == len(full.module.weights)

    def energy(model, system):
        return _run_model(model, [system], ["energy"])["energy"].block().values.sum()

    positions = system.positions
    frame = torch.stack(
        [
            positions[1] - positions[0],
            positions[2] - positions[0],
            positions[3] - positions[0],
        ]
    )
    pseudo_scalar = 0.7 * torch.linalg.det(frame)
    torch.testing.assert_close(
        energy(rotations_only, system), energy(without, system) + pseudo_scalar
    )
    torch.testing.assert_close(energy(full, system), energy(without, system))

    transformations = random_transformations(
        1,
        device="cpu",
        dtype=torch.float64,
        add_inversions=True,
        generator=torch.Generator().manual_seed(3),
    )
    rotated = transformations.transform_system(system, 0)
    inverted = transformations.transform_system(system, 1)
    torch.testing.assert_close(
        energy(rotations_only, rotated), energy(rotations_only, system)
    )
    torch.testing.assert_close(
        energy(rotations_only, inverted), energy(without, system) - pseudo_scalar
    )
    torch.testing.assert_close(energy(full, inverted), energy(full, system))


def test_rotational_std():
    model = anisotropic_model()
    wrapped = SymmetrizedModel.wrap(
        model, max_angular_momentum_target=2, store_rotational_std=True
    )
    outputs = wrapped.capabilities().outputs
    # (with the deprecated name of non_conservative_force)
    expected = list(OUTPUTS) + ["non_conservative_forces"]
    expected += [f"rotational_std::{name}" for name in OUTPUTS]
    assert sorted(outputs) == sorted(expected)
    assert outputs["rotational_std::energy"].unit == "eV"
    assert outputs["rotational_std::energy"].sample_kind == "atom"
    assert (
        "standard deviation of 'energy'"
        in outputs["rotational_std::energy"].description
    )

    system = _system()
    requests = {
        "energy": ModelOutput(unit="eV", sample_kind="system"),
        "rotational_std::energy": ModelOutput(unit="eV", sample_kind="system"),
        "rotational_std::non_conservative_force": ModelOutput(
            unit="eV/A", sample_kind="atom"
        ),
    }
    options = ModelEvaluationOptions(length_unit="angstrom", outputs=requests)
    results = wrapped([system], options, True)
    assert sorted(results) == sorted(requests)

    # the same from the quadrature, by hand
    transformations = wrapped.module.transformations
    weights = wrapped.module.weights
    energies = []
    forces = []
    for k in range(len(weights)):
        computed = _run_model(
            model,
            [transformations.transform_system(system, k)],
            ["energy", "non_conservative_force"],
        )
        energies.append(computed["energy"].block().values.sum())
        back = transformations.transform_tensor_map(
            computed["non_conservative_force"], k, inverse=True
        )
        forces.append(back.block().values)
    energies = torch.stack(energies)
    forces = torch.stack(forces)
    mean = (weights * energies).sum()
    torch.testing.assert_close(results["energy"].block().values.reshape(()), mean)
    std = torch.sqrt((weights * (energies - mean) ** 2).sum())
    torch.testing.assert_close(
        results["rotational_std::energy"].block().values.reshape(()), std
    )
    assert std > 1e-3
    mean_forces = torch.einsum("k,kaxp->axp", weights, forces)
    std_forces = torch.sqrt(
        torch.einsum("k,kaxp->axp", weights, (forces - mean_forces) ** 2)
    )
    torch.testing.assert_close(
        results["rotational_std::non_conservative_force"].block().values, std_forces
    )

    # an invariant model has no spread over rotations
    invariant = SymmetrizedModel.wrap(
        atomistic_model(), max_angular_momentum_target=0, store_rotational_std=True
    )
    requests = {"rotational_std::energy": ModelOutput(unit="eV", sample_kind="atom")}
    options = ModelEvaluationOptions(length_unit="angstrom", outputs=requests)
    std = invariant([system], options, True)["rotational_std::energy"].block().values
    assert std.shape == (4, 1)
    assert std.abs().max() < 1e-7

    with pytest.raises(ValueError, match="must be requested with the same sample kind"):
        wrapped.module(
            [system],
            {
                "energy": ModelOutput(sample_kind="atom"),
                "rotational_std::energy": ModelOutput(sample_kind="system"),
            },
            None,
        )


def test_batches_systems_and_selected_atoms(symmetrized):
    first = _system()
    second = _system(pbc=(False, False, False))
    reference = [_run_model(symmetrized, [first]), _run_model(symmetrized, [second])]

    for batch_size in (1, 37):
        model = SymmetrizedModel.wrap(
            anisotropic_model(), max_angular_momentum_target=2, batch_size=batch_size
        )
        computed = _run_model(model, [first, second])
        for name in OUTPUTS:
            for block, first_block, second_block in zip(
                computed[name].blocks(),
                reference[0][name].blocks(),
                reference[1][name].blocks(),
            ):
                n_first = len(first_block.samples)
                torch.testing.assert_close(block.values[:n_first], first_block.values)
                torch.testing.assert_close(block.values[n_first:], second_block.values)
                assert torch.all(block.samples.column("system")[n_first:] == 1)

    selected = labels(["system", "atom"], [[0, 1], [0, 3], [1, 2]])
    computed = _run_model(
        symmetrized, [first, second], ["energy", "non_conservative_force"], selected
    )
    for name in ("energy", "non_conservative_force"):
        block = computed[name].block()
        assert block.samples == selected
        torch.testing.assert_close(
            block.values[0], reference[0][name].block().values[1]
        )
        torch.testing.assert_close(
            block.values[1], reference[0][name].block().values[3]
        )
        torch.testing.assert_close(
            block.values[2], reference[1][name].block().values[2]
        )

    # no systems
    assert (
        len(_run_model(symmetrized, [], ["non_conservative_stress"], check=False)) == 0
    )


def test_capabilities_and_errors():
    model = anisotropic_model(energy_gradients=["positions"])
    wrapped = SymmetrizedModel.wrap(model, max_angular_momentum_target=2)
    assert str(wrapped.metadata()) == str(metadata())
    wrapped_capabilities = wrapped.capabilities()
    outputs = wrapped_capabilities.outputs
    assert sorted(outputs) == sorted(list(OUTPUTS) + ["non_conservative_forces"])
    assert outputs["energy"].explicit_gradients == []
    assert outputs["non_conservative_stress"].unit == "eV/A^3"
    assert wrapped_capabilities.length_unit == "angstrom"
    assert wrapped_capabilities.atomic_types == [1, 8]
    requests = wrapped.requested_neighbor_lists()
    assert len(requests) == 1
    assert "SymmetrizedModel.model" in requests[0].requestors()

    system = _system()
    with pytest.raises(
        ValueError, match="can not compute explicit gradients .*'energy'"
    ):
        wrapped.module(
            [system], {"energy": ModelOutput(explicit_gradients=["positions"])}, None
        )

    too_small = SymmetrizedModel.wrap(model, max_angular_momentum_target=1)
    message = (
        "the output 'non_conservative_stress' has angular momentum up to 2, more "
        "than max_angular_momentum_target=1 of this SymmetrizedModel"
    )
    with pytest.raises(ValueError, match=message):
        _run_model(too_small, [system], ["non_conservative_stress"])
    with pytest.raises(
        ValueError, match="'test::spherical' has angular momentum up to 2"
    ):
        _run_model(too_small, [system], ["test::spherical"])

    with pytest.raises(
        TypeError, match="`model` must be an AtomisticModel .*got _utils.PairPotential"
    ):
        SymmetrizedModel(PairPotential(), max_angular_momentum_target=0)
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument"):
        SymmetrizedModel(model)
    with pytest.raises(
        ValueError, match="`max_angular_momentum_target` must be at least 0, got -1"
    ):
        SymmetrizedModel(model, max_angular_momentum_target=-1)
    with pytest.raises(TypeError, match="`l_max` must be an integer, got float"):
        SymmetrizedModel(model, max_angular_momentum_target=0, l_max=2.0)
    with pytest.raises(ValueError, match="`batch_size` must be at least 1, got 0"):
        SymmetrizedModel(model, max_angular_momentum_target=0, batch_size=0)
    with pytest.raises(TypeError, match="`include_inversion` must be a bool, got int"):
        SymmetrizedModel(model, max_angular_momentum_target=0, include_inversion=1)
    with pytest.raises(
        TypeError, match="`store_rotational_std` must be a bool, got NoneType"
    ):
        SymmetrizedModel(
            model, max_angular_momentum_target=0, store_rotational_std=None
        )


class NoSystemSample(torch.nn.Module):
    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        values = torch.zeros((1, 1), dtype=torch.float64)
        samples = Labels(["structure"], torch.tensor([[0]]))
        return {"test::custom": _single_block(values, samples, [], "custom")}


def test_outputs_need_system_samples():
    model = atomistic_model(NoSystemSample(), outputs={"test::custom": ModelOutput()})
    wrapped = SymmetrizedModel.wrap(model, max_angular_momentum_target=0)
    options = ModelEvaluationOptions(outputs={"test::custom": ModelOutput()})
    with pytest.raises(
        ValueError, match="needs a 'system' sample dimension .*'test::custom'"
    ):
        wrapped([make_system()], options, False)


# ==================================================================================== #


@pytest.fixture(scope="module")
def saved(symmetrized, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("symmetrized") / "symmetrized.pt")
    symmetrized.save(path)
    return path


def test_save_and_load(symmetrized, saved):
    loaded = mta.load_atomistic_model(saved)
    assert isinstance(loaded.module, torch.jit.RecursiveScriptModule)
    outputs = loaded.capabilities().outputs
    assert outputs.keys() == symmetrized.capabilities().outputs.keys()

    system = _system()
    expected = _run_model(symmetrized, [system])
    computed = _run_model(loaded, [system])
    for name in OUTPUTS:
        for block, reference in zip(computed[name].blocks(), expected[name].blocks()):
            torch.testing.assert_close(
                block.values, reference.values, atol=1e-13, rtol=1e-13
            )
            assert block.samples == reference.samples


def test_runs_without_our_packages(tmp_path):
    # the energies and forces of the saved model in a process that can not import
    # our packages
    model = atomistic_model(
        AnisotropicModel(), outputs={"energy": _outputs()["energy"]}
    )
    symmetrized = SymmetrizedModel.wrap(model, max_angular_momentum_target=0, l_max=1)
    saved = str(tmp_path / "symmetrized.pt")
    symmetrized.save(saved)

    system = make_system(positions_requires_grad=True)
    options = AnisotropicModel().requested_neighbor_lists()[0]
    block = add_neighbors(system, options)
    energies = symmetrized([system], evaluation_options("atom", "meV"), False)
    energies = energies["energy"].block().values
    energies.sum().backward()

    inputs = tmp_path / "inputs.pt"
    torch.save(
        {
            "types": system.types,
            "positions": system.positions.detach(),
            "cell": system.cell,
            "pbc": system.pbc,
            "pairs": block.samples.values.to(torch.int64),
        },
        inputs,
    )
    outputs = tmp_path / "outputs.pt"
    result = _run(BLOCKED, saved, str(inputs), str(outputs), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"[({CUTOFF}, True, True)]", "[]"]
    computed = torch.load(outputs)
    torch.testing.assert_close(computed["energies"], energies.detach())
    torch.testing.assert_close(computed["forces"], -system.positions.grad)


def test_wrap_loaded_model(tmp_path):
    # the module of a loaded model is compiled against the classes of its file;
    # it is rebound to the classes of this process, so that the symmetrized model
    # can be saved (even when its class was compiled here too)
    def energy_model():
        outputs = {"energy": _outputs()["energy"]}
        return atomistic_model(AnisotropicModel(), outputs=outputs)

    path = str(tmp_path / "anisotropic.pt")
    energy_model().save(path)
    loaded = mta.load_atomistic_model(path)
    options = {"max_angular_momentum_target": 0, "l_max": 1}
    wrapped = SymmetrizedModel.wrap(loaded, **options)
    assert wrapped.module.model.original_name == "AnisotropicModel"
    eager = SymmetrizedModel.wrap(energy_model(), **options)
    system = _system()
    expected = _run_model(eager, [system], ["energy"])

    symmetrized_path = str(tmp_path / "symmetrized.pt")
    wrapped.save(symmetrized_path)
    reloaded = mta.load_atomistic_model(symmetrized_path)
    for model in (wrapped, reloaded):
        computed = _run_model(model, [system], ["energy"])
        torch.testing.assert_close(
            computed["energy"].block().values,
            expected["energy"].block().values,
            atol=1e-13,
            rtol=1e-13,
        )
