"""backprop.adapt: the recipe's length, distortions and validation follow the data."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from backprop.adapt import (
    MAX_EPOCHS,
    MIN_EPOCHS,
    SQUEEZED_SHARE,
    adapt,
    epochs_for,
    squeezed_features,
    suits_distortions,
)
from backprop.config import TrainConfig


def _ds(n: int, image_shape, classes: int = 10):
    y = np.arange(n) % classes
    return SimpleNamespace(X_train=np.zeros((n, 1)), y_train=y, image_shape=image_shape)


@pytest.mark.parametrize(
    ("shape", "ok"),
    [((28, 28), True), ((16, 16), True), ((64, 48), True), ((8, 8), False), ((28, 28, 3), False),
     ((784,), False), (None, False), ((100, 100), False)],
)
def test_which_samples_the_distortions_suit(shape, ok):
    assert suits_distortions(shape) is ok


def test_epochs_for_an_update_budget():
    # 60,000 samples in minibatches of 128: 469 per epoch, 56,000 updates -> 120 epochs
    assert epochs_for(56_000, 60_000, 128) == 120
    assert epochs_for(56_000, 5_000, 128) == 1400  # 40 minibatches per epoch
    assert epochs_for(64_000, 5_000, 128) == 1600
    assert epochs_for(56_000, 4, 128) == MAX_EPOCHS  # xor: one update per epoch, capped
    assert epochs_for(100, 60_000, 128) == MIN_EPOCHS
    assert epochs_for(500, 60_000, 128, optimizer="gd") == 500  # one update per epoch


def test_the_length_note_names_a_max_time():
    cfg = TrainConfig(updates=52_000, validation_split=0.0, augment="none", max_time="9m30s")
    out, notes = adapt(cfg, _ds(5_120, None))
    assert out.epochs == 1300 and out.max_time == "9m30s"  # the ceiling applies while training
    assert notes[0] == ("1,300 epochs: a budget of 52,000 updates over 5,120 training samples in "
                        "minibatches of 128 (fewer if they would not end within max time 9m30s)")
    _, notes = adapt(cfg.updated(updates=0, epochs=40), _ds(100, None))
    assert notes[0] == "40 epochs (fewer if they would not end within max time 9m30s)"
    _, notes = adapt(cfg.updated(max_time=None), _ds(5_120, None))
    assert "max time" not in notes[0]


def test_time_replaces_a_max_time_unless_the_user_gave_one_below_it():
    cfg = TrainConfig(validation_split=0.0, augment="none", time="20m", max_time="9m30s")
    out, notes = adapt(cfg, _ds(100, None), given={"time"})  # e.g. a preset's ceiling
    assert (out.time, out.max_time) == ("20m", None)
    assert notes[0].startswith("epochs: as many as fit in --time 20m")
    with pytest.raises(ValueError, match="--max-time 9m30s is below --time 20m"):
        adapt(cfg, _ds(100, None), given={"time", "max_time"})
    out, _ = adapt(cfg.updated(max_time="1h"), _ds(100, None), given={"time", "max_time"})
    assert out.max_time is None  # moot: the time is the ceiling


def test_small_images_and_tables_train_undistorted():
    cfg = TrainConfig(augment="affine", validation_split=0.0)
    for shape in [(8, 8), None, (5,)]:
        out, notes = adapt(cfg, _ds(100, shape))
        assert out.augment == "none"
        assert any("no distortions" in n for n in notes)
    out, _ = adapt(cfg, _ds(100, (28, 28)))
    assert out.augment == "affine"


def test_input_dropout_replaces_the_distortions_only():
    """Undistorted where distortions were asked for: input dropout instead, never on top."""
    from backprop.adapt import INPUT_DROPOUT

    cfg = TrainConfig(augment="affine", validation_split=0.0)
    out, notes = adapt(cfg, _ds(100, (8, 8)))
    assert (out.augment, out.input_dropout) == ("none", INPUT_DROPOUT)
    assert f"input dropout {INPUT_DROPOUT:g} in their place" in notes[0]
    assert adapt(cfg, _ds(100, (28, 28)))[0].input_dropout == 0.0  # distorted: no input dropout
    # a rate the recipe or the user set stands, and so does a recipe without distortions
    assert adapt(cfg.updated(input_dropout=0.05), _ds(100, None))[0].input_dropout == 0.05
    out, _ = adapt(cfg, _ds(100, None), given={"input_dropout"})
    assert out.input_dropout == 0.0
    plain = TrainConfig(augment="none", validation_split=0.0)
    assert adapt(plain, _ds(100, None))[0].input_dropout == 0.0


def test_what_the_user_gave_is_kept():
    cfg = TrainConfig(augment="affine", validation_split=0.5, epochs=7)
    out, _ = adapt(cfg, _ds(4, (8, 8), classes=2), given={"augment", "validation_split"})
    assert (out.augment, out.validation_split, out.epochs) == ("affine", 0.5, 7)


def test_no_validation_where_a_class_would_give_none():
    out, notes = adapt(TrainConfig(validation_split=0.1, augment="none"), _ds(4, None, 2))
    assert out.validation_split == 0.0
    assert "too few" in notes[0]
    assert notes[-1].startswith("model: the last epoch")
    out, notes = adapt(TrainConfig(validation_split=0.1, augment="none"), _ds(1000, None))
    assert out.validation_split == 0.1
    assert notes[-1] == "model: the epoch with the lowest validation loss"


def test_patience_without_validation_is_refused():
    with pytest.raises(ValueError, match="validation-split"):
        adapt(TrainConfig(validation_split=0.0, patience=5, augment="none"), _ds(100, None))


# ------------------------------------------------------------------ the command line


def test_default_trains_xor_undistorted_without_validation(tmp_path, capsys):
    from backprop.cli import main
    from backprop.configfile import read_toml

    run = tmp_path / "run"
    assert main(["train", "--dataset", "xor", "--out", str(run), "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "no distortions: the samples are not images" in out
    assert "model: the last epoch (no validation set" in out
    assert "test accuracy 100.00% (4/4)" in out
    cfg = read_toml(run / "config.toml")
    assert cfg["augment"] == "none" and cfg["validation_split"] == 0.0
    assert cfg["epochs"] == MAX_EPOCHS  # 56,000 updates of 4 samples, capped
    history = (run / "history.json").read_text()
    assert '"best_epoch": null' in history  # no validation set chose an epoch


def test_time_budget_run_records_its_epochs(tmp_path, capsys):
    from backprop.cli import main
    from backprop.configfile import read_toml

    run = tmp_path / "run"
    assert main(["train", "--dataset", "xor", "--time", "2s", "--out", str(run),
                 "--no-report"]) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if x.startswith("time 2s: ")]
    assert len(line) == 1 and "training" in line[0] and "evaluating and saving" in line[0]
    cfg = read_toml(run / "config.toml")
    assert "time" not in cfg  # replaying the config repeats the epochs the budget reached
    n = len(__import__("json").loads((run / "history.json").read_text())["records"])
    assert cfg["epochs"] == n >= 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--time", "10m", "--epochs", "5"], "give one of them"),
     (["--time", "ten minutes"], "not a duration"),
     (["--patience", "3"], "validation-split")],
)
def test_refusals_are_one_line(tmp_path, capsys, flags, message):
    from backprop.cli import main

    code = main(["train", "--dataset", "xor", "--out", str(tmp_path / "r"), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_distortions_skip_images_on_a_light_background():
    """Black ink on white: the distortions' black fill would be ink, so they are left out."""
    from backprop.adapt import dark_background

    white = np.full((5, 20, 20), 1.0)
    white[:, 5:15, 9:11] = 0.0  # a dark bar on white
    dark = 1.0 - white  # the same bar, light on black (MNIST-style)
    assert not dark_background(white.reshape(5, -1), (20, 20))
    assert dark_background(dark.reshape(5, -1), (20, 20))


def test_ink_share_by_hand():
    from backprop.adapt import ink_share

    X = np.array([[0.0, 0.0, 0.0, 4.0], [0.0, 2.0, 0.0, 2.0]])
    # darkest 0, brightest 4; mean intensity 8 / 8 = 1, a quarter of the way up
    assert ink_share(X) == pytest.approx(0.25)
    assert ink_share(X + 10.0) == pytest.approx(0.25)  # measured from the darkest value
    assert ink_share(np.full((3, 4), 7.0)) == 0.0
    assert ink_share(np.zeros((0, 4))) == 0.0


def _strokes_and_shapes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28×28 images of a thin bar (stroke) and ``n`` of a filled rectangle, light on black."""
    bars = np.zeros((n, 28, 28), dtype=np.uint8)
    bars[:, 4:24, 13:15] = 255  # 40 of 784 pixels: 0.05
    shapes = np.zeros((n, 28, 28), dtype=np.uint8)
    shapes[:, 4:24, 6:22] = 255  # 320 of 784 pixels: 0.41
    return bars.reshape(n, -1), shapes.reshape(n, -1)


def test_filled_shapes_train_undistorted_and_strokes_distorted():
    """Distortions model handwriting: strokes keep them, filled shapes (clothes) do not."""
    from backprop.adapt import INPUT_DROPOUT, STROKE_INK, ink_share

    bars, shapes = _strokes_and_shapes(50)
    cfg = TrainConfig(augment="affine", elastic_alpha=34.0, validation_split=0.0)

    def ds(X):
        return SimpleNamespace(X_train=X, y_train=np.arange(len(X)) % 2, image_shape=(28, 28))

    out, notes = adapt(cfg, ds(bars))
    assert out.augment == "affine" and not any("distortions" in n for n in notes)
    out, notes = adapt(cfg, ds(shapes))
    assert (out.augment, out.input_dropout) == ("none", INPUT_DROPOUT)
    assert any("filled shapes (mean intensity 0.41" in n for n in notes)
    assert adapt(cfg, ds(shapes), given={"augment"})[0].augment == "affine"  # the user's choice
    # a folder's images come class by class: the share is read over the whole set
    bars, shapes = _strokes_and_shapes(1500)
    both = np.concatenate([bars, shapes])
    assert ink_share(both) == pytest.approx((40 + 320) / 2 / 784, abs=0.01)
    assert ink_share(both) < STROKE_INK < ink_share(shapes)


def test_the_bundled_digits_are_strokes():
    """MNIST's digits (mean intensity 0.13) keep the distortions."""
    from backprop.adapt import STROKE_INK, ink_share
    from backprop.data import load_dataset

    assert ink_share(load_dataset("mnist-sample").X_train) == pytest.approx(0.13, abs=0.01)
    assert ink_share(load_dataset("mnist-sample").X_train) < STROKE_INK


def test_the_default_budget_by_data_set():
    """`best`'s budget: 1,300 epochs for 5,000 images, 120 for Fashion-MNIST's wider network."""
    from backprop.presets import preset_settings

    def epochs(dataset, n):
        cfg = TrainConfig.from_dict({**preset_settings("best", dataset), "augment": "none"})
        return adapt(cfg, _ds(n, None))[0].epochs

    assert epochs(None, 5_000) == 1300
    assert epochs(None, 4_000) == 1625  # the sample
    assert epochs(None, 60_000) == 111
    assert epochs("fashion-mnist", 60_000) == 120  # 56,000 updates: what fits 10 minutes


# ------------------------------------------------------------------ the input scale


def test_squeezed_features_by_hand():
    from backprop.adapt import squeezed_features

    X = np.array([[1.0, -100.0, 0.0, 30.0], [2.0, 50.0, 0.0, -1.0]])
    # largest |x| per feature: 2, 100, (0: left out), 30 -> under 100/10: only the first
    assert squeezed_features(X) == (1, 3, 100.0)
    assert squeezed_features(np.zeros((3, 4))) == (0, 0, 0.0)
    pixels = np.random.default_rng(0).integers(0, 256, (50, 8, 8)).astype(np.uint8)
    assert squeezed_features(pixels)[0] == 0


def test_features_of_unlike_ranges_are_standardised():
    cfg = TrainConfig(validation_split=0.0, augment="none", scale="unit")
    rng = np.random.default_rng(0)
    table = np.column_stack([rng.normal(13, 0.8, 90), rng.normal(750, 300, 90),
                             rng.random(90), rng.normal(2.3, 0.6, 90)])
    ds = SimpleNamespace(X_train=table, y_train=np.arange(90) % 3, image_shape=None)
    out, notes = adapt(cfg, ds)
    assert out.scale == "standard"
    assert adapt(cfg.updated(scale="none"), ds)[0].scale == "none"  # a reproduction's choice
    assert any(n.startswith("inputs standardised per feature: 3 of 4 features never reach")
               for n in notes)
    assert adapt(cfg, ds, given={"scale"})[0].scale == "unit"  # the user's choice stands
    same = SimpleNamespace(X_train=table[:, [0, 3]], y_train=ds.y_train, image_shape=None)
    out, notes = adapt(cfg, same)
    assert out.scale == "unit" and not any("standardised" in n for n in notes)
    two = SimpleNamespace(X_train=table[:, [0, 1]], y_train=ds.y_train, image_shape=None)
    assert adapt(cfg, two)[0].scale == "standard"  # 13-ish beside 750-ish: one of two squeezed


def test_a_folder_of_images_keeps_one_divisor_however_rarely_its_pixels_are_inked():
    """Pixels share one unit: rarely inked ones are not standardised, as a table's would be."""
    cfg = TrainConfig(validation_split=0.0, augment="none", scale="unit")
    X = np.zeros((20, 10, 10), np.uint8)
    X[:, 4:6, 4:6] = 255  # a bright centre in every image
    X[np.arange(20), np.arange(20) % 10, np.arange(20) // 2] = 12  # faint specks elsewhere
    y = np.arange(20) % 2
    squeezed, features, _ = squeezed_features(X)
    assert squeezed >= SQUEEZED_SHARE * features  # so many faint pixels: a table would be
    table = SimpleNamespace(X_train=X, y_train=y, image_shape=(10, 10), files={"npz": "x.npz"})
    assert adapt(cfg, table)[0].scale == "standard"
    folder = SimpleNamespace(X_train=X, y_train=y, image_shape=(10, 10), files={"folder": "imgs"})
    out, notes = adapt(cfg, folder)
    assert out.scale == "unit" and not any("standardised" in n for n in notes)


def test_the_default_learns_a_table_of_unlike_ranges(tmp_path, capsys):
    """scikit-learn's wine (proline in the hundreds beside hues near 1) as a user's npz.

    The truth: scikit-learn's own advice, StandardScaler then MLPClassifier, scores
    0.94 or more on this split; one divisor for all features gave the default 0.65
    here (0.71 on 5-fold CV, docs/results.md).
    """
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from backprop.cli import main

    X, y = load_wine(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    peer = make_pipeline(StandardScaler(), MLPClassifier(max_iter=2000, random_state=0))
    assert peer.fit(X_tr, y_tr).score(X_te, y_te) >= 0.94
    data = tmp_path / "wine.npz"
    np.savez(data, X=X_tr, y=y_tr, X_test=X_te, y_test=y_te)
    run = tmp_path / "run"
    assert main(["train", "--data-dir", str(data), "--epochs", "200", "--out", str(run),
                 "--no-report", "--quiet"]) == 0
    from backprop.configfile import read_toml

    assert read_toml(run / "config.toml")["scale"] == "standard"
    from backprop.model.model import Model

    model = Model.load(run / "model.npz")
    assert np.mean(model.predict(X_te) == y_te) >= 0.94


def test_colour_images_get_input_dropout_not_distortions():
    """The distortions are for greyscale images: 28×28 RGB samples get input dropout instead."""
    from backprop.adapt import INPUT_DROPOUT

    cfg = TrainConfig(augment="affine", validation_split=0.0)
    out, notes = adapt(cfg, _ds(100, (28, 28, 3)))
    assert (out.augment, out.flip, out.input_dropout) == ("none", False, INPUT_DROPOUT)
    assert any("28×28 colour images" in n and "input dropout" in n for n in notes), notes
