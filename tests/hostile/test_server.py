"""Hostile requests to `backprop serve`, over real HTTP to a server started as a user would (a
subprocess under RLIMIT_AS, the stand-in Ghostscript first on PATH): each gets a 4xx answer with
a JSON error, never a 500; the server keeps answering, prints no traceback, runs nothing and
touches no file."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from harness import MEM_LIMIT, assert_gs_not_called, assert_untouched, case_env, snapshot
from hostile_models import EPS, PDF, SVG, digit, good_model, huge_png, png_bytes


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(port, folder, process) of `backprop serve model.npz --port 0` in a case folder."""
    folder = tmp_path_factory.mktemp("serve")
    (folder / "model.npz").write_bytes(good_model())
    env = case_env(folder)
    before = snapshot(folder)

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    err = open(folder / ".harness" / "server-stderr", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "backprop", "serve", "model.npz", "--port",
                             "0"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=err,
                            preexec_fn=limits, start_new_session=True)
    line = proc.stdout.readline().decode()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert found, (line, (folder / ".harness" / "server-stderr").read_text())
    yield int(found.group(1)), folder, proc
    alive = proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    err.close()
    stderr = (folder / ".harness" / "server-stderr").read_text()
    assert alive, f"the server died during the catalogue: {stderr}"
    assert "Traceback" not in stderr and "MemoryError" not in stderr, stderr
    assert_gs_not_called(folder)
    assert_untouched(before, snapshot(folder))


def request(port, method, path="/api/predict", body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


def post(port, body, ctype="application/json"):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return request(port, "POST", body=body, headers={"Content-Type": ctype})


def refused(answer, status=400, mention=""):
    code, headers, body = answer
    assert code == status, (code, body[:300])
    message = json.loads(body)["error"]
    assert mention.lower() in message.lower(), message
    assert "\n" not in message and len(message) < 400, message
    return headers


def still_serving(port):
    assert request(port, "GET", "/api/info")[0] == 200


def data_url(data: bytes, mime="image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


# ------------------------------------------------------------------ bodies


@pytest.mark.parametrize("body, mention", [
    ('{"pixels": [[' + "9" * 400 + "]]}", "between 8 and 2048"),  # 1x1: too small first
    (json.dumps({"pixels": [[0] * 8] * 7 + [[0] * 7 + [int("9" * 400)]]}), "between 0 and 255"),
    (json.dumps({"pixels": [[0] * 8] * 7 + [[0] * 7 + [-(10**400)]]}), "between 0 and 255"),
    ('{"pixels": [' + ",".join(["[0,0,0,0,0,0,0,1e400]"] * 8) + "]}", "between 0 and 255"),
    ('{"pixels": [' + ",".join(["[0,0,0,0,0,0,0,NaN]"] * 8) + "]}", "between 0 and 255"),
    ('{"pixels": [' + ",".join(["[0,0,0,0,0,0,0,Infinity]"] * 8) + "]}", "between 0 and 255"),
    ('{"pixels": [' + ",".join(["[0,0,0,0,0,0,0,true]"] * 8) + "]}", "only numbers"),
    ('{"pixels": ' + "9" * 5000 + "}", "valid JSON"),
    ("[" * 200000 + "]" * 200000, "nested too deeply"),
    ('{"a":' * 100000 + "1" + "}" * 100000, "nested too deeply"),
    (json.dumps({"pixels": [[0] * 2049] * 8}), "2049x8"),
    (json.dumps({"pixels": [[0] * 8] * 2049}), "8x2049"),
    (json.dumps({"pixels": [[0] * 8] * 8, "x" * 10000: 1}), "unknown key"),
    ('{"pixels": [[0]], "pixels": 5}', "2-D list"),
])
def test_hostile_json(server, body, mention):
    port = server[0]
    refused(post(port, body.encode() if isinstance(body, str) else body), mention=mention)
    still_serving(port)


@pytest.mark.parametrize("data, mime, mention", [
    (EPS, "image/png", "not an image backprop reads"),
    (EPS, "image/x-eps", "not an image backprop reads"),
    (PDF, "image/png", "not an image backprop reads"),
    (SVG, "image/svg+xml", "not an image backprop reads"),
    (b"\x00" * 1000, "image/png", "not an image backprop reads"),
    (None, "image/png", "12000x12000"),  # a 12000x12000 PNG: refused before decoding
    (b"\x89PNG\r\n\x1a\n", "image/png", '"image"'),
])
def test_non_raster_and_bomb_uploads(server, data, mime, mention):
    port = server[0]
    data = huge_png() if data is None else data
    refused(post(port, {"image": data_url(data, mime)}), mention=mention)
    still_serving(port)


def test_an_image_data_url_of_another_type(server):
    refused(post(server[0], {"image": "data:text/html;base64,PGgxPmhpPC9oMT4="}),
            mention="data URL like")


def test_a_body_that_is_not_utf8(server):
    refused(post(server[0], b'{"pixels": "\xff\xfe"}'), mention="valid JSON")


# ------------------------------------------------------------------ methods and routes


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW",
                                    "CONNECT"])
def test_unknown_methods_get_405_with_allow(server, method):
    headers = refused(request(server[0], method, "/api/predict", body=b"{}",
                              headers={"Content-Type": "application/json"}), 405, "not allowed")
    assert headers["Allow"] == "GET, HEAD, POST"
    still_serving(server[0])


@pytest.mark.parametrize("path, status", [
    ("/../../../etc/passwd", 404),
    ("/%2e%2e/%2e%2e/etc/passwd", 404),
    ("/..%2fserve.py", 404),
    ("//etc/passwd", 404),
    ("/app.js/../../model.npz", 404),
    ("/model.npz", 404),
])
def test_path_traversal(server, path, status):
    code, _, body = request(server[0], "GET", path)
    assert code == status and b"root:" not in body and b"PK" not in body[:2]


def test_wrong_method_on_known_routes(server):
    headers = refused(request(server[0], "GET", "/api/predict"), 405)
    assert headers["Allow"] == "GET, HEAD, POST"
    refused(request(server[0], "POST", "/api/info", b"{}",
                    {"Content-Type": "application/json"}), 405)


def test_sample_index_that_is_not_a_number(server):
    refused(request(server[0], "GET", "/api/sample?index=" + "x" * 5000), mention="integer")
    assert request(server[0], "GET", "/api/sample?index=" + "9" * 400)[0] == 200


# ------------------------------------------------------------------ headers and slow clients


def test_a_foreign_host_is_refused(server):
    refused(request(server[0], "GET", "/api/info", headers={"Host": "evil.example"}), 403,
            "not this machine")


@pytest.mark.parametrize("length", [str(10**12), "9" * 5000, "-5", "abc"])
def test_content_length_huge_negative_or_not_a_number(server, length):
    with socket.create_connection(("127.0.0.1", server[0]), timeout=30) as s:
        s.sendall(f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                  f"application/json\r\nContent-Length: {length}\r\n\r\n".encode())
        answer = s.recv(65536).decode("latin1")
    assert answer.startswith("HTTP/1.1 400"), answer[:200]


def test_a_chunked_body(server):
    with socket.create_connection(("127.0.0.1", server[0]), timeout=30) as s:
        s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                  b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n")
        answer = s.recv(65536).decode("latin1")
    assert answer.startswith("HTTP/1.1 400") and "chunked" in answer


def test_a_slow_client_does_not_block_others(server):
    port = server[0]
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        slow.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        url = data_url(png_bytes(digit(0, side=140)))
        code, _, body = post(port, {"image": url})
        assert code == 200 and json.loads(body)["label"] in [str(i) for i in range(10)]
    finally:
        slow.close()


def test_a_header_line_of_a_megabyte(server):
    with socket.create_connection(("127.0.0.1", server[0]), timeout=30) as s:
        s.sendall(b"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 2**20
                  + b"\r\n\r\n")
        status = s.recv(65536).decode("latin1").split("\r\n")[0]
    assert status.split()[1] in ("400", "431"), status
    still_serving(server[0])


# ------------------------------------------------------------------ still right afterwards


def test_the_server_still_classifies_after_the_catalogue(server):
    port = server[0]
    x = digit(0, side=28)
    code, _, body = post(port, {"pixels": (255 - x).tolist()})
    assert code == 200
    answer = json.loads(body)
    assert len(answer["probabilities"]) == 10 and abs(sum(answer["probabilities"]) - 1) < 1e-4
    assert np.asarray(answer["input"]).shape == (28, 28)
    time.sleep(0.1)
