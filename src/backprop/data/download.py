"""Fetch the MNIST family into a local cache: mirrors, sha256, atomic writes.

Each file is downloaded from the first mirror that serves it, hashed while it
streams into a uniquely named temporary file in the cache folder, and renamed
into place only when its sha256 matches the value recorded in :data:`DOWNLOADS`.
A cached file is hashed again before every use and fetched again if damaged.
Two processes fetching at once each write their own temporary file and the
last ``os.replace`` wins with identical, verified content, so the cache is
never left half-written.

The cache folder is ``$BACKPROP_DATA``, else ``$XDG_CACHE_HOME/backprop``,
else ``~/.cache/backprop``; each data set gets a sub-folder named after it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backprop.errors import DataError
from backprop.fileio import new_file_mode
from backprop.limits import limit

__all__ = ["DOWNLOADS", "FILE_ROLES", "cache_dir", "fetch", "verify", "sha256_file", "locate"]

#: Role -> standard file name, in the order the issue lists hashes.
FILE_ROLES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def _files(*hashes: str) -> dict[str, str]:
    return dict(zip(FILE_ROLES.values(), hashes, strict=True))


#: Downloadable data sets: mirrors (tried in order, each ending in ``/``), the
#: sha256 of each file, and folders where a system package may already hold
#: them (used only when the files there match ``sha256`` or ``alt_sha256``).
DOWNLOADS: dict[str, dict[str, Any]] = {
    "mnist": {
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        "sha256": _files(
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
        "known_dirs": [],
    },
    "fashion-mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        "sha256": _files(
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
        # Debian's dataset-fashion-mnist (0.0~git20200523.55506a9-1) recompresses
        # the same IDX data, so its .gz files hash differently; these are its values.
        "alt_sha256": _files(
            "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        ),
        "known_dirs": ["/usr/share/datasets/fashion-mnist"],
    },
    "kmnist": {
        "mirrors": ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
        "sha256": _files(
            "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
            "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
            "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
            "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
        ),
        "known_dirs": [],
    },
}

_CHUNK = 1 << 16


def _user_agent() -> str:
    from backprop import __version__

    return f"backprop/{__version__} (Python urllib; MNIST downloader)"


def cache_dir() -> Path:
    """The cache root: ``$BACKPROP_DATA``, ``$XDG_CACHE_HOME/backprop`` or ``~/.cache/backprop``.

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    env = os.environ.get("BACKPROP_DATA")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "backprop"
    return Path.home() / ".cache" / "backprop"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _status(path: Path, spec: dict[str, Any]) -> str:
    """``"ok"``, ``"missing"`` or ``"damaged"`` (wrong hash, not a regular file, or too large).

    A file larger than ``BACKPROP_MAX_DOWNLOAD_BYTES`` is damaged without being
    read, so a huge or sparse file in the cache never costs minutes of hashing.
    """
    if not path.exists() and not path.is_symlink():
        return "missing"
    if not path.is_file() or path.stat().st_size > limit("BACKPROP_MAX_DOWNLOAD_BYTES"):
        return "damaged"
    return "ok" if sha256_file(path) in _accepted(spec, path.name) else "damaged"


def _spec(name: str) -> dict[str, Any]:
    if name not in DOWNLOADS:
        raise DataError(
            f"unknown downloadable data set {name!r}; choose one of {', '.join(DOWNLOADS)}"
        )
    return DOWNLOADS[name]


def _dataset_dir(name: str, root: str | os.PathLike[str] | None) -> Path:
    return (Path(root).expanduser() if root is not None else cache_dir()) / name


def _accepted(spec: dict[str, Any], fname: str) -> set[str]:
    ok = {spec["sha256"][fname]}
    alt = spec.get("alt_sha256", {}).get(fname)
    if alt:
        ok.add(alt)
    return ok


def locate(
    name: str,
    cache_dir: str | os.PathLike[str] | None = None,
    known_dirs: Sequence[str | os.PathLike[str]] | None = None,
) -> dict[str, Path] | None:
    """Find verified files of a data set without touching the network.

    Looks in the cache folder, then in the spec's ``known_dirs``; a folder is
    used only when all four files are there and every hash matches.

    Returns
    -------
    dict of str to pathlib.Path or None
        Role (``train_images``, ``train_labels``, ``test_images``,
        ``test_labels``) -> file, or None when no folder holds all four.
    """
    spec = _spec(name)
    dirs = [_dataset_dir(name, cache_dir)]
    dirs += [Path(d) for d in (spec.get("known_dirs", []) if known_dirs is None else known_dirs)]
    for folder in dirs:
        paths = {role: folder / fname for role, fname in FILE_ROLES.items()}
        if all(_status(p, spec) == "ok" for p in paths.values()):
            return paths
    return None


def _progress_bar(total: int | None, desc: str, progress: bool) -> Any:
    from tqdm import tqdm

    disable = not progress or not sys.stderr.isatty()
    return tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
        disable=disable, leave=False,
    )


def _download_one(url: str, dest: Path, expected: str, timeout: float, progress: bool) -> None:
    """Download ``url`` to ``dest`` atomically; raise on any failure, leaving no file."""
    import http.client  # the network modules load only when a download happens
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": _user_agent()})
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            h = hashlib.sha256()
            got = 0
            cap = limit("BACKPROP_MAX_DOWNLOAD_BYTES")
            if total is not None and total > cap:
                raise DataError(f"the server announces {total:,} bytes, over the limit of "
                                f"{cap:,} (BACKPROP_MAX_DOWNLOAD_BYTES)")
            with _progress_bar(total, dest.name, progress) as bar:
                while True:
                    try:
                        chunk = resp.read(_CHUNK)
                    except http.client.IncompleteRead as exc:
                        got += len(exc.partial)
                        raise OSError(
                            f"connection cut after {got} of {total or '?'} bytes"
                        ) from exc
                    if not chunk:
                        break
                    got += len(chunk)
                    if got > cap:
                        raise DataError(f"more than {cap:,} bytes, the limit "
                                        "(BACKPROP_MAX_DOWNLOAD_BYTES)")
                    out.write(chunk)
                    h.update(chunk)
                    bar.update(len(chunk))
            if total is not None and got != total:
                raise OSError(f"connection cut after {got} of {total} bytes")
        digest = h.hexdigest()
        if digest != expected:
            raise DataError(f"sha256 mismatch: got {digest}, expected {expected}")
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def _offline_message(
    name: str, folder: Path, fname: str, errors: list[tuple[str, str]]
) -> str:
    tried = "\n".join(f"  {url}: {err}" for url, err in errors) or "  (no mirrors configured)"
    files = ", ".join(FILE_ROLES.values())
    return (
        f"cannot fetch data set {name!r}: every mirror failed for {fname}.\n"
        f"Tried:\n{tried}\n"
        f"Cache folder: {folder}\n"
        "Two ways out:\n"
        f"  1. copy the four files ({files}) into {folder}, "
        "or into any folder and pass --data-dir FOLDER;\n"
        "  2. use --dataset mnist-sample, which is bundled and needs no network."
    )


def fetch(
    name: str,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    timeout: float = 30,
    *,
    mirrors: Sequence[str] | None = None,
    known_dirs: Sequence[str | os.PathLike[str]] | None = None,
) -> dict[str, Path]:
    """Make sure the four files of a data set are present and verified; download if not.

    Parameters
    ----------
    name : str
        A key of :data:`DOWNLOADS` (``mnist``, ``fashion-mnist``, ``kmnist``).
    cache_dir : str or PathLike, optional
        Cache root; default :func:`cache_dir`.  Files go to ``<root>/<name>/``.
    progress : bool
        Show a tqdm bar (only on a terminal).
    timeout : float
        Seconds for connecting and for each read.
    mirrors : sequence of str, optional
        Base URLs ending in ``/`` that replace the spec's mirrors (tests use a
        local server).
    known_dirs : sequence of path, optional
        Replace the spec's system folders (pass ``[]`` to ignore them).

    Returns
    -------
    dict of str to pathlib.Path
        Role (``train_images``, ``train_labels``, ``test_images``,
        ``test_labels``) -> verified file.

    Raises
    ------
    DataError
        Every mirror failed for some file; the message names the data set, the
        cache folder, each URL with its error, and the ways out.
    """
    import http.client
    import urllib.error

    spec = _spec(name)
    found = locate(name, cache_dir, known_dirs)
    if found is not None:
        return found
    folder = _dataset_dir(name, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    urls = list(spec["mirrors"] if mirrors is None else mirrors)
    paths: dict[str, Path] = {}
    for role, fname in FILE_ROLES.items():
        dest = folder / fname
        expected = spec["sha256"][fname]
        paths[role] = dest
        status = _status(dest, spec)
        if status == "ok":
            continue
        if status == "damaged":
            print(
                f"backprop: cached {dest} is damaged (sha256 mismatch, too large or not a "
                "regular file); fetching it again",
                file=sys.stderr,
            )
        errors: list[tuple[str, str]] = []
        for base in urls:
            url = base.rstrip("/") + "/" + fname
            try:
                _download_one(url, dest, expected, timeout, progress)
                break
            except urllib.error.HTTPError as exc:
                errors.append((url, f"HTTP {exc.code} {exc.reason}"))
            except urllib.error.URLError as exc:
                errors.append((url, f"{exc.reason}"))
            except (OSError, http.client.HTTPException, DataError, ValueError) as exc:
                errors.append((url, f"{type(exc).__name__}: {exc}"))
        else:
            raise DataError(_offline_message(name, folder, fname, errors))
    return paths


def verify(
    name: str, cache_dir: str | os.PathLike[str] | None = None
) -> dict[str, tuple[Path, str]]:
    """Check the cached files of a data set against the recorded hashes.

    Returns
    -------
    dict of str to (pathlib.Path, str)
        File name -> (path, status) with status ``"ok"``, ``"missing"`` or
        ``"damaged"``.
    """
    spec = _spec(name)
    folder = _dataset_dir(name, cache_dir)
    result: dict[str, tuple[Path, str]] = {}
    for fname in FILE_ROLES.values():
        path = folder / fname
        result[fname] = (path, _status(path, spec))
    return result
