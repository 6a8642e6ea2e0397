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
    ``"image"`` (a data URL, what the page sends) or ``"pixels"`` (a 2-D list
    of grey levels), and optionally ``"activations": true``; see
    :mod:`backprop.serve.service`.  The drawing goes through the model's own
    image steps (for MNIST-like models: invert a light background, crop to the
    ink, longest side 20 px, centre of mass at the centre of 28×28) and input
    scaling, exactly like ``backprop predict``.  The answer::

        {"label": "7", "index": 7, "classes": ["0", ..., "9"],
         "probabilities": [0.001, ..., 0.93, ...],      # one per class
         "input": [[0, 0, ...], ...],                    # the 28x28 image the network saw
         "hidden": [[0.0, 1.3, ...]],                    # only with "activations": true
         "ms": 0.4}                                      # server-side compute time

Errors are JSON ``{"error": "one sentence"}``: 400 for a body over the size
limit (default 2 MB), missing ``Content-Length``, a content type other than
JSON, malformed or too deeply nested JSON, a bad image or an empty drawing;
403 for a ``Host`` header that is not the loopback address (a guard against DNS
rebinding when bound to 127.0.0.1); 404 for unknown routes; 405, with an
``Allow`` header, for any other method (PUT, DELETE, OPTIONS, made-up ones).

The network is evaluated layer by layer without touching ``net.cache``, so
the threads of :class:`http.server.ThreadingHTTPServer` share it safely.
"""

from __future__ import annotations

import json
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from backprop.model.model import Model
from backprop.serve.service import MAX_SIDE, MIN_SIDE, ModelService, RequestError

__all__ = ["MAX_BODY", "MAX_SIDE", "MIN_SIDE", "WEB_DIR", "ModelService", "RequestError",
           "make_server"]

#: Largest request body accepted, in bytes.
MAX_BODY = 2 * 1024 * 1024
#: Folder of the page's static files.
WEB_DIR = Path(__file__).resolve().parent / "web"
#: The methods the server answers; every other one gets 405 with this list.
ALLOWED = "GET, HEAD, POST"

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
        if status == 405:
            self.send_header("Allow", ALLOWED)
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
                self._json(200, {**self.server.service.info(), "max_body": self.server.max_body})
            elif url.path == "/api/sample":
                query = parse_qs(url.query)
                raw = query.get("index", ["0"])[0]
                try:
                    index = int(raw)
                except ValueError:
                    self._error(400, f"index must be an integer, got {raw[:40]!r}")
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
                f"Content-Type must be application/json, got {ctype[:60] or 'none'!r}"
            )
        if len(body) < length:
            raise RequestError("the request body ended early")
        try:
            return json.loads(body.decode("utf-8"))
        except RecursionError:
            raise RequestError("the JSON body is nested too deeply; send a flat object such "
                               'as {"pixels": [[...], ...]}') from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise RequestError(f"the body is not valid JSON ({str(exc)[:200]})") from None

    def __getattr__(self, name: str) -> Any:
        """``do_PUT``, ``do_DELETE``, ``do_FOO``...: every other method is answered 405."""
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        try:
            if self._guard():
                self._error(405, f"method {self.command[:20]} is not allowed; use {ALLOWED}",
                            close=True)
        except Exception:
            self._internal_error()

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
    model : str, PathLike, Model or Network
        A model file, or a loaded model.
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
        The model is unreadable or does not take images.
    OSError
        The port is in use or the address cannot be bound.
    """
    if isinstance(model, (str, Path)):
        from backprop.model.modelfile import load

        loaded, source = load(model), Path(model).name
    else:
        loaded, source = Model.of(model), "model"
    service = ModelService(loaded, source)
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
