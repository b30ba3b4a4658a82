"""metatomic-ase: run metatomic atomistic models with the Atomic Simulation
Environment (ASE).

:py:class:`MetatomicCalculator` is an ASE calculator computing energies, forces
and stress with any model saved with ``metatomic.torch.AtomisticModel.save``.
"""

from ._calculator import MetatomicCalculator
from ._version import __version__

MetatomicCalculator.__module__ = "metatomic_ase"

__all__ = ["MetatomicCalculator", "__version__"]
