"""AtomisticModel: the constructor rules, the steps of ``forward`` (name mapping,
checks, atomic types, unit conversions of inputs and outputs) and the
tensor-only entry point"""

import math
from typing import Dict, List, Optional

import numpy as np
import pytest
import torch
from _utils import (
    CUTOFF,
    PairPotential,
    add_neighbors,
    atomistic_model,
    capabilities,
    energy_output,
    evaluation_options,
    labels,
    mass_data,
    metadata,
    pair_energy_reference,
    system,
)

import metatomic.torch as mta
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelCapabilities,
    ModelEvaluationOptions,
    ModelOutput,
    NeighborListOptions,
    System,
)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def _system_with_neighbors(**kwargs) -> System:
    result = system(**kwargs)
    add_neighbors(result, PairPotential().requested_neighbor_lists()[0])
    return result


def _energy(model, systems, **kwargs) -> torch.Tensor:
    options = evaluation_options(**kwargs)
    return model(systems, options, check_consistency=True)["energy"].block().values


# ==================================================================================== #
#                                     constructor                                      #
# ==================================================================================== #


class Nested(torch.nn.Module):
    """A model whose submodules request neighbor lists and inputs"""

    def __init__(self):
        super().__init__()
        self.first = PairPotential(cutoff=3.0)
        self.second = PairPotential(cutoff=3.0)
        self.third = PairPotential(cutoff=2.5, full_list=True)

    def requested_inputs(self) -> Dict[str, ModelOutput]:
        return {"masses": ModelOutput(unit="u", sample_kind="atom")}

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        return self.first(systems, outputs, selected_atoms)


def test_neighbor_lists_collected_from_submodules():
    with pytest.warns(DeprecationWarning, match="'masses' name is deprecated"):
        model = atomistic_model(Nested())
    requested = model.requested_neighbor_lists()
    assert len(requested) == 2
    assert requested[0].cutoff == 3.0 and not requested[0].full_list
    assert requested[0].requestors() == ["Nested.first", "Nested.second"]
    assert requested[1].requestors() == ["Nested.third"]
    assert all(options.length_unit == "angstrom" for options in requested)

    assert list(model.requested_inputs(use_new_names=True)) == ["mass"]
    with pytest.warns(DeprecationWarning, match="requested_inputs"):
        assert list(model.requested_inputs()) == ["masses"]


def test_neighbor_list_with_another_unit():
    module = PairPotential()
    module.requested_neighbor_lists()[0].length_unit = "nm"
    with pytest.raises(ValueError, match="length unit \\('nm'\\) which does not match"):
        atomistic_model(module)


class Inputs(PairPotential):
    def __init__(self, unit: str):
        super().__init__()
        self.inner = PairPotential()
        self.unit = unit

    def requested_inputs(self) -> Dict[str, ModelOutput]:
        return {"mass": ModelOutput(unit=self.unit, sample_kind="atom")}


def test_duplicated_inputs():
    module = Inputs("u")
    module.inner.requested_inputs = lambda: {"mass": ModelOutput(unit="kg")}
    with pytest.raises(NotImplementedError, match="'mass' is requested twice"):
        atomistic_model(module)


def test_constructor_errors():
    with pytest.raises(ValueError, match="training mode"):
        AtomisticModel(PairPotential(), metadata(), capabilities())
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        AtomisticModel("model", metadata(), capabilities())
    with pytest.raises(TypeError, match="must be a ModelMetadata"):
        AtomisticModel(PairPotential().eval(), "metadata", capabilities())
    with pytest.raises(TypeError, match="must be a ModelCapabilities"):
        AtomisticModel(PairPotential().eval(), metadata(), {})
    for value in (-1.0, math.nan):
        with pytest.raises(ValueError, match="interaction_range"):
            atomistic_model(interaction_range=value)
    atomistic_model(interaction_range=math.inf)
    with pytest.raises(ValueError, match="supported_devices"):
        atomistic_model(supported_devices=())
    with pytest.raises(ValueError, match="`capabilities.dtype` must be set"):
        atomistic_model(dtype="")


class WrongSignature(torch.nn.Module):
    def forward(self, systems: List[System]) -> Dict[str, TensorMap]:
        return {}


def test_forward_signature_checked():
    message = "`WrongSignature.forward` must be declared as `forward\\(self, systems"
    with pytest.raises(TypeError, match=message):
        atomistic_model(WrongSignature())


class WithParameters(PairPotential):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(3))


def test_parameters_stop_requiring_gradients():
    module = WithParameters()
    assert module.weight.requires_grad
    atomistic_model(module)
    assert not module.weight.requires_grad


def test_wrapping_an_atomistic_model():
    model = atomistic_model()
    again = AtomisticModel(model, model.metadata(), model.capabilities())
    assert isinstance(again.module, PairPotential)
    assert mta.is_atomistic_model(again)

    scripted = torch.jit.script(model)
    assert mta.is_atomistic_model(scripted)
    assert not mta.is_atomistic_model(PairPotential())
    wrapped = AtomisticModel(scripted, scripted.metadata(), scripted.capabilities())
    assert wrapped.module.original_name == "PairPotential"
    assert wrapped.requested_neighbor_lists()[0].requestors() == ["PairPotential"]

    systems = [_system_with_neighbors()]
    torch.testing.assert_close(_energy(wrapped, systems), _energy(model, systems))


# ==================================================================================== #
#                                       forward                                        #
# ==================================================================================== #


@pytest.mark.parametrize("compiled", [False, True])
def test_energies(compiled):
    model = atomistic_model()
    if compiled:
        model = torch.jit.script(model)
    systems = [
        _system_with_neighbors(),
        _system_with_neighbors(pbc=(False, False, False)),
    ]
    reference = [pair_energy_reference(s) for s in systems]

    per_system = _energy(model, systems)
    expected = torch.tensor([[r.sum()] for r in reference])
    torch.testing.assert_close(per_system, expected)

    per_atom = _energy(model, systems, sample_kind="atom")
    torch.testing.assert_close(per_atom.reshape(-1), torch.tensor(np.hstack(reference)))

    selected = labels(["system", "atom"], [[0, 1], [1, 3]])
    values = _energy(model, systems, sample_kind="atom", selected_atoms=selected)
    expected = torch.tensor([[reference[0][1]], [reference[1][3]]])
    torch.testing.assert_close(values, expected)


@pytest.mark.parametrize("check_consistency", [False, True])
def test_unknown_atomic_types(check_consistency):
    model = atomistic_model(atomic_types=[1])
    options = evaluation_options()
    message = "can not handle the atomic type\\(s\\) \\[8\\] found in system 0"
    with pytest.raises(ValueError, match=message):
        model([_system_with_neighbors()], options, check_consistency)


def test_length_and_energy_units():
    model = atomistic_model()
    reference = pair_energy_reference(system()).sum()

    # the engine works in nm and wants meV: positions, cell and neighbor vectors
    # are converted before the model runs, the energy after
    engine = system()
    nm = System(
        engine.types,
        (engine.positions / 10).requires_grad_(True),
        engine.cell / 10,
        engine.pbc,
    )
    options = PairPotential().requested_neighbor_lists()[0]
    options.length_unit = "angstrom"
    nm_options = NeighborListOptions(options.engine_cutoff("nm"), False, True)
    block = add_neighbors(nm, nm_options)
    nm._neighbor_options[0] = options  # same list, as the model requested it
    assert block.values.requires_grad

    evaluation = evaluation_options(unit="meV", length_unit="nm")
    energy = model([nm], evaluation, check_consistency=True)["energy"].block().values
    torch.testing.assert_close(energy, torch.tensor([[1000 * reference]]))

    # forces come back in meV/nm through autograd
    energy.sum().backward()
    angstrom = _system_with_neighbors(positions_requires_grad=True)
    _energy(model, [angstrom]).sum().backward()
    torch.testing.assert_close(nm.positions.grad, angstrom.positions.grad * 10000)


class ExplicitGradients(torch.nn.Module):
    """Energy = sum of x coordinates (eV, angstrom), with explicit positions and
    strain gradients"""

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        blocks: List[TensorBlock] = []
        first = systems[0]
        n = len(first)
        energy = first.positions[:, 0].sum().reshape(1, 1)
        block = TensorBlock(
            energy,
            Labels(["system"], torch.tensor([[0]])),
            [],
            Labels(["energy"], torch.tensor([[0]])),
        )
        gradient = torch.zeros((n, 3, 1), dtype=energy.dtype)
        gradient[:, 0, 0] = 1.0
        samples = torch.stack(
            [
                torch.zeros(n, dtype=torch.int32),
                torch.zeros(n, dtype=torch.int32),
                torch.arange(n, dtype=torch.int32),
            ],
            dim=1,
        )
        xyz = Labels(["xyz"], torch.tensor([[0], [1], [2]]))
        block.add_gradient(
            "positions",
            TensorBlock(
                gradient,
                Labels(["sample", "system", "atom"], samples),
                [xyz],
                block.properties,
            ),
        )
        block.add_gradient(
            "strain",
            TensorBlock(
                torch.full((1, 3, 3, 1), 2.0, dtype=energy.dtype),
                Labels(["sample"], torch.tensor([[0]])),
                [
                    Labels(["xyz_1"], torch.tensor([[0], [1], [2]])),
                    Labels(["xyz_2"], torch.tensor([[0], [1], [2]])),
                ],
                block.properties,
            ),
        )
        blocks.append(block)
        return {"energy": TensorMap(Labels(["_"], torch.tensor([[0]])), blocks)}


def test_gradients_converted():
    outputs = {
        "energy": ModelOutput(
            unit="eV", sample_kind="system", explicit_gradients=["positions", "strain"]
        )
    }
    model = atomistic_model(ExplicitGradients(), outputs=outputs, interaction_range=0.0)
    request = ModelOutput(unit="meV", explicit_gradients=["positions", "strain"])
    evaluation = ModelEvaluationOptions(length_unit="nm", outputs={"energy": request})
    engine = system()
    nm = System(engine.types, engine.positions / 10, engine.cell / 10, engine.pbc)
    block = model([nm], evaluation, check_consistency=True)["energy"].block()
    # x in angstrom = 10 x in nm, energy in meV = 1000 energy in eV
    torch.testing.assert_close(
        block.values, 1000 * engine.positions[:, 0].sum().reshape(1, 1)
    )
    # d(meV)/d(nm) = 1000 * 10 d(eV)/d(angstrom); strain is dimensionless
    positions = block.gradient("positions").values
    torch.testing.assert_close(positions[:, 0], torch.full_like(positions[:, 0], 1e4))
    strain = block.gradient("strain").values
    torch.testing.assert_close(strain, torch.full_like(strain, 2000.0))


class MassSum(torch.nn.Module):
    """``test::mass_sum``: the sum of the masses it received, per system"""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def requested_inputs(self) -> Dict[str, ModelOutput]:
        return {"mass": ModelOutput(unit=self.unit, sample_kind="atom")}

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        sums: List[torch.Tensor] = []
        for item in systems:
            masses = item.get_data("mass")
            assert masses.get_info("unit") == self.unit
            sums.append(masses.block().values.sum().reshape(1, 1))
        block = TensorBlock(
            torch.cat(sums),
            Labels(["system"], torch.arange(len(systems)).reshape(-1, 1)),
            [],
            Labels(["mass_sum"], torch.tensor([[0]])),
        )
        return {
            "test::mass_sum": TensorMap(Labels(["_"], torch.tensor([[0]])), [block])
        }


def test_inputs_converted_to_the_requested_unit():
    outputs = {"test::mass_sum": ModelOutput(unit="kg")}
    model = atomistic_model(MassSum("kg"), outputs=outputs)
    engine = system()
    engine.add_data("mass", mass_data(engine, unit="u"))
    evaluation = ModelEvaluationOptions(
        length_unit="angstrom", outputs={"test::mass_sum": ModelOutput(unit="kg")}
    )
    result = model([engine], evaluation, check_consistency=True)["test::mass_sum"]
    expected = (2 * 1.008 + 2 * 15.999) * 1.6605390689252e-27
    assert result.block().values.item() == pytest.approx(expected, rel=1e-12)
    # the engine's data is not modified
    assert engine.get_data("mass").get_info("unit") == "u"


def test_missing_input_refused_with_checks():
    outputs = {"test::mass_sum": ModelOutput(unit="kg")}
    model = atomistic_model(MassSum("kg"), outputs=outputs)
    evaluation = ModelEvaluationOptions(
        length_unit="angstrom", outputs={"test::mass_sum": ModelOutput(unit="kg")}
    )
    with pytest.raises(ValueError, match="mass"):
        model([system()], evaluation, check_consistency=True)


class Features(torch.nn.Module):
    """Per-system features declared under the deprecated plural name"""

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        assert list(outputs.keys()) == ["features"]
        block = TensorBlock(
            torch.ones((len(systems), 2), dtype=torch.float64),
            Labels(["system"], torch.arange(len(systems)).reshape(-1, 1)),
            [],
            Labels(["f"], torch.tensor([[0], [1]])),
        )
        return {"features": TensorMap(Labels(["_"], torch.tensor([[0]])), [block])}


def test_deprecated_output_names():
    with pytest.warns(DeprecationWarning, match="'features' name is deprecated"):
        model = atomistic_model(Features(), outputs={"features": ModelOutput()})
    assert set(model.capabilities().outputs) == {"feature", "features"}

    # a new engine asks for the new name: the model gets the old one, the engine
    # the new one
    options = ModelEvaluationOptions(outputs={"feature": ModelOutput()})
    with pytest.warns(DeprecationWarning, match="declares the output 'features'"):
        result = model([system()], options, check_consistency=True)
    assert list(result) == ["feature"]

    # an old engine asks for the old name
    options = ModelEvaluationOptions(outputs={"features": ModelOutput()})
    result = model([system()], options, check_consistency=False)
    assert list(result) == ["features"]

    # the aliases survive a second wrapping (e.g. when loading a saved model)
    again = AtomisticModel(model, model.metadata(), model.capabilities())
    assert again._model_capabilities_outputs_names == ["features"]


class Everything(torch.nn.Module):
    """Every standard output, with valid metadata, for the consistency checks"""

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        n_atoms = 0
        atom_rows: List[torch.Tensor] = []
        for i, item in enumerate(systems):
            n_atoms += len(item)
            atoms = torch.arange(len(item))
            atom_rows.append(torch.stack([torch.full_like(atoms, i), atoms], dim=1))
        per_atom = Labels(["system", "atom"], torch.cat(atom_rows))
        per_system = Labels(["system"], torch.arange(len(systems)).reshape(-1, 1))
        xyz = Labels(["xyz"], torch.tensor([[0], [1], [2]]))

        results: Dict[str, TensorMap] = {}
        for name, request in outputs.items():
            samples = per_system
            n = len(systems)
            if request.sample_kind == "atom":
                samples = per_atom
                n = n_atoms
            components: List[Labels] = []
            shape = [n]
            if name in ["non_conservative_force", "position", "momentum", "velocity"]:
                components = [xyz]
                shape.append(3)
            elif name == "heat_flux":
                components = [xyz]
                shape.append(3)
            elif name == "non_conservative_stress":
                components = [
                    Labels(["xyz_1"], torch.tensor([[0], [1], [2]])),
                    Labels(["xyz_2"], torch.tensor([[0], [1], [2]])),
                ]
                shape.extend([3, 3])
            property_name = name
            n_properties = 1
            if name.startswith("energy"):
                property_name = "energy"
            if name == "energy_ensemble":
                n_properties = 4
            if name == "feature":
                property_name = "f"
                n_properties = 5
            shape.append(n_properties)
            properties = Labels(
                [property_name], torch.arange(n_properties).reshape(-1, 1)
            )
            block = TensorBlock(
                torch.zeros(shape, dtype=torch.float64), samples, components, properties
            )
            results[name] = TensorMap(Labels(["_"], torch.tensor([[0]])), [block])
        return results


STANDARD_OUTPUTS = {
    "energy": ("eV", "atom"),
    "energy_ensemble": ("eV", "atom"),
    "energy_uncertainty": ("eV", "atom"),
    "feature": ("", "atom"),
    "non_conservative_force": ("eV/A", "atom"),
    "non_conservative_stress": ("eV/A^3", "system"),
    "position": ("A", "atom"),
    "momentum": ("(eV*u)^(1/2)", "atom"),
    "velocity": ("A/fs", "atom"),
    "mass": ("u", "atom"),
    "charge": ("e", "atom"),
    "heat_flux": ("eV*A/fs", "system"),
    "spin_multiplicity": ("", "system"),
}


@pytest.mark.parametrize("compiled", [False, True])
def test_every_standard_output_passes_the_checks(compiled):
    outputs = {
        name: ModelOutput(unit=unit, sample_kind=kind)
        for name, (unit, kind) in STANDARD_OUTPUTS.items()
    }
    model = atomistic_model(Everything(), outputs=outputs)
    if compiled:
        model = torch.jit.script(model)
    options = ModelEvaluationOptions(length_unit="angstrom", outputs=outputs)
    results = model([system(), system()], options, check_consistency=True)
    assert set(results) == set(STANDARD_OUTPUTS)

    # per-system requests of per-atom outputs are allowed where the quantity is
    per_system = dict(outputs)
    per_system["energy"] = ModelOutput(unit="eV", sample_kind="system")
    options = ModelEvaluationOptions(length_unit="angstrom", outputs=per_system)
    model([system()], options, check_consistency=True)


class ExtraOutput(PairPotential):
    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        results = super().forward(systems, outputs, selected_atoms)
        results["test::extra"] = results["energy"]
        return results


def test_outputs_checked():
    model = atomistic_model(ExtraOutput())
    systems = [_system_with_neighbors()]
    with pytest.raises(ValueError, match="test::extra"):
        model(systems, evaluation_options(), check_consistency=True)
    # without the checks, the extra output is returned as is
    result = model(systems, evaluation_options(), check_consistency=False)
    assert set(result) == {"energy", "test::extra"}

    with pytest.raises(ValueError, match="not_declared"):
        options = ModelEvaluationOptions(outputs={"my::not_declared": ModelOutput()})
        model(systems, options, check_consistency=True)


# ==================================================================================== #
#                               tensor-only entry point                                #
# ==================================================================================== #


def _pairs(system: System, model) -> List[torch.Tensor]:
    pairs = []
    for options in model.requested_neighbor_lists():
        samples = system.get_neighbor_list(options).samples.values
        pairs.append(samples.to(torch.int64))
    return pairs


@pytest.mark.parametrize("compiled", [False, True])
def test_forward_tensors(compiled):
    model = atomistic_model()
    if compiled:
        model = torch.jit.script(model)
    assert model.neighbor_list_requests("angstrom") == [(CUTOFF, False, True)]
    assert model.neighbor_list_requests("nm") == [(CUTOFF / 10, False, True)]

    reference = _system_with_neighbors(positions_requires_grad=True)
    energy = _energy(model, [reference])
    energy.sum().backward()

    positions = reference.positions.detach().clone().requires_grad_(True)
    values = model.forward_tensors(
        reference.types,
        positions,
        reference.cell,
        reference.pbc,
        _pairs(reference, model),
        ["energy"],
        ["eV"],
        [False],
        None,
        "angstrom",
    )
    torch.testing.assert_close(values["energy"], energy.detach())
    values["energy"].sum().backward()
    torch.testing.assert_close(positions.grad, reference.positions.grad)

    # per atom, with a selection and in other units
    values = model.forward_tensors(
        reference.types,
        positions.detach() / 10,
        reference.cell / 10,
        reference.pbc,
        _pairs(reference, model),
        ["energy"],
        ["meV"],
        [True],
        torch.tensor([2, 0]),
        "nm",
    )
    expected = 1000 * pair_energy_reference(reference)
    expected[[1, 3]] = 0.0
    torch.testing.assert_close(values["energy"].reshape(-1), torch.tensor(expected))


def test_forward_tensors_errors():
    model = atomistic_model()
    reference = _system_with_neighbors()
    arguments = [reference.types, reference.positions, reference.cell, reference.pbc]
    with pytest.raises(ValueError, match="needs 1 neighbor lists"):
        model.forward_tensors(*arguments, [], ["energy"], ["eV"], [False], None, "A")
    with pytest.raises(ValueError, match="same length"):
        model.forward_tensors(
            *arguments, _pairs(reference, model), ["energy"], [], [False], None, "A"
        )


def test_capabilities_are_a_copy():
    given = capabilities()
    model = atomistic_model()
    model_capabilities = model.capabilities()
    assert model_capabilities is not given
    assert model_capabilities.atomic_types == [1, 8]
    assert model_capabilities.outputs["energy"].unit == energy_output().unit
    assert isinstance(model_capabilities, ModelCapabilities)
