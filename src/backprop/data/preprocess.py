"""Preprocessing that is recorded with a model so prediction repeats it exactly.

* :class:`Preprocessor` flattens ``(N, ...)`` inputs to ``(N, D)`` and scales them:
  ``"unit"`` to [0, 1], ``"symmetric"`` to [-1, 1], ``"standard"`` to zero mean
  and unit variance per feature, or ``"none"``.  Its :meth:`Preprocessor.to_dict`
  is plain JSON (the per-feature mean and std are lists of floats).
* :func:`one_hot` turns class indices into target rows.
* :func:`stratified_split` holds out a validation fraction of every class.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backprop.engine.split import stratified_split
from backprop.errors import DataError

__all__ = ["SCALES", "Preprocessor", "one_hot", "stratified_split"]

#: The scaling modes :class:`Preprocessor` knows.
SCALES = ("unit", "symmetric", "standard", "none")

_FORMAT = 1


def one_hot(y: np.ndarray, n_classes: int, dtype: Any = np.float32) -> np.ndarray:
    """Encode class indices as one-hot rows.

    Parameters
    ----------
    y : array_like of int, shape (N,)
        Class indices in ``[0, n_classes)``.
    n_classes : int
        Number of columns.
    dtype : dtype
        Output type (default float32).

    Returns
    -------
    numpy.ndarray, shape (N, n_classes)
        ``out[i, y[i]] = 1``, every other entry 0.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"one_hot: labels must have shape (N,), got {y.shape}; pass y.ravel()")
    if y.size and y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        else:
            raise DataError(
                f"one_hot: labels must be integers, got dtype {y.dtype}; map classes to 0..K-1"
            )
    if int(n_classes) < 1:
        raise DataError(f"one_hot: n_classes must be at least 1, got {n_classes}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = int(y.min()) if y.min() < 0 else int(y.max())
        raise DataError(
            f"one_hot: label {bad} is outside 0..{n_classes - 1}; pass the right n_classes"
        )
    out = np.zeros((y.shape[0], int(n_classes)), dtype=dtype)
    out[np.arange(y.shape[0]), y.astype(np.intp, copy=False)] = 1
    return out


class Preprocessor:
    """Flatten and scale inputs; fitted on training data, replayable from a dict.

    Parameters
    ----------
    scale : {"unit", "symmetric", "standard", "none"}
        ``"unit"``: divide by the data's maximum (255 for uint8 data, otherwise
        the largest absolute value seen in ``fit``) into [0, 1].
        ``"symmetric"``: the unit scaling mapped to [-1, 1] (``2 x / max - 1``),
        as in Raschka, *Python Machine Learning*, 3rd ed.
        ``"standard"``: ``(x - mean) / std`` per feature, fitted on the training
        data; features with zero spread get std 1.
        ``"none"``: flatten and cast only.
    dtype : dtype
        Output type of :meth:`transform` (default float32).

    Attributes
    ----------
    input_shape : tuple of int or None
        Shape of one sample seen in ``fit``, e.g. ``(28, 28)``.
    max_value : float or None
        Divisor of ``"unit"`` and ``"symmetric"``.
    mean, std : numpy.ndarray of shape (D,) or None
        Fitted by ``"standard"``.
    """

    def __init__(self, scale: str = "unit", dtype: Any = np.float32) -> None:
        if scale not in SCALES:
            raise DataError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
        self.scale = scale
        self.dtype = np.dtype(dtype)
        self.input_shape: tuple[int, ...] | None = None
        self.max_value: float | None = None
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @property
    def n_features(self) -> int | None:
        """D, the length of a flattened sample (None before ``fit``)."""
        return None if self.input_shape is None else int(np.prod(self.input_shape, dtype=int))

    def fit(self, X: np.ndarray) -> Preprocessor:
        """Learn the scaling from training data ``X`` of shape (N, ...); return self."""
        X = np.asarray(X)
        if X.ndim < 2 or X.shape[0] == 0:
            raise DataError(
                f"Preprocessor.fit needs a non-empty batch of shape (N, ...), got {X.shape}"
            )
        self.input_shape = tuple(int(d) for d in X.shape[1:])
        if self.scale in ("unit", "symmetric"):
            if X.dtype == np.uint8:
                self.max_value = 255.0
            else:
                m = float(np.max(np.abs(X)))
                if not math.isfinite(m):
                    raise DataError("Preprocessor.fit: the data holds NaN or infinite values")
                self.max_value = m if m > 0 else 1.0
        elif self.scale == "standard":
            flat = X.reshape(X.shape[0], -1).astype(np.float64)
            self.mean = flat.mean(axis=0)
            std = flat.std(axis=0)
            self.std = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: np.ndarray, dtype: Any = None) -> np.ndarray:
        """Flatten ``X`` of shape (N, *input_shape) or (N, D) to (N, D) and scale it.

        Returns
        -------
        numpy.ndarray, shape (N, D)
            In ``dtype`` (default: the one given to the constructor).
        """
        if self.input_shape is None:
            raise DataError("Preprocessor.transform called before fit; call fit(X_train) first")
        X = np.asarray(X)
        D = self.n_features
        if X.ndim < 1 or (
            tuple(X.shape[1:]) != self.input_shape and tuple(X.shape[1:]) != (D,)
        ):
            raise DataError(
                f"Preprocessor: input of shape {X.shape} does not match the fitted sample "
                f"shape {self.input_shape} (or {D} features); resize the input to match"
            )
        out_dtype = self.dtype if dtype is None else np.dtype(dtype)
        flat = X.reshape(X.shape[0], D)
        if self.scale == "standard":
            if self.mean is None or self.std is None:
                raise DataError("Preprocessor('standard') has no fitted mean/std; call fit first")
            return ((flat - self.mean) / self.std).astype(out_dtype, copy=False)
        out = flat.astype(out_dtype)
        if self.scale in ("unit", "symmetric"):
            out /= out_dtype.type(self.max_value)
            if self.scale == "symmetric":
                out *= 2
                out -= 1
        return out

    def fit_transform(self, X: np.ndarray, dtype: Any = None) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X, dtype)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description; ``mean`` and ``std`` are lists of floats (or None)."""
        return {
            "format": _FORMAT,
            "scale": self.scale,
            "dtype": self.dtype.name,
            "input_shape": None if self.input_shape is None else list(self.input_shape),
            "max_value": self.max_value,
            "mean": None if self.mean is None else [float(v) for v in self.mean],
            "std": None if self.std is None else [float(v) for v in self.std],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict` output (arrays may be lists)."""
        if not isinstance(d, dict) or d.get("format") != _FORMAT or "scale" not in d:
            raise DataError(
                f"not a preprocessor description (format {_FORMAT} expected): {str(d)[:80]}"
            )
        try:
            p = cls(scale=d["scale"], dtype=d.get("dtype", "float32"))
            shape = d.get("input_shape")
            p.input_shape = None if shape is None else tuple(int(v) for v in shape)
            mv = d.get("max_value")
            p.max_value = None if mv is None else float(mv)
            if d.get("mean") is not None:
                p.mean = np.asarray(d["mean"], dtype=np.float64)
                p.std = np.asarray(d["std"], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"malformed preprocessor description: {exc}") from exc
        D = p.n_features
        if p.scale in ("unit", "symmetric") and p.input_shape is not None and not p.max_value:
            raise DataError(f"preprocessor description for {p.scale!r} lacks max_value")
        if p.scale == "standard" and p.input_shape is not None:
            if p.mean is None or p.std is None or p.mean.shape != (D,) or p.std.shape != (D,):
                raise DataError(
                    f"preprocessor description for 'standard' needs mean and std of length {D}"
                )
        return p

    def __repr__(self) -> str:
        return f"Preprocessor(scale={self.scale!r}, input_shape={self.input_shape})"
