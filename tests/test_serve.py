"""`backprop serve`: the page, the JSON API and its refusals, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import http.client
import io
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image, ImageDraw

import backprop
from backprop.cli import main
from backprop.data.images import mnist_style
from backprop.model.modelfile import save
from backprop.serve.server import MAX_BODY, WEB_DIR, _Server, make_server

CANVAS = 280  # the page's canvas side


@pytest.fixture(scope="module")
def model(sample_model):
    path, ds = sample_model
    return path, backprop.load(path), ds


@pytest.fixture(scope="module")
def server(model):
    srv = make_server(model[0], host="127.0.0.1", port=0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)
    assert not thread.is_alive()


def request(srv, method, path, body=None, headers=None):
    """(status, headers, body bytes) of one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


def post(srv, payload, **kw):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    status, _, data = request(srv, "POST", "/api/predict", body, headers)
    return status, json.loads(data)


def canvas_png(grey_28: np.ndarray) -> tuple[str, np.ndarray]:
    """A sample digit drawn as the page sends it: white on black, 280x280 RGBA PNG data URL.

    Returns the data URL and the greyscale [0, 1] image it holds.
    """
    im = Image.fromarray(grey_28.astype(np.uint8), mode="L").resize(
        (CANVAS, CANVAS), Image.Resampling.BILINEAR
    )
    buf = io.BytesIO()
    im.convert("RGBA").save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return url, np.asarray(im, dtype=np.float64) / 255.0


def in_memory(net, grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    digit = mnist_style(grey)
    return digit, net.network.predict_proba(net.preprocessor.transform(digit[None]))[0]


# ---------------------------------------------------------------------- the page
class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("src", "href") and value and not value.startswith(("#", "data:")):
                self.refs.append(value)


def test_page_and_every_file_it_references(server):
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    parser = _Refs()
    parser.feed(body.decode())
    assert {"app.js", "style.css", "favicon.svg"} <= set(parser.refs)
    for ref in parser.refs:
        assert "://" not in ref and not ref.startswith("//"), f"{ref} is not local"
        assert (WEB_DIR / ref).is_file()
        status, _, data = request(server, "GET", "/" + ref)
        assert status == 200 and data == (WEB_DIR / ref).read_bytes()
    script = (WEB_DIR / "app.js").read_text()
    for url in re.findall(r"fetch\(\s*[`\"']([^`\"'?$]+)", script):
        assert url in ("api/info", "api/predict", "api/sample"), url
    assert "http://" not in script and "https://" not in script


def test_info_describes_the_model(server):
    status, _, body = request(server, "GET", "/api/info")
    info = json.loads(body)
    assert status == 200
    assert info["sizes"] == [784, 32, 10]
    assert info["activations"] == ["relu", "softmax"]
    assert info["classes"] == [str(i) for i in range(10)]
    assert info["dataset"] == "mnist-sample" and info["input_size"] == 28
    assert info["test_accuracy"] == 0.9 and info["model"] == "model.npz"


# ---------------------------------------------------------------------- predictions
def test_sample_digits_drawn_like_the_page_match_in_memory_predictions(server, model):
    _, net, ds = model
    hits = 0
    for i in range(12):
        url, grey = canvas_png(ds.X_test[i])
        status, out = post(server, {"image": url})
        assert status == 200, out
        digit, proba = in_memory(net, grey)
        assert out["input"] == digit.tolist()
        np.testing.assert_allclose(out["probabilities"], proba, atol=2e-6)
        assert out["index"] == int(np.argmax(proba))
        assert out["label"] == ds.class_names[out["index"]]
        assert "hidden" not in out and out["ms"] >= 0
        hits += out["index"] == int(ds.y_test[i])
    assert hits >= 9  # the small model is right on most of them


def test_pixels_array_gives_the_same_answer_as_the_png(server, model):
    _, _, ds = model
    url, grey = canvas_png(ds.X_test[0])
    _, from_png = post(server, {"image": url})
    pixels = np.round(grey * 255).astype(int).tolist()
    status, from_pixels = post(server, {"pixels": pixels})
    assert status == 200
    assert from_pixels["probabilities"] == from_png["probabilities"]
    # dark ink on white paper, at 28x28: inverted like `backprop predict` does
    status, inverted = post(server, {"pixels": (255 - ds.X_test[0].astype(int)).tolist()})
    assert status == 200 and inverted["input"] == mnist_style(ds.X_test[0] / 255.0).tolist()


def test_a_stroke_drawn_on_a_transparent_canvas(server, model):
    _, net, _ = model
    im = Image.new("LA", (CANVAS, CANVAS), (0, 0))
    ImageDraw.Draw(im).line([(140, 40), (140, 240)], fill=(255, 255), width=22)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    status, out = post(server, {"image": url})
    assert status == 200
    grey = np.asarray(im.getchannel("A"), dtype=np.float64) / 255.0  # white ink on black
    _, proba = in_memory(net, grey)
    np.testing.assert_allclose(out["probabilities"], proba, atol=2e-6)


def test_hidden_activations_on_request(server, model):
    _, net, ds = model
    url, grey = canvas_png(ds.X_test[1])
    status, out = post(server, {"image": url, "activations": True})
    assert status == 200 and len(out["hidden"]) == 1
    digit, _ = in_memory(net, grey)
    net.network.forward(net.preprocessor.transform(digit[None]))
    np.testing.assert_allclose(out["hidden"][0], net.network.cache["a"][0][0], atol=1e-4)


def test_sample_endpoint(server, model):
    _, _, ds = model
    status, _, body = request(server, "GET", "/api/sample?index=1003")
    out = json.loads(body)
    assert status == 200 and out["index"] == 3
    assert out["pixels"] == ds.X_test[3].tolist() and out["label"] == str(ds.y_test[3])
    assert request(server, "GET", "/api/sample?index=x")[0] == 400


def test_concurrent_requests_share_the_network_safely(server, model):
    _, _, ds = model
    urls = [canvas_png(ds.X_test[i])[0] for i in range(4)]
    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(lambda u: post(server, {"image": u})[1]["probabilities"], urls))
        again = list(pool.map(lambda u: post(server, {"image": u})[1]["probabilities"], urls * 4))
    assert again == first * 4


# ---------------------------------------------------------------------- refusals
def png_url(size: tuple[int, int]) -> str:
    buf = io.BytesIO()
    Image.new("L", size, 0).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"image": ', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "exactly one of"),
        (b'{"image": "x", "pixels": [[0]]}', "exactly one of"),
        (b'{"image": "x", "colour": 1}', "unknown key"),
        (b'{"image": 5}', "data URL string"),
        (b'{"image": "http://example.com/a.png"}', "data URL like"),
        (b'{"image": "data:image/png;base64,@@@"}', "invalid base64"),
        (b'{"image": "data:image/png;base64,aGVsbG8="}', "not an image backprop reads"),
        (b'{"pixels": [[0, 1], [2]]}', "same length"),
        (b'{"pixels": [1, 2, 3]}', "2-D list"),
        (b'{"pixels": [[0, 1], [2, 3]]}', "between 8 and 2048"),
        (json.dumps({"pixels": [[300] * 8] * 8}).encode(), "between 0 and 255"),
        (json.dumps({"pixels": [["a"] * 8] * 8}).encode(), "only numbers"),
        (json.dumps({"pixels": [[0] * 8] * 8}).encode(), "no ink"),
        (json.dumps({"pixels": [[0] * 8] * 8, "activations": "yes"}).encode(), "true or false"),
        (json.dumps({"image": png_url((280, 280))}).encode(), "no ink"),
        (json.dumps({"image": png_url((3000, 10))}).encode(), "3000x10"),
    ],
)
def test_bad_requests_get_400_and_a_clear_message(server, body, message):
    status, out = post(server, body)
    assert status == 400
    assert message in out["error"]


def test_oversized_and_unlabelled_bodies_are_refused_without_reading_them(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        conn.putrequest("POST", "/api/predict")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(MAX_BODY + 1))
        conn.endheaders()  # the body never comes: the server must not wait for it
        res = conn.getresponse()
        assert res.status == 400 and "over the limit" in json.loads(res.read())["error"]
        assert res.getheader("Connection") == "close"
    finally:
        conn.close()
    status, _, body = request(server, "POST", "/api/predict", b'{"pixels": 1}',
                              {"Content-Type": "text/plain"})
    assert status == 400 and "application/json" in json.loads(body)["error"]


def test_routes_methods_and_hosts(server):
    assert request(server, "GET", "/../serve.py")[0] == 404
    assert request(server, "GET", "/nothing")[0] == 404
    assert request(server, "GET", "/api/predict")[0] == 405
    assert request(server, "POST", "/api/info", b"{}", {"Content-Type": "application/json"})[0] \
        == 405
    status, _, body = request(server, "GET", "/api/info", headers={"Host": "evil.example:80"})
    assert status == 403 and "not this machine" in json.loads(body)["error"]
    port = server.server_address[1]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "[::1]:80"):
        assert request(server, "GET", "/api/info", headers={"Host": host})[0] == 200
    # the server still answers after all of the above
    assert request(server, "GET", "/api/info")[0] == 200


# ---------------------------------------------------------------------- the command
def test_cli_prints_the_url_and_stops_cleanly_on_ctrl_c(model, monkeypatch, capsys):
    def interrupted(self, poll_interval=0.5):
        raise KeyboardInterrupt

    monkeypatch.setattr(_Server, "serve_forever", interrupted)
    assert main(["serve", str(model[0]), "--port", "0"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"http://127\.0\.0\.1:\d+/", out) and "stopped" in out


def test_cli_errors(model, tmp_path, capsys):
    blocker = make_server(model[1], port=0)
    try:
        port = str(blocker.server_address[1])
        assert main(["serve", str(model[0]), "--port", port]) == 2
        assert "already in use" in capsys.readouterr().err
    finally:
        blocker.server_close()
    flat = tmp_path / "flat.npz"
    save(backprop.Network([6, 3, 2], seed=0), flat)
    assert main(["serve", str(flat), "--port", "0"]) == 2
    assert "takes 6 numbers per sample, not images" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "missing.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_model_of_colour_images_is_refused_in_one_line(tmp_path):
    """The page draws grey digits; a colour model is refused, pointing at backprop predict."""
    from backprop.data.images import ImageSteps
    from backprop.model.model import Model

    path = tmp_path / "colour.npz"
    Model(backprop.Network([12, 2], seed=0), image=ImageSteps("plain", (2, 2, 3))).save(path)
    with pytest.raises(backprop.errors.ModelFileError,
                       match=r"colour\.npz takes colour images of 2x2x3.*backprop predict"):
        make_server(str(path), host="127.0.0.1", port=0)
