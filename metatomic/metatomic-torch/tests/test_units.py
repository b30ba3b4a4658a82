"""Tests for the unit expressions of ``metatomic.torch._units`` (SPEC §3).

Most tests run twice, once on the Python functions and once on their
``torch.jit.script`` compilations, which must give the same values and errors.
"""

import ast
import io
import re
import timeit
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from metatomic.torch import _units
from metatomic.torch._units import (
    check_unit_dimension,
    unit_conversion_factor,
    unit_dimension_of,
    validate_unit,
)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

PUBLIC_FUNCTIONS = [
    "unit_conversion_factor",
    "unit_dimension_of",
    "check_unit_dimension",
    "validate_unit",
    "dimension_names",
]

_SCRIPTED = {}


def _scripted_functions():
    if not _SCRIPTED:
        for name in PUBLIC_FUNCTIONS:
            _SCRIPTED[name] = torch.jit.script(getattr(_units, name))
    return SimpleNamespace(**_SCRIPTED)


EAGER = SimpleNamespace(**{name: getattr(_units, name) for name in PUBLIC_FUNCTIONS})


@pytest.fixture(params=["eager", "script"])
def units(request):
    """The public functions, in eager Python or compiled with TorchScript."""
    if request.param == "eager":
        return EAGER
    return _scripted_functions()


@pytest.fixture
def raises(request, units):
    """``pytest.raises`` for a ValueError, as raised in the current mode."""

    def check(message):
        # scripted code raises torch.jit.Error wrapping the original exception
        expected = ValueError if units is EAGER else torch.jit.Error
        return pytest.raises(expected, match=re.escape(message))

    return check


@pytest.fixture
def fresh_warnings():
    """Forget that the deprecation warnings were already emitted."""
    _units._WARNED_ONCE.clear()
    yield
    _units._WARNED_ONCE.clear()


# ============================================================================ #
#                          values and the unit table                           #
# ============================================================================ #

SPOT_CHECKS = [
    ("Hartree", "eV", 27.211386245981465),
    ("kcal/mol", "eV", 0.043364104241800934),
    ("eV/A^3", "GPa", 160.21766339999996),
    ("eV/A", "Hartree/Bohr", 0.01944690379833067),
    ("(eV*u)^(1/2)", "u*A/fs", 0.09822694743376074),
    ("A", "nm", 0.09999999999999999),
]


@pytest.mark.parametrize("from_unit, to_unit, expected", SPOT_CHECKS)
def test_spot_checks(units, from_unit, to_unit, expected):
    assert units.unit_conversion_factor(from_unit, to_unit) == expected


def test_ha_is_unknown(units, raises):
    with raises("unknown unit 'Ha' in 'Ha'"):
        units.unit_conversion_factor("Ha", "eV")


LENGTH = [1.0, 0.0, 0.0, 0.0, 0.0]
ENERGY = [2.0, -2.0, 1.0, 0.0, 0.0]
TIME = [0.0, 1.0, 0.0, 0.0, 0.0]
MASS = [0.0, 0.0, 1.0, 0.0, 0.0]
CHARGE = [0.0, 1.0, 0.0, 1.0, 0.0]
PRESSURE = [-1.0, -2.0, 1.0, 0.0, 0.0]
TEMPERATURE = [0.0, 0.0, 0.0, 0.0, 1.0]

# (names, SI factor, dimension, SI unit expression), from SPEC §3
UNIT_TABLE = [
    (["kelvin", "k"], 1.0, TEMPERATURE, "K"),
    (["angstrom", "a"], 1e-10, LENGTH, "m"),
    (["bohr"], 5.2917721054482e-11, LENGTH, "m"),
    (["nm", "nanometer"], 1e-9, LENGTH, "m"),
    (["meter", "m"], 1.0, LENGTH, "m"),
    (["cm", "centimeter"], 1e-2, LENGTH, "m"),
    (["mm", "millimeter"], 1e-3, LENGTH, "m"),
    (["um", "µm", "micrometer"], 1e-6, LENGTH, "m"),
    (["electronvolt", "ev"], 1.602176634e-19, ENERGY, "J"),
    (["mev"], 1.602176634e-22, ENERGY, "J"),
    (["hartree"], 4.359744722206048e-18, ENERGY, "J"),
    (["ry", "rydberg"], 2.179872361103024e-18, ENERGY, "J"),
    (["joule", "j"], 1.0, ENERGY, "J"),
    (["kcal"], 4184.0, ENERGY, "J"),
    (["kj"], 1000.0, ENERGY, "J"),
    (["s", "second"], 1.0, TIME, "s"),
    (["ms", "millisecond"], 1e-3, TIME, "s"),
    (["us", "µs", "microsecond"], 1e-6, TIME, "s"),
    (["ns", "nanosecond"], 1e-9, TIME, "s"),
    (["ps", "picosecond"], 1e-12, TIME, "s"),
    (["fs", "femtosecond"], 1e-15, TIME, "s"),
    (["u", "dalton"], 1.6605390689252e-27, MASS, "kg"),
    (["kg", "kilogram"], 1.0, MASS, "kg"),
    (["g", "gram"], 1e-3, MASS, "kg"),
    (["electron_mass", "m_e"], 9.109383713928e-31, MASS, "kg"),
    (["e"], 1.602176634e-19, CHARGE, "C"),
    (["coulomb", "c"], 1.0, CHARGE, "C"),
    (["pa", "pascal"], 1.0, PRESSURE, "Pa"),
    (["kpa", "kilopascal"], 1e3, PRESSURE, "Pa"),
    (["mpa", "megapascal"], 1e6, PRESSURE, "Pa"),
    (["gpa", "gigapascal"], 1e9, PRESSURE, "Pa"),
    (["bar"], 1e5, PRESSURE, "Pa"),
    (["atm"], 101325.0, PRESSURE, "Pa"),
    (["debye", "d"], 1e-21 / 299792458, [1.0, 1.0, 0.0, 1.0, 0.0], "C*m"),
    (["mol"], 6.02214076e23, [0.0, 0.0, 0.0, 0.0, 0.0], "1"),
    (["hbar"], 1.0545718176462e-34, [2.0, -1.0, 1.0, 0.0, 0.0], "J*s"),
]

UNIT_NAMES = [
    (name, factor, dimension, si)
    for names, factor, dimension, si in UNIT_TABLE
    for name in names
]


@pytest.mark.parametrize("name, factor, dimension, si", UNIT_NAMES)
def test_unit_table(units, name, factor, dimension, si):
    assert units.unit_conversion_factor(name, si) == factor
    # only ASCII letters change case: str.upper() would turn µ into a Greek Mu
    upper = "".join(c.upper() if c.isascii() else c for c in name)
    assert units.unit_conversion_factor(upper, si) == factor
    assert units.unit_dimension_of(name) == dimension


def test_unit_table_has_exactly_the_spec_names():
    assert sorted(_units._unit_table()) == sorted(name for name, *_ in UNIT_NAMES)


def test_derived_dimensions(units):
    assert units.unit_dimension_of("hbar") == units.unit_dimension_of("J*s")
    assert units.unit_dimension_of("debye") == units.unit_dimension_of("e*A")
    assert units.unit_dimension_of("e") == units.unit_dimension_of("s*A/A*C/s")
    assert units.unit_dimension_of("kJ/mol") == ENERGY


# ============================================================================ #
#                                 the grammar                                  #
# ============================================================================ #


def test_case_insensitive(units):
    # MeV is milli-electronvolt, not mega-electronvolt
    assert units.unit_conversion_factor("MeV", "eV") == 1e-3
    assert units.unit_conversion_factor("meV", "eV") == 1e-3
    assert units.unit_conversion_factor("Mpa", "MPa") == 1.0
    assert units.unit_conversion_factor("MPA", "pa") == 1e6
    assert units.unit_conversion_factor("ANGSTROM", "Bohr") == pytest.approx(
        1 / 0.52917721054482, rel=1e-12
    )


def test_micro_sign(units, raises):
    assert units.unit_conversion_factor("µm", "um") == 1.0
    assert units.unit_conversion_factor("µs", "fs") == pytest.approx(1e9)
    assert units.unit_conversion_factor("µm/µs", "m/s") == 1.0
    assert units.unit_conversion_factor("eV/µm", "eV/A") == pytest.approx(1e-4)
    # the Greek small letter mu (U+03BC) is another character
    with raises("unknown unit 'μm' in 'μm'"):
        units.unit_dimension_of("μm")


def test_only_ascii_letters_are_lowercased(units, raises):
    # str.lower() maps the Kelvin sign (U+212A) to "k", TorchScript does not
    with raises("unknown unit '\u212a' in '\u212a'"):
        units.unit_dimension_of("\u212a")
    with raises("unknown unit 'Μm' in 'Μm'"):
        units.unit_dimension_of("Μm")


def test_whitespace_does_not_split_tokens(units, raises):
    with raises("unknown unit 'kJmol' in 'kJ mol'"):
        units.unit_conversion_factor("kJ mol", "eV")
    assert units.unit_conversion_factor(" e V / A ", "eV/A") == 1.0
    assert units.unit_conversion_factor("\teV\n*\r(A)^ -1 ", "eV/A") == 1.0
    assert units.unit_conversion_factor("k cal / mol", "kcal/mol") == 1.0
    assert units.unit_conversion_factor("e\x0bV\x0c/A", "eV/A") == 1.0
    # only ASCII whitespace is dropped, in both modes
    with raises("unknown unit 'e\xa0V' in 'e\xa0V'"):
        units.unit_dimension_of("e\xa0V")
    with raises("unknown unit 'e\x1cV' in 'e\x1cV'"):
        units.unit_dimension_of("e\x1cV")


def test_empty_units_skip_every_check(units):
    assert units.unit_conversion_factor("", "not a unit") == 1.0
    assert units.unit_conversion_factor("not a unit", "") == 1.0
    assert units.unit_conversion_factor("", "") == 1.0


@pytest.mark.parametrize(
    "expression, reference, expected",
    [
        ("A^-1", "1/A", 1.0),
        ("s^-2", "1/s/s", 1.0),
        ("A^+2", "A*A", 1.0),
        ("A^3", "A*A*A", 1.0),
        ("eV/A^2", "eV/(A*A)", 1.0),
        ("(eV/A)^2", "eV*eV/(A*A)", 1.0),
        # left associative
        ("eV/A*A", "eV", 1.0),
        ("eV/A/A", "eV/(A*A)", 1.0),
        ("A^2^3", "A^6", 1.0),
        # the exponent is a whole dimensionless sub-expression
        ("A^(1/2)", "A^0.5", 1.0),
        ("A^(2*3)", "A^6", 1.0),
        ("A^(mol/mol)", "A", 1.0),
        ("A^-(1/2)", "A^-0.5", 1.0),
        ("A^-(1/2)*A", "A^0.5", 1.0),
        ("A^-(1)^2", "1/A", 1.0),
        # number literals are dimensionless
        ("2*eV", "eV", 2.0),
        ("1e-3*eV", "meV", 1.0),
        ("1E+3*meV", "eV", 1.0),
        ("0.5*A", "A", 0.5),
        (".5*A", "A", 0.5),
        ("5.*A", "A", 5.0),
        ("-1*A", "A", -1.0),
        ("((eV))", "eV", 1.0),
    ],
)
def test_grammar(units, expression, reference, expected):
    factor = units.unit_conversion_factor(expression, reference)
    assert factor == pytest.approx(expected, rel=1e-12)
    assert units.unit_dimension_of(expression) == pytest.approx(
        units.unit_dimension_of(reference), abs=1e-12
    )


def test_plus_is_not_an_operator(units, raises):
    with raises("unknown unit '1+0' in 'A^(1+0)'"):
        units.unit_dimension_of("A^(1+0)")


def test_sqrt_units(units):
    # the standard momentum and velocity units of SPEC §1.6
    assert units.unit_dimension_of("(eV*u)^(1/2)") == [1.0, -1.0, 1.0, 0.0, 0.0]
    assert units.unit_dimension_of("(eV/u)^(1/2)") == [1.0, -1.0, 0.0, 0.0, 0.0]
    factor = units.unit_conversion_factor("(eV/u)^(1/2)", "A/fs")
    assert factor == pytest.approx(0.09822694743376074, rel=1e-12)


@pytest.mark.parametrize(
    "expression, message",
    [
        ("eV*", "invalid unit 'eV*': missing a unit or number after '*'"),
        ("eV/", "invalid unit 'eV/': missing a unit or number after '/'"),
        ("A^", "invalid unit 'A^': missing a unit or number after '^'"),
        ("A^-", "invalid unit 'A^-': missing a unit or number after '-'"),
        ("*eV", "invalid unit '*eV': missing a unit or number before '*'"),
        ("eV**2", "invalid unit 'eV**2': missing a unit or number before '*'"),
        ("eV/(*A)", "invalid unit 'eV/(*A)': missing a unit or number before '*'"),
        ("(eV*)", "invalid unit '(eV*)': missing a unit or number before ')'"),
        ("eV()", "invalid unit 'eV()': missing an operator before '('"),
        ("()", "invalid unit '()': empty parentheses"),
        ("(eV", "invalid unit '(eV': unclosed '('"),
        ("((eV)", "invalid unit '((eV)': unclosed '('"),
        ("eV)", "invalid unit 'eV)': unmatched ')'"),
        ("(eV))(", "invalid unit '(eV))(': unmatched ')'"),
        ("eV(A)", "invalid unit 'eV(A)': missing an operator before '('"),
        ("(eV)A", "invalid unit '(eV)A': missing an operator before 'A'"),
        ("(eV)-(A)", "'-' can only be used as a sign, there is no subtraction"),
        (" ", "invalid unit ' ': empty expression"),
        ("eV^A", "invalid unit 'eV^A': the exponent must be dimensionless, got"),
        ("eV^(eV/A)", "the exponent must be dimensionless, got dimension L"),
        ("-(eV)", "'-' can only apply to a dimensionless value, got dimension"),
        ("A^-(A)", "invalid unit 'A^-(A)': '-' can only apply to a dimensionless"),
        ("2eV", "unknown unit '2eV' in '2eV'"),
        ("1e", "unknown unit '1e' in '1e'"),
        ("1_0*eV", "unknown unit '1_0' in '1_0*eV'"),
        ("eV/Angstrom/Ha", "unknown unit 'Ha' in 'eV/Angstrom/Ha'"),
        ("-", "invalid unit '-': missing a unit or number after '-'"),
        ("eV-", "unknown unit 'eV-' in 'eV-'"),
        ("kJ mol^-1", "unknown unit 'kJmol' in 'kJ mol^-1'"),
    ],
)
def test_parse_errors(units, raises, expression, message):
    with raises(message):
        units.unit_conversion_factor(expression, "eV")
    with raises(message):
        units.unit_conversion_factor("eV", expression)
    with raises(message):
        units.unit_dimension_of(expression)
    with raises(message):
        units.validate_unit(expression)
    assert message in units.check_unit_dimension(expression, "energy", "energy")


def test_errors_are_not_cached(raises, units):
    for _ in range(3):
        with raises("unknown unit 'Ha' in 'Ha/Bohr'"):
            units.unit_dimension_of("Ha/Bohr")


@pytest.mark.parametrize(
    "expression",
    [
        "A^-1000",
        "Bohr^-400",
        "inf",
        "-inf*eV",
        "nan*eV",
        "Infinity",
        "+NaN*A",
        "eV/0",
        "eV*0^-1",
        "eV*(-1)^(1/2)",
        "eV*(-2)^0.5",
    ],
)
def test_non_finite_factors(units, raises, expression):
    with raises("invalid unit '" + expression + "': the conversion factor is not"):
        units.unit_dimension_of(expression)


def test_finite_edge_cases(units):
    # underflow to zero and negative integer powers are fine on their own
    assert units.unit_conversion_factor("A^400", "m^400") == 0.0
    assert units.unit_conversion_factor("(-2)^3*A", "A") == -8.0
    assert units.unit_conversion_factor("0^0*A", "A") == 1.0
    assert units.unit_conversion_factor("1e308*eV", "eV") == 1e308


def test_non_finite_conversion(units, raises):
    with raises("the conversion factor from 'm^40' to 'A^40' is not finite"):
        units.unit_conversion_factor("m^40", "A^40")
    with raises("the conversion factor from 'A' to '0*A' is not finite"):
        units.unit_conversion_factor("A", "0*A")


# ============================================================================ #
#                                  dimensions                                  #
# ============================================================================ #


def test_dimension_mismatch_message(units, raises):
    # temperature prints as "T", the letter of time, as upstream does
    with raises(
        "dimension mismatch in unit conversion: 'K' has dimension T but 'eV' "
        "has dimension L^2 T^-2 M"
    ):
        units.unit_conversion_factor("K", "eV")


@pytest.mark.parametrize(
    "unit, text",
    [
        ("A", "L"),
        ("eV/A", "L T^-2 M"),
        ("C", "T I"),
        ("debye", "L T I"),
        ("K^2", "T^2"),
        ("A^(1/2)", "L^0.5"),
        ("A^(-3/2)", "L^-1.5"),
        ("A^(1/3)", "L^0.333333"),
        ("A^(-1/8)", "L^-0.125"),
        ("A^(1/3)*A^(2/3)", "L"),
        ("mol", "1"),
        ("2", "1"),
        ("A/m", "1"),
        # A and m are both lengths
        ("kg*m^2/s^2/A^2", "T^-2 M"),
    ],
)
def test_dimension_text(units, raises, unit, text):
    message = "dimension mismatch in unit conversion: '" + unit + "' has dimension "
    message += text + " but 'mol*K' has dimension T"
    with raises(message):
        units.unit_conversion_factor(unit, "mol*K")


def test_dimensions_match_within_tolerance(units):
    # 3 * (1/3) is not exactly 1 in floating point
    factor = units.unit_conversion_factor("A^(1/3)^3", "nm")
    assert factor == pytest.approx(0.1, rel=1e-12)
    assert units.unit_dimension_of("A^(1/3)^3") == pytest.approx(LENGTH, abs=1e-12)


@pytest.mark.parametrize(
    "unit, dimension",
    [
        ("", LENGTH),
        ("eV", ENERGY),
        ("eV/A", [1.0, -2.0, 1.0, 0.0, 0.0]),
        ("kcal/mol", ENERGY),
        ("K", TEMPERATURE),
        ("mol", [0.0, 0.0, 0.0, 0.0, 0.0]),
        ("2.5", [0.0, 0.0, 0.0, 0.0, 0.0]),
    ],
)
def test_unit_dimension_of(units, raises, unit, dimension):
    if unit == "":
        with raises("invalid unit '': empty expression"):
            units.unit_dimension_of(unit)
        return
    assert units.unit_dimension_of(unit) == dimension


def test_unit_dimension_of_returns_a_copy():
    first = unit_dimension_of("eV")
    first[0] = 42.0
    assert unit_dimension_of("eV") == ENERGY
    assert unit_dimension_of("eV/A")[0] == 1.0


NAMED_DIMENSIONS = {
    "length": ("Bohr", "L"),
    "energy": ("kJ/mol", "L^2 T^-2 M"),
    "force": ("eV/A", "L T^-2 M"),
    "pressure": ("GPa", "L^-1 T^-2 M"),
    "momentum": ("(eV*u)^(1/2)", "L T^-1 M"),
    "mass": ("u", "M"),
    "velocity": ("A/fs", "L T^-1"),
    "charge": ("e", "T I"),
    "heat_flux": ("eV*A/fs", "L^3 T^-3 M"),
    "none": ("mol", "1"),
}


def test_dimension_names(units):
    assert units.dimension_names() == list(NAMED_DIMENSIONS)


@pytest.mark.parametrize("dimension", list(NAMED_DIMENSIONS))
def test_check_unit_dimension(units, dimension):
    unit, text = NAMED_DIMENSIONS[dimension]
    assert units.check_unit_dimension(unit, dimension, "x") == ""
    assert units.check_unit_dimension("", dimension, "x") == ""

    wrong = "K" if dimension != "none" else "eV"
    wrong_text = "T" if dimension != "none" else "L^2 T^-2 M"
    expected = (
        "unit '" + wrong + "' has dimension " + wrong_text + " which is "
        "incompatible with 'my_output' (" + text + ")"
    )
    assert units.check_unit_dimension(wrong, dimension, "my_output") == expected


def test_check_unit_dimension_messages(units):
    assert (
        units.check_unit_dimension("A", "energy", "energy")
        == "unit 'A' has dimension L which is incompatible with 'energy' (L^2 T^-2 M)"
    )
    assert (
        units.check_unit_dimension("eV", "none", "feature")
        == "unit 'eV' has dimension L^2 T^-2 M which is incompatible with "
        "'feature' (1)"
    )
    # parse errors are returned, not raised
    assert units.check_unit_dimension("Ha", "energy", "energy") == (
        "unknown unit 'Ha' in 'Ha'"
    )
    assert units.check_unit_dimension("(eV", "energy", "energy") == (
        "invalid unit '(eV': unclosed '('"
    )


def test_check_unit_dimension_unknown_name(units, raises):
    message = (
        "unknown dimension 'enrgy', expected one of: length, energy, force, "
        "pressure, momentum, mass, velocity, charge, heat_flux, none"
    )
    with raises(message):
        units.check_unit_dimension("eV", "enrgy", "energy")
    with raises(message):
        units.check_unit_dimension("", "enrgy", "energy")


def test_validate_unit(units, raises):
    units.validate_unit("")
    units.validate_unit("kcal/mol")
    units.validate_unit("K")
    with raises("unknown unit 'kJmol' in 'kJ mol'"):
        units.validate_unit("kJ mol")


# ============================================================================ #
#                          deprecated quantity argument                          #
# ============================================================================ #

DEPRECATION_MESSAGE = (
    "the `quantity` argument of unit_conversion_factor is deprecated and ignored, "
    "call `unit_conversion_factor(from_unit, to_unit)` instead"
)


def test_deprecated_three_arguments_warn_once(fresh_warnings):
    with pytest.warns(DeprecationWarning, match=re.escape(DEPRECATION_MESSAGE)) as w:
        assert unit_conversion_factor("energy", "eV", "meV") == pytest.approx(1000.0)
    assert len(w) == 1
    # the warning points at the caller
    assert w[0].filename == __file__

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert unit_conversion_factor("energy", "eV", "meV") == pytest.approx(1000.0)
        assert unit_conversion_factor("length", "A", "nm") == 0.09999999999999999
        assert unit_conversion_factor(quantity="energy", from_unit="eV", to_unit="J")
    assert len(w) == 0


def test_deprecated_quantity_keyword_warns_once(fresh_warnings):
    with pytest.warns(DeprecationWarning, match=re.escape(DEPRECATION_MESSAGE)) as w:
        factor = unit_conversion_factor(
            quantity="energy", from_unit="Hartree", to_unit="eV"
        )
    assert len(w) == 1
    assert w[0].filename == __file__
    assert factor == 27.211386245981465

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert unit_conversion_factor("eV", "meV", quantity="energy") == pytest.approx(
            1000.0
        )
        assert unit_conversion_factor("energy", "eV", "meV") == pytest.approx(1000.0)
    assert len(w) == 0


def test_deprecated_quantity_is_ignored(fresh_warnings):
    with pytest.warns(DeprecationWarning):
        # a quantity that does not match the units, or is not a dimension name
        assert unit_conversion_factor("length", "eV", "meV") == pytest.approx(1000.0)
        assert unit_conversion_factor("eV", "meV", quantity="foo") == pytest.approx(
            1000.0
        )
        assert unit_conversion_factor("", "eV", "meV") == pytest.approx(1000.0)
        assert unit_conversion_factor("energy", "", "meV") == 1.0
    # errors are the same as in the two-argument form
    with pytest.raises(ValueError, match="dimension mismatch in unit conversion"):
        unit_conversion_factor("energy", "eV", "A")


def test_deprecated_quantity_given_twice(fresh_warnings):
    message = "got the quantity twice"
    with pytest.raises(TypeError, match=message):
        unit_conversion_factor("energy", "eV", "meV", quantity="energy")
    scripted = _scripted_functions().unit_conversion_factor
    with pytest.raises(torch.jit.Error, match=message):
        scripted("energy", "eV", "meV", quantity="energy")


def test_deprecated_forms_scripted():
    # TorchScript can not keep a process-wide flag: it warns on every call, and
    # Python's default filters show the warning once per call site
    scripted = _scripted_functions().unit_conversion_factor
    for _ in range(2):
        with pytest.warns(UserWarning, match=re.escape(DEPRECATION_MESSAGE)):
            assert scripted("energy", "eV", "meV") == pytest.approx(1000.0)
        with pytest.warns(UserWarning, match=re.escape(DEPRECATION_MESSAGE)):
            assert scripted("eV", "meV", quantity="energy") == pytest.approx(1000.0)


def test_wrong_argument_types():
    with pytest.raises(TypeError, match="`from_unit` must be a str, got int"):
        unit_conversion_factor(1, "eV")
    with pytest.raises(TypeError, match="`to_unit` must be a str, got NoneType"):
        unit_conversion_factor("eV", None)
    with pytest.raises(TypeError, match="`quantity` must be a str, got int"):
        unit_conversion_factor("eV", "meV", quantity=3)


# ============================================================================ #
#                         TorchScript and performance                          #
# ============================================================================ #


class ConvertingModule(torch.nn.Module):
    def forward(self, energy: torch.Tensor) -> torch.Tensor:
        return energy * unit_conversion_factor("eV", "meV")


class CheckingModule(torch.nn.Module):
    def forward(self, unit: str) -> str:
        validate_unit(unit)
        dimension = unit_dimension_of(unit)
        return check_unit_dimension(unit, "energy", "energy") + str(len(dimension))


SAVE_LOAD_FILTERS = [
    pytest.mark.filterwarnings("ignore:`torch.jit.save` is deprecated"),
    pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated"),
]


def _save_and_load(module):
    buffer = io.BytesIO()
    torch.jit.save(module, buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


@SAVE_LOAD_FILTERS[0]
@SAVE_LOAD_FILTERS[1]
def test_scripted_module():
    module = torch.jit.script(ConvertingModule())
    energy = torch.tensor([1.0, 2.5], dtype=torch.float64)
    expected = torch.tensor([1000.0, 2500.0], dtype=torch.float64)
    assert torch.allclose(module(energy), expected, rtol=1e-15, atol=0.0)

    loaded = _save_and_load(module)
    assert torch.allclose(loaded(energy), expected, rtol=1e-15, atol=0.0)


@SAVE_LOAD_FILTERS[0]
@SAVE_LOAD_FILTERS[1]
def test_scripted_module_checks():
    loaded = _save_and_load(torch.jit.script(CheckingModule()))
    assert loaded("kJ/mol") == "5"
    assert loaded(" kJ\t/\x0bmol\n") == "5"
    assert loaded("µm") == (
        "unit 'µm' has dimension L which is incompatible with 'energy' (L^2 T^-2 M)5"
    )
    with pytest.raises(torch.jit.Error, match="unknown unit 'kJmol' in 'kJ mol'"):
        loaded("kJ mol")


def test_module_imports_only_torchscript_friendly_modules():
    # the module is imported by TorchScript classes and by user models
    tree = ast.parse(Path(_units.__file__).read_text(encoding="utf8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported == {"torch", "typing", "warnings"}


def test_eager_caches():
    _units._PARSED_CACHE.clear()
    _units._CONVERSION_CACHE.clear()
    assert unit_conversion_factor("eV/A^3", "GPa") == 160.21766339999996
    assert ("eV/A^3", "GPa") in _units._CONVERSION_CACHE
    assert "eV/A^3" in _units._PARSED_CACHE
    # the cached value is the same
    assert unit_conversion_factor("eV/A^3", "GPa") == 160.21766339999996


def test_eager_caches_are_bounded(monkeypatch):
    monkeypatch.setattr(_units, "_CACHE_MAX_SIZE", 8)
    for i in range(50):
        unit_conversion_factor(str(i + 1) + "*eV", "meV")
        assert len(_units._CONVERSION_CACHE) <= 8
        assert len(_units._PARSED_CACHE) <= 8
    assert unit_conversion_factor("50*eV", "meV") == pytest.approx(50000.0)


def test_eager_calls_are_fast():
    unit_conversion_factor("(eV*u)^(1/2)", "u*A/fs")
    number = 20000
    seconds = timeit.timeit(
        lambda: unit_conversion_factor("(eV*u)^(1/2)", "u*A/fs"), number=number
    )
    # a few microseconds in practice; the bound only catches a missing cache
    assert seconds / number < 20e-6


# ============================================================================ #
#                       eager and TorchScript agree                        #
# ============================================================================ #


def _outcome(function, *args):
    try:
        return "ok", function(*args)
    except (ValueError, torch.jit.Error) as error:
        # keep the last line of scripted errors, dropping the exception name
        message = str(error).strip().splitlines()[-1]
        return "error", message.removeprefix("builtins.ValueError: ")


TOKENS = [
    "eV", "A", "nm", "K", "µs", "u", "mol", "Hartree", "Bohr", "kcal", "GPa",
    "2", "0.5", "-1", "1e3", "Ha", "x", "*", "/", "^", "(", ")", "-", " ",
]  # fmt: skip


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=8), st.sampled_from(TOKENS))
def test_eager_and_scripted_agree(tokens, other):
    scripted = _scripted_functions()
    expression = "".join(tokens)
    for name, args in [
        ("unit_dimension_of", (expression,)),
        ("check_unit_dimension", (expression, "energy", "e")),
        ("unit_conversion_factor", (expression, other)),
        ("unit_conversion_factor", (other, expression)),
    ]:
        eager = _outcome(getattr(_units, name), *args)
        compiled = _outcome(getattr(scripted, name), *args)
        assert eager == compiled
