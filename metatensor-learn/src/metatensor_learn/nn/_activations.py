"""Element-wise non-linearities on every block, or on the invariant blocks only"""

from typing import List, Optional, Union

from ._arguments import keys_mask
from ._backend import Labels
from ._layers import IdentityLayer, ReLULayer, SiLULayer, TanhLayer
from ._module_map import MapModule, keeping_properties


def _init_elementwise(self, in_keys, out_properties, make_layer, invariant_keys):
    """Set up ``self`` with ``make_layer()`` for every key, or (when
    ``invariant_keys`` is not ``False``) for the invariant keys only"""
    modules = [
        make_layer() if selected else IdentityLayer()
        for selected in keys_mask(in_keys, invariant_keys)
    ]
    MapModule.__init__(self, keeping_properties(in_keys, modules, out_properties))


class ReLU(MapModule):
    """``torch.nn.ReLU`` on every block. The output blocks keep the properties
    of the input ones, unless ``out_properties`` (one Labels for all keys or one
    per key) are given."""

    def __init__(
        self,
        in_keys: Labels,
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
        *,
        in_place: bool = False,
    ):
        _init_elementwise(
            self, in_keys, out_properties, lambda: ReLULayer(in_place), False
        )


class SiLU(MapModule):
    """``torch.nn.SiLU`` on every block, see :py:class:`ReLU`"""

    def __init__(
        self,
        in_keys: Labels,
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
        *,
        in_place: bool = False,
    ):
        _init_elementwise(
            self, in_keys, out_properties, lambda: SiLULayer(in_place), False
        )


class Tanh(MapModule):
    """``torch.nn.Tanh`` on every block, see :py:class:`ReLU`"""

    def __init__(
        self,
        in_keys: Labels,
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
    ):
        _init_elementwise(self, in_keys, out_properties, TanhLayer, False)


class InvariantReLU(MapModule):
    """``torch.nn.ReLU`` on the invariant blocks (see
    :py:class:`EquivariantLinear` for ``invariant_keys``), the other blocks are
    left as they are (a non-linearity applied to each component would break
    their equivariance)"""

    def __init__(
        self,
        in_keys: Labels,
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
        invariant_keys: Optional[Labels] = None,
        *,
        in_place: bool = False,
    ):
        _init_elementwise(
            self, in_keys, out_properties, lambda: ReLULayer(in_place), invariant_keys
        )


class InvariantSiLU(MapModule):
    """``torch.nn.SiLU`` on the invariant blocks, see :py:class:`InvariantReLU`"""

    def __init__(
        self,
        in_keys: Labels,
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
        invariant_keys: Optional[Labels] = None,
        *,
        in_place: bool = False,
    ):
        _init_elementwise(
            self, in_keys, out_properties, lambda: SiLULayer(in_place), invariant_keys
        )


class InvariantTanh(MapModule):
    """``torch.nn.Tanh`` on the invariant blocks, see :py:class:`InvariantReLU`"""

    def __init__(
        self,
        in_keys: Labels,
        out_properties: Optional[Union[Labels, List[Labels]]] = None,
        invariant_keys: Optional[Labels] = None,
    ):
        _init_elementwise(self, in_keys, out_properties, TanhLayer, invariant_keys)
