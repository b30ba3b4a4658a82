"""Tests of NeighborListOptions (SPEC §1.5), in eager Python and TorchScript, and of
the brute-force neighbor lists the other tests use"""

import math
import re
from typing import List, Tuple

import _utils
import numpy as np
import pytest
import torch

from metatomic.torch import NeighborListOptions

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def test_constructor():
    options = NeighborListOptions(cutoff=3.5, full_list=True, strict=False)
    assert options.cutoff == 3.5
    assert options.full_list is True
    assert options.strict is False
    assert options.length_unit == ""
    assert options.requestors() == []

    options = NeighborListOptions(2, False, True, "my_model")
    assert options.cutoff == 2.0
    assert isinstance(options.cutoff, float)
    assert options.full_list is False
    assert options.strict is True
    assert options.requestors() == ["my_model"]


@pytest.mark.parametrize("cutoff", [0.0, -1.0, math.nan])
def test_invalid_cutoff(cutoff):
    message = f"the cutoff of a neighbor list must be positive, got {cutoff}"
    with pytest.raises(ValueError, match=re.escape(message)):
        NeighborListOptions(cutoff, True, False)


@pytest.mark.parametrize("name", ["cutoff", "full_list", "strict"])
def test_read_only(name):
    options = NeighborListOptions(3.5, True, False)
    with pytest.raises(AttributeError, match=f"property '{name}' .* has no setter"):
        setattr(options, name, 1.0)


def test_length_unit():
    options = NeighborListOptions(3.5, True, False)
    for unit in ["nm", "Bohr", "A", "angstrom", "um", ""]:
        options.length_unit = unit
        assert options.length_unit == unit

    options.length_unit = "nm"
    message = (
        "invalid length_unit: unit 'eV' has dimension L^2 T^-2 M which is "
        "incompatible with 'length_unit' (L)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        options.length_unit = "eV"

    message = "invalid length_unit: unknown unit 'foo' in 'foo'"
    with pytest.raises(ValueError, match=re.escape(message)):
        options.length_unit = "foo"
    assert options.length_unit == "nm"


def test_engine_cutoff():
    options = NeighborListOptions(3.5, True, False)
    # without unit, no conversion
    assert options.engine_cutoff("nm") == 3.5
    assert options.engine_cutoff("") == 3.5

    options.length_unit = "nm"
    assert options.engine_cutoff("angstrom") == pytest.approx(35.0, rel=1e-15)
    assert options.engine_cutoff("nm") == 3.5
    assert options.engine_cutoff("") == 3.5
    bohr = 3.5e-9 / 5.2917721054482e-11
    assert options.engine_cutoff("Bohr") == pytest.approx(bohr, rel=1e-15)

    message = "dimension mismatch in unit conversion: 'nm' has dimension L but 'eV'"
    with pytest.raises(ValueError, match=re.escape(message)):
        options.engine_cutoff("eV")


def test_requestors():
    options = NeighborListOptions(3.5, True, False, "")
    assert options.requestors() == []
    options.add_requestor("b")
    options.add_requestor("")
    options.add_requestor("a")
    options.add_requestor("b")
    assert options.requestors() == ["b", "a"]

    options = NeighborListOptions(3.5, True, False, "a")
    options.add_requestor("a")
    assert options.requestors() == ["a"]


def test_equality():
    options = NeighborListOptions(3.5, True, False, "a")
    options.length_unit = "nm"

    # requestors and length_unit are not compared
    same = NeighborListOptions(3.5, True, False, "b")
    assert options == same
    assert not options != same

    for other in [
        NeighborListOptions(3.6, True, False),
        NeighborListOptions(3.5, False, False),
        NeighborListOptions(3.5, True, True),
    ]:
        assert options != other
        assert not options == other

    assert options in [NeighborListOptions(2.0, True, False), same]


def test_repr():
    options = NeighborListOptions(cutoff=3.5, full_list=True, strict=False)
    expected = "NeighborListOptions(cutoff=3.500000, full_list=True, strict=False)"
    assert repr(options) == expected

    # requestors and unit are not part of the repr
    options.add_requestor("me")
    options.length_unit = "nm"
    assert repr(options) == expected


def _repr(cutoff: float) -> str:
    return NeighborListOptions(cutoff, False, True).__repr__()


@pytest.mark.parametrize(
    "cutoff, text",
    [
        (1.0 / 3.0, "0.333333"),
        (2.0 / 3.0, "0.666667"),
        (5, "5.000000"),
        (2.9999999, "3.000000"),
        (0.1234565001, "0.123457"),
        (1e-7, "0.000000"),
        (12345.678901, "12345.678901"),
        (1e15 + 0.25, "1000000000000000.250000"),
        (1e20, "100000000000000000000.000000"),
        (2.0**80, "1208925819614629174706176.000000"),
        (math.inf, "inf"),
    ],
)
def test_repr_cutoff(cutoff, text):
    # the cutoff is printed like C's printf("%f"), in Python and TorchScript
    if math.isfinite(cutoff):
        assert text == f"{cutoff:f}"
    expected = f"NeighborListOptions(cutoff={text}, full_list=False, strict=True)"
    assert _repr(cutoff) == expected
    assert torch.jit.script(_repr)(cutoff) == expected


def test_str():
    options = NeighborListOptions(3.5, True, False)
    assert str(options) == (
        "Neighbor list options\n"
        "    cutoff: 3.500000\n"
        "    full_list: True\n"
        "    strict: False"
    )

    options = NeighborListOptions(2.0, False, True, "Model")
    options.add_requestor("Model.sub")
    options.length_unit = "nm"
    assert str(options) == (
        "Neighbor list options\n"
        "    cutoff: 2.000000 nm\n"
        "    full_list: False\n"
        "    strict: True\n"
        "    requested by:\n"
        "        - Model\n"
        "        - Model.sub"
    )


def _use_options(
    options: NeighborListOptions, other: NeighborListOptions
) -> Tuple[float, bool, bool, str, float, List[str], bool, bool, str, str]:
    options.length_unit = "nm"
    options.add_requestor("b")
    options.add_requestor("")
    options.add_requestor("a")
    options.add_requestor("b")
    return (
        options.cutoff,
        options.full_list,
        options.strict,
        options.length_unit,
        options.engine_cutoff("angstrom"),
        options.requestors(),
        options == other,
        options != other,
        options.__repr__(),
        str(options),
    )


def test_torchscript():
    scripted = torch.jit.script(_use_options)

    def run(function, other):
        return function(NeighborListOptions(0.35, True, False, "a"), other)

    for other in [
        NeighborListOptions(0.35, True, False),
        NeighborListOptions(0.35, True, True),
    ]:
        expected = run(_use_options, other)
        assert run(scripted, other) == expected

    assert expected[:4] == (0.35, True, False, "nm")
    assert expected[4] == pytest.approx(3.5, rel=1e-15)
    assert expected[5:8] == (["a", "b"], False, True)
    assert expected[8] == (
        "NeighborListOptions(cutoff=0.350000, full_list=True, strict=False)"
    )


def test_torchscript_errors():
    def create(cutoff: float, unit: str) -> NeighborListOptions:
        options = NeighborListOptions(cutoff, True, False)
        options.length_unit = unit
        return options

    scripted = torch.jit.script(create)
    options = scripted(2.0, "bohr")
    assert options.cutoff == 2.0
    assert options.length_unit == "bohr"
    with pytest.raises(torch.jit.Error, match="must be positive"):
        scripted(-2.0, "")
    with pytest.raises(torch.jit.Error, match="invalid length_unit: unit 's'"):
        scripted(2.0, "s")


# ==================================================================================== #
#                      the brute-force neighbor lists of _utils.py                     #
# ==================================================================================== #


def _sorted_pairs(i, j, S):
    return sorted(map(tuple, np.column_stack([i, j, S]).tolist()))


@pytest.mark.parametrize("pbc", [(True, True, True), (True, False, True)])
@pytest.mark.parametrize("cutoff", [3.0, 4.5, 8.5])
def test_brute_force_neighbors(pbc, cutoff):
    ase_neighborlist = pytest.importorskip("ase.neighborlist")
    ase = pytest.importorskip("ase")
    cell = np.array(_utils.CELL)
    cell[~np.array(pbc)] = 0.0
    atoms = ase.Atoms(
        numbers=_utils.TYPES, positions=_utils.POSITIONS, cell=cell, pbc=pbc
    )
    expected = _sorted_pairs(*ase_neighborlist.neighbor_list("ijS", atoms, cutoff))

    full = _utils.pair_list(_utils.POSITIONS, cell, pbc, cutoff, full_list=True)
    assert _sorted_pairs(*full) == expected

    half = _sorted_pairs(*_utils.pair_list(_utils.POSITIONS, cell, pbc, cutoff, False))
    assert 2 * len(half) == len(expected)
    reversed_half = [(j, i, -a, -b, -c) for (i, j, a, b, c) in half]
    assert sorted(half + reversed_half) == expected
