"""Unit expressions and conversion factors.

A unit is written as an expression over the names of the unit table below, for
example ``"eV/A^3"``, ``"kcal/mol"`` or ``"(eV*u)^(1/2)"``. The grammar is

.. code-block:: text

    expression := operand | expression ("*" | "/" | "^") expression
                | "(" expression ")" | "-" "(" expression ")"
    operand    := unit name | number literal

* ``*``, ``/`` and ``^`` are left-associative, and ``^`` binds tighter than ``*``
  and ``/``. The exponent of ``^`` is a whole sub-expression, which must be
  dimensionless: ``A^3``, ``s^-2`` and ``eV^(1/2)`` all work.
* A number literal is a decimal number with an optional sign and exponent
  (``2``, ``-1``, ``0.5``, ``1e-3``; ``inf`` and ``nan`` are recognised and then
  rejected as non-finite). A ``-`` is part of the token that follows it, so
  ``s^-2`` reads ``-2``; a lone ``-`` in front of a parenthesis negates a
  dimensionless value (``A^-(1/2)``). There is no subtraction or addition.
* Unit names are matched without regard to ASCII case, so ``MeV`` is the same as
  ``meV`` (1e-3 eV, not 1e6 eV) and ``Mpa`` the same as ``MPa``. The micro sign
  ``µ`` (U+00B5) is part of a name (``µm``, ``µs``).
* Whitespace is removed *before* the expression is cut into tokens, so it does
  not separate them: ``"kJ mol"`` is the unknown unit ``kJmol``.

The expression is cut into tokens, turned into reverse Polish notation with the
shunting-yard algorithm, then evaluated into a factor to SI units and a
dimension vector of five exponents ``[L, T, M, I, Θ]`` (length, time, mass,
electric current, temperature). Dimensions print with the letters ``L T M I T``
(temperature shares the letter of time, as upstream prints it), for example
``L^2 T^-2 M``; a dimensionless vector prints as ``1``.

Every function here compiles with :py:func:`torch.jit.script`. TorchScript cannot
catch exceptions, so the parser returns error messages as strings and only the
public functions raise. Eager Python additionally caches parsed expressions, in
code guarded by ``torch.jit.is_scripting()`` that the compiler skips.
"""

import warnings
from typing import Dict, List, Optional, Tuple

import torch

# ================================================================================== #
#                           the unit and dimension tables                            #
# ================================================================================== #


def _unit_table() -> Dict[str, Tuple[float, List[float]]]:
    """Lowercase unit name -> (factor to SI units, dimension [L, T, M, I, Θ])."""
    temperature = [0.0, 0.0, 0.0, 0.0, 1.0]
    length = [1.0, 0.0, 0.0, 0.0, 0.0]
    energy = [2.0, -2.0, 1.0, 0.0, 0.0]
    time = [0.0, 1.0, 0.0, 0.0, 0.0]
    mass = [0.0, 0.0, 1.0, 0.0, 0.0]
    charge = [0.0, 1.0, 0.0, 1.0, 0.0]
    pressure = [-1.0, -2.0, 1.0, 0.0, 0.0]
    dipole = [1.0, 1.0, 0.0, 1.0, 0.0]
    action = [2.0, -1.0, 1.0, 0.0, 0.0]
    dimensionless = [0.0, 0.0, 0.0, 0.0, 0.0]

    debye = 1e-21 / 299792458.0
    # a flat dict literal: TorchScript builds it ~4x faster than a loop
    return {
        # temperature
        "kelvin": (1.0, temperature),
        "k": (1.0, temperature),
        # length
        "angstrom": (1e-10, length),
        "a": (1e-10, length),
        "bohr": (5.2917721054482e-11, length),
        "nm": (1e-9, length),
        "nanometer": (1e-9, length),
        "meter": (1.0, length),
        "m": (1.0, length),
        "cm": (1e-2, length),
        "centimeter": (1e-2, length),
        "mm": (1e-3, length),
        "millimeter": (1e-3, length),
        "um": (1e-6, length),
        "µm": (1e-6, length),
        "micrometer": (1e-6, length),
        # energy
        "electronvolt": (1.602176634e-19, energy),
        "ev": (1.602176634e-19, energy),
        "mev": (1.602176634e-22, energy),
        "hartree": (4.359744722206048e-18, energy),
        "ry": (2.179872361103024e-18, energy),
        "rydberg": (2.179872361103024e-18, energy),
        "joule": (1.0, energy),
        "j": (1.0, energy),
        "kcal": (4184.0, energy),
        "kj": (1000.0, energy),
        # time
        "s": (1.0, time),
        "second": (1.0, time),
        "ms": (1e-3, time),
        "millisecond": (1e-3, time),
        "us": (1e-6, time),
        "µs": (1e-6, time),
        "microsecond": (1e-6, time),
        "ns": (1e-9, time),
        "nanosecond": (1e-9, time),
        "ps": (1e-12, time),
        "picosecond": (1e-12, time),
        "fs": (1e-15, time),
        "femtosecond": (1e-15, time),
        # mass
        "u": (1.6605390689252e-27, mass),
        "dalton": (1.6605390689252e-27, mass),
        "kg": (1.0, mass),
        "kilogram": (1.0, mass),
        "g": (1e-3, mass),
        "gram": (1e-3, mass),
        "electron_mass": (9.109383713928e-31, mass),
        "m_e": (9.109383713928e-31, mass),
        # charge
        "e": (1.602176634e-19, charge),
        "coulomb": (1.0, charge),
        "c": (1.0, charge),
        # pressure
        "pa": (1.0, pressure),
        "pascal": (1.0, pressure),
        "kpa": (1e3, pressure),
        "kilopascal": (1e3, pressure),
        "mpa": (1e6, pressure),
        "megapascal": (1e6, pressure),
        "gpa": (1e9, pressure),
        "gigapascal": (1e9, pressure),
        "bar": (1e5, pressure),
        "atm": (101325.0, pressure),
        # dipole moment
        "debye": (debye, dipole),
        "d": (debye, dipole),
        # amount of substance, a pure number so that "kJ/mol" works
        "mol": (6.02214076e23, dimensionless),
        # reduced Planck constant
        "hbar": (1.0545718176462e-34, action),
    }


def _named_dimensions() -> Dict[str, List[float]]:
    """Names accepted by :py:func:`check_unit_dimension` -> dimension vector."""
    return {
        "length": [1.0, 0.0, 0.0, 0.0, 0.0],
        "energy": [2.0, -2.0, 1.0, 0.0, 0.0],
        "force": [1.0, -2.0, 1.0, 0.0, 0.0],
        "pressure": [-1.0, -2.0, 1.0, 0.0, 0.0],
        "momentum": [1.0, -1.0, 1.0, 0.0, 0.0],
        "mass": [0.0, 0.0, 1.0, 0.0, 0.0],
        "velocity": [1.0, -1.0, 0.0, 0.0, 0.0],
        "charge": [0.0, 1.0, 0.0, 1.0, 0.0],
        "heat_flux": [3.0, -3.0, 1.0, 0.0, 0.0],
        "none": [0.0, 0.0, 0.0, 0.0, 0.0],
    }


def _tolerance() -> float:
    """Tolerance on dimension exponents (TorchScript has no float globals)."""
    return 1e-10


# eager-only state, never seen by the TorchScript compiler
_UNIT_TABLE = _unit_table()
_PARSED_CACHE: Dict[str, Tuple[float, List[float]]] = {}
_CONVERSION_CACHE: Dict[Tuple[str, str], float] = {}
_CACHE_MAX_SIZE = 4096
_WARNED_ONCE: Dict[str, bool] = {}


# ================================================================================== #
#                                   small helpers                                    #
# ================================================================================== #


def _is_finite(value: float) -> bool:
    # inf - inf and nan - nan are nan, which compares unequal to everything
    return value - value == 0.0


def _is_digit(char: str) -> bool:
    return char >= "0" and char <= "9"


def _is_space(char: str) -> bool:
    """ASCII whitespace only: space, \\t, \\n, \\v, \\f and \\r."""
    # a " \t\n\r\f\v" literal would be simpler, but TorchScript archives can
    # not store \f or \v in string constants
    code = ord(char)
    return code == 32 or (code >= 9 and code <= 13)


def _ascii_lower(text: str) -> str:
    """Lowercase ASCII letters only, leaving other characters (like µ) alone."""
    if torch.jit.is_scripting():
        # TorchScript strings are bytes, and lower() only touches ASCII letters
        return text.lower()
    return _eager_ascii_lower(text)


def _eager_ascii_lower(text: str) -> str:
    # str.lower() would also map non-ASCII letters (the Kelvin sign U+212A
    # becomes "k"), which TorchScript does not do
    if text.isascii():
        return text.lower()
    return "".join(c.lower() if c.isascii() else c for c in text)


def _format_exponent(value: float) -> str:
    """Integers without decimals, other values with up to 6 decimals."""
    rounded = round(value)
    if abs(value - rounded) < _tolerance():
        return str(int(rounded))
    scaled = int(round(abs(value) * 1e6))
    decimals = str(scaled % 1000000)
    while len(decimals) < 6:
        decimals = "0" + decimals
    sign = "-" if value < 0.0 else ""
    return sign + str(scaled // 1000000) + "." + decimals.rstrip("0")


def _dimension_text(dimension: List[float]) -> str:
    """Human-readable dimension, e.g. ``L^2 T^-2 M``; ``1`` when dimensionless."""
    # temperature shares the letter of time, as upstream prints it
    letters = ["L", "T", "M", "I", "T"]
    parts: List[str] = []
    for i in range(len(dimension)):
        exponent = dimension[i]
        if abs(exponent) < _tolerance():
            continue
        if abs(exponent - 1.0) < _tolerance():
            parts.append(letters[i])
        else:
            parts.append(letters[i] + "^" + _format_exponent(exponent))
    if len(parts) == 0:
        return "1"
    return " ".join(parts)


def _same_dimension(first: List[float], second: List[float]) -> bool:
    for i in range(len(first)):
        if abs(first[i] - second[i]) > _tolerance():
            return False
    return True


def _is_dimensionless(dimension: List[float]) -> bool:
    return _same_dimension(dimension, [0.0, 0.0, 0.0, 0.0, 0.0])


def _power(base: float, exponent: float) -> float:
    """``base ** exponent``, giving inf on overflow in both modes.

    The caller rules out a zero base with a negative exponent and a negative base
    with a fractional exponent, where eager Python raises or returns a complex.
    """
    if torch.jit.is_scripting():
        return base**exponent
    return _eager_power(base, exponent)


def _eager_power(base: float, exponent: float) -> float:
    try:
        return base**exponent
    except OverflowError:
        return float("inf")


# ================================================================================== #
#                                      parsing                                       #
# ================================================================================== #


def _tokenize(expression: str) -> List[str]:
    """Drop whitespace, then split around the operators and parentheses."""
    tokens: List[str] = []
    current = ""
    for char in expression:
        if _is_space(char):
            continue
        if char in "*/^()":
            if current != "":
                tokens.append(current)
                current = ""
            tokens.append(char)
        else:
            current += char
    if current != "":
        tokens.append(current)
    return tokens


def _precedence(operator: str) -> int:
    if operator == "^":
        return 3
    if operator == "-":
        # unary minus: -x^2 is -(x^2), but -(x)*y is (-x)*y
        return 2
    return 1


def _invalid(expression: str, reason: str) -> str:
    return "invalid unit '" + expression + "': " + reason


def _not_finite(expression: str) -> str:
    return _invalid(expression, "the conversion factor is not finite")


def _to_rpn(tokens: List[str], expression: str) -> Tuple[str, List[str]]:
    """Shunting-yard: infix tokens to reverse Polish notation.

    Returns an error message (empty on success) and the RPN tokens, in which
    ``*``, ``/``, ``^`` are binary operators, ``-`` is the unary minus and
    everything else is an operand.
    """
    output: List[str] = []
    operators: List[str] = []
    expect_operand = True
    previous = ""
    for token in tokens:
        if token == "(":
            if not expect_operand:
                return _invalid(expression, "missing an operator before '('"), output
            operators.append(token)
        elif token == ")":
            if expect_operand:
                if previous == "(":
                    return _invalid(expression, "empty parentheses"), output
                reason = "missing a unit or number before ')'"
                return _invalid(expression, reason), output
            closed = False
            while len(operators) > 0:
                top = operators.pop()
                if top == "(":
                    closed = True
                    break
                output.append(top)
            if not closed:
                return _invalid(expression, "unmatched ')'"), output
        elif token == "-":
            if not expect_operand:
                reason = "'-' can only be used as a sign, there is no subtraction"
                return _invalid(expression, reason), output
            operators.append(token)
        elif token == "*" or token == "/" or token == "^":
            if expect_operand:
                reason = "missing a unit or number before '" + token + "'"
                return _invalid(expression, reason), output
            while len(operators) > 0:
                top = operators[-1]
                if top == "(" or _precedence(top) < _precedence(token):
                    break
                output.append(operators.pop())
            operators.append(token)
            expect_operand = True
        else:
            if not expect_operand:
                reason = "missing an operator before '" + token + "'"
                return _invalid(expression, reason), output
            output.append(token)
            expect_operand = False
        previous = token

    if len(tokens) == 0:
        return _invalid(expression, "empty expression"), output
    if expect_operand:
        reason = "missing a unit or number after '" + previous + "'"
        return _invalid(expression, reason), output
    while len(operators) > 0:
        top = operators.pop()
        if top == "(":
            return _invalid(expression, "unclosed '('"), output
        output.append(top)
    return "", output


def _parse_number(token: str) -> Tuple[bool, float]:
    """Recognise a decimal literal like ``-1``, ``.5`` or ``1e-3``."""
    unsigned = token
    if token.startswith("-") or token.startswith("+"):
        unsigned = token[1:]
    lowered = _ascii_lower(unsigned)
    if lowered == "inf" or lowered == "infinity" or lowered == "nan":
        return True, float(token)

    size = len(unsigned)
    i = 0
    digits = 0
    while i < size and _is_digit(unsigned[i]):
        i += 1
        digits += 1
    if i < size and unsigned[i] == ".":
        i += 1
        while i < size and _is_digit(unsigned[i]):
            i += 1
            digits += 1
    if digits == 0:
        return False, 0.0
    if i < size and (unsigned[i] == "e" or unsigned[i] == "E"):
        i += 1
        if i < size and (unsigned[i] == "+" or unsigned[i] == "-"):
            i += 1
        exponent_digits = 0
        while i < size and _is_digit(unsigned[i]):
            i += 1
            exponent_digits += 1
        if exponent_digits == 0:
            return False, 0.0
    if i != size:
        return False, 0.0
    return True, float(token)


def _lookup_table() -> Dict[str, Tuple[float, List[float]]]:
    """The unit table, built once at import in eager mode and once per call to a
    public function in TorchScript (which has no global state)."""
    if torch.jit.is_scripting():
        return _unit_table()
    return _UNIT_TABLE


def _apply_operator(
    operator: str,
    left_factor: float,
    left_dimension: List[float],
    right_factor: float,
    right_dimension: List[float],
    expression: str,
) -> Tuple[str, float, List[float]]:
    """Apply a binary operator, giving (error message, factor, dimension)."""
    dimension: List[float] = []
    if operator == "*":
        for i in range(5):
            dimension.append(left_dimension[i] + right_dimension[i])
        return "", left_factor * right_factor, dimension

    if operator == "/":
        for i in range(5):
            dimension.append(left_dimension[i] - right_dimension[i])
        if right_factor == 0.0:
            return _not_finite(expression), 0.0, dimension
        return "", left_factor / right_factor, dimension

    # operator == "^"
    if not _is_dimensionless(right_dimension):
        text = _dimension_text(right_dimension)
        reason = "the exponent must be dimensionless, got dimension " + text
        return _invalid(expression, reason), 0.0, dimension
    if left_factor == 0.0 and right_factor < 0.0:
        return _not_finite(expression), 0.0, dimension
    if left_factor < 0.0 and right_factor != round(right_factor):
        return _not_finite(expression), 0.0, dimension
    for i in range(5):
        dimension.append(left_dimension[i] * right_factor)
    return "", _power(left_factor, right_factor), dimension


def _evaluate_operand(
    token: str, table: Dict[str, Tuple[float, List[float]]], expression: str
) -> Tuple[str, float, List[float]]:
    """Evaluate a number literal or a unit name."""
    is_number, value = _parse_number(token)
    if is_number:
        return "", value, [0.0, 0.0, 0.0, 0.0, 0.0]
    name = _ascii_lower(token)
    if name not in table:
        return "unknown unit '" + token + "' in '" + expression + "'", 0.0, []
    factor, dimension = table[name]
    return "", factor, dimension


def _evaluate_rpn(
    rpn: List[str], expression: str, table: Dict[str, Tuple[float, List[float]]]
) -> Tuple[str, float, List[float]]:
    """Evaluate RPN tokens into (error message, SI factor, dimension)."""
    factors: List[float] = []
    dimensions: List[List[float]] = []
    for token in rpn:
        if token == "-":
            factor = -factors.pop()
            dimension = dimensions.pop()
            if not _is_dimensionless(dimension):
                text = _dimension_text(dimension)
                reason = (
                    "'-' can only apply to a dimensionless value, got dimension " + text
                )
                return _invalid(expression, reason), 0.0, []
        elif token == "*" or token == "/" or token == "^":
            right_factor = factors.pop()
            right_dimension = dimensions.pop()
            left_factor = factors.pop()
            left_dimension = dimensions.pop()
            error, factor, dimension = _apply_operator(
                token,
                left_factor,
                left_dimension,
                right_factor,
                right_dimension,
                expression,
            )
            if error != "":
                return error, 0.0, []
        else:
            error, factor, dimension = _evaluate_operand(token, table, expression)
            if error != "":
                return error, 0.0, []

        if not _is_finite(factor):
            return _not_finite(expression), 0.0, []
        factors.append(factor)
        dimensions.append(dimension)
    return "", factors[0], dimensions[0]


def _parse_unit(
    expression: str, table: Dict[str, Tuple[float, List[float]]]
) -> Tuple[str, float, List[float]]:
    """Parse a unit into (error message, SI factor, dimension), never raising."""
    if not torch.jit.is_scripting():
        cached = _PARSED_CACHE.get(expression)
        if cached is not None:
            return "", cached[0], cached[1]

    # shortcut for the common single-name units, like "eV" or "Angstrom"
    name = _ascii_lower(expression)
    if name in table:
        factor, dimension = table[name]
        return "", factor, dimension

    error, rpn = _to_rpn(_tokenize(expression), expression)
    if error != "":
        return error, 0.0, []
    error, factor, dimension = _evaluate_rpn(rpn, expression, table)

    if not torch.jit.is_scripting():
        if error == "":
            _store(_PARSED_CACHE, expression, (factor, dimension))
    return error, factor, dimension


def _store(cache: dict, key: object, value: object) -> None:
    # eager only
    if len(cache) >= _CACHE_MAX_SIZE:
        cache.clear()
    cache[key] = value


def _parse_unit_or_raise(
    unit: str, table: Dict[str, Tuple[float, List[float]]]
) -> Tuple[float, List[float]]:
    error, factor, dimension = _parse_unit(unit, table)
    if error != "":
        raise ValueError(error)
    return factor, dimension


def _check_is_str(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError("`" + name + "` must be a str, got " + type(value).__name__)


# ================================================================================== #
#                                    public API                                      #
# ================================================================================== #


def _warn_quantity_deprecated() -> None:
    message = (
        "the `quantity` argument of unit_conversion_factor is deprecated and "
        "ignored, call `unit_conversion_factor(from_unit, to_unit)` instead"
    )
    if torch.jit.is_scripting():
        # TorchScript has no process-wide state to remember that it warned,
        # Python's warning filters show this once per call site by default
        warnings.warn(message, stacklevel=2)
    else:
        _eager_warn_once("quantity", message)


def _eager_warn_once(key: str, message: str) -> None:
    if _WARNED_ONCE.get(key, False):
        return
    _WARNED_ONCE[key] = True
    # user code -> unit_conversion_factor -> _warn_quantity_deprecated -> here
    warnings.warn(message, DeprecationWarning, stacklevel=4)


def unit_conversion_factor(
    from_unit: str,
    to_unit: str,
    _legacy_to_unit: Optional[str] = None,
    quantity: Optional[str] = None,
) -> float:
    """Get the factor converting values from ``from_unit`` to ``to_unit``.

    Both units are expressions such as ``"eV/A^3"`` or ``"kcal/mol"`` (see the
    module documentation for the grammar and the known unit names). A value
    ``x`` in ``from_unit`` is ``x * factor`` in ``to_unit``, with

    .. math::

        \\text{factor} = \\frac{\\text{SI}(\\text{from\\_unit})}
                               {\\text{SI}(\\text{to\\_unit})}

    When either unit is empty, the factor is 1 and nothing is checked.

    The older form ``unit_conversion_factor(quantity, from_unit, to_unit)`` (three
    positional arguments), or passing ``quantity=``, still works: the quantity is
    ignored and a deprecation warning is emitted once.

    :param from_unit: unit of the values to convert
    :param to_unit: unit to convert the values to
    :param _legacy_to_unit: the target unit in the deprecated three-argument form,
        do not use
    :param quantity: deprecated and ignored
    :return: the conversion factor
    :raises ValueError: if a unit does not parse, names an unknown unit, gives a
        non-finite factor, or if the two units have different dimensions

    >>> unit_conversion_factor("Hartree", "eV")
    27.211386245981465
    >>> unit_conversion_factor("eV/A^3", "GPa")
    160.21766339999996
    >>> unit_conversion_factor("K", "eV")
    Traceback (most recent call last):
        ...
    ValueError: dimension mismatch in unit conversion: 'K' has dimension T but 'eV' has dimension L^2 T^-2 M

    .. versionchanged:: 0.1.12
        compound unit expressions and the two-argument form
    """
    if not torch.jit.is_scripting():
        _check_is_str(from_unit, "from_unit")
        _check_is_str(to_unit, "to_unit")
        if _legacy_to_unit is not None:
            _check_is_str(_legacy_to_unit, "_legacy_to_unit")
        if quantity is not None:
            _check_is_str(quantity, "quantity")

    if _legacy_to_unit is not None:
        if quantity is not None:
            raise TypeError(
                "unit_conversion_factor() got the quantity twice, as the first of "
                "three positional arguments and as `quantity`"
            )
        _warn_quantity_deprecated()
        from_unit, to_unit = to_unit, _legacy_to_unit
    elif quantity is not None:
        _warn_quantity_deprecated()

    if not torch.jit.is_scripting():
        cached = _CONVERSION_CACHE.get((from_unit, to_unit))
        if cached is not None:
            return cached

    if from_unit == "" or to_unit == "":
        return 1.0

    table = _lookup_table()
    from_factor, from_dimension = _parse_unit_or_raise(from_unit, table)
    to_factor, to_dimension = _parse_unit_or_raise(to_unit, table)
    if not _same_dimension(from_dimension, to_dimension):
        raise ValueError(
            "dimension mismatch in unit conversion: '"
            + from_unit
            + "' has dimension "
            + _dimension_text(from_dimension)
            + " but '"
            + to_unit
            + "' has dimension "
            + _dimension_text(to_dimension)
        )

    factor = 0.0
    if to_factor != 0.0:
        factor = from_factor / to_factor
    if to_factor == 0.0 or not _is_finite(factor):
        raise ValueError(
            "the conversion factor from '"
            + from_unit
            + "' to '"
            + to_unit
            + "' is not finite"
        )

    if not torch.jit.is_scripting():
        _store(_CONVERSION_CACHE, (from_unit, to_unit), factor)
    return factor


def unit_dimension_of(unit: str) -> List[float]:
    """Get the dimension of a unit expression.

    :param unit: unit expression, such as ``"eV/A"``
    :return: the exponents of ``[length, time, mass, current, temperature]``
    :raises ValueError: if the unit is empty or invalid

    >>> unit_dimension_of("eV/A")
    [1.0, -2.0, 1.0, 0.0, 0.0]
    """
    _, dimension = _parse_unit_or_raise(unit, _lookup_table())
    return dimension.copy()


def dimension_names() -> List[str]:
    """Get the names accepted by :py:func:`check_unit_dimension`.

    :return: the named dimensions, ``"none"`` (dimensionless) being last

    >>> dimension_names()[:3]
    ['length', 'energy', 'force']
    """
    return list(_named_dimensions().keys())


def check_unit_dimension(unit: str, dimension: str, what: str) -> str:
    """Check that a unit has the expected named dimension, without raising.

    :param unit: the unit expression to check; an empty unit is always accepted
    :param dimension: one of :py:func:`dimension_names`, ``"none"`` meaning
        dimensionless
    :param what: what the unit is for, used in the message (e.g. an output name)
    :return: ``""`` if the unit is empty or has the expected dimension, otherwise
        a message explaining the problem (including parse errors)
    :raises ValueError: if ``dimension`` is not a known dimension name

    >>> check_unit_dimension("eV", "energy", "energy")
    ''
    >>> check_unit_dimension("A", "energy", "energy")
    "unit 'A' has dimension L which is incompatible with 'energy' (L^2 T^-2 M)"
    """
    named = _named_dimensions()
    if dimension not in named:
        raise ValueError(
            "unknown dimension '"
            + dimension
            + "', expected one of: "
            + ", ".join(dimension_names())
        )
    if unit == "":
        return ""

    expected = named[dimension]
    error, _, actual = _parse_unit(unit, _lookup_table())
    if error != "":
        return error
    if _same_dimension(actual, expected):
        return ""
    return (
        "unit '"
        + unit
        + "' has dimension "
        + _dimension_text(actual)
        + " which is incompatible with '"
        + what
        + "' ("
        + _dimension_text(expected)
        + ")"
    )


def validate_unit(unit: str) -> None:
    """Check that a unit expression parses; an empty unit is accepted.

    :param unit: unit expression to check
    :raises ValueError: if the unit does not parse or names an unknown unit

    >>> validate_unit("kcal/mol")
    >>> validate_unit("kJ mol")
    Traceback (most recent call last):
        ...
    ValueError: unknown unit 'kJmol' in 'kJ mol'
    """
    if unit != "":
        _parse_unit_or_raise(unit, _lookup_table())
