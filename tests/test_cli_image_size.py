"""A folder of images of different sizes: train, evaluate and predict resize them to one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backprop.cli import main
from backprop.configfile import read_toml
from backprop.data import load_dataset
from backprop.model.modelfile import load


def photo(path: Path, size: tuple[int, int], level: int, seed: int, colour: bool = False) -> None:
    """A noisy image of mean ``level``, ``size`` (width, height), grey or colour."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size[1], size[0], 3) if colour else (size[1], size[0])
    noise = np.random.default_rng(seed).normal(level, 25, shape)
    Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8)).save(path)


def dark_and_light(root: Path, sizes: list[tuple[int, int]], seed: int = 0) -> None:
    """Two classes told apart by brightness, one image of each class per size."""
    for i, size in enumerate(sizes):
        photo(root / "dark" / f"{i}.png", size, 50, seed + 2 * i)
        photo(root / "light" / f"{i}.jpg", size, 200, seed + 2 * i + 1)


def pillow_resized(path: Path, height: int, width: int) -> np.ndarray:
    """Pillow's own Lanczos resize of a grey file's levels in [0, 1], as uint8."""
    grey = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0
    im = Image.fromarray(grey, mode="F").resize((width, height), Image.Resampling.LANCZOS)
    return np.clip(np.round(np.asarray(im) * 255.0), 0, 255).astype(np.uint8)


def test_photos_of_several_sizes_train_at_the_most_common_and_evaluate_at_it(tmp_path, capsys):
    dark_and_light(tmp_path / "photos", [(10, 10)] * 4 + [(14, 9), (7, 12), (30, 20)])
    out = tmp_path / "run"
    assert main(["train", "--data-dir", str(tmp_path / "photos"), "--hidden", "8",
                 "--epochs", "30", "--validation-split", "0", "--out", str(out),
                 "--no-report"]) == 0
    said = capsys.readouterr().out
    assert ("resized 6 of 14 images to 10×10, the most common size; --image-size HxW to "
            "choose") in said
    assert load(out / "model.npz").image.shape == (10, 10)
    dark_and_light(tmp_path / "new", [(24, 24)] * 5, seed=100)  # another size, unseen photos
    assert main(["evaluate", str(out / "model.npz"), "--data-dir", str(tmp_path / "new")]) == 0
    said = capsys.readouterr().out
    assert "resized 10 of 10 images to 10×10, the model's input size" in said
    assert said.startswith("accuracy 1.0000  (10/10)"), said


def test_image_size_resizes_every_image_as_predict_does(tmp_path, capsys):
    root = tmp_path / "photos"
    dark_and_light(root, [(10, 10), (16, 8), (12, 12)])
    photo(root / "light" / "c.png", (20, 15), 200, 9, colour=True)
    out = tmp_path / "run"
    assert main(["train", "--data-dir", str(root), "--image-size", "12x12", "--hidden", "8",
                 "--epochs", "50", "--activation", "tanh", "--validation-split", "0",
                 "--out", str(out), "--no-report", "--quiet"]) == 0
    model = load(out / "model.npz")
    assert model.image.shape == (12, 12, 3)  # one colour photo: the folder is read in colour
    assert read_toml(out / "config.toml")["image_size"] == "12x12"
    ds = load_dataset(data_dir=root, image_size="12x12")
    files = sorted((root / "dark").iterdir()) + sorted((root / "light").iterdir())
    assert len(files) == len(ds.X_train) == 7
    for x, f in zip(ds.X_train, files):
        assert np.array_equal(x, model.picture(f)), f  # backprop predict's picture of the file
        if f.name != "c.png":  # a grey photo: Pillow's resize, in all three channels
            assert np.array_equal(x, np.repeat(pillow_resized(f, 12, 12)[..., None], 3, 2)), f
    assert main(["data", "info", "--data-dir", str(root), "--image-size", "12x12"]) == 0
    assert "resized 5 of 7 images to 12×12, as --image-size asks" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["train", "--quiet"], ["data", "info"]])
@pytest.mark.parametrize("value, env, fix", [
    ("0", None, "each side must be 1 to 4096 pixels, e.g. 28x28"),
    ("10x", None, "must be HxW, e.g. 28x28, or one side, e.g. 32 for 32x32"),
    ("20x20", "100", "is 400 pixels, over the limit of 100; choose a smaller size, or raise "
                     "BACKPROP_MAX_IMAGE_PIXELS"),
])
def test_a_refused_image_size_is_one_line_and_exit_2(command, value, env, fix, tmp_path, capsys,
                                                      monkeypatch):
    dark_and_light(tmp_path / "photos", [(6, 6)])
    if env is not None:
        monkeypatch.setenv("BACKPROP_MAX_IMAGE_PIXELS", env)
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--data-dir", str(tmp_path / "photos"), "--image-size", value]) == 2
    err = capsys.readouterr().err
    assert err == f"backprop: error: --image-size {value}: {fix}\n"
    assert not (tmp_path / "runs").exists()


def test_image_size_is_refused_for_data_that_is_not_a_folder_of_images(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", X=np.arange(24.0).reshape(6, 2, 2), y=np.arange(6) % 2)
    assert main(["train", "--data-dir", str(tmp_path / "d.npz"), "--image-size", "4",
                 "--quiet", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "--image-size 4 resizes the images of a folder of class sub-folders" in err
    assert "drop --image-size" in err and err.count("\n") == 1
