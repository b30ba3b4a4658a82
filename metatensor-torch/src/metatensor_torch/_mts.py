"""The ``.mts`` format (ZIP archives of NPY members, SPEC §4a) in TorchScript.

Every public function compiles with :py:func:`torch.jit.script` and gives the same
results as :py:mod:`metatensor.io` (``_zip``, ``_npy`` and ``_save``): the archives
are byte-identical, and the readers accept and reject the same inputs, raising
``ValueError("serialization format error: ...")`` for malformed data (a
``torch.jit.Error`` with this message once scripted). Byte buffers are 1-D
``torch.uint8`` CPU tensors.

The code only uses torch and typing, so that it runs in a process with libtorch
alone; the ``if not torch.jit.is_scripting()`` branches are faster paths for eager
mode (zlib, ``bytes.decode``, views without copy) giving the same results.

The readers of TensorBlock and TensorMap (``decode_archive`` in ``_block.py``)
read only the members the data needs, as core does, so that both accept and reject
the same archives, with one exception: DEFLATE members are refused here (core
inflates them). :py:func:`read_zip` checks every member. The messages of NPY header
syntax errors and of invalid Labels differ from core's.

Two TorchScript limits shape the code: ``Tensor.view(dtype)`` does not compile
(``torch.ops.aten.view_copy(x, dtype=...)`` is used instead) and strings are UTF-8
byte strings once scripted (``ord`` and ``chr`` work on bytes there), so that text
is handled as lists of UTF-8 bytes.
"""

import zlib
from typing import Dict, List, NamedTuple, Tuple

import torch


def _format_error(message: str) -> str:
    """Message of the errors raised for malformed data, with core's prefix"""
    return "serialization format error: " + message


def check_gradient_depth(prefix: str, depth: int):
    """Refuse the gradient block under ``prefix``, ``depth`` levels below its root
    block, when it is nested more deeply than metatensor-core's readers allow
    (which keeps malicious files from exhausting the memory)"""
    limit = 16  # metatensor.io._archive.MAX_GRADIENT_DEPTH
    if depth > limit:
        raise ValueError(
            _format_error(
                "in '"
                + prefix
                + "': gradients are nested more than "
                + str(limit)
                + " levels deep"
            )
        )


def _check_bytes(data: torch.Tensor, what: str):
    if data.dtype != torch.uint8 or data.dim() != 1 or data.device.type != "cpu":
        raise ValueError(what + " must be a 1-D torch.uint8 tensor on the CPU")


# ================================================================================== #
#                              little-endian integers                                #
# ================================================================================== #


def _le(value: int, size: int) -> List[int]:
    """The ``size`` little-endian bytes of ``value``"""
    data: List[int] = []
    for i in range(size):
        data.append((value >> (8 * i)) & 0xFF)
    return data


def _read_le(data: List[int], position: int, size: int) -> int:
    """The unsigned little-endian integer in ``data[position : position + size]``
    (the caller checks the bounds); 8-byte values must fit in 63 bits"""
    if size == 8 and data[position + 7] >= 0x80:
        raise ValueError(_format_error("invalid archive: a ZIP64 value is too large"))
    value = 0
    for i in range(size):
        value |= data[position + i] << (8 * i)
    return value


def _int_list(values: torch.Tensor) -> List[int]:
    """The values of an integer tensor, as a list"""
    values = values.to(torch.int64)
    # `values` is evaluated twice by TorchScript in this statement
    result: List[int] = values.tolist()
    return result


def _little_endian() -> bool:
    """Whether this machine stores numbers in little-endian order"""
    one = torch.ops.aten.view_copy(torch.ones(1, dtype=torch.int16), dtype=torch.uint8)
    return int(one[0]) == 1


# ================================================================================== #
#                                      text                                          #
# ================================================================================== #


def _utf8(text: str) -> List[int]:
    """The UTF-8 bytes of ``text``"""
    if not torch.jit.is_scripting():
        return list(text.encode("utf8"))
    data: List[int] = []
    for character in text:  # characters are bytes in TorchScript
        data.append(ord(character))
    return data


def _text(data: List[int]) -> str:
    """The ``str`` holding ``data``, valid UTF-8 bytes"""
    if not torch.jit.is_scripting():
        return bytes(data).decode("utf8")
    characters: List[str] = []
    for byte in data:
        characters.append(chr(byte))
    return "".join(characters)


def _is_utf8(data: List[int]) -> bool:
    """Whether ``data`` is strict UTF-8 (no surrogates, no overlong encodings)"""
    i = 0
    while i < len(data):
        lead = data[i]
        i += 1
        if lead < 0x80:
            continue
        # number of continuation bytes, and the range of the first one
        count, low, high = 1, 0x80, 0xBF
        if lead == 0xE0:
            count, low = 2, 0xA0
        elif lead == 0xED:
            count, high = 2, 0x9F
        elif lead == 0xF0:
            count, low = 3, 0x90
        elif lead == 0xF4:
            count, high = 3, 0x8F
        elif 0xE1 <= lead and lead <= 0xEF:
            count = 2
        elif 0xF1 <= lead and lead <= 0xF3:
            count = 3
        elif lead < 0xC2 or lead > 0xDF:
            return False
        if i + count > len(data) or data[i] < low or data[i] > high:
            return False
        for j in range(i + 1, i + count):
            if data[j] < 0x80 or data[j] > 0xBF:
                return False
        i += count
    return True


def _encode_code_point(code: int) -> List[int]:
    """The UTF-8 bytes of one Unicode code point"""
    if code < 0x80:
        return [code]
    elif code < 0x800:
        return [0xC0 | (code >> 6), 0x80 | (code & 0x3F)]
    elif code < 0x10000:
        return [0xE0 | (code >> 12), 0x80 | ((code >> 6) & 0x3F), 0x80 | (code & 0x3F)]
    return [
        0xF0 | (code >> 18),
        0x80 | ((code >> 12) & 0x3F),
        0x80 | ((code >> 6) & 0x3F),
        0x80 | (code & 0x3F),
    ]


def _quote(text: str) -> str:
    """``text`` in single quotes for error messages, with control characters
    escaped (the messages of TorchScript errors end at the first NUL byte)"""
    data = [0x27]
    for byte in _utf8(text):
        if byte < 0x20 or byte == 0x7F:
            data += [0x5C, 0x78, _hex_digit(byte >> 4), _hex_digit(byte & 0xF)]
        else:
            data.append(byte)
    data.append(0x27)
    return _text(data)


def _hex_digit(value: int) -> int:
    """The lowercase hexadecimal digit (as a byte) for ``value`` in 0-15"""
    if value < 10:
        return 0x30 + value
    return 0x61 + value - 10


def _describe_byte(byte: int) -> str:
    """A byte for error messages: ``'x'`` when it is printable ASCII"""
    if 0x20 <= byte and byte < 0x7F:
        return "'" + chr(byte) + "'"
    return "byte " + str(byte)


# ================================================================================== #
#                                      CRC-32                                        #
# ================================================================================== #
#
# The CRC of N bytes is computed in a few vectorised passes instead of N steps:
#
# * a "raw" CRC (initial value 0, no final XOR) is unchanged by leading zero bytes,
#   and the standard CRC is the raw CRC of the data with its first 4 bytes XORed
#   with 0xFF, XORed with 0xFFFFFFFF;
# * the data is padded in front with zeros and viewed as (chunks, L): the raw CRCs
#   of all chunks are computed at once in L table-driven steps;
# * raw(A + B) = shift(raw(A), len(B)) ^ raw(B), where shift (appending zero bytes)
#   is linear over GF(2): the chunk CRCs are combined in pairs, log2(chunks) times,
#   with a 32x32 bit matrix squared at each level.
#
# Many members are handled together: members of similar sizes are padded to the
# same width and go through these passes as the rows of one matrix.


def _crc_table() -> torch.Tensor:
    """The 256 entries (int64) of the table for the reflected polynomial"""
    table = torch.arange(256, dtype=torch.int64)
    for _ in range(8):
        table = torch.where((table & 1) == 1, (table >> 1) ^ 0xEDB88320, table >> 1)
    return table


def _apply_shift(images: torch.Tensor, crcs: torch.Tensor) -> torch.Tensor:
    """Apply the linear map sending bit ``i`` to ``images[i]`` (32 int64 values) to
    every value of ``crcs`` (int64 tensor of any shape)"""
    bits = torch.arange(32, dtype=torch.int64)
    matrix = ((images.unsqueeze(1) >> bits) & 1).to(torch.float32)
    vectors = ((crcs.unsqueeze(-1) >> bits) & 1).to(torch.float32)
    # the sums are at most 32: exact in float32
    products = torch.matmul(vectors, matrix).to(torch.int64) & 1
    return (products << bits).sum(-1)


def _raw_crc_rows(rows: torch.Tensor, length: int) -> torch.Tensor:
    """Raw CRC-32 (int64) of each row of ``rows``, a (m, width) uint8 tensor with
    ``width`` a multiple of ``length``, processed as chunks of ``length`` bytes"""
    count = rows.shape[0]
    chunks = rows.shape[1] // length
    table = _crc_table()

    # (length, count * chunks): the i-th bytes of all chunks are contiguous
    columns = rows.reshape(count * chunks, length).t().contiguous()
    crcs = torch.zeros(count * chunks, dtype=torch.int64)
    # crcs = table[(crcs ^ byte) & 0xFF] ^ (crcs >> 8), without allocations
    indexes = torch.empty_like(crcs)
    values = torch.empty_like(crcs)
    for i in range(length):
        torch.bitwise_xor(crcs, columns[i], out=indexes)
        indexes.bitwise_and_(0xFF)
        torch.index_select(table, 0, indexes, out=values)
        crcs.bitwise_right_shift_(8)
        crcs.bitwise_xor_(values)

    # images of the 32 bits when appending one zero byte, then `length` zero bytes
    images = torch.ones(1, dtype=torch.int64) << torch.arange(32, dtype=torch.int64)
    images = table.index_select(0, images & 0xFF) ^ (images >> 8)
    shifted = 1
    while shifted < length:
        images = _apply_shift(images, images)
        shifted *= 2

    crcs = crcs.reshape(count, chunks)
    while chunks > 1:
        if chunks % 2 == 1:
            # a leading chunk of zeros leaves the raw CRC unchanged
            zeros = torch.zeros((count, 1), dtype=torch.int64)
            crcs = torch.cat([zeros, crcs], 1)
            chunks += 1
        pairs = crcs.reshape(count, chunks // 2, 2)
        crcs = _apply_shift(images, pairs[:, :, 0]) ^ pairs[:, :, 1]
        images = _apply_shift(images, images)
        chunks = chunks // 2
    return crcs.reshape(count)


def _small_crc32(data: List[int]) -> int:
    """Byte-by-byte CRC-32 for a few bytes"""
    table = _int_list(_crc_table())
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _chunk_length(width: int) -> int:
    """Chunk length for rows of about ``width`` bytes: a power of two near
    ``sqrt(width)``, balancing the steps over chunks and the combination levels"""
    length = 4
    while length < 1024 and length * length < width:
        length *= 2
    return length


def _zlib_crc32(parts: List[List[torch.Tensor]]) -> List[int]:
    """:py:func:`_crc32_parts` with zlib, in eager mode"""
    crcs: List[int] = []
    for chunks in parts:
        crc = 0
        for chunk in chunks:
            crc = zlib.crc32(chunk.contiguous().numpy(), crc)
        crcs.append(crc)
    return crcs


def _crc32_parts(parts: List[List[torch.Tensor]]) -> List[int]:
    """The CRC-32 of the concatenation of each list of 1-D uint8 chunks"""
    if not torch.jit.is_scripting():
        return _zlib_crc32(parts)

    crcs: List[int] = []
    sizes: List[int] = []
    # part indexes grouped by the power of two at or above their size
    groups: Dict[int, List[int]] = {}
    for index in range(len(parts)):
        size = 0
        for chunk in parts[index]:
            size += chunk.shape[0]
        sizes.append(size)
        crcs.append(0)
        if size < 4:
            if size > 0:
                crcs[index] = _small_crc32(_int_list(torch.cat(parts[index])))
            continue
        group = 4
        while group < size:
            group *= 2
        if group not in groups:
            empty: List[int] = []
            groups[group] = empty
        groups[group].append(index)

    for group, indexes in groups.items():
        length = _chunk_length(group)
        largest = 0
        for index in indexes:
            largest = max(largest, sizes[index])
        width = (largest + length - 1) // length * length

        rows = torch.zeros((len(indexes), width), dtype=torch.uint8)
        starts: List[int] = []
        for row in range(len(indexes)):
            position = width - sizes[indexes[row]]
            starts.append(row * width + position)
            for chunk in parts[indexes[row]]:
                rows[row, position : position + chunk.shape[0]] = chunk
                position += chunk.shape[0]
        first = torch.tensor(starts, dtype=torch.int64).unsqueeze(1)
        first = (first + torch.arange(4, dtype=torch.int64)).reshape(-1)
        flat = rows.reshape(-1)
        flat[first] = flat[first] ^ 0xFF

        values = _int_list(_raw_crc_rows(rows, length) ^ 0xFFFFFFFF)
        for row in range(len(indexes)):
            crcs[indexes[row]] = values[row]
    return crcs


def crc32(data: torch.Tensor) -> int:
    """The CRC-32 of ``data`` (a 1-D uint8 tensor), the same as ``zlib.crc32``"""
    _check_bytes(data, "`data`")
    return _crc32_parts([[data]])[0]


# ================================================================================== #
#                                   writing ZIP                                      #
# ================================================================================== #
#
# Layout of the native writer (see metatensor.io._zip): STORED members with
# version-needed 20, DOS time 0x0000 and date 0x2821, general purpose flag 0x0800
# for non-ASCII names; local headers with 32-bit sizes set to 0xFFFFFFFF and a
# ZIP64 extra field holding the sizes; central entries made by 0x032E with the
# real sizes and external attributes 0x81A40000, with a ZIP64 extra field only for
# sizes and offsets at or above `zip64_limit`; a ZIP64 end of central directory
# record and locator only when needed.


def _name_flags(encoded: List[int]) -> int:
    """General purpose flags for this encoded name (0x0800 for UTF-8 names)"""
    for byte in encoded:
        if byte >= 0x80:
            return 0x0800
    return 0


def _local_header(encoded: List[int], crc: int, size: int) -> List[int]:
    return (
        _le(0x04034B50, 4)
        + _le(20, 2)  # version needed
        + _le(_name_flags(encoded), 2)
        + _le(0, 2)  # STORED
        + _le(0x0000, 2)  # DOS time
        + _le(0x2821, 2)  # DOS date: 2000-01-01
        + _le(crc, 4)
        + _le(0xFFFFFFFF, 4)  # sizes, in the ZIP64 field
        + _le(0xFFFFFFFF, 4)
        + _le(len(encoded), 2)
        + _le(20, 2)  # extra field length
        + encoded
        + _le(0x0001, 2)  # ZIP64 field: uncompressed and compressed sizes
        + _le(16, 2)
        + _le(size, 8)
        + _le(size, 8)
    )


def _central_entry(
    encoded: List[int], crc: int, size: int, offset: int, zip64_limit: int
) -> List[int]:
    zip64: List[int] = []
    if size >= zip64_limit:
        zip64 += [size, size]
    if offset >= zip64_limit:
        zip64.append(offset)
    extra: List[int] = []
    if len(zip64) != 0:
        extra = _le(0x0001, 2) + _le(8 * len(zip64), 2)
        for value in zip64:
            extra += _le(value, 8)

    marked_size = size
    if size >= zip64_limit:
        marked_size = 0xFFFFFFFF
    marked_offset = offset
    if offset >= zip64_limit:
        marked_offset = 0xFFFFFFFF
    version = 20
    if len(extra) != 0:
        version = 45
    return (
        _le(0x02014B50, 4)
        + _le(0x032E, 2)  # made by
        + _le(version, 2)
        + _le(_name_flags(encoded), 2)
        + _le(0, 2)  # STORED
        + _le(0x0000, 2)  # DOS time
        + _le(0x2821, 2)  # DOS date
        + _le(crc, 4)
        + _le(marked_size, 4)
        + _le(marked_size, 4)
        + _le(len(encoded), 2)
        + _le(len(extra), 2)
        + _le(0, 2)  # comment length
        + _le(0, 2)  # disk number
        + _le(0, 2)  # internal attributes
        + _le(0x81A40000, 4)  # regular file, mode 0644
        + _le(marked_offset, 4)
        + encoded
        + extra
    )


def _end_records(
    count: int, size: int, offset: int, zip64_limit: int, zip64_count_limit: int
) -> List[int]:
    """End of central directory record (after the ZIP64 ones when needed) for a
    directory of ``count`` entries and ``size`` bytes starting at ``offset``"""
    large_count = count >= zip64_count_limit
    large_size = size >= zip64_limit
    large_offset = offset >= zip64_limit
    records: List[int] = []
    if large_count or large_size or large_offset:
        records = (
            _le(0x06064B50, 4)
            + _le(44, 8)  # size of the rest of this record
            + _le(0x032E, 2)  # made by
            + _le(45, 2)  # version needed
            + _le(0, 4)  # disk numbers
            + _le(0, 4)
            + _le(count, 8)
            + _le(count, 8)
            + _le(size, 8)
            + _le(offset, 8)
            # locator
            + _le(0x07064B50, 4)
            + _le(0, 4)
            + _le(offset + size, 8)  # offset of the ZIP64 record
            + _le(1, 4)  # number of disks
        )
    if large_count:
        count = 0xFFFF
    if large_size:
        size = 0xFFFFFFFF
    if large_offset:
        offset = 0xFFFFFFFF
    return (
        records
        + _le(0x06054B50, 4)
        + _le(0, 2)  # disk numbers
        + _le(0, 2)
        + _le(count, 2)
        + _le(count, 2)
        + _le(size, 4)
        + _le(offset, 4)
        + _le(0, 2)  # comment length
    )


def _write_zip(
    names: List[str],
    members: List[List[torch.Tensor]],
    zip64_limit: int,
    zip64_count_limit: int,
) -> torch.Tensor:
    """:py:func:`write_zip` with ZIP64 records for sizes and offsets at or above
    ``zip64_limit`` and for ``zip64_count_limit`` members or more"""
    if len(names) != len(members):
        raise ValueError(
            "expected as many member names as members, got "
            + str(len(names))
            + " names and "
            + str(len(members))
            + " members"
        )
    for chunks in members:
        for chunk in chunks:
            _check_bytes(chunk, "every chunk of the archive members")
    crcs = _crc32_parts(members)

    pieces: List[torch.Tensor] = []
    directory: List[int] = []
    offset = 0
    for i in range(len(names)):
        encoded = _utf8(names[i])
        if len(encoded) > 0xFFFF:
            raise ValueError("archive member names must be shorter than 64 KiB")
        size = 0
        for chunk in members[i]:
            size += chunk.shape[0]
        local = _local_header(encoded, crcs[i], size)
        pieces.append(torch.tensor(local, dtype=torch.uint8))
        pieces.extend(members[i])
        directory += _central_entry(encoded, crcs[i], size, offset, zip64_limit)
        offset += len(local) + size

    end = _end_records(
        len(names), len(directory), offset, zip64_limit, zip64_count_limit
    )
    pieces.append(torch.tensor(directory + end, dtype=torch.uint8))
    return torch.cat(pieces)


def write_zip(names: List[str], members: List[List[torch.Tensor]]) -> torch.Tensor:
    """A ZIP archive of STORED members, byte-identical to the one
    ``metatensor.io._zip.ZipWriter`` writes.

    :param names: the member names
    :param members: for each member, the 1-D uint8 chunks of its content
    :return: the archive, a 1-D uint8 tensor
    """
    return _write_zip(names, members, 0xFFFFFFFF, 0xFFFF)


# ================================================================================== #
#                                   reading ZIP                                      #
# ================================================================================== #


class _Entry(NamedTuple):
    """A central directory entry, after the ZIP64 substitutions"""

    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    offset: int


def _bytes_at(buffer: torch.Tensor, start: int, size: int) -> List[int]:
    """``buffer[start : start + size]`` as a list (shorter at the end of buffer)"""
    return _int_list(buffer[start : start + size])


def _find_end_record(buffer: torch.Tensor) -> Tuple[int, List[int]]:
    """Offset and content of the end of central directory record, the last one
    whose comment fits in the buffer"""
    size = buffer.shape[0]
    start = max(0, size - 22 - 0xFFFF)
    tail = buffer[start:]
    if tail.shape[0] >= 22:
        found = (
            (tail[:-3] == 0x50)
            & (tail[1:-2] == 0x4B)
            & (tail[2:-1] == 0x05)
            & (tail[3:] == 0x06)
        )
        candidates = _int_list(torch.nonzero(found).reshape(-1))
        for i in range(len(candidates) - 1, -1, -1):
            position = start + candidates[i]
            if position + 22 <= size:
                record = _bytes_at(buffer, position, 22)
                if position + 22 + _read_le(record, 20, 2) <= size:
                    return position, record
    raise ValueError(
        _format_error(
            "could not find the end of the central directory, "
            "this is not a zip archive (or it is truncated)"
        )
    )


def _zip64_values(
    extra: List[int], size: int, compressed: int, offset: int
) -> Tuple[int, int, int]:
    """``(size, compressed_size, offset)`` with the values marked 0xFFFFFFFF taken
    from the ZIP64 field of ``extra``, in this order. Values that do not fit in 63
    bits become ``2**63 - 1``: they are refused, as metatensor-core does, only when
    the member is read (by the checks that it lies in the archive)."""
    position = 0
    while position + 4 <= len(extra):
        header_id = _read_le(extra, position, 2)
        field_size = _read_le(extra, position + 2, 2)
        position += 4
        if header_id == 0x0001:
            end = min(position + field_size, len(extra))
            values: List[int] = []
            while position + 8 <= end:
                if extra[position + 7] >= 0x80:
                    values.append((1 << 63) - 1)
                else:
                    values.append(_read_le(extra, position, 8))
                position += 8
            if size == 0xFFFFFFFF and len(values) != 0:
                size = values.pop(0)
            if compressed == 0xFFFFFFFF and len(values) != 0:
                compressed = values.pop(0)
            if offset == 0xFFFFFFFF and len(values) != 0:
                offset = values.pop(0)
            break
        position += field_size
    return size, compressed, offset


def _cp437() -> List[int]:
    """Code points of the bytes 0x80 to 0xFF in code page 437"""
    # fmt: off
    return [
        0xc7, 0xfc, 0xe9, 0xe2, 0xe4, 0xe0, 0xe5, 0xe7,
        0xea, 0xeb, 0xe8, 0xef, 0xee, 0xec, 0xc4, 0xc5,
        0xc9, 0xe6, 0xc6, 0xf4, 0xf6, 0xf2, 0xfb, 0xf9,
        0xff, 0xd6, 0xdc, 0xa2, 0xa3, 0xa5, 0x20a7, 0x192,
        0xe1, 0xed, 0xf3, 0xfa, 0xf1, 0xd1, 0xaa, 0xba,
        0xbf, 0x2310, 0xac, 0xbd, 0xbc, 0xa1, 0xab, 0xbb,
        0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
        0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510,
        0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
        0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567,
        0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b,
        0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
        0x3b1, 0xdf, 0x393, 0x3c0, 0x3a3, 0x3c3, 0xb5, 0x3c4,
        0x3a6, 0x398, 0x3a9, 0x3b4, 0x221e, 0x3c6, 0x3b5, 0x2229,
        0x2261, 0xb1, 0x2265, 0x2264, 0x2320, 0x2321, 0xf7, 0x2248,
        0xb0, 0x2219, 0xb7, 0x221a, 0x207f, 0xb2, 0x25a0, 0xa0,
    ]
    # fmt: on


def _member_name(raw: List[int], flags: int) -> str:
    """Decode a member name: UTF-8 when flagged (or ASCII), code page 437 else"""
    if flags & 0x0800 != 0 or _name_flags(raw) == 0:
        if not _is_utf8(raw):
            raise ValueError(_format_error("invalid UTF-8 member name in archive"))
        return _text(raw)
    table = _cp437()
    data: List[int] = []
    for byte in raw:
        if byte < 0x80:
            data.append(byte)
        else:
            data += _encode_code_point(table[byte - 0x80])
    return _text(data)


def _read_directory(buffer: torch.Tensor) -> Tuple[Dict[str, _Entry], int]:
    """The entries of the central directory (by name, in archive order, the last
    one for duplicated names), and the offset of the directory"""
    end_offset, record = _find_end_record(buffer)
    disk = _read_le(record, 4, 2)
    count = _read_le(record, 10, 2)
    directory_size = _read_le(record, 12, 4)
    directory_offset = _read_le(record, 16, 4)
    directory_end = end_offset

    if end_offset >= 20:
        locator = _bytes_at(buffer, end_offset - 20, 20)
        if locator[:4] == [0x50, 0x4B, 0x06, 0x07]:
            zip64_offset = _read_le(locator, 8, 8)
            zip64 = _bytes_at(buffer, zip64_offset, 56)
            if len(zip64) != 56 or zip64[:4] != [0x50, 0x4B, 0x06, 0x06]:
                raise ValueError(
                    _format_error("invalid ZIP64 end of central directory")
                )
            disk = _read_le(zip64, 16, 4)
            count = _read_le(zip64, 32, 8)
            directory_size = _read_le(zip64, 40, 8)
            directory_offset = _read_le(zip64, 48, 8)
            directory_end = zip64_offset

    if disk != 0:
        raise ValueError(_format_error("multi-disk zip archives are not supported"))
    # (written so that no sum of 63-bit values can overflow)
    if directory_size > directory_end - directory_offset:
        raise ValueError(
            _format_error(
                "invalid central directory: it extends beyond the end of the archive"
            )
        )

    directory = _bytes_at(buffer, directory_offset, directory_size)
    entries: Dict[str, _Entry] = {}
    position = 0
    for _ in range(count):
        if position + 46 > len(directory):
            raise ValueError(
                _format_error("invalid central directory: it is truncated")
            )
        if directory[position : position + 4] != [0x50, 0x4B, 0x01, 0x02]:
            raise ValueError(_format_error("invalid central directory entry signature"))
        name_length = _read_le(directory, position + 28, 2)
        extra_length = _read_le(directory, position + 30, 2)
        comment_length = _read_le(directory, position + 32, 2)
        start = position + 46
        end = start + name_length + extra_length + comment_length
        if end > len(directory):
            raise ValueError(
                _format_error("invalid central directory: it is truncated")
            )

        flags = _read_le(directory, position + 8, 2)
        size, compressed, offset = _zip64_values(
            directory[start + name_length : start + name_length + extra_length],
            _read_le(directory, position + 24, 4),
            _read_le(directory, position + 20, 4),
            _read_le(directory, position + 42, 4),
        )
        name = _member_name(directory[start : start + name_length], flags)
        entries[name] = _Entry(
            flags,
            _read_le(directory, position + 10, 2),
            _read_le(directory, position + 16, 4),
            compressed,
            size,
            offset,
        )
        position = end
    return entries, directory_offset


def _member_start(
    buffer: torch.Tensor, name: str, entry: _Entry, data_end: int
) -> Tuple[int, str]:
    """Offset of the data of member ``name``, and the message of the error that
    makes it unreadable (empty if there is none)"""
    if entry.flags & 0x0001 != 0:
        return -1, _format_error(
            "encrypted member " + _quote(name) + " is not supported"
        )
    if entry.method == 8:
        return -1, _format_error(
            "member " + _quote(name) + " is compressed, and compressed members can "
            "not be read inside TorchScript: load this file from Python with "
            "`metatensor.torch.load` instead"
        )
    if entry.method != 0:
        return -1, _format_error(
            "unsupported compression method "
            + str(entry.method)
            + " for "
            + _quote(name)
        )
    if entry.compressed_size != entry.size:
        return -1, _format_error("invalid sizes for stored member " + _quote(name))

    local: List[int] = []
    if entry.offset <= buffer.shape[0] - 30:
        local = _bytes_at(buffer, entry.offset, 30)
    if len(local) != 30 or local[:4] != [0x50, 0x4B, 0x03, 0x04]:
        return -1, _format_error(
            "invalid local header for " + _quote(name) + " in archive"
        )
    start = entry.offset + 30 + _read_le(local, 26, 2) + _read_le(local, 28, 2)
    # (written so that no sum of 63-bit values can overflow)
    if entry.size > data_end - start:
        return -1, _format_error(
            "invalid archive: the data of " + _quote(name) + " extends beyond its end"
        )
    return start, ""


def check_zip(
    buffer: torch.Tensor,
) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """The members of a ZIP archive of STORED members (ZIP64 records included),
    with the CRC-32 of all of them checked at once: the content of the valid ones,
    and the error message of the others, so that a reader can fail only on the
    members it needs, as metatensor-core does.

    :param buffer: the archive, a 1-D uint8 tensor
    :return: member name -> member content (a slice of ``buffer``) for the valid
        members, in archive order; member name -> error message for the others,
        with the errors in headers first and then the invalid checksums, both in
        archive order
    """
    _check_bytes(buffer, "`buffer`")
    entries, data_end = _read_directory(buffer)
    members: Dict[str, torch.Tensor] = {}
    problems: Dict[str, str] = {}
    parts: List[List[torch.Tensor]] = []
    for name, entry in entries.items():
        start, problem = _member_start(buffer, name, entry, data_end)
        if problem != "":
            problems[name] = problem
        else:
            members[name] = buffer[start : start + entry.size]
            parts.append([members[name]])

    crcs = _crc32_parts(parts)
    names = list(members.keys())
    for i in range(len(names)):
        if crcs[i] != entries[names[i]].crc:
            problems[names[i]] = _format_error(
                "invalid checksum for " + _quote(names[i]) + " in archive"
            )
            del members[names[i]]
    return members, problems


def read_zip(buffer: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The members of a ZIP archive of STORED members (ZIP64 records included),
    after checking their CRC-32.

    :param buffer: the archive, a 1-D uint8 tensor
    :return: member name -> member content (a slice of ``buffer``), in archive order
    """
    members, problems = check_zip(buffer)
    for problem in problems.values():
        raise ValueError(problem)
    return members


# ================================================================================== #
#                                   writing NPY                                      #
# ================================================================================== #
#
# An NPY member is "\x93NUMPY", the version (1, 0) or (2, 0), the header length
# (u16 or u32), the header dict text padded with 1 to 64 spaces and a "\n" so that
# the data starts on a multiple of 64 bytes, then the data in native byte order:
#
#     { 'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, ) }
#     { 'descr': [('system', '<i4'), ('atom', '<i4'), ], 'fortran_order': False, 'shape': (4, ) }


def _type_codes() -> Tuple[List[str], List[torch.dtype]]:
    """NPY type codes (kind and size) of the supported dtypes"""
    codes = ["b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]
    codes += ["f2", "f4", "f8", "c8", "c16"]
    dtypes = [
        torch.bool,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.uint8,
        torch.uint16,
        torch.uint32,
        torch.uint64,
        torch.float16,
        torch.float32,
        torch.float64,
        torch.complex64,
        torch.complex128,
    ]
    return codes, dtypes


def _dtype_name(dtype: torch.dtype) -> str:
    """``str(dtype)``, also inside TorchScript for the usual unsupported types"""
    if not torch.jit.is_scripting():
        return str(dtype)
    names = ["torch.bfloat16", "torch.complex32", "torch.float8_e4m3fn"]
    names += ["torch.float8_e5m2", "torch.float8_e4m3fnuz", "torch.float8_e5m2fnuz"]
    dtypes = [
        torch.bfloat16,
        torch.complex32,
        torch.float8_e4m3fn,
        torch.float8_e5m2,
        torch.float8_e4m3fnuz,
        torch.float8_e5m2fnuz,
    ]
    for i in range(len(dtypes)):
        if dtypes[i] == dtype:
            return names[i]
    return "torch dtype number " + str(dtype)


def _byte_order() -> str:
    """The NPY byte order prefix of this machine"""
    if _little_endian():
        return "<"
    return ">"


def _wrap_header(text: str) -> torch.Tensor:
    """Everything before the data in an NPY member with this header dict text"""
    encoded = _utf8(text)
    version = 1
    padding = 64 - (10 + len(encoded) + 1) % 64
    if len(encoded) + padding + 1 > 0xFFFF:
        version = 2
        padding = 64 - (12 + len(encoded) + 1) % 64
    length = len(encoded) + padding + 1
    header = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
    if version == 1:
        header += _le(length, 2)
    else:
        header += _le(length, 4)
    header += encoded + [0x20] * padding + [0x0A]
    return torch.tensor(header, dtype=torch.uint8)


def _to_bytes(array: torch.Tensor) -> torch.Tensor:
    """The bytes of a contiguous CPU ``array``, as a 1-D uint8 tensor"""
    if not torch.jit.is_scripting():
        return array.reshape(-1).view(torch.uint8)
    return torch.ops.aten.view_copy(array.reshape(-1), dtype=torch.uint8)


def npy_array(array: torch.Tensor) -> List[torch.Tensor]:
    """The NPY member metatensor writes for a data array: ``[header, data]``.

    :param array: bool, integer, floating point or complex tensor of any shape,
        on any device (it is copied to the CPU, detached and made contiguous)
    """
    codes, dtypes = _type_codes()
    code = ""
    for i in range(len(dtypes)):
        if dtypes[i] == array.dtype:
            code = codes[i]
    if code == "":
        raise ValueError(
            "can not save arrays with dtype "
            + _dtype_name(array.dtype)
            + ": only bool, integers, floating point and complex numbers are "
            "supported"
        )
    array = array.detach().cpu().resolve_conj().resolve_neg().contiguous()
    dimensions = ""
    for size in array.shape:
        dimensions += str(size) + ", "
    header = _wrap_header(
        "{ 'descr': '"
        + _byte_order()
        + code
        + "', 'fortran_order': False, 'shape': ("
        + dimensions
        + ") }"
    )
    return [header, _to_bytes(array)]


def npy_labels(names: List[str], values: torch.Tensor) -> List[torch.Tensor]:
    """The NPY member metatensor writes for Labels: ``[header, data]``, a 1-D
    structured array with one int32 field per dimension.

    :param names: the dimension names (ASCII)
    :param values: integer tensor of shape ``(count, len(names))``
    """
    if len(names) == 0:
        raise ValueError(
            "can not save Labels with zero dimensions (no names): they could not be "
            "loaded back"
        )
    if values.dim() != 2 or values.shape[1] != len(names):
        raise ValueError(
            "Labels values must have a shape of (count, "
            + str(len(names))
            + ") for "
            + str(len(names))
            + " names, got "
            + _shape_text(values.shape)
        )
    values = values.detach().cpu().to(torch.int32).contiguous()
    order = _byte_order()
    fields = ""
    for name in names:
        if _name_flags(_utf8(name)) != 0:
            # core writes the header in latin-1, and only allows ASCII names
            raise ValueError("Labels names must be ASCII, got " + _quote(name))
        fields += "('" + name + "', '" + order + "i4'), "
    header = _wrap_header(
        "{ 'descr': ["
        + fields
        + "], 'fortran_order': False, 'shape': ("
        + str(values.shape[0])
        + ", ) }"
    )
    return [header, _to_bytes(values)]


# ================================================================================== #
#                                   reading NPY                                      #
# ================================================================================== #
#
# The header parser accepts what metatensor.io._npy accepts: a dict with exactly the
# keys descr (a string, or a list of (name, type) string pairs), fortran_order (True
# or False) and shape (a tuple of non-negative integers), in any order, with single
# or double quoted strings (without escapes), spaces, tabs and newlines between the
# tokens and trailing NUL bytes.


class _Header(NamedTuple):
    descr: str
    # whether descr is a list of fields (names and types) instead of a string
    structured: bool
    names: List[str]
    types: List[str]
    fortran_order: bool
    shape: List[int]
    # offset of the data from the start of the member
    offset: int


def _member_error(where: str, message: str) -> str:
    """Message of the errors for malformed NPY members: ``where`` is empty, or
    names the member (``"in 'blocks/0/values.npy': "``)"""
    return _format_error(where + message)


def _header_error(where: str, message: str) -> str:
    return _member_error(where, "invalid NPY header: " + message)


def _is_space(byte: int) -> bool:
    """Whether ``byte`` is a space, tab, newline or carriage return"""
    return byte == 0x20 or byte == 0x09 or byte == 0x0A or byte == 0x0D


def _skip_spaces(text: List[int], position: int) -> int:
    while position < len(text) and _is_space(text[position]):
        position += 1
    return position


def _is_letter(byte: int) -> bool:
    return (
        (0x41 <= byte and byte <= 0x5A)
        or (0x61 <= byte and byte <= 0x7A)
        or byte == 0x5F
    )


def _is_digit(byte: int) -> bool:
    return 0x30 <= byte and byte <= 0x39


def _token(text: List[int], position: int, where: str) -> Tuple[str, int, int]:
    """The token after ``position`` in an NPY header: ``(kind, start, end)`` with
    ``text[start:end]`` the token (without quotes for strings); ``kind`` is
    "string", "integer", "word", "end" or the punctuation character itself"""
    start = _skip_spaces(text, position)
    if start == len(text):
        return "end", start, start
    byte = text[start]
    end = start + 1
    if byte == 0x27 or byte == 0x22:
        while end < len(text) and text[end] != byte and text[end] != 0x5C:
            end += 1
        if end == len(text) or text[end] != byte:
            raise ValueError(_header_error(where, "unexpected " + _describe_byte(byte)))
        return "string", start + 1, end
    elif _is_digit(byte) or byte == 0x2B or byte == 0x2D:
        while end < len(text) and _is_digit(text[end]):
            end += 1
        if not _is_digit(text[end - 1]):
            raise ValueError(_header_error(where, "unexpected " + _describe_byte(byte)))
        return "integer", start, end
    elif _is_letter(byte):
        while end < len(text) and _is_letter(text[end]):
            end += 1
        return "word", start, end
    elif byte in [0x7B, 0x7D, 0x5B, 0x5D, 0x28, 0x29, 0x2C, 0x3A]:
        return chr(byte), start, end
    raise ValueError(_header_error(where, "unexpected " + _describe_byte(byte)))


def _next(kind: str, end: int) -> int:
    """Position after a token ending at ``end``"""
    if kind == "string":
        return end + 1  # the closing quote
    return end


def _describe(text: List[int], kind: str, start: int, end: int) -> str:
    """A token for error messages"""
    if kind == "end":
        return "end of header"
    return _quote(_text(text[start:end]))


def _expect(text: List[int], position: int, expected: str, where: str) -> int:
    kind, start, end = _token(text, position, where)
    if kind != expected:
        raise ValueError(
            _header_error(
                where,
                "expected '" + expected + "', got " + _describe(text, kind, start, end),
            )
        )
    return _next(kind, end)


def _parse_integer(text: List[int], start: int, end: int, where: str) -> int:
    """The value of an "integer" token"""
    sign = 1
    if text[start] == 0x2D:
        sign = -1
    if text[start] == 0x2B or text[start] == 0x2D:
        start += 1
    value = 0
    for i in range(start, end):
        if value > 10**17:
            raise ValueError(_header_error(where, "integer too large in 'shape'"))
        value = 10 * value + text[i] - 0x30
    return sign * value


def _parse_pair(text: List[int], position: int, where: str) -> Tuple[str, str, int]:
    """A ``(name, type)`` pair of strings starting after its '(', and the position
    after its ')'"""
    kinds: List[str] = []
    tokens: List[str] = []
    while len(kinds) < 5 and ")" not in kinds:
        kind, start, end = _token(text, position, where)
        position = _next(kind, end)
        kinds.append(kind)
        tokens.append(_text(text[start:end]))
    if kinds[:3] != ["string", ",", "string"] or (
        kinds[3:] != [")"] and kinds[3:] != [",", ")"]
    ):
        raise ValueError(
            _header_error(
                where, "expected (name, type) pairs of strings in a structured 'descr'"
            )
        )
    return tokens[0], tokens[2], position


def _parse_fields(
    text: List[int], position: int, where: str
) -> Tuple[List[str], List[str], int]:
    """Names and types in a list of (name, type) pairs starting after its '[', and
    the position after its ']'"""
    names: List[str] = []
    types: List[str] = []
    kind, start, end = _token(text, position, where)
    position = _next(kind, end)
    while kind != "]":
        if kind != "(":
            raise ValueError(
                _header_error(
                    where,
                    "expected (name, type) pairs of strings in a structured 'descr'",
                )
            )
        name, field_type, position = _parse_pair(text, position, where)
        names.append(name)
        types.append(field_type)
        kind, start, end = _token(text, position, where)
        position = _next(kind, end)
        if kind == ",":
            kind, start, end = _token(text, position, where)
            position = _next(kind, end)
        elif kind != "]":
            raise ValueError(
                _header_error(
                    where,
                    "expected ',' or ']', got " + _describe(text, kind, start, end),
                )
            )
    return names, types, position


def _parse_shape(text: List[int], position: int, where: str) -> Tuple[List[int], int]:
    """The shape tuple starting at ``position``, and the position after it"""
    shape_error = "'shape' must be a tuple of non-negative integers"
    position = _expect(text, position, "(", where)
    shape: List[int] = []
    kind, start, end = _token(text, position, where)
    position = _next(kind, end)
    while kind != ")":
        if kind != "integer":
            raise ValueError(_header_error(where, shape_error))
        size = _parse_integer(text, start, end, where)
        if size < 0:
            raise ValueError(_header_error(where, shape_error))
        shape.append(size)
        kind, start, end = _token(text, position, where)
        position = _next(kind, end)
        if kind == ",":
            kind, start, end = _token(text, position, where)
            position = _next(kind, end)
        elif kind != ")":
            raise ValueError(
                _header_error(
                    where,
                    "expected ',' or ')', got " + _describe(text, kind, start, end),
                )
            )
    return shape, position


def _parse_header(text: List[int], offset: int, where: str) -> _Header:
    """Parse the header dict ``text`` (UTF-8 bytes) of an NPY member whose data
    starts at ``offset``"""
    descr = ""
    structured = False
    names: List[str] = []
    types: List[str] = []
    fortran_order = False
    shape: List[int] = []
    missing = ["descr", "fortran_order", "shape"]

    position = _expect(text, 0, "{", where)
    while True:
        kind, start, end = _token(text, position, where)
        position = _next(kind, end)
        if kind == "}":
            break
        if kind != "string":
            raise ValueError(
                _header_error(
                    where,
                    "expected a string key, got " + _describe(text, kind, start, end),
                )
            )
        key = _text(text[start:end])
        position = _expect(text, position, ":", where)
        if key == "descr":
            kind, start, end = _token(text, position, where)
            position = _next(kind, end)
            if kind == "string":
                descr = _text(text[start:end])
                structured = False
            elif kind == "[":
                names, types, position = _parse_fields(text, position, where)
                structured = True
            else:
                raise ValueError(
                    _header_error(where, "'descr' must be a string or a list")
                )
        elif key == "fortran_order":
            kind, start, end = _token(text, position, where)
            position = _next(kind, end)
            word = _text(text[start:end])
            if kind != "word" or (word != "True" and word != "False"):
                raise ValueError(
                    _header_error(where, "'fortran_order' must be a boolean")
                )
            fortran_order = word == "True"
        elif key == "shape":
            shape, position = _parse_shape(text, position, where)
        else:
            raise ValueError(_header_error(where, "unexpected key " + _quote(key)))
        if key in missing:
            missing.remove(key)

        kind, start, end = _token(text, position, where)
        position = _next(kind, end)
        if kind == "}":
            break
        if kind != ",":
            raise ValueError(
                _header_error(
                    where,
                    "expected ',' or '}', got " + _describe(text, kind, start, end),
                )
            )

    if len(missing) != 0:
        raise ValueError(_header_error(where, "missing " + ", ".join(missing)))
    while position < len(text) and (text[position] == 0 or _is_space(text[position])):
        position += 1
    if position != len(text):
        raise ValueError(
            _header_error(
                where,
                "unexpected " + _describe_byte(text[position]) + " after the header "
                "dictionary",
            )
        )
    return _Header(descr, structured, names, types, fortran_order, shape, offset)


def _read_header(member: torch.Tensor, where: str) -> _Header:
    """Read the magic, version and header dict of an NPY member"""
    _check_bytes(member, "`member`")
    prefix = _bytes_at(member, 0, 8)
    if len(prefix) < 8 or prefix[:6] != [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]:
        raise ValueError(
            _member_error(
                where,
                "start does not match magic string: invalid NPY file, missing the "
                "'\\x93NUMPY' magic string",
            )
        )
    version = prefix[6]
    length_size = 4
    if version == 1:
        length_size = 2
    elif version != 2 and version != 3:
        raise ValueError(
            _member_error(
                where,
                "unsupported NPY version "
                + str(version)
                + "."
                + str(prefix[7])
                + ", expected 1.0, 2.0 or 3.0",
            )
        )
    raw_length = _bytes_at(member, 8, length_size)
    if len(raw_length) < length_size:
        raise ValueError(
            _member_error(where, "invalid NPY file: the header is truncated")
        )
    length = _read_le(raw_length, 0, length_size)
    raw = _bytes_at(member, 8 + length_size, length)
    if len(raw) < length:
        raise ValueError(
            _member_error(where, "invalid NPY file: the header is truncated")
        )

    # the header text is UTF-8 in version 3, latin-1 before
    text = raw
    if version == 3 and not _is_utf8(raw):
        raise ValueError(_header_error(where, "it is not valid UTF-8"))
    elif version != 3:
        text = []
        for byte in raw:
            text += _encode_code_point(byte)
    return _parse_header(text, 8 + length_size + length, where)


def _shape_text(shape: List[int]) -> str:
    """``shape`` as python writes a tuple"""
    if len(shape) == 1:
        return "(" + str(shape[0]) + ",)"
    text = "("
    for i in range(len(shape)):
        if i != 0:
            text += ", "
        text += str(shape[i])
    return text + ")"


def _data_bytes(
    member: torch.Tensor, header: _Header, item_size: int, where: str
) -> torch.Tensor:
    """The data of an NPY member, after checking its size against the header.

    Like metatensor-core, at most 64 dimensions are allowed, and the size of the
    data counting zero-sized axes as 1 must fit in 62 bits (so that numpy and
    torch can create the array and all its strides)."""
    if len(header.shape) > 64:
        raise ValueError(
            _header_error(
                where,
                "'shape' has "
                + str(len(header.shape))
                + " dimensions, at most 64 are supported",
            )
        )
    size = item_size
    empty = False
    for dimension in header.shape:
        if dimension == 0:
            empty = True
        elif size > (1 << 62) // dimension:
            raise ValueError(_header_error(where, "'shape' is too large"))
        else:
            size *= dimension
    if empty:
        size = 0
    remaining = member.shape[0] - header.offset
    if remaining < size:
        raise ValueError(
            _member_error(
                where,
                "invalid NPY file: expected "
                + str(size)
                + " bytes of data, but only "
                + str(remaining)
                + " are left",
            )
        )
    elif remaining > size:
        raise ValueError(
            _member_error(
                where,
                "found "
                + str(remaining - size)
                + " extra bytes after the expected end of data",
            )
        )
    return member[header.offset :]


def _from_bytes(
    data: torch.Tensor, dtype: torch.dtype, swap_size: int, shape: List[int]
) -> torch.Tensor:
    """A new tensor with the given ``dtype`` and ``shape`` from its bytes, with
    the order of each group of ``swap_size`` bytes reversed when it is not 0"""
    if swap_size != 0:
        data = data.reshape(-1, swap_size).flip(1).reshape(-1)
    elif (
        not torch.jit.is_scripting()
        or data.storage_offset() % 16 != 0
        or not data.is_contiguous()
    ):
        # a copy owning its memory, or, once scripted, a copy suiting view_copy
        # (which makes a copy itself)
        data = data.clone(memory_format=torch.contiguous_format)
    if not torch.jit.is_scripting():
        return data.view(dtype).reshape(shape)
    return torch.ops.aten.view_copy(data, dtype=dtype).reshape(shape)


def _swap_size(order: str, item_size: int) -> int:
    """Size of the groups of bytes to reverse for data in this byte ``order``"""
    if order == "=" or order == "|" or item_size == 1:
        return 0
    if (order == "<") == _little_endian():
        return 0
    return item_size


def _where(name: str) -> str:
    """The start of the messages of errors in archive member ``name`` (nothing if
    ``name`` is empty)"""
    if name == "":
        return ""
    return "in " + _quote(name) + ": "


def load_npy_array(member: torch.Tensor, name: str = "") -> torch.Tensor:
    """The data array stored in an NPY member, a new tensor in native byte order.

    :param member: the NPY member, a 1-D uint8 tensor
    :param name: the name of the member in its archive, for error messages
    """
    where = _where(name)
    header = _read_header(member, where)
    if header.fortran_order:
        raise ValueError(
            _member_error(where, "Fortran-ordered arrays are not supported")
        )
    if header.structured:
        raise ValueError(
            _member_error(
                where,
                "structured arrays are not supported for data arrays, "
                "expected a numeric 'descr'",
            )
        )
    descr = header.descr
    codes, dtypes = _type_codes()
    if len(descr) < 1 or descr[0] not in ["<", ">", "=", "|"] or descr[1:] not in codes:
        raise ValueError(
            _member_error(
                where, "unsupported data type " + _quote(descr) + " in NPY header"
            )
        )
    dtype = dtypes[codes.index(descr[1:])]
    item_size = int(descr[2:])  # after the kind
    if descr[0] == "|" and item_size != 1:
        raise ValueError(
            _member_error(
                where,
                "invalid data type "
                + _quote(descr)
                + " in NPY header: '|' is only valid for one-byte types",
            )
        )

    data = _data_bytes(member, header, item_size, where)
    if dtype == torch.bool:
        return (data != 0).reshape(header.shape)
    swap_size = _swap_size(descr[0], item_size)
    if descr[1] == "c":
        # real and imaginary parts are swapped separately
        swap_size = swap_size // 2
    return _from_bytes(data, dtype, swap_size, header.shape)


def load_npy_labels(
    member: torch.Tensor, name: str = ""
) -> Tuple[List[str], torch.Tensor]:
    """The names and values of Labels stored in an NPY member.

    :param member: the NPY member, a 1-D uint8 tensor
    :param name: the name of the member in its archive, for error messages
    :return: the names, and the int32 values of shape ``(count, len(names))``
    """
    where = _where(name)
    header = _read_header(member, where)
    if not header.structured:
        raise ValueError(
            _member_error(
                where,
                "Labels must be stored as a structured array, got a 'descr' of "
                + _quote(header.descr),
            )
        )
    if len(header.names) == 0:
        raise ValueError(
            _member_error(where, "Labels with zero dimensions can not be loaded")
        )
    if header.fortran_order:
        raise ValueError(
            _member_error(where, "Labels can not be stored in Fortran order")
        )
    if len(header.shape) != 1:
        raise ValueError(
            _member_error(
                where,
                "Labels must be stored as a 1-D array, got a shape of "
                + _shape_text(header.shape),
            )
        )
    order = header.types[0]
    for field_type in header.types:
        if field_type != order or order not in ["<i4", ">i4", "=i4"]:
            quoted = [_quote(t) for t in header.types]
            raise ValueError(
                _member_error(
                    where,
                    "Labels must be stored as 32-bit integers with the same byte "
                    "order for all dimensions, got " + ", ".join(quoted),
                )
            )

    data = _data_bytes(member, header, 4 * len(header.names), where)
    values = _from_bytes(
        data,
        torch.int32,
        _swap_size(order[0], 4),
        [header.shape[0], len(header.names)],
    )
    return header.names, values


# ================================================================================== #
#                                    info.json                                       #
# ================================================================================== #


def _json_string(text: str) -> List[int]:
    """``text`` as a JSON string, the way python's json module writes it with
    ``ensure_ascii=False``: UTF-8, escaping quotes, backslashes and control
    characters"""
    data = [0x22]
    for byte in _utf8(text):
        if byte == 0x22 or byte == 0x5C:
            data += [0x5C, byte]
        elif byte == 0x0A:
            data += [0x5C, 0x6E]
        elif byte == 0x0D:
            data += [0x5C, 0x72]
        elif byte == 0x09:
            data += [0x5C, 0x74]
        elif byte == 0x08:
            data += [0x5C, 0x62]
        elif byte == 0x0C:
            data += [0x5C, 0x66]
        elif byte < 0x20:
            data += _utf8("\\u00") + [_hex_digit(byte >> 4), _hex_digit(byte & 0xF)]
        else:
            data.append(byte)
    data.append(0x22)
    return data


def info_json(info: Dict[str, str]) -> torch.Tensor:
    """The ``info.json`` member metatensor writes: the JSON object of ``info``
    with sorted keys, a 2-space indentation, raw UTF-8 and no final newline.

    :return: the member, a 1-D uint8 tensor
    """
    data = [0x7B]
    keys = sorted(info.keys())
    for i in range(len(keys)):
        if i != 0:
            data.append(0x2C)
        data += [0x0A, 0x20, 0x20] + _json_string(keys[i]) + [0x3A, 0x20]
        data += _json_string(info[keys[i]])
    if len(keys) != 0:
        data.append(0x0A)
    data.append(0x7D)
    return torch.tensor(data, dtype=torch.uint8)


def _json_error(message: str, position: int, where: str = "'info.json'") -> str:
    """Message of the errors for invalid JSON in ``where`` (also used by
    metatomic-torch for the other JSON members it reads)"""
    return _format_error(
        "invalid JSON in " + where + ": " + message + " at byte " + str(position)
    )


def _hex_value(data: List[int], position: int) -> int:
    """The value of the 4 hexadecimal digits at ``position``, -1 if invalid"""
    if position + 4 > len(data):
        return -1
    value = 0
    for i in range(position, position + 4):
        byte = data[i] | 0x20  # lowercase letters
        if _is_digit(data[i]):
            value = 16 * value + data[i] - 0x30
        elif 0x61 <= byte and byte <= 0x66:
            value = 16 * value + byte - 0x61 + 10
        else:
            return -1
    return value


def _parse_json_string(
    data: List[int], position: int, where: str = "'info.json'"
) -> Tuple[str, int]:
    """The JSON string starting after its opening quote at ``position - 1``, and
    the position after its closing quote"""
    text: List[int] = []
    while position < len(data) and data[position] != 0x22:
        byte = data[position]
        position += 1
        if byte < 0x20:
            raise ValueError(
                _json_error("invalid control character", position - 1, where)
            )
        elif byte != 0x5C:
            text.append(byte)
            continue

        escape = 0
        if position < len(data):
            escape = data[position]
        position += 1
        if escape == 0x22 or escape == 0x5C or escape == 0x2F:
            text.append(escape)
        elif escape == 0x62:
            text.append(0x08)
        elif escape == 0x66:
            text.append(0x0C)
        elif escape == 0x6E:
            text.append(0x0A)
        elif escape == 0x72:
            text.append(0x0D)
        elif escape == 0x74:
            text.append(0x09)
        elif escape == 0x75:
            code = _hex_value(data, position)
            position += 4
            if 0xD800 <= code and code <= 0xDBFF:
                # a surrogate pair
                low = -1
                if data[position : position + 2] == [0x5C, 0x75]:
                    low = _hex_value(data, position + 2)
                if low < 0xDC00 or low > 0xDFFF:
                    raise ValueError(
                        _json_error("unpaired surrogate", position - 6, where)
                    )
                code = 0x10000 + ((code - 0xD800) << 10) + low - 0xDC00
                position += 6
            if code < 0 or (0xDC00 <= code and code <= 0xDFFF):
                raise ValueError(_json_error("invalid \\u escape", position - 6, where))
            text += _encode_code_point(code)
        else:
            raise ValueError(_json_error("invalid escape", position - 2, where))

    if position >= len(data):
        raise ValueError(_json_error("unterminated string", position, where))
    return _text(text), position + 1


def load_info_json(member: torch.Tensor) -> Dict[str, str]:
    """Parse an ``info.json`` member: a JSON object with string values.

    :param member: the member, a 1-D uint8 tensor of UTF-8 text
    :return: key -> value, in file order (the last value of duplicated keys)
    """
    _check_bytes(member, "`member`")
    data = _int_list(member)
    if data[:3] == [0xEF, 0xBB, 0xBF]:
        data = data[3:]
    if not _is_utf8(data):
        raise ValueError(_format_error("invalid JSON in 'info.json': invalid UTF-8"))

    position = _skip_spaces(data, 0)
    if position == len(data) or data[position] != 0x7B:
        raise ValueError(_format_error("'info.json' must contain a JSON object"))
    info: Dict[str, str] = {}
    position = _skip_spaces(data, position + 1)
    if position < len(data) and data[position] == 0x7D:
        position += 1
    else:
        while True:
            if position == len(data) or data[position] != 0x22:
                raise ValueError(_json_error("expected a string key", position))
            key, position = _parse_json_string(data, position + 1)
            position = _skip_spaces(data, position)
            if position == len(data) or data[position] != 0x3A:
                raise ValueError(_json_error("expected ':'", position))
            position = _skip_spaces(data, position + 1)
            if position == len(data) or data[position] != 0x22:
                raise ValueError(
                    _format_error(
                        "'info.json' values must be strings, got something else "
                        "for " + _quote(key)
                    )
                )
            value, position = _parse_json_string(data, position + 1)
            info[key] = value
            position = _skip_spaces(data, position)
            if position < len(data) and data[position] == 0x7D:
                position += 1
                break
            if position == len(data) or data[position] != 0x2C:
                raise ValueError(_json_error("expected ',' or '}'", position))
            position = _skip_spaces(data, position + 1)

    if _skip_spaces(data, position) != len(data):
        raise ValueError(_json_error("extra data", position))
    return info
