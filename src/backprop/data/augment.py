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
done as two small matrix products per image (``G @ U @ Gᵀ``).

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


# --------------------------------------------------------------------------- sampling
def bilinear_sample(
    X: np.ndarray, image_shape: tuple[int, int], src_y: np.ndarray, src_x: np.ndarray
) -> np.ndarray:
    """Read every image of a batch at fractional positions, by bilinear interpolation.

    Parameters
    ----------
    X : numpy.ndarray of shape (B, H*W)
        Flattened images, row-major.
    image_shape : tuple of int
        (H, W), both at least 2.
    src_y, src_x : numpy.ndarray of shape (B, H*W)
        Row and column in the input image from which each output pixel is
        read.  Positions outside ``[0, H-1] × [0, W-1]`` are clamped to the
        border (edge mode).

    Returns
    -------
    numpy.ndarray of shape (B, H*W), dtype of X
        Exact copies of input pixels where the position is a whole number.
    """
    H, W = image_shape
    B = X.shape[0]
    ct = np.float32 if X.dtype == np.float32 else np.float64
    y = np.clip(src_y, 0, H - 1, dtype=ct)
    x = np.clip(src_x, 0, W - 1, dtype=ct)
    y0 = np.floor(y)
    np.minimum(y0, H - 2, out=y0)
    x0 = np.floor(x)
    np.minimum(x0, W - 2, out=x0)
    y -= y0  # fractional parts, in [0, 1]
    x -= x0
    y0 *= W
    y0 += x0
    i00 = y0.astype(np.intp)
    i00 += (np.arange(B, dtype=np.intp) * (H * W))[:, None]
    flat = X.reshape(-1)
    # Neighbours through shifted views of the flat batch: no index arithmetic.
    v00, v01 = np.take(flat, i00), np.take(flat[1:], i00)
    v10, v11 = np.take(flat[W:], i00), np.take(flat[W + 1 :], i00)
    fx, fy = x.astype(X.dtype, copy=False), y.astype(X.dtype, copy=False)
    gx = 1 - fx
    # Weighted form (not v00 + f·(v01 - v00)) so that f = 0 or 1 returns a pixel exactly.
    v00 *= gx
    v01 *= fx
    v00 += v01
    v10 *= gx
    v11 *= fx
    v10 += v11
    fx = 1 - fy
    v00 *= fx
    v10 *= fy
    v00 += v10
    return v00


# --------------------------------------------------------------------------- affine maps
def affine_matrices(
    angle: np.ndarray, scale: np.ndarray, shear: np.ndarray
) -> np.ndarray:
    """Inverse affine maps (output offset → source offset), one per image.

    The forward map applied to the content is ``A = s · R(θ) · Sh(φ)`` in
    (x right, y down) coordinates about the image centre, with
    ``R(θ) = [[cos θ, sin θ], [-sin θ, cos θ]]`` (counter-clockwise on screen)
    and ``Sh(φ) = [[1, tan φ], [0, 1]]`` (horizontal shear).  Sampling needs
    its inverse, returned here.

    Parameters
    ----------
    angle : numpy.ndarray of shape (B,)
        Rotation θ in degrees, counter-clockwise.
    scale : numpy.ndarray of shape (B,)
        Zoom factor s > 0.
    shear : numpy.ndarray of shape (B,)
        Shear angle φ in degrees.

    Returns
    -------
    numpy.ndarray of shape (B, 2, 2)
        ``M`` with ``[src_x, src_y] = M @ [out_x, out_y]`` (offsets from the centre).
    """
    t = np.deg2rad(np.asarray(angle, dtype=np.float64))
    c, s = np.cos(t), np.sin(t)
    k = np.tan(np.deg2rad(np.asarray(shear, dtype=np.float64)))
    z = np.asarray(scale, dtype=np.float64)
    # A = z · [[c, s], [-s, c]] @ [[1, k], [0, 1]] = z · [[c, c·k + s], [-s, c - s·k]]
    a, b = z * c, z * (c * k + s)
    cc, d = -z * s, z * (c - s * k)
    det = a * d - b * cc  # = z² (rotation and shear have determinant 1)
    M = np.empty(t.shape + (2, 2))
    M[..., 0, 0], M[..., 0, 1] = d / det, -b / det
    M[..., 1, 0], M[..., 1, 1] = -cc / det, a / det
    return M


def _grid(image_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (y, x) of every pixel from the image centre, each of shape (H*W,)."""
    H, W = image_shape
    yy, xx = np.meshgrid(
        np.arange(H, dtype=np.float64) - (H - 1) / 2,
        np.arange(W, dtype=np.float64) - (W - 1) / 2,
        indexing="ij",
    )
    return yy.reshape(-1), xx.reshape(-1)


def affine_positions(
    image_shape: tuple[int, int],
    angle: np.ndarray,
    scale: np.ndarray,
    shear: np.ndarray,
    shift_x: np.ndarray,
    shift_y: np.ndarray,
    dtype: np.dtype | type = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Source positions of every output pixel under per-image affine maps.

    Output pixel p (offset from the centre c) reads the input at
    ``M (p - t) + c``, where M is :func:`affine_matrices`'s inverse map and
    t the shift; for the whole batch this is one matrix product
    ``(2B, 3) @ (3, H*W)`` with rows ``[M_i0, M_i1, c_i - M_i · t]``.

    Parameters
    ----------
    image_shape : tuple of int
        (H, W).
    angle, scale, shear : numpy.ndarray of shape (B,)
        See :func:`affine_matrices`.
    shift_x, shift_y : numpy.ndarray of shape (B,)
        Displacement of the content in pixels (right, down).
    dtype : dtype, default float32
        Type of the positions.

    Returns
    -------
    src_y, src_x : numpy.ndarray of shape (B, H*W)
    """
    H, W = image_shape
    M = affine_matrices(angle, scale, shear)
    B = M.shape[0]
    tx = np.asarray(shift_x, dtype=np.float64)
    ty = np.asarray(shift_y, dtype=np.float64)
    coef = np.empty((2, B, 3))
    coef[..., :2] = M[:, ::-1, :].transpose(1, 0, 2)  # row 0: y, row 1: x
    coef[0, :, 2] = (H - 1) / 2 - M[:, 1, 0] * tx - M[:, 1, 1] * ty
    coef[1, :, 2] = (W - 1) / 2 - M[:, 0, 0] * tx - M[:, 0, 1] * ty
    gy, gx = _grid(image_shape)
    basis = np.stack([gx, gy, np.ones_like(gx)]).astype(dtype)
    pos = coef.reshape(2 * B, 3).astype(dtype) @ basis
    return pos[:B], pos[B:]


def warp_affine(
    X: np.ndarray,
    image_shape: tuple[int, int],
    angle: float | np.ndarray = 0.0,
    scale: float | np.ndarray = 1.0,
    shear: float | np.ndarray = 0.0,
    shift_x: float | np.ndarray = 0.0,
    shift_y: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Apply given affine maps to a flattened batch (deterministic; for tests and plots).

    Parameters
    ----------
    X : numpy.ndarray of shape (B, H*W)
    image_shape : tuple of int
        (H, W).
    angle, scale, shear, shift_x, shift_y : float or numpy.ndarray of shape (B,)
        See :func:`affine_positions`; a scalar applies to every image.

    Returns
    -------
    numpy.ndarray of shape (B, H*W), dtype of X
    """
    X = _check_batch(X, image_shape)
    B = X.shape[0]
    params = [np.broadcast_to(np.asarray(p, dtype=np.float64), (B,)) for p in
              (angle, scale, shear, shift_x, shift_y)]
    src_y, src_x = affine_positions(image_shape, *params)
    return bilinear_sample(X, image_shape, src_y, src_x)


# --------------------------------------------------------------------------- elastic
def gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    """Matrix of a 1-D Gaussian smoothing of length-n signals, mirrored at the ends.

    ``G @ u`` convolves ``u`` with a Gaussian of standard deviation ``sigma``
    truncated at 4σ and normalised to sum 1; samples beyond the ends are the
    signal mirrored about its end pixels' outer edges (``d c b a | a b c d``),
    so a constant signal stays constant.

    Parameters
    ----------
    n : int
        Signal length.
    sigma : float
        Standard deviation in samples, > 0.

    Returns
    -------
    numpy.ndarray of shape (n, n), float64
    """
    radius = max(1, int(math.ceil(4.0 * sigma)))
    taps = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()
    rows = np.repeat(np.arange(n), taps.size)
    cols = (np.arange(n)[:, None] + taps[None, :]).reshape(-1)
    period = 2 * n
    cols = np.mod(cols, period)
    cols = np.where(cols >= n, period - 1 - cols, cols)
    G = np.zeros((n, n))
    np.add.at(G, (rows, cols), np.tile(kernel, n))
    return G


def elastic_displacements(
    rng: np.random.Generator,
    batch: int,
    image_shape: tuple[int, int],
    alpha: float,
    sigma: float,
    dtype: np.dtype | type = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Random elastic displacement fields of Simard et al. (2003).

    Each component is drawn uniform(-1, 1) per pixel, smoothed by a Gaussian of
    standard deviation ``sigma`` and multiplied by ``alpha``.

    Parameters
    ----------
    rng : numpy.random.Generator
    batch : int
        B, the number of fields.
    image_shape : tuple of int
        (H, W).
    alpha : float
        Scale α of the displacements, pixels.
    sigma : float
        Smoothing σ, pixels, > 0.
    dtype : dtype
        Type of the returned fields.

    Returns
    -------
    dy, dx : numpy.ndarray of shape (B, H*W)
        Row and column displacements of every pixel.
    """
    H, W = image_shape
    dtype = np.dtype(dtype)
    # G (2U - 1) Gᵀ = 2 G U Gᵀ - 1, since every row of G sums to 1: fold 2α in
    # beforehand and subtract α afterwards (two passes over the batch fewer).
    Gh = (2.0 * alpha * gaussian_matrix(H, sigma)).astype(dtype)
    GwT = gaussian_matrix(W, sigma).T.astype(dtype)
    U = rng.random((2 * batch * H, W), dtype=dtype)
    V = (U @ GwT).reshape(2 * batch, H, W)  # rows smoothed, one matrix product
    field = np.matmul(Gh, V)  # columns smoothed, image by image
    field -= dtype.type(alpha)
    field = field.reshape(2, batch, H * W)
    return field[0], field[1]


# --------------------------------------------------------------------------- augmenter
def _check_batch(X: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float32)
    H, W = image_shape
    if X.ndim != 2 or X.shape[1] != H * W:
        raise ValueError(
            f"augmentation expects a batch of shape (B, {H * W}) for images of shape "
            f"{tuple(image_shape)}, got {X.shape}"
        )
    return np.ascontiguousarray(X)


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
