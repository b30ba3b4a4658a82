"""Tests of ModelOutput, ModelCapabilities and ModelEvaluationOptions (SPEC §1.5),
in eager Python and TorchScript"""

import contextlib
import math
import re
import warnings
from typing import Dict, List, Optional, Tuple

import _utils
import pytest
import torch

from metatensor.torch import Labels
from metatomic.torch import ModelCapabilities, ModelEvaluationOptions, ModelOutput

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

PER_ATOM_WARNING = (
    "ModelOutput.per_atom is deprecated, use ModelOutput.sample_kind ('system', "
    "'atom' or 'atom_pair') instead"
)
QUANTITY_WARNING = (
    "ModelOutput.quantity is deprecated and ignored: the quantity is given by the "
    "name of the output"
)


@contextlib.contextmanager
def _no_warnings():
    """Fail on any warning in the block"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ==================================================================================== #
#                                      ModelOutput                                     #
# ==================================================================================== #


def test_output_defaults():
    output = ModelOutput()
    assert output.quantity == ""
    assert output.unit == ""
    assert output.sample_kind == "system"
    assert output.explicit_gradients == []
    assert output.description == ""

    # the default list is not shared between outputs
    output.explicit_gradients.append("positions")
    assert ModelOutput().explicit_gradients == []


def test_output_arguments():
    output = ModelOutput(
        unit="eV",
        sample_kind="atom",
        explicit_gradients=["positions", "strain"],
        description="the energy",
    )
    assert output.unit == "eV"
    assert output.sample_kind == "atom"
    assert output.explicit_gradients == ["positions", "strain"]
    assert output.description == "the energy"
    assert repr(output) == (
        "ModelOutput(unit='eV', sample_kind='atom', explicit_gradients=['positions', "
        "'strain'], description='the energy')"
    )

    output.explicit_gradients = []
    output.description = "other"
    assert output.explicit_gradients == []
    assert output.description == "other"


def test_output_unit():
    output = ModelOutput(unit="eV/A^3")
    assert output.unit == "eV/A^3"
    # only the syntax is checked, not the dimension
    output.unit = "K"
    assert output.unit == "K"
    output.unit = ""
    assert output.unit == ""

    with pytest.raises(ValueError, match=re.escape("unknown unit 'foo' in 'foo'")):
        ModelOutput(unit="foo")

    output.unit = "eV"
    with pytest.raises(ValueError, match=re.escape("unknown unit 'kJmol' in 'kJ mol'")):
        output.unit = "kJ mol"
    assert output.unit == "eV"

    with pytest.raises(ValueError, match=re.escape("invalid unit 'eV/'")):
        output.unit = "eV/"


@pytest.mark.parametrize("sample_kind", ["system", "atom", "atom_pair"])
def test_sample_kind(sample_kind):
    assert ModelOutput(sample_kind=sample_kind).sample_kind == sample_kind
    # the third positional argument
    assert ModelOutput("", "eV", sample_kind).sample_kind == sample_kind

    output = ModelOutput()
    output.sample_kind = sample_kind
    assert output.sample_kind == sample_kind


def test_invalid_sample_kind():
    message = (
        "invalid sample_kind 'atoms': expected one of 'system', 'atom' or 'atom_pair'"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelOutput(sample_kind="atoms")

    output = ModelOutput(sample_kind="atom")
    with pytest.raises(ValueError, match=re.escape(message)):
        output.sample_kind = "atoms"
    assert output.sample_kind == "atom"

    message = "`sample_kind` must be a str (or a bool for the deprecated `per_atom`)"
    with pytest.raises(TypeError, match=re.escape(message + ", got int")):
        ModelOutput(sample_kind=1)


@pytest.mark.parametrize("per_atom, sample_kind", [(True, "atom"), (False, "system")])
def test_per_atom_argument(per_atom, sample_kind):
    # the old third positional argument
    with pytest.warns(DeprecationWarning, match=re.escape(PER_ATOM_WARNING)):
        output = ModelOutput("", "eV", per_atom)
    assert output.sample_kind == sample_kind

    # the old keyword
    output = ModelOutput(unit="eV", per_atom=per_atom)
    assert output.sample_kind == sample_kind


def test_per_atom_and_sample_kind():
    message = (
        "ModelOutput got both `sample_kind` and `per_atom`: only give `sample_kind` "
        "(`per_atom` is deprecated)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelOutput(sample_kind="atom", per_atom=True)
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelOutput("", "eV", True, per_atom=True)


def test_per_atom_property():
    output = ModelOutput(sample_kind="atom")
    with pytest.warns(DeprecationWarning, match=re.escape(PER_ATOM_WARNING)):
        assert output.per_atom is True

    # warned once
    with _no_warnings():
        assert ModelOutput(sample_kind="system").per_atom is False

        output.per_atom = False
        assert output.sample_kind == "system"
        output.per_atom = True
        assert output.sample_kind == "atom"

        output.sample_kind = "atom_pair"
        message = (
            "`per_atom` is not defined for outputs with sample_kind='atom_pair', use "
            "`sample_kind` instead"
        )
        with pytest.raises(ValueError, match=re.escape(message)):
            output.per_atom  # noqa: B018

        output.per_atom = False
        assert output.sample_kind == "system"


def test_per_atom_setter_warns():
    output = ModelOutput()
    with pytest.warns(DeprecationWarning, match=re.escape(PER_ATOM_WARNING)):
        output.per_atom = True
    assert output.sample_kind == "atom"


def test_quantity():
    with _no_warnings():
        output = ModelOutput(quantity="")
        output.quantity = ""
    assert output.quantity == ""

    with pytest.warns(DeprecationWarning, match=re.escape(QUANTITY_WARNING)):
        output = ModelOutput(quantity="energy", unit="eV")
    assert output.quantity == "energy"

    # warned once, and ignored
    with _no_warnings():
        output = ModelOutput(quantity="length", unit="eV")
        output.quantity = "force"
    assert output.quantity == "force"
    assert output.unit == "eV"


def test_quantity_setter_warns():
    output = ModelOutput()
    with pytest.warns(DeprecationWarning, match=re.escape(QUANTITY_WARNING)):
        output.quantity = "energy"
    assert output.quantity == "energy"


# ==================================================================================== #
#                                   ModelCapabilities                                  #
# ==================================================================================== #


def test_capabilities_defaults():
    capabilities = ModelCapabilities()
    assert capabilities.outputs == {}
    assert capabilities.atomic_types == []
    assert capabilities.interaction_range == -1.0
    assert capabilities.length_unit == ""
    assert capabilities.supported_devices == []
    assert capabilities.dtype == ""

    capabilities.atomic_types.append(1)
    capabilities.supported_devices.append("cpu")
    other = ModelCapabilities()
    assert other.atomic_types == []
    assert other.supported_devices == []


def test_capabilities_arguments():
    energy = ModelOutput(unit="eV", sample_kind="atom")
    capabilities = ModelCapabilities(
        outputs={"energy": energy},
        atomic_types=[1, 8],
        interaction_range=3.5,
        length_unit="angstrom",
        supported_devices=["cuda", "cpu"],
        dtype="float32",
    )
    assert capabilities.outputs == {"energy": energy}
    assert capabilities.outputs["energy"] is energy
    assert capabilities.atomic_types == [1, 8]
    assert capabilities.interaction_range == 3.5
    assert capabilities.length_unit == "angstrom"
    assert capabilities.supported_devices == ["cuda", "cpu"]
    assert capabilities.dtype == "float32"

    capabilities.atomic_types = [6]
    capabilities.interaction_range = 5.0
    capabilities.supported_devices = ["cpu"]
    assert capabilities.atomic_types == [6]
    assert capabilities.interaction_range == 5.0
    assert capabilities.supported_devices == ["cpu"]


INVALID_NAME = (
    "Invalid quantity name for model output '{}': this is not a standard quantity; "
    "variants of standard quantities look like '<quantity>/<variant>', and custom "
    "quantities must look like '<domain>::<name>', where <domain> says who defines "
    "this quantity"
)


@pytest.mark.parametrize("name", ["foo", "Energy", "energies", "", "foo/energy"])
def test_invalid_output_names(name):
    outputs = {name: ModelOutput(unit="eV")}
    with pytest.raises(ValueError, match=re.escape(INVALID_NAME.format(name))):
        ModelCapabilities(outputs=outputs)

    capabilities = _utils.capabilities()
    with pytest.raises(ValueError, match=re.escape(INVALID_NAME.format(name))):
        capabilities.outputs = outputs
    assert list(capabilities.outputs) == ["energy"]


@pytest.mark.parametrize(
    "name, reason",
    [
        ("energy/", "the variant after '/' can not be empty"),
        ("energy/a/b", "a name can only contain one '/' before its variant"),
        ("::dipole", "custom names must look like '<domain>::<name>' with a non-empty"),
        (
            "my_code::",
            "custom names must look like '<domain>::<name>' with a non-empty",
        ),
        ("my_code::dipole/", "the variant after '/' can not be empty"),
    ],
)
def test_invalid_output_name_parts(name, reason):
    message = f"Invalid quantity name for model output '{name}': {reason}"
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelCapabilities(outputs={name: ModelOutput(description="x")})


@pytest.mark.parametrize(
    "name", ["my_code::dipole", "my_code::dipole/v2", "a::b::c", "x::energy"]
)
def test_custom_outputs(name):
    # custom outputs are not checked: no unit needed, any unit accepted, and
    # variants without description do not warn
    with _no_warnings():
        capabilities = ModelCapabilities(
            outputs={name: ModelOutput(), name + "_2": ModelOutput(unit="K")}
        )
    assert list(capabilities.outputs) == [name, name + "_2"]


# a unit with the right dimension for each standard output
STANDARD_UNITS = {
    "energy": "eV",
    "energy_ensemble": "kcal/mol",
    "energy_uncertainty": "Hartree",
    "non_conservative_force": "eV/A",
    "non_conservative_stress": "eV/A^3",
    "position": "Bohr",
    "momentum": "(eV*u)^(1/2)",
    "velocity": "A/fs",
    "mass": "u",
    "charge": "e",
    "heat_flux": "eV*A/fs",
}
DIMENSIONLESS = ["feature", "spin_multiplicity"]


@pytest.mark.parametrize("name", list(STANDARD_UNITS))
def test_standard_output_units(name):
    unit = STANDARD_UNITS[name]
    with _no_warnings():
        ModelCapabilities(outputs={name: ModelOutput(unit=unit)})
        ModelCapabilities(
            outputs={name + "/v": ModelOutput(unit=unit, description="v")}
        )


@pytest.mark.parametrize(
    "name, unit, dimension, expected",
    [
        ("energy", "A", "L", "L^2 T^-2 M"),
        ("energy/pbe0", "A", "L", "L^2 T^-2 M"),
        ("energy_uncertainty", "eV/A", "L T^-2 M", "L^2 T^-2 M"),
        ("non_conservative_force", "eV", "L^2 T^-2 M", "L T^-2 M"),
        ("non_conservative_stress", "GPa*A^3", "L^2 T^-2 M", "L^-1 T^-2 M"),
        ("position", "fs", "T", "L"),
        ("momentum", "u*A", "L M", "L T^-1 M"),
        ("velocity", "A/fs^2", "L T^-2", "L T^-1"),
        ("mass", "eV", "L^2 T^-2 M", "M"),
        ("charge", "K", "T", "T I"),
        ("heat_flux", "eV/fs", "L^2 T^-3 M", "L^3 T^-3 M"),
    ],
)
def test_wrong_output_dimension(name, unit, dimension, expected):
    base = name.split("/")[0]
    message = (
        f"invalid unit for the output '{name}': unit '{unit}' has dimension "
        f"{dimension} which is incompatible with '{base}' ({expected})"
    )
    outputs = {name: ModelOutput(unit=unit, description="d")}
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        ModelCapabilities(outputs=outputs)

    capabilities = _utils.capabilities()
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        capabilities.outputs = outputs
    assert list(capabilities.outputs) == ["energy"]


def test_spec_dimension_message():
    # the message given in SPEC §1.5
    message = (
        "unit 'A' has dimension L which is incompatible with 'energy' (L^2 T^-2 M)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelCapabilities(outputs={"energy": ModelOutput(unit="A")})


@pytest.mark.parametrize("name", list(STANDARD_UNITS))
def test_empty_unit_warns(name):
    message = (
        f"the output '{name}' has no unit: engines can not convert it, set "
        "`ModelOutput.unit`"
    )
    with pytest.warns(UserWarning, match=re.escape(message)):
        ModelCapabilities(outputs={name: ModelOutput()})


@pytest.mark.parametrize("name", DIMENSIONLESS)
def test_dimensionless_outputs(name):
    with _no_warnings():
        ModelCapabilities(outputs={name: ModelOutput()})

    message = f"the output '{name}' is dimensionless but has a unit ('eV')"
    with pytest.warns(UserWarning, match=re.escape(message)):
        ModelCapabilities(outputs={name: ModelOutput(unit="eV")})


def test_variant_without_description_warns():
    message = (
        "the output 'energy/pbe0' is a variant but has no description: set "
        "`ModelOutput.description` to say how it differs from the other variants"
    )
    with pytest.warns(UserWarning, match=re.escape(message)):
        capabilities = ModelCapabilities(
            outputs={
                "energy": ModelOutput(unit="eV"),
                "energy/pbe0": ModelOutput(unit="eV"),
            }
        )
    assert list(capabilities.outputs) == ["energy", "energy/pbe0"]

    with _no_warnings():
        ModelCapabilities(
            outputs={"energy/r2scan": ModelOutput(unit="eV", description="r2SCAN")}
        )


@pytest.mark.parametrize(
    "plural, singular",
    [
        ("features", "feature"),
        ("non_conservative_forces", "non_conservative_force"),
        ("positions", "position"),
        ("momenta", "momentum"),
        ("masses", "mass"),
        ("velocities", "velocity"),
        ("charges", "charge"),
    ],
)
def test_deprecated_output_names(plural, singular):
    message = f"the '{plural}' name is deprecated, use '{singular}' instead"
    unit = STANDARD_UNITS.get(singular, "")
    with pytest.warns(DeprecationWarning, match=re.escape(message)):
        capabilities = ModelCapabilities(outputs={plural: ModelOutput(unit=unit)})
    # the names are kept as given (AtomisticModel advertises both)
    assert list(capabilities.outputs) == [plural]

    # the unit is checked for the singular quantity
    if singular != "feature":
        with pytest.raises(ValueError, match=f"incompatible with '{singular}'"):
            ModelCapabilities(outputs={plural: ModelOutput(unit="fs")})


@pytest.mark.parametrize("dtype", ["float32", "float64", ""])
def test_capabilities_dtype(dtype):
    capabilities = ModelCapabilities(dtype=dtype)
    assert capabilities.dtype == dtype
    capabilities.dtype = "float64"
    assert capabilities.dtype == "float64"
    capabilities.dtype = dtype
    assert capabilities.dtype == dtype


@pytest.mark.parametrize("dtype", ["float16", "double", "torch.float64", "int32"])
def test_invalid_capabilities_dtype(dtype):
    message = f"invalid dtype '{dtype}': expected 'float32' or 'float64'"
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelCapabilities(dtype=dtype)

    capabilities = ModelCapabilities(dtype="float32")
    with pytest.raises(ValueError, match=re.escape(message)):
        capabilities.dtype = dtype
    assert capabilities.dtype == "float32"


def test_capabilities_length_unit():
    capabilities = ModelCapabilities(length_unit="Bohr")
    assert capabilities.length_unit == "Bohr"
    capabilities.length_unit = "nm"
    assert capabilities.length_unit == "nm"

    message = (
        "invalid length_unit: unit 'eV' has dimension L^2 T^-2 M which is "
        "incompatible with 'length_unit' (L)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelCapabilities(length_unit="eV")
    with pytest.raises(ValueError, match=re.escape(message)):
        capabilities.length_unit = "eV"
    with pytest.raises(ValueError, match=re.escape("unknown unit 'foo'")):
        capabilities.length_unit = "foo"
    assert capabilities.length_unit == "nm"


def test_engine_interaction_range():
    capabilities = ModelCapabilities(interaction_range=3.5)
    # no length unit, no conversion
    assert capabilities.engine_interaction_range("nm") == 3.5

    capabilities.length_unit = "nm"
    assert capabilities.engine_interaction_range("angstrom") == pytest.approx(35.0)
    assert capabilities.engine_interaction_range("nm") == 3.5
    assert capabilities.engine_interaction_range("") == 3.5

    capabilities.interaction_range = math.inf
    assert capabilities.engine_interaction_range("angstrom") == math.inf
    assert capabilities.engine_interaction_range("") == math.inf

    with pytest.raises(ValueError, match="dimension mismatch in unit conversion"):
        capabilities.engine_interaction_range("fs")


# ==================================================================================== #
#                                ModelEvaluationOptions                                #
# ==================================================================================== #


def test_evaluation_options():
    options = ModelEvaluationOptions()
    assert options.length_unit == ""
    assert options.outputs == {}
    assert options.selected_atoms is None

    energy = ModelOutput(unit="eV")
    selected = _utils.labels(["system", "atom"], [[0, 1], [0, 3]])
    options = ModelEvaluationOptions(
        length_unit="Bohr", outputs={"energy": energy}, selected_atoms=selected
    )
    assert options.length_unit == "Bohr"
    assert options.outputs["energy"] is energy
    assert options.selected_atoms is selected

    options.selected_atoms = None
    assert options.selected_atoms is None
    options.outputs = {}
    assert options.outputs == {}
    options.length_unit = ""
    assert options.length_unit == ""


@pytest.mark.parametrize(
    "names", [["atom", "system"], ["system"], ["system", "atom", "extra"], ["s", "a"]]
)
def test_selected_atoms_names(names):
    selected = Labels(names, torch.zeros((1, len(names)), dtype=torch.int32))
    message = (
        "invalid `selected_atoms`: expected Labels with the names ['system', 'atom'], "
        f"got [{', '.join(names)}]"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelEvaluationOptions(selected_atoms=selected)

    options = ModelEvaluationOptions()
    with pytest.raises(ValueError, match=re.escape(message)):
        options.selected_atoms = selected
    assert options.selected_atoms is None


def test_evaluation_length_unit():
    message = (
        "invalid length_unit: unit 'fs' has dimension T which is incompatible with "
        "'length_unit' (L)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelEvaluationOptions(length_unit="fs")

    options = ModelEvaluationOptions(length_unit="A")
    with pytest.raises(ValueError, match=re.escape(message)):
        options.length_unit = "fs"
    assert options.length_unit == "A"


# ==================================================================================== #
#                                      TorchScript                                     #
# ==================================================================================== #


def _use_output(unit: str, sample_kind: str) -> Tuple[str, str, List[str], str, str]:
    output = ModelOutput(
        unit=unit,
        sample_kind=sample_kind,
        explicit_gradients=["positions"],
        description="d",
    )
    output.unit = "kcal/mol"
    output.explicit_gradients = ["positions", "strain"]
    output.description = "described"
    return (
        output.unit,
        output.sample_kind,
        output.explicit_gradients,
        output.description,
        output.__repr__(),
    )


def test_output_torchscript():
    scripted = torch.jit.script(_use_output)
    for kind in ["system", "atom", "atom_pair"]:
        assert scripted("eV", kind) == _use_output("eV", kind)
    assert _use_output("eV", "atom")[:4] == (
        "kcal/mol",
        "atom",
        ["positions", "strain"],
        "described",
    )

    with pytest.raises(torch.jit.Error, match="invalid sample_kind 'atoms'"):
        scripted("eV", "atoms")
    with pytest.raises(torch.jit.Error, match="unknown unit 'foo'"):
        scripted("foo", "atom")


def _per_atom_output(per_atom: bool) -> Tuple[str, bool]:
    output = ModelOutput("", "eV", per_atom)
    return output.sample_kind, output.per_atom


def _quantity_output(quantity: str) -> str:
    output = ModelOutput(quantity, "eV")
    return output.quantity


def test_output_torchscript_deprecated():
    # TorchScript only has UserWarning
    scripted = torch.jit.script(_per_atom_output)
    with pytest.warns(UserWarning, match=re.escape(PER_ATOM_WARNING)):
        assert scripted(True) == ("atom", True)

    scripted = torch.jit.script(_quantity_output)
    with pytest.warns(UserWarning, match=re.escape(QUANTITY_WARNING)):
        assert scripted("energy") == "energy"

    def both() -> ModelOutput:
        return ModelOutput(sample_kind="atom", per_atom=True)

    with pytest.raises(torch.jit.Error, match="got both `sample_kind` and `per_atom`"):
        torch.jit.script(both)()


def _two_deprecations() -> str:
    output = ModelOutput("energy", "eV", True)
    return output.quantity


@pytest.mark.xfail(
    strict=True,
    reason="TorchScript shows each `warnings.warn` statement once per call, and "
    "every message of `_warnings.warn_once` goes through the same statement: the "
    "second message of a call is lost",
)
def test_torchscript_shows_every_deprecation():
    scripted = torch.jit.script(_two_deprecations)
    with pytest.warns(UserWarning) as record:
        scripted()
    messages = [str(w.message) for w in record]
    assert PER_ATOM_WARNING in messages
    assert QUANTITY_WARNING in messages


def _use_capabilities(
    outputs: Dict[str, ModelOutput], length_unit: str, dtype: str
) -> Tuple[List[str], List[int], float, str, List[str], str, float, float]:
    capabilities = ModelCapabilities(
        outputs=outputs,
        atomic_types=[1, 8],
        interaction_range=3.5,
        length_unit=length_unit,
        supported_devices=["cuda", "cpu"],
        dtype=dtype,
    )
    capabilities.outputs = outputs
    capabilities.atomic_types = [6, 1]
    capabilities.supported_devices = ["cpu"]
    capabilities.dtype = dtype
    capabilities.length_unit = length_unit
    engine_range = capabilities.engine_interaction_range("angstrom")
    capabilities.interaction_range = float("inf")
    infinite_range = capabilities.engine_interaction_range("angstrom")
    names: List[str] = []
    for name in capabilities.outputs.keys():
        names.append(name)
    return (
        names,
        capabilities.atomic_types,
        capabilities.interaction_range,
        capabilities.length_unit,
        capabilities.supported_devices,
        capabilities.dtype,
        engine_range,
        infinite_range,
    )


def test_capabilities_torchscript():
    scripted = torch.jit.script(_use_capabilities)
    outputs = {
        "energy": ModelOutput(unit="eV"),
        "energy/pbe0": ModelOutput(unit="eV", description="PBE0"),
        "my_code::dipole": ModelOutput(),
    }
    expected = _use_capabilities(outputs, "nm", "float32")
    assert scripted(outputs, "nm", "float32") == expected
    assert expected[0] == ["energy", "energy/pbe0", "my_code::dipole"]
    assert expected[1:6] == ([6, 1], math.inf, "nm", ["cpu"], "float32")
    assert expected[6] == pytest.approx(35.0)
    assert expected[7] == math.inf

    with pytest.raises(torch.jit.Error, match="invalid dtype 'float16'"):
        scripted(outputs, "nm", "float16")
    with pytest.raises(torch.jit.Error, match="invalid length_unit: unit 'eV'"):
        scripted(outputs, "eV", "float32")
    with pytest.raises(torch.jit.Error, match="Invalid quantity name"):
        scripted({"foo": ModelOutput()}, "nm", "float32")
    message = "invalid unit for the output 'energy': unit 'A' has dimension L"
    with pytest.raises(torch.jit.Error, match=re.escape(message)):
        scripted({"energy": ModelOutput(unit="A")}, "nm", "float32")
    with pytest.warns(UserWarning, match="the output 'energy/x' is a variant"):
        scripted({"energy/x": ModelOutput(unit="eV")}, "nm", "float32")


def _use_evaluation_options(
    selected_atoms: Optional[Labels],
) -> Tuple[str, List[str], Optional[Labels]]:
    options = ModelEvaluationOptions(
        length_unit="nm",
        outputs={"energy": ModelOutput(unit="eV")},
        selected_atoms=selected_atoms,
    )
    options.length_unit = "Bohr"
    options.outputs = {"energy": ModelOutput(unit="eV"), "charge": ModelOutput()}
    options.selected_atoms = selected_atoms
    names: List[str] = []
    for name in options.outputs.keys():
        names.append(name)
    return options.length_unit, names, options.selected_atoms


def test_evaluation_options_torchscript():
    scripted = torch.jit.script(_use_evaluation_options)
    assert scripted(None) == ("Bohr", ["energy", "charge"], None)

    selected = _utils.labels(["system", "atom"], [[0, 1]])
    length_unit, _, result = scripted(selected)
    assert length_unit == "Bohr"
    assert result == selected

    with pytest.raises(torch.jit.Error, match="invalid `selected_atoms`"):
        scripted(_utils.labels(["atom", "system"], [[0, 1]]))
