"""Data: the IDX format, the data set registry, downloads and preprocessing.

>>> from backprop.data import load_dataset
>>> ds = load_dataset("mnist-sample")          # bundled, needs no network
>>> ds.X_train.shape, ds.X_test.shape
((4000, 28, 28), (1000, 28, 28))

See ``docs/data.md`` for the data sets, the cache folder and offline use.
"""

from __future__ import annotations

from backprop.data.datasets import DATASETS, Dataset, load_dataset
from backprop.data.idx import read_idx, write_idx
from backprop.data.preprocess import Preprocessor, one_hot, stratified_split

__all__ = [
    "DATASETS",
    "Dataset",
    "Preprocessor",
    "load_dataset",
    "one_hot",
    "read_idx",
    "stratified_split",
    "write_idx",
]
