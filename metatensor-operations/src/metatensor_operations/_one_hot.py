"""``one_hot``: one-hot encoding of one dimension of Labels."""

from . import _dispatch
from ._backend import Labels
from ._dispatch import Array


def one_hot(labels: Labels, dimension: Labels) -> Array:
    """One-hot encoding of the values that ``labels`` takes in the dimension named
    by ``dimension`` (Labels with a single dimension listing the possible values).

    :return: a 2-D int32 array (with the backend of ``labels``) of shape
        ``(len(labels), len(dimension))``, with a 1 in the column of the value of
        each entry, columns in the order of ``dimension``

    >>> import numpy as np
    >>> from metatensor import Labels
    >>> labels = Labels(["atom", "type"], np.array([[0, 6], [1, 1], [2, 6]]))
    >>> one_hot(labels, Labels(["type"], np.array([[1], [6], [8]])))
    array([[0, 1, 0],
           [1, 0, 0],
           [0, 1, 0]], dtype=int32)
    """
    if len(dimension.names) != 1:
        raise ValueError(
            "only one label dimension can be extracted as one-hot encoding, "
            f"`dimension` has {dimension.names}"
        )
    name = dimension.names[0]
    if name not in labels.names:
        raise ValueError(
            f"'{name}' not found in the dimensions of these Labels, expected one of "
            f"{labels.names} (in 'one_hot')"
        )
    column = labels.column(name)
    possible = dimension.values.reshape(-1)
    order = _dispatch.argsort_rows(dimension.values, False)
    ordered = _dispatch.take(possible, order, 0)
    positions = _dispatch.searchsorted_positions(ordered, column)
    clipped = _dispatch.clip_index(positions, len(dimension))
    found = _dispatch.take(ordered, clipped, 0) == column
    if not bool(found.all()):
        missing = _dispatch.to_int_list(
            _dispatch.take(column, _dispatch.nonzero(~found), 0)
        )
        raise ValueError(
            f"{name}={missing[0]} is present in the labels, but was not found in the "
            "dimension (in 'one_hot')"
        )
    return _dispatch.one_hot(_dispatch.take(order, clipped, 0), len(dimension), column)
