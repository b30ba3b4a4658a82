"""Names of torch dtypes, also inside TorchScript (where ``str(dtype)`` gives a
number, e.g. ``6`` for ``torch.float32``)"""

import torch


def dtype_name(dtype: torch.dtype) -> str:
    """Name of a torch dtype, e.g. ``"torch.float64"`` (TorchScript shows dtypes
    as integers)"""
    dtypes = [
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.complex128,
        torch.complex64,
        torch.int64,
        torch.int32,
        torch.int16,
        torch.int8,
        torch.uint8,
        torch.bool,
    ]
    names = [
        "float64",
        "float32",
        "float16",
        "bfloat16",
        "complex128",
        "complex64",
        "int64",
        "int32",
        "int16",
        "int8",
        "uint8",
        "bool",
    ]
    for i in range(len(dtypes)):
        if dtype == dtypes[i]:
            return "torch." + names[i]
    return "an unknown dtype"
