"""Metadata checks shared by the operations.

TorchScript can not catch exceptions, so each check is an ``*_impl`` function
returning ``""`` when everything is fine and an error message otherwise; callers
raise it (``*_raise`` functions) or turn it into a bool.
"""

import warnings
from typing import List

from ._backend import Labels, TensorBlock, TensorMap


class NotEqualError(Exception):
    """Raised by the ``*_raise`` comparison functions when their inputs differ"""


def _is_torch_class(cls) -> bool:
    return cls.__module__.startswith(("metatensor.torch", "metatensor_torch", "torch"))


def check_type(value, expected, name: str, function: str):
    """Eager-only (call it under ``if not torch_jit_is_scripting()``): raise
    TypeError when the argument ``name`` of ``function`` is not an instance of the
    class ``expected`` (a TensorMap, TensorBlock or Labels class). A metatensor-torch
    object given to a metatensor-core operation first warns that the operation of
    ``metatensor.torch`` should be used."""
    if isinstance(value, expected):
        return
    if _is_torch_class(type(value)) and not _is_torch_class(expected):
        warnings.warn(
            "Trying to use operations from metatensor with objects from "
            "metatensor-torch, you should use the operation from `metatensor.torch` "
            f"as well, e.g. `metatensor.torch.{function}(...)` instead of "
            f"`metatensor.{function}(...)`",
            UserWarning,
            stacklevel=4,
        )
    raise TypeError(
        f"`{name}` must be a metatensor {expected.__name__}, not {type(value)} "
        f"(in '{function}')"
    )


def _check_same_keys_impl(first: TensorMap, second: TensorMap, function: str) -> str:
    """Check that two maps have the same keys (same names, same entries in any
    order)"""
    keys_1 = first.keys
    keys_2 = second.keys
    if keys_1.names != keys_2.names:
        return (
            f"inputs to '{function}' should have the same keys names, "
            f"got {keys_1.names} and {keys_2.names}"
        )
    if len(keys_1) != len(keys_2):
        return (
            f"inputs to '{function}' should have the same number of blocks, "
            f"got {len(keys_1)} and {len(keys_2)}"
        )
    for i in range(len(keys_1)):
        entry = keys_1.entry(i)
        if keys_2.position(entry) is None:
            return (
                f"inputs to '{function}' should have the same keys, "
                f"{entry.print()} is missing from the second one"
            )
    return ""


def _check_same_keys_raise(first: TensorMap, second: TensorMap, function: str):
    message = _check_same_keys_impl(first, second, function)
    if message != "":
        raise NotEqualError(message)


def _check_labels_impl(
    first: Labels, second: Labels, what: str, function: str, where: str
) -> str:
    if first.names != second.names:
        return (
            f"inputs to '{function}' should have the same {what} names{where}, "
            f"got {first.names} and {second.names}"
        )
    if not (first == second):
        return f"inputs to '{function}' should have the same {what}{where}"
    return ""


def _check_blocks_impl(
    first: TensorBlock,
    second: TensorBlock,
    function: str,
    check: List[str],
    where: str = "",
) -> str:
    """Check the metadata of two blocks: ``check`` lists the axes to compare
    (``"samples"``, ``"components"``, ``"properties"``)"""
    for axis in check:
        if axis == "samples":
            message = _check_labels_impl(
                first.samples, second.samples, "samples", function, where
            )
        elif axis == "properties":
            message = _check_labels_impl(
                first.properties, second.properties, "properties", function, where
            )
        elif axis == "components":
            components_1 = first.components
            components_2 = second.components
            if len(components_1) != len(components_2):
                return (
                    f"inputs to '{function}' have a different number of "
                    f"components{where}, got {len(components_1)} and "
                    f"{len(components_2)}"
                )
            message = ""
            for i in range(len(components_1)):
                message = _check_labels_impl(
                    components_1[i], components_2[i], "components", function, where
                )
                if message != "":
                    break
        else:
            raise ValueError(
                f"invalid axis '{axis}' to check, expected 'samples', 'components' "
                "or 'properties'"
            )
        if message != "":
            return message
    return ""


def _check_same_gradient_parameters_impl(
    first: TensorBlock, second: TensorBlock, function: str, where: str = ""
) -> str:
    """Check that two blocks have gradients with respect to the same parameters
    (in any order); their metadata is not compared"""
    parameters_1 = first.gradients_list()
    parameters_2 = second.gradients_list()
    if len(parameters_1) == len(parameters_2):
        if len(parameters_1) == 0 or parameters_1 == parameters_2:
            return ""
        if sorted(parameters_1) == sorted(parameters_2):
            return ""
    return (
        f"inputs to '{function}' should have the same gradient parameters{where}, "
        f"got {parameters_1} and {parameters_2}"
    )


def _check_same_gradients_impl(
    first: TensorBlock,
    second: TensorBlock,
    function: str,
    check: List[str],
    where: str = "",
) -> str:
    """Check that two blocks have the same gradients, with the same metadata on
    the ``check`` axes (gradients of gradients are not compared); ``where`` says
    which block this is in the messages"""
    message = _check_same_gradient_parameters_impl(first, second, function, where)
    if message != "":
        return message
    for parameter in first.gradients_list():
        message = _check_blocks_impl(
            first.gradient(parameter),
            second.gradient(parameter),
            function,
            check,
            f"{where} for the '{parameter}' gradients",
        )
        if message != "":
            return message
    return ""
