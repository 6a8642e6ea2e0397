"""A hostile download cache (``$BACKPROP_DATA``) under ``data info`` and ``data verify``.

Nothing here touches the network: ``info`` never downloads, ``verify`` only hashes.
"""

from __future__ import annotations

import os

import pytest

NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def cache(case):
    d = case.dir / "data-cache" / "mnist"
    d.mkdir(parents=True, exist_ok=True)
    return d


def damage(case, how: str):
    """Put the four MNIST names in the cache, the first one damaged ``how``."""
    d = cache(case)
    for name in NAMES[1:]:
        (d / name).write_bytes(b"\x1f\x8b not really mnist")
    first = d / NAMES[0]
    if how == "corrupted":
        first.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(200))
    elif how == "oversized":
        with open(first, "wb") as f:  # sparse: 1 GiB that costs no disk
            f.truncate(2**30)
    elif how == "dev-zero":
        os.symlink("/dev/zero", first)
    elif how == "fifo":
        os.mkfifo(first)
    elif how == "folder":
        first.mkdir()
    elif how == "dangling":
        os.symlink(d / "nowhere", first)
    return first


HOWS = ["corrupted", "oversized", "dev-zero", "fifo", "folder", "dangling"]


@pytest.mark.parametrize("how", HOWS)
def test_info_refuses_a_damaged_cache(case, how):
    damage(case, how)
    r = case.run(["data", "info", "mnist"])
    case.assert_refused(r, ["mnist", "damaged", "data verify"])


@pytest.mark.parametrize("how", HOWS)
def test_verify_reports_the_damage_without_reading_it_all(case, how):
    """``verify`` exits 1 (documented) naming the file; a 1 GiB sparse file is not hashed."""
    first = damage(case, how)
    r = case.run(["data", "verify", "mnist"])
    assert r.rc == 1 and "Traceback" not in r.stderr, r
    line = next(ln for ln in r.stdout.splitlines() if first.name in ln)
    assert "damaged" in line or "missing" in line, r
    case.assert_harmless()


def test_the_cache_root_is_a_file(case):
    case.write("data-cache", "not a folder")
    r = case.run(["data", "info", "mnist"])
    case.assert_refused(r, ["mnist", "data-cache"])
