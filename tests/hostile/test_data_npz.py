"""Hostile ``.npz`` data files given to ``backprop data info --data-dir FILE.npz``."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from bombs import npy_header, zip_file
from harness import payload_array


def info(case, path, **kw):
    return case.run(["data", "info", "--data-dir", path], **kw)


def npz(case, name: str = "d.npz", **arrays) -> object:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return case.write(name, buf.getvalue())


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


X4, Y4 = np.zeros((4, 3), dtype=np.float32), np.array([0, 1, 0, 1])


def test_zip_bomb(case):
    """X declares and really holds 512 MiB of zeros in 0.5 MB: refused from the directory."""
    data = zip_file({"X.npy": (npy_header("<f8", (2**26,)), 512), "y.npy": (npy(Y4), 0)})
    f = case.write("d.npz", data)
    case.assert_refused(info(case, f, mem_limit_bytes=768 * 2**20), [f, "ratio"])


def test_member_over_the_size_limit(case):
    data = zip_file({"X.npy": (npy_header("<f8", (2**12, 2**10)), 32), "y.npy": (npy(Y4), 0)})
    f = case.write("d.npz", data)
    r = info(case, f, env={"BACKPROP_MAX_DATA_BYTES": str(2**20)})
    case.assert_refused(r, [f, "limit", "BACKPROP_MAX_DATA_BYTES"])


def test_npy_header_claims_more_than_its_member(case):
    data = zip_file({"X.npy": (npy_header("<f8", (2**40, 2**10)), 0), "y.npy": (npy(Y4), 0)})
    f = case.write("d.npz", data)
    case.assert_refused(info(case, f), [f, "X"])


def test_truncated(case):
    whole = npz(case, X=np.zeros((100, 10)), y=np.zeros(100, int)).read_bytes()
    f = case.write("cut.npz", whole[: len(whole) // 2])
    case.assert_refused(info(case, f), [f])


def test_not_a_zip(case):
    f = case.write("d.npz", b"PK\x03\x04 this is not a zip file" * 10)
    case.assert_refused(info(case, f), [f])


def test_a_bare_npy_named_npz(case):
    f = case.write("d.npz", npy(X4))
    case.assert_refused(info(case, f), [f])


@pytest.mark.parametrize("key", ["X", "y"])
def test_pickled_objects_never_run(case, key):
    arrays = {"X": npy(X4), "y": npy(Y4)}
    arrays[key] = npy(payload_array(case.marker))
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        for k, v in arrays.items():
            zf.writestr(f"{k}.npy", v)
    f = case.write("d.npz", data.getvalue())
    case.assert_refused(info(case, f), [f, "pickle"])


@pytest.mark.parametrize(
    "X, words",
    [
        (np.array(["a", "b", "c", "d"]), "numbers"),
        (np.float64(3.0), "shape"),
        (np.zeros(4), "shape"),
        (np.zeros((0, 3)), "no data"),
        (np.zeros((4, 0)), "no data"),
        (np.full((4, 3), np.nan), "NaN"),
        (np.ones((4, 3), dtype=np.complex128), "complex"),
    ],
    ids=["text", "scalar", "one-dimensional", "no-rows", "no-columns", "nan", "complex"],
)
def test_bad_X(case, X, words):
    f = npz(case, X=X, y=Y4 if getattr(X, "ndim", 0) and len(X) == 4 else np.zeros(0, int))
    case.assert_refused(info(case, f), [f, words])


@pytest.mark.parametrize(
    "y, words",
    [
        (np.zeros((4, 1), int), "shape (N,)"),
        (np.array([0, 1, 0]), "3 labels"),
        (np.array([0.5, 1, 0, 1]), "whole numbers"),
        (np.array([np.inf, 1, 0, 1]), "whole numbers"),
    ],
    ids=["two-dimensional", "short", "half", "inf"],
)
def test_bad_y(case, y, words):
    f = npz(case, X=X4, y=y)
    case.assert_refused(info(case, f), [f, words])


def test_structured_X(case):
    f = npz(case, X=np.zeros(4, dtype=[("a", "<f4"), ("b", "<i4")]), y=Y4)
    case.assert_refused(info(case, f), [f, "X"])


def test_missing_y(case):
    f = npz(case, X=X4, labels=Y4)
    case.assert_refused(info(case, f), [f, "'y'"])


def test_X_test_without_y_test(case):
    f = npz(case, X=X4, y=Y4, X_test=X4)
    case.assert_refused(info(case, f), [f, "together"])


def test_class_names_shorter_than_the_labels(case):
    f = npz(case, X=X4, y=np.array([0, 1, 2, 3]), class_names=np.array(["a", "b"]))
    case.assert_refused(info(case, f), [f, "label 3", "2 names"])


def test_string_y_with_numeric_y_test(case):
    f = npz(case, X=X4, y=np.array(["a", "b", "a", "b"]), X_test=X4, y_test=Y4)
    case.assert_refused(info(case, f), [f, "strings"])


def test_too_many_members(case):
    f = npz(case, X=X4, y=Y4, **{f"extra{i}": np.zeros(1) for i in range(40)})
    case.assert_refused(info(case, f), [f, "members"])


def test_member_names_with_traversal_are_never_extracted(case):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("X.npy", npy(X4))
        zf.writestr("y.npy", npy(Y4))
        zf.writestr("../../escaped.npy", npy(Y4))
    f = case.write("d.npz", data.getvalue())
    case.assert_refused(info(case, f), [f])
    assert not (case.dir.parent / "escaped.npy").exists()


def test_one_absurd_label_is_one_class(case):
    """Label 2**40 among 0 and 1: three classes named by value; no memory blow-up."""
    f = npz(case, X=X4, y=np.array([0, 1, 2**40, 1]))
    r = info(case, f, mem_limit_bytes=768 * 2**20)
    assert r.rc == 0, r
    assert "classes    3" in r.stdout and f"{2**40}:1" in r.stdout, r
    case.assert_harmless()


def test_too_many_distinct_labels(case):
    f = npz(case, X=np.zeros((1500, 2)), y=np.arange(1500) * 7)
    case.assert_refused(info(case, f), [f, "1,500 distinct classes", "BACKPROP_MAX_CLASSES"])
