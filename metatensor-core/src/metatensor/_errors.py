"""Exceptions raised by metatensor (this module imports nothing, so that the C
extension can import it while the package is still initialising)"""


class MetatensorError(ValueError):
    """Invalid metadata, inconsistent data or malformed files.

    Upstream raises this for every error detected by its native library, so code
    catching ``MetatensorError`` keeps working; it is also a :py:class:`ValueError`.
    """

    __module__ = "metatensor"
