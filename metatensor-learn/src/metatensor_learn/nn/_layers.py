"""The torch modules applied to a single block by the modules of this package.

Each has a ``forward_gradient(values, gradient)`` method giving the gradient of
its output from the input ``values`` (at the rows of the gradient samples,
broadcastable against the gradient) and the input ``gradient`` values: the
chain rule, so that blocks with gradients stay consistent (see
:py:class:`ModuleMap`).
"""

from typing import Optional

import torch


class LinearLayer(torch.nn.Linear):
    """``torch.nn.Linear`` on the last dimension; gradients go through the
    weight only"""

    def forward_gradient(
        self, values: torch.Tensor, gradient: torch.Tensor
    ) -> torch.Tensor:
        return torch.nn.functional.linear(gradient, self.weight)


class ReLULayer(torch.nn.ReLU):
    """``torch.nn.ReLU`` with its gradient"""

    def forward_gradient(
        self, values: torch.Tensor, gradient: torch.Tensor
    ) -> torch.Tensor:
        return gradient * (values > 0).to(gradient.dtype)


class SiLULayer(torch.nn.SiLU):
    """``torch.nn.SiLU`` with its gradient"""

    def forward_gradient(
        self, values: torch.Tensor, gradient: torch.Tensor
    ) -> torch.Tensor:
        sigmoid = torch.sigmoid(values)
        return gradient * (sigmoid * (1 + values * (1 - sigmoid)))


class TanhLayer(torch.nn.Tanh):
    """``torch.nn.Tanh`` with its gradient"""

    def forward_gradient(
        self, values: torch.Tensor, gradient: torch.Tensor
    ) -> torch.Tensor:
        return gradient * (1 - torch.tanh(values) ** 2)


class IdentityLayer(torch.nn.Identity):
    """``torch.nn.Identity`` (for the blocks an invariant-only module leaves
    alone)"""

    def forward_gradient(
        self, values: torch.Tensor, gradient: torch.Tensor
    ) -> torch.Tensor:
        return gradient


class LayerNormLayer(torch.nn.Module):
    """Layer normalization over the last dimension (of size ``in_features``):
    ``(x - mean(x)) / sqrt(var(x) + eps) * weight + bias``, without subtracting
    the mean when ``mean`` is false (the variance is still the centered one)"""

    weight: Optional[torch.Tensor]
    bias: Optional[torch.Tensor]

    def __init__(
        self,
        in_features: int,
        eps: float,
        elementwise_affine: bool,
        bias: bool,
        mean: bool,
        device: Optional[torch.device],
        dtype: Optional[torch.dtype],
    ):
        super().__init__()
        self.in_features = in_features
        self.eps = eps
        self.mean = mean
        if elementwise_affine:
            self.weight = torch.nn.Parameter(
                torch.ones(in_features, device=device, dtype=dtype)
            )
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = torch.nn.Parameter(
                torch.zeros(in_features, device=device, dtype=dtype)
            )
        else:
            self.register_parameter("bias", None)

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, eps={self.eps}, mean={self.mean}, "
            f"elementwise_affine={self.weight is not None}, "
            f"bias={self.bias is not None}"
        )

    def _scale(self, values: torch.Tensor) -> torch.Tensor:
        variance = values.var(dim=-1, unbiased=False, keepdim=True)
        return torch.sqrt(variance + self.eps)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        if values.shape[-1] != self.in_features:
            raise ValueError(
                "LayerNorm expected "
                + str(self.in_features)
                + " features, got "
                + str(values.shape[-1])
            )
        result = values
        if self.mean:
            result = values - values.mean(dim=-1, keepdim=True)
        result = result / self._scale(values)
        weight = self.weight
        if weight is not None:
            result = result * weight
        bias = self.bias
        if bias is not None:
            result = result + bias
        return result

    def forward_gradient(
        self, values: torch.Tensor, gradient: torch.Tensor
    ) -> torch.Tensor:
        scale = self._scale(values)
        centered = values - values.mean(dim=-1, keepdim=True)
        # derivative of the scale: mean(centered * d values) / scale
        d_scale = (centered * gradient).mean(dim=-1, keepdim=True) / scale
        if self.mean:
            numerator = centered
            d_numerator = gradient - gradient.mean(dim=-1, keepdim=True)
        else:
            numerator = values
            d_numerator = gradient
        result = d_numerator / scale - numerator * d_scale / (scale * scale)
        weight = self.weight
        if weight is not None:
            result = result * weight
        return result


class SequentialLayer(torch.nn.Sequential):
    """``torch.nn.Sequential`` with its gradient: the chain rule through each
    module (modules without ``forward_gradient`` are applied to the gradient as
    they are, see :py:class:`ModuleMap`)"""

    def forward_gradient(
        self, values: torch.Tensor, gradient: torch.Tensor
    ) -> torch.Tensor:
        for module in self:
            if hasattr(module, "forward_gradient"):
                new_gradient = module.forward_gradient(values, gradient)
            else:
                new_gradient = module(gradient)
            # after the gradient: in-place modules may modify `values`
            values = module(values)
            gradient = new_gradient
        return gradient
