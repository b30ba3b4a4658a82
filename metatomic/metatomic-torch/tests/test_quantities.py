"""Tests of unit_dimension_for_quantity and of the quantity names (SPEC §2)"""

import re
import warnings

import pytest
import torch

from metatomic.torch import _units, unit_dimension_for_quantity

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

# SPEC §2, the table of standard quantities
STANDARD = {
    "energy": "energy",
    "energy_ensemble": "energy",
    "energy_uncertainty": "energy",
    "feature": "none",
    "non_conservative_force": "force",
    "non_conservative_stress": "pressure",
    "position": "length",
    "momentum": "momentum",
    "velocity": "velocity",
    "mass": "mass",
    "charge": "charge",
    "heat_flux": "heat_flux",
    "spin_multiplicity": "none",
}

DEPRECATED = {
    "features": "feature",
    "non_conservative_forces": "non_conservative_force",
    "positions": "position",
    "momenta": "momentum",
    "masses": "mass",
    "velocities": "velocity",
    "charges": "charge",
}


@pytest.mark.parametrize("name, dimension", STANDARD.items())
def test_standard_quantities(name, dimension):
    assert unit_dimension_for_quantity(name) == dimension
    assert unit_dimension_for_quantity(name + "/variant") == dimension
    assert unit_dimension_for_quantity(name + "/a_b-c.d") == dimension


def test_dimension_names():
    # SPEC §2: the possible results, all of them usable to check units
    results = {unit_dimension_for_quantity(name) for name in STANDARD}
    assert results == {
        "energy",
        "none",
        "force",
        "pressure",
        "length",
        "momentum",
        "velocity",
        "mass",
        "charge",
        "heat_flux",
    }
    assert results == set(_units.dimension_names())


@pytest.mark.parametrize("plural, singular", DEPRECATED.items())
def test_deprecated_names(plural, singular):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert unit_dimension_for_quantity(plural) == STANDARD[singular]
        assert unit_dimension_for_quantity(plural + "/v") == STANDARD[singular]


@pytest.mark.parametrize(
    "name",
    ["my_code::dipole", "my_code::dipole/v2", "a::energy", "energy::x", "a::b::c"],
)
def test_custom_names(name):
    assert unit_dimension_for_quantity(name) == ""


UNKNOWN = (
    "this is not a standard quantity; variants of standard quantities look like "
    "'<quantity>/<variant>', and custom quantities must look like "
    "'<domain>::<name>', where <domain> says who defines this quantity"
)


@pytest.mark.parametrize(
    "name, reason",
    [
        ("foo", UNKNOWN),
        ("", UNKNOWN),
        ("Energy", UNKNOWN),
        ("energies", UNKNOWN),
        ("energy_", UNKNOWN),
        ("/energy", UNKNOWN),
        ("my_code:dipole", UNKNOWN),
        ("energy/", "the variant after '/' can not be empty"),
        ("energy/a/b", "a name can only contain one '/' before its variant"),
        ("::dipole", "custom names must look like '<domain>::<name>' with a non-empty"),
        (
            "my_code::",
            "custom names must look like '<domain>::<name>' with a non-empty",
        ),
        ("my_code::/v", "custom names must look like '<domain>::<name>' with a"),
        ("my_code::dipole/", "the variant after '/' can not be empty"),
    ],
)
def test_invalid_names(name, reason):
    message = f"Invalid quantity name for unit_dimension_for_quantity '{name}': "
    with pytest.raises(ValueError, match=re.escape(message + reason)):
        unit_dimension_for_quantity(name)


def test_torchscript():
    scripted = torch.jit.script(unit_dimension_for_quantity)
    for name in ["energy", "heat_flux/v", "masses", "a::b", "spin_multiplicity"]:
        assert scripted(name) == unit_dimension_for_quantity(name)

    with pytest.raises(torch.jit.Error, match="Invalid quantity name"):
        scripted("foo")
