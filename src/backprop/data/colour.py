"""Colour images: told from grey on the decoded pixels, and read as RGB.

An image is colour when, after decoding (and laying transparent pixels on
their background), some pixel's red, green and blue differ; a greyscale photo
saved as RGB, or a palette image of greys, is grey whatever its file mode.
:func:`read_pixels` gives a grey image exactly as
:func:`backprop.data.images.read_grey` does, (H, W), and a colour one as
(H, W, 3) RGB.  A folder of images (``backprop train --data-dir``) is read in
colour when any of its images is colour: then every image is RGB, a grey one
with its level in all three channels (:func:`as_rgb`), each sample (H, W, 3),
3 inputs a pixel, flattened row-major (``image.reshape(-1)``: R, G, B of the
top-left pixel first).

Transparent pixels are laid on white, or on black when the image itself is
light (the median grey of its opaque pixels is above 0.5), as for grey.
The same decoder is used (:func:`backprop.data.images.decode`): raster formats
only, the pixel limit checked before decoding.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from backprop.data.images import _to_grey, decode

__all__ = ["CHANNELS", "as_rgb", "colour_words", "is_colour_shape", "read_pixels", "read_rgb"]

#: Channels of a colour image: red, green, blue.
CHANNELS = 3
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def is_colour_shape(shape: Any) -> bool:
    """Whether an ``image_shape`` is (H, W, 3), colour images."""
    return shape is not None and len(shape) == 3 and int(shape[2]) == CHANNELS


def colour_words(shape: Any) -> str | None:
    """How ``data info`` and ``train`` say a sample of ``shape`` is colour (None for grey)."""
    return f"colour (RGB), {CHANNELS} inputs a pixel" if is_colour_shape(shape) else None


def _grey_or_rgb(im: Any) -> np.ndarray:
    """Float32 (H, W) grey, as ``read_grey``, or (H, W, 3) RGB in [0, 1] of a loaded image."""
    if len(im.getbands()) == 1 or im.mode in ("LA", "La"):
        return _to_grey(im)
    alpha_too = im.mode in _ALPHA_MODES or "transparency" in im.info
    rgba = im.convert("RGBA" if alpha_too else "RGB")
    a = np.asarray(rgba, dtype=np.float32) / 255.0
    rgb = a[..., :3]
    if alpha_too and a[..., 3].min() < 1.0:
        alpha = a[..., 3:]
        grey = np.asarray(rgba.convert("L"), dtype=np.float32) / 255.0
        opaque = alpha[..., 0] > 0.5
        light = bool(opaque.any()) and float(np.median(grey[opaque])) > 0.5
        rgb = alpha * rgb + (1.0 - alpha) * (0.0 if light else 1.0)
    if not ((rgb[..., 0] != rgb[..., 1]) | (rgb[..., 1] != rgb[..., 2])).any():
        return _to_grey(im)
    return np.ascontiguousarray(rgb, dtype=np.float32)


def read_pixels(source: str | os.PathLike | bytes, name: str | None = None,
                limit: int | None = None) -> np.ndarray:
    """Decode an image to float32 in [0, 1]: grey (H, W), or (H, W, 3) RGB when it is colour.

    Parameters and errors as :func:`backprop.data.images.read_grey`.
    """
    return decode(source, _grey_or_rgb, name, limit)


def read_rgb(source: str | os.PathLike | bytes, name: str | None = None,
             limit: int | None = None) -> np.ndarray:
    """Decode an image to float32 RGB (H, W, 3) in [0, 1], a grey one in all three channels."""
    return as_rgb(read_pixels(source, name, limit))


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An (H, W) grey image as (H, W, 3), its level in every channel; (H, W, 3) as it is."""
    image = np.asarray(image)
    return image if image.ndim == 3 else np.repeat(image[..., None], CHANNELS, axis=2)
