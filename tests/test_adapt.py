"""backprop.adapt: the recipe's length, distortions and validation follow the data."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from backprop.adapt import MAX_EPOCHS, MIN_EPOCHS, adapt, epochs_for, suits_distortions
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
    assert epochs_for(56_000, 4, 128) == MAX_EPOCHS  # xor: one update per epoch, capped
    assert epochs_for(100, 60_000, 128) == MIN_EPOCHS
    assert epochs_for(500, 60_000, 128, optimizer="gd") == 500  # one update per epoch


def test_small_images_and_tables_train_undistorted():
    cfg = TrainConfig(augment="affine", validation_split=0.0)
    for shape in [(8, 8), None, (5,)]:
        out, notes = adapt(cfg, _ds(100, shape))
        assert out.augment == "none"
        assert any("no distortions" in n for n in notes)
    out, _ = adapt(cfg, _ds(100, (28, 28)))
    assert out.augment == "affine"


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
