"""Tests of the consistency checks of model inputs and outputs (SPEC §2)"""

import io
import re
from typing import Dict, List

import pytest
import torch

from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    ModelCapabilities,
    ModelOutput,
    NeighborListOptions,
    System,
    _checks,
    _warnings,
)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

DTYPE = torch.float64


# ==================================================================================== #
#                                       builders                                      #
# ==================================================================================== #


def _system(n_atoms, dtype=DTYPE):
    return System(
        types=torch.ones(n_atoms, dtype=torch.int32),
        positions=torch.arange(3 * n_atoms, dtype=dtype).reshape(n_atoms, 3),
        cell=torch.zeros((3, 3), dtype=dtype),
        pbc=torch.tensor([False, False, False]),
    )


def _labels(names, values):
    if isinstance(names, str):
        names = [names]
    values = torch.tensor(values, dtype=torch.int32).reshape(-1, len(names))
    return Labels(names, values)


def _range(name, n):
    return _labels(name, list(range(n)))


def _samples(kind, sizes):
    """Every sample of ``kind`` for systems with ``sizes`` atoms"""
    if kind == "system":
        return _range("system", len(sizes))
    if kind == "atom":
        rows = [[s, a] for s, n in enumerate(sizes) for a in range(n)]
        return _labels(["system", "atom"], rows)
    rows = [[s, 0, n - 1, 0, 0, 0] for s, n in enumerate(sizes)]
    return _labels(_checks._sample_names("atom_pair"), rows)


def _block(samples, components, properties, dtype=DTYPE):
    shape = [len(samples)] + [len(c) for c in components] + [len(properties)]
    return TensorBlock(torch.zeros(shape, dtype=dtype), samples, components, properties)


def _tensor(block, keys=None):
    if keys is None:
        keys = _labels("_", [0])
    return TensorMap(keys, [block])


# sample kinds, components and property of each standard quantity
QUANTITIES = {
    "energy": (["system", "atom"], [], "energy"),
    "energy_ensemble": (["system", "atom"], [], "energy"),
    "energy_uncertainty": (["system", "atom"], [], "energy"),
    "feature": (["system", "atom"], [], "anything"),
    "non_conservative_force": (["atom"], ["xyz"], "non_conservative_force"),
    "non_conservative_stress": (
        ["system"],
        ["xyz_1", "xyz_2"],
        "non_conservative_stress",
    ),
    "position": (["atom"], ["xyz"], "position"),
    "momentum": (["atom"], ["xyz"], "momentum"),
    "velocity": (["atom"], ["xyz"], "velocity"),
    "mass": (["atom"], [], "mass"),
    "charge": (["system", "atom"], [], "charge"),
    "heat_flux": (["system"], ["xyz"], "heat_flux"),
    "spin_multiplicity": (["system"], [], "spin_multiplicity"),
}

ALL_KINDS = ["system", "atom", "atom_pair"]


def _valid(name, kind, sizes, n_properties=1):
    """A TensorMap following the rules of ``name`` (a standard base)"""
    _, components, property_name = QUANTITIES[name]
    return _tensor(
        _block(
            _samples(kind, sizes),
            [_range(c, 3) for c in components],
            _range(property_name, n_properties),
        )
    )


def _energy(sizes, kind="system", gradients=()):
    """An energy output, with explicit gradients"""
    block = _block(_samples(kind, sizes), [], _range("energy", 1))
    n = len(block)
    for parameter in gradients:
        if parameter == "positions":
            rows = [[0, 0, 0], [n - 1, 0, 1]]
            gradient = _block(
                _labels(["sample", "system", "atom"], rows),
                [_range("xyz", 3)],
                block.properties,
            )
        else:
            gradient = _block(
                _range("sample", n),
                [_range("xyz_1", 3), _range("xyz_2", 3)],
                block.properties,
            )
        block.add_gradient(parameter, gradient)
    return _tensor(block)


def _neighbors(n_pairs=0):
    return TensorBlock(
        torch.zeros((n_pairs, 3, 1), dtype=DTYPE),
        _labels(
            [
                "first_atom",
                "second_atom",
                "cell_shift_a",
                "cell_shift_b",
                "cell_shift_c",
            ],
            [[0, 1, 0, 0, 0]] * n_pairs,
        ),
        [_range("xyz", 3)],
        _range("distance", 1),
    )


def _capabilities(outputs):
    return ModelCapabilities(
        outputs=outputs,
        atomic_types=[1],
        interaction_range=1.0,
        length_unit="angstrom",
        supported_devices=["cpu"],
        dtype="float64",
    )


# ==================================================================================== #
#                               eager and scripted checks                             #
# ==================================================================================== #

_SCRIPTED = {}


class Checks:
    """The three checks, eager or compiled by TorchScript, with the exception
    they raise"""

    def __init__(self, scripted):
        self.scripted = scripted
        functions = ["check_inputs", "check_outputs", "check_quantity"]
        for function in functions:
            implementation = getattr(_checks, function)
            if scripted:
                if function not in _SCRIPTED:
                    _SCRIPTED[function] = torch.jit.script(implementation)
                implementation = _SCRIPTED[function]
            setattr(self, function, implementation)
        self.error = torch.jit.Error if scripted else ValueError

    def raises(self, message):
        return pytest.raises(self.error, match=message)

    def quantity(
        self, name, tensor, sizes, kind="system", selected_atoms=None, what="output"
    ):
        """Run check_quantity for systems with ``sizes`` atoms"""
        systems = [_system(n) for n in sizes]
        request = ModelOutput(sample_kind=kind)
        self.check_quantity(name, tensor, systems, request, selected_atoms, DTYPE, what)


@pytest.fixture(params=["eager", "scripted"])
def checks(request):
    return Checks(request.param == "scripted")


@pytest.fixture
def fresh_warnings():
    _warnings._SHOWN.clear()
    yield
    _warnings._SHOWN.clear()


def test_compile():
    for function in ["check_inputs", "check_outputs", "check_quantity"]:
        torch.jit.script(getattr(_checks, function))


# ==================================================================================== #
#                                    check_quantity                                   #
# ==================================================================================== #


@pytest.mark.parametrize(
    "name, kind",
    [(name, kind) for name, rules in QUANTITIES.items() for kind in rules[0]],
)
def test_standard_quantities(checks, name, kind):
    checks.quantity(name, _valid(name, kind, [2, 3]), [2, 3], kind)
    # a variant follows the rules of its base
    checks.quantity(name + "/pbe0", _valid(name, kind, [2, 3]), [2, 3], kind)
    # a subset of the samples is fine, and so are no samples at all
    tensor = _valid(name, kind, [2, 3])
    block = tensor.block_by_id(0)
    subset = _tensor(
        TensorBlock(
            block.values[:1],
            Labels(block.samples.names, block.samples.values[:1]),
            block.components,
            block.properties,
        )
    )
    checks.quantity(name, subset, [2, 3], kind)
    checks.quantity(name, _valid(name, kind, []), [], kind)


@pytest.mark.parametrize(
    "name, kind",
    [
        (name, kind)
        for name, rules in QUANTITIES.items()
        for kind in ALL_KINDS
        if kind not in rules[0]
    ],
)
def test_refused_sample_kind(checks, name, kind):
    message = (
        f"invalid output '{name}': this quantity can not have sample_kind='{kind}', "
        "expected one of"
    )
    with checks.raises(re.escape(message)):
        checks.quantity(name, _valid(name, kind, [2]), [2], kind)


def test_custom_quantities_are_not_checked(checks):
    garbage = _tensor(
        _block(_labels("foo", [0, 1]), [], _labels("bar", [3]), dtype=torch.float32),
        keys=_labels("key", [7]),
    )
    checks.quantity("my_code::thing", garbage, [1], "atom")
    checks.quantity("my_code::thing/variant", garbage, [1], "atom_pair")


def test_invalid_names(checks):
    with checks.raises("Invalid quantity name for output 'foo'"):
        checks.quantity("foo", _valid("energy", "system", [1]), [1])
    with checks.raises("Invalid quantity name for input 'energy/'"):
        checks.quantity("energy/", _valid("energy", "system", [1]), [1], what="input")


def test_keys(checks):
    block = _valid("energy", "system", [1]).block_by_id(0)
    message = r"invalid output 'energy': expected a single block with the key"
    for keys in [_labels("key", [0]), _labels("_", [1])]:
        with checks.raises(message + r".* got 1 key with the names \['(key|_)'\]"):
            checks.quantity("energy", _tensor(block, keys), [1])

    two_blocks = TensorMap(_labels("_", [0, 1]), [block, block.copy()])
    with checks.raises(message + r".* got 2 keys"):
        checks.quantity("energy", two_blocks, [1])

    no_blocks = TensorMap(Labels.empty(["_"]), [])
    with checks.raises(message + r".* got 0 keys"):
        checks.quantity("energy", no_blocks, [1])


def test_dtype(checks):
    block = _block(_samples("system", [1]), [], _range("energy", 1), torch.float32)
    message = (
        "invalid output 'energy': expected the values to have the dtype of the "
        "model (torch.float64), got torch.float32"
    )
    with checks.raises(re.escape(message)):
        checks.quantity("energy", _tensor(block), [1])


@pytest.mark.parametrize("kind", ["system", "atom"])
def test_sample_names(checks, kind):
    wrong = _labels(["system", "other"], [[0, 0]])
    tensor = _tensor(_block(wrong, [], _range("energy", 1)))
    expected = str(_checks._sample_names(kind))
    message = (
        f"invalid output 'energy': expected the samples names to be {expected}, "
        "got ['system', 'other']"
    )
    with checks.raises(re.escape(message)):
        checks.quantity("energy", tensor, [1], kind)


def test_system_samples(checks):
    tensor = _tensor(_block(_labels("system", [0, 2]), [], _range("energy", 1)))
    message = (
        "invalid output 'energy': the sample (system=2) refers to system 2, but the "
        "model got 2 systems"
    )
    with checks.raises(re.escape(message)):
        checks.quantity("energy", tensor, [1, 1])
    checks.quantity("energy", tensor, [1, 1, 1])

    tensor = _tensor(_block(_labels("system", [-1]), [], _range("energy", 1)))
    with checks.raises(re.escape("(system=-1) refers to system -1")):
        checks.quantity("energy", tensor, [1])
    with checks.raises(re.escape("but the model got 0 systems")):
        checks.quantity("energy", tensor, [])


def test_atom_samples(checks):
    samples = _labels(["system", "atom"], [[0, 0], [1, 2]])
    tensor = _tensor(_block(samples, [], _range("energy", 1)))
    checks.quantity("energy", tensor, [1, 3], "atom")
    message = (
        "invalid output 'energy': the sample (system=1, atom=2) refers to atom 2 of "
        "system 1, which has 2 atoms"
    )
    with checks.raises(re.escape(message)):
        checks.quantity("energy", tensor, [1, 2], "atom")
    with checks.raises(re.escape("refers to atom 2 of system 1, which has 1 atom")):
        checks.quantity("energy", tensor, [1, 1], "atom")
    with checks.raises(re.escape("(system=1, atom=2) refers to system 1")):
        checks.quantity("energy", tensor, [3], "atom")

    negative = _labels(["system", "atom"], [[0, -1]])
    tensor = _tensor(_block(negative, [], _range("energy", 1)))
    with checks.raises(re.escape("(system=0, atom=-1) refers to atom -1 of system 0")):
        checks.quantity("energy", tensor, [3], "atom")


@pytest.mark.parametrize("scripted", [False, True])
def test_atom_pair_samples(scripted):
    # no standard quantity has atom_pair samples: test the samples check itself
    check_samples = _checks._check_samples
    error = ValueError
    if scripted:
        check_samples = torch.jit.script(check_samples)
        error = torch.jit.Error

    names = _checks._sample_names("atom_pair")
    # cell shifts are not checked
    samples = _labels(names, [[0, 0, 1, -1, 5, 0], [1, 2, 0, 0, 0, 0]])
    # selected atoms are not used for pairs
    selected = _labels(["system", "atom"], [[5, 5]])

    def check(sizes):
        systems = [_system(n) for n in sizes]
        check_samples("invalid output 'x'", samples, "atom_pair", systems, selected)

    check([2, 3])
    with pytest.raises(error, match=re.escape("(system=1, first_atom=2, second")):
        check([2, 2])
    with pytest.raises(error, match=re.escape("refers to atom 1 of system 0")):
        check([1, 3])
    with pytest.raises(error, match=re.escape("refers to system 1")):
        check([2])

    wrong = _labels(["system", "first_atom", "second_atom"], [[0, 0, 1]])
    with pytest.raises(error, match=re.escape("expected the samples names to be")):
        check_samples("invalid output 'x'", wrong, "atom_pair", [_system(2)], None)


def test_selected_atoms_system_samples(checks):
    tensor = _valid("energy", "system", [2, 2, 2])
    checks.quantity("energy", tensor, [2, 2, 2], "system")

    selected = _labels(["system", "atom"], [[0, 1], [2, 0]])
    message = (
        "invalid output 'energy': the sample (system=1) refers to a system that is "
        "not in `selected_atoms`: only return samples for the selected atoms"
    )
    with checks.raises(re.escape(message)):
        checks.quantity("energy", tensor, [2, 2, 2], "system", selected)

    subset = _tensor(_block(_labels("system", [2, 0]), [], _range("energy", 1)))
    checks.quantity("energy", subset, [2, 2, 2], "system", selected)


def test_selected_atoms_atom_samples(checks):
    tensor = _valid("energy", "atom", [2, 2])
    selected = _labels(["system", "atom"], [[0, 1], [1, 0], [1, 1]])
    message = (
        "invalid output 'energy': the sample (system=0, atom=0) refers to an atom "
        "that is not in `selected_atoms`"
    )
    with checks.raises(re.escape(message)):
        checks.quantity("energy", tensor, [2, 2], "atom", selected)

    samples = _labels(["system", "atom"], [[1, 1], [0, 1]])
    subset = _tensor(_block(samples, [], _range("energy", 1)))
    checks.quantity("energy", subset, [2, 2], "atom", selected)

    # entries of the selection that are not atoms are ignored, and can not make
    # other samples valid by accident
    selected = _labels(["system", "atom"], [[0, 3], [1, 1], [5, 0]])
    samples = _labels(["system", "atom"], [[1, 1]])
    tensor = _tensor(_block(samples, [], _range("energy", 1)))
    checks.quantity("energy", tensor, [2, 2], "atom", selected)
    # (1, 0) would be encoded like (0, 3) without dropping the latter first
    samples = _labels(["system", "atom"], [[1, 0]])
    tensor = _tensor(_block(samples, [], _range("energy", 1)))
    with checks.raises("not in `selected_atoms`"):
        checks.quantity("energy", tensor, [2, 2], "atom", selected)


def test_components(checks):
    properties = _range("position", 1)
    samples = _samples("atom", [2])

    def check(components):
        tensor = _tensor(_block(samples, components, properties))
        checks.quantity("position", tensor, [2], "atom")

    check([_range("xyz", 3)])
    message = "invalid output 'position': expected 1 components ['xyz'], got 0 []"
    with checks.raises(re.escape(message)):
        check([])
    message = "expected 1 components ['xyz'], got 2 ['xyz', 'abc']"
    with checks.raises(re.escape(message)):
        check([_range("xyz", 3), _range("abc", 2)])
    message = "expected the components names to be ['xyz'], got ['abc']"
    with checks.raises(re.escape(message)):
        check([_range("abc", 3)])
    message = (
        "invalid output 'position': expected the values of the 'xyz' components to "
        "be [0, 1, 2], got [0, 2, 1]"
    )
    with checks.raises(re.escape(message)):
        check([_labels("xyz", [0, 2, 1])])

    # no components for scalars
    tensor = _tensor(_block(samples, [_range("xyz", 3)], _range("mass", 1)))
    with checks.raises(re.escape("expected 0 components [], got 1 ['xyz']")):
        checks.quantity("mass", tensor, [2], "atom")

    # two components for stresses
    stress = _valid("non_conservative_stress", "system", [2])
    checks.quantity("non_conservative_stress", stress, [2])
    block = _block(
        _samples("system", [2]),
        [_range("xyz_2", 3), _range("xyz_1", 3)],
        _range("non_conservative_stress", 1),
    )
    with checks.raises(re.escape("expected the components names to be ['xyz_1']")):
        checks.quantity("non_conservative_stress", _tensor(block), [2])


def test_properties(checks):
    samples = _samples("system", [2])

    def check(name, properties):
        checks.quantity(name, _tensor(_block(samples, [], properties)), [2])

    message = (
        "invalid output 'energy/pbe0': expected the properties names to be "
        "['energy'], got ['pbe0']"
    )
    with checks.raises(re.escape(message)):
        check("energy/pbe0", _range("pbe0", 1))
    message = (
        "invalid output 'energy': expected the values of the 'energy' properties to "
        "be [0], got [1]"
    )
    with checks.raises(re.escape(message)):
        check("energy", _labels("energy", [1]))
    with checks.raises(re.escape("to be [0], got [0, 1]")):
        check("energy_uncertainty", _range("energy", 2))
    with checks.raises(re.escape("to be [0], got [0, 1]")):
        check("charge", _range("charge", 2))
    with checks.raises(re.escape("properties names to be ['charge'], got ['q']")):
        check("charge", _range("q", 1))

    # ensembles have one property per member
    check("energy_ensemble", _range("energy", 12))
    message = "to be [0, 1, 2, 3, 4, 5, 6, 7, ...], got [0, 1, 2, 3, 4, 5, 6, 8, ...]"
    with checks.raises(re.escape(message)):
        check("energy_ensemble", _labels("energy", [0, 1, 2, 3, 4, 5, 6, 8, 9, 10]))

    # features have any properties
    check("feature", _labels(["n", "l"], [[0, 1], [4, 2]]))
    check("feature/small", Labels.empty(["n"]))


def test_energy_gradients(checks):
    for kind in ["system", "atom"]:
        tensor = _energy([2, 3], kind, ["positions", "strain"])
        checks.quantity("energy", tensor, [2, 3], kind)
        checks.quantity("energy_uncertainty/x", tensor, [2, 3], kind)

    # gradients with respect to other parameters
    tensor = _energy([2])
    tensor.block_by_id(0).add_gradient(
        "cell",
        _block(_range("sample", 1), [_range("xyz", 3)], _range("energy", 1)),
    )
    message = (
        "invalid output 'energy': energy outputs can only have explicit gradients "
        "with respect to 'positions' and 'strain', got a gradient with respect to "
        "'cell'"
    )
    with checks.raises(re.escape(message)):
        checks.quantity("energy", tensor, [2])

    # position gradients
    def positions_gradient(samples, components):
        tensor = _energy([2])
        tensor.block_by_id(0).add_gradient(
            "positions", _block(samples, components, _range("energy", 1))
        )
        return tensor

    where = "invalid output 'energy' (gradient with respect to 'positions'): "
    tensor = positions_gradient(_range("sample", 1), [_range("xyz", 3)])
    message = (
        where + "expected the samples names to be ['sample', 'system', 'atom'], "
        "got ['sample']"
    )
    with checks.raises(re.escape(message)):
        checks.quantity("energy", tensor, [2])
    samples = _labels(["sample", "system", "atom"], [[0, 0, 2]])
    tensor = positions_gradient(samples, [_range("xyz", 3)])
    message = where + "the sample (sample=0, system=0, atom=2) refers to atom 2"
    with checks.raises(re.escape(message)):
        checks.quantity("energy", tensor, [2])
    samples = _labels(["sample", "system", "atom"], [[0, 0, 1]])
    tensor = positions_gradient(samples, [_range("abc", 3)])
    with checks.raises(re.escape(where + "expected the components names")):
        checks.quantity("energy", tensor, [2])

    # strain gradients
    def strain_gradient(samples, components):
        tensor = _energy([2])
        tensor.block_by_id(0).add_gradient(
            "strain", _block(samples, components, _range("energy", 1))
        )
        return tensor

    where = "invalid output 'energy' (gradient with respect to 'strain'): "
    samples = _labels(["sample", "system"], [[0, 0]])
    tensor = strain_gradient(samples, [_range("xyz_1", 3), _range("xyz_2", 3)])
    message = where + "expected the samples names to be ['sample'], got"
    with checks.raises(re.escape(message)):
        checks.quantity("energy", tensor, [2])
    tensor = strain_gradient(_range("sample", 1), [_range("xyz", 3)])
    message = where + "expected 2 components ['xyz_1', 'xyz_2'], got 1 ['xyz']"
    with checks.raises(re.escape(message)):
        checks.quantity("energy", tensor, [2])


@pytest.mark.parametrize(
    "name", [name for name in QUANTITIES if not name.startswith("energy")]
)
def test_no_gradients(checks, name):
    kind = QUANTITIES[name][0][0]
    tensor = _valid(name, kind, [2])
    block = tensor.block_by_id(0)
    components = [_range("gradient_xyz", 3)] + block.components
    samples = _labels(["sample", "system", "atom"], [[0, 0, 0]])
    block.add_gradient("positions", _block(samples, components, block.properties))
    message = (
        f"invalid output '{name}': this quantity can not have explicit gradients, "
        "got gradients with respect to ['positions']"
    )
    with checks.raises(re.escape(message)):
        checks.quantity(name, tensor, [2], kind)


PLURAL_PROPERTIES = {
    "position": "positions",
    "momentum": "momenta",
    "mass": "masses",
    "velocity": "velocities",
    "non_conservative_force": "non_conservative_forces",
}


@pytest.mark.parametrize("name, plural", PLURAL_PROPERTIES.items())
def test_deprecated_plural_properties(fresh_warnings, name, plural):
    eager = Checks(scripted=False)
    scripted = Checks(scripted=True)
    components = [_range(c, 3) for c in QUANTITIES[name][1]]
    tensor = _tensor(_block(_samples("atom", [2]), components, _range(plural, 1)))
    message = f"the property name '{plural}' is deprecated, name the property '{name}'"
    with pytest.warns(DeprecationWarning, match=re.escape(message)):
        eager.quantity(name, tensor, [2], "atom")
    # only once
    eager.quantity(name, tensor, [2], "atom")

    # TorchScript only has UserWarning
    with pytest.warns(UserWarning, match=re.escape(message)):
        scripted.quantity(name, tensor, [2], "atom")

    # the values are still checked
    _warnings._SHOWN.clear()
    tensor = _tensor(_block(_samples("atom", [2]), components, _labels(plural, [1])))
    message = f"the values of the '{plural}' properties to be [0], got [1]"
    with pytest.warns(DeprecationWarning), eager.raises(re.escape(message)):
        eager.quantity(name, tensor, [2], "atom")


def test_no_plural_property_for_charge(checks):
    tensor = _tensor(_block(_samples("atom", [2]), [], _range("charges", 1)))
    with checks.raises(re.escape("expected the properties names to be ['charge']")):
        checks.quantity("charge", tensor, [2], "atom")


# ==================================================================================== #
#                                     check_inputs                                    #
# ==================================================================================== #


def _inputs(
    checks,
    systems,
    outputs=None,
    selected_atoms=None,
    declared=None,
    neighbors=(),
    inputs=None,
    dtype=DTYPE,
):
    if outputs is None:
        outputs = {"energy": ModelOutput(unit="eV")}
    if declared is None:
        declared = {"energy": ModelOutput(unit="eV")}
    checks.check_inputs(
        systems,
        outputs,
        selected_atoms,
        _capabilities(declared),
        list(neighbors),
        {} if inputs is None else inputs,
        dtype,
    )


def test_inputs_valid(checks):
    systems = [_system(2), _system(3)]
    _inputs(checks, systems)
    _inputs(checks, [])
    # a system request for a per-atom output is fine
    declared = {"energy": ModelOutput(unit="eV", sample_kind="atom")}
    _inputs(checks, systems, declared=declared)


def test_inputs_systems(checks):
    message = (
        "all systems must have the same dtype, got torch.float64 for system 0 and "
        "torch.float32 for system 1"
    )
    with checks.raises(re.escape(message)):
        _inputs(checks, [_system(2), _system(2, torch.float32)])

    message = (
        "the systems have the dtype torch.float32 but the model uses torch.float64: "
        "convert the systems with `System.to(dtype=...)`"
    )
    with checks.raises(re.escape(message)):
        _inputs(checks, [_system(2, torch.float32)])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a second device")
def test_inputs_systems_device(checks):
    systems = [_system(2), _system(2).to(device=torch.device("cuda"))]
    with checks.raises(re.escape("all systems must be on the same device, got cpu")):
        _inputs(checks, systems)


def test_inputs_outputs(checks):
    systems = [_system(2)]
    message = (
        "this model can not compute the requested output 'feature', the available "
        "outputs are ['energy']"
    )
    with checks.raises(re.escape(message)):
        _inputs(checks, systems, outputs={"feature": ModelOutput()})

    declared = {"energy": ModelOutput(unit="eV", explicit_gradients=["positions"])}
    outputs = {"energy": ModelOutput(explicit_gradients=["positions"])}
    _inputs(checks, systems, outputs=outputs, declared=declared)
    outputs = {"energy": ModelOutput(explicit_gradients=["positions", "strain"])}
    message = (
        "the model can not compute explicit gradients of 'energy' with respect to "
        "'strain', it only supports ['positions']"
    )
    with checks.raises(re.escape(message)):
        _inputs(checks, systems, outputs=outputs, declared=declared)


@pytest.mark.parametrize(
    "requested, declared",
    [
        ("atom", "system"),
        ("atom_pair", "system"),
        ("atom_pair", "atom"),
        ("system", "atom_pair"),
        ("atom", "atom_pair"),
    ],
)
def test_inputs_refused_sample_kind(checks, requested, declared):
    message = (
        f"the output 'my::pairs' was requested with sample_kind='{requested}', but "
        f"the model declares it with sample_kind='{declared}': request it with "
        f"sample_kind='{declared}'"
    )
    with checks.raises(re.escape(message)):
        _inputs(
            checks,
            [_system(2)],
            outputs={"my::pairs": ModelOutput(sample_kind=requested)},
            declared={"my::pairs": ModelOutput(sample_kind=declared)},
        )


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_inputs_same_sample_kind(checks, kind):
    outputs = {"my::pairs": ModelOutput(sample_kind=kind)}
    _inputs(checks, [_system(2)], outputs=outputs, declared=outputs)


def test_inputs_selected_atoms(checks):
    systems = [_system(2), _system(3)]
    selected = _labels(["system", "atom"], [[0, 1], [1, 2]])
    _inputs(checks, systems, selected_atoms=selected)

    def check(names, values):
        _inputs(checks, systems, selected_atoms=_labels(names, values))

    message = (
        "invalid `selected_atoms`: expected the names ['system', 'atom'], got "
        "['system', 'i']"
    )
    with checks.raises(re.escape(message)):
        check(["system", "i"], [[0, 0]])
    message = (
        "invalid `selected_atoms`: the entry (system=2, atom=0) refers to system 2, "
        "but the model got 2 systems"
    )
    with checks.raises(re.escape(message)):
        check(["system", "atom"], [[0, 0], [2, 0]])
    message = (
        "invalid `selected_atoms`: the entry (system=0, atom=2) refers to atom 2 of "
        "system 0, which has 2 atoms"
    )
    with checks.raises(re.escape(message)):
        check(["system", "atom"], [[1, 2], [0, 2]])
    with checks.raises(re.escape("(system=-1, atom=0) refers to system -1")):
        check(["system", "atom"], [[-1, 0]])
    with checks.raises(re.escape("(system=1, atom=-3) refers to atom -3 of system 1")):
        check(["system", "atom"], [[1, -3]])


def test_inputs_neighbor_lists(checks):
    options = NeighborListOptions(cutoff=3.5, full_list=True, strict=False)
    other = NeighborListOptions(cutoff=3.5, full_list=False, strict=False)
    systems = [_system(2), _system(2)]
    systems[0].add_neighbor_list(options, _neighbors(1))
    systems[0].add_neighbor_list(other, _neighbors(1))
    systems[1].add_neighbor_list(other, _neighbors())
    _inputs(checks, systems, neighbors=[other])
    _inputs(checks, systems[:1], neighbors=[options, other])
    message = (
        "missing neighbor list for NeighborListOptions(cutoff=3.500000, "
        "full_list=True, strict=False) in system 1: the engine must give every "
        "neighbor list of the model's `requested_neighbor_lists()`"
    )
    with checks.raises(re.escape(message)):
        _inputs(checks, systems, neighbors=[other, options])


def _with_data(system, name, tensor):
    system.add_data(name, tensor)
    return system


def test_inputs_data(checks):
    masses = {"mass": ModelOutput(unit="u", sample_kind="atom")}
    systems = [
        _with_data(_system(2), "mass", _valid("mass", "atom", [2])),
        _with_data(_system(3), "mass", _valid("mass", "atom", [3])),
    ]
    _inputs(checks, systems, inputs=masses)

    # charges are not requested: not checked
    wrong = _tensor(_block(_samples("system", [1]), [], _labels("q", [5])))
    systems[1].add_data("charge", wrong)
    _inputs(checks, systems, inputs=masses)
    systems[0].add_data("my::thing", wrong)
    _inputs(checks, systems, inputs=masses)

    # requested: checked
    charges = {"charge": ModelOutput(unit="e")}
    message = "missing input 'charge' in system 0: the model requested it, add it"
    with checks.raises(re.escape(message)):
        _inputs(checks, systems, inputs=charges)
    systems[0].add_data("charge", _valid("charge", "system", [1]))
    message = (
        "invalid input 'charge' in system 1: expected the properties names to be "
        "['charge'], got ['q']"
    )
    with checks.raises(re.escape(message)):
        _inputs(checks, systems, inputs=charges)

    # the data of a system only refers to this system
    systems = [
        _with_data(_system(2), "mass", _valid("mass", "atom", [2])),
        _with_data(_system(1), "mass", _valid("mass", "atom", [2])),
    ]
    message = (
        "invalid input 'mass' in system 1: the sample (system=0, atom=1) refers to "
        "atom 1 of system 0, which has 1 atom"
    )
    with checks.raises(re.escape(message)):
        _inputs(checks, systems, inputs=masses)
    samples = _labels(["system", "atom"], [[1, 0]])
    tensor = _tensor(_block(samples, [], _range("mass", 1)))
    systems = [_system(2), _with_data(_system(1), "mass", tensor)]
    with checks.raises(re.escape("(system=1, atom=0) refers to system 1, but the")):
        _inputs(checks, systems[1:], inputs=masses)

    # the request gives the sample kind
    systems = [_with_data(_system(2), "mass", _valid("mass", "atom", [2]))]
    inputs = {"mass": ModelOutput(unit="u", sample_kind="system")}
    message = "invalid input 'mass' in system 0: this quantity can not have sample_kind"
    with checks.raises(re.escape(message)):
        _inputs(checks, systems, inputs=inputs)


# ==================================================================================== #
#                                    check_outputs                                    #
# ==================================================================================== #


def _outputs(checks, sizes, outputs, requested=None, selected_atoms=None):
    if requested is None:
        requested = {"energy": ModelOutput(unit="eV")}
    systems = [_system(n) for n in sizes]
    checks.check_outputs(systems, requested, selected_atoms, outputs, DTYPE)


def test_outputs(checks):
    energy = _energy([2, 3], "system", ["positions"])
    _outputs(checks, [2, 3], {"energy": energy})

    requested = {
        "energy": ModelOutput(sample_kind="atom"),
        "mass/x": ModelOutput(sample_kind="atom"),
        "my::thing": ModelOutput(sample_kind="atom_pair"),
    }
    outputs = {
        "energy": _valid("energy", "atom", [2, 3]),
        "mass/x": _valid("mass", "atom", [2, 3]),
        "my::thing": _tensor(_block(_labels("x", [0]), [], _labels("y", [0]))),
    }
    _outputs(checks, [2, 3], outputs, requested)

    message = (
        "the model returned the output 'mass', which was not requested: only return "
        "the outputs given to `forward`"
    )
    with checks.raises(re.escape(message)):
        outputs = {"energy": energy, "mass": _valid("mass", "atom", [2, 3])}
        _outputs(checks, [2, 3], outputs)

    message = "the model did not return the requested output 'mass/x'"
    with checks.raises(re.escape(message)):
        # missing outputs are found before checking the others
        _outputs(checks, [2, 3], {"energy": energy}, requested)

    message = "invalid output 'energy': expected the samples names to be ['system']"
    with checks.raises(re.escape(message)):
        _outputs(checks, [2, 3], {"energy": _valid("energy", "atom", [2, 3])})


def test_outputs_selected_atoms(checks):
    requested = {"energy": ModelOutput(sample_kind="atom")}
    selected = _labels(["system", "atom"], [[1, 0], [1, 2]])
    samples = _labels(["system", "atom"], [[1, 0], [1, 2]])
    outputs = {"energy": _tensor(_block(samples, [], _range("energy", 1)))}
    _outputs(checks, [2, 3], outputs, requested, selected)
    outputs = {"energy": _valid("energy", "atom", [2, 3])}
    message = (
        "invalid output 'energy': the sample (system=0, atom=0) refers to an atom "
        "that is not in `selected_atoms`"
    )
    with checks.raises(re.escape(message)):
        _outputs(checks, [2, 3], outputs, requested, selected)


# ==================================================================================== #
#                              eager and scripted agree                               #
# ==================================================================================== #


def _failing_calls():
    """Calls of the checks that raise, as functions of a ``Checks``"""
    energy = _valid("energy", "atom", [2, 3])
    selected = _labels(["system", "atom"], [[0, 5]])
    return [
        lambda c: c.quantity("foo", energy, [2, 3], "atom"),
        lambda c: c.quantity("energy", energy, [2, 2], "atom"),
        lambda c: c.quantity("heat_flux", energy, [2, 3], "atom"),
        lambda c: c.quantity("energy", energy, [2, 3], "system"),
        lambda c: c.quantity(
            "mass", _valid("mass", "atom", [2]), [2], "atom", selected
        ),
        lambda c: _inputs(c, [_system(2)], selected_atoms=selected),
        lambda c: _inputs(c, [_system(2, torch.float32)]),
        lambda c: _inputs(c, [_system(2)], outputs={"mass": ModelOutput()}),
        lambda c: _inputs(c, [_system(2)], inputs={"mass": ModelOutput()}),
        lambda c: _outputs(c, [2, 3], {}),
    ]


def test_same_messages():
    eager = Checks(scripted=False)
    scripted = Checks(scripted=True)
    for call in _failing_calls():
        with pytest.raises(ValueError) as eager_error:
            call(eager)
        with pytest.raises(torch.jit.Error) as scripted_error:
            call(scripted)
        message = str(eager_error.value)
        assert message != ""
        scripted_message = str(scripted_error.value).rstrip()
        assert scripted_message.endswith("builtins.ValueError: " + message)


def test_large_systems(checks):
    """The samples checks work on whole arrays, not atom by atom"""
    sizes = [50_000, 50_000]
    selected = _samples("atom", sizes)
    tensor = _tensor(_block(selected, [], _range("energy", 1)))
    checks.quantity("energy", tensor, sizes, "atom", selected)


class _CheckingModule(torch.nn.Module):
    def forward(
        self,
        systems: List[System],
        requested: Dict[str, ModelOutput],
        outputs: Dict[str, TensorMap],
    ):
        _checks.check_outputs(systems, requested, None, outputs, torch.float64)


@pytest.mark.filterwarnings("ignore:`torch.jit.save` is deprecated")
@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")
def test_save_and_load():
    """Exported models call the checks: they must survive torch.jit.save"""
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(_CheckingModule()), buffer)
    buffer.seek(0)
    module = torch.jit.load(buffer)
    requested = {"energy": ModelOutput(unit="eV")}
    module([_system(2)], requested, {"energy": _valid("energy", "system", [1])})
    with pytest.raises(torch.jit.Error, match="did not return the requested output"):
        module([_system(2)], requested, {})
