"""Saving and loading systems: the ``.mta`` format (SPEC §4c).

A ``.mta`` file is a ZIP archive of STORED members, in this order:

* ``positions.npy``, ``cell.npy``, ``types.npy`` and ``pbc.npy``: the positions
  and the cell as float64 (``<f8``), the types as int32 (``<i4``) and the
  periodicity as bool (``|b1``), with metatensor's spelling of NPY headers;
* for each neighbor list ``i``, ``pairs/<i>/options.json`` (the JSON of its
  :py:class:`NeighborListOptions`, see :py:func:`neighbor_options_to_json`) and
  ``pairs/<i>/data.mts`` (the TensorBlock, in the ``.mts`` format);
* ``data/<name>.mts`` for each extra data (the TensorMap, in the ``.mts`` format).

The buffer functions (:py:func:`save_buffer`, :py:func:`load_system_buffer`) and
the pickling helpers (:py:func:`system_getstate`, :py:func:`system_setstate`)
compile with :py:func:`torch.jit.script`, so that scripted models can call them;
inside TorchScript, errors are ``torch.jit.Error`` with the messages of the
``ValueError`` raised in Python. :py:func:`save` and :py:func:`load_system` work
with files and exist only in Python (TorchScript has no file API).

**Upstream quirk, kept on purpose**: positions and cell are saved as float64,
while neighbor lists and extra data keep their own dtype. A float32 system with
neighbor lists (or data) can be saved, but loading it fails with "`neighbors`
dtype (torch.float32) does not match this system's dtype (torch.float64)"
(raised by :py:meth:`System.add_neighbor_list`). Convert the system with
``system.to(dtype=torch.float64)`` before saving it to avoid this. Loaded systems
are always float64, on the CPU.

The ZIP layout follows upstream's (written by miniz): STORED members without
ZIP64 extra fields, with the modification time miniz derives from ``time_t`` 0
(DOS time 0 and date ``0xEC21``: the year 1970 does not fit in the DOS date, and
Python's zipfile shows it as 2098-01-01). The other header fields are miniz's
defaults as far as we know: version needed 0, made by 0, no external attributes,
general purpose flags 0 (0x0800 for non-ASCII names).
"""

import os
from typing import Dict, List

import torch

from metatensor.io._atomic import atomic_file
from metatensor.torch import TensorBlock, TensorMap
from metatensor_torch import _mts

from ._options_json import is_digit, neighbor_options_to_json, options_from_bytes
from ._system import System

# ================================================================================== #
#                                   writing ZIP                                      #
# ================================================================================== #


def _local_header(encoded: List[int], crc: int, size: int) -> List[int]:
    return (
        _mts._le(0x04034B50, 4)
        + _mts._le(0, 2)  # version needed (miniz writes 0 for STORED members)
        + _mts._le(_mts._name_flags(encoded), 2)
        + _mts._le(0, 2)  # STORED
        + _mts._le(0x0000, 2)  # DOS time of time_t 0
        + _mts._le(0xEC21, 2)  # DOS date of time_t 0
        + _mts._le(crc, 4)
        + _mts._le(size, 4)  # compressed size
        + _mts._le(size, 4)
        + _mts._le(len(encoded), 2)
        + _mts._le(0, 2)  # no extra field
        + encoded
    )


def _central_entry(encoded: List[int], crc: int, size: int, offset: int) -> List[int]:
    return (
        _mts._le(0x02014B50, 4)
        + _mts._le(0, 2)  # made by
        + _mts._le(0, 2)  # version needed
        + _mts._le(_mts._name_flags(encoded), 2)
        + _mts._le(0, 2)  # STORED
        + _mts._le(0x0000, 2)
        + _mts._le(0xEC21, 2)
        + _mts._le(crc, 4)
        + _mts._le(size, 4)
        + _mts._le(size, 4)
        + _mts._le(len(encoded), 2)
        + _mts._le(0, 2)  # extra field length
        + _mts._le(0, 2)  # comment length
        + _mts._le(0, 2)  # disk number
        + _mts._le(0, 2)  # internal attributes
        + _mts._le(0, 4)  # external attributes
        + _mts._le(offset, 4)
        + encoded
    )


def _write_archive(
    names: List[str], members: List[List[torch.Tensor]], limit: int
) -> torch.Tensor:
    """A ZIP archive of the ``members`` (lists of 1-D uint8 chunks), in the layout
    of upstream's system files. Archives reaching ``limit`` bytes or 0xFFFF members
    need ZIP64 records: they are written by metatensor's writer instead (with ZIP64
    local fields), which every reader accepts too."""
    encoded_names: List[List[int]] = []
    sizes: List[int] = []
    total = 22
    for i in range(len(names)):
        encoded_names.append(_mts._utf8(names[i]))
        size = 0
        for chunk in members[i]:
            size += chunk.shape[0]
        sizes.append(size)
        total += 30 + 46 + 2 * len(encoded_names[i]) + size
    if total >= limit or len(names) >= 0xFFFF:
        return _mts.write_zip(names, members)

    crcs = _mts._crc32_parts(members)
    pieces: List[torch.Tensor] = []
    directory: List[int] = []
    offset = 0
    for i in range(len(names)):
        local = _local_header(encoded_names[i], crcs[i], sizes[i])
        pieces.append(torch.tensor(local, dtype=torch.uint8))
        pieces.extend(members[i])
        directory += _central_entry(encoded_names[i], crcs[i], sizes[i], offset)
        offset += len(local) + sizes[i]

    end = (
        _mts._le(0x06054B50, 4)
        + _mts._le(0, 2)  # disk numbers
        + _mts._le(0, 2)
        + _mts._le(len(names), 2)
        + _mts._le(len(names), 2)
        + _mts._le(len(directory), 4)
        + _mts._le(offset, 4)
        + _mts._le(0, 2)  # comment length
    )
    pieces.append(torch.tensor(directory + end, dtype=torch.uint8))
    return torch.cat(pieces)


# ================================================================================== #
#                                      buffers                                       #
# ================================================================================== #


def _bool_npy(array: torch.Tensor) -> List[torch.Tensor]:
    """The NPY member of a bool array, with the ``|b1`` type upstream writes for
    ``pbc.npy`` (metatensor's own data arrays use ``<b1``)"""
    array = array.detach().cpu().contiguous()
    dimensions = ""
    for size in array.shape:
        dimensions += str(size) + ", "
    header = _mts._wrap_header(
        "{ 'descr': '|b1', 'fortran_order': False, 'shape': (" + dimensions + ") }"
    )
    return [header, array.to(torch.uint8).reshape(-1)]


def save_buffer(system: System) -> torch.Tensor:
    """Serialize ``system`` in memory, in the ``.mta`` format of :py:func:`save`.

    The positions and the cell are converted to float64; the neighbor lists and
    the extra data keep their dtype (see the module documentation for the
    resulting quirk with float32 systems). The buffer can be loaded with
    :py:func:`load_system_buffer`.

    :param system: the system to save (on any device)
    :return: the archive, a 1-D ``torch.uint8`` tensor on the CPU

    >>> system = System(
    ...     types=torch.tensor([8, 1, 1]),
    ...     positions=torch.zeros((3, 3), dtype=torch.float64),
    ...     cell=torch.zeros((3, 3), dtype=torch.float64),
    ...     pbc=torch.tensor([False, False, False]),
    ... )
    >>> buffer = save_buffer(system)
    >>> buffer.dtype
    torch.uint8
    >>> load_system_buffer(buffer)
    System with 3 atoms, non periodic
    """
    if not torch.jit.is_scripting():
        if not isinstance(system, System):
            raise TypeError(
                f"`system` must be a metatomic.torch.System, got {type(system).__name__}"
            )

    names = ["positions.npy", "cell.npy", "types.npy", "pbc.npy"]
    arrays = [
        system._positions.to(torch.float64),
        system._cell.to(torch.float64),
        system._types.to(torch.int32),
    ]
    members: List[List[torch.Tensor]] = []
    for array in arrays:
        members.append(_mts.npy_array(array))
    members.append(_bool_npy(system._pbc))
    for i in range(len(system._neighbor_options)):
        json = neighbor_options_to_json(system._neighbor_options[i])
        names.append("pairs/" + str(i) + "/options.json")
        members.append([torch.tensor(_mts._utf8(json), dtype=torch.uint8)])
        names.append("pairs/" + str(i) + "/data.mts")
        members.append([system._neighbor_lists[i].save_buffer()])
    for name, tensor in system._data.items():
        names.append("data/" + name + ".mts")
        members.append([tensor.save_buffer()])
    return _write_archive(names, members, 0xFFFFFFFF)


def _missing(name: str) -> str:
    return _mts._format_error(
        "missing '" + name + "' in the system archive (is this a .mta file?)"
    )


def _context(name: str, error: Exception) -> ValueError:
    """``error`` (raised while loading member ``name``) with the member name"""
    return ValueError(
        "could not load '" + name + "' from the system archive: " + str(error)
    )


def _eager_npy(name: str, member: torch.Tensor) -> torch.Tensor:
    try:
        return _mts.load_npy_array(member)
    except ValueError as error:
        raise _context(name, error) from error


def _eager_block(name: str, member: torch.Tensor) -> TensorBlock:
    try:
        return TensorBlock.load_buffer(member)
    except ValueError as error:
        raise _context(name, error) from error


def _eager_map(name: str, member: torch.Tensor) -> TensorMap:
    try:
        return TensorMap.load_buffer(member)
    except ValueError as error:
        raise _context(name, error) from error


def _array_names() -> List[str]:
    """Names of the dtypes in ``_mts._type_codes()``, in the same order"""
    names = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16"]
    names += ["uint32", "uint64", "float16", "float32", "float64"]
    names += ["complex64", "complex128"]
    return names


def _describe_array(array: torch.Tensor) -> str:
    dtype = "unknown"
    _, dtypes = _mts._type_codes()
    names = _array_names()
    for i in range(len(dtypes)):
        if dtypes[i] == array.dtype:
            dtype = names[i]
    article = "a "
    if dtype.startswith("i"):
        article = "an "
    return article + dtype + " array of shape " + _mts._shape_text(array.shape)


def _load_array(
    members: Dict[str, torch.Tensor],
    name: str,
    dtype: torch.dtype,
    shape: List[int],
    expected: str,
) -> torch.Tensor:
    """The array stored in member ``name``, after checking its dtype and shape
    (``-1`` in ``shape`` matches any size)"""
    if name not in members:
        raise ValueError(_missing(name))
    if not torch.jit.is_scripting():
        array = _eager_npy(name, members[name])
    else:
        array = _mts.load_npy_array(members[name])

    valid = array.dtype == dtype and array.dim() == len(shape)
    if valid:
        for i in range(len(shape)):
            if shape[i] != -1 and array.shape[i] != shape[i]:
                valid = False
    if not valid:
        raise ValueError(
            _mts._format_error(
                "'"
                + name
                + "' must contain "
                + expected
                + ", got "
                + _describe_array(array)
            )
        )
    return array


def _is_index(text: str) -> bool:
    """Whether ``text`` is a decimal index without leading zeros (at most 9
    digits)"""
    data = _mts._utf8(text)
    if len(data) == 0 or len(data) > 9 or (data[0] == 0x30 and len(data) != 1):
        return False
    for i in range(len(data)):
        if not is_digit(data, i):
            return False
    return True


def _pairs_count(members: Dict[str, torch.Tensor]) -> int:
    """Number of neighbor lists in the archive: one more than the largest index
    ``i`` of the ``pairs/<i>/options.json`` and ``pairs/<i>/data.mts`` members"""
    count = 0
    for name in members.keys():
        if not name.startswith("pairs/"):
            continue
        rest = name[6:]
        slash = rest.find("/")
        if slash < 0:
            continue
        index = rest[:slash]
        file = rest[slash + 1 :]
        if (file == "options.json" or file == "data.mts") and _is_index(index):
            count = max(count, int(index) + 1)
    return count


def load_system_buffer(buffer: torch.Tensor) -> System:
    """Load a system from a buffer made by :py:func:`save_buffer` (or the
    content of a ``.mta`` file).

    The system is float64 and on the CPU; its neighbor lists and extra data are
    added back with :py:meth:`System.add_neighbor_list` and
    :py:meth:`System.add_data` (which check them). Members other than the ones
    of the format are ignored.

    :param buffer: the archive, a 1-D ``torch.uint8`` tensor on the CPU
    :return: the loaded system
    :raises ValueError: if the buffer is not a valid system archive (errors start
        with "serialization format error:" or name the member that could not be
        loaded), or if the neighbor lists or data do not match the system (for
        example float32 neighbor lists, see the module documentation)
    """
    if not torch.jit.is_scripting():
        if not isinstance(buffer, torch.Tensor):
            raise TypeError(
                f"`buffer` must be a torch.Tensor of uint8, got {type(buffer).__name__}"
            )
    members = _mts.read_zip(buffer)

    # one call to `_load_array` keeps the TorchScript graph small (called
    # functions are inlined at each call site)
    names = ["positions.npy", "cell.npy", "types.npy", "pbc.npy"]
    dtypes = [torch.float64, torch.float64, torch.int32, torch.bool]
    shapes = [[-1, 3], [3, 3], [-1], [3]]
    expected = [
        "a float64 array of shape (n_atoms, 3)",
        "a float64 array of shape (3, 3)",
        "an int32 array of shape (n_atoms,)",
        "a bool array of shape (3,)",
    ]
    arrays: List[torch.Tensor] = []
    for i in range(4):
        arrays.append(_load_array(members, names[i], dtypes[i], shapes[i], expected[i]))
    positions, cell, types, pbc = arrays[0], arrays[1], arrays[2], arrays[3]
    if types.shape[0] != positions.shape[0]:
        raise ValueError(
            _mts._format_error(
                "'types.npy' must contain one type per atom, got "
                + str(types.shape[0])
                + " types for "
                + str(positions.shape[0])
                + " positions"
            )
        )
    system = System(types, positions, cell, pbc)

    for i in range(_pairs_count(members)):
        options_name = "pairs/" + str(i) + "/options.json"
        data_name = "pairs/" + str(i) + "/data.mts"
        if options_name not in members:
            raise ValueError(_missing(options_name))
        if data_name not in members:
            raise ValueError(_missing(data_name))
        options = options_from_bytes(
            _mts._int_list(members[options_name]), "'" + options_name + "'"
        )
        if not torch.jit.is_scripting():
            neighbors = _eager_block(data_name, members[data_name])
        else:
            neighbors = TensorBlock.load_buffer(members[data_name])
        system.add_neighbor_list(options, neighbors)

    for name, member in members.items():
        if name.startswith("data/") and name.endswith(".mts") and len(name) > 9:
            if not torch.jit.is_scripting():
                tensor = _eager_map(name, member)
            else:
                tensor = TensorMap.load_buffer(member)
            system.add_data(name[5 : len(name) - 4], tensor)
    return system


# ================================================================================== #
#                                     pickling                                       #
# ================================================================================== #


def system_getstate(system: System) -> torch.Tensor:
    """The state of ``system`` for pickling (``System.__getstate__``): the
    :py:func:`save_buffer` archive"""
    return save_buffer(system)


def system_setstate(system: System, state: torch.Tensor):
    """Restore ``system`` from a state made by :py:func:`system_getstate`
    (``System.__setstate__``): every attribute is replaced by the one of the
    loaded system"""
    loaded = load_system_buffer(state)
    system._types = loaded._types
    system._positions = loaded._positions
    system._cell = loaded._cell
    system._pbc = loaded._pbc
    system._neighbor_options = loaded._neighbor_options
    system._neighbor_lists = loaded._neighbor_lists
    system._data = loaded._data


# ================================================================================== #
#                                 files (Python only)                                #
# ================================================================================== #


def _mta_path(file) -> str:
    """The path in ``file`` (str or path-like), after checking its extension"""
    path = os.fspath(file)
    if not isinstance(path, str):
        raise TypeError(f"`file` must be a str or a pathlib.Path, got {path!r}")
    if not path.endswith(".mta"):
        raise ValueError(
            f"system files must have the '.mta' extension, got {path!r}: add the "
            "extension to the file name (it is not added automatically)"
        )
    return path


def save(file, system: System):
    """Save ``system`` to ``file``, in the ``.mta`` format (see
    :py:func:`save_buffer`).

    This function only exists in Python: use :py:func:`save_buffer` in
    TorchScript.

    :param file: a path (``str`` or ``pathlib.Path``) ending in ``.mta``, or a
        binary file object open for writing
    :param system: the system to save; the positions and cell are saved as
        float64, the neighbor lists and data with their own dtype (so a float32
        system with neighbor lists can not be loaded back, see the module
        documentation)
    :raises ValueError: if the path does not end in ``.mta`` (the extension is
        never added)
    """
    if isinstance(file, (str, os.PathLike)):
        path = _mta_path(file)
        data = save_buffer(system).numpy().tobytes()
        # written next to the target, then renamed over it: never a partial file
        with atomic_file(path) as output:
            output.write(data)
    elif hasattr(file, "write"):
        file.write(save_buffer(system).numpy().tobytes())
    else:
        raise TypeError(
            f"`file` must be a path or a binary file object, got {type(file).__name__}"
        )


def load_system(file) -> System:
    """Load a system saved with :py:func:`save`.

    This function only exists in Python: use :py:func:`load_system_buffer` in
    TorchScript.

    :param file: a path (``str`` or ``pathlib.Path``) ending in ``.mta``, or a
        binary file object open for reading
    :return: the system (float64, on the CPU)
    :raises ValueError: if the path does not end in ``.mta`` or the file is not a
        valid system file
    """
    if isinstance(file, (str, os.PathLike)):
        with open(_mta_path(file), "rb") as source:
            data = source.read()
    elif hasattr(file, "read"):
        data = file.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                "`file` must be opened in binary mode, reading it gave "
                f"{type(data).__name__}"
            )
    else:
        raise TypeError(
            f"`file` must be a path or a binary file object, got {type(file).__name__}"
        )
    if len(data) == 0:
        buffer = torch.zeros(0, dtype=torch.uint8)
    else:
        buffer = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    return load_system_buffer(buffer)
