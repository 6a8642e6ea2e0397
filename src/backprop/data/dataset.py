"""A labelled data set in memory, and its labels turned into class indices.

:class:`Dataset` is what every reader returns: the registered data sets of
``backprop.data.datasets`` and the user's own files of ``backprop.data.userdata``;
:func:`classes_from_labels` names the classes of data that does not name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backprop.data.colour import colour_words
from backprop.errors import DataError
from backprop.limits import limit, over


@dataclass
class Dataset:
    """A labelled data set, raw as stored.

    Attributes
    ----------
    name : str
    X_train : numpy.ndarray, shape (N, ...)
        E.g. uint8 (N, 28, 28) for MNIST, float64 (N, 8, 8) for digits,
        float64 (4, 2) for xor.
    y_train : numpy.ndarray of int64, shape (N,)
    X_test, y_test : numpy.ndarray or None
        None only for the user's data without a test split (a CSV file, an
        ``.npz`` without ``X_test``, an IDX folder without ``t10k-*`` files or
        an image folder without ``test/``).
    class_names : list of str
    image_shape : tuple of int or None
        ``(28, 28)``, ``(8, 8)``...; ``(H, W, 3)`` for colour (RGB) images;
        None for non-image data.
    source : str
        Where the data came from (a folder, a file, "bundled").
    files : dict of str to pathlib.Path
        The files read, by role.
    notes : list of str
        What reading changed, one line each (images resized to one size).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    class_names: list[str]
    image_shape: tuple[int, ...] | None
    source: str = ""
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def n_classes(self) -> int:
        """Number of classes, ``len(class_names)``."""
        return len(self.class_names)

    def summary(self) -> str:
        """A few lines: sizes, shape, dtype, class counts and where the data lives."""
        lines = [f"data set   {self.name}", f"source     {self.source}"]
        for role, path in self.files.items():
            size = f"  ({path.stat().st_size:,} bytes)" if path.is_file() else ""
            lines.append(f"  {role:<13}{path}{size}")  # a folder: no size
        shape = self.image_shape if self.image_shape is not None else self.X_train.shape[1:]
        lines.append(f"sample     {tuple(shape)} {self.X_train.dtype}")
        if colour_words(self.image_shape):
            lines.append(f"pixels     {colour_words(self.image_shape)}")
        lines.append(f"classes    {self.n_classes}")
        parts = [("train", self.y_train)]
        if self.y_test is not None:
            parts.append(("test", self.y_test))
        for label, y in parts:
            counts = np.bincount(y, minlength=self.n_classes)
            lines.append(f"{label:<10} {len(y):,} items")
            lines.append(
                "  " + "  ".join(f"{n}:{int(c)}" for n, c in zip(self.class_names, counts))
            )
        if self.y_test is None:
            lines.append("test       none (hold out a validation split instead)")
        lines += self.notes
        return "\n".join(lines)


def classes_from_labels(
    y: np.ndarray, y_test: np.ndarray | None, where: str
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Classes are the sorted distinct labels; return the labels as class indices and the names.

    Labels that already are ``0..K-1`` pass through unchanged (names ``"0"``..);
    otherwise each label becomes the index of its value among the distinct
    values, so one absurd label (say 2**40) adds one class, not 2**40.

    Parameters
    ----------
    y : ndarray, shape (N,)
        Integer (int64) or string labels of the training split.
    y_test : ndarray, shape (M,), or None
        The test split's labels, of the same kind.
    where : str
        The file or folder, for messages.

    Returns
    -------
    y, y_test : ndarray of int64
        Class indices.
    names : list of str
        The distinct labels as text, sorted (numerically for integers).

    Raises
    ------
    DataError
        No labels, or more distinct labels than ``BACKPROP_MAX_CLASSES``.
    """
    both = y if y_test is None else np.concatenate([y, y_test])
    if both.size == 0:
        raise DataError(f"{where}: holds no items; give a data set with at least one item")
    values = np.unique(both)
    if len(values) > limit("BACKPROP_MAX_CLASSES"):
        raise DataError(f"{where}: " + over(
            "BACKPROP_MAX_CLASSES", "the labels hold", len(values), unit="distinct classes"))
    names = [str(v) for v in values.tolist()]
    if values.dtype.kind in "iu" and values[0] == 0 and values[-1] == len(values) - 1:
        return y.astype(np.int64), None if y_test is None else y_test.astype(np.int64), names
    index = np.searchsorted(values, y).astype(np.int64)
    index_te = None if y_test is None else np.searchsorted(values, y_test).astype(np.int64)
    return index, index_te, names
