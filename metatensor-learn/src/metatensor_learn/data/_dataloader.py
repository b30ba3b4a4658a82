"""A torch DataLoader joining TensorMaps in batches: ``DataLoader``."""

import torch

from ._collate import group_and_join


class DataLoader(torch.utils.data.DataLoader):
    """A :py:class:`torch.utils.data.DataLoader` whose default ``collate_fn`` is
    :py:func:`group_and_join`: batches are named tuples ``Batch`` where TensorMaps
    are joined along samples and torch tensors stacked.

    Every other argument (``batch_size``, ``shuffle``, ``sampler``, e.g. a
    :py:class:`torch.utils.data.distributed.DistributedSampler`, ``num_workers``,
    ...) works as in torch, given as keyword arguments.

    :param dataset: the dataset, e.g. a :py:class:`Dataset` or
        :py:class:`IndexedDataset`
    :param collate_fn: function turning a list of samples into a batch
    :param kwargs: keyword arguments of :py:class:`torch.utils.data.DataLoader`

    >>> import torch
    >>> from metatensor_learn.data import Dataset
    >>> dataset = Dataset(x=[torch.full((2,), float(i)) for i in range(5)], i=list(range(5)))
    >>> for batch in DataLoader(dataset, batch_size=2):
    ...     print(batch.i, tuple(batch.x.shape))
    (0, 1) (2, 2)
    (2, 3) (2, 2)
    (4,) (1, 2)
    """

    def __init__(self, dataset, collate_fn=group_and_join, **kwargs):
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(
                "`collate_fn` of DataLoader must be callable, got "
                f"{type(collate_fn).__name__}: give the other arguments (e.g. "
                "`batch_size`) by keyword"
            )
        super().__init__(dataset, collate_fn=collate_fn, **kwargs)
