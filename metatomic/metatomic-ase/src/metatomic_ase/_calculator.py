"""``MetatomicCalculator``: an ASE calculator running metatomic models.

Forces and stress come from automatic differentiation of the energy. The
positions ``r`` and the cell ``H`` (rows are cell vectors) given to the model are
those of the atoms deformed by a strain ``ε`` (the identity, which requires
gradients): ``r' = r ε`` and ``H' = H ε``. Then

.. math::

    \\vec F_i = -\\frac{\\partial E}{\\partial \\vec r_i}, \\qquad
    \\sigma = \\frac{1}{V} \\frac{\\partial E}{\\partial \\varepsilon}

with ``V`` the volume of the cell, which is the stress of ASE (positive when
the system is under tension).
"""

import os
from typing import Dict, List, Optional, Tuple, Union

import ase
import numpy as np
import torch
from ase.calculators.calculator import (
    Calculator,
    InputError,
    PropertyNotImplementedError,
    all_changes,
)

from metatensor.torch import Labels, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelEvaluationOptions,
    ModelMetadata,
    ModelOutput,
    System,
    pick_device,
)
from metatomic.torch._engine_neighbors import ENGINE_LENGTH_UNIT, NeighborListBuilder
from metatomic.torch._engine_options import (
    check_arguments,
    check_bool,
    check_outputs,
    check_uncertainty,
    choose_outputs,
    evaluation_options,
    load_model,
    model_dtype,
    package_folders,
    warn,
)

from ._inputs import InputsBuilder
from ._state import changed_properties

# properties computed from the energy and its gradients
_ENERGY_PROPERTIES = ("energy", "energies", "forces", "stress")

# warnings point at the first frame outside of this package and of ASE
_SKIPPED = package_folders("metatomic_ase", "ase")


def _full_3x3_to_voigt_6_stress(stress: np.ndarray) -> np.ndarray:
    """The symmetric part of a 3x3 ``stress``, in Voigt order ``xx, yy, zz, yz,
    xz, xy``"""
    (xx, xy, xz), (yx, yy, yz), (zx, zy, zz) = stress.tolist()
    return np.array(
        [xx, yy, zz, 0.5 * (yz + zy), 0.5 * (xz + zx), 0.5 * (xy + yx)],
        dtype=np.float64,
    )


def _volume(cell: np.ndarray) -> float:
    """Volume of the cell (rows are cell vectors), ``|a · (b × c)|``"""
    (a0, a1, a2), (b0, b1, b2), (c0, c1, c2) = cell.tolist()
    return abs(
        a0 * (b1 * c2 - b2 * c1) - a1 * (b0 * c2 - b2 * c0) + a2 * (b0 * c1 - b1 * c0)
    )


class MetatomicCalculator(Calculator):
    """ASE calculator running a metatomic model (an :py:class:`AtomisticModel`).

    It computes the energy (``"energy"``), the energy of each atom
    (``"energies"``, when the model can compute per-atom energies), the forces
    (``"forces"``) and the stress (``"stress"``, in Voigt notation, for systems
    periodic in the three directions), in ASE units (eV and Å). Forces and
    stress are gradients of the energy computed by automatic differentiation,
    or the direct predictions of the model with ``non_conservative``.

    :param model: the model: the path to a file saved with
        :py:meth:`AtomisticModel.save`, an :py:class:`AtomisticModel`, or a
        scripted :py:class:`AtomisticModel`
    :param additional_outputs: other outputs to compute at every calculation
        (name => :py:class:`ModelOutput`); the results are in
        :py:attr:`additional_outputs`
    :param extensions_directory: where to find the TorchScript extensions of a
        model loaded from a file, if they were collected when saving it
    :param check_consistency: check everything that goes in and out of the model
        (slower; to debug models)
    :param device: the torch device to run the model on; by default the first
        device of the model's ``supported_devices`` available here
    :param variants: which variant of the outputs to use, output name =>
        variant (``None`` for the output without variant). The keys are
        ``"energy"``, ``"energy_uncertainty"``, ``"non_conservative_force"`` and
        ``"non_conservative_stress"``; the energy's variant is also used for
        the others unless they are given
    :param non_conservative: take the forces and the stress from the model's
        ``non_conservative_force`` and ``non_conservative_stress`` outputs
        (``True``), only the forces (``"forces"``), only the stress
        (``"stress"``), or compute both from the energy (``False``). The net
        force is removed from non-conservative forces
    :param do_gradients_with_energy: also compute the forces and stress (which
        are then cached) whenever the energy is computed; with ``False``,
        gradients are only computed when forces or stress are requested
    :param uncertainty_threshold: when the model has a per-atom
        ``energy_uncertainty`` output, warn when the uncertainty of an atom is
        above this value (in eV); ``None`` to disable the check
    :param neighbor_skin: Verlet skin (in Å) of the neighbor lists: the pairs
        are only searched again when an atom moved by more than half of it, or
        when the cell or the periodicity changed

    >>> import ase.build
    >>> atoms = ase.build.bulk("Cu", "fcc", a=3.6, cubic=True)
    >>> atoms.calc = MetatomicCalculator("model.pt")  # doctest: +SKIP
    >>> atoms.get_potential_energy()  # doctest: +SKIP

    .. versionadded:: 0.1.0
    """

    #: the properties this class can compute; each instance lists those its
    #: model can compute (``[]`` for a model without energy)
    implemented_properties = list(_ENERGY_PROPERTIES)

    def __init__(
        self,
        model: Union[str, os.PathLike, AtomisticModel, torch.jit.ScriptModule],
        *,
        additional_outputs: Optional[Dict[str, ModelOutput]] = None,
        extensions_directory: Optional[Union[str, os.PathLike]] = None,
        check_consistency: bool = False,
        device: Optional[Union[str, torch.device]] = None,
        variants: Optional[Dict[str, Optional[str]]] = None,
        non_conservative: Union[bool, str] = False,
        do_gradients_with_energy: bool = True,
        uncertainty_threshold: Optional[float] = 0.1,
        neighbor_skin: float = 2.0,
    ):
        super().__init__()

        # ---- arguments ----
        arguments = check_arguments(
            "MetatomicCalculator",
            _SKIPPED,
            check_consistency=check_consistency,
            device=device,
            variants=variants,
            non_conservative=non_conservative,
            uncertainty_threshold=uncertainty_threshold,
            neighbor_skin=neighbor_skin,
            additional_outputs=additional_outputs,
        )
        check_bool(do_gradients_with_energy, "do_gradients_with_energy")

        # ---- the model ----
        model_path = None
        if isinstance(model, (str, os.PathLike)):
            model_path = os.fspath(model)
            if not os.path.exists(model_path):
                raise InputError(f"the model file at {model_path!r} does not exist")
            if extensions_directory is not None:
                extensions_directory = os.fspath(extensions_directory)
        model = load_model(model, extensions_directory)

        capabilities = model.capabilities()
        self._dtype = model_dtype(capabilities, "MetatomicCalculator")
        self._device = torch.device(
            pick_device(list(capabilities.supported_devices), arguments.device)
        )
        # numpy arrays can be given to torch without conversion
        self._float64_cpu = self._dtype == torch.float64 and self._device.type == "cpu"
        self._model = model.to(self._device)
        self._check_consistency = arguments.check_consistency

        # ---- which outputs to use ----
        outputs = capabilities.outputs
        self._outputs = choose_outputs(outputs, arguments)
        self._uncertainty_threshold = arguments.uncertainty_threshold

        if self._outputs.energy is None:
            self.implemented_properties = []
        else:
            self.implemented_properties = ["energy"]
            if outputs[self._outputs.energy].sample_kind == "atom":
                self.implemented_properties.append("energies")
            self.implemented_properties += ["forces", "stress"]

        # ---- what the model needs ----
        self._neighbor_skin = arguments.neighbor_skin
        self._neighbors = [
            NeighborListBuilder(options, self._neighbor_skin, self._check_consistency)
            for options in model.requested_neighbor_lists()
        ]
        self._inputs = InputsBuilder(model.requested_inputs(True))
        self._atomic_types = np.array(capabilities.atomic_types, dtype=np.int64)

        self._additional_requests = arguments.additional_outputs
        #: the additional outputs computed by the last call to :py:meth:`calculate`
        self.additional_outputs: Dict[str, TensorMap] = {}

        # ---- caches ----
        self._evaluation_options: Dict[Tuple, ModelEvaluationOptions] = {}
        self._types: Optional[Tuple[np.ndarray, torch.Tensor]] = None
        self._pbc: Dict[Tuple[bool, bool, bool], torch.Tensor] = {}

        self._model_path = model_path
        self.parameters = {
            "model": model_path,
            "additional_outputs": arguments.additional_outputs,
            "extensions_directory": extensions_directory,
            "check_consistency": arguments.check_consistency,
            "device": arguments.device,
            "variants": variants,
            "non_conservative": non_conservative,
            "do_gradients_with_energy": bool(do_gradients_with_energy),
            "uncertainty_threshold": uncertainty_threshold,
            "neighbor_skin": self._neighbor_skin,
        }
        self._do_gradients_with_energy = bool(do_gradients_with_energy)

    # ================================================================================ #
    #                                     accessors                                    #
    # ================================================================================ #

    def model(self) -> AtomisticModel:
        """The model used by this calculator"""
        return self._model

    def metadata(self) -> ModelMetadata:
        """The metadata of the model (its name, authors, references)"""
        return self._model.metadata()

    def todict(self) -> dict:
        """The arguments of this calculator, for ASE to save them (with
        trajectories or databases); :py:meth:`fromdict` creates the calculator
        again. Only calculators created from the path of a model file can be
        saved.

        :raises RuntimeError: for a calculator created from a model object
        """
        if self._model_path is None:
            raise RuntimeError(
                "can not convert this MetatomicCalculator to a dict: it was created "
                "from a model object, create it from the path of a model file "
                "(saved with `AtomisticModel.save`) to use `todict`"
            )
        data = dict(self.parameters)
        data["additional_outputs"] = {
            name: {
                "unit": output.unit,
                "sample_kind": output.sample_kind,
                "explicit_gradients": list(output.explicit_gradients),
                "description": output.description,
            }
            for name, output in self.parameters["additional_outputs"].items()
        }
        return data

    @classmethod
    def fromdict(cls, data: dict) -> "MetatomicCalculator":
        """A calculator created from the output of :py:meth:`todict`"""
        data = dict(data)
        data["additional_outputs"] = {
            name: output if isinstance(output, ModelOutput) else ModelOutput(**output)
            for name, output in (data.get("additional_outputs") or {}).items()
        }
        return cls(data.pop("model"), **data)

    # ================================================================================ #
    #                                 the ASE interface                                #
    # ================================================================================ #

    def _not_implemented(self, name: str) -> str:
        """Why the property ``name`` can not be computed"""
        if name == "stresses":
            return (
                "per-atom stresses ('stresses') are not implemented by "
                "MetatomicCalculator"
            )
        if self._outputs.energy is None and name in _ENERGY_PROPERTIES:
            return (
                f"can not compute {name!r}: this model has no 'energy' output, use "
                "`MetatomicCalculator.run_model` to compute its outputs"
            )
        if name == "energies":
            return (
                f"can not compute 'energies': the {self._outputs.energy!r} output of "
                "this model is only available per system, not per atom"
            )
        return (
            f"MetatomicCalculator can not compute {name!r}, the properties it can "
            f"compute with this model are {self.implemented_properties}"
        )

    def get_property(self, name, atoms=None, allow_calculation=True):
        if name not in self.implemented_properties:
            raise PropertyNotImplementedError(self._not_implemented(name))
        return super().get_property(name, atoms, allow_calculation)

    def check_state(self, atoms, tol=1e-15):
        """The changes of ``atoms`` since the last calculation: those of ASE
        (positions, numbers, cell, pbc, initial charges and magnetic moments,
        compared as ASE's ``compare_atoms`` does, with a faster path for
        unchanged arrays), and changes of the ``atoms.info`` entries and
        ``atoms.arrays`` the model reads as inputs"""
        if self.atoms is None:
            return list(all_changes)
        return changed_properties(
            self.atoms, atoms, tol, self.ignored_changes, self._inputs
        )

    def calculate(
        self,
        atoms: Optional[ase.Atoms] = None,
        properties: Optional[List[str]] = None,
        system_changes: List[str] = all_changes,
    ):
        """Compute ``properties`` for ``atoms`` and store them in ``self.results``.

        :param atoms: the atoms (the last ones by default)
        :param properties: the properties to compute, among
            :py:attr:`implemented_properties` (``["energy"]`` by default)
        :param system_changes: what changed since the last calculation (unused:
            the neighbor lists check what changed themselves)
        """
        if properties is None:
            properties = ["energy"]
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        if atoms is None:
            raise ValueError("`atoms` must be given: this calculator has no atoms yet")

        requested = set(properties)
        if "stresses" in requested:
            raise NotImplementedError(self._not_implemented("stresses"))
        for name in requested:
            if name not in self.implemented_properties:
                raise PropertyNotImplementedError(self._not_implemented(name))

        energy = any(name in requested for name in _ENERGY_PROPERTIES)
        gradients = energy and self._do_gradients_with_energy
        forces = gradients or "forces" in requested
        stress = gradients or "forces" in requested or "stress" in requested
        if stress and not atoms.pbc.all():
            if "stress" in requested:
                warn(
                    "the stress can only be computed for systems periodic in the "
                    f"three directions, these atoms have pbc={atoms.pbc.tolist()}: "
                    "it is not computed",
                    _SKIPPED,
                )
            stress = False

        results = self._compute(
            [atoms],
            self._neighbors,
            energy=energy,
            per_atom="energies" in requested,
            forces=forces,
            stress=stress,
            additional=True,
        )[0]

        if "energy" in results:
            self.results["energy"] = results["energy"]
        if "energies" in results:
            self.results["energies"] = results["energies"]
        if "forces" in results:
            self.results["forces"] = results["forces"]
        if "stress" in results:
            self.results["stress"] = _full_3x3_to_voigt_6_stress(results["stress"])

    # ================================================================================ #
    #                                  other interfaces                                #
    # ================================================================================ #

    def run_model(
        self,
        atoms: Union[ase.Atoms, List[ase.Atoms]],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels] = None,
    ) -> Dict[str, TensorMap]:
        """Run the model on ``atoms`` and return its raw outputs.

        :param atoms: the atoms, or a list of them to evaluate in one batch
        :param outputs: the outputs to compute, name => :py:class:`ModelOutput`
            (with the unit wanted for the results)
        :param selected_atoms: only compute the outputs for these atoms
            (Labels with the names ``["system", "atom"]``)
        :return: output name => TensorMap, with one ``system`` index per entry
            of ``atoms``
        """
        check_outputs(outputs, "outputs")
        atoms_list = _atoms_list(atoms)
        builders = self._neighbors if len(atoms_list) == 1 else None
        systems = [
            self._system(atoms, builders, forces=False, stress=False)[0]
            for atoms in atoms_list
        ]
        options = ModelEvaluationOptions(
            length_unit=ENGINE_LENGTH_UNIT,
            outputs=outputs,
            selected_atoms=selected_atoms,
        )
        return self._model(systems, options, self._check_consistency)

    def compute_energy(
        self,
        atoms: Union[ase.Atoms, List[ase.Atoms]],
        compute_forces_and_stresses: bool = False,
        *,
        per_atom: bool = False,
    ) -> Dict[str, Union[float, np.ndarray, List]]:
        """Compute the energy of ``atoms`` (and optionally the forces and
        stress), evaluating a list of atoms in a single batch.

        :param atoms: the atoms, or a list of them
        :param compute_forces_and_stresses: also compute the forces and, when all
            the atoms are periodic in the three directions, the stress (as a 3x3
            matrix)
        :param per_atom: also compute the energy of each atom
        :return: a dict with ``"energy"`` (a float), and ``"energies"``,
            ``"forces"`` and ``"stress"`` (arrays) when computed; with a list of
            atoms, each entry is a list with one value per atoms
        """
        if self._outputs.energy is None:
            raise PropertyNotImplementedError(self._not_implemented("energy"))
        check_bool(compute_forces_and_stresses, "compute_forces_and_stresses")
        check_bool(per_atom, "per_atom")
        if per_atom and "energies" not in self.implemented_properties:
            raise PropertyNotImplementedError(self._not_implemented("energies"))

        single = isinstance(atoms, ase.Atoms)
        atoms_list = _atoms_list(atoms)
        periodic = all(bool(a.pbc.all()) for a in atoms_list)
        if len(atoms_list) == 0:
            results = []
        else:
            results = self._compute(
                atoms_list,
                self._neighbors if single else None,
                energy=True,
                per_atom=per_atom,
                forces=compute_forces_and_stresses,
                stress=compute_forces_and_stresses and periodic,
                additional=False,
            )

        names = ["energy"]
        if per_atom:
            names.append("energies")
        if compute_forces_and_stresses:
            names.append("forces")
            if periodic:
                names.append("stress")
        if single:
            return {name: results[0][name] for name in names}
        return {name: [result[name] for result in results] for name in names}

    # ================================================================================ #
    #                                    internals                                     #
    # ================================================================================ #

    def _types_tensor(self, numbers: np.ndarray) -> torch.Tensor:
        """The atomic types as a tensor (cached while they do not change), after
        checking that the model supports them"""
        if self._types is not None:
            cached = self._types[0]
            if cached.shape == numbers.shape and not (cached != numbers).any():
                return self._types[1]
        known = np.isin(numbers, self._atomic_types)
        if not np.all(known):
            unknown = sorted(set(numbers[~known].tolist()))
            raise ValueError(
                f"this model can not handle the atomic types {unknown} found in "
                "these atoms: it only supports the types "
                f"{sorted(self._atomic_types.tolist())}"
            )
        types = torch.from_numpy(numbers.astype(np.int32)).to(self._device)
        self._types = (numbers.copy(), types)
        return types

    def _pbc_tensor(self, pbc: np.ndarray) -> torch.Tensor:
        key = (bool(pbc[0]), bool(pbc[1]), bool(pbc[2]))
        tensor = self._pbc.get(key)
        if tensor is None:
            tensor = torch.tensor(key, device=self._device)
            self._pbc[key] = tensor
        return tensor

    def _system(
        self,
        atoms: ase.Atoms,
        builders: Optional[List[NeighborListBuilder]],
        *,
        forces: bool,
        stress: bool,
    ) -> Tuple[System, torch.Tensor, Optional[torch.Tensor]]:
        """The :py:class:`System` of ``atoms``, with its neighbor lists and
        inputs, the positions (a leaf of the autograd graph when ``forces``)
        and the strain (``None`` without ``stress``)"""
        if builders is None:
            # a batch of different systems: no skin to reuse
            builders = [
                NeighborListBuilder(b.options, 0.0, self._check_consistency)
                for b in self._neighbors
            ]

        positions_np = np.asarray(atoms.positions, dtype=np.float64)
        pbc_np = np.asarray(atoms.pbc, dtype=bool)
        cell_np = np.asarray(atoms.cell.array, dtype=np.float64)
        if not pbc_np.all():
            # the cell has no meaning in non-periodic directions
            cell_np = cell_np.copy()
            cell_np[~pbc_np] = 0.0

        dtype = self._dtype
        device = self._device
        if self._float64_cpu:
            positions = torch.from_numpy(positions_np.copy())
            cell = torch.from_numpy(cell_np.copy())
        else:
            positions = torch.from_numpy(positions_np).to(dtype=dtype, device=device)
            cell = torch.from_numpy(cell_np).to(dtype=dtype, device=device)
        if forces:
            positions.requires_grad_(True)
        strain = None
        system_positions = positions
        system_cell = cell
        if stress:
            strain = torch.eye(3, dtype=dtype, device=device, requires_grad=True)
            system_positions = positions @ strain
            system_cell = cell @ strain

        system = System(
            self._types_tensor(atoms.numbers),
            system_positions,
            system_cell,
            self._pbc_tensor(pbc_np),
        )
        for builder in builders:
            neighbors = builder.compute(system, positions_np, cell_np, pbc_np)
            system.add_neighbor_list(builder.options, neighbors)
        if len(self._inputs) != 0:
            for name, tensor in self._inputs.build(atoms, dtype, device).items():
                system.add_data(name, tensor)
        return system, positions, strain

    def _options(
        self, energy: bool, per_atom: bool, nc_force: bool, nc_stress: bool, extra: bool
    ) -> ModelEvaluationOptions:
        """The (cached) evaluation options requesting the given outputs"""
        key = (energy, per_atom, nc_force, nc_stress, extra)
        options = self._evaluation_options.get(key)
        if options is not None:
            return options

        options = evaluation_options(
            self._outputs,
            energy=energy,
            per_atom=per_atom,
            nc_force=nc_force,
            nc_stress=nc_stress,
            additional=self._additional_requests if extra else {},
        )
        self._evaluation_options[key] = options
        return options

    def _compute(
        self,
        atoms_list: List[ase.Atoms],
        builders: Optional[List[NeighborListBuilder]],
        *,
        energy: bool,
        per_atom: bool,
        forces: bool,
        stress: bool,
        additional: bool,
    ) -> List[Dict[str, Union[float, np.ndarray]]]:
        """Run the model on ``atoms_list`` and extract the results of each atoms
        (``stress`` as a 3x3 matrix, only computed for periodic atoms)"""
        if not energy:
            forces = stress = per_atom = False
        nc_force = forces and self._outputs.nc_force is not None
        nc_stress = stress and self._outputs.nc_stress is not None
        gradient_forces = forces and not nc_force
        gradient_stress = stress and not nc_stress

        additional = additional and len(self._additional_requests) != 0
        if not (energy or additional):
            return [{} for _ in atoms_list]

        systems: List[System] = []
        positions: List[torch.Tensor] = []
        strains: List[Optional[torch.Tensor]] = []
        for atoms in atoms_list:
            system, leaf, strain = self._system(
                atoms,
                builders,
                forces=gradient_forces,
                stress=gradient_stress and bool(atoms.pbc.all()),
            )
            systems.append(system)
            positions.append(leaf)
            strains.append(strain)

        options = self._options(energy, per_atom, nc_force, nc_stress, additional)
        outputs = self._model(systems, options, self._check_consistency)

        if additional:
            self.additional_outputs = {
                name: outputs[name] for name in self._additional_requests
            }
        results: List[Dict[str, Union[float, np.ndarray]]] = [{} for _ in atoms_list]
        if not energy:
            return results

        n_systems = len(systems)
        counts = [len(atoms) for atoms in atoms_list]
        offsets = None
        if per_atom or nc_force:
            offsets = np.zeros(n_systems + 1, dtype=np.int64)
            offsets[1:] = np.cumsum(counts)

        block = outputs[self._outputs.energy].block_by_id(0)
        values = block.values.reshape(-1)
        if n_systems == 1:
            # all samples (per system or per atom) belong to the only system
            total = values.sum()
        else:
            system_index = block.samples.column("system").to(torch.int64)
            totals = torch.zeros(n_systems, dtype=values.dtype, device=values.device)
            totals = totals.index_add(0, system_index, values)
            total = totals.sum()

        # gradients of the energy
        inputs: List[torch.Tensor] = []
        if gradient_forces:
            inputs.extend(positions)
        inputs.extend(strain for strain in strains if strain is not None)
        gradients: List[Optional[torch.Tensor]] = [None] * len(inputs)
        if len(inputs) != 0 and total.requires_grad:
            gradients = list(torch.autograd.grad(total, inputs, allow_unused=True))

        if n_systems == 1:
            results[0]["energy"] = total.item()
        else:
            for i, energy in enumerate(totals.tolist()):
                results[i]["energy"] = energy

        if per_atom:
            energies = _per_atom_values(block, offsets, 1)
            for i, result in enumerate(results):
                result["energies"] = energies[offsets[i] : offsets[i + 1], 0]

        if gradient_forces:
            for i, result in enumerate(results):
                gradient = gradients[i]
                if gradient is None:
                    result["forces"] = np.zeros((counts[i], 3))
                else:
                    # 0 - gradient rather than -gradient: no negative zeros
                    result["forces"] = 0.0 - _to_numpy(gradient)
            gradients = gradients[n_systems:]
        elif nc_force:
            block = outputs[self._outputs.nc_force].block_by_id(0)
            nc_forces = _per_atom_values(block, offsets, 3)
            for i, result in enumerate(results):
                system_forces = nc_forces[offsets[i] : offsets[i + 1]]
                if len(system_forces) != 0:
                    system_forces = system_forces - system_forces.mean(axis=0)
                result["forces"] = system_forces

        if gradient_stress:
            gradients = iter(gradients)
            for i, result in enumerate(results):
                if strains[i] is None:
                    continue
                gradient = next(gradients)
                if gradient is None:
                    result["stress"] = np.zeros((3, 3))
                else:
                    volume = _volume(atoms_list[i].cell.array)
                    result["stress"] = _to_numpy(gradient / volume)
        elif nc_stress:
            block = outputs[self._outputs.nc_stress].block_by_id(0)
            values = _to_numpy(block.values).reshape(-1, 3, 3)
            index = _to_numpy(block.samples.column("system"))
            for i, result in enumerate(results):
                if atoms_list[i].pbc.all():
                    result["stress"] = values[index == i].sum(axis=0)

        if self._outputs.uncertainty is not None:
            block = outputs[self._outputs.uncertainty].block_by_id(0)
            check_uncertainty(
                block,
                self._uncertainty_threshold,
                by_atom=n_systems == 1,
                skip=_SKIPPED,
            )
        return results


# ==================================================================================== #


def _atoms_list(atoms) -> List[ase.Atoms]:
    if isinstance(atoms, ase.Atoms):
        return [atoms]
    if isinstance(atoms, (list, tuple)) and all(
        isinstance(a, ase.Atoms) for a in atoms
    ):
        return list(atoms)
    raise TypeError(
        f"`atoms` must be an ase.Atoms or a list of them, got {type(atoms).__name__}"
    )


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float64, copy=False)


def _per_atom_values(block, offsets: np.ndarray, width: int) -> np.ndarray:
    """The values of a per-atom ``block`` as a ``(n_atoms_total, width)`` array,
    in the order of the atoms (zero for atoms without a sample)"""
    values = block.values.detach().reshape(-1, width)
    system = block.samples.column("system").to(torch.int64)
    atom = block.samples.column("atom").to(torch.int64)
    index = torch.from_numpy(offsets[:-1]).to(system.device)[system] + atom
    result = torch.zeros(
        (int(offsets[-1]), width), dtype=values.dtype, device=values.device
    )
    result.index_add_(0, index, values)
    return _to_numpy(result)
