"""Warnings shown once per process, in eager Python and inside TorchScript"""

import warnings
from typing import Dict

import torch

# messages already shown in eager Python
_SHOWN: Dict[str, bool] = {}


def warn_once(message: str, deprecation: bool = False):
    """Warn with ``message`` the first time it is seen in this process.

    In eager Python, deprecations are ``DeprecationWarning`` and other messages
    ``UserWarning``; TorchScript only has ``UserWarning`` and no global state, so
    there the warning is left to the deduplication of Python's warning filters.
    """
    if not torch.jit.is_scripting():
        if message in _SHOWN:
            return
        _SHOWN[message] = True
        category = DeprecationWarning if deprecation else UserWarning
        warnings.warn(message, category, stacklevel=3)
    else:
        warnings.warn(message, stacklevel=2)
