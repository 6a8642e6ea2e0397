"""The one size every image of a folder is read at (``--data-dir`` with class sub-folders).

Photos someone collected seldom share one size.  A folder's images are
resized, as they are read, to

* the size asked for: ``--image-size HxW`` (``backprop train``), or the
  model's input size (``backprop evaluate MODEL --data-dir``); else
* the most common size among the training images (ties: the smaller),
  which :func:`common_size` finds from the image headers before anything is
  decoded.

The resampling is the one ``backprop predict`` applies to a new image for a
model's "plain" image steps (:meth:`backprop.data.images.ImageSteps.picture`,
Lanczos on each channel), so a training image and the same file given to
``predict`` become the same pixels.  The reader's byte budget counts the
resized images; the decoder still checks each file's own pixel count against
``BACKPROP_MAX_IMAGE_PIXELS`` before decoding it.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from backprop.errors import DataError
from backprop.imagesize import sides_words, size_problem

__all__ = ["common_size", "header_size", "read_at", "resize_note"]


def header_size(path: Path) -> tuple[int, int] | None:
    """(height, width) an image file declares in its header, without decoding it.

    None when the file is not one the decoder opens; reading it later says why.
    """
    from PIL import Image

    from backprop.data.images import FORMATS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path, formats=FORMATS) as im:
                w, h = im.size
    except Exception:  # noqa: BLE001 -- the decoder reports a bad file when it reads it
        return None
    return int(h), int(w)


def common_size(files: list[Path], sizes: list[tuple[int, int] | None]) -> tuple[int, int] | None:
    """The most common (height, width) of ``sizes``; ties go to the smaller (fewer pixels).

    Parameters
    ----------
    files : list of Path
        The images, for the message when their size is refused.
    sizes : list of (int, int) or None
        Each image's size (None: unknown, left out).

    Returns
    -------
    tuple of int or None
        None when no size is known.

    Raises
    ------
    DataError
        The size is over the pixel limit or has a side over 4096 pixels, checked
        before any image is decoded or resized to it.
    """
    counts = Counter(s for s in sizes if s is not None)
    if not counts:
        return None
    size = min(counts, key=lambda s: (-counts[s], s[0] * s[1], s))
    problem = size_problem(f"{size[0]}x{size[1]}")
    if problem is not None:
        first = files[sizes.index(size)]
        raise DataError(
            f"{first}: {size[0]}x{size[1]} (height x width), the images' most common size, "
            f"cannot be the size they are all read at: {problem}; give --image-size HxW"
        )
    return size


def read_at(path: Path, size: tuple[int, int] | None) -> tuple[np.ndarray, bool]:
    """Decode an image as uint8, resized to ``size`` when it has another size.

    Parameters
    ----------
    path : Path
        An image file.
    size : (int, int) or None
        (height, width) to resize to; None keeps the image's own size.

    Returns
    -------
    pixels : ndarray of uint8, shape (H, W) grey or (H, W, 3) RGB
    resized : bool
        Whether the image had another size.
    """
    from backprop.data.colour import read_pixels  # the one image decoder, grey or colour
    from backprop.data.images import ImageSteps

    pixels = read_pixels(path)
    if size is None or pixels.shape[:2] == tuple(size):
        return np.round(pixels * 255.0).astype(np.uint8), False
    shape = (*size, 3) if pixels.ndim == 3 else tuple(size)
    return ImageSteps("plain", shape).picture(pixels, str(path)), True


def resize_note(resized: int, total: int, size: tuple[int, int], why: str) -> str:
    """The one line a run prints when it resized images, e.g.

    ``resized 37 of 500 images to 28×28, the most common size; --image-size HxW to choose``.
    """
    return f"resized {resized:,} of {total:,} images to {sides_words(size)}, {why}"
