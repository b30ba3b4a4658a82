"""Tests of saving and loading systems, the ``.mta`` format (SPEC §4c)"""

import copy
import functools
import io
import json
import math
import os
import pickle
import struct
import zipfile

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

import metatensor.torch as mts
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatensor_torch import _mts
from metatomic.torch import NeighborListOptions, System
from metatomic.torch import _options_json as options_json
from metatomic.torch import _serialization as serialization

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

NEIGHBOR_SAMPLES = [
    "first_atom",
    "second_atom",
    "cell_shift_a",
    "cell_shift_b",
    "cell_shift_c",
]

CORE_MEMBERS = ["positions.npy", "cell.npy", "types.npy", "pbc.npy"]


# ==================================================================================== #
#                                       builders                                      #
# ==================================================================================== #


def _neighbors(pairs, dtype=torch.float64):
    """A neighbor list block with the given pairs (rows of 5 sample values)"""
    samples = torch.tensor(pairs, dtype=torch.int32).reshape(-1, 5)
    values = torch.arange(3 * samples.shape[0], dtype=dtype).reshape(-1, 3, 1)
    return TensorBlock(
        values=values,
        samples=Labels(NEIGHBOR_SAMPLES, samples),
        components=[Labels(["xyz"], torch.tensor([[0], [1], [2]]))],
        properties=Labels(["distance"], torch.tensor([[0]])),
    )


def _per_atom(n_atoms, name, dtype=torch.float64):
    """A TensorMap with one value per atom"""
    samples = torch.tensor([[0, i] for i in range(n_atoms)], dtype=torch.int32)
    block = TensorBlock(
        values=torch.arange(n_atoms, dtype=dtype).reshape(-1, 1) + 0.5,
        samples=Labels(["system", "atom"], samples.reshape(-1, 2)),
        components=[],
        properties=Labels([name], torch.tensor([[0]])),
    )
    tensor = TensorMap(Labels(["_"], torch.tensor([[0]])), [block])
    tensor.set_info("unit", "u")
    return tensor


def _system(dtype=torch.float64, neighbors=True, data=True):
    system = System(
        types=torch.tensor([8, 1, 1]),
        positions=torch.tensor(
            [[0.0, 0.0, 0.0], [0.5, 0.25, 0.125], [1.0, 2.0, 3.0]], dtype=dtype
        ),
        cell=torch.tensor(
            [[4.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]], dtype=dtype
        ),
        pbc=torch.tensor([True, True, False]),
    )
    if neighbors:
        options = NeighborListOptions(cutoff=3.0, full_list=False, strict=True)
        options.length_unit = "angstrom"
        options.add_requestor("model.first")
        options.add_requestor("model.second")
        system.add_neighbor_list(options, _neighbors([[0, 1, 0, 0, 0]], dtype))

        options = NeighborListOptions(cutoff=4.5, full_list=True, strict=False)
        pairs = [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0], [1, 2, -1, 1, 0], [2, 1, 1, -1, 0]]
        system.add_neighbor_list(options, _neighbors(pairs, dtype))
    if data:
        system.add_data("mass", _per_atom(3, "mass", dtype))
        system.add_data("my::data", _per_atom(3, "value", dtype))
    return system


def _assert_same_options(first, second):
    assert first == second
    assert struct.pack("<d", first.cutoff) == struct.pack("<d", second.cutoff)
    assert first.full_list == second.full_list
    assert first.strict == second.strict
    assert first.length_unit == second.length_unit
    assert first.requestors() == second.requestors()


def _assert_same_system(loaded, expected):
    """``loaded`` is ``expected`` (converted to float64)"""
    assert loaded.dtype == torch.float64
    assert loaded.types.dtype == torch.int32
    assert torch.equal(loaded.types, expected.types)
    assert torch.equal(loaded.positions, expected.positions.to(torch.float64))
    assert torch.equal(loaded.cell, expected.cell.to(torch.float64))
    assert torch.equal(loaded.pbc, expected.pbc)

    loaded_options = loaded.known_neighbor_lists()
    expected_options = expected.known_neighbor_lists()
    assert len(loaded_options) == len(expected_options)
    for first, second in zip(loaded_options, expected_options):
        _assert_same_options(first, second)
        assert mts.equal_block(
            loaded.get_neighbor_list(first), expected.get_neighbor_list(second)
        )

    assert loaded.known_data() == expected.known_data()
    for name in expected.known_data():
        loaded_data = loaded.get_data(name)
        assert mts.equal(loaded_data, expected.get_data(name))
        assert loaded_data.info() == expected.get_data(name).info()


def _members(buffer):
    """The members of an archive, as an ordered dict of bytes"""
    archive = zipfile.ZipFile(io.BytesIO(buffer.numpy().tobytes()))
    return {name: archive.read(name) for name in archive.namelist()}


def _zip(members):
    """A ZIP archive (written by Python) of the given name => bytes members"""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return _buffer(output.getvalue())


def _buffer(data):
    if len(data) == 0:
        return torch.zeros(0, dtype=torch.uint8)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)


def _with_member(buffer, name, content):
    """The archive ``buffer`` with member ``name`` replaced (or added)"""
    members = _members(buffer)
    members[name] = content
    return _zip(members)


def _without_member(buffer, name):
    members = _members(buffer)
    del members[name]
    return _zip(members)


def _npy(array):
    """An NPY file written by numpy"""
    output = io.BytesIO()
    np.save(output, array)
    return output.getvalue()


def _load_or_value_error(buffer):
    """Load ``buffer``; malformed data must raise ValueError and nothing else"""
    try:
        system = serialization.load_system_buffer(buffer)
    except ValueError:
        return None
    assert isinstance(system, System)
    return system


# ==================================================================================== #
#                                      round trips                                    #
# ==================================================================================== #


def test_buffer_round_trip():
    system = _system()
    buffer = serialization.save_buffer(system)
    assert buffer.dtype == torch.uint8
    assert buffer.dim() == 1
    assert buffer.device.type == "cpu"

    loaded = serialization.load_system_buffer(buffer)
    _assert_same_system(loaded, system)
    # saving is deterministic, and the loaded system saves to the same bytes
    assert torch.equal(serialization.save_buffer(system), buffer)
    assert torch.equal(serialization.save_buffer(loaded), buffer)


def test_loaded_system_owns_its_data():
    system = _system()
    buffer = serialization.save_buffer(system)
    loaded = serialization.load_system_buffer(buffer)
    buffer[:] = 0
    _assert_same_system(loaded, system)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_save_from_cuda():
    system = _system()
    expected = serialization.save_buffer(system)
    on_cuda = system.to(device=torch.device("cuda"))
    assert torch.equal(serialization.save_buffer(on_cuda), expected)
    assert torch.equal(_scripted("save_buffer")(on_cuda), expected)
    loaded = serialization.load_system_buffer(serialization.save_buffer(on_cuda))
    assert loaded.device.type == "cpu"
    _assert_same_system(loaded, system)


def test_round_trip_without_extras():
    system = _system(neighbors=False, data=False)
    loaded = serialization.load_system_buffer(serialization.save_buffer(system))
    _assert_same_system(loaded, system)


def test_round_trip_empty_system():
    system = System(
        types=torch.zeros(0, dtype=torch.int32),
        positions=torch.zeros((0, 3), dtype=torch.float64),
        cell=torch.zeros((3, 3), dtype=torch.float64),
        pbc=torch.tensor([False, False, False]),
    )
    system.add_neighbor_list(NeighborListOptions(1.0, True, True), _neighbors([]))
    loaded = serialization.load_system_buffer(serialization.save_buffer(system))
    _assert_same_system(loaded, system)
    assert len(loaded) == 0


def test_round_trip_variant_data_name():
    """A variant name puts a '/' in the member name"""
    system = _system(neighbors=False, data=False)
    system.add_data("mass/heavy", _per_atom(3, "mass"))
    buffer = serialization.save_buffer(system)
    assert "data/mass/heavy.mts" in _members(buffer)
    loaded = serialization.load_system_buffer(buffer)
    assert loaded.known_data() == ["mass/heavy"]
    assert mts.equal(loaded.get_data("mass/heavy"), system.get_data("mass/heavy"))


def test_positions_requiring_grad():
    system = _system(data=False, neighbors=False)
    system.positions.requires_grad_(True)
    loaded = serialization.load_system_buffer(serialization.save_buffer(system))
    assert not loaded.positions.requires_grad
    assert torch.equal(loaded.positions, system.positions.detach())


def test_file_round_trip(tmp_path):
    system = _system()
    path = tmp_path / "system.mta"
    serialization.save(path, system)
    assert path.read_bytes() == serialization.save_buffer(system).numpy().tobytes()
    _assert_same_system(serialization.load_system(path), system)
    _assert_same_system(serialization.load_system(str(path)), system)

    other = tmp_path / "other.mta"
    serialization.save(str(other), system)
    assert other.read_bytes() == path.read_bytes()

    # saving over a file replaces it whole (through a temporary file that is
    # renamed over it: the previous inode is left untouched)
    inode = os.stat(path).st_ino
    serialization.save(path, _system())
    assert os.stat(path).st_ino != inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.mta", "system.mta"]


def test_file_object_round_trip(tmp_path):
    system = _system()
    output = io.BytesIO()
    serialization.save(output, system)
    assert output.getvalue() == serialization.save_buffer(system).numpy().tobytes()

    _assert_same_system(
        serialization.load_system(io.BytesIO(output.getvalue())), system
    )

    path = tmp_path / "any-name.bin"
    with open(path, "wb") as file:
        serialization.save(file, system)
    with open(path, "rb") as file:
        _assert_same_system(serialization.load_system(file), system)


def test_extension():
    system = _system()
    message = "system files must have the '.mta' extension, got 'system.zip'"
    with pytest.raises(ValueError, match=message):
        serialization.save("system.zip", system)
    with pytest.raises(ValueError, match="got 'system'"):
        serialization.save("system", system)
    with pytest.raises(ValueError, match="got 'system.mta.npz'"):
        serialization.load_system("system.mta.npz")


def test_extension_is_not_added(tmp_path):
    path = tmp_path / "system"
    with pytest.raises(ValueError, match="it is not added automatically"):
        serialization.save(path, _system())
    assert list(tmp_path.iterdir()) == []


def test_file_types(tmp_path):
    system = _system()
    with pytest.raises(TypeError, match="must be a path or a binary file object"):
        serialization.save(42, system)
    with pytest.raises(TypeError, match="must be a path or a binary file object"):
        serialization.load_system(42)
    with pytest.raises(TypeError, match="must be opened in binary mode"):
        serialization.load_system(io.StringIO("text"))
    with pytest.raises(TypeError, match="must be a metatomic.torch.System"):
        serialization.save_buffer("system")
    with pytest.raises(TypeError, match="must be a torch.Tensor of uint8, got bytes"):
        serialization.load_system_buffer(b"PK")
    with pytest.raises(ValueError, match="must be a 1-D torch.uint8 tensor"):
        serialization.load_system_buffer(torch.zeros(10, dtype=torch.int32))


# ==================================================================================== #
#                                 the archive, byte level                             #
# ==================================================================================== #


def test_member_order():
    buffer = serialization.save_buffer(_system())
    assert list(_members(buffer)) == CORE_MEMBERS + [
        "pairs/0/options.json",
        "pairs/0/data.mts",
        "pairs/1/options.json",
        "pairs/1/data.mts",
        "data/mass.mts",
        "data/my::data.mts",
    ]

    buffer = serialization.save_buffer(_system(neighbors=False, data=False))
    assert list(_members(buffer)) == CORE_MEMBERS


def test_zip_layout():
    """STORED members, no ZIP64 extra field, the DOS date of time_t 0"""
    data = serialization.save_buffer(_system()).numpy().tobytes()
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    for info in archive.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.date_time == (2098, 1, 1, 0, 0, 0)
        assert info.extra == b""
        assert info.file_size == info.compress_size

        local = data[info.header_offset : info.header_offset + 30]
        assert local[:4] == b"PK\x03\x04"
        version, flags, method, time, date = struct.unpack("<HHHHH", local[4:14])
        assert (flags, method, time, date) == (0, 0, 0x0000, 0xEC21)
        crc, compressed, size, name_length, extra_length = struct.unpack(
            "<IIIHH", local[14:30]
        )
        assert (crc, compressed, size) == (info.CRC, info.file_size, info.file_size)
        assert name_length == len(info.filename)
        assert extra_length == 0

    # a plain end of central directory record, without comment
    assert data[-22:-18] == b"PK\x05\x06"
    assert data[-2:] == b"\x00\x00"


def test_core_arrays():
    system = _system(dtype=torch.float32, neighbors=False, data=False)
    members = _members(serialization.save_buffer(system))

    headers = {
        "positions.npy": "{ 'descr': '<f8', 'fortran_order': False, 'shape': (3, 3, ) }",
        "cell.npy": "{ 'descr': '<f8', 'fortran_order': False, 'shape': (3, 3, ) }",
        "types.npy": "{ 'descr': '<i4', 'fortran_order': False, 'shape': (3, ) }",
        "pbc.npy": "{ 'descr': '|b1', 'fortran_order': False, 'shape': (3, ) }",
    }
    for name, header in headers.items():
        member = members[name]
        assert member[:8] == b"\x93NUMPY\x01\x00"
        length = struct.unpack("<H", member[8:10])[0]
        assert 10 + length == 128
        assert member[10 : 10 + length] == (header.ljust(length - 1) + "\n").encode()

    positions = np.load(io.BytesIO(members["positions.npy"]))
    assert positions.dtype == np.float64
    np.testing.assert_array_equal(positions, system.positions.numpy())
    types = np.load(io.BytesIO(members["types.npy"]))
    assert types.dtype == np.int32
    np.testing.assert_array_equal(types, [8, 1, 1])
    pbc = np.load(io.BytesIO(members["pbc.npy"]))
    np.testing.assert_array_equal(pbc, [True, True, False])


def test_nested_mts_members():
    system = _system()
    members = _members(serialization.save_buffer(system))
    neighbors = system.get_neighbor_list(system.known_neighbor_lists()[1])
    assert members["pairs/1/data.mts"] == neighbors.save_buffer().numpy().tobytes()
    mass = system.get_data("mass")
    assert members["data/mass.mts"] == mass.save_buffer().numpy().tobytes()


def test_options_json_text():
    members = _members(serialization.save_buffer(_system()))
    assert members["pairs/0/options.json"].decode() == (
        "{\n"
        '    "class": "NeighborListOptions",\n'
        '    "cutoff": 4613937818241073152,\n'
        '    "full_list": false,\n'
        '    "length_unit": "angstrom",\n'
        '    "requestors": [\n'
        '        "model.first",\n'
        '        "model.second"\n'
        "    ],\n"
        '    "strict": true\n'
        "}"
    )
    assert members["pairs/1/options.json"].decode() == (
        "{\n"
        '    "class": "NeighborListOptions",\n'
        '    "cutoff": 4616752568008179712,\n'
        '    "full_list": true,\n'
        '    "length_unit": "",\n'
        '    "requestors": [],\n'
        '    "strict": false\n'
        "}"
    )


def test_options_json_escapes():
    options = NeighborListOptions(
        2.0, True, False, 'caf\u00e9 "\\\n\x01\x7f \U0001f600'
    )
    assert options_json.neighbor_options_to_json(options) == (
        "{\n"
        '    "class": "NeighborListOptions",\n'
        '    "cutoff": 4611686018427387904,\n'
        '    "full_list": true,\n'
        '    "length_unit": "",\n'
        '    "requestors": [\n'
        '        "caf\\u00e9 \\"\\\\\\n\\u0001\\u007f \\ud83d\\ude00"\n'
        "    ],\n"
        '    "strict": false\n'
        "}"
    )


@FUZZ
@given(
    cutoff=st.floats(min_value=0.0, exclude_min=True, allow_nan=False),
    full_list=st.booleans(),
    strict=st.booleans(),
    unit=st.sampled_from(["", "angstrom", "nm", "bohr"]),
    requestors=st.lists(st.text(max_size=8), max_size=3),
)
def test_options_json_matches_python(cutoff, full_list, strict, unit, requestors):
    """The JSON is json.dumps(indent=4, sort_keys=True, ensure_ascii=True), and
    reading it gives back the same options"""
    options = NeighborListOptions(cutoff, full_list, strict)
    options.length_unit = unit
    for requestor in requestors:
        options.add_requestor(requestor)

    text = options_json.neighbor_options_to_json(options)
    expected = {
        "class": "NeighborListOptions",
        "cutoff": _bits(cutoff),
        "full_list": full_list,
        "length_unit": unit,
        "requestors": options.requestors(),
        "strict": strict,
    }
    assert text == json.dumps(expected, indent=4, sort_keys=True, ensure_ascii=True)
    _assert_same_options(options_json.neighbor_options_from_json(text), options)


def test_options_json_reader():
    options = options_json.neighbor_options_from_json(
        # any spacing and key order, unknown keys, no unit or requestors (older
        # files), escapes
        '\ufeff{"strict":false,"cutoff":4613937818241073152,"extra":[{"a":[1,2.5e3,'
        'null,{}]},[]],"class":"Neighbor\\u004cistOptions","full_list":true}'
    )
    assert options == NeighborListOptions(3.0, True, False)
    assert options.length_unit == ""
    assert options.requestors() == []

    options = options_json.neighbor_options_from_json(
        '{"class": "NeighborListOptions", "cutoff": 4611686018427387904, '
        '"full_list": false, "strict": true, "length_unit": "nm", '
        '"requestors": ["a", "\\ud83d\\ude00", "a"]}'
    )
    assert options.cutoff == 2.0
    assert options.length_unit == "nm"
    assert options.requestors() == ["a", "\U0001f600"]


VALID_JSON = {
    "class": "NeighborListOptions",
    "cutoff": 4613937818241073152,
    "full_list": True,
    "length_unit": "",
    "requestors": [],
    "strict": False,
}


def _bits(value):
    return struct.unpack("<q", struct.pack("<d", value))[0]


def _changed(**changes):
    data = dict(VALID_JSON)
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "must contain a JSON object"),
        ("[]", "must contain a JSON object"),
        ('"class"', "must contain a JSON object"),
        ("{", "expected a string key at byte 1"),
        ('{"class" 1}', "expected ':' at byte 9"),
        ('{"class": }', "unexpected '}' at byte 10"),
        ('{"class": "NeighborListOptions"', r"expected ',' or '}' at byte 31"),
        ('{"class": "NeighborListOptions}', "unterminated string at byte 31"),
        ('{"class": "\\x"}', "invalid escape at byte 11"),
        ('{"class": "\\ud800"}', "unpaired surrogate at byte 11"),
        ('{"class": "\\u12"}', r"invalid \\u escape"),
        ('{"class": "a\nb"}', "invalid control character at byte 12"),
        ('{"a": tru}', "invalid literal at byte 6"),
        ('{"a": 01}', "leading zeros in number at byte 6"),
        ('{"a": 1.}', "invalid number at byte 6"),
        ('{"a": -}', "invalid number at byte 6"),
        ('{"a": [1 2]}', r"expected ',' or '\]' at byte 9"),
        ('{"a": {"b" 2}}', "expected ':' at byte 11"),
        ('{"a": [' * 10000, "unexpected end of data"),
        (json.dumps(VALID_JSON) + " {}", "extra data after the object"),
        (_changed(**{"class": None}), "missing 'class' in the NeighborListOptions"),
        (_changed(**{"class": 3}), "'class' in .* must be a string, got an integer"),
        (
            _changed(**{"class": "ModelOutput"}),
            "expected 'class' to be 'NeighborListOptions' in the NeighborListOptions "
            "JSON, got 'ModelOutput'",
        ),
        (_changed(cutoff=None), "missing 'cutoff'"),
        (
            _changed(cutoff=3.0),
            r"'cutoff' in the NeighborListOptions JSON must be an integer \(the bit "
            "pattern of the double cutoff\\), got a number that is not a 64-bit",
        ),
        (_changed(cutoff="3"), "'cutoff' .* must be an integer .* got a string"),
        (_changed(cutoff=2**63), "got a number that is not a 64-bit integer"),
        (_changed(cutoff=0), "the cutoff in .* must be positive, got 0.0"),
        (_changed(cutoff=_bits(-1.5)), "must be positive, got -1.5"),
        (_changed(cutoff=_bits(math.nan)), "must be positive, got nan"),
        (_changed(full_list=None), "missing 'full_list'"),
        (_changed(full_list=1), "'full_list' .* must be a boolean, got an integer"),
        (_changed(strict="false"), "'strict' .* must be a boolean, got a string"),
        (_changed(strict=[]), "'strict' .* must be a boolean, got an array of"),
        (_changed(length_unit=[]), "'length_unit' .* must be a string, got an array"),
        (_changed(length_unit="banana"), "invalid length_unit: unknown unit"),
        (_changed(requestors=["a", 1]), "'requestors' .* got an array$"),
        (_changed(requestors={}), "'requestors' .* got an object"),
        (_changed(requestors="a"), "'requestors' .* got a string"),
        (_changed(requestors=None) + "\x00", "invalid JSON .* extra data"),
        ('{"class": "caf\xe9"}'.encode("latin-1"), "invalid UTF-8"),
    ],
)
def test_options_json_errors(text, message):
    if isinstance(text, bytes):
        buffer = _with_member(
            serialization.save_buffer(_system(data=False)),
            "pairs/0/options.json",
            text,
        )
        with pytest.raises(ValueError, match=message):
            serialization.load_system_buffer(buffer)
        return

    with pytest.raises(ValueError, match=message):
        options_json.neighbor_options_from_json(text)


def test_options_json_error_names_the_member():
    buffer = serialization.save_buffer(_system(data=False))
    buffer = _with_member(buffer, "pairs/1/options.json", b'{"class": 1}')
    message = (
        "serialization format error: 'class' in 'pairs/1/options.json' must be a "
        "string, got an integer"
    )
    with pytest.raises(ValueError, match=message):
        serialization.load_system_buffer(buffer)


def test_large_archives_use_zip64():
    """Archives over 4 GiB are written by metatensor's ZIP64 writer"""
    names = ["a.npy", "b.npy"]
    members = [
        [torch.arange(10, dtype=torch.uint8)],
        [torch.zeros(3, dtype=torch.uint8)],
    ]
    written = serialization._write_archive(names, members, 100)
    assert torch.equal(written, _mts.write_zip(names, members))
    small = serialization._write_archive(names, members, 0xFFFFFFFF)
    assert not torch.equal(small, written)
    assert _members(small) == _members(written)

    # such archives load
    system = _system()
    original = _members(serialization.save_buffer(system))
    zip64 = _mts.write_zip(
        list(original), [[_buffer(content)] for content in original.values()]
    )
    _assert_same_system(serialization.load_system_buffer(zip64), system)


# ==================================================================================== #
#                                  the float32 quirk                                  #
# ==================================================================================== #


def test_float32_system_with_neighbors_does_not_round_trip():
    """Upstream quirk: the positions are saved as float64, the neighbor lists
    keep their dtype"""
    system = _system(dtype=torch.float32, data=False)
    buffer = serialization.save_buffer(system)
    message = (
        r"`neighbors` dtype \(torch.float32\) does not match this system's dtype "
        r"\(torch.float64\)"
    )
    with pytest.raises(ValueError, match=message):
        serialization.load_system_buffer(buffer)

    # the same with data
    system = _system(dtype=torch.float32, neighbors=False)
    buffer = serialization.save_buffer(system)
    with pytest.raises(ValueError, match=r"the dtype of the data 'mass' \("):
        serialization.load_system_buffer(buffer)

    # converting the system first avoids it
    system = _system(dtype=torch.float32).to(dtype=torch.float64)
    loaded = serialization.load_system_buffer(serialization.save_buffer(system))
    _assert_same_system(loaded, system)


def test_float32_system_loads_as_float64():
    system = _system(dtype=torch.float32, neighbors=False, data=False)
    loaded = serialization.load_system_buffer(serialization.save_buffer(system))
    assert loaded.dtype == torch.float64
    _assert_same_system(loaded, system)


# ==================================================================================== #
#                                    malformed input                                  #
# ==================================================================================== #


@pytest.mark.parametrize("name", CORE_MEMBERS)
def test_missing_core_member(name):
    buffer = _without_member(serialization.save_buffer(_system()), name)
    message = f"serialization format error: missing '{name}' in the system archive"
    with pytest.raises(ValueError, match=message):
        serialization.load_system_buffer(buffer)


@pytest.mark.parametrize("name", ["pairs/1/options.json", "pairs/0/data.mts"])
def test_missing_neighbor_member(name):
    buffer = _without_member(serialization.save_buffer(_system()), name)
    with pytest.raises(ValueError, match=f"missing '{name}' in the system archive"):
        serialization.load_system_buffer(buffer)


def test_neighbor_lists_must_be_numbered_from_zero():
    members = _members(serialization.save_buffer(_system(data=False)))
    members["pairs/7/data.mts"] = members.pop("pairs/1/data.mts")
    members["pairs/7/options.json"] = members.pop("pairs/1/options.json")
    with pytest.raises(ValueError, match="missing 'pairs/1/options.json'"):
        serialization.load_system_buffer(_zip(members))


def test_duplicated_neighbor_list():
    members = _members(serialization.save_buffer(_system(data=False)))
    members["pairs/1/options.json"] = members["pairs/0/options.json"]
    members["pairs/1/data.mts"] = members["pairs/0/data.mts"]
    with pytest.raises(ValueError, match="already has a neighbor list"):
        serialization.load_system_buffer(_zip(members))


def test_invalid_neighbor_list():
    block = TensorBlock(
        values=torch.zeros((1, 3, 1), dtype=torch.float64),
        samples=Labels(["first_atom", "second_atom"], torch.tensor([[0, 1]])),
        components=[Labels(["xyz"], torch.tensor([[0], [1], [2]]))],
        properties=Labels(["distance"], torch.tensor([[0]])),
    )
    buffer = _with_member(
        serialization.save_buffer(_system(data=False)),
        "pairs/0/data.mts",
        block.save_buffer().numpy().tobytes(),
    )
    with pytest.raises(ValueError, match="invalid neighbor list: the samples"):
        serialization.load_system_buffer(buffer)


def test_invalid_data():
    system = _system(neighbors=False, data=False)
    mass = _per_atom(3, "mass").save_buffer().numpy().tobytes()
    buffer = serialization.save_buffer(system)

    for name, message in [
        ("data/positions.mts", "'positions' is a reserved name"),
        ("data/not-a-quantity.mts", "Invalid quantity name for system data"),
    ]:
        with pytest.raises(ValueError, match=message):
            serialization.load_system_buffer(_with_member(buffer, name, mass))

    with pytest.raises(
        ValueError, match="could not load 'data/mass.mts' from the system archive"
    ):
        serialization.load_system_buffer(_with_member(buffer, "data/mass.mts", b"xy"))

    block = _neighbors([[0, 1, 0, 0, 0]]).save_buffer().numpy().tobytes()
    with pytest.raises(ValueError, match="use `load_block_buffer`"):
        serialization.load_system_buffer(_with_member(buffer, "data/mass.mts", block))


def test_other_members_are_ignored():
    system = _system()
    buffer = serialization.save_buffer(system)
    for name in ["README", "pairs/x/options.json", "pairs/01/data.mts", "data/.mts"]:
        buffer = _with_member(buffer, name, b"anything")
    _assert_same_system(serialization.load_system_buffer(buffer), system)


@pytest.mark.parametrize(
    "name, array, message",
    [
        (
            "positions.npy",
            np.zeros((3, 3), dtype=np.float32),
            r"'positions.npy' must contain a float64 array of shape \(n_atoms, 3\), "
            r"got a float32 array of shape \(3, 3\)",
        ),
        (
            "positions.npy",
            np.zeros((3, 2)),
            r"got a float64 array of shape \(3, 2\)",
        ),
        ("positions.npy", np.zeros(9), r"got a float64 array of shape \(9,\)"),
        (
            "cell.npy",
            np.zeros((3,)),
            r"'cell.npy' must contain a float64 array of shape \(3, 3\)",
        ),
        ("cell.npy", np.zeros((3, 3), dtype=np.int32), "got an int32 array"),
        (
            "types.npy",
            np.zeros(3, dtype=np.int64),
            r"'types.npy' must contain an int32 array of shape \(n_atoms,\), got an "
            r"int64 array of shape \(3,\)",
        ),
        (
            "types.npy",
            np.zeros(4, dtype=np.int32),
            "'types.npy' must contain one type per atom, got 4 types for 3 positions",
        ),
        (
            "pbc.npy",
            np.zeros(3, dtype=np.uint8),
            r"'pbc.npy' must contain a bool array of shape \(3,\), got a uint8 array",
        ),
        ("pbc.npy", np.zeros(4, dtype=bool), r"got a bool array of shape \(4,\)"),
        (
            "pbc.npy",
            np.array([False, True, False]),
            "the cell vectors of non-periodic directions must be zero",
        ),
        (
            "positions.npy",
            np.zeros((3, 3), dtype=np.dtype([("a", "<f8")])),
            "could not load 'positions.npy' from the system archive: serialization "
            "format error: structured arrays are not supported",
        ),
    ],
)
def test_invalid_core_arrays(name, array, message):
    buffer = _with_member(
        serialization.save_buffer(_system(neighbors=False, data=False)),
        name,
        _npy(array),
    )
    with pytest.raises(ValueError, match=message):
        serialization.load_system_buffer(buffer)


def test_not_an_archive():
    for data in [b"", b"PK", b"\x93NUMPY" + bytes(100), bytes(range(256))]:
        with pytest.raises(ValueError, match="serialization format error"):
            serialization.load_system_buffer(_buffer(data))

    # a TensorMap is not a system
    with pytest.raises(ValueError, match="missing 'positions.npy'"):
        serialization.load_system_buffer(_per_atom(3, "mass").save_buffer())


def test_truncated():
    data = serialization.save_buffer(_system()).numpy().tobytes()
    for end in range(0, len(data), 97):
        with pytest.raises(ValueError):
            serialization.load_system_buffer(_buffer(data[:end]))


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0), st.integers(0, 7)), max_size=4))
def test_bit_flips(flips):
    data = bytearray(serialization.save_buffer(_system()).numpy().tobytes())
    for position, bit in flips:
        data[position % len(data)] ^= 1 << bit
    _load_or_value_error(_buffer(bytes(data)))


@FUZZ
@given(
    member=st.integers(0, 9),
    flips=st.lists(st.tuples(st.integers(0), st.integers(0, 7)), min_size=1),
    truncate=st.one_of(st.none(), st.integers(0)),
)
def test_corrupted_members(member, flips, truncate):
    """Members changed inside a valid archive (the CRC-32 matches)"""
    members = _members(serialization.save_buffer(_system()))
    name = list(members)[member % len(members)]
    content = bytearray(members[name])
    for position, bit in flips:
        content[position % len(content)] ^= 1 << bit
    if truncate is not None:
        content = content[: truncate % len(content)]
    members[name] = bytes(content)
    _load_or_value_error(_zip(members))


@FUZZ
@given(
    text=st.text(
        alphabet=st.sampled_from('{}[]",:0123456789.-eE tfnrulsa\\'), max_size=60
    )
)
def test_hostile_options_json(text):
    try:
        options = options_json.neighbor_options_from_json(text)
    except ValueError:
        return
    assert isinstance(options, NeighborListOptions)


@FUZZ
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=10,
    ),
    key=st.sampled_from(list(VALID_JSON) + ["other"]),
)
def test_options_json_values_of_any_type(value, key):
    data = dict(VALID_JSON)
    data[key] = value
    try:
        options = options_json.neighbor_options_from_json(json.dumps(data))
    except ValueError:
        return
    assert isinstance(options, NeighborListOptions)


# ==================================================================================== #
#                                       pickling                                      #
# ==================================================================================== #


def test_state_round_trip():
    system = _system()
    state = serialization.system_getstate(system)
    assert torch.equal(state, serialization.save_buffer(system))

    # as pickle does: a new object without attributes, then the state
    restored = object.__new__(System)
    serialization.system_setstate(restored, pickle.loads(pickle.dumps(state)))
    _assert_same_system(restored, system)

    restored = object.__new__(System)
    serialization.system_setstate(restored, copy.deepcopy(state))
    _assert_same_system(restored, system)


def test_setstate_replaces_everything():
    system = _system(dtype=torch.float32, neighbors=False)
    other = _system(neighbors=False, data=False)
    serialization.system_setstate(system, serialization.system_getstate(other))
    _assert_same_system(system, other)
    assert system.known_data() == []


def test_setstate_errors():
    system = _system()
    with pytest.raises(ValueError, match="serialization format error"):
        serialization.system_setstate(system, torch.zeros(3, dtype=torch.uint8))
    # unchanged
    _assert_same_system(system, _system())


# ==================================================================================== #
#                                      TorchScript                                    #
# ==================================================================================== #


@functools.cache
def _scripted(name):
    module = options_json if name.startswith("neighbor_options") else serialization
    return torch.jit.script(getattr(module, name))


@pytest.fixture
def unoptimized():
    """Run TorchScript code without the graph optimizations, which take several
    seconds on the first calls (most of it in metatensor's loaders)"""
    with torch.jit.optimized_execution(False):
        yield


class _RoundTrip(torch.nn.Module):
    def forward(self, system: System) -> System:
        copied = System(system.types, system.positions, system.cell, system.pbc)
        serialization.system_setstate(copied, serialization.system_getstate(system))
        return copied


def test_torchscript(unoptimized):
    save_buffer = _scripted("save_buffer")
    load_system_buffer = _scripted("load_system_buffer")

    system = _system()
    buffer = serialization.save_buffer(system)
    # the same bytes as in Python
    assert torch.equal(save_buffer(system), buffer)

    loaded = load_system_buffer(buffer)
    assert torch.equal(loaded.positions, system.positions)
    assert torch.equal(loaded.types, system.types)
    assert torch.equal(loaded.pbc, system.pbc)
    options = loaded.known_neighbor_lists()
    assert [o.cutoff for o in options] == [3.0, 4.5]
    assert options[0].requestors() == ["model.first", "model.second"]
    assert options[0].length_unit == "angstrom"
    assert loaded.known_data() == ["mass", "my::data"]
    assert torch.equal(save_buffer(loaded), buffer)
    assert torch.equal(serialization.save_buffer(loaded), buffer)

    module = torch.jit.script(_RoundTrip())
    assert torch.equal(save_buffer(module(system)), buffer)


def test_torchscript_options_json(unoptimized):
    to_json = _scripted("neighbor_options_to_json")
    from_json = _scripted("neighbor_options_from_json")
    options = NeighborListOptions(2.5, False, True, 'caf\u00e9 "\\\n \U0001f600')
    options.length_unit = "nm"
    text = options_json.neighbor_options_to_json(options)
    assert to_json(options) == text
    _assert_same_options(from_json(text), options)
    with pytest.raises(torch.jit.Error, match="invalid JSON in the Neighbor"):
        from_json('{"class": "NeighborListOptions", "cutoff": 1.5e3')


def test_torchscript_errors(unoptimized):
    load_system_buffer = _scripted("load_system_buffer")
    buffer = serialization.save_buffer(_system(data=False))

    with pytest.raises(torch.jit.Error, match="missing 'cell.npy'"):
        load_system_buffer(_without_member(buffer, "cell.npy"))
    broken = _with_member(buffer, "pairs/0/options.json", b'{"class": "X"}')
    with pytest.raises(torch.jit.Error, match="expected 'class' to be"):
        load_system_buffer(broken)
    broken = _with_member(buffer, "pairs/0/data.mts", b"xy")
    with pytest.raises(torch.jit.Error, match="serialization format error"):
        load_system_buffer(broken)
    broken = _with_member(buffer, "types.npy", _npy(np.zeros(3, dtype=np.int64)))
    with pytest.raises(torch.jit.Error, match="got an int64 array of shape"):
        load_system_buffer(broken)

    float32 = serialization.save_buffer(_system(dtype=torch.float32, data=False))
    with pytest.raises(torch.jit.Error, match="does not match this system's dtype"):
        load_system_buffer(float32)


# ==================================================================================== #
#                                public API and pickling                               #
# ==================================================================================== #


def test_public_functions(tmp_path):
    import metatomic.torch as mta

    system = _system()
    path = tmp_path / "system.mta"
    mta.save(path, system)
    _assert_same_system(mta.load_system(path), system)
    buffer = mta.save_buffer(system)
    assert torch.equal(buffer, serialization.save_buffer(system))
    _assert_same_system(mta.load_system_buffer(buffer), system)


def test_pickle_and_deepcopy():
    system = _system()
    # pickling stores the .mta bytes, like upstream
    state = system.__getstate__()
    assert torch.equal(state, serialization.save_buffer(system))
    _assert_same_system(pickle.loads(pickle.dumps(system)), system)

    # deep copies keep the dtype (the .mta format would make it float64) and own
    # their tensors
    float32 = _system(dtype=torch.float32)
    copied = copy.deepcopy(float32)
    assert copied.dtype == torch.float32
    _assert_same_system(copied.to(torch.float64), float32.to(torch.float64))
    copied.positions[0, 0] += 1.0
    assert not torch.equal(copied.positions, float32.positions)
    options = float32.known_neighbor_lists()[0]
    assert (
        copied.get_neighbor_list(options).values.data_ptr()
        != float32.get_neighbor_list(options).values.data_ptr()
    )
