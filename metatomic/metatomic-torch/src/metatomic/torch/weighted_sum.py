"""``WeightedSum``: a wrapper adding to a model an output that is a fixed linear
combination of some of its outputs, typically variants of one quantity
(``energy/pbe`` and ``energy/r2scan`` mixed into ``energy/mix``).

This module must be imported explicitly: ``import metatomic.torch.weighted_sum``.
"""

import math
import numbers
from typing import Dict, List, Optional

import torch

from metatensor.torch import Labels, TensorBlock, TensorMap

from ._model import AtomisticModel
from ._outputs import ModelCapabilities, ModelOutput
from ._quantities import check_name, new_name, split_variant
from ._system import System
from ._units import unit_conversion_factor
from ._wrappers import as_atomistic_model, capabilities_with


def _base_quantity(name: str) -> str:
    """``energy`` for ``energy/pbe`` (deprecated plural names are made singular)"""
    return split_variant(new_name(name))[0]


def _check_weights(weights) -> Dict[str, float]:
    """``weights`` as a dict of str => float, refusing anything else"""
    if not isinstance(weights, dict):
        raise TypeError(
            "`weights` must be a dict of output name (str) => weight (float), got "
            f"{type(weights).__name__}"
        )
    if len(weights) == 0:
        raise ValueError("`weights` can not be empty: give at least one output")
    checked: Dict[str, float] = {}
    for name, weight in weights.items():
        if not isinstance(name, str):
            raise TypeError(
                f"the keys of `weights` must be output names (str), got {name!r}"
            )
        if not isinstance(weight, numbers.Real) or isinstance(weight, bool):
            raise TypeError(
                f"the weight of {name!r} must be a number, got {type(weight).__name__}"
            )
        if not math.isfinite(weight):
            raise ValueError(f"the weight of {name!r} must be finite, got {weight}")
        checked[name] = float(weight)
    return checked


def _mixed_sample_kind(kinds: List[str], names: List[str]) -> str:
    """The sample kind of the sum of outputs with ``kinds``: per atom if all of
    them are, per system if any is; per pair only if all of them are"""
    if "atom_pair" in kinds:
        if any(kind != "atom_pair" for kind in kinds):
            raise ValueError(
                "can not mix outputs per pair of atoms with other sample kinds: "
                + ", ".join(
                    f"{n!r} has sample_kind '{k}'" for n, k in zip(names, kinds)
                )
            )
        return "atom_pair"
    if "system" in kinds:
        return "system"
    return "atom"


def _check_same_metadata(first: Labels, second: Labels, what: str, names: List[str]):
    if first != second:
        raise ValueError(
            "can not mix the outputs "
            + ", ".join(names)
            + ": they have different "
            + what
        )


def _weighted_sum(
    tensors: List[TensorMap], names: List[str], factors: List[float]
) -> TensorMap:
    """``sum_k factors[k] * tensors[k]``, values and gradients, for tensors with
    the same metadata (written out rather than with metatensor operations, which
    are much slower to compile in the first calls of an exported model)"""
    first = tensors[0]
    for tensor in tensors:
        _check_same_metadata(first.keys, tensor.keys, "keys", names)
    blocks: List[TensorBlock] = []
    for index in range(len(first.keys)):
        reference = first.block_by_id(index)
        values = factors[0] * reference.values
        for k in range(1, len(tensors)):
            block = tensors[k].block_by_id(index)
            _check_same_metadata(reference.samples, block.samples, "samples", names)
            _check_same_metadata(
                reference.properties, block.properties, "properties", names
            )
            values = values + factors[k] * block.values
        mixed = TensorBlock(
            values, reference.samples, reference.components, reference.properties
        )
        for parameter, gradient in reference.gradients():
            gradient_values = factors[0] * gradient.values
            for k in range(1, len(tensors)):
                other = tensors[k].block_by_id(index).gradient(parameter)
                _check_same_metadata(
                    gradient.samples,
                    other.samples,
                    parameter + " gradient samples",
                    names,
                )
                gradient_values = gradient_values + factors[k] * other.values
            mixed.add_gradient(
                parameter,
                TensorBlock(
                    gradient_values,
                    gradient.samples,
                    gradient.components,
                    gradient.properties,
                ),
            )
        blocks.append(mixed)
    return TensorMap(first.keys, blocks)


def _same_request(first: ModelOutput, second: ModelOutput) -> bool:
    """Whether the wrapped model can answer both requests with one output"""
    return (
        first.sample_kind == second.sample_kind
        and first.explicit_gradients == second.explicit_gradients
    )


class WeightedSum(torch.nn.Module):
    """Add to ``model`` the output ``output_name``, a fixed linear combination of
    some of its outputs:

    .. math::

        y_\\text{output\\_name} = \\sum_k w_k \\, y_k

    Every other output of ``model`` is kept as it is.

    The mixed outputs must be the same quantity (``energy``, ``energy/pbe`` and
    ``energy/r2scan`` can be mixed, ``energy`` and ``non_conservative_force`` can
    not), and ``output_name`` must be a new name for that quantity (for
    example ``energy/mix``). Their values are converted to the unit of the first
    one, which is the unit of the new output: units of a different dimension, or
    an empty unit mixed with a non-empty one, are refused. The new output is per
    atom if all the mixed outputs are, and only per system otherwise; its
    explicit gradients are those that all the mixed outputs provide, mixed with
    the same weights. Gradients computed by autograd (forces, stress) follow:
    the forces of the mix are the mix of the forces.

    :param model: the model to wrap, an :py:class:`AtomisticModel` (built here
        or loaded with :py:func:`load_atomistic_model`)
    :param output_name: name of the new output
    :param weights: output name => weight :math:`w_k`, for the outputs of
        ``model`` to mix

    Use :py:meth:`wrap` to get a new :py:class:`AtomisticModel` offering the new
    output, that can be saved and run by any engine:

    .. code-block:: python

        from metatomic.torch.weighted_sum import WeightedSum

        model = load_atomistic_model("model.pt")
        mixed = WeightedSum.wrap(
            model, "energy/mix", {"energy/pbe": 0.25, "energy/r2scan": 0.75}
        )
        mixed.save("mixed.pt")

    .. versionadded:: 0.1.19
    """

    _names: List[str]
    _factors: List[float]
    _units: List[str]

    def __init__(
        self, model: AtomisticModel, output_name: str, weights: Dict[str, float]
    ):
        super().__init__()
        model = as_atomistic_model(model)
        if not isinstance(output_name, str):
            raise TypeError(
                f"`output_name` must be a str, got {type(output_name).__name__}"
            )
        output_name = check_name(output_name, "WeightedSum output")
        weights = _check_weights(weights)

        available = model.capabilities().outputs
        if output_name in available:
            raise ValueError(
                f"the model already has an output named {output_name!r}: choose "
                "another `output_name` (e.g. a new variant such as "
                f"'{_base_quantity(output_name)}/mix')"
            )
        for name in weights:
            if name not in available:
                raise ValueError(
                    f"the model has no output {name!r} to mix, its outputs are "
                    f"{sorted(available)}"
                )

        quantity = _base_quantity(output_name)
        names = list(weights)
        for name in names:
            if _base_quantity(name) != quantity:
                raise ValueError(
                    f"can not mix {name!r} into {output_name!r}: the mixed outputs "
                    f"must be the quantity of `output_name` ('{quantity}')"
                )

        outputs = [available[name] for name in names]
        unit = outputs[0].unit
        factors: List[float] = []
        for name, output in zip(names, outputs):
            if (output.unit == "") != (unit == ""):
                raise ValueError(
                    f"can not mix {names[0]!r} (unit '{unit}') and {name!r} (unit "
                    f"'{output.unit}'): either all mixed outputs have a unit or none"
                )
            try:
                factor = unit_conversion_factor(output.unit, unit)
            except ValueError as error:
                raise ValueError(
                    f"can not mix {names[0]!r} and {name!r}: their units do not "
                    f"match ({error})"
                ) from error
            factors.append(weights[name] * factor)

        gradients = [
            gradient
            for gradient in outputs[0].explicit_gradients
            if all(gradient in output.explicit_gradients for output in outputs)
        ]
        terms = " + ".join(f"{weights[name]:g} * {name}" for name in names)
        output = ModelOutput(
            unit=unit,
            sample_kind=_mixed_sample_kind([o.sample_kind for o in outputs], names),
            explicit_gradients=gradients,
            description=f"weighted sum of outputs: {terms}",
        )
        # checks the name and the unit of the new output
        ModelCapabilities(outputs={output_name: output})

        self._model = model.module
        self._name = output_name
        # the names under which the wrapped module knows the mixed outputs
        self._names = [model._module_output_name(name) for name in names]
        self._factors = factors
        self._units = [o.unit for o in outputs]
        self._output = output

    @classmethod
    def wrap(
        cls,
        model: AtomisticModel,
        output_name: str,
        weights: Dict[str, float],
        normalize_coefficients: bool = False,
    ) -> AtomisticModel:
        """A new :py:class:`AtomisticModel` with the outputs of ``model`` and
        ``output_name``, their weighted sum (see :py:class:`WeightedSum`).

        :param model: the model to wrap
        :param output_name: name of the new output
        :param weights: output name => weight, for the outputs to mix
        :param normalize_coefficients: divide the weights by their sum (so that
            they add up to one)
        :return: the wrapped model, with the metadata of ``model``
        """
        model = as_atomistic_model(model)
        weights = _check_weights(weights)
        if normalize_coefficients:
            total = sum(weights.values())
            if total == 0.0:
                raise ValueError(
                    "can not normalize the weights: they sum to zero, set "
                    "`normalize_coefficients=False`"
                )
            weights = {name: weight / total for name, weight in weights.items()}

        wrapper = cls(model, output_name, weights)
        capabilities = capabilities_with(model, {wrapper._name: wrapper._output})
        return AtomisticModel(wrapper.eval(), model.metadata(), capabilities)

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels],
    ) -> Dict[str, TensorMap]:
        requests: Dict[str, ModelOutput] = {}
        for name, output in outputs.items():
            if name != self._name:
                requests[name] = output

        # the wrapped model is evaluated once, or twice if the requests of the
        # mixed outputs conflict with other requests (a single call site keeps
        # the compiled graph small)
        evaluations: List[Dict[str, ModelOutput]] = [requests]
        if self._name in outputs:
            request = outputs[self._name]
            mixed: Dict[str, ModelOutput] = {}
            shared = True
            for i in range(len(self._names)):
                name = self._names[i]
                mixed[name] = ModelOutput(
                    unit=self._units[i],
                    sample_kind=request.sample_kind,
                    explicit_gradients=request.explicit_gradients,
                )
                if name in requests and not _same_request(requests[name], mixed[name]):
                    shared = False
            if shared:
                evaluations = [requests.copy()]
                for name, output in mixed.items():
                    if name not in requests:
                        evaluations[0][name] = output
            else:
                evaluations.append(mixed)

        results: List[Dict[str, TensorMap]] = []
        for evaluation in evaluations:
            results.append(self._model(systems, evaluation, selected_atoms))

        final: Dict[str, TensorMap] = {}
        for name in requests:
            if name in results[0]:
                final[name] = results[0][name]
        if self._name in outputs:
            tensors: List[TensorMap] = []
            for name in self._names:
                tensors.append(results[-1][name])
            final[self._name] = _weighted_sum(tensors, self._names, self._factors)
        return final
