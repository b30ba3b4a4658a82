"""One torch module per key of a TensorMap"""

import copy
from typing import List, Optional

import torch

from ._arguments import out_properties_per_key
from ._backend import (
    Labels,
    LabelsEntry,
    TensorBlock,
    TensorMap,
    labels_on,
    sample_indices,
)
from ._module import Module


class ModuleMap(Module):
    """Apply ``modules[i]`` to the block with key ``in_keys[i]``.

    Each module acts on the block values, an array of shape ``(samples,
    *components, properties)``, and must keep the samples and components. The
    properties of the output blocks are ``out_properties[i]``; without
    ``out_properties``, ``Labels("_", range(n))`` for ``n`` output features.
    The modules are in the ``module_list`` attribute (a ``torch.nn.ModuleList``);
    ``module_map[i]``, ``len(module_map)`` and iterating give them too.

    Gradients go through the same module: a module with a method
    ``forward_gradient(values, gradient)`` gets the input values at the rows of
    the gradient samples (broadcastable against the gradient, of shape
    ``(gradient samples, 1, ..., 1, *components, properties)``) and the gradient
    values, and returns the gradient of its output (the modules of this package
    have it: their gradients follow the chain rule, e.g. no bias for
    :py:class:`Linear`). Other modules are applied to the gradient values
    directly, which is right for linear maps without bias. Gradients of
    gradients are refused.

    :param in_keys: the keys of the blocks this module handles, one per module
    :param modules: the torch modules, in the order of ``in_keys``
    :param out_properties: the properties of the output block of each module
    """

    # TorchScript reads the attribute types here (the lists may be empty)
    _out_properties: List[Labels]
    _keep_properties: bool

    def __init__(
        self,
        in_keys: Labels,
        modules: List[torch.nn.Module],
        out_properties: Optional[List[Labels]] = None,
    ):
        super().__init__()
        modules = list(modules)
        if not isinstance(in_keys, Labels):
            raise TypeError(
                f"`in_keys` must be metatensor Labels, got {type(in_keys).__name__}"
            )
        if len(in_keys) != len(modules):
            raise ValueError(
                f"got {len(modules)} modules for {len(in_keys)} `in_keys`: give "
                "one module per key"
            )
        self.module_list = torch.nn.ModuleList(modules)
        self.register_buffer("_in_keys", in_keys)
        if out_properties is None:
            # not saved, like upstream: `_out_properties` is only in the state
            # when given
            self.register_buffer("_out_properties", [], persistent=False)
        else:
            self.register_buffer(
                "_out_properties", _checked_out_properties(out_properties, in_keys)
            )
        # the modules of this package that keep the number of features also
        # keep the properties when `out_properties` is not given
        self._keep_properties = False

    @classmethod
    def from_module(
        cls,
        in_keys: Labels,
        module: torch.nn.Module,
        out_properties: Optional[List[Labels]] = None,
    ) -> "ModuleMap":
        """A map applying a deep copy of ``module`` to every key of ``in_keys``"""
        modules = [copy.deepcopy(module) for _ in range(len(in_keys))]
        return cls(in_keys, modules, out_properties)

    @property
    def in_keys(self) -> Labels:
        """The keys of the blocks this module handles"""
        return self._in_keys

    @property
    def out_properties(self) -> Optional[List[Labels]]:
        """The properties of the output blocks, if given at construction (or
        restored from a checkpoint)"""
        if len(self._out_properties) == 0:
            return None
        return self._out_properties

    def __len__(self) -> int:
        return len(self.module_list)

    def __getitem__(self, index):
        return self.module_list[index]

    def __iter__(self):
        return iter(self.module_list)

    def forward(self, tensor: TensorMap) -> TensorMap:
        """Apply the module of each key to the corresponding block of ``tensor``,
        whose keys must all be in ``in_keys``"""
        blocks: List[TensorBlock] = []
        keys = tensor.keys
        for i in range(len(keys)):
            blocks.append(self.forward_block(keys.entry(i), tensor.block_by_id(i)))
        return TensorMap(keys, blocks)

    def forward_block(self, key: LabelsEntry, block: TensorBlock) -> TensorBlock:
        """Apply the module for ``key`` to ``block``"""
        position = self._in_keys.position(key)
        if position is None:
            raise ValueError(
                "this ModuleMap has no module for the key " + str(key) + ": its "
                "in_keys are " + str(self._in_keys)
            )
        values = block.values
        parameters = block.gradients_list()
        gradients: List[TensorBlock] = []
        for parameter in parameters:
            gradient = block.gradient(parameter)
            if len(gradient.gradients_list()) != 0:
                raise ValueError(
                    "gradients of gradients are not supported by ModuleMap "
                    "(the gradient with respect to '" + parameter + "' has some)"
                )
            gradients.append(gradient)

        new_values = values
        new_gradients: List[torch.Tensor] = []
        for i, module in enumerate(self.module_list):
            if i == position:
                if hasattr(module, "forward_gradient"):
                    # the rows are gathered (copied) before the module runs, which
                    # may modify the values in place
                    rows: List[torch.Tensor] = []
                    for gradient in gradients:
                        rows.append(_gradient_rows(values, gradient))
                    new_values = module(values)
                    for j in range(len(gradients)):
                        new_gradients.append(
                            module.forward_gradient(rows[j], gradients[j].values)
                        )
                else:
                    new_values = module(values)
                    for gradient in gradients:
                        new_gradients.append(module(gradient.values))

        if new_values.shape[:-1] != values.shape[:-1]:
            raise ValueError(
                "the module for the key " + str(key) + " changed the shape of "
                "the values from "
                + str(list(values.shape))
                + " to "
                + str(list(new_values.shape))
                + ": modules in a ModuleMap may "
                "only change the last (properties) dimension"
            )
        properties = self._properties(position, block, new_values)
        result = TensorBlock(new_values, block.samples, block.components, properties)
        for j in range(len(gradients)):
            result.add_gradient(
                parameters[j],
                TensorBlock(
                    new_gradients[j],
                    gradients[j].samples,
                    gradients[j].components,
                    properties,
                ),
            )
        return result

    def _properties(
        self, position: int, block: TensorBlock, values: torch.Tensor
    ) -> Labels:
        count = values.shape[-1]
        if len(self._out_properties) != 0:
            properties = self._out_properties[position]
            if len(properties) != count:
                raise ValueError(
                    "the module for the key at position " + str(position) + " of "
                    "in_keys gives " + str(count) + " features, but its "
                    "out_properties have " + str(len(properties)) + " entries"
                )
            return properties
        if self._keep_properties and count == len(block.properties):
            return block.properties
        return labels_on(Labels.range("_", count), values.device)


class MapModule(Module):
    """Base of the modules built on a :py:class:`ModuleMap`, which they keep as
    ``module_map`` (so their ``state_dict`` has the layout of upstream
    metatensor-learn: ``module_map.module_list.<i>.<parameter>``)

    :param module_map: the map doing the work of ``forward``
    """

    def __init__(self, module_map: ModuleMap):
        super().__init__()
        self.module_map = module_map

    @property
    def in_keys(self) -> Labels:
        """The keys of the blocks this module handles"""
        return self.module_map.in_keys

    @property
    def out_properties(self) -> Optional[List[Labels]]:
        """The properties of the output blocks, if given at construction"""
        return self.module_map.out_properties

    def forward(self, tensor: TensorMap) -> TensorMap:
        """Apply the module of each key to the corresponding block of ``tensor``,
        whose keys must all be in ``in_keys``"""
        return self.module_map(tensor)


def keeping_properties(in_keys: Labels, modules, out_properties) -> ModuleMap:
    """A map of ``modules`` that keep the number of features (activations, layer
    norms): its output blocks keep the properties of the input ones, unless
    ``out_properties`` (one Labels for all keys or one per key) are given"""
    module_map = ModuleMap(
        in_keys, modules, out_properties_per_key(out_properties, in_keys)
    )
    module_map._keep_properties = True
    return module_map


def _gradient_rows(values: torch.Tensor, gradient: TensorBlock) -> torch.Tensor:
    """The rows of ``values`` each gradient sample refers to, shaped to broadcast
    against the gradient values (ones for the gradient components)"""
    sample = sample_indices(gradient.samples, values.device)
    shape: List[int] = [len(sample)]
    for _ in range(len(gradient.values.shape) - len(values.shape)):
        shape.append(1)
    for size in values.shape[1:]:
        shape.append(size)
    return values.index_select(0, sample).reshape(shape)


def _checked_out_properties(out_properties, in_keys: Labels) -> List[Labels]:
    """``out_properties`` as a list, checked to hold one Labels per key"""
    out_properties = list(out_properties)
    if len(out_properties) != len(in_keys):
        raise ValueError(
            f"got {len(out_properties)} `out_properties` for {len(in_keys)} "
            "`in_keys`: give one Labels per key"
        )
    for labels in out_properties:
        if not isinstance(labels, Labels):
            raise TypeError(
                "`out_properties` must be a list of metatensor Labels, got an "
                f"element of type {type(labels).__name__}"
            )
    return out_properties
