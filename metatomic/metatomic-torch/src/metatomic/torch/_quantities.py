"""Names of the standard quantities (SPEC §2) and the rules for output names.

A quantity name is a standard name (``energy``), a variant of one
(``energy/pbe0``), or a custom name containing ``::`` (``my_code::dipole``,
``my_code::dipole/v2``). Plural names of older versions are still accepted and
mapped to their singular name, with a deprecation warning.
"""

from typing import Dict, List

from ._warnings import warn_once


def standard_dimensions() -> Dict[str, str]:
    """Standard quantity name => the named dimension of its unit (see
    :py:func:`metatomic.torch._units.check_unit_dimension`)"""
    return {
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


def deprecated_names() -> Dict[str, str]:
    """Deprecated plural name => its singular name"""
    return {
        "features": "feature",
        "non_conservative_forces": "non_conservative_force",
        "positions": "position",
        "momenta": "momentum",
        "masses": "mass",
        "velocities": "velocity",
        "charges": "charge",
    }


def split_variant(name: str) -> List[str]:
    """``[base, variant]`` for ``base/variant``, ``[name, ""]`` without variant"""
    slash = name.find("/")
    if slash < 0:
        return [name, ""]
    return [name[:slash], name[slash + 1 :]]


def is_custom(name: str) -> bool:
    """Whether ``name`` is a custom quantity (``domain::name``)"""
    return "::" in name


def new_name(name: str) -> str:
    """``name`` with a deprecated plural base replaced by the singular one (the
    variant is kept); other names are returned unchanged"""
    if is_custom(name):
        return name
    parts = split_variant(name)
    deprecated = deprecated_names()
    if parts[0] in deprecated:
        singular = deprecated[parts[0]]
        if parts[1] == "":
            return singular
        return singular + "/" + parts[1]
    return name


def old_name(name: str) -> str:
    """The deprecated plural name of ``name`` (variant kept), or ``""`` if there
    is none"""
    if is_custom(name):
        return ""
    parts = split_variant(name)
    for plural, singular in deprecated_names().items():
        if singular == parts[0]:
            if parts[1] == "":
                return plural
            return plural + "/" + parts[1]
    return ""


def invalid_name_message(name: str, what: str) -> str:
    """Why ``name`` is not a valid quantity name (``""`` if it is valid); ``what``
    says where the name comes from (e.g. "model output")"""
    if is_custom(name):
        parts = split_variant(name)
        if name.startswith("::") or parts[0].endswith("::"):
            return (
                "Invalid quantity name for "
                + what
                + " '"
                + name
                + "': custom names must look like '<domain>::<name>' with a "
                + "non-empty domain and name"
            )
        if name.endswith("/"):
            return (
                "Invalid quantity name for "
                + what
                + " '"
                + name
                + "': the variant after '/' can not be empty"
            )
        return ""
    parts = split_variant(name)
    base = parts[0]
    if base in standard_dimensions() or base in deprecated_names():
        if "/" in name and parts[1] == "":
            return (
                "Invalid quantity name for "
                + what
                + " '"
                + name
                + "': the variant after '/' can not be empty"
            )
        if "/" in parts[1]:
            return (
                "Invalid quantity name for "
                + what
                + " '"
                + name
                + "': a name can only contain one '/' before its variant"
            )
        return ""
    return (
        "Invalid quantity name for "
        + what
        + " '"
        + name
        + "': this is not a standard quantity; variants of standard quantities "
        + "look like '<quantity>/<variant>', and custom quantities must look like "
        + "'<domain>::<name>', where <domain> says who defines this quantity"
    )


def check_name(name: str, what: str) -> str:
    """Raise on an invalid name, and return the name to use (singular), warning
    once when a deprecated plural name is given"""
    message = invalid_name_message(name, what)
    if message != "":
        raise ValueError(message)
    singular = new_name(name)
    if singular != name:
        warn_once(
            "the '"
            + split_variant(name)[0]
            + "' name is deprecated, use '"
            + split_variant(singular)[0]
            + "' instead",
            True,
        )
    return singular


def unit_dimension_for_quantity(name: str) -> str:
    """The named dimension of the unit of quantity ``name``.

    :param name: a standard quantity, possibly with a variant, or a custom one
    :return: one of ``"energy"``, ``"none"`` (dimensionless), ``"force"``,
        ``"pressure"``, ``"length"``, ``"momentum"``, ``"velocity"``, ``"mass"``,
        ``"charge"``, ``"heat_flux"``; ``""`` for custom quantities, whose unit
        is not checked
    :raises ValueError: for a name that is neither standard nor custom

    >>> unit_dimension_for_quantity("energy/pbe0")
    'energy'
    >>> unit_dimension_for_quantity("my_code::dipole")
    ''
    """
    message = invalid_name_message(name, "unit_dimension_for_quantity")
    if message != "":
        raise ValueError(message)
    if is_custom(name):
        return ""
    base = split_variant(new_name(name))[0]
    return standard_dimensions()[base]
