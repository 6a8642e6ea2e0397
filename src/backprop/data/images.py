"""MNIST-style preprocessing of the user's own digit images (Pillow).

MNIST digits are white ink on black, the ink's bounding box scaled so its
longest side is 20 pixels (keeping the aspect ratio, anti-aliased), then
placed in a 28×28 field so that the ink's centre of mass is at the centre
(LeCun et al., the MNIST page).  :func:`load_digit` repeats those steps on any
PNG, JPEG, BMP or GIF, of any size, colour or grey, dark ink on light paper or
the reverse:

1. read with Pillow (first frame of a GIF); transparent pixels are laid on
   white, or on black when the ink itself is light;
2. convert to greyscale in [0, 1];
3. invert when the background (the median of the border pixels) is light;
4. stretch so the background is 0 and the strongest ink 1 (photos of paper
   have a grey background);
5. crop to the ink (pixels above ``ink_threshold``);
6. resize so the longest side is ``box`` (20) pixels, keeping the aspect ratio;
7. paste into a ``size``×``size`` (28×28) field so that the centre of mass sits
   at the centre, as near as whole pixels allow.

The result is uint8 (28, 28), 0 = background, 255 = ink, like an MNIST image,
so the model's own preprocessor (``net.preprocessor.transform``) applies.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from backprop.errors import DataError

__all__ = ["IMAGE_SUFFIXES", "load_digit", "mnist_style", "save_png"]

#: File types Pillow reads that ``backprop predict`` expects.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm")


def _read_grey(path: Path) -> np.ndarray:
    """Greyscale float64 in [0, 1] (alpha handled as the module docstring says)."""
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        raise FileNotFoundError(f"image {path} does not exist; check the path")
    if path.is_dir():
        raise DataError(f"{path} is a folder; give image files (PNG, JPEG, BMP, GIF)")
    try:
        with Image.open(path) as im:
            im.seek(0)
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = np.asarray(im.convert("RGBA"), dtype=np.float64) / 255.0
                alpha = rgba[..., 3]
                grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
                if alpha.min() < 1.0:
                    opaque = alpha > 0.5
                    ink_light = opaque.any() and np.median(grey[opaque]) > 0.5
                    bg = 0.0 if ink_light else 1.0
                    return alpha * grey + (1 - alpha) * bg
                return grey
            return np.asarray(im.convert("L"), dtype=np.float64) / 255.0
    except UnidentifiedImageError:
        raise DataError(
            f"{path} is not an image Pillow can read; give a PNG, JPEG, BMP or GIF file"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: the image is damaged or unsupported ({exc})") from exc


def mnist_style(
    grey: np.ndarray,
    size: int = 28,
    box: int = 20,
    ink_threshold: float = 0.35,
    source: str = "image",
) -> np.ndarray:
    """Steps 3–7 on a greyscale image in [0, 1]: return uint8 (size, size), ink = 255.

    Parameters
    ----------
    grey : ndarray, shape (H, W)
        Greyscale, either polarity.
    size, box : int
        Output field and the longest side of the ink's bounding box.
    ink_threshold : float
        Fraction of full ink (after stretching) that counts as ink for the crop.
    source : str
        Name used in error messages.
    """
    from PIL import Image

    g = np.asarray(grey, dtype=np.float64)
    if g.ndim != 2 or min(g.shape) < 1:
        raise DataError(f"{source}: expected a 2-D greyscale image, got shape {g.shape}")
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    if np.median(border) > 0.5:
        g = 1.0 - g
        border = 1.0 - border
    bg = float(np.median(border))
    top = float(g.max())
    if top - bg < 0.05:
        raise DataError(
            f"{source}: no ink found (the image is one flat colour); draw the digit darker "
            "or lighter than the paper"
        )
    g = np.clip((g - bg) / (top - bg), 0.0, 1.0)
    rows = np.flatnonzero((g > ink_threshold).any(axis=1))
    cols = np.flatnonzero((g > ink_threshold).any(axis=0))
    g = g[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = g.shape
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    im = Image.fromarray(np.round(g * 255).astype(np.uint8), mode="L")
    small = np.asarray(im.resize((nw, nh), Image.Resampling.LANCZOS), dtype=np.float64)
    total = small.sum()
    if total <= 0:
        raise DataError(f"{source}: no ink left after scaling to {box} pixels")
    ys, xs = np.indices(small.shape)
    cy, cx = (ys * small).sum() / total, (xs * small).sum() / total
    centre = size / 2.0
    oy = int(np.clip(round(centre - cy), 0, size - nh))
    ox = int(np.clip(round(centre - cx), 0, size - nw))
    out = np.zeros((size, size), dtype=np.float64)
    out[oy : oy + nh, ox : ox + nw] = small
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def load_digit(path: str | os.PathLike, size: int = 28, box: int = 20) -> np.ndarray:
    """Read an image file and return the MNIST-style uint8 (size, size) digit.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataError
        Not an image, damaged, or without visible ink.
    """
    path = Path(path)
    return mnist_style(_read_grey(path), size=size, box=box, source=str(path))


def save_png(image: np.ndarray, path: str | os.PathLike, scale: int = 1) -> Path:
    """Write a uint8 greyscale array as PNG, optionally enlarged ``scale`` times (nearest)."""
    from PIL import Image

    im = Image.fromarray(np.asarray(image, dtype=np.uint8), mode="L")
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    path = Path(path)
    im.save(path)
    return path
