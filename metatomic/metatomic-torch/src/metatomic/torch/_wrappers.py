"""What the model wrappers (``WeightedSum``, ``HeatFlux``, ``DFTD3``, ...) share:
taking the model to wrap, and the capabilities and metadata of the wrapped model.

A wrapper holds the module of the model it wraps (``model.module``), also when
it is a compiled module loaded from a file: :py:meth:`AtomisticModel.save`
compiles such modules again against the TorchScript classes of this process
(see ``_rehome.py``), so that the wrapper can be saved.
"""

from typing import Dict, List, Optional

from ._metadata import ModelMetadata
from ._model import AtomisticModel, is_atomistic_model
from ._outputs import ModelCapabilities, ModelOutput


def as_atomistic_model(model) -> AtomisticModel:
    """``model`` as a Python :py:class:`AtomisticModel` (also from a compiled
    one, as ``torch.jit.load`` gives), for a wrapper of ``model``"""
    if isinstance(model, AtomisticModel):
        return model
    if is_atomistic_model(model):
        return AtomisticModel(model, model.metadata(), model.capabilities())
    raise TypeError(
        "`model` must be an AtomisticModel (wrap your module with "
        "`AtomisticModel(module, metadata, capabilities)`), got "
        f"{type(model).__module__}.{type(model).__name__}"
    )


def capabilities_with(
    model: AtomisticModel,
    outputs: Dict[str, ModelOutput],
    interaction_range: Optional[float] = None,
) -> ModelCapabilities:
    """The capabilities of ``model`` for a wrapper of ``model``: the outputs its
    module declares, with the (already checked) ``outputs`` added or replacing
    those with the same name, and ``interaction_range`` if given"""
    capabilities = model.capabilities()
    if interaction_range is None:
        interaction_range = capabilities.interaction_range
    result = ModelCapabilities(
        atomic_types=list(capabilities.atomic_types),
        interaction_range=interaction_range,
        length_unit=capabilities.length_unit,
        supported_devices=list(capabilities.supported_devices),
        dtype=capabilities.dtype,
    )
    # the outputs were checked already: set them without warning again
    declared = {
        name: capabilities.outputs[name]
        for name in model._model_capabilities_outputs_names
    }
    declared.update(outputs)
    result._outputs = declared
    return result


def metadata_with_references(
    metadata: ModelMetadata, kind: str, references: List[str]
) -> ModelMetadata:
    """``metadata`` with the ``references`` added (once) to those of ``kind``
    (``"model"``, ``"architecture"`` or ``"implementation"``)"""
    all_references = {k: list(entries) for k, entries in metadata.references.items()}
    entries = all_references.setdefault(kind, [])
    for reference in references:
        if reference not in entries:
            entries.append(reference)
    return ModelMetadata(
        name=metadata.name,
        description=metadata.description,
        authors=list(metadata.authors),
        references=all_references,
        extra=dict(metadata.extra),
    )
