"""The ``image_size`` setting: the size every image of a folder is resized to.

``--image-size 28x28`` (height × width), ``--image-size 32`` (a 32×32 square),
or ``image_size = "28x28"`` in a config file.  The declaration
(``backprop.config``) checks the form and that each side is 1..4096 pixels
(what a model's image steps hold); :func:`parse_size` checks, besides, that
height × width is at most the pixel limit ``BACKPROP_MAX_IMAGE_PIXELS`` that
every decoded image obeys, before any image is read.
"""

from __future__ import annotations

from typing import Any

from backprop.config import image_size_sides
from backprop.errors import DataError
from backprop.limits import limit

__all__ = ["parse_size", "sides_words", "size_problem"]


def size_problem(value: Any) -> str | None:
    """Why ``value`` (``"HxW"`` or ``"N"``) is not an image size to read at, or None.

    Parameters
    ----------
    value : str
        The text of the setting.

    Returns
    -------
    str or None
        The problem in words, naming the fix.
    """
    sides = image_size_sides(value)
    if isinstance(sides, str):
        return sides
    h, w = sides
    cap = limit("BACKPROP_MAX_IMAGE_PIXELS")
    if h * w > cap:
        return (f"is {h * w:,} pixels, over the limit of {cap:,}; choose a smaller size, or "
                "raise BACKPROP_MAX_IMAGE_PIXELS")
    return None


def parse_size(value: str | tuple[int, int], name: str = "--image-size") -> tuple[int, int]:
    """``(height, width)`` of ``"HxW"``, ``"N"`` or a pair; DataError when it is not one.

    Parameters
    ----------
    value : str or tuple of int
        The setting's text, or (height, width) already.
    name : str
        What the message calls the value (the flag).

    Returns
    -------
    tuple of int
        (height, width).
    """
    text = "x".join(str(int(v)) for v in value) if isinstance(value, (tuple, list)) else value
    problem = size_problem(text)
    if problem is not None:
        raise DataError(f"{name} {text}: {problem}")
    sides = image_size_sides(text)
    assert not isinstance(sides, str)
    return sides


def sides_words(size: tuple[int, ...]) -> str:
    """``(28, 32)`` → ``"28×32"`` (height × width)."""
    return f"{size[0]}×{size[1]}"
