"""Deprecated: the ASE calculator moved to the ``metatomic-ase`` distribution.

``from metatomic.torch.ase_calculator import MetatomicCalculator`` still works,
with a DeprecationWarning; use ``from metatomic_ase import MetatomicCalculator``.
"""

import warnings

# the names this module used to define
_MOVED = ("MetatomicCalculator", "SymmetrizedCalculator")


def __getattr__(name):
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    try:
        import metatomic_ase
    except ImportError as error:
        raise ImportError(
            f"`metatomic.torch.ase_calculator.{name}` moved to the metatomic-ase "
            "package, which is not installed: install it with `pip install "
            f"metatomic-ase` and use `from metatomic_ase import {name}`"
        ) from error

    if not hasattr(metatomic_ase, name):
        raise AttributeError(
            f"module {__name__!r} has no attribute {name!r}: the installed "
            f"metatomic-ase ({metatomic_ase.__version__}) does not provide it"
        )
    warnings.warn(
        f"`metatomic.torch.ase_calculator.{name}` is deprecated, use "
        f"`from metatomic_ase import {name}` instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(metatomic_ase, name)
