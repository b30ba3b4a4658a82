"""Type stub of the C extension (its pure-Python twin is ``_labels_py.py``)"""

from typing import List, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

_Entry = Union[Tuple[int, ...], List[int], npt.NDArray[np.integer]]

class LabelsIndex:
    """Hash index over the rows of a 2-D int32 array"""

    def __init__(
        self, values: npt.NDArray[np.int32], check_unique: bool = True
    ) -> None: ...
    @property
    def values(self) -> npt.NDArray[np.int32]:
        """the indexed 2-D int32 array (the index keeps a reference to it; it must
        not be modified while the index is used)"""
    def __len__(self) -> int: ...
    def position(self, entry: _Entry, /) -> int | None:
        """Row number of ``entry``, or None when absent (also when a value is
        outside the int32 range); bools are rejected with TypeError"""
    def positions(
        self,
        queries: npt.NDArray[np.int32],
        columns: Sequence[int] | None = None,
    ) -> npt.NDArray[np.int64]:
        """Row number of each row of ``queries`` (seen through ``columns``), -1
        where absent"""

def is_sorted(values: npt.NDArray[np.int32], /) -> bool:
    """True if the rows of ``values`` are strictly increasing (signed,
    lexicographic)"""

def unique_rows(
    arrays: Union[List[npt.NDArray[np.int32]], Tuple[npt.NDArray[np.int32], ...]], /
) -> Tuple[npt.NDArray[np.int32], List[npt.NDArray[np.int64]]]:
    """The distinct rows in order of first appearance, and an int64 inverse for
    each input"""

def argsort_rows(values: npt.NDArray[np.int32], /) -> npt.NDArray[np.int64]:
    """The stable permutation sorting the rows of ``values``"""

def readonly_view(values: npt.NDArray[np.int32], /) -> npt.NDArray[np.int32]:
    """The C-contiguous 2-D int32 array ``values``, read-only for good without a
    copy: a view that numpy refuses to make writeable (its base is a read-only
    memoryview); nothing may write to ``values`` afterwards"""

def readonly_copy(values: npt.NDArray[np.int32], /) -> npt.NDArray[np.int32]:
    """A C-contiguous copy of the 2-D int32 array ``values``, read-only for good
    (see ``readonly_view``)"""
