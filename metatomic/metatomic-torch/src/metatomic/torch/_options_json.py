"""The JSON of :py:class:`NeighborListOptions`, as upstream writes it in system
files (``pairs/<i>/options.json`` of ``.mta``, SPEC §4b): nlohmann's ``dump(4)``
layout (4-space indent, sorted keys, ASCII with ``\\uXXXX`` escapes, no final
newline), with the cutoff stored as the bit pattern of the double in an int64.

Both directions compile with :py:func:`torch.jit.script`; the reader is written
for TorchScript (no recursion, an explicit stack for nested values, UTF-8 bytes).
"""

from typing import Dict, List, Tuple

import torch

from metatensor_torch import _mts

from ._neighbors import NeighborListOptions

# ================================================================================== #
#                        NeighborListOptions JSON (writing)                          #
# ================================================================================== #


def _double_bits(value: float) -> int:
    """The IEEE-754 bit pattern of ``value``, as a signed 64-bit integer"""
    double = torch.tensor([value], dtype=torch.float64)
    return int(torch.ops.aten.view_copy(double, dtype=torch.int64)[0])


def _bits_double(bits: int) -> float:
    """The double whose IEEE-754 bit pattern is ``bits``"""
    integer = torch.tensor([bits], dtype=torch.int64)
    return float(torch.ops.aten.view_copy(integer, dtype=torch.float64)[0])


def _unicode_escape(code: int) -> List[int]:
    """``\\uXXXX`` (lowercase hexadecimal digits) for a code point below 0x10000"""
    return [
        0x5C,
        0x75,
        _mts._hex_digit((code >> 12) & 0xF),
        _mts._hex_digit((code >> 8) & 0xF),
        _mts._hex_digit((code >> 4) & 0xF),
        _mts._hex_digit(code & 0xF),
    ]


def _json_string(text: str) -> str:
    """``text`` as a JSON string, the way nlohmann's ``dump`` writes it with
    ``ensure_ascii``: quotes, backslashes and control characters are escaped, and
    so is everything outside of printable ASCII (as ``\\uXXXX``, with surrogate
    pairs above 0xFFFF), which gives the same text as Python's ``json.dumps``"""
    data = _mts._utf8(text)
    if not _mts._is_utf8(data):
        raise ValueError("strings in JSON must be valid UTF-8")
    escaped = [0x22]
    i = 0
    while i < len(data):
        byte = data[i]
        if byte >= 0x80:
            # decode one code point (the data is valid UTF-8)
            count = 1
            code = byte & 0x1F
            if byte >= 0xF0:
                count = 3
                code = byte & 0x07
            elif byte >= 0xE0:
                count = 2
                code = byte & 0x0F
            for j in range(i + 1, i + 1 + count):
                code = (code << 6) | (data[j] & 0x3F)
            i += 1 + count
            if code >= 0x10000:
                code -= 0x10000
                escaped += _unicode_escape(0xD800 + (code >> 10))
                escaped += _unicode_escape(0xDC00 + (code & 0x3FF))
            else:
                escaped += _unicode_escape(code)
            continue
        i += 1
        if byte == 0x22 or byte == 0x5C:
            escaped += [0x5C, byte]
        elif byte == 0x08:
            escaped += [0x5C, 0x62]
        elif byte == 0x0C:
            escaped += [0x5C, 0x66]
        elif byte == 0x0A:
            escaped += [0x5C, 0x6E]
        elif byte == 0x0D:
            escaped += [0x5C, 0x72]
        elif byte == 0x09:
            escaped += [0x5C, 0x74]
        elif byte < 0x20 or byte == 0x7F:
            escaped += _unicode_escape(byte)
        else:
            escaped.append(byte)
    escaped.append(0x22)
    return _mts._text(escaped)


def _json_bool(value: bool) -> str:
    if value:
        return "true"
    return "false"


def neighbor_options_to_json(options: NeighborListOptions) -> str:
    """The JSON of ``options``, as upstream writes it (nlohmann's ``dump(4)``:
    4-space indentation, sorted keys, ASCII only, no final newline). The cutoff
    is stored as the IEEE-754 bit pattern of the double, as an integer.

    >>> options = NeighborListOptions(cutoff=3.0, full_list=True, strict=False)
    >>> print(neighbor_options_to_json(options))
    {
        "class": "NeighborListOptions",
        "cutoff": 4613937818241073152,
        "full_list": true,
        "length_unit": "",
        "requestors": [],
        "strict": false
    }
    """
    requestors = options.requestors()
    requestors_json = "[]"
    if len(requestors) != 0:
        items: List[str] = []
        for requestor in requestors:
            items.append("        " + _json_string(requestor))
        requestors_json = "[\n" + ",\n".join(items) + "\n    ]"
    return (
        '{\n    "class": "NeighborListOptions",\n    "cutoff": '
        + str(_double_bits(options.cutoff))
        + ',\n    "full_list": '
        + _json_bool(options.full_list)
        + ',\n    "length_unit": '
        + _json_string(options.length_unit)
        + ',\n    "requestors": '
        + requestors_json
        + ',\n    "strict": '
        + _json_bool(options.strict)
        + "\n}"
    )


# ================================================================================== #
#                        NeighborListOptions JSON (reading)                          #
# ================================================================================== #
#
# A small JSON parser working on the UTF-8 bytes of the text (TorchScript strings
# are byte strings). It has no recursion (TorchScript has none): the values of the
# top-level object are read when they are strings, booleans, integers or arrays of
# strings, and any other value is checked and skipped with an explicit stack.


def _json_error(where: str, message: str, position: int) -> str:
    return _mts._json_error(message, position, where)


def _skip_spaces(data: List[int], position: int) -> int:
    while position < len(data) and (
        data[position] == 0x20
        or data[position] == 0x09
        or data[position] == 0x0A
        or data[position] == 0x0D
    ):
        position += 1
    return position


def _parse_string(data: List[int], position: int, where: str) -> Tuple[str, int]:
    """The JSON string whose opening quote is at ``position``, and the position
    after its closing quote"""
    return _mts._parse_json_string(data, position + 1, where)


def _parse_literal(data: List[int], position: int, where: str) -> Tuple[str, int]:
    """``true``, ``false`` or ``null`` at ``position``, and the position after it"""
    for word in ["true", "false", "null"]:
        encoded = _mts._utf8(word)
        if data[position : position + len(encoded)] == encoded:
            return word, position + len(encoded)
    raise ValueError(_json_error(where, "invalid literal", position))


def is_digit(data: List[int], position: int) -> bool:
    return position < len(data) and 0x30 <= data[position] and data[position] <= 0x39


def _parse_number(data: List[int], position: int, where: str) -> Tuple[bool, int, int]:
    """The JSON number at ``position``: whether it is an integer fitting in 64
    bits, its value if it is, and the position after it"""
    start = position
    if data[position] == 0x2D:
        position += 1
    if not is_digit(data, position):
        raise ValueError(_json_error(where, "invalid number", start))
    if data[position] == 0x30:
        position += 1
        if is_digit(data, position):
            raise ValueError(_json_error(where, "leading zeros in number", start))
    while is_digit(data, position):
        position += 1
    integer_end = position

    is_integer = True
    if position < len(data) and data[position] == 0x2E:
        position += 1
        if not is_digit(data, position):
            raise ValueError(_json_error(where, "invalid number", start))
        while is_digit(data, position):
            position += 1
        is_integer = False
    if position < len(data) and (data[position] == 0x65 or data[position] == 0x45):
        position += 1
        if position < len(data) and (data[position] == 0x2B or data[position] == 0x2D):
            position += 1
        if not is_digit(data, position):
            raise ValueError(_json_error(where, "invalid number", start))
        while is_digit(data, position):
            position += 1
        is_integer = False
    if not is_integer:
        return False, 0, position

    negative = data[start] == 0x2D
    digits = data[start + int(negative) : integer_end]
    if negative and digits == _mts._utf8("9223372036854775808"):
        return True, -9223372036854775807 - 1, position
    value = 0
    for digit in digits:
        if value > (9223372036854775807 - (digit - 0x30)) // 10:
            # too large for a 64-bit integer
            return False, 0, position
        value = 10 * value + digit - 0x30
    if negative:
        value = -value
    return True, value, position


def _skip_key(data: List[int], position: int, where: str) -> int:
    """Skip ``"key":`` at ``position`` (after spaces), return the position after
    the colon"""
    position = _skip_spaces(data, position)
    if position == len(data) or data[position] != 0x22:
        raise ValueError(_json_error(where, "expected a string key", position))
    _, position = _parse_string(data, position, where)
    position = _skip_spaces(data, position)
    if position == len(data) or data[position] != 0x3A:
        raise ValueError(_json_error(where, "expected ':'", position))
    return position + 1


def _skip_value(data: List[int], position: int, where: str) -> int:
    """Check the syntax of the JSON value at ``position`` (of any depth) and
    return the position after it"""
    # closing bytes of the arrays and objects we are in
    closers: List[int] = []
    expect_value = True
    done = False
    while not done:
        position = _skip_spaces(data, position)
        if expect_value:
            if position == len(data):
                raise ValueError(_json_error(where, "unexpected end of data", position))
            byte = data[position]
            if byte == 0x7B or byte == 0x5B:
                closer = 0x7D
                if byte == 0x5B:
                    closer = 0x5D
                position = _skip_spaces(data, position + 1)
                if position < len(data) and data[position] == closer:
                    # empty container
                    position += 1
                    expect_value = False
                else:
                    closers.append(closer)
                    if closer == 0x7D:
                        position = _skip_key(data, position, where)
            elif byte == 0x22:
                _, position = _parse_string(data, position, where)
                expect_value = False
            elif byte == 0x74 or byte == 0x66 or byte == 0x6E:
                _, position = _parse_literal(data, position, where)
                expect_value = False
            elif byte == 0x2D or is_digit(data, position):
                _, _, position = _parse_number(data, position, where)
                expect_value = False
            else:
                raise ValueError(
                    _json_error(
                        where, "unexpected " + _mts._describe_byte(byte), position
                    )
                )
        elif len(closers) == 0:
            done = True
        else:
            if position == len(data):
                raise ValueError(_json_error(where, "unexpected end of data", position))
            if data[position] == 0x2C:
                position += 1
                if closers[-1] == 0x7D:
                    position = _skip_key(data, position, where)
                expect_value = True
            elif data[position] == closers[-1]:
                closers.pop()
                position += 1
            else:
                raise ValueError(
                    _json_error(
                        where, "expected ',' or '" + chr(closers[-1]) + "'", position
                    )
                )
    return position


def _parse_string_array(
    data: List[int], position: int, where: str
) -> Tuple[bool, List[str], int]:
    """The array at ``position`` if it contains only strings: ``(True, strings,
    position after it)``, else ``(False, [], position)``"""
    start = position
    strings: List[str] = []
    position = _skip_spaces(data, position + 1)
    if position < len(data) and data[position] == 0x5D:
        return True, strings, position + 1
    done = False
    while not done:
        if position == len(data) or data[position] != 0x22:
            return False, [], start
        text, position = _parse_string(data, position, where)
        strings.append(text)
        position = _skip_spaces(data, position)
        if position < len(data) and data[position] == 0x5D:
            position += 1
            done = True
        elif position == len(data) or data[position] != 0x2C:
            raise ValueError(_json_error(where, "expected ',' or ']'", position))
        else:
            position = _skip_spaces(data, position + 1)
    return True, strings, position


class _JsonObject:
    """The values of a JSON object, by kind"""

    def __init__(self):
        # key => "string", "boolean", "integer", "number", "null",
        # "array of strings", "array" or "object"
        self.kinds: Dict[str, str] = {}
        self.strings: Dict[str, str] = {}
        self.booleans: Dict[str, bool] = {}
        self.integers: Dict[str, int] = {}
        self.string_arrays: Dict[str, List[str]] = {}


def _parse_object(data: List[int], where: str) -> _JsonObject:
    """Parse a JSON text containing an object (the last value is kept for
    duplicated keys)"""
    if data[:3] == [0xEF, 0xBB, 0xBF]:
        data = data[3:]
    if not _mts._is_utf8(data):
        raise ValueError(
            _mts._format_error("invalid JSON in " + where + ": invalid UTF-8")
        )

    result = _JsonObject()
    position = _skip_spaces(data, 0)
    if position == len(data) or data[position] != 0x7B:
        raise ValueError(_mts._format_error(where + " must contain a JSON object"))
    position = _skip_spaces(data, position + 1)
    if position < len(data) and data[position] == 0x7D:
        position += 1
    else:
        while True:
            if position == len(data) or data[position] != 0x22:
                raise ValueError(_json_error(where, "expected a string key", position))
            key, position = _parse_string(data, position, where)
            position = _skip_spaces(data, position)
            if position == len(data) or data[position] != 0x3A:
                raise ValueError(_json_error(where, "expected ':'", position))
            position = _skip_spaces(data, position + 1)
            if position == len(data):
                raise ValueError(_json_error(where, "expected a value", position))

            byte = data[position]
            if byte == 0x22:
                value, position = _parse_string(data, position, where)
                result.kinds[key] = "string"
                result.strings[key] = value
            elif byte == 0x74 or byte == 0x66 or byte == 0x6E:
                word, position = _parse_literal(data, position, where)
                if word == "null":
                    result.kinds[key] = "null"
                else:
                    result.kinds[key] = "boolean"
                    result.booleans[key] = word == "true"
            elif byte == 0x2D or is_digit(data, position):
                is_integer, integer, position = _parse_number(data, position, where)
                if is_integer:
                    result.kinds[key] = "integer"
                    result.integers[key] = integer
                else:
                    result.kinds[key] = "number"
            elif byte == 0x5B:
                only_strings, strings, end = _parse_string_array(data, position, where)
                if only_strings:
                    result.kinds[key] = "array of strings"
                    result.string_arrays[key] = strings
                    position = end
                else:
                    result.kinds[key] = "array"
                    position = _skip_value(data, position, where)
            elif byte == 0x7B:
                result.kinds[key] = "object"
                position = _skip_value(data, position, where)
            else:
                raise ValueError(
                    _json_error(
                        where, "unexpected " + _mts._describe_byte(byte), position
                    )
                )

            position = _skip_spaces(data, position)
            if position < len(data) and data[position] == 0x7D:
                position += 1
                break
            if position == len(data) or data[position] != 0x2C:
                raise ValueError(_json_error(where, "expected ',' or '}'", position))
            position = _skip_spaces(data, position + 1)

    if _skip_spaces(data, position) != len(data):
        raise ValueError(_json_error(where, "extra data after the object", position))
    return result


def _check_kind(values: _JsonObject, key: str, kind: str, where: str, what: str):
    """Raise if ``key`` is not in ``values`` with the given ``kind``"""
    if key not in values.kinds:
        raise ValueError(_mts._format_error("missing '" + key + "' in " + where))
    if values.kinds[key] != kind:
        raise ValueError(
            _mts._format_error(
                "'"
                + key
                + "' in "
                + where
                + " must be "
                + what
                + ", got "
                + _describe_kind(values.kinds[key])
            )
        )


def _describe_kind(kind: str) -> str:
    if kind == "null":
        return "null"
    elif kind == "integer" or kind == "array" or kind == "object":
        return "an " + kind
    elif kind == "array of strings":
        return "an array of strings"
    elif kind == "number":
        return "a number that is not a 64-bit integer"
    return "a " + kind


def options_from_bytes(data: List[int], where: str) -> NeighborListOptions:
    values = _parse_object(data, where)
    _check_kind(values, "class", "string", where, "a string")
    if values.strings["class"] != "NeighborListOptions":
        raise ValueError(
            _mts._format_error(
                "expected 'class' to be 'NeighborListOptions' in "
                + where
                + ", got "
                + _mts._quote(values.strings["class"])
            )
        )
    _check_kind(
        values,
        "cutoff",
        "integer",
        where,
        "an integer (the bit pattern of the double cutoff)",
    )
    _check_kind(values, "full_list", "boolean", where, "a boolean")
    _check_kind(values, "strict", "boolean", where, "a boolean")

    cutoff = _bits_double(values.integers["cutoff"])
    if not cutoff > 0.0:
        raise ValueError(
            _mts._format_error(
                "the cutoff in " + where + " must be positive, got " + str(cutoff)
            )
        )
    options = NeighborListOptions(
        cutoff, values.booleans["full_list"], values.booleans["strict"], ""
    )
    # older versions did not write the unit and the requestors
    if "length_unit" in values.kinds:
        _check_kind(values, "length_unit", "string", where, "a string")
        options.length_unit = values.strings["length_unit"]
    if "requestors" in values.kinds:
        _check_kind(
            values, "requestors", "array of strings", where, "an array of strings"
        )
        for requestor in values.string_arrays["requestors"]:
            options.add_requestor(requestor)
    return options


def neighbor_options_from_json(json: str) -> NeighborListOptions:
    """Read the JSON written by :py:func:`neighbor_options_to_json`.

    The ``"class"`` must be ``"NeighborListOptions"``; ``cutoff`` (an integer, the
    bit pattern of the double), ``full_list`` and ``strict`` (booleans) are
    required; ``length_unit`` (a string) and ``requestors`` (an array of strings)
    are optional. Other keys are ignored.

    :raises ValueError: for invalid JSON, a wrong class, a missing key or a value
        of the wrong type

    >>> options = NeighborListOptions(cutoff=3.0, full_list=True, strict=False)
    >>> neighbor_options_from_json(neighbor_options_to_json(options))
    NeighborListOptions(cutoff=3.000000, full_list=True, strict=False)
    """
    return options_from_bytes(_mts._utf8(json), "the NeighborListOptions JSON")
