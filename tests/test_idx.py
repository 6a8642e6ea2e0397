"""The IDX reader and writer against hand-built bytes, round-trips and malformed files."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from backprop.data.idx import check_pair, read_idx, read_idx_header, write_idx
from backprop.errors import DataError

# type code -> (struct letter, numpy dtype), written out independently of idx.TYPE_CODES
CODES = {
    0x08: ("B", np.uint8),
    0x09: ("b", np.int8),
    0x0B: ("h", np.int16),
    0x0C: ("i", np.int32),
    0x0D: ("f", np.float32),
    0x0E: ("d", np.float64),
}


def hand_built(code: int, shape: tuple[int, ...], values: list) -> bytes:
    """An IDX file written byte by byte with struct, as the format describes."""
    letter = CODES[code][0]
    return (
        bytes([0, 0, code, len(shape)])
        + struct.pack(f">{len(shape)}I", *shape)
        + struct.pack(f">{len(values)}{letter}", *values)
    )


def sample(dtype: type, shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    return (rng.standard_normal(shape) * 1e3).astype(dtype)


@pytest.mark.parametrize("code", sorted(CODES))
def test_reads_hand_built_bytes(tmp_path: Path, code: int) -> None:
    values = [1, 2, 3, 4, 5, 6] if code != 0x09 else [-1, 2, -3, 4, -128, 127]
    path = tmp_path / "x.idx"
    path.write_bytes(hand_built(code, (2, 3), values))
    out = read_idx(path)
    assert out.shape == (2, 3)
    assert out.dtype == np.dtype(CODES[code][1])  # native byte order
    assert out.dtype.isnative
    assert out.ravel().tolist() == values


@pytest.mark.parametrize("code", sorted(CODES))
def test_writer_matches_hand_built_bytes(tmp_path: Path, code: int) -> None:
    values = [7, 0, 1, 100]
    path = write_idx(tmp_path / "x.idx", np.array(values, dtype=CODES[code][1]).reshape(4, 1))
    assert path.read_bytes() == hand_built(code, (4, 1), values)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
@pytest.mark.parametrize("code", sorted(CODES))
def test_round_trip(tmp_path: Path, code: int, ndim: int, gz: bool) -> None:
    shape = (5, 4, 3, 2)[:ndim]
    array = sample(CODES[code][1], shape, seed=code * 10 + ndim)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    if gz:
        assert path.read_bytes()[:2] == b"\x1f\x8b"
        assert gzip.decompress(path.read_bytes())[:4] == bytes([0, 0, code, ndim])
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == shape
    np.testing.assert_array_equal(back, array)
    assert read_idx_header(path)[1] == shape
    assert back.flags.writeable


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(gzip.compress(hand_built(0x08, (3,), [1, 2, 9])))
    assert read_idx(path).tolist() == [1, 2, 9]


def test_empty_dimension_is_fine(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "e.idx", np.zeros((0, 28, 28), dtype=np.uint8))
    assert read_idx(path).shape == (0, 28, 28)


GOOD = hand_built(0x08, (2, 2), [1, 2, 3, 4])


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x08\x03" + GOOD[2:], "wrong magic"),
        (b"\x00\x00\x0a\x02" + GOOD[4:], "unknown IDX type code 0x0A"),
        (GOOD[:3], "truncated header"),
        (GOOD[:9], "truncated header"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (GOOD[:-1], "truncated data"),
        (GOOD + b"\x00\x01", "2 trailing bytes"),
    ],
    ids=["magic", "type", "short-magic", "short-dims", "zero-dims", "short-data", "trailing"],
)
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_malformed(tmp_path: Path, content: bytes, message: str, gz: bool) -> None:
    path = tmp_path / ("bad.idx.gz" if gz else "bad.idx")
    path.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_gzip_that_ends_early(tmp_path: Path) -> None:
    blob = gzip.compress(hand_built(0x08, (50, 50), list(range(250)) * 10))
    path = tmp_path / "cut.idx.gz"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="gzip stream ends early") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_damaged_gzip(tmp_path: Path) -> None:
    path = tmp_path / "bad.idx.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 40)
    with pytest.raises(DataError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")


def test_pair_count_mismatch(tmp_path: Path) -> None:
    images = np.zeros((3, 2, 2), np.uint8)
    labels = np.array([0, 1], np.uint8)
    with pytest.raises(DataError, match="holds 3 items but .*labels.idx holds 2 labels"):
        check_pair(images, labels, tmp_path / "images.idx", tmp_path / "labels.idx", 10)


def test_pair_label_out_of_range(tmp_path: Path) -> None:
    images = np.zeros((3, 2, 2), np.uint8)
    with pytest.raises(DataError, match="label 10 is outside the 10 classes") as info:
        check_pair(images, np.array([0, 10, 1], np.uint8), "i.idx", "l.idx", 10)
    assert "l.idx" in str(info.value)
    with pytest.raises(DataError, match="label -1"):
        check_pair(images, np.array([0, -1, 1], np.int8), "i.idx", "l.idx", 10)


def test_pair_labels_must_be_1d_integers() -> None:
    with pytest.raises(DataError, match="one integer per item"):
        check_pair(np.zeros((3,)), np.zeros((3, 2, 2), np.uint8), "i", "l")
    with pytest.raises(DataError, match="one integer per item"):
        check_pair(np.zeros((3,)), np.zeros(3, np.float32), "i", "l")


def test_write_rejects_unsupported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot write dtype"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.int64))
    with pytest.raises(DataError, match="0"):
        write_idx(tmp_path / "x.idx", np.array(5, dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dtype, gz", [(np.uint8, True), (np.float32, False)])
def test_memory_at_most_two_copies(tmp_path: Path, dtype: type, gz: bool) -> None:
    array = np.arange(16_000_000, dtype=np.uint32).astype(dtype).reshape(4000, 4000)
    path = write_idx(tmp_path / ("big.idx.gz" if gz else "big.idx"), array)
    del array
    tracemalloc.start()
    try:
        out = read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # uint8 needs one copy, wider types the big-endian buffer plus the native copy;
    # allow a few MiB of read buffers on top.
    copies = 2 if out.dtype.itemsize > 1 else 1
    assert peak <= copies * out.nbytes + 4 * 2**20, (peak, out.nbytes)
