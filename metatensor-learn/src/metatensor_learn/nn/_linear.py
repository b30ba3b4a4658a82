"""Linear maps of the properties of each block"""

from typing import List, Optional, Union

import torch

from ._arguments import (
    invariant_mask,
    out_features_per_key,
    out_properties_per_key,
    per_key,
)
from ._backend import Labels
from ._layers import LinearLayer
from ._module_map import MapModule, ModuleMap


class Linear(MapModule):
    """A ``torch.nn.Linear`` per key, acting on the properties of the block.
    The layers are ``module.module_map[i]``.

    :param in_keys: the keys of the blocks to handle
    :param in_features: number of input properties, for all keys or per key
    :param out_features: number of output properties, for all keys or per key;
        may be omitted when ``out_properties`` is given
    :param out_properties: properties of the output blocks (one Labels for all
        keys, or one per key); by default ``Labels("_", range(out_features))``
    :param bias: whether to learn an additive bias, for all keys or per key
    :param device: device of the parameters
    :param dtype: dtype of the parameters
    """

    def __init__(
        self,
        in_keys: Labels,
        in_features: Union[int, List[int]],
        out_features: Optional[Union[int, List[int]]] = None,
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
        *,
        bias: Union[bool, List[bool]] = True,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ):
        _init_linear(
            self,
            in_keys,
            in_features,
            out_features,
            out_properties,
            per_key(bias, in_keys, "bias", bool),
            device,
            dtype,
        )


class EquivariantLinear(MapModule):
    """A linear map of the properties of each block, with a bias only for the
    invariant blocks: acting on the properties only, it commutes with rotations
    of the components of covariant blocks.

    :param invariant_keys: the key values of the invariant blocks, matched on
        the dimensions of these Labels; by default ``o3_lambda=0, o3_sigma=1``

    The other parameters are those of :py:class:`Linear`; ``bias`` is only
    used for the invariant blocks.
    """

    def __init__(
        self,
        in_keys: Labels,
        in_features: Union[int, List[int]],
        out_features: Optional[Union[int, List[int]]] = None,
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
        invariant_keys: Optional[Labels] = None,
        *,
        bias: Union[bool, List[bool]] = True,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ):
        biases = per_key(bias, in_keys, "bias", bool)
        invariant = invariant_mask(in_keys, invariant_keys)
        biases = [
            bias and is_invariant for bias, is_invariant in zip(biases, invariant)
        ]
        _init_linear(
            self,
            in_keys,
            in_features,
            out_features,
            out_properties,
            biases,
            device,
            dtype,
        )


def _init_linear(
    self, in_keys, in_features, out_features, out_properties, biases, device, dtype
):
    out_properties = out_properties_per_key(out_properties, in_keys)
    inputs = per_key(in_features, in_keys, "in_features", int)
    outputs = out_features_per_key(out_features, out_properties, in_keys)
    modules = [
        LinearLayer(n_in, n_out, bias=bias, device=device, dtype=dtype)
        for n_in, n_out, bias in zip(inputs, outputs, biases)
    ]
    MapModule.__init__(self, ModuleMap(in_keys, modules, out_properties))
