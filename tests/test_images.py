"""MNIST-style preprocessing of the user's images, and `backprop predict` on real files."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

import backprop
from backprop.cli import main
from backprop.config import TrainConfig, build_network
from backprop.data import Preprocessor, load_dataset
from backprop.data.images import load_digit, mnist_style
from backprop.engine.train import Trainer
from backprop.errors import DataError


@pytest.fixture(scope="module")
def sample():
    return load_dataset("mnist-sample")


@pytest.fixture(scope="module")
def model(sample, tmp_path_factory):
    """A small model fitted once on the 4,000 sample digits, saved as a model file."""
    cfg = TrainConfig(hidden=[64], epochs=4, seed=0)
    pre = Preprocessor("unit").fit(sample.X_train)
    net = build_network(cfg, 784, 10)
    Trainer(net, cfg).fit(pre.transform(sample.X_train), sample.y_train)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    net.save(path, preprocessor=pre, class_names=sample.class_names)
    return path


def com(img):
    img = img.astype(np.float64)
    ys, xs = np.indices(img.shape)
    return (ys * img).sum() / img.sum(), (xs * img).sum() / img.sum()


def bbox(img, level=0):
    rows = np.flatnonzero((img > level).any(axis=1))
    cols = np.flatnonzero((img > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_pngs_of_test_digits_get_the_in_memory_label(sample, model, tmp_path):
    """200 test digits, inverted, 200x200, dark on light, RGB: ≥ 95% same label."""
    net = backprop.load(model)
    X = sample.X_test[:200]
    expected = net.predict(net.preprocessor.transform(X))
    paths = []
    for i, x in enumerate(X):
        p = tmp_path / f"{i:03d}.png"
        Image.fromarray(255 - x).resize((200, 200), Image.Resampling.BILINEAR).convert(
            "RGB").save(p)
        paths.append(str(p))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["predict", str(model), *paths, "--json"]) == 0
    got = [int(r["label"]) for r in json.loads(buf.getvalue())]
    agreement = np.mean(np.array(got) == expected)
    assert agreement >= 0.95, agreement


def test_geometry_matches_mnist(sample):
    """Longest ink side 20 px, centre of mass at (14, 14), like the MNIST digits themselves."""
    for x in sample.X_test[:20]:
        big = Image.fromarray(255 - x).resize((140, 140), Image.Resampling.BILINEAR)
        out = mnist_style(np.asarray(big) / 255.0)
        assert out.dtype == np.uint8 and out.shape == (28, 28)
        assert max(bbox(out, 40)) in (19, 20, 21)
        cy, cx = com(out)
        assert abs(cy - 14) <= 0.75 and abs(cx - 14) <= 0.75


def test_polarity_and_colour_do_not_matter(sample, tmp_path):
    x = sample.X_test[3]
    base = Image.fromarray(x).resize((90, 90), Image.Resampling.BILINEAR)
    light_on_dark = tmp_path / "a.png"
    base.save(light_on_dark)
    dark_on_light_jpeg = tmp_path / "b.jpg"
    Image.fromarray(255 - np.asarray(base)).convert("RGB").save(dark_on_light_jpeg, quality=95)
    blue_ink_bmp = tmp_path / "c.bmp"
    rgb = np.stack([255 - np.asarray(base) // 2, 255 - np.asarray(base) // 2,
                    np.full((90, 90), 255, np.uint8)], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(blue_ink_bmp)
    gif = tmp_path / "d.gif"
    Image.fromarray(255 - np.asarray(base)).save(gif)
    ref = load_digit(light_on_dark).astype(float)
    for p in (dark_on_light_jpeg, blue_ink_bmp, gif):
        other = load_digit(p).astype(float)
        assert np.abs(other - ref).mean() < 12, p


def test_transparent_background_png(sample, tmp_path):
    x = sample.X_test[5]
    big = np.asarray(Image.fromarray(x).resize((100, 100), Image.Resampling.BILINEAR))
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[..., 3] = big  # black ink whose opacity draws the digit, transparent paper
    p = tmp_path / "t.png"
    Image.fromarray(rgba, "RGBA").save(p)
    opaque = tmp_path / "o.png"
    Image.fromarray(255 - big).save(opaque)
    assert np.abs(load_digit(p).astype(float) - load_digit(opaque).astype(float)).mean() < 5


def test_wide_digit_keeps_its_aspect_ratio():
    img = np.zeros((50, 200))
    img[20:30, 10:190] = 1.0  # a long horizontal bar, 18:1
    out = mnist_style(img)
    h, w = bbox(out, 60)
    assert w == 20 and h <= 3


def test_bad_images(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(DataError, match="not an image Pillow can read"):
        load_digit(text)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_digit(tmp_path / "missing.png")
    blank = tmp_path / "blank.png"
    Image.new("L", (40, 40), 255).save(blank)
    with pytest.raises(DataError, match="no ink"):
        load_digit(blank)


def test_predict_reports_bad_files_and_keeps_going(model, tmp_path, capsys, sample):
    good = tmp_path / "g.png"
    Image.fromarray(255 - sample.X_test[0]).save(good)
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    assert main(["predict", str(model), str(good), str(bad), "--show-input",
                 str(tmp_path / "seen")]) == 2
    cap = capsys.readouterr()
    assert cap.err.strip() == f"backprop: error: {bad} is not an image Pillow can read; give " \
        "a PNG, JPEG, BMP or GIF file"
    assert cap.out.startswith(f"{good}  ->  ")
    seen = np.asarray(Image.open(tmp_path / "seen" / "g_28x28.png"))
    assert seen.shape == (28, 28) and np.array_equal(seen, load_digit(good))
