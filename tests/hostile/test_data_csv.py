"""Hostile CSV files given to ``backprop data info --data-dir FILE.csv``."""

from __future__ import annotations

import os

import pytest


def info(case, path, **kw):
    return case.run(["data", "info", "--data-dir", path], **kw)


@pytest.mark.parametrize(
    "data",
    [
        "label,caf\u00e9\n1,2\n".encode("latin-1"),
        "label,x\n1,2\n".encode("utf-16"),
        bytes(range(256)) * 4,
    ],
    ids=["latin-1", "utf-16", "binary"],
)
def test_not_utf8(case, data):
    f = case.write("d.csv", data)
    case.assert_refused(info(case, f), [f, "not UTF-8"])


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "empty"),
        ("\n\n  \n", "empty"),
        ("label,a,b\n", "at least one row"),
        ("1\n2\n", "at least one row"),
        ("label,a\n1,x\n", "cannot parse"),
        ("1,2,3\n1,2\n", "cannot parse"),
        ("1,2\0,3\n", "NUL byte"),
        ("1,nan\n0,1\n", "NaN"),
        ("1,inf\n0,1\n", "NaN or infinite"),
        ("0.5,1\n1,2\n", "whole numbers"),
        ("1e300,1\n1,2\n", "whole numbers"),
        ("inf,1\n1,2\n", "whole numbers"),
    ],
    ids=["empty", "blank-lines", "header-only", "no-features", "text-feature", "ragged",
         "nul-byte", "nan", "inf", "half-label", "huge-float-label", "inf-label"],
)
def test_malformed(case, text, words):
    f = case.write("d.csv", text)
    case.assert_refused(info(case, f), [f, words])


def test_one_absurd_label_is_one_class(case):
    """Label 10**9 among 0 and 1: three classes named by value, not a billion names."""
    f = case.write("d.csv", "0,1,2\n1,3,4\n1000000000,5,6\n")
    r = info(case, f, mem_limit_bytes=768 * 2**20)
    assert r.rc == 0, r
    assert "classes    3" in r.stdout and "1000000000:1" in r.stdout, r
    case.assert_harmless()


def test_too_many_distinct_labels(case):
    f = case.write("d.csv", "".join(f"{i},1\n" for i in range(1200)))
    case.assert_refused(info(case, f), [f, "1,200 distinct classes", "BACKPROP_MAX_CLASSES"])


def test_a_file_over_the_size_limit(case):
    f = case.write("d.csv", "1,2\n" * 100)
    r = info(case, f, env={"BACKPROP_MAX_DATA_BYTES": "1000"})
    case.assert_refused(r, [f, "400 bytes", "BACKPROP_MAX_DATA_BYTES"])


def test_a_bom_is_accepted(case):
    """UTF-8 with a byte-order mark (Excel's "CSV UTF-8") is valid: read, not refused."""
    f = case.write("d.csv", "\ufefflabel,a\n0,1\n1,2\n")
    r = info(case, f)
    assert r.rc == 0 and "2 items" in r.stdout, r
    case.assert_harmless()


def test_train_refuses_a_latin1_csv(case):
    f = case.write("d.csv", "label,caf\u00e9\n1,2\n".encode("latin-1"))
    r = case.run(["train", "--data-dir", f, "--out", case.dir / "run", "--epochs", "1"])
    case.assert_refused(r, [f, "not UTF-8"])


@pytest.mark.parametrize("kind", ["fifo", "dev-zero-link"])
def test_not_a_regular_file(case, kind):
    """A pipe or a link to /dev/zero named .csv is refused by name, never read."""
    f = case.dir / "d.csv"
    if kind == "fifo":
        os.mkfifo(f)
    else:
        os.symlink("/dev/zero", f)
    case.assert_refused(info(case, f), [f, "neither a file nor a folder"])
