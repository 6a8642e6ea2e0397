"""Hostile flags of ``backprop gradcheck``: bounded before anything is allocated."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--samples", "1000000000"], ["--samples", "1,000,000,000", "10,000"]),
        (["--samples", "0"], ["--samples"]),
        (["--samples", "-5"], ["--samples"]),
        (["--layers", "784,10000000000,10"], ["--layers", "weights", "10,000,000"]),
        (["--layers", "100000,100000,10"], ["weights"]),
        (["--max-entries", "-1"], ["--max-entries"]),
    ],
    ids=["samples-billion", "samples-zero", "samples-negative", "layers-huge", "layers-wide",
         "entries-negative"],
)
def test_refused(case, flags, words):
    r = case.run(["gradcheck", *flags], mem_limit_bytes=768 * 2**20)
    case.assert_refused(r, words)
