"""Compiling with TorchScript without its deprecation warnings"""

import contextlib
import warnings

import torch


@contextlib.contextmanager
def no_deprecation_warning():
    """Hide the warnings that ``torch.jit.script``, ``save`` and ``load`` are
    deprecated: TorchScript is deprecated in favour of ``torch.export`` in recent
    torch, but it is what exported models use"""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`torch.jit.[a-z]*` is deprecated")
        yield


def script_class(cls):
    """Compile ``cls`` with TorchScript. Call it in the module defining ``cls``,
    after the functions it uses: TorchScript resolves names in the frame of the
    caller"""
    with no_deprecation_warning():
        torch.jit.script(cls, _frames_up=1)
    return cls
