"""``SymmetrizedCalculator``: an ASE calculator averaging the energy, forces and
stress of a :py:class:`MetatomicCalculator` over rotations and inversions of the
atoms, and optionally over the space group of a crystal.

For a quadrature ``(R_k, w_k)`` over O(3) (:py:func:`metatomic.torch.o3.quadrature`)
and atoms with positions ``r`` and cell ``H`` (rows are cell vectors), the base
calculator computes the energy ``E_k``, forces ``F_k`` and stress ``σ_k`` of the
atoms transformed by ``R_k`` (``r R_k^T``, ``H R_k^T``), and

.. math::

    E = \\sum_k w_k E_k, \\qquad
    \\vec F_i = \\sum_k w_k R_k^T \\vec F_{k,i}, \\qquad
    σ = \\sum_k w_k R_k^T σ_k R_k

With the space group ``G`` of the crystal (from spglib: cartesian rotations
``S_g`` and the permutation ``π_g`` of the atoms), the results are then averaged
over ``G``: ``F_i -> 1/|G| Σ_g S_g^T F_{π_g(i)}``, ``σ -> 1/|G| Σ_g S_g^T σ
S_g``, ``e_i -> 1/|G| Σ_g e_{π_g(i)}``, so that they have the symmetry of the
crystal exactly.
"""

import warnings
from typing import Dict, List, Optional

import ase
import numpy as np
from ase.calculators.calculator import (
    Calculator,
    PropertyNotImplementedError,
    all_changes,
)

from metatomic.torch._engine_options import check_bool
from metatomic.torch.o3 import quadrature

from ._calculator import _full_3x3_to_voigt_6_stress

# the angular momentum of the stress: the quadrature integrates exactly
# `l_max + 2` for the energy, forces and stress of a model up to `l_max`
_MAX_TARGET = 2


def _import_spglib():
    try:
        import spglib
    except ImportError as error:
        raise ImportError(
            "`apply_space_group_symmetry=True` needs spglib: install it with "
            "`pip install spglib`"
        ) from error
    return spglib


def _transformed(atoms: ase.Atoms, matrix: np.ndarray) -> ase.Atoms:
    """A copy of ``atoms`` with positions, cell and momenta transformed by
    ``matrix`` (acting on column vectors)"""
    copy = atoms.copy()
    copy.set_cell(atoms.cell.array @ matrix.T, scale_atoms=False)
    copy.positions = atoms.positions @ matrix.T
    if "momenta" in atoms.arrays:
        copy.arrays["momenta"] = atoms.arrays["momenta"] @ matrix.T
    return copy


def _weighted_std(values: np.ndarray, mean: np.ndarray, weights: np.ndarray):
    """Standard deviation over the first axis of ``values``, with ``weights``"""
    deviations = values - mean[None]
    shape = (-1,) + (1,) * (values.ndim - 1)
    return np.sqrt(np.sum(weights.reshape(shape) * deviations**2, axis=0))


class SymmetrizedCalculator(Calculator):
    """An ASE calculator averaging the results of a
    :py:class:`MetatomicCalculator` over rotations (and inversions) of the
    atoms, so that the energy is invariant and the forces and stress
    equivariant, and optionally over the space group of the crystal.

    The quadrature over O(3) is Lebedev points on the sphere times equispaced
    angles around each of them (see :py:func:`metatomic.torch.o3.quadrature`),
    exact for models whose dependence on orientation has angular momenta up to
    ``l_max``. Every property is computed by the base calculator for all the
    transformed copies of the atoms, in batches (``compute_energy``); forces
    and stress are always computed with the energy (the stress only for atoms
    periodic in the three directions). Vector arrays of the atoms are not
    transformed, except the momenta.

    With ``store_rotational_std``, :py:attr:`results` also holds the standard
    deviations over the quadrature (weighted, before the space group average)
    of the transformed-back results: ``"energy_rot_std"`` (eV),
    ``"energies_rot_std"`` (eV, per atom), ``"forces_rot_std"`` (eV/Å,
    ``(n_atoms, 3)``) and ``"stress_rot_std"`` (eV/Å³, Voigt order); they
    measure how far the model is from being invariant or equivariant.

    :param base_calculator: the calculator to average, a
        :py:class:`MetatomicCalculator` (or any calculator with its
        ``compute_energy`` method)
    :param l_max: the largest angular momentum of the orientation dependence of
        the model that the average removes exactly; the quadrature integrates
        angular momenta up to ``l_max + 2`` exactly (for the stress)
    :param batch_size: how many transformed copies of the atoms the base
        calculator evaluates at once (``None`` for all of them)
    :param include_inversion: average over O(3), or over rotations only
    :param apply_space_group_symmetry: also average over the space group of the
        atoms found by spglib (with its default tolerance), which must then be
        installed
    :param store_rotational_std: store the standard deviations over the
        quadrature in :py:attr:`results`

    >>> import ase.build
    >>> from metatomic_ase import MetatomicCalculator
    >>> atoms = ase.build.bulk("Cu", "fcc", a=3.6, cubic=True)
    >>> base = MetatomicCalculator("model.pt")  # doctest: +SKIP
    >>> atoms.calc = SymmetrizedCalculator(base, l_max=4)  # doctest: +SKIP
    >>> atoms.get_forces()  # doctest: +SKIP

    .. versionadded:: 0.1.4
    """

    #: the properties this class can compute; each instance lists those of its
    #: base calculator
    implemented_properties = ["energy", "energies", "forces", "stress", "stresses"]

    def __init__(
        self,
        base_calculator,
        *,
        l_max: int = 3,
        batch_size: Optional[int] = None,
        include_inversion: bool = True,
        apply_space_group_symmetry: bool = False,
        store_rotational_std: bool = False,
    ):
        super().__init__()
        if not callable(getattr(base_calculator, "compute_energy", None)):
            raise TypeError(
                "`base_calculator` must be a MetatomicCalculator (a calculator with "
                f"a `compute_energy` method), got {type(base_calculator).__name__}"
            )
        if isinstance(l_max, bool) or not isinstance(l_max, (int, np.integer)):
            raise TypeError(f"`l_max` must be an integer, got {type(l_max).__name__}")
        if l_max < 0:
            raise ValueError(f"`l_max` must be positive, got {l_max}")
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(
                batch_size, (int, np.integer)
            ):
                raise TypeError(
                    "`batch_size` must be an integer or None, got "
                    f"{type(batch_size).__name__}"
                )
            if batch_size < 1:
                raise ValueError(f"`batch_size` must be at least 1, got {batch_size}")
        check_bool(include_inversion, "include_inversion")
        check_bool(apply_space_group_symmetry, "apply_space_group_symmetry")
        check_bool(store_rotational_std, "store_rotational_std")

        self._spglib = None
        if apply_space_group_symmetry:
            self._spglib = _import_spglib()

        self.base_calculator = base_calculator
        self._matrices, self._weights = quadrature(
            int(l_max) + _MAX_TARGET, bool(include_inversion)
        )
        self._batch_size = len(self._weights) if batch_size is None else batch_size
        self._store_rotational_std = bool(store_rotational_std)
        self.implemented_properties = [
            name
            for name in SymmetrizedCalculator.implemented_properties
            if name in base_calculator.implemented_properties
        ]
        self.parameters = {
            "l_max": int(l_max),
            "batch_size": batch_size,
            "include_inversion": bool(include_inversion),
            "apply_space_group_symmetry": bool(apply_space_group_symmetry),
            "store_rotational_std": bool(store_rotational_std),
        }

    def calculate(
        self,
        atoms: Optional[ase.Atoms] = None,
        properties: Optional[List[str]] = None,
        system_changes: List[str] = all_changes,
    ):
        """Compute ``properties`` (with the energy, forces and stress) for
        ``atoms`` and store them in ``self.results``.

        :param atoms: the atoms (the last ones by default)
        :param properties: the properties to compute, among
            :py:attr:`implemented_properties` (``["energy"]`` by default)
        :param system_changes: what changed since the last calculation
        """
        if properties is None:
            properties = ["energy"]
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        if atoms is None:
            raise ValueError("`atoms` must be given: this calculator has no atoms yet")
        for name in properties:
            if name not in self.implemented_properties:
                raise PropertyNotImplementedError(
                    f"SymmetrizedCalculator can not compute {name!r} with this base "
                    "calculator, the properties it can compute are "
                    f"{self.implemented_properties}"
                )

        per_atom = "energies" in properties
        periodic = bool(atoms.pbc.all())
        copies = [_transformed(atoms, matrix) for matrix in self._matrices]
        computed: Dict[str, list] = {}
        for start in range(0, len(copies), self._batch_size):
            batch = self.base_calculator.compute_energy(
                copies[start : start + self._batch_size],
                compute_forces_and_stresses=True,
                per_atom=per_atom,
            )
            for name, values in batch.items():
                computed.setdefault(name, []).extend(values)

        weights = self._weights
        matrices = self._matrices
        samples = {"energy": np.array(computed["energy"], dtype=np.float64)}
        if per_atom:
            samples["energies"] = np.array(computed["energies"], dtype=np.float64)
        # F R (rows) is R^T F (columns); R^T σ R
        forces = np.array(computed["forces"], dtype=np.float64)
        samples["forces"] = np.einsum("kia,kab->kib", forces, matrices)
        if periodic:
            stress = np.array(computed["stress"], dtype=np.float64)
            stress = np.einsum("kab,kac,kcd->kbd", matrices, stress, matrices)
            samples["stress"] = np.stack(
                [_full_3x3_to_voigt_6_stress(s) for s in stress]
            )

        results = {
            name: np.tensordot(weights, values, axes=1)
            for name, values in samples.items()
        }
        stds = {
            name + "_rot_std": _weighted_std(values, results[name], weights)
            for name, values in samples.items()
        }

        if self._spglib is not None:
            self._apply_space_group(atoms, results)

        self.results["energy"] = float(results["energy"])
        self.results["forces"] = results["forces"]
        if per_atom:
            self.results["energies"] = results["energies"]
        if periodic:
            self.results["stress"] = results["stress"]
        if self._store_rotational_std:
            stds["energy_rot_std"] = float(stds["energy_rot_std"])
            self.results.update(stds)

    def _apply_space_group(self, atoms: ase.Atoms, results: Dict[str, np.ndarray]):
        """Average ``results`` over the space group of ``atoms`` (in place)"""
        cell = atoms.cell.array
        fractional = atoms.get_scaled_positions(wrap=False)
        numbers = atoms.numbers
        with warnings.catch_warnings():
            # spglib >= 2.5 warns about its error handling on every call
            warnings.filterwarnings(
                "ignore", message="Set OLD_ERROR_HANDLING", category=DeprecationWarning
            )
            dataset = self._spglib.get_symmetry_dataset((cell, fractional, numbers))
        if dataset is None:
            raise RuntimeError("spglib could not find the symmetry of these atoms")

        forces = np.zeros_like(results["forces"])
        energies = np.zeros_like(results["energies"]) if "energies" in results else None
        stress = np.zeros((3, 3))
        full_stress = None
        if "stress" in results:
            xx, yy, zz, yz, xz, xy = results["stress"]
            full_stress = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])

        inverse_cell = np.linalg.inv(cell)
        for rotation, translation in zip(dataset.rotations, dataset.translations):
            # cartesian r = H^T f, so S = H^T W H^-T
            matrix = cell.T @ rotation @ inverse_cell.T
            permutation = _permutation(fractional, numbers, rotation, translation, cell)
            forces += results["forces"][permutation] @ matrix
            if energies is not None:
                energies += results["energies"][permutation]
            if full_stress is not None:
                stress += matrix.T @ full_stress @ matrix

        n_operations = len(dataset.rotations)
        results["forces"] = forces / n_operations
        if energies is not None:
            results["energies"] = energies / n_operations
        if full_stress is not None:
            results["stress"] = _full_3x3_to_voigt_6_stress(stress / n_operations)


def _permutation(
    fractional: np.ndarray,
    numbers: np.ndarray,
    rotation: np.ndarray,
    translation: np.ndarray,
    cell: np.ndarray,
) -> np.ndarray:
    """``π`` such that the atom ``π[i]`` sits where the operation ``(W, t)`` sends
    atom ``i`` (up to a lattice vector)"""
    images = fractional @ rotation.T + translation
    differences = images[:, None, :] - fractional[None, :, :]
    differences -= np.round(differences)
    distances = np.linalg.norm(differences @ cell, axis=-1)
    distances[numbers[:, None] != numbers[None, :]] = np.inf
    permutation = np.argmin(distances, axis=1)
    if np.max(distances[np.arange(len(numbers)), permutation]) > 1e-3:
        raise RuntimeError(
            "could not match the atoms transformed by a symmetry operation of "
            "spglib to the atoms"
        )
    return permutation
