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
            "`dimension` in 'one_hot' must have a single dimension, "
            f"got {dimension.names}"
        )
    name = dimension.names[0]
    if name not in labels.names:
        raise ValueError(
            f"'{name}' in 'one_hot' is not a dimension of the labels, "
            f"expected one of {labels.names}"
        )
    column = labels.column(name)
    possible = dimension.values.reshape(-1)
    order = _dispatch.argsort_rows(dimension.values, False)
    ordered = _dispatch.take(possible, order, 0)
    positions = _dispatch.searchsorted_positions(ordered, column)
    clipped = _dispatch.clip_index(positions, len(dimension))
    found = _dispatch.take(ordered, clipped, 0) == column
    if not bool(found.all()):
        raise ValueError(
            f"some values of '{name}' in the labels are not part of `dimension` in "
            "'one_hot'"
        )
    return _dispatch.one_hot(_dispatch.take(order, clipped, 0), len(dimension), column)
