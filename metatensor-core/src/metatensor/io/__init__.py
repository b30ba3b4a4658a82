"""Reading and writing metatensor data: :py:class:`Labels` (bare NPY files),
:py:class:`TensorBlock` and :py:class:`TensorMap` (ZIP archives of NPY files, the
``.mts`` format), byte-compatible with upstream metatensor."""

from ._load import (
    create_numpy_array,
    create_torch_array,
    load,
    load_block,
    load_block_buffer,
    load_block_buffer_custom_array,
    load_block_custom_array,
    load_buffer,
    load_buffer_custom_array,
    load_custom_array,
    load_labels,
    load_labels_buffer,
)
from ._save import save, save_buffer

__all__ = [
    "create_numpy_array",
    "create_torch_array",
    "load",
    "load_block",
    "load_block_buffer",
    "load_block_buffer_custom_array",
    "load_block_custom_array",
    "load_buffer",
    "load_buffer_custom_array",
    "load_custom_array",
    "load_labels",
    "load_labels_buffer",
    "save",
    "save_buffer",
]

# public path of the functions (used by pickle, which stores it in the data)
for _name in __all__:
    globals()[_name].__module__ = "metatensor.io"
del _name
