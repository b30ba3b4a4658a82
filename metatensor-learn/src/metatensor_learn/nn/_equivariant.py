"""Non-linear transformations that keep the equivariance of covariant blocks"""

import copy
from typing import List, Optional, Union

import torch

from ._arguments import (
    invariant_mask,
    out_features_per_key,
    out_properties_per_key,
    per_key,
)
from ._backend import Labels, LabelsEntry, TensorBlock, TensorMap
from ._module_map import MapModule, ModuleMap


class EquivariantTransformation(MapModule):
    """Apply a torch module to each block, keeping covariant blocks covariant.

    Invariant blocks (see :py:class:`EquivariantLinear` for ``invariant_keys``)
    go through their module as they are, which may change the number of
    features. For covariant blocks, the module gets the norms ``n`` of the
    features over the components (shape ``(samples, properties)``) and the
    output is ``x / n * module(n)``: the direction of each feature is kept and
    its norm transformed, so the output rotates like the input. These modules
    must keep the number of features. Covariant blocks with gradients are not
    supported.

    :param modules: a torch module (copied for every key) or one per key
    :param in_keys: the keys of the blocks to handle
    :param in_features: number of input properties, for all keys or per key
    :param out_features: number of output properties, for all keys or per key
        (checked against ``out_properties`` when both are given)
    :param out_properties: properties of the output blocks (one Labels for all
        keys, or one per key); by default ``Labels("_", range(n))``
    :param invariant_keys: the key values of the invariant blocks
    """

    # TorchScript reads the attribute type here (the list may be empty)
    _covariant: List[bool]

    def __init__(
        self,
        modules: Union[torch.nn.Module, List[torch.nn.Module]],
        in_keys: Labels,
        in_features: Union[int, List[int]],
        out_features: Optional[Union[int, List[int]]] = None,
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
        invariant_keys: Optional[Labels] = None,
    ):
        if isinstance(modules, torch.nn.Module):
            modules = [copy.deepcopy(modules) for _ in range(len(in_keys))]
        modules = per_key(list(modules), in_keys, "modules", torch.nn.Module)
        per_key(in_features, in_keys, "in_features", int)
        out_properties = out_properties_per_key(out_properties, in_keys)
        if out_features is not None:
            out_features_per_key(out_features, out_properties, in_keys)
        invariant = invariant_mask(in_keys, invariant_keys)
        super().__init__(ModuleMap(in_keys, modules, out_properties))
        self._covariant = [not is_invariant for is_invariant in invariant]

    def forward(self, tensor: TensorMap) -> TensorMap:
        """Transform each block of ``tensor``, whose keys must all be in
        ``in_keys``"""
        blocks: List[TensorBlock] = []
        keys = tensor.keys
        for i in range(len(keys)):
            key = keys.entry(i)
            block = tensor.block_by_id(i)
            position = self.module_map._in_keys.position(key)
            if position is not None and self._covariant[position]:
                blocks.append(self._forward_covariant(key, block))
            else:
                blocks.append(self.module_map.forward_block(key, block))
        return TensorMap(keys, blocks)

    def _forward_covariant(self, key: LabelsEntry, block: TensorBlock) -> TensorBlock:
        if len(block.gradients_list()) != 0:
            raise ValueError(
                "EquivariantTransformation does not support covariant blocks with "
                "gradients (the block for the key " + str(key) + " has some)"
            )
        values = block.values
        dimensions: List[int] = []
        for dimension in range(1, len(values.shape) - 1):
            dimensions.append(dimension)
        if len(dimensions) == 0:
            norm = torch.abs(values)
        else:
            norm = torch.sqrt(torch.sum(values * values, dim=dimensions))
        no_components: List[Labels] = []
        transformed = self.module_map.forward_block(
            key, TensorBlock(norm, block.samples, no_components, block.properties)
        )
        if transformed.values.shape[-1] != values.shape[-1]:
            raise ValueError(
                "the module for the covariant key "
                + str(key)
                + " gives "
                + str(transformed.values.shape[-1])
                + " features from "
                + str(values.shape[-1])
                + ": modules for covariant blocks must keep the number of features"
            )
        scale = torch.where(
            norm > 0, transformed.values / torch.where(norm > 0, norm, 1.0), 0.0
        )
        shape: List[int] = [values.shape[0]]
        for _ in dimensions:
            shape.append(1)
        shape.append(values.shape[-1])
        return TensorBlock(
            values * scale.reshape(shape),
            block.samples,
            block.components,
            transformed.properties,
        )
