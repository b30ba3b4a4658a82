"""``metatomic.torch.weighted_sum.WeightedSum``: a new output mixing variants of a
quantity, its values, gradients, units, errors, and exported models"""

from typing import Dict, List, Optional

import pytest
import torch
from _utils import (
    PairPotential,
    add_neighbors,
    capabilities,
    labels,
    metadata,
    system,
)
from test_export import _run

import metatensor.torch as mts
import metatomic.torch as mta
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelEvaluationOptions,
    ModelOutput,
    System,
)
from metatomic.torch.weighted_sum import WeightedSum, _weighted_sum

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.[a-z]*` is deprecated")


class Variants(torch.nn.Module):
    """Two pair potentials giving ``energy``/``energy/a`` (eV), ``energy/b`` (in
    meV) and ``energy/system`` (``a`` again, only per system)"""

    def __init__(self):
        super().__init__()
        self.a = PairPotential()
        self.b = PairPotential(sigma=1.4, epsilon=0.3)
        self.evaluations = 0

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        self.evaluations += 1
        results: Dict[str, TensorMap] = {}
        for name, request in outputs.items():
            inner = {"energy": request}
            if name == "energy/b":
                energy = self.b(systems, inner, selected_atoms)["energy"]
                results[name] = mts.multiply(energy, 1000.0)
            elif name in ["energy", "energy/a", "energy/system"]:
                results[name] = self.a(systems, inner, selected_atoms)["energy"]
        return results


def _outputs() -> Dict[str, ModelOutput]:
    return {
        "energy": ModelOutput(unit="eV", sample_kind="atom"),
        "energy/a": ModelOutput(unit="eV", sample_kind="atom", description="a"),
        "energy/b": ModelOutput(unit="meV", sample_kind="atom", description="b"),
        "energy/system": ModelOutput(
            unit="eV", sample_kind="system", description="a, per system"
        ),
        "energy/grad": ModelOutput(
            unit="eV",
            sample_kind="atom",
            explicit_gradients=["positions", "strain"],
            description="not computed",
        ),
        "energy/grad2": ModelOutput(
            unit="eV",
            sample_kind="atom",
            explicit_gradients=["strain"],
            description="not computed",
        ),
        "my::x/length": ModelOutput(unit="angstrom"),
        "my::x/energy": ModelOutput(unit="eV"),
        "my::x/none": ModelOutput(),
        "my::pair/a": ModelOutput(unit="eV", sample_kind="atom_pair"),
        "my::pair/b": ModelOutput(unit="eV", sample_kind="atom"),
    }


def variants_model() -> AtomisticModel:
    return AtomisticModel(Variants().eval(), metadata(), capabilities(_outputs()))


def _system(positions_requires_grad=False) -> System:
    result = system(positions_requires_grad=positions_requires_grad)
    add_neighbors(result, PairPotential().requested_neighbor_lists()[0])
    return result


def _run_model(model, requests: Dict[str, ModelOutput], selected_atoms=None):
    options = ModelEvaluationOptions(
        length_unit="angstrom", outputs=requests, selected_atoms=selected_atoms
    )
    return model([_system()], options, check_consistency=True)


def _values(model, name, sample_kind="system", unit="eV", selected_atoms=None):
    requests = {name: ModelOutput(unit=unit, sample_kind=sample_kind)}
    return _run_model(model, requests, selected_atoms)[name].block().values


def test_capabilities():
    model = variants_model()
    mixed = WeightedSum.wrap(model, "energy/mix", {"energy/a": 0.25, "energy/b": 2})
    assert isinstance(mixed, AtomisticModel)
    assert isinstance(mixed.module, WeightedSum)

    outputs = mixed.capabilities().outputs
    assert sorted(outputs) == sorted(list(_outputs()) + ["energy/mix"])
    output = outputs["energy/mix"]
    assert output.unit == "eV"
    assert output.sample_kind == "atom"
    assert output.explicit_gradients == []
    assert (
        output.description == "weighted sum of outputs: 0.25 * energy/a + 2 * energy/b"
    )

    original = model.capabilities()
    wrapped = mixed.capabilities()
    assert wrapped.atomic_types == original.atomic_types
    assert wrapped.interaction_range == original.interaction_range
    assert wrapped.length_unit == original.length_unit
    assert wrapped.dtype == original.dtype
    assert mixed.metadata() is model.metadata()
    (options,) = mixed.requested_neighbor_lists()
    assert options == PairPotential().requested_neighbor_lists()[0]
    assert "WeightedSum._model.a" in options.requestors()

    # one output only per system makes the mix per system
    weights = {"energy/a": 1.0, "energy/system": 1.0}
    output = WeightedSum.wrap(model, "energy/s", weights).capabilities().outputs
    assert output["energy/s"].sample_kind == "system"

    # explicit gradients given by all the mixed outputs
    weights = {"energy/grad": 1.0, "energy/grad2": 1.0}
    output = WeightedSum.wrap(model, "energy/g", weights).capabilities().outputs
    assert output["energy/g"].explicit_gradients == ["strain"]

    # a new default output from variants
    module = Variants().eval()
    outputs = _outputs()
    del outputs["energy"]
    model = AtomisticModel(module, metadata(), capabilities(outputs))
    weights = {"energy/a": 1.0, "energy/b": 1.0}
    assert "energy" in WeightedSum.wrap(model, "energy", weights).capabilities().outputs


@pytest.mark.parametrize("sample_kind", ["system", "atom"])
def test_values(sample_kind):
    model = variants_model()
    a = _values(model, "energy/a", sample_kind)
    b = _values(model, "energy/b", sample_kind)
    assert not torch.allclose(a, b)

    mixed = WeightedSum.wrap(model, "energy/mix", {"energy/a": 0.25, "energy/b": 2})
    expected = 0.25 * a + 2 * b
    torch.testing.assert_close(_values(mixed, "energy/mix", sample_kind), expected)
    # converted to the unit the engine asks for
    torch.testing.assert_close(
        _values(mixed, "energy/mix", sample_kind, unit="meV"), 1000 * expected
    )
    # the other outputs are unchanged
    torch.testing.assert_close(_values(mixed, "energy/b", sample_kind), b)

    selected = labels(["system", "atom"], [[0, 1], [0, 3]])
    values = _values(mixed, "energy/mix", sample_kind, selected_atoms=selected)
    a = _values(model, "energy/a", sample_kind, selected_atoms=selected)
    b = _values(model, "energy/b", sample_kind, selected_atoms=selected)
    assert values.shape[0] == (2 if sample_kind == "atom" else 1)
    torch.testing.assert_close(values, 0.25 * a + 2 * b)


def test_together_with_other_outputs():
    model = variants_model()
    mixed = WeightedSum.wrap(model, "energy/mix", {"energy/a": 1.0, "energy/b": -1})
    a = _values(model, "energy/a", "atom")
    b = _values(model, "energy/b", "atom")

    # the mixed outputs requested as the mix needs them: one evaluation
    requests = {
        "energy/a": ModelOutput(unit="eV", sample_kind="atom"),
        "energy/mix": ModelOutput(unit="eV", sample_kind="atom"),
    }
    mixed.module._model.evaluations = 0
    results = _run_model(mixed, requests)
    assert mixed.module._model.evaluations == 1
    assert sorted(results) == ["energy/a", "energy/mix"]
    torch.testing.assert_close(results["energy/a"].block().values, a)
    torch.testing.assert_close(results["energy/mix"].block().values, a - b)

    # and differently (per system): two evaluations
    requests["energy/a"] = ModelOutput(unit="meV", sample_kind="system")
    mixed.module._model.evaluations = 0
    results = _run_model(mixed, requests)
    assert mixed.module._model.evaluations == 2
    assert sorted(results) == ["energy/a", "energy/mix"]
    expected = 1000 * a.sum(0, keepdim=True)
    torch.testing.assert_close(results["energy/a"].block().values, expected)
    torch.testing.assert_close(results["energy/mix"].block().values, a - b)


def test_forces():
    model = variants_model()
    mixed = WeightedSum.wrap(model, "energy/mix", {"energy/a": 0.3, "energy/b": 0.7})

    def forces(model, name):
        reference = _system(positions_requires_grad=True)
        options = ModelEvaluationOptions(
            length_unit="angstrom", outputs={name: ModelOutput(unit="eV")}
        )
        energy = model([reference], options, False)[name].block().values
        energy.sum().backward()
        return -reference.positions.grad

    expected = 0.3 * forces(model, "energy/a") + 0.7 * forces(model, "energy/b")
    torch.testing.assert_close(forces(mixed, "energy/mix"), expected)


def test_normalize_coefficients():
    model = variants_model()
    a = _values(model, "energy/a")
    b = _values(model, "energy/b")

    weights = {"energy/a": 1.0, "energy/b": 3.0}
    mixed = WeightedSum.wrap(model, "energy/mix", weights, normalize_coefficients=True)
    torch.testing.assert_close(_values(mixed, "energy/mix"), 0.25 * a + 0.75 * b)
    description = mixed.capabilities().outputs["energy/mix"].description
    assert description == "weighted sum of outputs: 0.25 * energy/a + 0.75 * energy/b"
    # the given dict is not changed
    assert weights == {"energy/a": 1.0, "energy/b": 3.0}

    mixed = WeightedSum.wrap(model, "energy/mix", weights)
    torch.testing.assert_close(_values(mixed, "energy/mix"), a + 3 * b)

    with pytest.raises(ValueError, match="they sum to zero"):
        WeightedSum.wrap(model, "energy/mix", {"energy/a": 1, "energy/b": -1}, True)


def test_errors():
    model = variants_model()
    weights = {"energy/a": 0.5, "energy/b": 0.5}

    with pytest.raises(TypeError, match="`model` must be an AtomisticModel"):
        WeightedSum(Variants().eval(), "energy/mix", weights)
    with pytest.raises(TypeError, match="`output_name` must be a str"):
        WeightedSum(model, 3, weights)
    with pytest.raises(TypeError, match="`weights` must be a dict"):
        WeightedSum.wrap(model, "energy/mix", [("energy/a", 1.0)])
    with pytest.raises(ValueError, match="`weights` can not be empty"):
        WeightedSum.wrap(model, "energy/mix", {})
    with pytest.raises(TypeError, match="the weight of 'energy/a' must be a number"):
        WeightedSum.wrap(model, "energy/mix", {"energy/a": "1"})
    with pytest.raises(TypeError, match="the weight of 'energy/a' must be a number"):
        WeightedSum.wrap(model, "energy/mix", {"energy/a": True})
    with pytest.raises(ValueError, match="the weight of 'energy/a' must be finite"):
        WeightedSum.wrap(model, "energy/mix", {"energy/a": float("nan")})
    with pytest.raises(TypeError, match="the keys of `weights` must be output names"):
        WeightedSum.wrap(model, "energy/mix", {1: 1.0})

    with pytest.raises(ValueError, match="the model has no output 'energy/c' to mix"):
        WeightedSum.wrap(model, "energy/mix", {"energy/a": 1.0, "energy/c": 1.0})
    with pytest.raises(
        ValueError, match="the model already has an output named 'energy/b'"
    ):
        WeightedSum.wrap(model, "energy/b", weights)
    with pytest.raises(ValueError, match="Invalid quantity name"):
        WeightedSum.wrap(model, "mix", weights)
    with pytest.raises(
        ValueError, match="must be the quantity of `output_name` \\('feature'\\)"
    ):
        WeightedSum.wrap(model, "feature/mix", weights)
    with pytest.raises(ValueError, match="their units do not match"):
        WeightedSum.wrap(model, "my::x", {"my::x/energy": 1.0, "my::x/length": 1.0})
    with pytest.raises(ValueError, match="either all mixed outputs have a unit"):
        WeightedSum.wrap(model, "my::x", {"my::x/none": 1.0, "my::x/energy": 1.0})
    with pytest.raises(ValueError, match="can not mix outputs per pair of atoms"):
        WeightedSum.wrap(model, "my::pair", {"my::pair/a": 1.0, "my::pair/b": 1.0})


def _tensor(values, gradient, samples=((0,), (1,))) -> TensorMap:
    block = TensorBlock(
        torch.as_tensor(values, dtype=torch.float64).reshape(-1, 1),
        labels("system", samples),
        [],
        labels("energy", [[0]]),
    )
    block.add_gradient(
        "strain",
        TensorBlock(
            torch.as_tensor(gradient, dtype=torch.float64).reshape(-1, 3, 3, 1),
            labels("sample", [[0], [1]]),
            [labels("xyz_1", [[0], [1], [2]]), labels("xyz_2", [[0], [1], [2]])],
            labels("energy", [[0]]),
        ),
    )
    return TensorMap(labels("_", [[0]]), [block])


def test_mix_with_explicit_gradients():
    first = _tensor([1.0, 2.0], torch.arange(18.0))
    second = _tensor([3.0, 5.0], torch.ones(18))
    mixed = _weighted_sum([first, second], ["energy/a", "energy/b"], [0.5, 2.0])
    block = mixed.block()
    expected = torch.tensor([6.5, 11.0], dtype=torch.float64)
    torch.testing.assert_close(block.values.reshape(-1), expected)
    gradient = block.gradient("strain")
    expected = 0.5 * torch.arange(18.0) + 2.0
    torch.testing.assert_close(gradient.values.reshape(-1), expected.double())
    assert gradient.samples == first.block().gradient("strain").samples

    other = _tensor([3.0, 5.0], torch.ones(18), samples=((0,), (2,)))
    with pytest.raises(ValueError, match="they have different samples"):
        _weighted_sum([first, other], ["energy/a", "energy/b"], [0.5, 2.0])


BLOCKED_MIX = """
    import sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("metatensor", "metatensor_torch", "metatomic"):
                raise ImportError(f"importing {name} is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocker())
    import warnings
    warnings.simplefilter("ignore")
    import torch

    model = torch.jit.load(sys.argv[1])
    data = torch.load(sys.argv[2])
    values = model.forward_tensors(
        data["types"], data["positions"], data["cell"], data["pbc"], [data["pairs"]],
        ["energy/mix", "energy/a"], ["meV", ""], [True, False], None, "angstrom",
    )
    torch.save(values, sys.argv[3])
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("weighted-sum") / "mixed.pt"
    weights = {"energy/a": 0.25, "energy/b": 0.75}
    WeightedSum.wrap(variants_model(), "energy/mix", weights).save(str(path))
    return str(path)


def test_export(exported, tmp_path):
    model = variants_model()
    a = _values(model, "energy/a", "atom")
    b = _values(model, "energy/b", "atom")

    loaded = mta.load_atomistic_model(exported)
    assert loaded.capabilities().outputs["energy/mix"].unit == "eV"
    torch.testing.assert_close(
        _values(loaded, "energy/mix", "atom"), 0.25 * a + 0.75 * b
    )

    # in a process that can not import our packages
    reference = _system()
    block = reference.get_neighbor_list(PairPotential().requested_neighbor_lists()[0])
    inputs = tmp_path / "inputs.pt"
    torch.save(
        {
            "types": reference.types,
            "positions": reference.positions,
            "cell": reference.cell,
            "pbc": reference.pbc,
            "pairs": block.samples.values.to(torch.int64),
        },
        inputs,
    )
    outputs = tmp_path / "outputs.pt"
    result = _run(BLOCKED_MIX, exported, str(inputs), str(outputs), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    computed = torch.load(outputs)
    torch.testing.assert_close(computed["energy/mix"], 1000 * (0.25 * a + 0.75 * b))
    torch.testing.assert_close(computed["energy/a"], a.sum(0, keepdim=True))


def test_wrap_loaded_model(tmp_path):
    model = variants_model()
    a = _values(model, "energy/a", "atom")
    b = _values(model, "energy/b", "atom")
    path = str(tmp_path / "variants.pt")
    model.save(path)

    weights = {"energy/a": 2.0, "energy/b": 1.0}
    mixed = WeightedSum.wrap(mta.load_atomistic_model(path), "energy/mix", weights)
    assert isinstance(mixed.module._model, torch.jit.ScriptModule)
    torch.testing.assert_close(_values(mixed, "energy/mix", "atom"), 2 * a + b)

    # a compiled AtomisticModel (from torch.jit.load) is accepted too
    mixed = WeightedSum.wrap(torch.jit.load(path), "energy/mix", weights)
    assert isinstance(mixed.module._model, torch.jit.ScriptModule)
    assert mixed.capabilities().outputs["energy/mix"].unit == "eV"
