"""The draw-a-digit page and its small JSON API (standard library ``http.server``).

``backprop serve MODEL`` runs :func:`make_server` on 127.0.0.1:8000.  Routes:

``GET /``
    The page (``backprop/web/index.html``, with ``app.js``, ``style.css`` and
    ``favicon.svg``): draw a digit, see the answer.  ``/?demo=N`` draws test
    digit N of the bundled MNIST sample (for screenshots and demos).
``GET /api/info``
    The model: ``sizes``, ``activations``, ``classes``, ``dataset``,
    ``input_size`` (the side of the square image), ``scale``, ``model`` (file
    name), ``test_accuracy`` when recorded, and ``max_body`` (bytes).
``GET /api/sample?index=N``
    Test digit ``N mod 1000`` of the bundled ``mnist-sample``:
    ``{"index", "label", "pixels"}`` with ``pixels`` 28 rows of 28 ints 0–255.
``POST /api/predict``
    ``Content-Type: application/json``, a JSON object with exactly one of

    * ``"image"``: a data URL of a PNG (or JPEG/WebP/BMP/GIF) of any size up
      to 2048×2048, such as ``canvas.toDataURL()`` -- what the page sends;
    * ``"pixels"``: a rectangular 2-D list of grey levels 0–255 (at least
      8×8, at most 2048×2048), either polarity -- handy from scripts;

    and optionally ``"activations": true``.  The drawing goes through
    :func:`backprop.data.images.mnist_style` (invert a light background, crop to
    the ink, longest side 20 px, centre of mass at the centre of 28×28) and
    the model's own preprocessor, exactly like ``backprop predict``.  The
    answer::

        {"label": "7", "index": 7, "classes": ["0", ..., "9"],
         "probabilities": [0.001, ..., 0.93, ...],      # one per class
         "input": [[0, 0, ...], ...],                    # the 28x28 image the network saw
         "hidden": [[0.0, 1.3, ...]],                    # only with "activations": true
         "ms": 0.4}                                      # server-side compute time

Errors are JSON ``{"error": "one sentence"}``: 400 for a body over the size
limit (default 2 MB), missing ``Content-Length``, a content type other than
JSON, malformed JSON, a bad image or an empty drawing; 403 for a ``Host``
header that is not the loopback address (a guard against DNS rebinding when
bound to 127.0.0.1); 404 and 405 for unknown routes and methods.

The network is evaluated layer by layer without touching ``net.cache``, so
the threads of :class:`http.server.ThreadingHTTPServer` share it safely.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from backprop.errors import BackpropError, DataError, ModelFileError

__all__ = ["MAX_BODY", "MAX_SIDE", "WEB_DIR", "ModelService", "RequestError", "make_server"]

#: Largest request body accepted, in bytes.
MAX_BODY = 2 * 1024 * 1024
#: Largest image side accepted (pixels), before decoding.
MAX_SIDE = 2048
#: Smallest image side accepted.
MIN_SIDE = 8
#: Folder of the page's static files.
WEB_DIR = Path(__file__).resolve().parent / "web"

_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
    "/favicon.ico": ("favicon.svg", "image/svg+xml"),
}
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


class RequestError(BackpropError, ValueError):
    """A request the server refuses.

    ``status`` is the HTTP code to answer with; ``close`` asks to close the
    connection (when the body was not read).
    """

    def __init__(self, message: str, status: int = 400, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.close = close


def _input_size(net: Any, source: str) -> int:
    """Side of the square image the model takes (28 for MNIST)."""
    pre = getattr(net, "preprocessor", None)
    shape = None if pre is None else pre.input_shape
    if shape is None:
        shape = ((getattr(net, "metadata", None) or {}).get("extra") or {}).get("image_shape")
    n = net.sizes[0]
    if shape is None and math.isqrt(n) ** 2 == n:
        shape = (math.isqrt(n),) * 2
    if shape is None or len(shape) != 2 or shape[0] != shape[1]:
        raise ModelFileError(
            f"{source}: the model takes inputs of shape {tuple(shape) if shape else n}, not "
            "square images; the draw-a-digit page needs a model trained on images such as "
            "MNIST's 28x28"
        )
    return int(shape[0])


def _decode_data_url(url: Any) -> np.ndarray:
    """Greyscale float64 in [0, 1] from a ``data:image/...;base64,`` URL."""
    from PIL import Image, UnidentifiedImageError

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
        with Image.open(io.BytesIO(raw)) as im:
            w, h = im.size
            if max(w, h) > MAX_SIDE or min(w, h) < MIN_SIDE:
                raise RequestError(
                    f"the image is {w}x{h} pixels; send one between {MIN_SIDE} and {MAX_SIDE} "
                    "pixels on each side"
                )
            im.seek(0)
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = np.asarray(im.convert("RGBA"), dtype=np.float64) / 255.0
                grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
                alpha = rgba[..., 3]
                if alpha.min() < 1.0:
                    opaque = alpha > 0.5
                    light_ink = bool(opaque.any()) and float(np.median(grey[opaque])) > 0.5
                    grey = alpha * grey + (1.0 - alpha) * (0.0 if light_ink else 1.0)
                return grey
            return np.asarray(im.convert("L"), dtype=np.float64) / 255.0
    except RequestError:
        raise
    except UnidentifiedImageError:
        raise RequestError('"image" is not a PNG, JPEG, WebP, BMP or GIF image') from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise RequestError(f'"image" is damaged or unsupported ({exc})') from None


def _decode_pixels(pixels: Any) -> np.ndarray:
    """Greyscale float64 in [0, 1] from a 2-D list of grey levels 0-255."""
    if not isinstance(pixels, list) or not pixels or not all(isinstance(r, list) for r in pixels):
        raise RequestError('"pixels" must be a 2-D list (a list of rows of grey levels 0-255)')
    width = len(pixels[0])
    if any(len(r) != width for r in pixels):
        raise RequestError('"pixels" rows must all have the same length')
    h = len(pixels)
    if max(h, width) > MAX_SIDE or min(h, width) < MIN_SIDE:
        raise RequestError(
            f'"pixels" is {h}x{width}; send between {MIN_SIDE} and {MAX_SIDE} on each side'
        )
    if not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for r in pixels for v in r
    ):
        raise RequestError('"pixels" must hold only numbers (grey levels 0-255)')
    a = np.asarray(pixels, dtype=np.float64)
    if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 255:
        raise RequestError('"pixels" values must be grey levels between 0 and 255')
    return a / 255.0


class ModelService:
    """The model behind the API: info, predictions and sample digits.

    Parameters
    ----------
    net : Network
        With ``preprocessor``, ``class_names`` and ``metadata`` (as from
        :func:`backprop.load`); a bare network is scaled by 1/255.
    source : str
        The model file's name, for ``/api/info`` and error messages.
    """

    def __init__(self, net: Any, source: str = "model") -> None:
        self.net = net
        self.source = source
        self.size = _input_size(net, source)
        self.box = max(1, round(self.size * 20 / 28))
        n_out = net.sizes[-1]
        names = getattr(net, "class_names", None)
        if not names:
            names = ["0", "1"] if n_out == 1 else [str(i) for i in range(n_out)]
        self.classes = list(names)
        self._samples: Any = None
        self._samples_lock = threading.Lock()

    # ------------------------------------------------------------------ info
    def info(self) -> dict:
        net = self.net
        meta = getattr(net, "metadata", None) or {}
        train = meta.get("train_config") or {}
        extra = meta.get("extra") or {}
        pre = getattr(net, "preprocessor", None)
        acc = extra.get("test_accuracy")
        return {
            "model": self.source,
            "sizes": list(net.sizes),
            "activations": list(net.activations),
            "classes": self.classes,
            "dataset": train.get("dataset") or train.get("data_dir"),
            "input_size": self.size,
            "scale": None if pre is None else pre.scale,
            "test_accuracy": acc if isinstance(acc, (int, float)) else None,
            "max_body": MAX_BODY,
        }

    # ------------------------------------------------------------------ predict
    def predict_grey(self, grey: np.ndarray, activations: bool = False) -> dict:
        """Classify a greyscale drawing in [0, 1] of any size (see the module docstring)."""
        t0 = time.perf_counter()
        try:
            digit = _mnist_style(grey, self.size, self.box)
        except DataError as exc:
            raise RequestError(str(exc)) from None
        net = self.net
        pre = getattr(net, "preprocessor", None)
        if pre is not None:
            x = pre.transform(digit[None])
        else:
            x = (digit.reshape(1, -1) / 255.0).astype(net.dtype)
        a = np.asarray(x, dtype=net.dtype)
        hidden = []
        for layer in net.layers:  # no net.cache: safe across threads
            _, a = layer.forward(a)
            hidden.append(a[0])
        proba = hidden.pop().astype(np.float64)
        if proba.shape[0] == 1:  # one sigmoid unit: P(class 1)
            proba = np.array([1.0 - proba[0], proba[0]])
        k = int(np.argmax(proba))
        out = {
            "label": self.classes[k],
            "index": k,
            "classes": self.classes,
            "probabilities": [round(float(p), 6) for p in proba],
            "input": digit.tolist(),
        }
        if activations:
            out["hidden"] = [[round(float(v), 4) for v in h] for h in hidden]
        out["ms"] = round((time.perf_counter() - t0) * 1000.0, 3)
        return out

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
                f"levels 0-255); got keys {sorted(payload)}"
            )
        unknown = sorted(set(payload) - {"image", "pixels", "activations"})
        if unknown:
            raise RequestError(
                f"unknown key(s) {unknown}; allowed: image, pixels, activations"
            )
        want = payload.get("activations", False)
        if not isinstance(want, bool):
            raise RequestError('"activations" must be true or false')
        if keys[0] == "image":
            grey = _decode_data_url(payload["image"])
        else:
            grey = _decode_pixels(payload["pixels"])
        return self.predict_grey(grey, activations=want)

    # ------------------------------------------------------------------ samples
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


def _mnist_style(grey: np.ndarray, size: int, box: int) -> np.ndarray:
    from backprop.data.images import mnist_style

    return mnist_style(grey, size=size, box=box, source="drawing")


class _Handler(BaseHTTPRequestHandler):
    server_version = "backprop"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 15  # seconds a client may take to send its request
    disable_nagle_algorithm = True  # small JSON answers go out at once (no 40 ms ACK wait)
    wbufsize = -1  # headers and body in one write; handle_one_request flushes

    server: _Server

    # ------------------------------------------------------------------ plumbing
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        if self.server.verbose or (isinstance(code, int) and code >= 400):
            if isinstance(code, HTTPStatus):
                code = code.value
            self.log_message('"%s" %s %s', self.requestline, str(code), str(size))

    def _send(self, status: int, body: bytes, content_type: str, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", _CSP)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any, close: bool = False) -> None:
        body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", close)

    def _error(self, status: int, message: str, close: bool = False) -> None:
        self._json(status, {"error": message}, close)

    def _host_ok(self) -> bool:
        if not self.server.loopback_only:
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        if not host:  # HTTP/1.0 clients may omit it; browsers (the rebinding risk) never do
            return True
        if host.startswith("["):
            name = host.split("]")[0] + "]"
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return name in _LOOPBACK

    def _guard(self) -> bool:
        if not self._host_ok():
            self._error(
                403,
                f"Host {self.headers.get('Host')!r} is not this machine; open "
                f"{self.server.url} instead",
                close=True,
            )
            return False
        return True

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:  # noqa: N802
        try:
            if not self._guard():
                return
            url = urlsplit(self.path)
            if url.path in _STATIC:
                name, ctype = _STATIC[url.path]
                try:
                    body = (WEB_DIR / name).read_bytes()
                except OSError:
                    self._error(500, f"the page file {name} is missing from {WEB_DIR}; "
                                "reinstall backprop")
                    return
                self._send(200, body, ctype)
            elif url.path == "/api/info":
                self._json(200, self.server.service.info())
            elif url.path == "/api/sample":
                query = parse_qs(url.query)
                raw = query.get("index", ["0"])[0]
                try:
                    index = int(raw)
                except ValueError:
                    self._error(400, f"index must be an integer, got {raw!r}")
                    return
                self._json(200, self.server.service.sample(index))
            elif url.path == "/api/predict":
                self._error(405, "use POST for /api/predict")
            else:
                self._error(404, f"no page at {url.path}; open / for the drawing page")
        except Exception:
            self._internal_error()

    do_HEAD = do_GET  # noqa: N815

    def do_POST(self) -> None:  # noqa: N802
        try:
            if not self._guard():
                return
            path = urlsplit(self.path).path
            if path != "/api/predict":
                self._error(
                    405 if path in _STATIC or path.startswith("/api/") else 404,
                    f"POST goes to /api/predict, not {path}",
                    close=True,
                )
                return
            try:
                payload = self._read_json()
                result = self.server.service.predict_request(payload)
            except RequestError as exc:
                self._error(exc.status, str(exc), close=exc.close)
                return
            self._json(200, result)
        except Exception:
            self._internal_error()

    def _read_json(self) -> Any:
        if self.headers.get("Transfer-Encoding"):
            raise RequestError(
                "chunked request bodies are not supported; send Content-Length", close=True
            )
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        length_text = self.headers.get("Content-Length")
        try:
            length = int(length_text) if length_text is not None else -1
        except ValueError:
            length = -1
        if length < 0:
            raise RequestError("send a Content-Length header with the JSON body", close=True)
        limit = self.server.max_body
        if length > limit:
            raise RequestError(
                f"the request body is {length} bytes, over the limit of {limit}; send a "
                "smaller image (the page sends about 10 kB)",
                close=True,
            )
        body = self.rfile.read(length)
        if ctype != "application/json":
            raise RequestError(
                f"Content-Type must be application/json, got {ctype or 'none'!r}"
            )
        if len(body) < length:
            raise RequestError("the request body ended early")
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise RequestError(f"the body is not valid JSON ({exc})") from None

    def _internal_error(self) -> None:
        traceback.print_exc(file=sys.stderr)
        try:
            self._error(500, "internal error in backprop serve; see the server's terminal",
                        close=True)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address, service: ModelService, max_body: int, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.max_body = int(max_body)
        self.verbose = verbose
        host = self.server_address[0]
        self.loopback_only = host in _LOOPBACK or host.startswith("127.")

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}/"


def make_server(
    model: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_body: int = MAX_BODY,
    verbose: bool = False,
) -> _Server:
    """Build (but do not start) the server for a model.

    Parameters
    ----------
    model : str, PathLike or Network
        A model file, or a loaded network.
    host : str, default "127.0.0.1"
        Address to bind; only loopback addresses accept requests whose Host
        header is not localhost.
    port : int, default 8000
        0 picks a free port (read it from ``server.server_address[1]``).
    max_body : int
        Largest POST body in bytes.
    verbose : bool
        Log every request to stderr (otherwise only errors).

    Returns
    -------
    ThreadingHTTPServer
        Call ``serve_forever()`` (in a thread if you like), then ``shutdown()``
        and ``server_close()``.  ``server.url`` is its address.

    Raises
    ------
    ModelFileError
        The model is unreadable or does not take square images.
    OSError
        The port is in use or the address cannot be bound.
    """
    if isinstance(model, (str, Path)):
        from backprop.model.modelfile import load

        net, source = load(model), Path(model).name
    else:
        net, source = model, "model"
    service = ModelService(net, source)
    if not (0 <= int(port) <= 65535):
        raise ValueError(f"port must be between 0 and 65535, got {port}")
    try:
        return _Server((host, int(port)), service, max_body, verbose)
    except OSError as exc:
        if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise OSError(
                exc.errno,
                f"port {port} on {host} is already in use; pick another with --port "
                "(or --port 0 for any free one)",
            ) from None
        raise
