"""Datasets of named samples and the data loader joining them in batches.

:py:class:`Dataset` and :py:class:`IndexedDataset` hold one value per sample in
each field (lists, or callables loading data lazily), :py:class:`DataLoader` is a
torch DataLoader whose default collate function, :py:func:`group_and_join`, joins
metatensor TensorMaps along samples and stacks torch tensors.
"""

from ._collate import group, group_and_join
from ._dataloader import DataLoader
from ._dataset import Dataset, IndexedDataset

__all__ = [
    "DataLoader",
    "Dataset",
    "IndexedDataset",
    "group",
    "group_and_join",
]


def _show_as_public(obj):
    """Give ``obj`` (and the methods of a class, so that doctest still finds
    their examples) the public module name"""
    private = obj.__module__
    obj.__module__ = __name__
    if isinstance(obj, type):
        for value in vars(obj).values():
            function = getattr(value, "__func__", value)
            if getattr(function, "__module__", None) == private:
                function.__module__ = __name__


for _object in (DataLoader, Dataset, IndexedDataset, group, group_and_join):
    _show_as_public(_object)
del _object
