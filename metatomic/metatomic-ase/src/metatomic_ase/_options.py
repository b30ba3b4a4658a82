"""Checking the arguments of :py:class:`MetatomicCalculator` and choosing the
outputs (and their variants) it requests from the model"""

import os
import sys
import warnings
from typing import Dict, Optional, Tuple

import ase
import numpy as np

from metatomic.torch import ModelOutput, pick_output

# outputs whose variant can be chosen with `variants`
VARIANT_KEYS = (
    "energy",
    "energy_uncertainty",
    "non_conservative_force",
    "non_conservative_stress",
)

_HERE = os.path.dirname(os.path.abspath(__file__))
_ASE = os.path.dirname(os.path.abspath(ase.__file__))


def warn(message: str, category=UserWarning):
    """``warnings.warn``, pointing at the first caller outside of this package
    and of ASE"""
    frame = sys._getframe(0)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(
        (_HERE, _ASE)
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def has_output(base: str, outputs: Dict[str, ModelOutput]) -> bool:
    """Whether ``outputs`` has ``base`` or one of its variants"""
    prefix = base + "/"
    return any(name == base or name.startswith(prefix) for name in outputs)


def check_bool(value, name: str):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {type(value).__name__}")


def resolve_variants(variants) -> Tuple[Dict[str, Optional[str]], set]:
    """The variant of each output of ``VARIANT_KEYS`` (the variant of ``energy``
    by default), and the keys the user gave"""
    if variants is None:
        variants = {}
    if not isinstance(variants, dict):
        raise TypeError(
            "`variants` must be a dict (output name => variant name or None), got "
            f"{type(variants).__name__}"
        )
    variants = dict(variants)
    if "non_conservative_forces" in variants:
        if "non_conservative_force" in variants:
            raise ValueError(
                "`variants` can not contain both 'non_conservative_forces' and "
                "'non_conservative_force', only use 'non_conservative_force'"
            )
        warn(
            "the 'non_conservative_forces' key of `variants` is deprecated, use "
            "'non_conservative_force' instead",
            DeprecationWarning,
        )
        variants["non_conservative_force"] = variants.pop("non_conservative_forces")

    for key, variant in variants.items():
        if not isinstance(key, str):
            raise TypeError(
                f"the keys of `variants` must be strings, got {type(key).__name__}"
            )
        if variant is not None and not isinstance(variant, str):
            raise TypeError(
                f"the variant of {key!r} in `variants` must be a string or None, got "
                f"{type(variant).__name__}"
            )
    ignored = sorted(set(variants) - set(VARIANT_KEYS))
    if ignored:
        warn(
            f"the variants of {ignored} are ignored: MetatomicCalculator only uses "
            f"the variants of {list(VARIANT_KEYS)} (use `additional_outputs` or "
            "`run_model` to compute other outputs)"
        )

    default = variants.get("energy")
    resolved = {key: variants.get(key, default) for key in VARIANT_KEYS}
    return resolved, set(variants)


def pick_derived_output(
    base: str, outputs: Dict[str, ModelOutput], variant: Optional[str], given: set
) -> str:
    """``pick_output`` for an output whose variant may come from the energy's"""
    try:
        return pick_output(base, outputs, variant)
    except ValueError as error:
        if base in given:
            raise
        raise ValueError(
            f"{error} (the variant {variant!r} comes from the energy variant: set "
            f"`variants[{base!r}]` to choose another one, None for the output "
            "without variant)"
        ) from error
