"""What the page's JSON API does, apart from HTTP: read a request, classify the drawing.

:class:`ModelService` wraps a :class:`backprop.model.model.Model`.  A request
body (already parsed JSON) holds exactly one of

* ``"image"``: a data URL of a PNG (or JPEG/WebP/BMP/GIF/TIFF) of 8 to 2048
  pixels a side, such as ``canvas.toDataURL()``, decoded by the one image
  decoder (:func:`backprop.data.images.read_grey`: raster formats only);
* ``"pixels"``: a rectangular 2-D list of grey levels 0–255 (8 to 2048 a side),
  each checked as a Python number before NumPy sees it (so a 400-digit integer
  is refused, not overflowed);

and optionally ``"activations": true``.  The drawing then goes through the
model's own image steps and input scaling (``Model.predict_image``), exactly
like ``backprop predict``.  Every refusal is a :class:`RequestError` with the
HTTP status to answer.
"""

from __future__ import annotations

import base64
import binascii
import math
import threading
import time
from typing import Any

import numpy as np

from backprop.errors import BackpropError, DataError, ModelFileError
from backprop.model.model import Model

__all__ = ["MAX_SIDE", "MIN_SIDE", "ModelService", "RequestError"]

#: Largest image side accepted (pixels).
MAX_SIDE = 2048
#: Smallest image side accepted.
MIN_SIDE = 8


class RequestError(BackpropError, ValueError):
    """A request the server refuses.

    ``status`` is the HTTP code to answer with; ``close`` asks to close the
    connection (when the body was not read).
    """

    def __init__(self, message: str, status: int = 400, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.close = close


def _check_sides(h: int, w: int, what: str) -> None:
    if max(h, w) > MAX_SIDE or min(h, w) < MIN_SIDE:
        raise RequestError(
            f"{what} is {w}x{h} pixels; send one between {MIN_SIDE} and {MAX_SIDE} pixels on "
            "each side"
        )


def decode_data_url(url: Any) -> np.ndarray:
    """Greyscale float32 in [0, 1] from a ``data:image/...;base64,`` URL."""
    from backprop.data.images import read_grey

    if not isinstance(url, str):
        raise RequestError(f'"image" must be a data URL string, got {type(url).__name__}')
    head, sep, payload = url.partition(",")
    if not sep or not head.startswith("data:image/") or not head.endswith(";base64"):
        raise RequestError(
            '"image" must be a data URL like "data:image/png;base64,..." '
            "(what canvas.toDataURL() returns)"
        )
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError('"image" holds invalid base64 after the comma') from None
    try:
        grey = read_grey(raw, name='"image"', limit=MAX_SIDE * MAX_SIDE)
    except DataError as exc:
        raise RequestError(str(exc)) from None
    _check_sides(*grey.shape, "the image")
    return grey


def decode_pixels(pixels: Any) -> np.ndarray:
    """Greyscale float32 in [0, 1] from a 2-D list of grey levels 0-255."""
    if not isinstance(pixels, list) or not pixels or not all(isinstance(r, list) for r in pixels):
        raise RequestError('"pixels" must be a 2-D list (a list of rows of grey levels 0-255)')
    width = len(pixels[0])
    if any(len(r) != width for r in pixels):
        raise RequestError('"pixels" rows must all have the same length')
    _check_sides(len(pixels), width, '"pixels"')
    for row in pixels:
        for v in row:
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise RequestError('"pixels" must hold only numbers (grey levels 0-255)')
            if not (0 <= v <= 255) or (isinstance(v, float) and not math.isfinite(v)):
                raise RequestError('"pixels" values must be grey levels between 0 and 255, got '
                                   f"{str(v)[:20]}{'...' if len(str(v)) > 20 else ''}")
    return np.asarray(pixels, dtype=np.float32) / 255.0


def _keys(keys: Any) -> str:
    """At most 5 keys, each cut to 30 characters, for a message."""
    names = sorted(keys)
    shown = [k if len(k) <= 30 else k[:30] + "..." for k in names[:5]]
    return str(shown) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


class ModelService:
    """The model behind the API: info, predictions and sample digits.

    Parameters
    ----------
    model : Model
        As from :func:`backprop.load`; it must take images (have image steps).
    source : str
        The model file's name, for ``/api/info`` and error messages.
    """

    def __init__(self, model: Model, source: str = "model") -> None:
        self.model = model
        self.source = source
        self.steps = model.image_steps(source)
        if self.steps.channels != 1:
            raise ModelFileError(
                f"{source} takes colour images of {'x'.join(map(str, self.steps.shape))}, but "
                "the page draws greyscale digits; classify colour image files with "
                f"backprop predict {source} IMAGE..."
            )
        self._samples: Any = None
        self._samples_lock = threading.Lock()

    def info(self) -> dict:
        """What ``GET /api/info`` answers (see docs/serve.md)."""
        m = self.model
        acc = m.extra.get("test_accuracy")
        h, w = self.steps.shape
        return {
            "model": self.source,
            "sizes": m.sizes,
            "activations": list(m.network.activations),
            "members": m.n_members,
            "classes": m.class_names,
            "dataset": m.dataset,
            "input_size": h if h == w else [h, w],
            "image_steps": self.steps.kind,
            "scale": None if m.preprocessor is None else m.preprocessor.scale,
            "test_accuracy": acc if isinstance(acc, (int, float)) else None,
        }

    def predict_grey(self, grey: np.ndarray, activations: bool = False) -> dict:
        """Classify a greyscale drawing in [0, 1] of any size."""
        t0 = time.perf_counter()
        try:
            out = self.model.predict_image(grey, name="drawing", layers=activations)
        except DataError as exc:
            raise RequestError(str(exc)) from None
        answer = {
            "label": out["label"],
            "index": out["index"],
            "classes": self.model.class_names,
            "probabilities": [round(float(p), 6) for p in out["probabilities"]],
            "input": out["picture"].tolist(),
        }
        if activations:
            answer["hidden"] = [[round(float(v), 4) for v in h] for h in out["hidden"]]
        answer["ms"] = round((time.perf_counter() - t0) * 1000.0, 3)
        return answer

    def predict_request(self, payload: Any) -> dict:
        """Validate a decoded JSON request body and classify its drawing."""
        if not isinstance(payload, dict):
            raise RequestError(
                'the body must be a JSON object such as {"image": "data:image/png;base64,..."}'
            )
        keys = [k for k in ("image", "pixels") if k in payload]
        if len(keys) != 1:
            raise RequestError(
                'send exactly one of "image" (a PNG data URL) or "pixels" (a 2-D list of grey '
                f"levels 0-255); got keys {_keys(payload)}"
            )
        unknown = sorted(set(payload) - {"image", "pixels", "activations"})
        if unknown:
            raise RequestError(
                f"unknown key(s) {_keys(unknown)}; allowed: image, pixels, activations"
            )
        want = payload.get("activations", False)
        if not isinstance(want, bool):
            raise RequestError('"activations" must be true or false')
        if keys[0] == "image":
            grey = decode_data_url(payload["image"])
        else:
            grey = decode_pixels(payload["pixels"])
        return self.predict_grey(grey, activations=want)

    def sample(self, index: int) -> dict:
        """Test digit ``index mod 1000`` of the bundled MNIST sample."""
        with self._samples_lock:
            if self._samples is None:
                from backprop.data import load_dataset

                ds = load_dataset("mnist-sample")
                self._samples = (ds.X_test, ds.y_test, ds.class_names)
        X, y, names = self._samples
        i = int(index) % len(X)
        return {"index": i, "label": names[int(y[i])], "pixels": X[i].tolist()}
