"""Model files: the network's arrays plus JSON metadata, never a pickle.

A model file is an uncompressed NumPy ``.npz`` archive holding

* ``W1``, ``b1``, ``W2``, ``b2``, ...: the parameter arrays (float32 or
  float64, the network's dtype), ``W`` of shape (n_out, n_in), ``b`` (n_out,);
* ``metadata``: a uint8 array, the UTF-8 bytes of one JSON object::

      {"format": "backprop-model", "version": 1,
       "network": {...Network.config()...},
       "preprocessor": {...Preprocessor.to_dict()...} or null,
       "class_names": ["0", ..., "9"] or null,
       "train_config": {...TrainConfig fields...} or null,
       "backprop_version": "0.1.0", "numpy_version": "2.4.6",
       "extra": {...any other JSON metadata given to save()...}}

``load`` reads it with ``np.load(allow_pickle=False)`` and refuses, with a
``ModelFileError`` naming the file, the problem and the fix: a missing or
unreadable file, an unknown format or version, missing or unexpected arrays,
wrong shapes or dtypes, and non-finite weights.  ``save`` writes a temporary
file in the same folder and renames it over the target (``os.replace``), so a
crash never leaves half a model file.

``load`` returns a :class:`backprop.engine.network.Network` with three attributes
attached:

``preprocessor``
    the fitted :class:`backprop.data.Preprocessor` (or None): apply
    ``net.preprocessor.transform(X_raw)`` before ``net.predict``;
``class_names``
    list of str (or None), indexed by the predicted class;
``metadata``
    the whole metadata dict above.

``net.save(path)`` on a loaded network writes those attributes back.

>>> import backprop
>>> net = backprop.load("runs/mnist-sample-20250101-120000/model.npz")  # doctest: +SKIP
>>> net.predict(net.preprocessor.transform(images))                     # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from backprop.engine.network import Network
from backprop.errors import ModelFileError
from backprop.fileio import atomic_open

FORMAT = "backprop-model"
VERSION = 1
METADATA_KEY = "metadata"

__all__ = ["FORMAT", "VERSION", "load", "read_metadata", "save", "atomic_savez"]


def _jsonable(value: Any, what: str) -> Any:
    """Check that ``value`` survives JSON (numpy scalars/arrays are converted)."""

    def convert(v):
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, Path):
            return str(v)
        raise TypeError(f"{type(v).__name__} is not JSON-serialisable")

    try:
        return json.loads(json.dumps(value, default=convert))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"model metadata {what!r} cannot be stored as JSON ({exc}); pass plain "
            "numbers, strings, lists and dicts"
        ) from exc


def atomic_savez(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` to ``path`` as an uncompressed .npz, atomically.

    The archive is written to a temporary file in the target folder, flushed
    to disk and renamed over ``path``; readers see the old file or the new
    one, never a partial one.
    """
    with atomic_open(path) as f:
        np.savez(f, **arrays)
    return Path(path)


def save(
    net: Network,
    path: str | os.PathLike,
    preprocessor: Any = None,
    class_names: list[str] | None = None,
    train_config: dict | Any = None,
    **extra: Any,
) -> Path:
    """Write ``net`` to a model file at ``path`` (atomically; see the module docstring).

    Parameters
    ----------
    net : Network
    path : str or PathLike
        Target file; ``.npz`` is the usual suffix.
    preprocessor : Preprocessor or dict, optional
        Default: ``net.preprocessor`` when the network has one (as after ``load``).
    class_names : list of str, optional
        Default: ``net.class_names`` when present.
    train_config : TrainConfig or dict, optional
        Default: the ``train_config`` of ``net.metadata`` when present.
    **extra
        Any other JSON-able metadata (e.g. ``test_accuracy=0.97``), stored
        under ``"extra"`` and merged over the loaded network's extras.

    Returns
    -------
    pathlib.Path
    """
    old_meta = getattr(net, "metadata", None) or {}
    if preprocessor is None:
        preprocessor = getattr(net, "preprocessor", None)
    if class_names is None:
        class_names = getattr(net, "class_names", None)
    if train_config is None:
        train_config = old_meta.get("train_config")
    if preprocessor is not None and not isinstance(preprocessor, dict):
        preprocessor = preprocessor.to_dict()
    if train_config is not None and not isinstance(train_config, dict):
        train_config = train_config.to_dict()
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if len(class_names) != net.sizes[-1] and not (net.sizes[-1] == 1 and len(class_names) == 2):
            raise ValueError(
                f"class_names lists {len(class_names)} names but the network has "
                f"{net.sizes[-1]} outputs; give one name per class"
            )
    from backprop import __version__

    meta = {
        "format": FORMAT,
        "version": VERSION,
        "network": net.config(),
        "preprocessor": _jsonable(preprocessor, "preprocessor"),
        "class_names": class_names,
        "train_config": _jsonable(train_config, "train_config"),
        "backprop_version": __version__,
        "numpy_version": np.__version__,
        "extra": _jsonable({**old_meta.get("extra", {}), **extra}, "extra"),
    }
    arrays = dict(zip(net.param_names(), net.params()))
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    arrays[METADATA_KEY] = blob
    return atomic_savez(path, arrays)


def _open(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise ModelFileError(
            f"model file {path} does not exist; give the model.npz of a run folder "
            "(train one with `backprop train`)"
        )
    if path.is_dir():
        hint = path / "model.npz"
        extra = f" (did you mean {hint}?)" if hint.is_file() else ""
        raise ModelFileError(f"{path} is a folder, not a model file{extra}")
    with path.open("rb") as f:
        magic = f.read(4)
    if magic == b"\x93NUM":
        raise ModelFileError(f"{path} is a single .npy array, not a backprop model file (.npz)")
    if magic != b"PK\x03\x04":  # every .npz is a zip archive
        raise ModelFileError(
            f"{path} is not a model file: a backprop model is a .npz archive (like the "
            "model.npz of a run folder), and this file is something else"
        )
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ModelFileError(
                f"{path} is a single .npy array, not a backprop model file (.npz)"
            )
        with z:
            arrays = {}
            for key in z.files:
                try:
                    arrays[key] = z[key]
                except ValueError as exc:
                    raise ModelFileError(
                        f"{path}: array {key!r} holds Python objects, which backprop never "
                        "unpickles; this is not a backprop model file"
                    ) from exc
            return arrays
    except ModelFileError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelFileError(
            f"{path} is not a readable model file ({type(exc).__name__}: {exc}); "
            "it may be truncated or not a .npz written by backprop"
        ) from exc


def _metadata(path: Path, arrays: dict[str, np.ndarray]) -> dict:
    if METADATA_KEY not in arrays:
        raise ModelFileError(
            f"{path} has no {METADATA_KEY!r} entry, so it is not a backprop model file "
            "(save models with net.save(path) or `backprop train`)"
        )
    blob = arrays[METADATA_KEY]
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise ModelFileError(
            f"{path}: metadata must be a 1-D uint8 array of JSON bytes, found "
            f"{blob.dtype} {blob.shape}"
        )
    try:
        meta = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: metadata format is {meta.get('format') if isinstance(meta, dict) else meta!r}"
            f", expected {FORMAT!r}; this is not a backprop model file"
        )
    version = meta.get("version")
    if version != VERSION:
        raise ModelFileError(
            f"{path}: model file version {version!r} is not supported (this backprop reads "
            f"version {VERSION}); use the backprop version that wrote it, or retrain"
        )
    for key in ("network",):
        if not isinstance(meta.get(key), dict):
            raise ModelFileError(f"{path}: metadata lacks the {key!r} description")
    return meta


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata dict of a model file, validated like ``load`` does."""
    path = Path(path)
    return _metadata(path, _open(path))


def load(path: str | os.PathLike) -> Network:
    """Read a model file; return a Network with ``preprocessor``, ``class_names``, ``metadata``.

    Raises
    ------
    ModelFileError
        For anything but a well-formed model file of a known version.
    """
    path = Path(path)
    arrays = _open(path)
    meta = _metadata(path, arrays)
    config = meta["network"]
    sizes = config.get("sizes")
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)
    ):
        raise ModelFileError(f"{path}: network sizes {sizes!r} are not a list of positive ints")
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path}: network dtype {dtype!r} must be float32 or float64")
    n_layers = len(sizes) - 1
    names = [f"{p}{i}" for i in range(1, n_layers + 1) for p in ("W", "b")]
    missing = [n for n in names if n not in arrays]
    if missing:
        raise ModelFileError(
            f"{path}: missing parameter array(s) {', '.join(missing)} for a network of sizes "
            f"{sizes}; the file is damaged or incomplete"
        )
    unexpected = sorted(set(arrays) - set(names) - {METADATA_KEY})
    if unexpected:
        raise ModelFileError(
            f"{path}: unexpected array(s) {', '.join(unexpected)} for a network of sizes {sizes}"
        )
    params = []
    for i in range(n_layers):
        for kind, shape in (("W", (sizes[i + 1], sizes[i])), ("b", (sizes[i + 1],))):
            name = f"{kind}{i + 1}"
            a = arrays[name]
            if a.shape != shape:
                raise ModelFileError(
                    f"{path}: array {name} has shape {a.shape}, expected {shape} for sizes {sizes}"
                )
            if a.dtype != np.dtype(dtype):
                raise ModelFileError(
                    f"{path}: array {name} has dtype {a.dtype}, expected {dtype}"
                )
            if not np.all(np.isfinite(a)):
                raise ModelFileError(f"{path}: array {name} holds NaN or infinite values")
            params.append(a)
    try:
        net = Network.from_config(config, params)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the network description is invalid ({exc})") from exc
    preprocessor = None
    if meta.get("preprocessor") is not None:
        from backprop.data import Preprocessor

        try:
            preprocessor = Preprocessor.from_dict(meta["preprocessor"])
        except ValueError as exc:
            raise ModelFileError(f"{path}: {exc}") from exc
        if preprocessor.n_features is not None and preprocessor.n_features != sizes[0]:
            raise ModelFileError(
                f"{path}: the preprocessor gives {preprocessor.n_features} features but the "
                f"network takes {sizes[0]} inputs"
            )
    class_names = meta.get("class_names")
    if class_names is not None and (
        not isinstance(class_names, list) or not all(isinstance(c, str) for c in class_names)
    ):
        raise ModelFileError(f"{path}: class_names must be a list of strings")
    net.preprocessor = preprocessor
    net.class_names = class_names
    net.metadata = meta
    return net
