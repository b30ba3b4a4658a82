"""Checking at import that the installed metatensor-torch is in the range this
package was written for (the same as in pyproject.toml)"""

from metatensor_torch import __version__ as metatensor_torch_version
from metatensor_torch._version_check import out_of_range

REQUIREMENTS = {
    "metatensor-torch": (metatensor_torch_version, (0, 10, 8), (0, 11, 0)),
}

_message = out_of_range(REQUIREMENTS, "metatomic-torch")
if _message:
    raise ImportError(_message)
