"""Operations on metatensor ``TensorMap`` and ``TensorBlock``: creation, math,
reductions, manipulation, comparisons and linear algebra, for numpy and torch
data. They are also available as ``metatensor.<name>``.
"""

# fails with installation instructions when metatensor-core is out of range
from . import _version_check  # noqa: F401, I001

# one line per public name, kept sorted by module
from ._array_flags import detach as detach
from ._array_flags import detach_block as detach_block
from ._array_flags import is_contiguous as is_contiguous
from ._array_flags import is_contiguous_block as is_contiguous_block
from ._array_flags import make_contiguous as make_contiguous
from ._array_flags import make_contiguous_block as make_contiguous_block
from ._array_flags import remove_gradients as remove_gradients
from ._array_flags import remove_gradients_block as remove_gradients_block
from ._array_flags import requires_grad as requires_grad
from ._array_flags import requires_grad_block as requires_grad_block
from ._checks import checks_enabled as checks_enabled
from ._checks import unsafe_disable_checks as unsafe_disable_checks
from ._checks import unsafe_enable_checks as unsafe_enable_checks
from ._compare import allclose as allclose
from ._compare import allclose_block as allclose_block
from ._compare import allclose_block_raise as allclose_block_raise
from ._compare import allclose_raise as allclose_raise
from ._compare import equal as equal
from ._compare import equal_block as equal_block
from ._compare import equal_block_raise as equal_block_raise
from ._compare import equal_metadata as equal_metadata
from ._compare import equal_metadata_block as equal_metadata_block
from ._compare import equal_metadata_block_raise as equal_metadata_block_raise
from ._compare import equal_metadata_raise as equal_metadata_raise
from ._compare import equal_raise as equal_raise
from ._creation import block_from_array as block_from_array
from ._creation import empty_like as empty_like
from ._creation import empty_like_block as empty_like_block
from ._creation import ones_like as ones_like
from ._creation import ones_like_block as ones_like_block
from ._creation import random_uniform_like as random_uniform_like
from ._creation import random_uniform_like_block as random_uniform_like_block
from ._creation import zeros_like as zeros_like
from ._creation import zeros_like_block as zeros_like_block
from ._dimensions import append_dimension as append_dimension
from ._dimensions import insert_dimension as insert_dimension
from ._dimensions import permute_dimensions as permute_dimensions
from ._dimensions import remove_dimension as remove_dimension
from ._dimensions import rename_dimension as rename_dimension
from ._dot import dot as dot
from ._join import join as join
from ._join import join_blocks as join_blocks
from ._linalg import lstsq as lstsq
from ._linalg import solve as solve
from ._math import abs as abs
from ._math import add as add
from ._math import divide as divide
from ._math import multiply as multiply
from ._math import pow as pow
from ._math import subtract as subtract
from ._reduce import mean_over_properties as mean_over_properties
from ._reduce import mean_over_properties_block as mean_over_properties_block
from ._reduce import mean_over_samples as mean_over_samples
from ._reduce import mean_over_samples_block as mean_over_samples_block
from ._reduce import std_over_properties as std_over_properties
from ._reduce import std_over_properties_block as std_over_properties_block
from ._reduce import std_over_samples as std_over_samples
from ._reduce import std_over_samples_block as std_over_samples_block
from ._reduce import sum_over_properties as sum_over_properties
from ._reduce import sum_over_properties_block as sum_over_properties_block
from ._reduce import sum_over_samples as sum_over_samples
from ._reduce import sum_over_samples_block as sum_over_samples_block
from ._reduce import var_over_properties as var_over_properties
from ._reduce import var_over_properties_block as var_over_properties_block
from ._reduce import var_over_samples as var_over_samples
from ._reduce import var_over_samples_block as var_over_samples_block
from ._one_hot import one_hot as one_hot
from ._select_blocks import drop_blocks as drop_blocks
from ._select_blocks import drop_empty_blocks as drop_empty_blocks
from ._select_blocks import filter_blocks as filter_blocks
from ._slice import slice as slice
from ._slice import slice_block as slice_block
from ._slice import split as split
from ._slice import split_block as split_block
from ._sort import sort as sort
from ._sort import sort_block as sort_block
from ._unique_metadata import unique_metadata as unique_metadata
from ._unique_metadata import unique_metadata_block as unique_metadata_block
from ._utils import NotEqualError as NotEqualError
from ._version import __version__ as __version__

# every public name imported above
__all__ = sorted(
    name
    for name, value in list(globals().items())
    if not name.startswith("_") and type(value).__name__ != "module"
) + ["__version__"]
