"""The documented limits on what backprop reads, and how to raise them.

Every reader of outside input checks what a file *declares* (an IDX header, a
zip directory, a folder listing) against these limits and against the file's
own size before it allocates anything.  Each limit is an environment variable
``BACKPROP_MAX_...``; set it to a larger integer to raise the limit, e.g.::

    BACKPROP_MAX_DATA_BYTES=17179869184 backprop train --data-dir big/

:data:`LIMITS` lists the data limits with their defaults; ``docs/limits.md``
lists them all (model files and images included).
"""

from __future__ import annotations

import os

from backprop.errors import DataError

__all__ = ["LIMITS", "RATIO_FLOOR", "limit", "over", "size_words"]

GiB, MiB = 2**30, 2**20

#: Variable -> (default, what it bounds).
LIMITS: dict[str, tuple[int, str]] = {
    "BACKPROP_MAX_DATA_BYTES": (
        4 * GiB, "bytes of one array a data file (IDX, .npz) declares; a CSV file may be a "
                 "quarter of it (parsing takes up to 4 bytes per byte of text)"),
    "BACKPROP_MAX_GZIP_RATIO": (
        100, "decompressed / compressed size of a .gz or zipped data file, checked when it "
             "declares more than 16 MiB (MNIST's ratio is 5; a gzip bomb's is 1000)"),
    "BACKPROP_MAX_CLASSES": (1000, "distinct labels (classes) in a data set"),
    "BACKPROP_MAX_IMAGE_FILES": (
        200_000, "entries an image folder (--data-dir with class sub-folders) may hold"),
    "BACKPROP_MAX_DOWNLOAD_BYTES": (
        256 * MiB, "bytes of one downloaded or cached data file (the MNIST family's largest "
                   "is 26 MiB)"),
    "BACKPROP_MAX_MODEL_BYTES": (
        4 * GiB, "bytes of one array, and of all arrays together, that a model file, "
                 "checkpoint or safetensors file declares"),
    "BACKPROP_MAX_METADATA_BYTES": (
        64 * MiB, "bytes of a model file's or checkpoint's JSON metadata (and of a "
                  "safetensors header)"),
    "BACKPROP_MAX_ENSEMBLE": (
        32, "networks in one model file (an ensemble: backprop train --ensemble K, K <= 32)"),
    "BACKPROP_MAX_IMAGE_PIXELS": (
        25_000_000, "pixels (width x height) of one image, checked from its header before "
                    "decoding (predict, image folders, the page of backprop serve)"),
}

#: Declared sizes below this are never refused for their compression ratio.
RATIO_FLOOR = 16 * MiB


def limit(name: str) -> int:
    """The value of limit ``name``: the environment variable when set, else its default.

    Raises
    ------
    DataError
        The variable is set to something that is not a positive integer.
    """
    default = LIMITS[name][0]
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise DataError(
            f"{name}={text!r} is not a positive integer; unset it (default {default:,}) "
            "or set a larger whole number"
        )
    return value


def size_words(n: int) -> str:
    """Bytes in words: ``'1,610,612,736 bytes (1.5 GiB)'``, or ``'about 2**95 bytes'``."""
    if n >= 2**80:
        return f"about 2**{n.bit_length() - 1} bytes"
    for unit, factor in (("TiB", 2**40), ("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= factor:
            return f"{n:,} bytes ({n / factor:.3g} {unit})"
    return f"{n:,} bytes"


def over(name: str, what: str, value: int, *, unit: str = "bytes") -> str:
    """The sentence for ``value`` over limit ``name``: the number, the limit, how to raise it."""
    lim = limit(name)
    shown = size_words(value) if unit == "bytes" else f"{value:,} {unit}"
    cap = size_words(lim) if unit == "bytes" else f"{lim:,}"
    return f"{what} {shown}, over the limit of {cap}; if that is genuine, raise {name}"
