"""O(3) transformations of systems and of the values they define, and
symmetrization of models over O(3).

- :py:class:`O3Transformations`: a batch of rotations and improper rotations,
  applied to systems, cartesian and spherical values, TensorBlocks and
  TensorMaps (with the real Wigner D matrices of metatensor's spherical
  harmonics);
- :py:func:`random_transformations`: uniformly random rotations;
- :py:func:`quadrature`: rotations and weights averaging exactly over O(3);
- :py:class:`SymmetrizedModel`: a model wrapper averaging the outputs of a
  model over O(3).
"""

from ._quadrature import quadrature
from ._symmetrized import SymmetrizedModel
from ._transformations import O3Transformations, random_transformations

for _class in (O3Transformations, SymmetrizedModel):
    _class.__module__ = "metatomic.torch.o3"
del _class

__all__ = [
    "O3Transformations",
    "SymmetrizedModel",
    "quadrature",
    "random_transformations",
]
