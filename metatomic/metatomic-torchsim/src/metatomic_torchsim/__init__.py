"""metatomic-torchsim: run metatomic atomistic models with torch-sim.

:py:class:`MetatomicModel` is a torch-sim model computing energies, forces and
stress of batches of systems with any model saved with
``metatomic.torch.AtomisticModel.save``.
"""

import warnings

# fails with installation instructions when a dependency is out of range
from . import _version_check  # noqa: F401

with warnings.catch_warnings():
    # torch-sim 0.3 imports `vesin.torch`, deprecated since vesin 0.6: nothing
    # the users of this package can act on
    warnings.filterwarnings(
        "ignore", "`vesin.torch` is deprecated", category=DeprecationWarning
    )
    import torch_sim  # noqa: F401

# isort: split
from ._model import MetatomicModel
from ._version import __version__

MetatomicModel.__module__ = "metatomic_torchsim"

__all__ = ["MetatomicModel", "__version__"]
