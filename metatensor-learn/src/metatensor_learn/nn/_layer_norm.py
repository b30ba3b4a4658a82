"""Layer normalization of the properties of each block"""

from typing import List, Optional, Union

import torch

from ._arguments import (
    invariant_mask,
    per_invariant_key,
    per_key,
)
from ._backend import Labels
from ._layers import IdentityLayer, LayerNormLayer
from ._module_map import MapModule, keeping_properties


class LayerNorm(MapModule):
    """Layer normalization over the properties of every block (for each sample
    and component): ``(x - mean) / sqrt(variance + eps) * weight + bias``.

    :param in_keys: the keys of the blocks to handle
    :param in_features: number of properties, for all keys or per key
    :param out_properties: properties of the output blocks (one Labels for all
        keys or one per key); by default those of the input blocks
    :param eps: added to the variance, for numerical stability
    :param elementwise_affine: whether to learn a per-property ``weight``
        (initialized to one) and ``bias`` (initialized to zero)
    :param bias: whether to learn the ``bias`` (with ``elementwise_affine``)
    :param mean: whether to subtract the mean (the variance is always the
        centered one)
    :param device: device of the parameters
    :param dtype: dtype of the parameters
    """

    def __init__(
        self,
        in_keys: Labels,
        in_features: Union[int, List[int]],
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
        *,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        mean: bool = True,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ):
        features = per_key(in_features, in_keys, "in_features", int)
        options = (eps, elementwise_affine, bias, mean, device, dtype)
        _init_layer_norm(self, in_keys, features, out_properties, options)


class InvariantLayerNorm(MapModule):
    """:py:class:`LayerNorm` on the invariant blocks only (see
    :py:class:`EquivariantLinear` for ``invariant_keys``), the other blocks are
    left as they are.

    :param in_features: number of properties, for all invariant keys or one
        entry per invariant key (in the order of ``in_keys``)

    The other parameters are those of :py:class:`LayerNorm`.
    """

    def __init__(
        self,
        in_keys: Labels,
        in_features: Union[int, List[int]],
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
        invariant_keys: Optional[Labels] = None,
        *,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        mean: bool = True,
        device: Optional[torch.device] = None,
        dtype: Optional[torch.dtype] = None,
    ):
        invariant = invariant_mask(in_keys, invariant_keys)
        features = per_invariant_key(in_features, invariant, "in_features", int)
        options = (eps, elementwise_affine, bias, mean, device, dtype)
        _init_layer_norm(self, in_keys, features, out_properties, options)


def _init_layer_norm(self, in_keys, features, out_properties, options):
    """Set up ``self`` with a layer norm of ``features[i]`` properties for the
    key ``i``, or nothing where ``features[i]`` is ``None``"""
    modules = [
        IdentityLayer() if count is None else LayerNormLayer(count, *options)
        for count in features
    ]
    MapModule.__init__(self, keeping_properties(in_keys, modules, out_properties))
