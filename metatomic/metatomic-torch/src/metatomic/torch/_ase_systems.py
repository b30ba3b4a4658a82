"""Converting ``ase.Atoms`` to :py:class:`System`"""

import warnings
from typing import List, Optional, Union

import numpy as np
import torch

from ._system import System


def _to_system(atoms, dtype, device, positions_requires_grad, cell_requires_grad):
    pbc = np.asarray(atoms.pbc, dtype=bool)
    cell = np.array(atoms.cell.array, dtype=np.float64)
    if np.any(cell[~pbc] != 0.0):
        warnings.warn(
            "the cell vectors of non-periodic directions are not zero in these "
            "atoms, they are set to zero in the system",
            stacklevel=3,
        )
        cell[~pbc] = 0.0
    positions = torch.tensor(atoms.positions, dtype=dtype, device=device)
    return System(
        types=torch.tensor(atoms.numbers, dtype=torch.int32, device=device),
        positions=positions.requires_grad_(positions_requires_grad),
        cell=torch.tensor(cell, dtype=dtype, device=device).requires_grad_(
            cell_requires_grad
        ),
        pbc=torch.tensor(pbc, device=device),
    )


def systems_to_torch(
    systems,
    dtype: Optional[torch.dtype] = None,
    device: Optional[Union[str, torch.device]] = None,
    positions_requires_grad: bool = False,
    cell_requires_grad: bool = False,
) -> Union[System, List[System]]:
    """Convert ``ase.Atoms`` (one, or a list) to :py:class:`System`.

    :param systems: an ``ase.Atoms`` or a list of them
    :param dtype: dtype of the positions and cell (default:
        ``torch.get_default_dtype()``)
    :param device: device of the systems (default: CPU)
    :param positions_requires_grad: whether the positions require gradients
    :param cell_requires_grad: whether the cell requires gradients
    :return: one system, or a list, as given

    The cell vectors of non-periodic directions are set to zero (with a warning
    when they were not).
    """
    if dtype is None:
        dtype = torch.get_default_dtype()
    if device is None:
        device = "cpu"
    arguments = (dtype, device, positions_requires_grad, cell_requires_grad)
    if isinstance(systems, (list, tuple)):
        converted = []
        for atoms in systems:
            converted.append(_to_system(atoms, *arguments))
        return converted
    return _to_system(systems, *arguments)
