"""The global switch for the (possibly expensive) metadata checks of operations.

Checks are on by default; setting the environment variable
``METATENSOR_UNSAFE_DISABLE_CHECKS`` to ``1``/``true``/``yes``/``on`` turns them off
at import. Compiled TorchScript code always checks.
"""

import os

from ._backend import torch_jit_is_scripting

_CHECKS_ENABLED = os.environ.get(
    "METATENSOR_UNSAFE_DISABLE_CHECKS", ""
).strip().lower() not in ("1", "true", "yes", "on")


def checks_enabled() -> bool:
    """Whether operations check the metadata of their inputs (always True in
    TorchScript, which can not read this switch)"""
    if not torch_jit_is_scripting():
        return _CHECKS_ENABLED
    return True


class _SetChecks:
    """Sets the checks flag now, and restores the previous value when used as a
    context manager"""

    def __init__(self, state: bool):
        global _CHECKS_ENABLED
        self._previous = _CHECKS_ENABLED
        _CHECKS_ENABLED = state

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        global _CHECKS_ENABLED
        _CHECKS_ENABLED = self._previous

    def __repr__(self) -> str:
        return f"checks {'enabled' if _CHECKS_ENABLED else 'disabled'}"


def unsafe_enable_checks() -> _SetChecks:
    """Enable the metadata checks of operations (the default). Usable as a context
    manager, restoring the previous state at exit

    >>> with unsafe_disable_checks():
    ...     checks_enabled()
    False
    >>> checks_enabled()
    True
    """
    return _SetChecks(True)


def unsafe_disable_checks() -> _SetChecks:
    """Disable the metadata checks of operations: faster, but wrong inputs give
    wrong results instead of errors. Usable as a context manager, restoring the
    previous state at exit.

    This switch really skips the checks (for example that the blocks of ``add``
    have the same samples), as documented upstream; upstream's switch currently
    changes nothing, so code tested with upstream may rely on checks that this
    one turns off. The comparison functions (``equal``, ``allclose``, ...) always
    compare."""
    return _SetChecks(False)
