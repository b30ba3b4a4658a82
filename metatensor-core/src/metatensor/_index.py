"""Selects the implementation of the label-indexing primitives.

The compiled extension ``_labels_ext`` is the default. Setting the environment
variable ``METATENSOR_NO_EXTENSION`` to ``1``/``true``/``yes``/``on`` before the first
import uses the pure-Python twin ``_labels_py`` instead (same API, same results);
the test-suite runs on both. A missing or broken extension is an import error,
never a silent fallback.
"""

import os


def _use_extension() -> bool:
    value = os.environ.get("METATENSOR_NO_EXTENSION", "")
    return value.strip().lower() not in ("1", "true", "yes", "on")


if _use_extension():
    from . import _labels_ext as impl
else:
    from . import _labels_py as impl

__all__ = ["impl"]
