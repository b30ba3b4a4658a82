"""Tests of System (SPEC §1.5): constructor and setters checks, printing, ``to()``,
neighbor lists, extra data, ``register_autograd_neighbors`` and TorchScript"""

import re
import warnings
from typing import List, Tuple

import _utils
import pytest
import torch

from metatensor.torch import TensorBlock, TensorMap
from metatomic.torch import NeighborListOptions, System, register_autograd_neighbors

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

F64 = torch.float64
META = torch.device("meta")
requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="a second device (CUDA) is needed"
)


def _arguments(n_atoms=2, dtype=F64, pbc=(False, False, False)):
    return {
        "types": torch.tensor([1] * n_atoms),
        "positions": torch.zeros((n_atoms, 3), dtype=dtype),
        "cell": torch.zeros((3, 3), dtype=dtype),
        "pbc": torch.tensor(pbc),
    }


def _neighbor_block(
    names=_utils.NEIGHBOR_SAMPLE_NAMES,
    components=None,
    properties=None,
    dtype=F64,
    values=None,
):
    if components is None:
        components = [_utils.labels_range("xyz", 3)]
    if properties is None:
        properties = _utils.labels_range("distance", 1)
    if values is None:
        values = torch.tensor([[[1.6], [0.3], [0.1]]], dtype=dtype)
    return TensorBlock(
        values=values,
        samples=_utils.labels(names, [[0, 1, 0, 0, 0]]),
        components=components,
        properties=properties,
    )


# ==================================================================================== #
#                                  constructor checks                                  #
# ==================================================================================== #


def test_constructor():
    arguments = _arguments(n_atoms=3, pbc=(True, True, True))
    arguments["cell"] = 4.0 * torch.eye(3, dtype=F64)
    system = System(**arguments)

    assert system.types.dtype == torch.int32
    assert system.types.tolist() == [1, 1, 1]
    assert system.positions is arguments["positions"]
    assert system.cell is arguments["cell"]
    assert system.pbc is arguments["pbc"]
    assert system.dtype == F64
    assert system.device == torch.device("cpu")
    assert len(system) == 3


@pytest.mark.parametrize("dtype", [torch.int64, torch.int16, torch.uint8, torch.int32])
def test_integer_types_are_stored_as_int32(dtype):
    arguments = _arguments()
    arguments["types"] = torch.tensor([1, 8], dtype=dtype)
    system = System(**arguments)
    assert system.types.dtype == torch.int32
    assert system.types.tolist() == [1, 8]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bool])
def test_non_integer_types(dtype):
    arguments = _arguments()
    arguments["types"] = torch.tensor([1, 1], dtype=dtype)
    message = f"`types` must be a tensor of integers, got dtype {dtype}"
    with pytest.raises(ValueError, match=re.escape(message)):
        System(**arguments)


def test_types_shape():
    arguments = _arguments()
    arguments["types"] = torch.tensor([[1, 1]])
    message = "`types` must be a 1-D tensor, got a tensor with 2 dimensions"
    with pytest.raises(ValueError, match=re.escape(message)):
        System(**arguments)


@pytest.mark.parametrize("shape", [(2, 2), (2, 3, 1), (6,)])
def test_positions_shape(shape):
    arguments = _arguments()
    arguments["positions"] = torch.zeros(shape, dtype=F64)
    message = f"`positions` must be a tensor of shape (n_atoms, 3), got {list(shape)}"
    with pytest.raises(ValueError, match=re.escape(message)):
        System(**arguments)


def test_positions_count():
    arguments = _arguments()
    arguments["positions"] = torch.zeros((3, 3), dtype=F64)
    message = "`positions` must contain one row per atom: got 3 positions for 2 types"
    with pytest.raises(ValueError, match=re.escape(message)):
        System(**arguments)


def test_positions_dtype():
    arguments = _arguments()
    arguments["positions"] = torch.zeros((2, 3), dtype=torch.int32)
    message = "`positions` must be a floating point tensor, got dtype torch.int32"
    with pytest.raises(ValueError, match=re.escape(message)):
        System(**arguments)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_system_dtype(dtype):
    system = System(**_arguments(dtype=dtype))
    assert system.dtype == dtype
    assert system.positions.dtype == dtype


def test_cell_checks():
    arguments = _arguments()
    arguments["cell"] = torch.zeros((3, 2), dtype=F64)
    with pytest.raises(ValueError, match=re.escape("of shape (3, 3), got [3, 2]")):
        System(**arguments)

    arguments["cell"] = torch.zeros((3, 3), dtype=torch.float32)
    message = "`cell` must have the dtype of `positions` (torch.float64), got "
    with pytest.raises(ValueError, match=re.escape(message + "torch.float32")):
        System(**arguments)


def test_pbc_checks():
    arguments = _arguments()
    arguments["pbc"] = torch.tensor([False, False])
    message = "`pbc` must be a tensor of shape (3,), got [2]"
    with pytest.raises(ValueError, match=re.escape(message)):
        System(**arguments)

    arguments["pbc"] = torch.tensor([0, 0, 0])
    message = "`pbc` must be a tensor of bool, got dtype torch.int64"
    with pytest.raises(ValueError, match=re.escape(message)):
        System(**arguments)


def test_device_mismatch():
    # only the device check runs on the meta tensors: it comes first
    arguments = _arguments()
    arguments["positions"] = torch.zeros((2, 3), dtype=F64, device=META)
    message = "`positions` must be on the device of `types` (cpu), got meta"
    with pytest.raises(ValueError, match=re.escape(message)):
        System(**arguments)

    arguments = _arguments()
    arguments["cell"] = torch.zeros((3, 3), dtype=F64, device=META)
    message = "`cell` must be on the device of `positions` (cpu), got meta"
    with pytest.raises(ValueError, match=re.escape(message)):
        System(**arguments)

    arguments = _arguments()
    arguments["pbc"] = torch.tensor([False, False, False], device=META)
    message = "`pbc` must be on the device of `positions` (cpu), got meta"
    with pytest.raises(ValueError, match=re.escape(message)):
        System(**arguments)


NON_PERIODIC_MESSAGE = (
    "the cell vectors of non-periodic directions must be zero: set the rows of "
    "`cell` to zero where `pbc` is False"
)


@pytest.mark.parametrize("direction", [0, 1, 2])
def test_non_periodic_rows_must_be_zero(direction):
    arguments = _arguments()
    pbc = [True, True, True]
    pbc[direction] = False
    arguments["pbc"] = torch.tensor(pbc)
    arguments["cell"] = torch.eye(3, dtype=F64)
    with pytest.raises(ValueError, match=re.escape(NON_PERIODIC_MESSAGE)):
        System(**arguments)

    arguments["cell"][direction] = 0.0
    system = System(**arguments)
    assert system.pbc.tolist() == pbc


# ==================================================================================== #
#                                       setters                                        #
# ==================================================================================== #


def test_types_setter():
    system = _utils.system()
    system.types = torch.tensor([8, 8, 1, 1])
    assert system.types.dtype == torch.int32
    assert system.types.tolist() == [8, 8, 1, 1]

    message = "`types` must be a tensor of integers, got dtype torch.float32"
    with pytest.raises(ValueError, match=re.escape(message)):
        system.types = torch.tensor([1.0, 1.0, 1.0, 1.0])

    message = "the new `types` must have the same number of atoms and device as "
    with pytest.raises(ValueError, match=re.escape(message)):
        system.types = torch.tensor([1, 1, 1])
    assert system.types.tolist() == [8, 8, 1, 1]


def test_positions_setter():
    system = _utils.system()
    positions = torch.ones((4, 3), dtype=F64, requires_grad=True)
    system.positions = positions
    assert system.positions is positions

    message = "the new `positions` must have the dtype of the system (torch.float64)"
    with pytest.raises(ValueError, match=re.escape(message + ", got torch.float32")):
        system.positions = torch.ones((4, 3), dtype=torch.float32)

    message = "`positions` must contain one row per atom: got 2 positions for 4 types"
    with pytest.raises(ValueError, match=re.escape(message)):
        system.positions = torch.ones((2, 3), dtype=F64)

    with pytest.raises(ValueError, match=re.escape("got [4, 2]")):
        system.positions = torch.ones((4, 2), dtype=F64)

    message = "`positions` must be on the device of `types` (cpu), got meta"
    with pytest.raises(ValueError, match=re.escape(message)):
        system.positions = torch.ones((4, 3), dtype=F64, device=META)
    assert system.positions is positions


def test_cell_setter():
    system = _utils.system(pbc=(True, False, True))
    cell = torch.diag(torch.tensor([3.0, 0.0, 5.0], dtype=F64))
    system.cell = cell
    assert system.cell is cell

    with pytest.raises(ValueError, match=re.escape(NON_PERIODIC_MESSAGE)):
        system.cell = torch.eye(3, dtype=F64)

    message = "`cell` must have the dtype of `positions` (torch.float64)"
    with pytest.raises(ValueError, match=re.escape(message)):
        system.cell = torch.zeros((3, 3), dtype=torch.float32)

    with pytest.raises(ValueError, match=re.escape("of shape (3, 3), got [9]")):
        system.cell = torch.zeros(9, dtype=F64)
    assert system.cell is cell


def test_pbc_setter():
    system = _utils.system(pbc=(True, True, False))
    # a zero cell row can be periodic or not
    system.pbc = torch.tensor([True, True, True])
    assert system.pbc.tolist() == [True, True, True]

    with pytest.raises(ValueError, match=re.escape(NON_PERIODIC_MESSAGE)):
        system.pbc = torch.tensor([False, True, True])

    with pytest.raises(ValueError, match="`pbc` must be a tensor of bool"):
        system.pbc = torch.tensor([1, 1, 1])
    assert system.pbc.tolist() == [True, True, True]


# ==================================================================================== #
#                                   printing and len                                   #
# ==================================================================================== #


def test_str_and_repr():
    system = System(**_arguments(n_atoms=3))
    assert len(system) == 3
    assert str(system) == "System with 3 atoms, non periodic"
    assert repr(system) == "System with 3 atoms, non periodic"

    arguments = _arguments(n_atoms=1, pbc=(True, True, True))
    arguments["cell"] = torch.tensor(
        [[1.5, 0.1234567, -2.0], [0.0, 1.0, 0.0], [0.0, 0.0, 10.0]], dtype=F64
    )
    system = System(**arguments)
    expected = (
        "System with 1 atoms, periodic cell: "
        "[[1.5, 0.123457, -2], [0, 1, 0], [0, 0, 10]]"
    )
    assert str(system) == expected
    assert repr(system) == expected

    system = _utils.system(pbc=(True, False, True))
    assert str(system) == (
        "System with 4 atoms, periodic cell: [[4, 0, 0], [0, 0, 0], [0.1, 0.2, 3.9]], "
        "pbc: [True, False, True]"
    )


# ==================================================================================== #
#                                        to()                                          #
# ==================================================================================== #


def _system_with_everything():
    system = _utils.system()
    options = NeighborListOptions(_utils.CUTOFF, False, True)
    _utils.add_neighbors(system, options)
    system.add_data("mass", _utils.mass_data(system))
    return system, options


def _check_converted(converted, original, options, dtype):
    assert converted is not original
    assert converted.dtype == dtype
    assert converted.positions.dtype == dtype
    assert converted.cell.dtype == dtype
    assert converted.types.dtype == torch.int32
    assert converted.pbc.dtype == torch.bool
    torch.testing.assert_close(
        converted.positions, original.positions.to(dtype), rtol=0, atol=0
    )
    torch.testing.assert_close(converted.cell, original.cell.to(dtype), rtol=0, atol=0)
    assert converted.types.tolist() == original.types.tolist()

    assert converted.known_neighbor_lists() == [options]
    neighbors = converted.get_neighbor_list(options)
    assert neighbors.values.dtype == dtype
    torch.testing.assert_close(
        neighbors.values,
        original.get_neighbor_list(options).values.to(dtype),
        rtol=0,
        atol=0,
    )
    assert converted.known_data() == ["mass"]
    assert converted.get_data("mass").block().values.dtype == dtype
    # the original is unchanged
    assert original.dtype == F64
    assert original.get_neighbor_list(options).values.dtype == F64


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((torch.float32,), {}),
        ((torch.float32, "cpu"), {}),
        (("cpu", torch.float32), {}),
        ((torch.device("cpu"), torch.float32), {}),
        ((), {"dtype": torch.float32}),
        ((), {"dtype": torch.float32, "device": "cpu"}),
        ((), {"device": torch.device("cpu"), "dtype": torch.float32}),
        (("cpu",), {"dtype": torch.float32}),
        ((torch.float32,), {"device": "cpu", "non_blocking": True}),
    ],
)
def test_to_dtype(args, kwargs):
    system, options = _system_with_everything()
    converted = system.to(*args, **kwargs)
    _check_converted(converted, system, options, torch.float32)


@pytest.mark.parametrize(
    "args, kwargs", [(("cpu",), {}), ((), {"device": "cpu"}), ((), {})]
)
def test_to_same_dtype(args, kwargs):
    system, options = _system_with_everything()
    converted = system.to(*args, **kwargs)
    _check_converted(converted, system, options, F64)


def test_to_errors():
    system = _utils.system()
    message = "a system's dtype must be a floating point dtype, got torch.int32"
    with pytest.raises(ValueError, match=re.escape(message)):
        system.to(torch.int32)

    with pytest.raises(TypeError, match="the dtype was given more than once"):
        system.to(torch.float32, dtype=torch.float64)

    with pytest.raises(TypeError, match="the device was given more than once"):
        system.to("cpu", "cpu")

    message = "positional arguments of `to()` must be a torch.dtype or a device"
    with pytest.raises(TypeError, match=re.escape(message)):
        system.to(3)


@requires_cuda
def test_to_device():
    system, options = _system_with_everything()
    moved = system.to("cuda")
    assert moved.device.type == "cuda"
    assert moved.types.device.type == "cuda"
    assert moved.pbc.device.type == "cuda"
    assert moved.get_neighbor_list(options).values.device.type == "cuda"
    assert moved.get_data("mass").device.type == "cuda"

    back = moved.to(torch.float32, "cpu")
    _check_converted(back, system, options, torch.float32)


# ==================================================================================== #
#                                    neighbor lists                                    #
# ==================================================================================== #


def test_neighbor_lists():
    system = _utils.system()
    assert system.known_neighbor_lists() == []

    half = NeighborListOptions(_utils.CUTOFF, False, True)
    full = NeighborListOptions(4.5, True, False, "somebody")
    half_block = _utils.add_neighbors(system, half)
    full_block = _utils.add_neighbors(system, full)

    known = system.known_neighbor_lists()
    assert len(known) == 2
    assert known[0] is half
    assert known[1] is full
    assert system.get_neighbor_list(half) is half_block
    assert system.get_neighbor_list(full) is full_block
    # options are compared on cutoff, full_list and strict only
    assert system.get_neighbor_list(NeighborListOptions(4.5, True, False)) is full_block

    # the list of options is a copy
    known.append(NeighborListOptions(1.0, True, True))
    assert len(system.known_neighbor_lists()) == 2
    known = system.known_data()
    known.append("mass")
    assert system.known_data() == []


def test_missing_neighbor_list():
    system = _utils.system()
    _utils.add_neighbors(system, NeighborListOptions(3.0, True, False))
    message = (
        "No neighbor list for NeighborListOptions(cutoff=3.000000, full_list=False, "
        "strict=False) was found in this system: is it returned by the model's "
        "`requested_neighbor_lists()`?"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        system.get_neighbor_list(NeighborListOptions(3.0, False, False))


def test_duplicate_neighbor_list():
    system = _utils.system()
    options = NeighborListOptions(3.0, True, False)
    _utils.add_neighbors(system, options)

    message = (
        "this system already has a neighbor list for "
        "NeighborListOptions(cutoff=3.000000, full_list=True, strict=False)"
    )
    other_requestor = NeighborListOptions(3.0, True, False, "other")
    with pytest.raises(ValueError, match=re.escape(message)):
        system.add_neighbor_list(other_requestor, _utils.neighbors(system, options))
    assert len(system.known_neighbor_lists()) == 1


BAD_LAYOUTS = [
    (
        {"names": ["first_atom", "second_atom", "a", "b", "c"]},
        "the samples of a neighbor list must be named ['first_atom', 'second_atom', "
        "'cell_shift_a', 'cell_shift_b', 'cell_shift_c'], got [first_atom, "
        "second_atom, a, b, c]",
    ),
    (
        {"components": [_utils.labels_range("abc", 3)]},
        "a neighbor list must have a single component named 'xyz'",
    ),
    (
        {"components": [], "values": torch.zeros((1, 1), dtype=F64)},
        "a neighbor list must have a single component named 'xyz'",
    ),
    (
        {"components": [_utils.labels("xyz", [0, 2, 1])]},
        "the 'xyz' component of a neighbor list must contain [0, 1, 2]",
    ),
    (
        {"properties": _utils.labels_range("dist", 1)},
        "a neighbor list must have a single property named 'distance'",
    ),
    (
        {
            "properties": _utils.labels_range("distance", 2),
            "values": torch.zeros((1, 3, 2), dtype=F64),
        },
        "a neighbor list must have a single property named 'distance'",
    ),
    (
        {"properties": _utils.labels("distance", [1])},
        "the 'distance' property of a neighbor list must be [0]",
    ),
]


@pytest.mark.parametrize("changes, message", BAD_LAYOUTS)
def test_neighbor_list_layout(changes, message):
    system = _utils.system()
    options = NeighborListOptions(3.0, True, False)
    with pytest.raises(
        ValueError, match=re.escape("invalid neighbor list: " + message)
    ):
        system.add_neighbor_list(options, _neighbor_block(**changes))
    assert system.known_neighbor_lists() == []


def test_neighbor_list_gradients():
    block = _neighbor_block()
    gradient = TensorBlock(
        values=torch.zeros((1, 3, 1), dtype=F64),
        samples=_utils.labels("sample", [0]),
        components=[_utils.labels_range("xyz", 3)],
        properties=_utils.labels_range("distance", 1),
    )
    block.add_gradient("positions", gradient)
    system = _utils.system()
    message = "invalid neighbor list: a neighbor list can not have gradients"
    with pytest.raises(ValueError, match=re.escape(message)):
        system.add_neighbor_list(NeighborListOptions(3.0, True, False), block)


def test_neighbor_list_dtype():
    system = _utils.system()
    message = (
        "`neighbors` dtype (torch.float32) does not match this system's dtype "
        "(torch.float64)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        system.add_neighbor_list(
            NeighborListOptions(3.0, True, False), _neighbor_block(dtype=torch.float32)
        )


@requires_cuda
def test_neighbor_list_device():
    system = _utils.system()
    block = _neighbor_block().to("cuda")
    message = "`neighbors` device (cuda:0) does not match this system's device (cpu)"
    with pytest.raises(ValueError, match=re.escape(message)):
        system.add_neighbor_list(NeighborListOptions(3.0, True, False), block)


GRAD_WARNING = (
    "the positions or the cell of this system require gradients but the neighbor "
    "list values do not: gradients will not flow through the neighbor list, call "
    "`register_autograd_neighbors` first"
)


@pytest.mark.parametrize(
    "positions_requires_grad, cell_requires_grad", [(True, False), (False, True)]
)
def test_neighbor_list_without_gradients_warns(
    positions_requires_grad, cell_requires_grad
):
    options = NeighborListOptions(3.0, True, False)
    system = _utils.system(
        positions_requires_grad=positions_requires_grad,
        cell_requires_grad=cell_requires_grad,
    )
    with pytest.warns(UserWarning, match=re.escape(GRAD_WARNING)):
        system.add_neighbor_list(options, _utils.neighbors(system, options))
    assert system.known_neighbor_lists() == [options]

    # the warning is shown once
    system = _utils.system(positions_requires_grad=positions_requires_grad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        system.add_neighbor_list(options, _utils.neighbors(system, options))


def test_neighbor_list_gradients_no_warning():
    options = NeighborListOptions(3.0, True, False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # registered with autograd
        system = _utils.system(positions_requires_grad=True, cell_requires_grad=True)
        _utils.add_neighbors(system, options)
        assert system.get_neighbor_list(options).values.requires_grad

        # nothing requires gradients
        system = _utils.system()
        _utils.add_neighbors(system, options)
        assert not system.get_neighbor_list(options).values.requires_grad


# ==================================================================================== #
#                                      extra data                                      #
# ==================================================================================== #


@pytest.mark.parametrize(
    "name",
    [
        "types",
        "positions",
        "position",
        "cell",
        "neighbors",
        "neighbor",
        "Types",
        "CELL",
        "Position",
        "NeighBors",
    ],
)
def test_reserved_data_names(name):
    system = _utils.system()
    message = (
        f"'{name}' is a reserved name for the content of a system, use another name "
        "for this data"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        system.add_data(name, _utils.mass_data(system))
    assert system.known_data() == []


@pytest.mark.parametrize(
    "name, reason",
    [
        ("foo", "this is not a standard quantity"),
        ("Mass", "this is not a standard quantity"),
        ("::foo", "custom names must look like '<domain>::<name>'"),
        ("foo::", "custom names must look like '<domain>::<name>'"),
        ("mass/", "the variant after '/' can not be empty"),
        ("mass/a/b", "a name can only contain one '/' before its variant"),
    ],
)
def test_invalid_data_names(name, reason):
    system = _utils.system()
    message = f"Invalid quantity name for system data '{name}': {reason}"
    with pytest.raises(ValueError, match=re.escape(message)):
        system.add_data(name, _utils.mass_data(system))


@pytest.mark.parametrize(
    "name", ["mass", "mass/experimental", "charge", "my_code::thing", "a::b/c"]
)
def test_valid_data_names(name):
    system = _utils.system()
    data = _utils.mass_data(system)
    system.add_data(name, data)
    assert system.known_data() == [name]
    assert system.get_data(name) is data


@pytest.mark.parametrize(
    "plural, singular",
    [
        ("masses", "mass"),
        ("charges", "charge"),
        ("velocities", "velocity"),
        ("momenta", "momentum"),
        ("masses/variant", "mass/variant"),
    ],
)
def test_deprecated_data_names(plural, singular):
    system = _utils.system()
    data = _utils.mass_data(system)
    base_plural = plural.split("/")[0]
    base_singular = singular.split("/")[0]
    message = f"the '{base_plural}' name is deprecated, use '{base_singular}' instead"
    with pytest.warns(DeprecationWarning, match=re.escape(message)):
        system.add_data(plural, data)

    assert system.known_data() == [singular]
    assert system.get_data(singular) is data
    assert system.get_data(plural) is data


def test_data_override():
    system = _utils.system()
    first = _utils.mass_data(system)
    second = _utils.mass_data(system, unit="kg")
    system.add_data("mass", first)
    system.add_data("charge", second)

    message = "this system already has data named 'mass': use `override=True`"
    with pytest.raises(ValueError, match=re.escape(message)):
        system.add_data("mass", second)
    assert system.get_data("mass") is first

    system.add_data("mass", second, override=True)
    assert system.get_data("mass") is second
    assert system.known_data() == ["mass", "charge"]


def test_missing_data():
    system = _utils.system()
    system.add_data("mass", _utils.mass_data(system))
    message = "no data named 'charge' in this system, the known data are [mass]"
    with pytest.raises(ValueError, match=re.escape(message)):
        system.get_data("charge")


def test_data_dtype():
    system = _utils.system()
    data = _utils.mass_data(system).to(torch.float32)
    message = (
        "the dtype of the data 'mass' (torch.float32) does not match this system's "
        "dtype (torch.float64)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        system.add_data("mass", data)


@requires_cuda
def test_data_device():
    system = _utils.system()
    data = _utils.mass_data(system).to("cuda")
    message = (
        "the device of the data 'mass' (cuda:0) does not match this system's device "
        "(cpu)"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        system.add_data("mass", data)


# ==================================================================================== #
#                             register_autograd_neighbors                              #
# ==================================================================================== #


def _pair_function(vectors: torch.Tensor) -> torch.Tensor:
    """Some non-linear function of the pair vectors"""
    distances = torch.linalg.vector_norm(vectors, dim=1)
    return torch.sum(distances**3) + torch.sum(vectors[:, 0] * vectors[:, 2])


def _direct_gradients(system_builder, options):
    """Gradients of the function computed from positions and cell with torch"""
    system = system_builder()
    block = _utils.neighbors(system, options)
    samples = block.samples.values
    first = samples[:, 0].to(torch.int64)
    second = samples[:, 1].to(torch.int64)
    shifts = samples[:, 2:].to(system.dtype)
    vectors = system.positions[second] - system.positions[first] + shifts @ system.cell
    _pair_function(vectors).backward()
    return system.positions.grad, system.cell.grad


SYSTEMS = {
    "periodic": lambda: _utils.system(
        positions_requires_grad=True, cell_requires_grad=True
    ),
    "mixed pbc": lambda: _utils.system(
        pbc=(True, False, True), positions_requires_grad=True, cell_requires_grad=True
    ),
}


@pytest.mark.parametrize("system_name", list(SYSTEMS))
@pytest.mark.parametrize("full_list", [True, False])
@pytest.mark.parametrize("check_consistency", [True, False])
def test_register_autograd_neighbors(system_name, full_list, check_consistency):
    builder = SYSTEMS[system_name]
    # a cutoff larger than the cell: pairs of an atom with its own images
    options = NeighborListOptions(4.5, full_list, True)
    expected_positions, expected_cell = _direct_gradients(builder, options)

    system = builder()
    block = _utils.neighbors(system, options)
    if system_name == "periodic":
        samples = block.samples.values
        assert torch.any(samples[:, 0] == samples[:, 1])
        assert torch.any(samples[:, 2:] != 0)
    original = block.values.clone()
    assert not block.values.requires_grad

    register_autograd_neighbors(system, block, check_consistency=check_consistency)
    assert block.values.requires_grad
    torch.testing.assert_close(block.values, original, rtol=0, atol=0)

    _pair_function(block.values.reshape(-1, 3)).backward()
    torch.testing.assert_close(system.positions.grad, expected_positions)
    torch.testing.assert_close(system.cell.grad, expected_cell)
    # non-zero gradients, so that the comparison means something
    assert torch.all(system.positions.grad.abs().sum(dim=1) > 0)
    assert system.cell.grad.abs().sum() > 0


@pytest.mark.parametrize("requires_grad", ["positions", "cell"])
def test_register_autograd_neighbors_one_input(requires_grad):
    options = NeighborListOptions(4.5, False, True)
    expected_positions, expected_cell = _direct_gradients(SYSTEMS["periodic"], options)

    system = _utils.system(
        positions_requires_grad=requires_grad == "positions",
        cell_requires_grad=requires_grad == "cell",
    )
    block = _utils.neighbors(system, options)
    register_autograd_neighbors(system, block)
    _pair_function(block.values.reshape(-1, 3)).backward()
    if requires_grad == "positions":
        torch.testing.assert_close(system.positions.grad, expected_positions)
        assert system.cell.grad is None
    else:
        torch.testing.assert_close(system.cell.grad, expected_cell)
        assert system.positions.grad is None


def test_register_autograd_neighbors_second_order():
    """Gradients of forces (as in training on forces) are those computed directly"""
    options = NeighborListOptions(4.5, False, True)

    def second_order(use_neighbors):
        system = _utils.system(positions_requires_grad=True, cell_requires_grad=True)
        block = _utils.neighbors(system, options)
        if use_neighbors:
            register_autograd_neighbors(system, block)
            vectors = block.values.reshape(-1, 3)
        else:
            samples = block.samples.values
            first = samples[:, 0].to(torch.int64)
            second = samples[:, 1].to(torch.int64)
            shifts = samples[:, 2:].to(system.dtype)
            vectors = (
                system.positions[second]
                - system.positions[first]
                + shifts @ system.cell
            )
        (forces,) = torch.autograd.grad(
            _pair_function(vectors), system.positions, create_graph=True
        )
        torch.sum(forces**2).backward()
        return system.positions.grad, system.cell.grad

    expected = second_order(use_neighbors=False)
    actual = second_order(use_neighbors=True)
    torch.testing.assert_close(actual[0], expected[0])
    torch.testing.assert_close(actual[1], expected[1])


def test_register_autograd_neighbors_without_gradients():
    system = _utils.system()
    block = _utils.neighbors(system, NeighborListOptions(3.0, True, False))
    values = block.values
    register_autograd_neighbors(system, block, check_consistency=True)
    assert block.values is values
    assert not block.values.requires_grad


def test_register_autograd_neighbors_consistency():
    options = NeighborListOptions(3.0, True, False)
    system = _utils.system(positions_requires_grad=True)
    block = _utils.neighbors(system, options)
    wrong = TensorBlock(
        values=block.values * 1.01,
        samples=block.samples,
        components=block.components,
        properties=block.properties,
    )
    message = (
        "the neighbor list values are not the pair vectors r_j - r_i + S @ cell of "
        "this system: check the cell shifts and the pairs"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        register_autograd_neighbors(system, wrong, check_consistency=True)
    # not checked by default
    register_autograd_neighbors(system, wrong)

    message = "a neighbor list must have a single component named 'xyz'"
    bad = _neighbor_block(components=[_utils.labels_range("abc", 3)])
    with pytest.raises(ValueError, match=re.escape(message)):
        register_autograd_neighbors(system, bad, check_consistency=True)


def test_register_autograd_neighbors_errors():
    options = NeighborListOptions(3.0, True, False)
    system = _utils.system(positions_requires_grad=True)
    block = _utils.neighbors(system, options)
    register_autograd_neighbors(system, block)
    message = (
        "the values of this neighbor list already require gradients: "
        "`register_autograd_neighbors` expects values computed outside of autograd"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        register_autograd_neighbors(system, block)

    block = _neighbor_block(dtype=torch.float32)
    message = (
        "the neighbor list values must have the dtype and device of the system "
        "positions"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        register_autograd_neighbors(system, block)


def _scripted_energy(
    system: System, neighbors: TensorBlock, check_consistency: bool
) -> torch.Tensor:
    register_autograd_neighbors(system, neighbors, check_consistency)
    return _pair_function(neighbors.values.reshape(-1, 3))


def test_register_autograd_neighbors_torchscript():
    options = NeighborListOptions(4.5, False, True)
    expected_positions, expected_cell = _direct_gradients(SYSTEMS["periodic"], options)

    scripted = torch.jit.script(_scripted_energy)
    system = SYSTEMS["periodic"]()
    block = _utils.neighbors(system, options)
    energy = scripted(system, block, True)
    energy.backward()
    torch.testing.assert_close(system.positions.grad, expected_positions)
    torch.testing.assert_close(system.cell.grad, expected_cell)

    wrong = TensorBlock(
        values=block.values * 2.0,
        samples=block.samples,
        components=block.components,
        properties=block.properties,
    )
    with pytest.raises(torch.jit.Error, match="are not the pair vectors"):
        scripted(system, wrong, True)


# ==================================================================================== #
#                                     TorchScript                                      #
# ==================================================================================== #


def _use_every_method(
    system: System,
    options: NeighborListOptions,
    neighbors: TensorBlock,
    data: TensorMap,
) -> Tuple[int, str, List[str], List[bool], System]:
    checks: List[bool] = []
    system.types = system.types
    system.positions = system.positions * 1.0
    system.cell = system.cell
    system.pbc = system.pbc
    checks.append(system.device == torch.device("cpu"))
    checks.append(system.dtype == torch.float64)
    checks.append(system.types.dtype == torch.int32)

    system.add_neighbor_list(options, neighbors)
    checks.append(
        list(system.get_neighbor_list(options).values.shape) == neighbors.shape
    )
    checks.append(len(system.known_neighbor_lists()) == 1)
    checks.append(system.known_neighbor_lists()[0] == options)

    system.add_data("mass", data)
    system.add_data("mass", data, override=True)
    checks.append(system.get_data("mass").block().values.dtype == torch.float64)

    converted = system.to(dtype=torch.float32, device=system.device)
    checks.append(converted.dtype == torch.float32)
    checks.append(converted.get_neighbor_list(options).values.dtype == torch.float32)
    checks.append(converted.get_data("mass").block().values.dtype == torch.float32)
    converted = system.to(torch.float32)
    return len(system), str(system), system.known_data(), checks, converted


@pytest.mark.parametrize("scripted", [False, True])
def test_torchscript(scripted):
    function = _use_every_method
    if scripted:
        function = torch.jit.script(_use_every_method)

    system = _utils.system(pbc=(True, False, True))
    options = NeighborListOptions(3.0, True, False)
    neighbors = _utils.neighbors(system, options)
    data = _utils.mass_data(system)
    n_atoms, text, known_data, checks, converted = function(
        system, options, neighbors, data
    )
    assert n_atoms == 4
    assert text == str(_utils.system(pbc=(True, False, True)))
    assert known_data == ["mass"]
    assert checks == [True] * 10
    assert converted.positions.dtype == torch.float32
    assert converted.cell.dtype == torch.float32
    assert converted.known_data() == ["mass"]
    # the system given to the function was modified
    if not scripted:
        # (TorchScript works on a copy of the Python object given to it)
        assert system.known_data() == ["mass"]
        assert system.known_neighbor_lists() == [options]


def test_torchscript_errors():
    def construct(types: torch.Tensor) -> System:
        return System(
            types,
            torch.zeros((2, 3), dtype=torch.float64),
            torch.zeros((3, 3), dtype=torch.float64),
            torch.tensor([False, False, False]),
        )

    scripted = torch.jit.script(construct)
    system = scripted(torch.tensor([1, 8]))
    assert system.types.dtype == torch.int32
    assert len(system) == 2
    with pytest.raises(torch.jit.Error, match="`types` must be a tensor of integers"):
        scripted(torch.tensor([1.0, 8.0]))
