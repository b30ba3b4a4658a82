"""Chaining modules over TensorMaps"""

import torch

from ._backend import Labels, TensorMap
from ._module import Module


class Sequential(torch.nn.Sequential, Module):
    """Apply ``module_maps`` one after the other, to TensorMaps with the keys
    ``in_keys`` (every module that has ``in_keys`` must have these)"""

    def __init__(self, in_keys: Labels, *module_maps: torch.nn.Module):
        super().__init__(*module_maps)
        if not isinstance(in_keys, Labels):
            raise TypeError(
                f"`in_keys` must be metatensor Labels, got {type(in_keys).__name__}"
            )
        for i, module in enumerate(module_maps):
            keys = getattr(module, "in_keys", None)
            if isinstance(keys, Labels) and keys != in_keys:
                raise ValueError(
                    f"the module at position {i} has different `in_keys` than "
                    "this Sequential"
                )
        self.register_buffer("_in_keys", in_keys)

    @property
    def in_keys(self) -> Labels:
        """The keys of the TensorMaps this module handles"""
        return self._in_keys

    def forward(self, tensor: TensorMap) -> TensorMap:
        for module in self:
            tensor = module(tensor)
        return tensor
