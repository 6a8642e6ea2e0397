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
from backprop.model.model import image_steps_for
from backprop.model.modelfile import save


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
    save(net, path, preprocessor=pre, class_names=sample.class_names,
         image=image_steps_for(sample))
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
    expected = net.network.predict(net.preprocessor.transform(X))
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
    with pytest.raises(DataError, match="not an image backprop reads"):
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
    assert cap.err.strip() == f"backprop: error: {bad} is not an image backprop reads; give " \
        "a PNG, JPEG, BMP, GIF, TIFF, WebP or PGM/PPM file"
    assert cap.out.startswith(f"{good}  ->  ")
    seen = np.asarray(Image.open(tmp_path / "seen" / "g_28x28.png"))
    assert seen.shape == (28, 28) and np.array_equal(seen, load_digit(good))


# ---------------------------------------------------------------- the model's own image steps


def _cli(cwd, *args):
    """``python -m backprop ARGS`` run in ``cwd``: the CompletedProcess, output as text."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "backprop", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def _shape_image(kind: int, rng: np.random.Generator, side: int = 24) -> np.ndarray:
    """Black ink on white paper: a vertical bar, a horizontal bar or a square ring, jittered."""
    img = np.full((side, side), 255, np.uint8)
    o = rng.integers(-3, 4, size=2)
    c = side // 2
    if kind == 0:
        img[4:-4, c - 2 + o[0]: c + 2 + o[0]] = 0
    elif kind == 1:
        img[c - 2 + o[0]: c + 2 + o[0], 4:-4] = 0
    else:
        img[6 + o[0]: 18 + o[0], 6 + o[1]: 18 + o[1]] = 0
        img[9 + o[0]: 15 + o[0], 9 + o[1]: 15 + o[1]] = 255
    return img


def test_a_model_trained_on_an_image_folder_predicts_its_own_images(tmp_path):
    """Training read the PNGs as they are; predict must repeat exactly that (not MNIST steps)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "shapes"
    paths, labels = [], []
    for k, name in enumerate(["bar", "dash", "ring"]):
        (folder / name).mkdir(parents=True)
        for i in range(12):
            p = folder / name / f"{i}.png"
            Image.fromarray(_shape_image(k, rng)).save(p)
            paths.append(str(p))
            labels.append(name)

    def bp(*args):
        return _cli(tmp_path, *args)

    r = bp("train", "--data-dir", str(folder), "--hidden", "32", "--epochs", "30", "--quiet",
           "--no-report", "--out", "run")
    assert r.returncode == 0, r.stderr
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    train_acc = history["records"][-1]["acc"]
    model = backprop.load(tmp_path / "run" / "model.npz")
    assert model.image.kind == "plain" and model.image.shape == (24, 24)
    r = bp("predict", "run/model.npz", *paths, "--json", "--output", "out.csv")
    assert r.returncode == 0, r.stderr
    got = [e["label"] for e in json.loads(r.stdout)]
    written = (tmp_path / "out.csv").read_text().splitlines()
    assert written == ["file,label"] + [f"{p},{g}" for p, g in zip(paths, got)]
    accuracy = np.mean(np.array(got) == np.array(labels))
    assert len(set(got)) == 3, got
    assert accuracy >= min(train_acc, 0.95), (accuracy, train_acc)


def test_sixteen_bit_grey_png_predicts_like_eight_bit(sample, model, tmp_path):
    net = backprop.load(model)
    for i in range(5):
        x8 = 255 - np.asarray(Image.fromarray(sample.X_test[i]).resize((84, 84)))
        p8, p16 = tmp_path / f"d{i}_8.png", tmp_path / f"d{i}_16.png"
        Image.fromarray(x8).save(p8)
        Image.fromarray(x8.astype(np.uint16) * 257).save(p16)  # mode I;16, same grey levels
        assert Image.open(p16).mode.startswith("I")
        a, b = net.predict_image(p8), net.predict_image(p16)
        assert a["label"] == b["label"]
        np.testing.assert_array_equal(a["picture"], b["picture"])


def test_cmyk_animated_gif_and_transparent_png_still_read(sample, tmp_path):
    x = 255 - np.asarray(Image.fromarray(sample.X_test[7]).resize((56, 56)))
    ref = load_digit(_save(Image.fromarray(x), tmp_path / "ref.png"))
    cmyk = _save(Image.fromarray(x).convert("CMYK"), tmp_path / "c.jpg", quality=95)
    frames = [Image.fromarray(x).convert("P"), Image.fromarray(255 - x).convert("P")]
    gif = tmp_path / "a.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    rgba = np.zeros((56, 56, 4), np.uint8)
    rgba[..., 3] = 255 - x
    png = _save(Image.fromarray(rgba, "RGBA"), tmp_path / "t.png")
    for p in (cmyk, gif, png):
        assert np.abs(load_digit(p).astype(float) - ref.astype(float)).mean() < 12, p


def _save(im, path, **kw):
    im.save(path, **kw)
    return path


def test_only_listed_raster_formats_are_opened(tmp_path):
    from backprop.data.images import FORMATS, read_grey

    eps = tmp_path / "digit.png"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nshowpage\n")
    with pytest.raises(DataError, match="not an image backprop reads"):
        read_grey(eps)
    ico = tmp_path / "d.png"
    Image.new("L", (16, 16), 0).save(ico, format="ICO")  # Pillow reads ICO, backprop does not
    with pytest.raises(DataError, match="not an image backprop reads"):
        read_grey(ico)
    assert "EPS" not in FORMATS and "PDF" not in FORMATS


def test_pixel_limit_is_checked_before_decoding(tmp_path, monkeypatch):
    from backprop.data.images import read_grey

    big = tmp_path / "big.png"
    Image.new("L", (3000, 2000), 255).save(big)
    with pytest.raises(DataError, match=r"big.png: the image is 3000x2000 = 6,000,000 pixels, "
                                        r"over the limit of 1,000,000"):
        read_grey(big, limit=1_000_000)
    monkeypatch.setenv("BACKPROP_MAX_IMAGE_PIXELS", "5000000")
    with pytest.raises(DataError, match="over the limit of 5,000,000"):
        read_grey(big)
    monkeypatch.setenv("BACKPROP_MAX_IMAGE_PIXELS", "7000000")
    assert read_grey(big).shape == (2000, 3000)


# ---------------------------------------------------------------- colour images

# Red and green of one grey level (ITU-R 601 luma 60, as Pillow's "L"): only colour parts them.
RED, GREEN = (200, 0, 0), (0, 102, 0)


def _square(colour, at) -> np.ndarray:
    a = np.zeros((12, 12, 3), np.uint8)
    a[at[0]: at[0] + 5, at[1]: at[1] + 5] = colour
    return a


def test_a_model_of_a_colour_folder_tells_red_from_green(tmp_path):
    """Train on red vs green squares read in colour; predict new PNGs in colour. Greyscale
    could not: each new red square reads as the same grey image as a green one."""
    from backprop.data.images import read_grey

    rng = np.random.default_rng(0)
    for name, colour in (("green", GREEN), ("red", RED)):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(20):
            at = rng.integers(0, 8, size=2)
            Image.fromarray(_square(colour, at), "RGB").save(tmp_path / "data" / name / f"{i}.png")
    new, labels = [], []
    for k, at in enumerate([(0, 7), (7, 0), (4, 4)]):
        for name, colour in (("green", GREEN), ("red", RED)):
            Image.fromarray(_square(colour, at), "RGB").save(tmp_path / f"{name}{k}.png")
            new.append(f"{name}{k}.png")
            labels.append(name)
    assert np.array_equal(read_grey(tmp_path / "red0.png"), read_grey(tmp_path / "green0.png"))

    def bp(*args):
        return _cli(tmp_path, *args)

    r = bp("train", "--data-dir", "data", "--hidden", "32", "--epochs", "60", "--no-report",
           "--out", "run")
    assert r.returncode == 0, r.stderr
    assert "in colour (RGB), 3 inputs a pixel" in r.stdout
    model = backprop.load(tmp_path / "run" / "model.npz")
    assert model.image.kind == "plain" and model.image.shape == (12, 12, 3)
    assert model.n_inputs == 12 * 12 * 3
    r = bp("predict", "run/model.npz", *new, "--json", "--show-input", "seen")
    assert r.returncode == 0, r.stderr
    answers = json.loads(r.stdout)
    assert [e["label"] for e in answers] == labels
    seen = np.asarray(Image.open(tmp_path / "seen" / "red1_12x12.png"))
    assert np.array_equal(seen, _square(RED, (7, 0)))  # the network saw the file, in colour


def test_colour_steps_read_a_new_image_in_colour_at_the_training_size(tmp_path):
    """A 24x24 colour file for 12x12 colour steps: resized per channel; a grey file goes
    in all three channels."""
    from backprop.data.images import ImageSteps

    steps = ImageSteps("plain", (12, 12, 3))
    big = np.kron(_square(RED, (2, 2)), np.ones((2, 2, 1), np.uint8))  # each pixel doubled
    Image.fromarray(big, "RGB").save(tmp_path / "big.png")
    net = backprop.Network([12 * 12 * 3, 2], seed=0)
    model = backprop.Model(net, image=steps)
    pic = model.picture(tmp_path / "big.png")
    truth = np.asarray(Image.fromarray(big, "RGB").resize((12, 12), Image.Resampling.LANCZOS))
    # Pillow's own RGB resize rounds to uint8 between its two passes: a few levels apart
    assert pic.shape == (12, 12, 3) and np.abs(pic.astype(int) - truth).max() <= 3
    inside = pic[3:6, 3:6]  # the square: red, give or take Lanczos's ringing; no green, no blue
    assert np.all(np.abs(inside[..., 0].astype(int) - RED[0]) <= 10) and not inside[..., 1:].any()
    Image.fromarray(np.full((12, 12), 90, np.uint8)).save(tmp_path / "grey.png")
    assert np.all(model.picture(tmp_path / "grey.png") == 90)


def test_a_channels_first_npz_trains_a_colour_model_that_reads_pngs(tmp_path):
    """PyTorch's (N, 3, H, W) in an .npz is moved channels-last, so the model it trains
    reads a PNG's pixels in the same order and tells red from green; (N, 1, H, W) is grey."""
    from backprop.data import load_dataset

    rng = np.random.default_rng(1)
    at = rng.integers(0, 8, size=(40, 2))
    X = np.stack([_square(RED if i % 2 else GREEN, a) for i, a in enumerate(at)])  # (N, H, W, 3)
    y = np.where(np.arange(40) % 2, "red", "green")
    np.savez(tmp_path / "chw.npz", X=X.transpose(0, 3, 1, 2), y=y)
    np.savez(tmp_path / "grey1.npz", X=X[:, None, :, :, 0], y=y)  # (N, 1, H, W)
    ds = load_dataset(data_dir=tmp_path / "chw.npz")
    assert ds.image_shape == (12, 12, 3) and np.array_equal(ds.X_train, X)
    grey = load_dataset(data_dir=tmp_path / "grey1.npz")
    assert grey.image_shape == (12, 12) and np.array_equal(grey.X_train, X[..., 0])
    new = {"red.png": _square(RED, (0, 7)), "green.png": _square(GREEN, (7, 0))}
    for name, a in new.items():
        Image.fromarray(a, "RGB").save(tmp_path / name)

    def bp(*args):
        return _cli(tmp_path, *args)

    r = bp("train", "--data-dir", "chw.npz", "--hidden", "32", "--epochs", "60", "--no-report",
           "--out", "run")
    assert r.returncode == 0, r.stderr
    r = bp("predict", "run/model.npz", *new, "--json")
    assert r.returncode == 0, r.stderr
    assert [e["label"] for e in json.loads(r.stdout)] == ["red", "green"]
