"""The harness itself: each check fires when it should (a judge that never fails proves nothing)."""

from __future__ import annotations

import pickle
import subprocess

import pytest
from harness import (
    assert_clean_refusal,
    assert_gs_not_called,
    assert_untouched,
    snapshot,
)


def test_refusal_of_unknown_dataset_is_clean(case):
    r = case.run(["data", "info", "no-such-set"])
    case.assert_refused(r, must_mention=["no-such-set"])


def test_the_stand_in_ghostscript_records_a_call(case):
    r = case.run(["data", "info", "xor"])
    assert r.rc == 0, r

    from harness import case_env

    subprocess.run(["gs", "-q"], env=case_env(case.dir), check=False)
    with pytest.raises(AssertionError, match="Ghostscript was called"):
        assert_gs_not_called(case.dir)


def test_the_pickle_payload_creates_its_file_when_unpickled(case):
    pickle.loads(case.payload())
    assert case.marker.exists()
    with pytest.raises(AssertionError, match="payload ran"):
        case.assert_harmless()


def test_snapshot_sees_created_changed_and_deleted_files(tmp_path):
    (tmp_path / "a").write_text("1")
    (tmp_path / "b").write_text("2")
    before = snapshot(tmp_path)
    (tmp_path / "a").write_text("11")
    (tmp_path / "b").unlink()
    (tmp_path / "c").write_text("3")
    with pytest.raises(AssertionError, match=r"created \['c'\], deleted \['b'\], changed \['a'\]"):
        assert_untouched(before, snapshot(tmp_path))
    assert_untouched(before, snapshot(tmp_path), allow=("a", "b", "c"))


def test_a_traceback_or_memory_error_is_not_a_clean_refusal(case):
    r = case.run(["data", "info", "xor"])
    assert r.rc == 0 and "classes" in r.stdout, r
    bad = r.__class__(**{**r.__dict__, "rc": 2, "stderr": "Traceback (most recent call last)\n"})
    with pytest.raises(AssertionError, match="traceback"):
        assert_clean_refusal(bad)
    bad = r.__class__(**{**r.__dict__, "rc": 2, "stderr": "MemoryError\n"})
    with pytest.raises(AssertionError, match="MemoryError"):
        assert_clean_refusal(bad)


def test_the_memory_limit_binds_the_child(case):
    """Under a 100 MiB address-space limit NumPy cannot even load: the limit reaches the child."""
    r = case.run(["data", "info", "xor"], mem_limit_bytes=100 * 2**20)
    assert r.rc != 0 and "Traceback" in r.stderr, r
    with pytest.raises(AssertionError):
        assert_clean_refusal(r)


def test_a_normal_run_fits_the_default_limit_and_reports_its_peak(case):
    r = case.run(["data", "info", "mnist-sample"])
    assert r.rc == 0 and "4000" in r.stdout.replace(",", ""), r
    assert 0 < r.peak_rss_bytes < case.mem_limit_bytes
    case.assert_harmless()
