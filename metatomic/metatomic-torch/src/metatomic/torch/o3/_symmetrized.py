"""``SymmetrizedModel``: a model wrapper averaging the outputs of a model over
the rotations (and inversions) of its inputs, making them exactly invariant or
equivariant."""

from typing import Dict, List, Optional, Tuple

import torch

from metatensor.torch import Labels, TensorBlock, TensorMap

from .._model import AtomisticModel
from .._outputs import ModelCapabilities, ModelOutput
from .._system import System
from .._wrappers import as_atomistic_model
from ._quadrature import quadrature
from ._transformations import O3Transformations, _is_cartesian


def rotational_std_prefix() -> str:
    """The prefix of the outputs holding standard deviations over rotations"""
    return "rotational_std::"


def _check_integer(value, name: str, minimum: int):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"`{name}` must be at least {minimum}, got {value}")


def _check_bool(value, name: str):
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a bool, got {type(value).__name__}")


def _angular_momentum(block: TensorBlock, o3_lambda: int) -> int:
    """The largest angular momentum the components of ``block`` can carry: one
    per cartesian axis, plus λ for the ``o3_mu`` axis"""
    total = 0
    for component in block.components:
        name = component.names[0]
        if _is_cartesian(name):
            total += 1
        elif name == "o3_mu":
            if o3_lambda >= 0:
                total += o3_lambda
            else:
                total += (len(component) - 1) // 2
    return total


class SymmetrizedModel(torch.nn.Module):
    """Average the outputs of a model over the O(3) transformations of its
    inputs.

    Each system is rotated (and inverted, with ``include_inversion``) by the
    ``R_k`` of a quadrature over O(3) (:py:func:`quadrature`: Lebedev points on
    the sphere times equispaced angles, precomputed here so that a saved model
    needs neither scipy nor this package), the wrapped model computes its
    outputs ``f(R_k S)`` on these copies, and they are transformed back and
    averaged with the quadrature weights:

    .. math::

        \\bar f(S) = \\sum_k w_k \\, R_k^{-1} \\cdot f(R_k S)

    where ``R^{-1} ·`` transforms the ``xyz`` components (``R^T v``) and the
    ``o3_mu`` components (``D^λ(R)^T y``) of each output (see
    :py:class:`O3Transformations`). The average is exact, so that the outputs
    are invariant (energies) or equivariant (forces, stress, spherical
    tensors) to numerical precision, when the dependence of the model on the
    orientation only contains angular momenta up to ``l_max``; otherwise the
    remaining error decreases with ``l_max``. Forces and stress computed by
    autograd from a symmetrized energy are the symmetrized forces and stress.

    The outputs are those of the wrapped model, without explicit gradients
    (compute gradients with autograd). Every output block needs a ``system``
    sample dimension. With ``store_rotational_std``, each output ``NAME`` also
    exists as ``rotational_std::NAME``: the standard deviation of ``R_k^{-1} ·
    f(R_k S)`` over the quadrature (with the weights ``w_k``), per entry of the
    values, which measures how far the wrapped model is from being invariant or
    equivariant.

    :param model: the model to symmetrize, an :py:class:`AtomisticModel` built
        in Python or loaded from a file (``torch.jit.load`` or
        :py:func:`load_atomistic_model`); the symmetrized model can be saved in
        both cases
    :param max_angular_momentum_target: the largest angular momentum of the
        outputs: 0 for energies, 1 for vectors (forces), 2 for rank-2 tensors
        (stress), λ for spherical tensors with ``o3_lambda = λ``; outputs with
        more raise an error
    :param l_max: the largest angular momentum of the orientation dependence of
        the model averaged exactly; the quadrature integrates exactly angular
        momenta up to ``l_max + max_angular_momentum_target``
    :param batch_size: how many rotated systems the wrapped model evaluates at
        once (``None`` for all the copies of all the systems at once)
    :param include_inversion: average over O(3) (rotations and inversions), or
        only over the rotations (SO(3))
    :param store_rotational_std: also compute the ``rotational_std::NAME``
        outputs

    .. versionadded:: 0.1.19
    """

    _batch_size: Optional[int]
    _store_rotational_std: bool

    def __init__(
        self,
        model: AtomisticModel,
        *,
        max_angular_momentum_target: int,
        l_max: int = 3,
        batch_size: Optional[int] = None,
        include_inversion: bool = True,
        store_rotational_std: bool = False,
    ):
        super().__init__()
        model = as_atomistic_model(model)
        _check_integer(max_angular_momentum_target, "max_angular_momentum_target", 0)
        _check_integer(l_max, "l_max", 0)
        if batch_size is not None:
            _check_integer(batch_size, "batch_size", 1)
        _check_bool(include_inversion, "include_inversion")
        _check_bool(store_rotational_std, "store_rotational_std")

        matrices, weights = quadrature(
            l_max + max_angular_momentum_target, include_inversion
        )
        # a module loaded from a file is compiled again against the classes of
        # this process when the symmetrized model is saved (see `_rehome.py`)
        self.model = model.module
        self.transformations = O3Transformations(
            torch.from_numpy(matrices), max_angular_momentum_target
        )
        self.register_buffer("weights", torch.from_numpy(weights))
        self._batch_size = batch_size
        self._store_rotational_std = store_rotational_std

    # ================================================================================ #

    @staticmethod
    def wrap(
        model: AtomisticModel,
        *,
        max_angular_momentum_target: int,
        l_max: int = 3,
        batch_size: Optional[int] = None,
        include_inversion: bool = True,
        store_rotational_std: bool = False,
    ) -> AtomisticModel:
        """Symmetrize ``model`` (see :py:class:`SymmetrizedModel` for the
        parameters) and wrap the result in a new :py:class:`AtomisticModel`,
        with the metadata of ``model`` and its capabilities (without explicit
        gradients, and with the ``rotational_std::NAME`` outputs when
        requested), ready to be used or saved.
        """
        wrapper = SymmetrizedModel(
            model,
            max_angular_momentum_target=max_angular_momentum_target,
            l_max=l_max,
            batch_size=batch_size,
            include_inversion=include_inversion,
            store_rotational_std=store_rotational_std,
        )
        capabilities = _capabilities(model, store_rotational_std)
        return AtomisticModel(wrapper.eval(), model.metadata(), capabilities)

    # ================================================================================ #

    def _requests(self, outputs: Dict[str, ModelOutput]) -> Dict[str, ModelOutput]:
        """What to ask the wrapped model for ``outputs``"""
        requests: Dict[str, ModelOutput] = {}
        for name, request in outputs.items():
            if len(request.explicit_gradients) != 0:
                raise ValueError(
                    "SymmetrizedModel can not compute explicit gradients (requested "
                    + "for '"
                    + name
                    + "'): compute them with autograd"
                )
            base = name
            if self._store_rotational_std and name.startswith(rotational_std_prefix()):
                base = name[len(rotational_std_prefix()) :]
            if base in requests:
                if requests[base].sample_kind != request.sample_kind:
                    raise ValueError(
                        "'"
                        + base
                        + "' and its rotational standard deviation must be "
                        + "requested with the same sample kind"
                    )
            else:
                requests[base] = request
        return requests

    def _selection(
        self, selected_atoms: Optional[Labels], systems: torch.Tensor
    ) -> Optional[Labels]:
        """``selected_atoms`` for the batch of copies of ``systems`` (the index
        of the original system of each copy)"""
        if selected_atoms is None:
            return None
        values = selected_atoms.values
        rows: List[torch.Tensor] = []
        for j in range(systems.shape[0]):
            selected = values[values[:, 0] == systems[j]]
            copy = selected.clone()
            copy[:, 0] = j
            rows.append(copy)
        return Labels(["system", "atom"], torch.cat(rows))

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        requests = self._requests(outputs)
        if len(systems) == 0:
            return self.model(systems, requests, selected_atoms)

        n_rotations = self.weights.shape[0]
        n_copies = len(systems) * n_rotations
        batch_size = n_copies
        size = self._batch_size
        if size is not None:
            batch_size = size

        # evaluate the model on batches of copies, and collect the rows of each
        # (output, key) transformed back, over all the batches
        slots: Dict[str, int] = {}
        slot_outputs: List[str] = []
        slot_keys: List[torch.Tensor] = []
        slot_blocks: List[TensorBlock] = []
        slot_samples: List[List[torch.Tensor]] = []
        slot_values: List[List[torch.Tensor]] = []
        slot_rotations: List[List[torch.Tensor]] = []
        key_names: Dict[str, List[str]] = {}
        infos: Dict[str, Dict[str, str]] = {}

        for start in range(0, n_copies, batch_size):
            stop = min(start + batch_size, n_copies)
            copies = torch.arange(start, stop, device=self.weights.device)
            batch: List[System] = []
            for copy in range(start, stop):
                batch.append(
                    self.transformations.transform_system(
                        systems[copy // n_rotations], copy % n_rotations
                    )
                )
            selection = self._selection(selected_atoms, copies // n_rotations)
            results = self.model(batch, requests, selection)

            for name, tensor in results.items():
                if name not in requests:
                    continue
                if name not in key_names:
                    key_names[name] = tensor.keys.names
                    infos[name] = tensor.info()
                for i in range(len(tensor.keys)):
                    key = tensor.keys.values[i]
                    key_list: List[int] = key.to(torch.int64).tolist()
                    text = name
                    for value in key_list:
                        text += "," + str(value)
                    block = tensor.block_by_id(i)
                    if text not in slots:
                        slots[text] = len(slot_outputs)
                        slot_outputs.append(name)
                        slot_keys.append(key)
                        slot_blocks.append(block)
                        slot_samples.append(torch.jit.annotate(List[torch.Tensor], []))
                        slot_values.append(torch.jit.annotate(List[torch.Tensor], []))
                        slot_rotations.append(
                            torch.jit.annotate(List[torch.Tensor], [])
                        )
                    slot = slots[text]
                    samples, values, rotations = self._back_transformed(
                        name, tensor.keys.names, key, block, start, n_rotations
                    )
                    slot_samples[slot].append(samples)
                    slot_values[slot].append(values)
                    slot_rotations[slot].append(rotations)

        # average the rows of each (output, key) over the copies
        means: Dict[str, List[TensorBlock]] = {}
        stds: Dict[str, List[TensorBlock]] = {}
        keys: Dict[str, List[torch.Tensor]] = {}
        for slot in range(len(slot_outputs)):
            name = slot_outputs[slot]
            mean, std = self._average(
                slot_blocks[slot],
                torch.cat(slot_samples[slot]),
                torch.cat(slot_values[slot]),
                torch.cat(slot_rotations[slot]),
                rotational_std_prefix() + name in outputs,
            )
            if name not in means:
                means[name] = torch.jit.annotate(List[TensorBlock], [])
                stds[name] = torch.jit.annotate(List[TensorBlock], [])
                keys[name] = torch.jit.annotate(List[torch.Tensor], [])
            means[name].append(mean)
            keys[name].append(slot_keys[slot])
            if std is not None:
                stds[name].append(std)

        averaged: Dict[str, TensorMap] = {}
        for name, blocks in means.items():
            labels = Labels(key_names[name], torch.stack(keys[name]))
            if name in outputs:
                averaged[name] = _tensor_map(labels, blocks, infos[name])
            if len(stds[name]) != 0:
                averaged[rotational_std_prefix() + name] = _tensor_map(
                    labels, stds[name], infos[name]
                )
        return averaged

    def _back_transformed(
        self,
        name: str,
        key_names: List[str],
        key: torch.Tensor,
        block: TensorBlock,
        start: int,
        n_rotations: int,
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The samples of ``block`` (with the index of the original systems), its
        values transformed back, and the quadrature point of each sample"""
        if "system" not in block.samples.names:
            raise ValueError(
                "SymmetrizedModel needs a 'system' sample dimension in every output, "
                + "the output '"
                + name
                + "' has the samples "
                + str(block.samples.names)
            )
        if len(block.gradients_list()) != 0:
            raise ValueError(
                "the output '"
                + name
                + "' has explicit gradients, which SymmetrizedModel can not "
                + "average: compute gradients with autograd"
            )
        o3_lambda = -1
        o3_sigma = 1
        for i in range(len(key_names)):
            if key_names[i] == "o3_lambda":
                o3_lambda = int(key[i])
            elif key_names[i] == "o3_sigma":
                o3_sigma = int(key[i])
        target = _angular_momentum(block, o3_lambda)
        if target > self.transformations.max_angular_momentum:
            raise ValueError(
                "the output '"
                + name
                + "' has angular momentum up to "
                + str(target)
                + ", more than max_angular_momentum_target="
                + str(self.transformations.max_angular_momentum)
                + " of this SymmetrizedModel: symmetrize the model again with a "
                + "larger `max_angular_momentum_target`"
            )

        copies = start + block.samples.column("system").to(torch.int64)
        rotations = copies % n_rotations
        transformed = self.transformations.transform_block(
            block, rotations, o3_lambda, o3_sigma, True
        )
        samples = block.samples.values.clone()
        position = block.samples.names.index("system")
        samples[:, position] = (copies // n_rotations).to(samples.dtype)
        return samples, transformed.values, rotations

    def _average(
        self,
        block: TensorBlock,
        samples: torch.Tensor,
        values: torch.Tensor,
        rotations: torch.Tensor,
        with_std: bool,
    ) -> Tuple[TensorBlock, Optional[TensorBlock]]:
        """The weighted average (and standard deviation) over the rotations of
        the rows of ``values`` with the same ``samples``"""
        unique, inverse = torch.unique(samples, dim=0, return_inverse=True)
        shape: List[int] = [unique.shape[0]]
        weights_shape: List[int] = [-1]
        for size in values.shape[1:]:
            shape.append(size)
            weights_shape.append(1)
        weights = self.weights.to(values.dtype)[rotations.to(self.weights.device)]
        weights = weights.to(values.device).reshape(weights_shape)
        zeros = torch.zeros(shape, dtype=values.dtype, device=values.device)
        mean = zeros.index_add(0, inverse, weights * values)
        labels = Labels(block.samples.names, unique)
        mean_block = TensorBlock(mean, labels, block.components, block.properties)
        if not with_std:
            return mean_block, None
        deviations = values - mean[inverse]
        variance = zeros.index_add(0, inverse, weights * deviations * deviations)
        std = torch.sqrt(variance)
        return mean_block, TensorBlock(std, labels, block.components, block.properties)


def _capabilities(model: AtomisticModel, store_rotational_std: bool):
    """The capabilities of ``model`` symmetrized: the outputs its module knows,
    without explicit gradients, and their standard deviations"""
    capabilities = model.capabilities()
    outputs: Dict[str, ModelOutput] = {}
    # the names under which the wrapped module knows its outputs
    for name in model._model_capabilities_outputs_names:
        output = capabilities.outputs[name]
        outputs[name] = ModelOutput(
            unit=output.unit,
            sample_kind=output.sample_kind,
            description=output.description,
        )
        if store_rotational_std:
            outputs[rotational_std_prefix() + name] = ModelOutput(
                unit=output.unit,
                sample_kind=output.sample_kind,
                description=f"standard deviation of '{name}' over the rotations of "
                "SymmetrizedModel",
            )
    return ModelCapabilities(
        outputs=outputs,
        atomic_types=list(capabilities.atomic_types),
        interaction_range=capabilities.interaction_range,
        length_unit=capabilities.length_unit,
        supported_devices=list(capabilities.supported_devices),
        dtype=capabilities.dtype,
    )


def _tensor_map(keys: Labels, blocks: List[TensorBlock], info: Dict[str, str]):
    tensor = TensorMap(keys, blocks)
    for key, value in info.items():
        tensor.set_info(key, value)
    return tensor
