"""metatomic-ase: run metatomic atomistic models with the Atomic Simulation
Environment (ASE).

:py:class:`MetatomicCalculator` is an ASE calculator computing energies, forces
and stress with any model saved with ``metatomic.torch.AtomisticModel.save``;
:py:class:`SymmetrizedCalculator` averages its results over rotations and
inversions of the atoms (and over the space group of a crystal).
"""

from ._calculator import MetatomicCalculator
from ._symmetrized import SymmetrizedCalculator
from ._version import __version__

MetatomicCalculator.__module__ = "metatomic_ase"
SymmetrizedCalculator.__module__ = "metatomic_ase"

__all__ = ["MetatomicCalculator", "SymmetrizedCalculator", "__version__"]
