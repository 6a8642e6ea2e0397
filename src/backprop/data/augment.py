"""On-the-fly data augmentation: random affine maps and elastic distortions.

Every minibatch is distorted afresh, so the network never sees the same image
twice.  Two families of distortion are provided, both from Simard, Steinkraus
& Platt (2003), "Best practices for convolutional neural networks applied to
visual document analysis", ICDAR:

- **affine**: a random rotation, scaling, shear and shift of each image;
- **elastic**: a random displacement field per image, each of its two
  components drawn uniform(-1, 1) per pixel, smoothed by a Gaussian of
  standard deviation σ (pixels) and scaled by α (pixels).

Both are expressed as one map from each output pixel to a source position
in the input image, so an affine *and* elastic distortion costs a single
bilinear interpolation.  Everything is vectorised over the minibatch with
NumPy (no per-image Python loop); the Gaussian smoothing is separable and is
done as two small matrix products per image (``G @ U @ Gᵀ``).  Those geometric
kernels live in :mod:`backprop.data.warp`; this module draws their random
parameters per image and wires them to a training config.

Samples falling outside the image take the value of the nearest border pixel
("edge" mode), which is the background for digits and clothing and works for
any pixel scaling (``unit`` [0, 1], ``symmetric`` [-1, 1], ``none``).  With
per-feature ``standard`` scaling the background is not one value, so the
distortion is only approximate there.

Conventions: images are rows of a flattened batch ``(B, H*W)`` in row-major
order; x is the column (to the right) and y the row (downwards).  A positive
angle turns the image counter-clockwise as displayed, like ``np.rot90``; a
scale above 1 enlarges the content; a positive shift moves the content right
(x) and down (y).

Examples
--------
>>> import numpy as np
>>> aug = Augmenter((28, 28), rotate=10, scale=0.1, shift=2)
>>> X = np.zeros((5, 784), dtype=np.float32)
>>> aug(X, np.random.default_rng(0)).shape
(5, 784)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

# The geometric kernels, re-exported: this module was their home and callers import them from here.
from backprop.data.warp import (  # noqa: F401
    _check_batch,
    _grid,
    affine_matrices,
    affine_positions,
    bilinear_sample,
    elastic_displacements,
    gaussian_matrix,
    warp_affine,
)

if TYPE_CHECKING:
    from backprop.config import TrainConfig

#: ``TrainConfig.augment`` values understood by :func:`make_augment`.
AUGMENT_KINDS = ("none", "affine", "elastic", "affine+elastic")

#: Ranges used when ``augment`` asks for an affine map but every affine range
#: of the config is 0 (TrainConfig's defaults): ± degrees, ± relative scale,
#: ± degrees of shear, ± pixels of shift.
DEFAULT_AFFINE = {"rotate": 10.0, "scale_range": 0.1, "shear": 10.0, "shift": 2.0}

#: Simard et al. (2003)'s elastic setting, used when ``augment`` asks for an
#: elastic distortion but ``elastic_alpha`` is 0: α = 34 pixels, σ = 4 pixels.
DEFAULT_ELASTIC = {"elastic_alpha": 34.0, "elastic_sigma": 4.0}


# --------------------------------------------------------------------------- augmenter
class Augmenter:
    """Random affine and/or elastic distortion of flattened image batches.

    Call it as ``augmenter(X_batch, rng)``: the hook ``augment`` of
    ``backprop.engine.train.Trainer``.  Each image gets its own parameters, drawn
    from ``rng`` in a fixed order, so one seed gives one sequence of batches.

    Parameters
    ----------
    image_shape : tuple of int
        (H, W) of one image, each at least 2.
    rotate : float, default 0
        Rotation drawn uniform(-rotate, rotate), degrees.
    scale : float, default 0
        Zoom drawn uniform(1 - scale, 1 + scale); in [0, 1).
    shear : float, default 0
        Horizontal shear angle drawn uniform(-shear, shear), degrees; < 90.
    shift : float, default 0
        Shifts along x and y, each drawn uniform(-shift, shift), pixels.
    elastic_alpha : float, default 0
        Simard et al.'s α, pixels; 0 disables the elastic distortion.
    elastic_sigma : float, default 4
        Simard et al.'s σ, pixels; > 0 when ``elastic_alpha`` is.
    flip : bool, default False
        Mirror each image left-right with probability ½ (for data without a
        handedness, such as clothes; never for digits).

    Notes
    -----
    Cost: one bilinear interpolation (four gathers) per pixel, plus two
    batched 28×28 matrix products per image for the elastic field.
    """

    def __init__(
        self,
        image_shape: tuple[int, int],
        rotate: float = 0.0,
        scale: float = 0.0,
        shear: float = 0.0,
        shift: float = 0.0,
        elastic_alpha: float = 0.0,
        elastic_sigma: float = 4.0,
        flip: bool = False,
    ) -> None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) != 2 or min(shape) < 2:
            raise ValueError(
                f"augmentation needs 2-D images of at least 2×2 pixels, got image shape "
                f"{tuple(image_shape)}; use augment='none' for other data"
            )
        values = {
            "rotate": rotate, "scale": scale, "shear": shear, "shift": shift,
            "elastic_alpha": elastic_alpha, "elastic_sigma": elastic_sigma,
        }
        for name, value in values.items():
            if not (isinstance(value, (int, float, np.number)) and math.isfinite(value)
                    and value >= 0):
                raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")
        if scale >= 1:
            raise ValueError(f"scale must be below 1 (zoom in 1 ± scale), got {scale!r}")
        if shear >= 90:
            raise ValueError(f"shear must be below 90 degrees, got {shear!r}")
        if elastic_alpha > 0 and not elastic_sigma > 0:
            raise ValueError(
                f"elastic_sigma must be > 0 with elastic_alpha = {elastic_alpha!r}, "
                f"got {elastic_sigma!r}"
            )
        self.image_shape: tuple[int, int] = shape  # type: ignore[assignment]
        self.rotate, self.scale, self.shear = float(rotate), float(scale), float(shear)
        self.shift = float(shift)
        self.elastic_alpha, self.elastic_sigma = float(elastic_alpha), float(elastic_sigma)
        self.affine = any(v > 0 for v in (self.rotate, self.scale, self.shear, self.shift))
        self.elastic = self.elastic_alpha > 0
        self.flip = bool(flip)

    def __repr__(self) -> str:
        return (
            f"Augmenter(image_shape={self.image_shape}, rotate={self.rotate}, "
            f"scale={self.scale}, shear={self.shear}, shift={self.shift}, "
            f"elastic_alpha={self.elastic_alpha}, elastic_sigma={self.elastic_sigma}, "
            f"flip={self.flip})"
        )

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Distort every image of ``X`` (B, H*W); a new array of the same shape and dtype."""
        X = _check_batch(X, self.image_shape)
        out = self._distort(X, rng) if (self.affine or self.elastic) else X.copy()
        if self.flip:  # drawn after the distortions: seeds without flip keep their sequence
            mirrored = rng.random(X.shape[0]) < 0.5
            images = out.reshape(-1, *self.image_shape)
            images[mirrored] = images[mirrored, :, ::-1]
        return out

    def _distort(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        B = X.shape[0]
        H, W = self.image_shape
        if self.affine:
            u = rng.random((5, B)) * 2 - 1  # one draw per parameter and image, fixed order
            src_y, src_x = affine_positions(
                self.image_shape,
                angle=self.rotate * u[0],
                scale=1 + self.scale * u[1],
                shear=self.shear * u[2],
                shift_x=self.shift * u[3],
                shift_y=self.shift * u[4],
            )
            if self.elastic:
                dy, dx = elastic_displacements(
                    rng, B, self.image_shape, self.elastic_alpha, self.elastic_sigma
                )
                src_y += dy
                src_x += dx
        else:
            src_y, src_x = elastic_displacements(
                rng, B, self.image_shape, self.elastic_alpha, self.elastic_sigma
            )
            gy, gx = _grid(self.image_shape)
            src_y += (gy + (H - 1) / 2).astype(np.float32)
            src_x += (gx + (W - 1) / 2).astype(np.float32)
        return bilinear_sample(X, self.image_shape, src_y, src_x)


def make_augment(
    cfg: TrainConfig, image_shape: tuple[int, ...] | None
) -> Callable[[np.ndarray, np.random.Generator], np.ndarray] | None:
    """The augmentation a training config asks for, or None.

    Parameters
    ----------
    cfg : backprop.config.TrainConfig
        Reads ``augment`` (one of :data:`AUGMENT_KINDS`), ``rotate``,
        ``scale_range``, ``shear``, ``shift``, ``elastic_alpha`` and
        ``elastic_sigma``.  When ``augment`` names an affine map but every
        affine range is 0, :data:`DEFAULT_AFFINE` is used; when it names an
        elastic distortion but ``elastic_alpha`` is 0, :data:`DEFAULT_ELASTIC`
        (Simard et al. 2003's α = 34, σ = 4) is used, and a σ of 0 becomes 4.
    image_shape : tuple of int or None
        (H, W) of one sample, e.g. ``Preprocessor.input_shape``.

    Returns
    -------
    Augmenter or None
        None for ``augment = "none"``.
    """
    kind = cfg.augment
    if kind not in AUGMENT_KINDS:
        raise ValueError(f"unknown augment {kind!r}; choose one of {', '.join(AUGMENT_KINDS)}")
    if kind == "none" and not cfg.flip:
        return None
    if image_shape is None or len(image_shape) != 2:
        what = f"augment={kind!r}" + (" with flip" if cfg.flip else "")
        raise ValueError(
            f"{what} needs 2-D images, but the data's samples have shape "
            f"{image_shape}; use augment='none' and flip=false for this data"
        )
    settings: dict[str, float] = {}
    if "affine" in kind:
        ranges = {k: float(getattr(cfg, k)) for k in DEFAULT_AFFINE}
        if not any(ranges.values()):
            ranges = dict(DEFAULT_AFFINE)
        settings.update(
            rotate=ranges["rotate"], scale=ranges["scale_range"],
            shear=ranges["shear"], shift=ranges["shift"],
        )
    if "elastic" in kind:
        alpha, sigma = float(cfg.elastic_alpha), float(cfg.elastic_sigma)
        if alpha == 0:
            alpha = DEFAULT_ELASTIC["elastic_alpha"]
            sigma = sigma or DEFAULT_ELASTIC["elastic_sigma"]
        settings.update(elastic_alpha=alpha, elastic_sigma=sigma or 4.0)
    return Augmenter(tuple(image_shape), flip=cfg.flip, **settings)  # type: ignore[arg-type]
