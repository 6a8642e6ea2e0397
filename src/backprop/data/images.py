"""The one image decoder, and the image steps a model repeats on new images.

Every image backprop reads -- a training folder of ``--data-dir``, a file given
to ``backprop predict``, a drawing posted to the page of ``backprop serve`` --
goes through :func:`read_grey`:

* only the raster formats in :data:`FORMATS` are opened (Pillow's ``formats=``
  argument), so a PostScript, EPS or PDF file named ``.png`` is refused and
  Ghostscript is never run;
* the pixel count is checked from the header, before decoding, against
  :data:`MAX_PIXELS` (Pillow's decompression-bomb idea with a lower limit);
* the first frame is used (animated GIF, WebP, multi-page TIFF); 16-bit
  greyscale (Pillow modes ``I;16*``, ``I``) is scaled by 1/65535, every other
  mode is converted to 8-bit grey (ITU-R 601 luma, as Pillow does);
* transparent pixels are laid on white, or on black when the ink itself is
  light (the median of the opaque pixels is above 0.5).

The result is float32 greyscale in [0, 1].

A trained model records how its training images were made (:class:`ImageSteps`)
and repeats exactly that on a new image:

``"mnist"``
    the MNIST steps of LeCun et al. (:func:`mnist_style`): invert a light
    background, stretch, crop to the ink, scale the longest side to ``box``
    (20) pixels keeping the aspect ratio, and place the centre of mass at the
    centre of the ``size``×``size`` (28×28) field.  For data sets that are
    already in that form (MNIST, Fashion-MNIST, KMNIST, the scikit-learn digits).
``"plain"``
    the picture as it is, resized to the training images' shape if it differs:
    for a folder of your own images, which training read as they are.  Its
    shape is (H, W), or (H, W, 3) for colour images (:mod:`backprop.data.colour`):
    a new image is then read in colour, a grey one in all three channels.
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backprop.errors import DataError
from backprop.limits import LIMITS, limit

__all__ = [
    "FORMATS", "IMAGE_SUFFIXES", "MAX_PIXELS", "ImageSteps", "load_digit", "mnist_style",
    "read_grey", "save_png",
]

#: The raster formats backprop decodes (Pillow format names); nothing else is opened.
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
#: File name endings of those formats (image folders skip other files).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm",
                  ".ppm", ".pbm", ".pnm")
#: Largest image decoded by default, in pixels (width × height), checked before decoding.
#: Raise it with the environment variable ``BACKPROP_MAX_IMAGE_PIXELS`` (docs/limits.md).
MAX_PIXELS = LIMITS["BACKPROP_MAX_IMAGE_PIXELS"][0]
_FORMAT_WORDS = "PNG, JPEG, BMP, GIF, TIFF, WebP or PGM/PPM"
_BOMB_SIZE = re.compile(r"\((\d+) pixels\)")


def max_pixels() -> int:
    """The pixel limit: ``BACKPROP_MAX_IMAGE_PIXELS`` when set, else :data:`MAX_PIXELS`."""
    return limit("BACKPROP_MAX_IMAGE_PIXELS")


def _to_grey(im: Any) -> np.ndarray:
    """Float32 grey in [0, 1] of a loaded Pillow image (modes as the module docstring says)."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        return np.clip(np.asarray(im, dtype=np.float32) / 65535.0, 0.0, 1.0)
    if mode == "F":
        a = np.asarray(im, dtype=np.float32)
        top = float(np.nanmax(a)) if a.size else 0.0
        return np.clip(np.nan_to_num(a) / (1.0 if top <= 1.0 else 255.0), 0.0, 1.0)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        grey = np.asarray(rgba.convert("L"), dtype=np.float32) / 255.0
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        if alpha.min() < 1.0:
            opaque = alpha > 0.5
            light_ink = bool(opaque.any()) and float(np.median(grey[opaque])) > 0.5
            grey = alpha * grey + (1.0 - alpha) * (0.0 if light_ink else 1.0)
        return grey
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def read_grey(source: str | os.PathLike | bytes, name: str | None = None,
              limit: int | None = None) -> np.ndarray:
    """Decode an image file (or its bytes) to float32 greyscale (H, W) in [0, 1].

    Parameters and errors as :func:`decode` (which this is with ``convert`` the
    greyscale conversion of the module docstring).
    """
    return decode(source, _to_grey, name, limit)


def decode(source: str | os.PathLike | bytes, convert: Callable[[Any], np.ndarray],
           name: str | None = None, limit: int | None = None) -> np.ndarray:
    """Open an image file (or its bytes), bounded, and return ``convert`` of its first frame.

    Parameters
    ----------
    source : str, PathLike or bytes
        A file, or the bytes of one (as posted to the page).
    convert : callable
        Loaded Pillow image to float32 array in [0, 1].
    name : str, optional
        What error messages call it (default: the path, or "image").
    limit : int, optional
        Largest pixel count (default :func:`max_pixels`).

    Returns
    -------
    ndarray
        What ``convert`` returns, e.g. float32 (H, W) grey or (H, W, 3) RGB.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataError
        Not one of :data:`FORMATS`, over the pixel limit, damaged, or a folder.
    """
    from PIL import Image, UnidentifiedImageError

    limit = max_pixels() if limit is None else limit
    if isinstance(source, (bytes, bytearray)):
        name, fp = name or "image", io.BytesIO(source)
    else:
        path = Path(source)
        name = name or str(path)
        if not path.exists():
            raise FileNotFoundError(f"image {path} does not exist; check the path")
        if path.is_dir():
            raise DataError(f"{path} is a folder; give image files ({_FORMAT_WORDS})")
        fp = path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fp, formats=FORMATS) as im:
                w, h = im.size
                if w * h > limit:
                    raise DataError(
                        f"{name}: the image is {w}x{h} = {w * h:,} pixels, over the limit of "
                        f"{limit:,}; shrink it, or raise BACKPROP_MAX_IMAGE_PIXELS"
                    )
                if w < 1 or h < 1:
                    raise DataError(f"{name}: the image is {w}x{h} pixels, it has no pixels")
                im.seek(0)
                im.load()
                return convert(im)
    except DataError:
        raise
    except Image.DecompressionBombError as exc:
        found = _BOMB_SIZE.search(str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise DataError(
            f"{name}: the image has {size}, over the limit of {limit:,}; shrink it"
        ) from None
    except UnidentifiedImageError:
        raise DataError(
            f"{name} is not an image backprop reads; give a {_FORMAT_WORDS} file"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, struct.error) as exc:
        raise DataError(f"{name}: the image is damaged or unsupported ({exc})") from None


def mnist_style(
    grey: np.ndarray,
    size: int = 28,
    box: int = 20,
    ink_threshold: float = 0.35,
    source: str = "image",
) -> np.ndarray:
    """The MNIST steps on a greyscale image in [0, 1]: uint8 (size, size), ink = 255.

    Invert when the background (the median of the border) is light, stretch so
    the background is 0 and the strongest ink 1, crop to the pixels above
    ``ink_threshold``, resize so the longest side is ``box`` pixels (aspect kept,
    Lanczos), and paste so the centre of mass is at the centre of the field.

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

    g = np.asarray(grey, dtype=np.float32)
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


def _resize(grey: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``grey`` (H, W) resized to ``shape`` (h, w); to (h, w, 3) each channel resized alike."""
    from PIL import Image

    if grey.shape == shape:
        return grey
    if len(shape) == 3:
        rgb = grey if grey.ndim == 3 else np.repeat(grey[..., None], shape[2], axis=2)
        return np.stack([_resize(rgb[..., c], shape[:2]) for c in range(shape[2])], axis=-1)
    im = Image.fromarray(np.ascontiguousarray(grey, dtype=np.float32), mode="F")
    return np.asarray(im.resize((shape[1], shape[0]), Image.Resampling.LANCZOS), np.float32)


@dataclass(frozen=True)
class ImageSteps:
    """How a model's training images were made, to repeat on a new image.

    Parameters
    ----------
    kind : {"mnist", "plain"}
        See the module docstring.
    shape : tuple of int
        (height, width) of a training image, or (height, width, 3) for colour
        ("plain" only).
    box : int
        Longest side of the ink ("mnist" only; 20 for 28×28).
    ink : float
        The value full ink (white) had in the training data: 255 for 8-bit
        images, 16 for the scikit-learn digits.
    """

    kind: str
    shape: tuple[int, ...]
    box: int = 0
    ink: float = 255.0

    def __post_init__(self) -> None:
        if self.kind not in ("mnist", "plain"):
            raise DataError(f"image steps {self.kind!r} are unknown; expected mnist or plain")
        shape = tuple(int(s) for s in self.shape)
        if len(shape) not in (2, 3) or not all(1 <= s <= 4096 for s in shape[:2]) or (
                shape[2:] not in ((), (3,))):
            raise DataError(f"image shape {self.shape!r:.60} must be two sides of 1..4096 pixels, "
                            "or two sides and 3 channels (RGB) for colour")
        if self.kind == "mnist" and len(shape) == 3:
            raise DataError(f"MNIST-style image steps are for greyscale, got shape {shape}; "
                            "colour images take plain steps")
        if self.kind == "mnist" and shape[0] != shape[1]:
            raise DataError(f"MNIST-style image steps need a square shape, got {shape}")
        if not (np.isfinite(self.ink) and self.ink > 0):
            raise DataError(f"image ink value {self.ink!r} must be a positive number")
        object.__setattr__(self, "shape", shape)
        box = int(self.box) or max(1, round(shape[0] * 20 / 28))
        object.__setattr__(self, "box", min(box, shape[0]) if self.kind == "mnist" else 0)
        object.__setattr__(self, "ink", float(self.ink))

    @property
    def channels(self) -> int:
        """1 for greyscale, 3 for colour (RGB)."""
        return self.shape[2] if len(self.shape) == 3 else 1

    def picture(self, grey: np.ndarray, source: str = "image") -> np.ndarray:
        """The image the network sees, uint8 of ``shape``: grey levels (255 = full ink) or RGB.

        ``grey`` is (H, W) in [0, 1], or (H, W, 3) for colour steps (a grey
        image given to colour steps goes in all three channels).
        """
        if self.kind == "mnist":
            return mnist_style(grey, size=self.shape[0], box=self.box, source=source)
        return np.clip(np.round(_resize(grey, self.shape) * 255.0), 0, 255).astype(np.uint8)

    def values(self, picture: np.ndarray) -> np.ndarray:
        """A picture (uint8) in the training data's units: ``shape``, full ink = ``ink``."""
        if self.ink == 255.0:
            return np.asarray(picture, dtype=np.uint8)
        return np.asarray(picture, dtype=np.float64) * (self.ink / 255.0)

    def to_dict(self) -> dict:
        """JSON-able description (stored in model files under ``"image"``)."""
        return {"kind": self.kind, "shape": list(self.shape), "box": self.box, "ink": self.ink}

    @classmethod
    def from_dict(cls, d: Any) -> ImageSteps:
        """Rebuild from :meth:`to_dict` output; DataError when it is malformed."""
        if not isinstance(d, dict) or not isinstance(d.get("shape"), list):
            raise DataError(f"image steps must be an object with kind and shape, got {d!r:.80}")
        try:
            return cls(kind=d.get("kind"), shape=tuple(d["shape"]), box=int(d.get("box", 0)),
                       ink=float(d.get("ink", 255.0)))
        except (TypeError, ValueError, OverflowError) as exc:
            raise DataError(f"malformed image steps {d!r:.80} ({exc})") from None


def load_digit(path: str | os.PathLike, size: int = 28, box: int = 20) -> np.ndarray:
    """Read an image file and return the MNIST-style uint8 (size, size) digit."""
    return mnist_style(read_grey(path), size=size, box=box, source=str(path))


def save_png(image: np.ndarray, path: str | os.PathLike, scale: int = 1) -> Path:
    """Write a uint8 (H, W) grey or (H, W, 3) RGB array as PNG, ``scale`` times larger (nearest)."""
    from PIL import Image

    from backprop.fileio import atomic_open

    pixels = np.asarray(image, dtype=np.uint8)
    im = Image.fromarray(pixels, mode="RGB" if pixels.ndim == 3 else "L")
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)
    path = Path(path)
    with atomic_open(path) as f:
        im.save(f, format="PNG")
    return path
