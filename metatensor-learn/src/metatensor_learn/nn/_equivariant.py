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
from ._backend import Labels
from ._layers import NormLayer
from ._module_map import ModuleMap


class EquivariantTransformation(ModuleMap):
    """Apply a torch module to each block, keeping covariant blocks covariant.

    Invariant blocks (see :py:class:`EquivariantLinear` for ``invariant_keys``)
    go through their module as they are. For covariant blocks, the module gets
    the norms ``n`` of the features over the components (shape ``(samples, 1,
    ..., properties)``) and the output is ``x / n * module(n)``: the direction
    of each feature is kept and its norm transformed, so the output rotates like
    the input. These modules must keep the number of features. Blocks with
    gradients are not supported.

    :param modules: a torch module (copied for every key) or one per key
    :param in_keys: the keys of the blocks to handle
    :param in_features: number of input properties, for all keys or per key
    :param out_features: number of output properties, for all keys or per key
        (by default: ``in_features``, or the size of ``out_properties``)
    :param out_properties: properties of the output blocks (one Labels for all
        keys, or one per key); by default ``Labels("_", range(n))``
    :param invariant_keys: the key values of the invariant blocks
    """

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
        inputs = per_key(in_features, in_keys, "in_features", int)
        out_properties = out_properties_per_key(out_properties, in_keys)
        if out_features is None and out_properties is None:
            out_features = inputs
        outputs = out_features_per_key(out_features, out_properties, in_keys)
        invariant = invariant_mask(in_keys, invariant_keys)
        for i, is_invariant in enumerate(invariant):
            if not is_invariant:
                if inputs[i] != outputs[i]:
                    raise ValueError(
                        f"the module for the covariant key {in_keys.entry(i)} "
                        f"must keep the number of features ({inputs[i]}), got "
                        f"{outputs[i]} output features"
                    )
                modules[i] = NormLayer(modules[i])
        super().__init__(in_keys, modules, out_properties)
