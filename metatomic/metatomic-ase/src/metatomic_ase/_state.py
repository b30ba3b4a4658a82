"""What changed in ``ase.Atoms`` since the last calculation (the
``check_state`` of :py:class:`MetatomicCalculator`)"""

import numpy as np
from ase.calculators.calculator import all_changes

from ._inputs import InputsBuilder


def changed_properties(
    previous, atoms, tol: float, ignored, inputs: InputsBuilder
) -> list:
    """The names of what differs between ``previous`` and ``atoms``: the
    properties of ASE's ``all_changes`` (compared as ASE's ``compare_atoms``
    does), ``"info"`` when an ``atoms.info`` entry read by the model changed, and
    the names of the ``atoms.arrays`` read by the model that changed"""
    changes = []
    if "cell" not in ignored and not _close(previous.cell.array, atoms.cell.array, tol):
        changes.append("cell")
    if "pbc" not in ignored and not _close(previous.pbc, atoms.pbc, tol):
        changes.append("pbc")
    old_arrays = previous.arrays
    new_arrays = atoms.arrays
    for name in all_changes:
        if name in ("cell", "pbc") or name in ignored:
            continue
        if name in old_arrays:
            if name not in new_arrays or not _close(
                old_arrays[name], new_arrays[name], tol
            ):
                changes.append(name)
        elif name in new_arrays:
            changes.append(name)

    if len(inputs) == 0:
        return changes
    for key in inputs.info_keys:
        missing = key not in previous.info
        if missing != (key not in atoms.info) or (
            not missing and not _same_value(previous.info[key], atoms.info[key])
        ):
            changes.append("info")
            break
    for key in inputs.arrays:
        if key in changes:
            continue
        missing = key not in old_arrays
        if missing != (key not in new_arrays) or (
            not missing and not _same_value(old_arrays[key], new_arrays[key])
        ):
            changes.append(key)
    return changes


def _close(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """``ase.calculators.calculator.equal(a, b, atol=tol)`` (which uses
    ``np.allclose(a, b, rtol=0, atol=tol)``), faster"""
    if a.shape != b.shape:
        return False
    if (a == b).all():
        return True
    if a.dtype == bool or b.dtype == bool:
        return False
    # NaN or infinite differences are not close (equal infinities were handled by
    # `array_equal`, as `allclose` does)
    return bool(np.max(np.abs(a - b)) <= tol)


def _same_value(a, b) -> bool:
    """Whether two values of ``atoms.info`` or ``atoms.arrays`` are equal"""
    a = np.asarray(a)
    b = np.asarray(b)
    return a.shape == b.shape and bool(np.all(a == b))
