"""Hostile IDX folders given to ``backprop data info --data-dir`` (and ``train``)."""

from __future__ import annotations

import gzip
import os
import struct

import pytest
from bombs import gzip_bomb

IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


def idx(code: int, shape: tuple[int, ...], payload: bytes = b"") -> bytes:
    """IDX bytes written from the format's description: magic, big-endian dims, data."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def good_images(n: int = 4) -> bytes:
    return idx(0x08, (n, 4, 4), bytes(range(16)) * n)


def good_labels(labels: list[int], code: int = 0x08) -> bytes:
    fmt = {0x08: "B", 0x0C: "i"}[code]
    return idx(code, (len(labels),), struct.pack(f">{len(labels)}{fmt}", *labels))


def folder(case, images: bytes, labels: bytes, gz: bool = False):
    """Write the pair into ``case/d`` and return (folder, images path, labels path)."""
    suffix = ".gz" if gz else ""
    i = case.write(f"d/{IMAGES}{suffix}", gzip.compress(images) if gz else images)
    lab = case.write(f"d/{LABELS}", labels)
    return i.parent, i, lab


def info(case, path, **kw):
    return case.run(["data", "info", "--data-dir", path], **kw)


def test_header_claims_tebibytes(case):
    d, i, _ = folder(case, idx(0x08, (2**32 - 1, 2**32 - 1, 2**32 - 1)), good_labels([0]))
    case.assert_refused(info(case, d), [i, "BACKPROP_MAX_DATA_BYTES", "limit"])


def test_gzip_header_claims_tebibytes(case):
    d, i, _ = folder(case, idx(0x0E, (2**31, 2**31)), good_labels([0]), gz=True)
    case.assert_refused(info(case, d), [i, "limit"])


def test_255_dimensions_of_the_largest_size(case):
    d, i, _ = folder(case, idx(0x08, (2**32 - 1,) * 255), good_labels([0]))
    case.assert_refused(info(case, d), [i, "limit"])


def test_header_claims_more_than_the_file_holds(case):
    d, i, _ = folder(case, idx(0x08, (60000, 28, 28), b"\0" * 10), good_labels([0]))
    case.assert_refused(info(case, d), [i, "truncated", "47,040,000"])


def test_gzip_header_under_the_limit_but_far_over_the_ratio(case):
    """1 GiB declared in a 1 KB gzip: refused from the header, before reading."""
    d, i, _ = folder(case, idx(0x08, (2**20, 32, 32)), good_labels([0]), gz=True)
    case.assert_refused(info(case, d), [i, "ratio", "BACKPROP_MAX_GZIP_RATIO"])


def test_gzip_bomb_after_a_small_header(case):
    """4 images declared, then 256 MiB of zeros (270 KB on disk): stop at the first extra chunk."""
    case.write(f"d/{IMAGES}.gz", gzip_bomb(good_images(), 256))
    lab = case.write(f"d/{LABELS}", good_labels([0, 1, 0, 1]))
    r = info(case, lab.parent, mem_limit_bytes=768 * 2**20)
    case.assert_refused(r, [f"{IMAGES}.gz", "trailing bytes"])


def test_gzip_bomb_that_its_header_declares(case):
    """A real 512 MiB of zeros that the header declares: refused by the ratio, never inflated."""
    case.write(f"d/{IMAGES}.gz", gzip_bomb(idx(0x08, (2**19, 32, 32)), 512))
    lab = case.write(f"d/{LABELS}", good_labels([0]))
    r = info(case, lab.parent, mem_limit_bytes=768 * 2**20)
    case.assert_refused(r, [f"{IMAGES}.gz", "ratio"])


def test_trailing_bytes_in_a_plain_file(case):
    d, i, _ = folder(case, good_images() + b"\0" * 1000, good_labels([0, 1, 0, 1]))
    case.assert_refused(info(case, d), [i, "1,000 trailing bytes"])


def test_empty_image_file(case):
    d, i, _ = folder(case, b"", good_labels([0]))
    case.assert_refused(info(case, d), [i, "truncated header"])


def test_empty_arrays(case):
    d, _, lab = folder(case, idx(0x08, (0, 4, 4)), idx(0x08, (0,)))
    case.assert_refused(info(case, d), ["no items"])


@pytest.mark.parametrize(
    "head, words",
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "magic number"),
        (b"\0\0\x07\x03" + b"\0" * 64, "type code 0x07"),
        (b"\0\0\x08\x00" + b"\0" * 64, "0 dimensions"),
        (b"\0\0\x08\x03\0\0", "truncated header"),
    ],
    ids=["png-bytes", "unknown-type", "zero-dims", "short-dims"],
)
def test_malformed_headers(case, head, words):
    d, i, _ = folder(case, head, good_labels([0]))
    case.assert_refused(info(case, d), [i, words])


def test_counts_differ(case):
    d, i, lab = folder(case, good_images(4), good_labels([0, 1, 0]))
    case.assert_refused(info(case, d), [i, lab, "4 items", "3 labels"])


def test_labels_of_float_type(case):
    d, _, lab = folder(case, good_images(2), idx(0x0D, (2,), b"\0" * 8))
    case.assert_refused(info(case, d), [lab, "one integer per item"])


def test_labels_of_two_dimensions(case):
    d, _, lab = folder(case, good_images(2), idx(0x08, (2, 1), b"\0\1"))
    case.assert_refused(info(case, d), [lab, "one integer per item"])


def test_gzip_cut_in_half(case):
    full = gzip.compress(good_images(64))
    case.write(f"d/{IMAGES}.gz", full[: len(full) // 2])
    lab = case.write(f"d/{LABELS}", good_labels([0] * 64))
    case.assert_refused(info(case, lab.parent), [f"{IMAGES}.gz"])


def test_gz_name_but_not_gzip(case):
    case.write(f"d/{IMAGES}.gz", b"\x1f\x8b" + b"garbage" * 10)
    lab = case.write(f"d/{LABELS}", good_labels([0]))
    case.assert_refused(info(case, lab.parent), [f"{IMAGES}.gz", "gzip"])


def test_test_pair_of_another_shape(case):
    d, _, _ = folder(case, good_images(2), good_labels([0, 1]))
    t = case.write("d/t10k-images-idx3-ubyte", idx(0x08, (1, 5, 5), b"\0" * 25))
    case.write("d/t10k-labels-idx1-ubyte", good_labels([0]))
    case.assert_refused(info(case, d), [t, "(5, 5)"])


def test_test_images_without_labels(case):
    d, _, _ = folder(case, good_images(2), good_labels([0, 1]))
    case.write("d/t10k-images-idx3-ubyte", good_images(1))
    case.assert_refused(info(case, d), ["t10k-images", "partner"])


def test_one_absurd_label_is_one_class_not_two_billion(case):
    """A label 2**31-1 among 0 and 1: three classes, named by their values; no memory blow-up."""
    d, _, _ = folder(case, good_images(4), good_labels([0, 1, 2**31 - 1, 1], code=0x0C))
    r = info(case, d, mem_limit_bytes=768 * 2**20)
    assert r.rc == 0, r
    assert "classes    3" in r.stdout and "2147483647:1" in r.stdout, r
    case.assert_harmless()


def test_too_many_classes(case):
    d, _, _ = folder(case, good_images(4), good_labels([0, 1, 2, 3]))
    r = info(case, d, env={"BACKPROP_MAX_CLASSES": "3"})
    case.assert_refused(r, ["4 distinct classes", "BACKPROP_MAX_CLASSES"])


def test_images_of_the_wrong_size_for_a_named_set(case):
    d, _, _ = folder(case, good_images(2), good_labels([0, 1]))
    r = case.run(["data", "info", "mnist", "--data-dir", d])
    case.assert_refused(r, ["28x28"])


def test_a_label_outside_a_named_sets_classes(case):
    d, _, lab = folder(case, good_images(2), good_labels([0, 200]))
    r = case.run(["data", "info", "fashion-mnist", "--data-dir", d])
    case.assert_refused(r, [lab, "label 200"])


def test_the_limit_is_raised_by_its_variable(case):
    """256 bytes of images: refused under a 100-byte limit, read under the default."""
    d, i, _ = folder(case, good_images(16), good_labels([0, 1] * 8))
    r = info(case, d, env={"BACKPROP_MAX_DATA_BYTES": "100"})
    case.assert_refused(r, [i, "256 bytes", "100 bytes", "BACKPROP_MAX_DATA_BYTES"])
    r = info(case, d)
    assert r.rc == 0 and "16 items" in r.stdout, r


def test_a_limit_variable_that_is_not_a_number(case):
    d, _, _ = folder(case, good_images(2), good_labels([0, 1]))
    r = info(case, d, env={"BACKPROP_MAX_DATA_BYTES": "lots"})
    case.assert_refused(r, ["BACKPROP_MAX_DATA_BYTES", "lots", "positive integer"])


def test_train_refuses_the_same_header(case):
    d, i, _ = folder(case, idx(0x08, (2**32 - 1, 2**32 - 1, 2**32 - 1)), good_labels([0]))
    r = case.run(["train", "--data-dir", d, "--out", case.dir / "run", "--epochs", "1"])
    case.assert_refused(r, [i, "limit"])


def test_images_linked_to_dev_zero_are_not_read(case):
    lab = case.write(f"d/{LABELS}", good_labels([0]))
    os.symlink("/dev/zero", lab.parent / IMAGES)
    case.assert_refused(info(case, lab.parent), [IMAGES, "found"])


def test_too_many_entries_in_the_folder(case):
    for i in range(30):
        case.write(f"d/f{i}.txt", "")
    r = info(case, case.dir / "d", env={"BACKPROP_MAX_IMAGE_FILES": "20"})
    case.assert_refused(r, ["20 entries", "BACKPROP_MAX_IMAGE_FILES"])
