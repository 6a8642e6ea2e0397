"""Augmentation: identity, hand-computed shifts, rot90, determinism, shapes, config."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.config import TrainConfig
from backprop.data.augment import (
    Augmenter,
    bilinear_sample,
    elastic_displacements,
    gaussian_matrix,
    make_augment,
    warp_affine,
)


def images(b: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((b, h * w)).astype(np.float32)


def test_identity_parameters_give_the_input_back():
    X = images(3, 5, 6)
    out = warp_affine(X, (5, 6), angle=0.0, scale=1.0, shear=0.0, shift_x=0.0, shift_y=0.0)
    np.testing.assert_array_equal(out, X)
    assert out.dtype == np.float32


def test_zero_ranges_give_the_input_back():
    X = images(4, 28, 28)
    out = Augmenter((28, 28))(X, np.random.default_rng(0))
    np.testing.assert_array_equal(out, X)
    assert out is not X


def test_pure_shift_moves_a_pixel_by_hand():
    # One bright pixel at row 2, column 3 of a 5×6 image; shift 2 right, 1 down.
    X = np.zeros((1, 30), dtype=np.float32)
    X[0, 2 * 6 + 3] = 1.0
    out = warp_affine(X, (5, 6), shift_x=2.0, shift_y=1.0).reshape(5, 6)
    expected = np.zeros((5, 6), dtype=np.float32)
    expected[3, 5] = 1.0
    np.testing.assert_array_equal(out, expected)


def test_half_pixel_shift_interpolates():
    # Row [0, 0, 4, 0] shifted half a pixel right: bilinear gives [0, 0, 2, 2].
    X = np.zeros((1, 8), dtype=np.float32)
    X[0, 2] = 4.0
    X[0, 6] = 4.0
    out = warp_affine(X, (2, 4), shift_x=0.5).reshape(2, 4)
    np.testing.assert_allclose(out, [[0, 0, 2, 2], [0, 0, 2, 2]])


def test_rotation_by_90_degrees_matches_rot90():
    rng = np.random.default_rng(3)
    img = rng.random((2, 7, 7)).astype(np.float32)
    out = warp_affine(img.reshape(2, -1), (7, 7), angle=90.0).reshape(2, 7, 7)
    np.testing.assert_allclose(out, np.rot90(img, k=1, axes=(1, 2)), atol=1e-5)
    back = warp_affine(img.reshape(2, -1), (7, 7), angle=-90.0).reshape(2, 7, 7)
    np.testing.assert_allclose(back, np.rot90(img, k=-1, axes=(1, 2)), atol=1e-5)


def test_zoom_keeps_the_centre_pixel():
    X = images(1, 7, 7)
    out = warp_affine(X, (7, 7), scale=2.0)
    assert out[0, 3 * 7 + 3] == pytest.approx(X[0, 3 * 7 + 3])


def test_bilinear_sample_clamps_to_the_border():
    X = np.arange(6, dtype=np.float32).reshape(1, 6)  # 2×3 image [[0,1,2],[3,4,5]]
    out = bilinear_sample(X, (2, 3), np.array([[-5.0, 9.0]]), np.array([[-5.0, 9.0]]))
    np.testing.assert_array_equal(out, [[0.0, 5.0]])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rotate": 15, "scale": 0.1, "shear": 10, "shift": 2},
        {"elastic_alpha": 34, "elastic_sigma": 4},
        {"rotate": 10, "shift": 2, "elastic_alpha": 8, "elastic_sigma": 3},
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_dtypes_and_determinism(kwargs, dtype):
    X = images(6, 28, 28).astype(dtype)
    aug = Augmenter((28, 28), **kwargs)
    a = aug(X, np.random.default_rng(7))
    b = aug(X, np.random.default_rng(7))
    c = aug(X, np.random.default_rng(8))
    assert a.shape == X.shape and a.dtype == dtype
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, X)
    # Bilinear interpolation never leaves the range of the input.
    assert a.min() >= X.min() - 1e-6 and a.max() <= X.max() + 1e-6


def test_each_image_gets_its_own_distortion():
    X = np.tile(images(1, 28, 28), (4, 1))
    out = Augmenter((28, 28), rotate=20)(X, np.random.default_rng(0))
    assert len({out[i].tobytes() for i in range(4)}) == 4


def test_gaussian_matrix_keeps_constants_and_is_symmetric_in_the_middle():
    G = gaussian_matrix(28, 4.0)
    np.testing.assert_allclose(G.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(G[14, 10], G[14, 18])


def test_elastic_field_statistics():
    # Uniform(-1, 1) noise smoothed by a unit-sum Gaussian of σ = 4 in 2-D has a
    # standard deviation near √(1/3) / (2√π σ) ≈ 0.041 away from the borders.
    dy, dx = elastic_displacements(np.random.default_rng(0), 400, (28, 28), 1.0, 4.0)
    assert dy.shape == dx.shape == (400, 784) and dy.dtype == np.float32
    centre = dy.reshape(400, 28, 28)[:, 10:18, 10:18]
    assert abs(float(centre.mean())) < 0.005
    assert 0.03 < float(centre.std()) < 0.055
    dy2, _ = elastic_displacements(np.random.default_rng(0), 400, (28, 28), 2.0, 4.0)
    np.testing.assert_allclose(dy2, 2 * dy, rtol=1e-4, atol=1e-6)


def test_wrong_batch_shape_is_an_error():
    with pytest.raises(ValueError, match="784"):
        Augmenter((28, 28), shift=1)(np.zeros((2, 100), np.float32), np.random.default_rng(0))


@pytest.mark.parametrize(
    "kwargs",
    [{"rotate": -1}, {"scale": 1.0}, {"shear": 90}, {"shift": float("nan")},
     {"elastic_alpha": 3, "elastic_sigma": 0}],
)
def test_bad_parameters_are_errors(kwargs):
    with pytest.raises(ValueError):
        Augmenter((28, 28), **kwargs)


def test_bad_image_shape_is_an_error():
    with pytest.raises(ValueError, match="2-D"):
        Augmenter((784,))  # type: ignore[arg-type]


def test_make_augment_from_config():
    assert make_augment(TrainConfig(), (28, 28)) is None
    aug = make_augment(TrainConfig(augment="affine", shift=3.0), (28, 28))
    assert isinstance(aug, Augmenter)
    assert aug.shift == 3.0 and aug.rotate == 0.0 and not aug.elastic
    default = make_augment(TrainConfig(augment="affine+elastic"), (28, 28))
    assert default.rotate == 10.0 and default.elastic_alpha == 34.0
    assert default.elastic_sigma == 4.0
    with pytest.raises(ValueError, match="augment = 'flip' must be one of"):  # the declaration
        make_augment(TrainConfig(augment="flip"), (28, 28))
    with pytest.raises(ValueError, match="2-D images"):
        make_augment(TrainConfig(augment="elastic"), None)


def test_augment_is_the_trainer_hook():
    from backprop.config import build_network
    from backprop.engine.train import Trainer

    rng = np.random.default_rng(0)
    X = rng.random((64, 64)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    cfg = TrainConfig(hidden=[8], epochs=2, batch_size=16, augment="affine", seed=3)
    runs = []
    for _ in range(2):
        net = build_network(cfg, 64, 3)
        hist = Trainer(net, cfg, augment=make_augment(cfg, (8, 8))).fit(X, y)
        runs.append([(r["loss"], r["acc"]) for r in hist.records])
    assert runs[0] == runs[1]


def test_flip_mirrors_about_half_the_images_exactly():
    from backprop.data.augment import Augmenter

    rng = np.random.default_rng(0)
    X = rng.random((400, 12), dtype=np.float32)  # 400 images of 3×4
    out = Augmenter((3, 4), flip=True)(X, np.random.default_rng(1))
    images, result = X.reshape(-1, 3, 4), out.reshape(-1, 3, 4)
    same = np.all(result == images, axis=(1, 2))
    mirrored = np.all(result == images[:, :, ::-1], axis=(1, 2))
    assert np.all(same | mirrored)  # every image is itself or its exact mirror
    assert 150 < mirrored.sum() < 250  # about half
    # the draw: image i is mirrored when the generator's i-th uniform is below ½
    np.testing.assert_array_equal(mirrored, np.random.default_rng(1).random(400) < 0.5)


def test_flip_alone_via_config_and_flag_parsing(tmp_path):
    from backprop.cli import main
    from backprop.config import TrainConfig
    from backprop.data.augment import make_augment

    assert make_augment(TrainConfig(augment="none"), (28, 28)) is None
    assert make_augment(TrainConfig(augment="none", flip=True), (28, 28)).flip
    with pytest.raises(ValueError, match="flip"):
        make_augment(TrainConfig(flip=True), None)
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist-sample", "--hidden", "4", "--epochs", "1",
                 "--flip", "true", "--quiet", "--no-report", "--out", str(out)]) == 0
    assert "flip = true" in (out / "config.toml").read_text()
    # a usage error: one line, exit code 2
    assert main(["train", "--dataset", "mnist-sample", "--flip", "maybe", "--quiet"]) == 2
