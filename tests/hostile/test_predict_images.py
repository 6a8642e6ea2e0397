"""Hostile and unusual images, given to `backprop predict` and put in a training image folder as
a user would: refused in a line or two with exit code 2 (nothing decoded that is not a raster
image, Ghostscript never run, no pixel bomb decoded), or, for valid images, classified."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
from hostile_models import EPS, PDF, SVG, digit, good_model, huge_png, png_bytes
from PIL import Image


def predict(case, name: str, data: bytes, *args, env=None):
    case.write("model.npz", good_model())
    case.write(name, data)
    return case.run(["predict", "model.npz", name, *args], env=env)


def image_bytes(img, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    (img if isinstance(img, Image.Image) else Image.fromarray(img)).save(buf, format=fmt, **kw)
    return buf.getvalue()


# ------------------------------------------------------------------ not raster images


@pytest.mark.parametrize("name, data", [
    ("digit.png", EPS),
    ("digit.jpg", EPS),
    ("digit.eps", EPS),
    ("digit.png", b"%!PS-Adobe-3.0\n/Times-Roman findfont 12 scalefont setfont showpage\n"),
    ("digit.png", PDF),
    ("digit.pdf", PDF),
    ("digit.png", SVG),
    ("digit.png", b"\xc5\xd0\xd3\xc6" + b"\0" * 26 + EPS),  # binary DOS EPS header
])
def test_postscript_pdf_and_svg_are_refused_and_ghostscript_never_runs(case, name, data):
    r = predict(case, name, data)
    case.assert_refused(r, must_mention=[name, "not an image backprop reads"])


@pytest.mark.parametrize("fmt", ["ICO", "TGA", "PCX", "XBM", "SGI", "ICNS"])
def test_formats_pillow_reads_but_backprop_does_not_list(case, fmt):
    img = Image.new("L" if fmt != "XBM" else "1", (32, 32), 0)
    if fmt in ("ICNS",):
        img = img.convert("RGBA")
    try:
        data = image_bytes(img, fmt)
    except (OSError, KeyError, ValueError) as exc:
        pytest.skip(f"this Pillow cannot write {fmt}: {exc}")
    r = predict(case, "digit.png", data)
    case.assert_refused(r, must_mention=["digit.png", "not an image backprop reads"])


@pytest.mark.parametrize("data", [b"", b"hello", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"BM"])
def test_empty_and_truncated_headers(case, data):
    r = predict(case, "digit.png", data)
    case.assert_refused(r, must_mention=["digit.png"])


def test_a_truncated_png(case):
    data = png_bytes(digit(1))
    r = predict(case, "digit.png", data[: len(data) * 2 // 3])
    case.assert_refused(r, must_mention=["digit.png", "damaged"])


def test_a_png_with_a_broken_checksum(case):
    data = bytearray(png_bytes(digit(1)))
    data[40] ^= 0xFF
    r = predict(case, "digit.png", bytes(data))
    case.assert_refused(r, must_mention=["digit.png"])


# ------------------------------------------------------------------ pixel bombs


def test_a_12000_by_12000_png_is_refused_before_decoding(case):
    data = huge_png()
    assert len(data) < 300_000
    r = predict(case, "huge.png", data)
    case.assert_refused(r, must_mention=["huge.png", "12000x12000", "144,000,000",
                                         "25,000,000"])


def test_a_gif_whose_header_claims_65535_squared(case):
    data = bytearray(image_bytes(Image.new("L", (16, 16), 0), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)  # the logical screen
    r = predict(case, "bomb.gif", bytes(data))
    case.assert_refused(r, must_mention=["bomb.gif"])


def test_a_bmp_whose_header_claims_a_gigapixel(case):
    data = bytearray(image_bytes(Image.new("L", (16, 16), 0), "BMP"))
    data[18:26] = struct.pack("<ii", 40000, 40000)
    r = predict(case, "bomb.bmp", bytes(data))
    case.assert_refused(r, must_mention=["bomb.bmp"])


def test_the_pixel_limit_can_be_lowered(case):
    r = predict(case, "seven.png", png_bytes(digit(0, side=200)),
                env={"BACKPROP_MAX_IMAGE_PIXELS": "10000"})
    case.assert_refused(r, must_mention=["seven.png", "40,000 pixels", "10,000"])


def test_a_pixel_limit_that_is_not_a_number(case):
    r = predict(case, "seven.png", png_bytes(digit(0)),
                env={"BACKPROP_MAX_IMAGE_PIXELS": "lots"})
    case.assert_refused(r, must_mention=["BACKPROP_MAX_IMAGE_PIXELS"])


# ------------------------------------------------------------------ other refusals


def test_a_blank_page(case):
    r = predict(case, "blank.png", png_bytes(np.full((40, 40), 255, np.uint8)))
    case.assert_refused(r, must_mention=["blank.png", "no ink"])


def test_a_folder_given_as_an_image(case):
    case.write("model.npz", good_model())
    (case.dir / "pictures").mkdir()
    r = case.run(["predict", "model.npz", "pictures"])
    case.assert_refused(r, must_mention=["pictures", "folder"])


def test_a_missing_image(case):
    case.write("model.npz", good_model())
    r = case.run(["predict", "model.npz", "nothere.png"])
    case.assert_refused(r, must_mention=["nothere.png", "does not exist"])


def test_a_model_of_data_that_are_not_images(case):
    from hostile_models import npz_bytes, parts

    arrays, meta = parts()
    meta["image"] = None
    case.write("model.npz", npz_bytes(arrays, meta))
    case.write("seven.png", png_bytes(digit(0)))
    r = case.run(["predict", "model.npz", "seven.png"])
    case.assert_refused(r, must_mention=["model.npz", "not images"])


def test_one_bad_image_among_good_ones(case):
    case.write("model.npz", good_model())
    case.write("a.png", png_bytes(digit(0)))
    case.write("b.png", EPS)
    r = case.run(["predict", "model.npz", "a.png", "b.png"])
    case.assert_refused(r, must_mention=["b.png"])
    assert r.stdout.startswith("a.png  ->  ")


# ------------------------------------------------------------------ valid images still read


def _label(case, name: str, data: bytes) -> list:
    case.write(name, data)
    r = case.run(["predict", "model.npz", name, "--json"])
    assert r.rc == 0, r
    return json.loads(r.stdout)[0]["top"]


@pytest.mark.parametrize("i", [0, 1, 2])
def test_sixteen_bit_grey_predicts_like_eight_bit(case, i):
    case.write("model.npz", good_model())
    x = digit(i)
    eight = _label(case, "d8.png", png_bytes(x))
    sixteen = _label(case, "d16.png", image_bytes(Image.fromarray(x.astype(np.uint16) * 257),
                                                  "PNG"))
    assert Image.open(case.dir / "d16.png").mode.startswith("I")
    assert [t["label"] for t in eight] == [t["label"] for t in sixteen]
    for a, b in zip(eight, sixteen):
        assert abs(a["probability"] - b["probability"]) < 1e-6
    case.assert_harmless(allow=("d16.png",))


@pytest.mark.parametrize("fmt, convert", [
    ("JPEG", "CMYK"), ("GIF", "P"), ("PNG", "RGBA-transparent"), ("TIFF", "L"), ("WEBP", "RGB"),
    ("BMP", "RGB"), ("PPM", "L"),
])
def test_other_valid_images_give_the_same_label(case, fmt, convert):
    case.write("model.npz", good_model())
    x = digit(3)
    ref = _label(case, "ref.png", png_bytes(x))[0]["label"]
    if convert == "RGBA-transparent":
        rgba = np.zeros(x.shape + (4,), np.uint8)
        rgba[..., 3] = 255 - x
        img = Image.fromarray(rgba, "RGBA")
    else:
        img = Image.fromarray(x).convert(convert)
    kw = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "GIF":
        kw = {"save_all": True, "append_images": [Image.fromarray(255 - x).convert("P")]}
    assert _label(case, f"d.{fmt.lower()}", image_bytes(img, fmt, **kw))[0]["label"] == ref


# ------------------------------------------------------------------ the training folder


@pytest.mark.parametrize("name, data, mention", [
    ("b/evil.png", lambda: EPS, "not an image backprop reads"),
    ("b/huge.png", huge_png, "over the limit"),
    ("b/cut.png", lambda: png_bytes(np.random.default_rng(0).integers(
        0, 256, (24, 24), dtype=np.uint8))[:200], "damaged"),
])
def test_a_training_folder_with_a_hostile_image(case, name, data, mention):
    data = data()
    for k in ("a", "b"):
        for i in range(3):
            case.write(f"shapes/{k}/{i}.png", png_bytes(np.full((24, 24), 40 * i, np.uint8)))
    case.write(f"shapes/{name}", data)
    r = case.run(["train", "--data-dir", "shapes", "--epochs", "1", "--out", "run", "--quiet"])
    case.assert_refused(r, must_mention=[name.split("/")[-1], mention], allow=("run",))
