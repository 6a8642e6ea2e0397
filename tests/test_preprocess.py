"""one_hot, stratified_split and Preprocessor against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop.data import Preprocessor, one_hot, stratified_split
from backprop.errors import DataError


def test_one_hot_values() -> None:
    out = one_hot(np.array([2, 0, 1, 2]), 3)
    expected = [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert out.dtype == np.float32 and out.tolist() == expected
    assert one_hot(np.array([1]), 2, dtype=np.float64).dtype == np.float64
    assert one_hot(np.array([], dtype=np.int64), 4).shape == (0, 4)


@pytest.mark.parametrize(
    "y, n, message",
    [
        (np.array([0, 3]), 3, "label 3 is outside 0..2"),
        (np.array([0, -1]), 3, "label -1"),
        (np.array([[0, 1]]), 3, "shape"),
        (np.array([0.5]), 3, "integers"),
        (np.array([0]), 0, "at least 1"),
    ],
)
def test_one_hot_errors(y: np.ndarray, n: int, message: str) -> None:
    with pytest.raises(DataError, match=message):
        one_hot(y, n)


def test_stratified_split_counts_and_alignment() -> None:
    y = np.repeat(np.arange(3), [50, 30, 20])
    X = np.arange(len(y))[:, None] * np.ones((1, 2), dtype=int)  # row i holds i
    X_tr, y_tr, X_va, y_va = stratified_split(X, y, 0.1, np.random.default_rng(0))
    assert np.bincount(y_va).tolist() == [5, 3, 2]
    assert np.bincount(y_tr).tolist() == [45, 27, 18]
    # rows keep their labels, the two parts are disjoint and cover everything
    assert np.array_equal(y[X_tr[:, 0]], y_tr) and np.array_equal(y[X_va[:, 0]], y_va)
    assert sorted(X_tr[:, 0].tolist() + X_va[:, 0].tolist()) == list(range(len(y)))
    assert np.all(np.diff(X_va[:, 0]) > 0)  # original order kept


def test_stratified_split_deterministic() -> None:
    y = np.arange(200) % 4
    X = np.arange(200)
    a = stratified_split(X, y, 0.25, np.random.default_rng(7))
    b = stratified_split(X, y, 0.25, np.random.default_rng(7))
    c = stratified_split(X, y, 0.25, np.random.default_rng(8))
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    assert not np.array_equal(a[2], c[2])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_stratified_split_bad_fraction(fraction: float) -> None:
    with pytest.raises(DataError, match="strictly between 0 and 1"):
        stratified_split(np.zeros(10), np.zeros(10, int), fraction, np.random.default_rng(0))


def test_stratified_split_errors() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="rows but y has"):
        stratified_split(np.zeros(10), np.zeros(9, int), 0.5, rng)
    with pytest.raises(DataError, match="empty"):
        stratified_split(np.zeros(3), np.arange(3), 0.1, rng)


def test_unit_scaling_uint8() -> None:
    X = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    p = Preprocessor("unit").fit(X)
    out = p.transform(X)
    assert out.dtype == np.float32 and out.shape == (1, 4)
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.2, 0.4]], rtol=1e-7)
    # a batch whose max is below 255 is still divided by 255
    np.testing.assert_allclose(p.transform(np.full((2, 2, 2), 51, np.uint8)), 0.2, rtol=1e-7)
    assert p.transform(X, dtype=np.float64).dtype == np.float64


def test_unit_scaling_float_uses_data_max() -> None:
    X = np.array([[0.0, 8.0], [16.0, 4.0]])  # like sklearn digits, 0..16
    out = Preprocessor("unit").fit_transform(X)
    np.testing.assert_allclose(out, [[0, 0.5], [1, 0.25]])


def test_symmetric_scaling() -> None:
    X = np.array([[0, 255, 51]], dtype=np.uint8)
    out = Preprocessor("symmetric").fit_transform(X)
    np.testing.assert_allclose(out, [[-1.0, 1.0, -0.6]], rtol=1e-6)


def test_standard_scaling() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(5.0, 3.0, size=(500, 3, 2))
    X[:, 0, 0] = 7.0  # a constant feature
    p = Preprocessor("standard").fit(X)
    out = p.transform(X, dtype=np.float64)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(out.std(axis=0)[1:], 1.0, rtol=1e-9)
    assert np.all(out[:, 0] == 0.0)
    flat = X.reshape(500, -1)
    np.testing.assert_allclose(out[:, 3], (flat[:, 3] - flat[:, 3].mean()) / flat[:, 3].std())


def test_none_only_flattens() -> None:
    X = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    out = Preprocessor("none").fit_transform(X)
    assert out.dtype == np.float32 and out.tolist() == [list(range(6)), list(range(6, 12))]


@pytest.mark.parametrize("scale", ["unit", "symmetric", "standard", "none"])
def test_round_trip_through_json(scale: str) -> None:
    rng = np.random.default_rng(2)
    X = rng.integers(0, 256, size=(40, 4, 4)).astype(np.uint8)
    p = Preprocessor(scale).fit(X)
    q = Preprocessor.from_dict(json.loads(json.dumps(p.to_dict())))
    new = rng.integers(0, 256, size=(5, 4, 4)).astype(np.uint8)
    assert np.array_equal(p.transform(new), q.transform(new))
    assert q.input_shape == (4, 4)
    # flattened input works the same
    assert np.array_equal(q.transform(new.reshape(5, 16)), q.transform(new))


def test_preprocessor_errors() -> None:
    with pytest.raises(DataError, match="unknown scale"):
        Preprocessor("minmax")
    with pytest.raises(DataError, match="before fit"):
        Preprocessor().transform(np.zeros((1, 4)))
    p = Preprocessor().fit(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match="does not match the fitted sample shape"):
        p.transform(np.zeros((1, 8, 8), np.uint8))
    with pytest.raises(DataError, match="non-empty batch"):
        Preprocessor().fit(np.zeros(5))
    with pytest.raises(DataError, match="NaN"):
        Preprocessor().fit(np.array([[1.0, np.nan]]))


@pytest.mark.parametrize(
    "d",
    [
        {"scale": "unit"},
        {"format": 1, "scale": "weird"},
        {"format": 1, "scale": "standard", "input_shape": [2], "mean": [0.0], "std": [1.0]},
        {"format": 1, "scale": "unit", "input_shape": [2], "max_value": None},
        "not a dict",
    ],
)
def test_from_dict_rejects_malformed(d: object) -> None:
    with pytest.raises(DataError):
        Preprocessor.from_dict(d)  # type: ignore[arg-type]
