"""The downloader against a local HTTP server on 127.0.0.1 (no network)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from backprop.cli import main
from backprop.data import download, load_dataset
from backprop.data.idx import write_idx
from backprop.errors import DataError

NAMES = list(download.FILE_ROLES.values())


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes[path]``: ("ok", bytes), ("cut", bytes) or a missing route (404)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        server = self.server
        server.requests.append((self.path, self.headers.get("User-Agent", "")))  # type: ignore[attr-defined]
        kind, body = server.routes.get(self.path, ("404", b""))  # type: ignore[attr-defined]
        if kind == "404":
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(routes: dict[str, tuple[str, bytes]]) -> Iterator[tuple[str, list]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.routes = routes  # type: ignore[attr-defined]
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def dead_url() -> str:
    """A 127.0.0.1 URL where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Four small MNIST-shaped gzip IDX files registered as the 'mnist' download."""
    rng = np.random.default_rng(0)
    src = tmp_path / "src"
    src.mkdir()
    arrays = {
        NAMES[0]: rng.integers(0, 256, (30, 28, 28)).astype(np.uint8),
        NAMES[1]: np.arange(30, dtype=np.uint8) % 10,
        NAMES[2]: rng.integers(0, 256, (10, 28, 28)).astype(np.uint8),
        NAMES[3]: np.arange(10, dtype=np.uint8),
    }
    blobs = {}
    for name, array in arrays.items():
        blobs[name] = write_idx(src / name, array).read_bytes()
    spec = {
        "mirrors": [dead_url()],
        "sha256": {n: hashlib.sha256(b).hexdigest() for n, b in blobs.items()},
        "known_dirs": [],
    }
    monkeypatch.setitem(download.DOWNLOADS, "mnist", spec)
    return blobs


def ok_routes(blobs: dict[str, bytes], prefix: str = "/") -> dict[str, tuple[str, bytes]]:
    return {prefix + n: ("ok", b) for n, b in blobs.items()}


def cache_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_first_mirror_404_second_serves(tmp_path: Path, toy: dict[str, bytes]) -> None:
    routes = ok_routes(toy, "/b/")
    with serve(routes) as (url, requests):
        files = download.fetch(
            "mnist", cache_dir=tmp_path / "c", progress=False, timeout=5,
            mirrors=[url + "a/", url + "b/"],
        )
    assert set(files) == {"train_images", "train_labels", "test_images", "test_labels"}
    for path in files.values():
        assert path.parent == tmp_path / "c" / "mnist"
        assert path.read_bytes() == toy[path.name]
    paths = [p for p, _ in requests]
    assert paths.count("/a/" + NAMES[0]) == 1 and paths.count("/b/" + NAMES[0]) == 1
    assert all(agent.startswith("backprop/") for _, agent in requests)
    assert cache_listing(tmp_path / "c" / "mnist") == sorted(NAMES)


def test_hash_mismatch_is_rejected_and_leaves_nothing(
    tmp_path: Path, toy: dict[str, bytes]
) -> None:
    routes = ok_routes(toy)
    wrong = bytearray(toy[NAMES[0]])
    wrong[-10] ^= 0xFF
    routes["/" + NAMES[0]] = ("ok", bytes(wrong))
    with serve(routes) as (url, _), pytest.raises(DataError, match="sha256 mismatch"):
        download.fetch("mnist", cache_dir=tmp_path, progress=False, timeout=5, mirrors=[url])
    assert cache_listing(tmp_path / "mnist") == []


def test_connection_cut_leaves_no_partial_file(tmp_path: Path, toy: dict[str, bytes]) -> None:
    routes = {"/" + NAMES[0]: ("cut", toy[NAMES[0]])}
    with serve(routes) as (url, _), pytest.raises(DataError) as info:
        download.fetch("mnist", cache_dir=tmp_path, progress=False, timeout=5, mirrors=[url])
    assert url + NAMES[0] + ": OSError: connection cut after" in str(info.value)
    assert cache_listing(tmp_path / "mnist") == []


def test_connection_cut_then_next_mirror(tmp_path: Path, toy: dict[str, bytes]) -> None:
    routes = ok_routes(toy, "/good/")
    routes["/bad/" + NAMES[0]] = ("cut", toy[NAMES[0]])
    with serve(routes) as (url, _):
        files = download.fetch(
            "mnist", cache_dir=tmp_path, progress=False, timeout=5,
            mirrors=[url + "bad/", url + "good/"],
        )
    assert files["train_images"].read_bytes() == toy[NAMES[0]]
    assert cache_listing(tmp_path / "mnist") == sorted(NAMES)


def test_damaged_cache_is_fetched_again(tmp_path: Path, toy: dict[str, bytes]) -> None:
    with serve(ok_routes(toy)) as (url, requests):
        download.fetch("mnist", cache_dir=tmp_path, progress=False, mirrors=[url])
        assert len(requests) == 4
        # verified cache: no request at all
        download.fetch("mnist", cache_dir=tmp_path, progress=False, mirrors=[url])
        assert len(requests) == 4
        victim = tmp_path / "mnist" / NAMES[2]
        data = bytearray(victim.read_bytes())
        data[40] ^= 0xFF
        victim.write_bytes(bytes(data))
        assert download.verify("mnist", tmp_path)[NAMES[2]][1] == "damaged"
        files = download.fetch("mnist", cache_dir=tmp_path, progress=False, mirrors=[url])
        assert [p for p, _ in requests[4:]] == ["/" + NAMES[2]]
    assert files["test_images"].read_bytes() == toy[NAMES[2]]
    assert all(s == "ok" for _, s in download.verify("mnist", tmp_path).values())


def test_cached_files_need_no_network(tmp_path: Path, toy: dict[str, bytes]) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name, blob in toy.items():
        (folder / name).write_bytes(blob)
    files = download.fetch("mnist", cache_dir=tmp_path, progress=False, mirrors=[dead_url()])
    assert files["train_labels"] == folder / NAMES[1]
    ds = load_dataset("mnist", cache_dir=tmp_path, download=False)
    assert ds.X_train.shape == (30, 28, 28) and ds.y_test.tolist() == list(range(10))


def test_offline_message(tmp_path: Path, toy: dict[str, bytes]) -> None:
    urls = [dead_url(), dead_url() + "second/"]
    with pytest.raises(DataError) as info:
        download.fetch("mnist", cache_dir=tmp_path, progress=False, timeout=5, mirrors=urls)
    msg = str(info.value)
    assert "'mnist'" in msg
    assert str(tmp_path / "mnist") in msg
    for u in urls:
        assert u + NAMES[0] in msg
    assert "--data-dir" in msg and "--dataset mnist-sample" in msg
    assert msg.count("refused") >= 2  # each URL with its own error


def test_cli_offline_exits_nonzero(
    tmp_path: Path, toy: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["data", "fetch", "mnist", "--cache-dir", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert rc != 0
    assert "cannot fetch data set 'mnist'" in err and "mnist-sample" in err
    assert "Traceback" not in err


def test_cli_fetch_verify_info(
    tmp_path: Path,
    toy: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serve(ok_routes(toy)) as (url, _):
        monkeypatch.setitem(download.DOWNLOADS["mnist"], "mirrors", [url])
        assert main(["data", "fetch", "mnist", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("sha256 verified") == 4
    assert main(["data", "verify", "mnist", "--cache-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count(" ok ") == 4
    assert main(["data", "info", "mnist", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "30 items" in out and "10 items" in out and str(tmp_path / "mnist") in out
    assert main(["data", "list", "mnist", "--cache-dir", str(tmp_path)]) == 0
    assert str(tmp_path / "mnist") in capsys.readouterr().out
    (tmp_path / "mnist" / NAMES[1]).write_bytes(b"junk")
    assert main(["data", "verify", "mnist", "--cache-dir", str(tmp_path)]) == 1
    assert "damaged" in capsys.readouterr().out


def test_concurrent_fetchers_do_not_corrupt(tmp_path: Path, toy: dict[str, bytes]) -> None:
    results: list[object] = []
    with serve(ok_routes(toy)) as (url, _):

        def worker() -> None:
            try:
                results.append(
                    download.fetch("mnist", cache_dir=tmp_path, progress=False, mirrors=[url])
                )
            except Exception as exc:  # recorded and checked below
                results.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
    assert len(results) == 4 and all(isinstance(r, dict) for r in results), results
    for name, blob in toy.items():
        assert (tmp_path / "mnist" / name).read_bytes() == blob
    assert cache_listing(tmp_path / "mnist") == sorted(NAMES)


def test_known_dir_used_only_when_hashes_match(tmp_path: Path, toy: dict[str, bytes]) -> None:
    system = tmp_path / "system"
    system.mkdir()
    for name, blob in toy.items():
        (system / name).write_bytes(blob)
    files = download.fetch(
        "mnist", cache_dir=tmp_path / "c", progress=False, mirrors=[], known_dirs=[system]
    )
    assert files["train_images"] == system / NAMES[0]
    (system / NAMES[3]).write_bytes(gzip.compress(b"other"))
    with pytest.raises(DataError, match="no mirrors configured"):
        download.fetch(
            "mnist", cache_dir=tmp_path / "c", progress=False, mirrors=[], known_dirs=[system]
        )


def test_cache_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BACKPROP_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert download.cache_dir() == tmp_path / "home" / ".cache" / "backprop"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert download.cache_dir() == tmp_path / "xdg" / "backprop"
    monkeypatch.setenv("BACKPROP_DATA", str(tmp_path / "mine"))
    assert download.cache_dir() == tmp_path / "mine"


def test_not_cached_without_download(tmp_path: Path, toy: dict[str, bytes]) -> None:
    with pytest.raises(DataError, match="backprop data fetch mnist"):
        load_dataset("mnist", cache_dir=tmp_path, download=False)


def test_download_then_load(tmp_path: Path, toy: dict[str, bytes],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(ok_routes(toy)) as (url, _):
        monkeypatch.setitem(download.DOWNLOADS["mnist"], "mirrors", [url])
        ds = load_dataset("mnist", cache_dir=tmp_path, progress=False)
    assert ds.name == "mnist" and ds.X_train.shape == (30, 28, 28)
    assert ds.y_train.dtype == np.int64 and ds.n_classes == 10


def test_recorded_hashes_are_well_formed() -> None:
    for name, spec in download.DOWNLOADS.items():
        assert set(spec["sha256"]) == set(NAMES), name
        for digest in spec["sha256"].values():
            assert len(digest) == 64 and int(digest, 16) >= 0
        assert spec["mirrors"] and all(m.endswith("/") for m in spec["mirrors"])


def test_unknown_name() -> None:
    with pytest.raises(DataError, match="choose one of mnist"):
        download.fetch("nope")


def test_downloaded_files_get_the_umask_mode(tmp_path: Path, toy: dict[str, bytes]) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        with serve(ok_routes(toy)) as (url, _):
            files = download.fetch("mnist", cache_dir=tmp_path, progress=False, mirrors=[url])
    finally:
        os.umask(old)
    assert {stat.S_IMODE(p.stat().st_mode) for p in files.values()} == {0o644}


def test_oversized_and_linked_cache_files_are_replaced_not_followed(
    tmp_path: Path, toy: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached file over the size limit is damaged unread; a link is replaced, its target kept."""
    folder = tmp_path / "c" / "mnist"
    folder.mkdir(parents=True)
    big = folder / NAMES[0]
    with open(big, "wb") as f:
        f.truncate(2**20)  # sparse, over the 1000-byte limit below
    outside = tmp_path / "outside.gz"
    outside.write_bytes(b"someone else's file")
    (folder / NAMES[1]).symlink_to(outside)
    monkeypatch.setenv("BACKPROP_MAX_DOWNLOAD_BYTES", str(2**19))
    statuses = {name: s for name, (_, s) in download.verify("mnist", tmp_path / "c").items()}
    assert statuses[NAMES[0]] == "damaged" and statuses[NAMES[1]] == "damaged"
    with serve(ok_routes(toy)) as (url, requests):
        files = download.fetch("mnist", cache_dir=tmp_path / "c", progress=False, mirrors=[url])
    assert files["train_labels"].read_bytes() == toy[NAMES[1]]
    assert not files["train_labels"].is_symlink()
    assert outside.read_bytes() == b"someone else's file"
    assert files["train_images"].read_bytes() == toy[NAMES[0]]


def test_a_download_over_the_limit_is_refused(
    tmp_path: Path, toy: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKPROP_MAX_DOWNLOAD_BYTES", "100")
    with serve(ok_routes(toy)) as (url, _):
        with pytest.raises(DataError, match="BACKPROP_MAX_DOWNLOAD_BYTES"):
            download.fetch("mnist", cache_dir=tmp_path, progress=False, mirrors=[url])
    assert cache_listing(tmp_path / "mnist") == []
