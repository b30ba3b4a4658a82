"""Mutated ``.mts`` archives for the fuzzing tests of the readers (here and in
metatensor-torch's ``tests/test_fuzz_readers.py``, which loads this file by path).

:py:func:`mutated` draws a valid archive (or NPY file) and applies one to three
mutations to it: truncation, bit flips, random bytes, inserted or deleted bytes,
and edits of the fields of the ZIP headers (sizes, offsets, counts, lengths,
methods, flags, CRC), set to 0, to the maximum value of the field, to a random
value or moved by a small amount.

The number of examples is ``METATENSOR_FUZZ_EXAMPLES`` (default: ``default`` in
:py:func:`examples`), so that a longer run only needs this variable set.
"""

import os
import struct

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: offset, size of the integer fields of each ZIP record, after its signature
_FIELDS = {
    # local file header
    b"PK\x03\x04": [(4, 2), (6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)],
    # central directory entry
    b"PK\x01\x02": [
        (6, 2), (8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2),
        (32, 2), (34, 2), (42, 4),
    ],
    # end of central directory
    b"PK\x05\x06": [(4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 2)],
    # ZIP64 end of central directory, and its locator
    b"PK\x06\x06": [(4, 8), (16, 4), (20, 4), (24, 8), (32, 8), (40, 8), (48, 8)],
    b"PK\x06\x07": [(4, 4), (8, 8), (16, 4)],
    # NPY header length (u16 for version 1.0)
    b"\x93NUMPY": [(6, 2), (8, 2)],
}  # fmt: skip


def examples(default: int) -> int:
    """Number of examples for a fuzzing test: ``METATENSOR_FUZZ_EXAMPLES`` if set"""
    return int(os.environ.get("METATENSOR_FUZZ_EXAMPLES", default))


def fuzz_settings(default: int, deadline=None):
    return settings(
        max_examples=examples(default),
        deadline=deadline,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def field_positions(data: bytes):
    """``(position, size)`` of every integer field of the ZIP records (and NPY
    headers) found in ``data``"""
    positions = []
    for signature, fields in _FIELDS.items():
        start = data.find(signature)
        while start >= 0:
            positions += [
                (start + offset, size)
                for offset, size in fields
                if start + offset + size <= len(data)
            ]
            start = data.find(signature, start + 1)
    return positions


@st.composite
def _mutation(draw, data: bytes) -> bytes:
    kind = draw(
        st.sampled_from(
            ["truncate", "flip", "byte", "insert", "delete", "field", "field", "field"]
        )
    )
    position = draw(st.integers(0, max(len(data) - 1, 0)))
    if kind == "truncate":
        return data[:position]
    elif kind == "flip":
        if len(data) == 0:
            return data
        bit = 1 << draw(st.integers(0, 7))
        return data[:position] + bytes([data[position] ^ bit]) + data[position + 1 :]
    elif kind == "byte":
        value = draw(st.binary(min_size=1, max_size=8))
        return data[:position] + value + data[position + len(value) :]
    elif kind == "insert":
        return (
            data[:position] + draw(st.binary(min_size=1, max_size=64)) + data[position:]
        )
    elif kind == "delete":
        return data[:position] + data[position + draw(st.integers(1, 64)) :]

    fields = field_positions(data)
    if not fields:
        return data
    position, size = draw(st.sampled_from(fields))
    maximum = (1 << (8 * size)) - 1
    (current,) = struct.unpack_from(f"<{'HIQ'[size // 4]}", data, position)
    value = draw(
        st.one_of(
            st.sampled_from([0, maximum, maximum - 1, 1 << (8 * size - 1)]),
            st.integers(0, maximum),
            st.integers(-64, 64).map(lambda delta: (current + delta) % (maximum + 1)),
        )
    )
    return data[:position] + value.to_bytes(size, "little") + data[position + size :]


@st.composite
def mutated(draw, seeds):
    """``(seed name, mutated data)`` for one of the ``seeds`` (a dict of name to
    bytes), with one to three mutations"""
    name = draw(st.sampled_from(sorted(seeds)))
    data = seeds[name]
    for _ in range(draw(st.integers(1, 3))):
        data = draw(_mutation(data))
    return name, data
