"""``MetatomicModel``: the torch-sim model interface for metatomic models.

Forces and stress come from automatic differentiation of the energy, as in the
ASE calculator: with the positions ``r`` and the cell ``H`` (rows are cell
vectors) of each periodic system deformed by a strain ``ε`` (the identity,
which requires gradients),

.. math::

    \\vec F_i = -\\frac{\\partial E}{\\partial \\vec r_i}, \\qquad
    \\sigma = \\frac{1}{V} \\frac{\\partial E}{\\partial \\varepsilon}

with ``V`` the volume of the cell: the stress of torch-sim and ASE (positive
when the system is under tension).
"""

import os
from typing import Dict, Optional, Union

import torch
import torch_sim
from torch_sim.models.interface import ModelInterface

from metatensor.torch import TensorMap, detach
from metatomic.torch import (
    AtomisticModel,
    ModelEvaluationOptions,
    ModelOutput,
    pick_device,
)
from metatomic.torch._engine_options import (
    check_arguments,
    check_bool,
    check_uncertainty,
    choose_outputs,
    evaluation_options,
    load_model,
    model_dtype,
    package_folders,
    warn,
)

from ._systems import Batch, SystemsBuilder

# frames of torch-sim (integrators, runners) and torch (Module.__call__) are
# skipped to point warnings at the code of the user
_SKIPPED = package_folders("metatomic_torchsim", "torch_sim", "torch")


class MetatomicModel(ModelInterface):
    """A torch-sim model running a metatomic model (an
    :py:class:`AtomisticModel`) on batches of systems.

    Calling it with a ``torch_sim.SimState`` gives the energy of each system
    (``"energy"``, shape ``(n_systems,)``, in eV), the forces on the atoms
    (``"forces"``, ``(n_atoms, 3)``, in eV/Å, when :py:attr:`compute_forces`)
    and the stress of each system (``"stress"``, ``(n_systems, 3, 3)``, in
    eV/Å³, when :py:attr:`compute_stress`; its symmetric part, as in ASE, and
    NaN for systems which are not periodic in the three directions). Forces and
    stress are gradients of the energy, or the predictions of the model with
    ``non_conservative``.

    :param model: the model: the path to a file saved with
        :py:meth:`AtomisticModel.save`, an :py:class:`AtomisticModel`, or a
        scripted :py:class:`AtomisticModel`. Models requesting extra inputs
        (``requested_inputs()``) are refused: torch-sim states do not carry them
    :param extensions_directory: where to find the TorchScript extensions of a
        model loaded from a file, if they were collected when saving it
    :param device: the torch device to run the model on (the states must be on
        it); by default the first device of the model's ``supported_devices``
        available here
    :param check_consistency: check everything that goes in and out of the model
        (slower; to debug models)
    :param compute_forces: compute the forces
    :param compute_stress: compute the stress
    :param variants: which variant of the outputs to use, output name =>
        variant (``None`` for the output without variant). The keys are
        ``"energy"``, ``"energy_uncertainty"``, ``"non_conservative_force"`` and
        ``"non_conservative_stress"``; the energy's variant is also used for
        the others unless they are given
    :param non_conservative: take the forces and the stress from the model's
        ``non_conservative_force`` and ``non_conservative_stress`` outputs
        (``True``), only the forces (``"forces"``), only the stress
        (``"stress"``), or compute both from the energy (``False``). The net
        force of each system is removed from non-conservative forces
    :param uncertainty_threshold: when the model has a per-atom
        ``energy_uncertainty`` output, warn when the uncertainty of an atom is
        above this value (in eV); ``None`` to disable the check
    :param additional_outputs: other outputs to compute at every call (name =>
        :py:class:`ModelOutput`); the results are in
        :py:attr:`additional_outputs`
    :param neighbor_skin: Verlet skin (in Å) of the neighbor lists: the pairs
        of a system are only searched again when one of its atoms moved by more
        than half of it, or when its cell or periodicity changed

    >>> import ase.build
    >>> import torch_sim
    >>> atoms = [ase.build.bulk("Cu", "fcc", a=3.6, cubic=True).repeat(n) for n in (2, 3)]
    >>> model = MetatomicModel("model.pt")  # doctest: +SKIP
    >>> state = torch_sim.io.atoms_to_state(atoms, model.device, model.dtype)  # doctest: +SKIP
    >>> model(state)["forces"].shape  # doctest: +SKIP
    torch.Size([140, 3])
    >>> relaxed = torch_sim.optimize(atoms, model, optimizer=torch_sim.fire)  # doctest: +SKIP

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        model: Union[str, os.PathLike, AtomisticModel, torch.jit.ScriptModule],
        *,
        extensions_directory: Optional[Union[str, os.PathLike]] = None,
        device: Optional[Union[str, torch.device]] = None,
        check_consistency: bool = False,
        compute_forces: bool = True,
        compute_stress: bool = True,
        variants: Optional[Dict[str, Optional[str]]] = None,
        non_conservative: Union[bool, str] = False,
        uncertainty_threshold: Optional[float] = 0.1,
        additional_outputs: Optional[Dict[str, ModelOutput]] = None,
        neighbor_skin: float = 2.0,
    ):
        super().__init__()

        arguments = check_arguments(
            "MetatomicModel",
            _SKIPPED,
            check_consistency=check_consistency,
            device=device,
            variants=variants,
            non_conservative=non_conservative,
            uncertainty_threshold=uncertainty_threshold,
            neighbor_skin=neighbor_skin,
            additional_outputs=additional_outputs,
        )
        check_bool(compute_forces, "compute_forces")
        check_bool(compute_stress, "compute_stress")

        model = load_model(model, extensions_directory)
        inputs = model.requested_inputs(True)
        if len(inputs) != 0:
            raise ValueError(
                f"this model requests the inputs {sorted(inputs)}, which torch-sim "
                "states do not provide: models with extra inputs can not be used "
                "with torch-sim"
            )

        capabilities = model.capabilities()
        self._dtype = model_dtype(capabilities, "MetatomicModel")
        self._device = torch.device(
            pick_device(list(capabilities.supported_devices), arguments.device)
        )
        self._model = model.to(self._device)

        self._outputs = choose_outputs(
            capabilities.outputs, arguments, needs_energy="torch-sim"
        )
        self._uncertainty_threshold = arguments.uncertainty_threshold
        self._additional_requests = arguments.additional_outputs
        #: the additional outputs computed by the last call (output name =>
        #: TensorMap, with one ``system`` per system of the state)
        self.additional_outputs: Dict[str, TensorMap] = {}

        self._compute_forces = bool(compute_forces)
        self._compute_stress = bool(compute_stress)
        self._check_consistency = arguments.check_consistency
        self._memory_scales_with = "n_atoms_x_density"
        self._systems = SystemsBuilder(
            model.requested_neighbor_lists(),
            arguments.neighbor_skin,
            self._check_consistency,
        )
        self._evaluation_options: Dict[tuple, ModelEvaluationOptions] = {}

    @ModelInterface.compute_forces.setter
    def compute_forces(self, value: bool):
        check_bool(value, "compute_forces")
        self._compute_forces = bool(value)

    @ModelInterface.compute_stress.setter
    def compute_stress(self, value: bool):
        check_bool(value, "compute_stress")
        self._compute_stress = bool(value)

    def _options(self, nc_force: bool, nc_stress: bool) -> ModelEvaluationOptions:
        """The (cached) evaluation options, with or without the non-conservative
        outputs"""
        key = (nc_force, nc_stress)
        options = self._evaluation_options.get(key)
        if options is not None:
            return options

        options = evaluation_options(
            self._outputs,
            energy=True,
            per_atom=False,
            nc_force=nc_force,
            nc_stress=nc_stress,
            additional=self._additional_requests,
        )
        self._evaluation_options[key] = options
        return options

    def forward(self, state: torch_sim.SimState) -> Dict[str, torch.Tensor]:
        """Compute the energy, forces and stress of the systems in ``state``.

        :param state: the systems, in torch-sim units (Å), with the dtype and
            on the device of this model
        :return: ``"energy"`` ``(n_systems,)``, ``"forces"`` ``(n_atoms, 3)``
            and ``"stress"`` ``(n_systems, 3, 3)`` (when computed), detached
            from the autograd graph
        """
        if not isinstance(state, torch_sim.SimState):
            raise TypeError(
                f"`state` must be a torch_sim.SimState, got {type(state).__name__}"
            )
        if state.positions.dtype != self._dtype:
            raise TypeError(
                f"the state has the dtype {state.positions.dtype}, but this model "
                f"uses {self._dtype}: create the state with `dtype=model.dtype`"
            )
        if state.positions.device != self._device:
            raise ValueError(
                f"the state is on the device '{state.positions.device}', but this "
                f"model runs on '{self._device}': move the state with "
                "`state.to(model.device)`"
            )

        nc_force = self._compute_forces and self._outputs.nc_force is not None
        nc_stress = self._compute_stress and self._outputs.nc_stress is not None
        gradient_forces = self._compute_forces and not nc_force
        gradient_stress = self._compute_stress and not nc_stress

        batch = self._systems.build(state, gradient_forces, gradient_stress)
        if self._compute_stress and not bool(batch.periodic.all()):
            warn(
                "the stress can only be computed for systems periodic in the "
                "three directions, it is NaN for the others (use "
                "`compute_stress=False` for non-periodic systems)",
                _SKIPPED,
            )

        options = self._options(nc_force, nc_stress)
        outputs = self._model(batch.systems, options, self._check_consistency)
        if len(self._additional_requests) != 0:
            self.additional_outputs = {
                name: detach(outputs[name]) for name in self._additional_requests
            }

        n_systems = len(batch.systems)
        block = outputs[self._outputs.energy].block_by_id(0)
        system = block.samples.column("system").to(torch.int64)
        energy = torch.zeros(n_systems, dtype=self._dtype, device=self._device)
        energy = energy.index_add(0, system, block.values.reshape(-1))

        results: Dict[str, torch.Tensor] = {"energy": energy.detach()}
        inputs = []
        if gradient_forces:
            inputs.append(batch.positions)
        if gradient_stress and batch.strain is not None:
            inputs.append(batch.strain)
        gradients = [None] * len(inputs)
        if len(inputs) != 0 and energy.requires_grad:
            gradients = torch.autograd.grad(energy.sum(), inputs, allow_unused=True)
        gradients = [
            torch.zeros_like(tensor) if gradient is None else gradient
            for tensor, gradient in zip(inputs, gradients)
        ]

        if gradient_forces:
            # 0 - gradient rather than -gradient: no negative zeros
            results["forces"] = 0.0 - gradients[0]
        elif nc_force:
            block = outputs[self._outputs.nc_force].block_by_id(0)
            results["forces"] = _net_force_removed(block, batch, state.system_idx)

        if gradient_stress:
            if batch.strain is None:
                virial = torch.zeros_like(batch.cells)
            else:
                virial = gradients[-1]
            results["stress"] = _stress(virial, batch)
        elif nc_stress:
            block = outputs[self._outputs.nc_stress].block_by_id(0)
            system = block.samples.column("system").to(torch.int64)
            stress = torch.zeros_like(batch.cells)
            stress = stress.index_add(
                0, system, block.values.detach().reshape(-1, 3, 3)
            )
            results["stress"] = _periodic_symmetric(stress, batch)

        if self._outputs.uncertainty is not None:
            block = outputs[self._outputs.uncertainty].block_by_id(0)
            check_uncertainty(
                block, self._uncertainty_threshold, by_atom=False, skip=_SKIPPED
            )
        return results


def _stress(virial: torch.Tensor, batch: Batch) -> torch.Tensor:
    """The stress from the ``virial`` ``dE/dε`` of each system"""
    periodic = batch.periodic.reshape(-1, 1, 1)
    volume = torch.abs(torch.linalg.det(batch.cells)).reshape(-1, 1, 1)
    # the volume of non-periodic systems is zero
    volume = torch.where(periodic, volume, torch.ones_like(volume))
    return _periodic_symmetric(virial / volume, batch)


def _periodic_symmetric(stress: torch.Tensor, batch: Batch) -> torch.Tensor:
    """The symmetric part of ``stress`` (as in ASE), NaN for the systems which
    are not periodic in the three directions"""
    stress = 0.5 * (stress + stress.transpose(1, 2))
    periodic = batch.periodic.reshape(-1, 1, 1)
    return torch.where(periodic, stress, torch.full_like(stress, float("nan")))


def _net_force_removed(block, batch: Batch, system_idx: torch.Tensor) -> torch.Tensor:
    """The per-atom forces in ``block``, in the order of the state, minus the
    mean force of each system"""
    samples = block.samples
    index = batch.atom_index(samples.column("system"), samples.column("atom"))
    values = block.values.detach().reshape(-1, 3)
    forces = torch.zeros_like(batch.positions, dtype=values.dtype)
    forces = forces.index_add(0, index, values)

    n_systems = len(batch.systems)
    system_idx = system_idx.to(torch.int64)
    total = torch.zeros((n_systems, 3), dtype=values.dtype, device=values.device)
    total = total.index_add(0, system_idx, forces)
    counts = torch.bincount(system_idx, minlength=n_systems).clamp(min=1)
    mean = total / counts.reshape(-1, 1).to(values.dtype)
    return forces - mean[system_idx]
