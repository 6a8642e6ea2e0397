"""Hostile ``--config FILE.toml`` files and flag values given to ``backprop train``.

Each case is refused before any data is read or any folder is made: exit 2, one
line naming the file (or flag), the value and the problem.
"""

from __future__ import annotations

import os

import pytest


def train(case, *flags):
    return case.run(["train", "--dataset", "xor", "--out", case.dir / "run", *flags])


@pytest.mark.parametrize(
    "data, words",
    [
        ('lr = 0.1\nactivation = "t\u00e9"\n'.encode("latin-1"), "UTF-8"),
        ("lr = 0.1\n".encode("utf-16"), "UTF-8"),
        (b"\xff\xfe\x00\x00garbage", "UTF-8"),
        (b"lr = \n", "not valid TOML"),
        (b"[[[ nonsense", "not valid TOML"),
        (b'lr = 0.1\nlr = 0.2\n', "not valid TOML"),
        (b"lr = 0.1\x00\n", "TOML"),
        (b"lr = 0.1\nlearning_rat = 3\n", "unknown setting"),
        (b"[network]\nhidden = [10]\n", "tables"),
        (b'lr = "fast"\n', "lr"),
        (b'hidden = "big"\n', "hidden"),
        (b"epochs = 1.5\n", "epochs"),
        (b"hidden = [true]\n", "hidden"),
        (b"hidden = [10000000000]\n", "hidden"),
        (b"epochs = 1000000000000000000\n", "epochs"),
        (b"lr = 1e308\n", "lr"),
        (b"lr = nan\n", "lr"),
        (b"batch_size = 0\n", "batch_size"),
        (b"validation_split = 1.5\n", "validation_split"),
        (b"hidden = [" + b"10, " * 100 + b"10]\n", "hidden"),
        (b"epochs = 99999999999999999999999999\n", "TOML"),
    ],
    ids=["latin-1", "utf-16", "binary", "no-value", "brackets", "duplicate-key", "nul-byte",
         "unknown-key", "table", "lr-text", "hidden-text", "epochs-float", "hidden-bool",
         "hidden-huge", "epochs-huge", "lr-huge", "lr-nan", "batch-zero", "split-over-one",
         "hidden-too-many-layers", "integer-overflow"],
)
def test_config_file(case, data, words):
    f = case.write("c.toml", data)
    case.assert_refused(train(case, "--config", f), [f, words])


def test_config_file_too_large(case):
    f = case.write("c.toml", b"# padding\n" * 200_000)
    case.assert_refused(train(case, "--config", f), [f, "bytes"])


def test_config_file_is_a_folder(case):
    (case.dir / "c.toml").mkdir()
    case.assert_refused(train(case, "--config", case.dir / "c.toml"), ["c.toml", "folder"])


def test_config_file_is_a_fifo(case):
    """A named pipe is not waited on forever: refused by name."""
    os.mkfifo(case.dir / "c.toml")
    r = train(case, "--config", case.dir / "c.toml")
    case.assert_refused(r, ["c.toml"])


def test_config_file_missing(case):
    case.assert_refused(train(case, "--config", case.dir / "none.toml"), ["none.toml"])


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--hidden", "10000000000"], ["--hidden", "10000000000"]),
        (["--hidden", "0"], ["--hidden"]),
        (["--hidden", "a,b"], ["--hidden"]),
        (["--lr", "nan"], ["--lr", "nan"]),
        (["--lr", "inf"], ["--lr"]),
        (["--lr", "-1"], ["--lr"]),
        (["--epochs", "-1"], ["--epochs"]),
        (["--epochs", "99999999999999999999"], ["--epochs"]),
        (["--batch-size", "0"], ["--batch-size"]),
        (["--validation-split", "1.5"], ["--validation-split"]),
        (["--activation", "gelu"], ["--activation", "gelu"]),
        (["--bogus", "1"], ["--bogus"]),
    ],
    ids=["hidden-huge", "hidden-zero", "hidden-text", "lr-nan", "lr-inf", "lr-negative",
         "epochs-negative", "epochs-huge", "batch-zero", "split-over-one", "activation-unknown",
         "unknown-flag"],
)
def test_flags(case, flags, words):
    case.assert_refused(train(case, *flags), words)
