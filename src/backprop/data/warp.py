"""The geometric kernels of augmentation: affine maps, elastic fields, bilinear sampling.

Both families of distortion of Simard, Steinkraus & Platt (2003), "Best
practices for convolutional neural networks applied to visual document
analysis", ICDAR, are expressed as one map from each output pixel to a source
position in the input image, so an affine *and* elastic distortion costs a
single bilinear interpolation.  Everything is vectorised over the minibatch;
the Gaussian smoothing of an elastic field is separable and is done as two
small matrix products per image (``G @ U @ Gᵀ``).  The random batch augmenter
that draws their parameters is :class:`backprop.data.augment.Augmenter`.

Samples falling outside the image take the value of the nearest border pixel
("edge" mode).

Conventions: images are rows of a flattened batch ``(B, H*W)`` in row-major
order; x is the column (to the right) and y the row (downwards).  A positive
angle turns the image counter-clockwise as displayed, like ``np.rot90``; a
scale above 1 enlarges the content; a positive shift moves the content right
(x) and down (y).
"""

from __future__ import annotations

import math

import numpy as np


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
