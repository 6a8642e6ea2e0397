"""Comparing model files array by array (shared by the CLI and resume tests)."""

from __future__ import annotations

import numpy as np


def model_arrays(path) -> dict:
    """The parameter arrays of a model file, without its metadata."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k != "metadata"}


def assert_same_model(a, b) -> None:
    """The two model files hold the same arrays, bit for bit."""
    A, B = model_arrays(a), model_arrays(b)
    assert A.keys() == B.keys()
    for k in A:
        assert A[k].dtype == B[k].dtype and np.array_equal(A[k], B[k]), k
