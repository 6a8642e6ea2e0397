"""Hostile image folders given to ``backprop data info --data-dir FOLDER``."""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\n"
       b"newpath 0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png(value: int = 0, size: tuple[int, int] = (4, 4), mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, value).save(buf, format="PNG")
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and IHDR declaring width x height 8-bit grey, then a tiny IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def info(case, path, **kw):
    return case.run(["data", "info", "--data-dir", path], **kw)


def two_classes(case) -> object:
    case.write("d/a/1.png", png(10))
    case.write("d/b/2.png", png(200))
    return case.dir / "d"


@pytest.mark.parametrize(
    "name, data",
    [("eps.png", EPS), ("pdf.jpg", PDF), ("text.png", b"hello, not an image\n"),
     ("empty.png", b""), ("cut.png", png(size=(64, 64))[:40])],
    ids=["eps-named-png", "pdf-named-jpg", "text-named-png", "empty-png", "truncated-png"],
)
def test_not_a_raster_image(case, name, data):
    d = two_classes(case)
    f = case.write(f"d/a/{name}", data)
    case.assert_refused(info(case, d), [f])


def test_eps_is_never_handed_to_ghostscript_by_train(case):
    d = two_classes(case)
    f = case.write("d/b/eps.png", EPS)
    r = case.run(["train", "--data-dir", d, "--out", case.dir / "run", "--epochs", "1"])
    case.assert_refused(r, [f])


def test_a_decompression_bomb_png(case):
    """A 100-byte PNG declaring 12000 x 12000 pixels: refused from its header."""
    d = two_classes(case)
    f = case.write("d/a/big.png", png_header_only(12000, 12000))
    case.assert_refused(info(case, d, mem_limit_bytes=768 * 2**20), [f, "pixels"])


def test_a_class_folder_linked_outside(case, tmp_path_factory):
    d = two_classes(case)
    outside = tmp_path_factory.mktemp("elsewhere")
    (outside / "x.png").write_bytes(png())
    os.symlink(outside, d / "c")
    case.assert_refused(info(case, d), ["c", "outside"])


def test_an_image_linked_outside(case):
    d = two_classes(case)
    os.symlink("/etc/hostname" if os.path.exists("/etc/hostname") else "/etc/passwd",
               d / "a" / "x.png")
    case.assert_refused(info(case, d), ["x.png", "outside"])


def test_an_image_linked_to_dev_zero(case):
    d = two_classes(case)
    os.symlink("/dev/zero", d / "a" / "zero.png")
    case.assert_refused(info(case, d), ["zero.png"])


def test_a_fifo_named_png(case):
    d = two_classes(case)
    os.mkfifo(d / "a" / "pipe.png")
    case.assert_refused(info(case, d), ["pipe.png", "not a regular file"])


def test_too_many_files(case):
    d = two_classes(case)
    for i in range(30):
        case.write(f"d/b/n{i}.txt", "")
    r = info(case, d, env={"BACKPROP_MAX_IMAGE_FILES": "20"})
    case.assert_refused(r, ["20 files", "BACKPROP_MAX_IMAGE_FILES"])


def test_too_many_class_folders(case):
    for i in range(6):
        case.write(f"d/c{i}/1.png", png(i))
    r = info(case, case.dir / "d", env={"BACKPROP_MAX_CLASSES": "5"})
    case.assert_refused(r, ["6 class folders", "BACKPROP_MAX_CLASSES"])


def test_images_over_the_memory_limit(case):
    for i in range(4):
        case.write(f"d/a/{i}.png", png(size=(32, 32)))
    r = info(case, case.dir / "d", env={"BACKPROP_MAX_DATA_BYTES": "3000"})
    case.assert_refused(r, ["BACKPROP_MAX_DATA_BYTES"])


def test_sizes_differ_are_read_at_the_most_common_size(case):
    d = two_classes(case)
    case.write("d/b/3.png", png(size=(5, 6)))
    r = info(case, d)
    assert r.rc == 0 and "sample     (4, 4) uint8" in r.stdout, r
    assert "resized 1 of 3 images to 4×4, the most common size" in r.stdout, r
    case.assert_harmless()


def test_a_header_bomb_among_images_of_other_sizes_is_refused_before_decoding(case):
    """The sizes are read from the headers first; decoding still checks the pixel limit."""
    d = two_classes(case)
    for i in range(3):
        case.write(f"d/a/big{i}.png", png_header_only(12000, 12000))
    r = info(case, d, mem_limit_bytes=768 * 2**20)
    case.assert_refused(r, ["big0.png", "pixels"])


def test_no_images_at_all(case):
    case.write("d/a/readme.txt", "x")
    case.write("d/b/notes.md", "y")
    case.assert_refused(info(case, case.dir / "d"), ["no images"])


def test_a_test_class_not_in_training(case):
    for split in ("train", "test"):
        case.write(f"d/{split}/a/1.png", png(1))
    case.write("d/test/zebra/1.png", png(2))
    case.assert_refused(info(case, case.dir / "d"), ["zebra"])


def test_valid_oddities_are_read(case):
    """Not hostile: 16-bit grey, an animated GIF, notes and hidden files beside the images."""
    case.write("d/a/1.png", png(10))
    grey16 = io.BytesIO()
    Image.fromarray(np.full((4, 4), 40000, dtype=np.uint16)).save(grey16, format="PNG")
    case.write("d/a/2.png", grey16.getvalue())
    gif = io.BytesIO()
    frames = [Image.new("L", (4, 4), v) for v in (90, 10)]
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    case.write("d/b/3.gif", gif.getvalue())
    case.write("d/b/notes.txt", "ignored")
    case.write("d/b/.DS_Store", b"\0\1")
    r = info(case, case.dir / "d")
    assert r.rc == 0 and "3 items" in r.stdout and "a:2  b:1" in r.stdout, r
    case.assert_harmless()
