"""Compiling with TorchScript without its deprecation warning"""

import contextlib
import warnings


@contextlib.contextmanager
def no_deprecation_warning():
    """Hide the warning that ``torch.jit.script`` is deprecated (TorchScript is
    deprecated in favour of ``torch.export`` in recent torch, but it is what
    exported models use). Call ``torch.jit.script`` directly inside this block, at
    module level: TorchScript resolves the names of a class in the calling frame."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated")
        yield
