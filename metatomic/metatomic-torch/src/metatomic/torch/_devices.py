"""Choosing where a model runs (``pick_device``) and which variant of an output
an engine uses (``pick_output``)."""

import warnings
from typing import Dict, List, Optional

import torch

from ._outputs import ModelOutput

KNOWN_DEVICE_TYPES = [
    "cpu",
    "cuda",
    "mps",
    "hip",
    "xla",
    "ipu",
    "xpu",
    "ve",
    "opencl",
    "opengl",
    "vulkan",
    "mkldnn",
    "ideep",
    "mtia",
    "meta",
    "hpu",
]


def _available(device_type: str) -> bool:
    if device_type == "cpu":
        return True
    if device_type == "cuda":
        return torch.cuda.is_available()
    if device_type == "mps":
        backend = getattr(torch.backends, "mps", None)
        return backend is not None and backend.is_available()
    if device_type == "xpu":
        return hasattr(torch, "xpu") and torch.xpu.is_available()
    if device_type == "meta":
        return True
    module = getattr(torch, device_type, None)
    is_available = getattr(module, "is_available", None)
    return bool(is_available()) if callable(is_available) else False


def pick_device(model_devices: List[str], desired_device: Optional[str] = None) -> str:
    """The device to run a model on.

    :param model_devices: the device types the model supports, in order of
        preference (``capabilities.supported_devices``)
    :param desired_device: the device the user asks for (``"cuda"``,
        ``"cuda:1"``, ...), or ``None`` for the first available supported one
    :return: the device, as a string usable by ``torch.device``
    :raises ValueError: when no supported device is available, or the desired
        one is not supported by the model or not available

    >>> pick_device(["cuda", "cpu"], "cpu")
    'cpu'
    """
    for device_type in model_devices:
        if device_type not in KNOWN_DEVICE_TYPES:
            warnings.warn(
                f"the model declares the unknown device type '{device_type}', it "
                "will be ignored",
                stacklevel=2,
            )
    supported = [d for d in model_devices if d in KNOWN_DEVICE_TYPES]

    if desired_device is None:
        for device_type in supported:
            if _available(device_type):
                return device_type
        raise ValueError(
            f"none of the devices supported by the model ({model_devices}) is "
            "available on this machine"
        )

    desired = str(desired_device)
    try:
        device_type = torch.device(desired).type
    except RuntimeError as e:
        raise ValueError(f"invalid desired device {desired!r}: {e}") from e
    if device_type not in supported:
        raise ValueError(
            f"the model does not support the device '{desired}': it supports "
            f"{model_devices}"
        )
    if not _available(device_type):
        raise ValueError(
            f"the device '{desired}' is supported by the model but not available "
            "on this machine"
        )
    return desired


def pick_output(
    requested_output: str,
    outputs: Dict[str, ModelOutput],
    desired_variant: Optional[str] = None,
) -> str:
    """The name of the output to use for ``requested_output``.

    :param requested_output: the base name of the output (``"energy"``)
    :param outputs: the outputs of the model (``capabilities.outputs``)
    :param desired_variant: the variant to use (``"pbe0"`` for
        ``"energy/pbe0"``), or ``None`` for the output without variant
    :return: ``requested_output`` or ``requested_output + "/" + desired_variant``
    :raises ValueError: when the output is not in ``outputs``; without a variant
        and without a default, the message lists the variants and their
        descriptions

    >>> outputs = {"energy": ModelOutput(unit="eV")}
    >>> pick_output("energy", outputs)
    'energy'
    """
    if desired_variant is not None:
        name = f"{requested_output}/{desired_variant}"
        if name not in outputs:
            raise ValueError(
                f"the model does not have the output '{name}': its "
                f"'{requested_output}' outputs are "
                f"{_variants(requested_output, outputs) or 'none'}"
            )
        return name

    if requested_output in outputs:
        return requested_output

    variants = [name for name in outputs if name.startswith(requested_output + "/")]
    if not variants:
        raise ValueError(f"the model does not have the output '{requested_output}'")
    described = "\n".join(
        f" - '{name}': {outputs[name].description or '(no description)'}"
        for name in variants
    )
    raise ValueError(
        f"the model has no default '{requested_output}' output, pick one of its "
        f"variants:\n{described}"
    )


def _variants(base: str, outputs: Dict[str, ModelOutput]) -> List[str]:
    return [name for name in outputs if name == base or name.startswith(base + "/")]
