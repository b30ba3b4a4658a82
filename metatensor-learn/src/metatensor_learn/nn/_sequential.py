"""Chaining modules over TensorMaps"""

from typing import List, Optional, Tuple

import torch

from ._backend import Labels
from ._layers import SequentialLayer
from ._module_map import MapModule, ModuleMap


class Sequential(MapModule):
    """Apply ``module_maps`` one after the other, to TensorMaps with the keys
    ``in_keys``.

    Each of ``module_maps`` is a :py:class:`ModuleMap` or a module built on one
    (the other modules of this package), with these ``in_keys``. For each key,
    their modules are chained in a ``torch.nn.Sequential``:
    ``module.module_map[i][j]`` is the module of ``module_maps[j]`` for the key
    ``i`` (the same object, so parameters are shared). The output blocks get the
    properties that the last of ``module_maps`` would give them.

    :param in_keys: the keys of the TensorMaps this module handles
    :param module_maps: the modules to apply, in order
    """

    def __init__(self, in_keys: Labels, *module_maps: torch.nn.Module):
        if not isinstance(in_keys, Labels):
            raise TypeError(
                f"`in_keys` must be metatensor Labels, got {type(in_keys).__name__}"
            )
        maps: List[ModuleMap] = []
        for i, module in enumerate(module_maps):
            module_map = module
            if not isinstance(module, ModuleMap):
                module_map = getattr(module, "module_map", None)
            if not isinstance(module_map, ModuleMap):
                raise TypeError(
                    f"the module at position {i} of Sequential is a "
                    f"{type(module).__name__}, which is not built on a ModuleMap: "
                    "wrap torch modules in a ModuleMap first"
                )
            if module_map.in_keys != in_keys:
                raise ValueError(
                    f"the module at position {i} has different `in_keys` than "
                    "this Sequential"
                )
            maps.append(module_map)
        layers = [
            SequentialLayer(*[module_map[i] for module_map in maps])
            for i in range(len(in_keys))
        ]
        out_properties, keep_properties = _output_properties(maps)
        module_map = ModuleMap(in_keys, layers, out_properties)
        module_map._keep_properties = keep_properties
        super().__init__(module_map)


def _output_properties(maps: List[ModuleMap]) -> Tuple[Optional[List[Labels]], bool]:
    """The ``out_properties`` and ``_keep_properties`` of a single map giving the
    same output properties as applying ``maps`` one after the other. Going back
    from the last map, past the maps that keep the properties of their input,
    the first other map decides: its ``out_properties`` if it has them, else
    ``Labels("_", range(n))``; if every map keeps them, those of the input."""
    for module_map in reversed(maps):
        if module_map.out_properties is not None:
            return module_map.out_properties, False
        elif not module_map._keep_properties:
            return None, False
    return None, True
