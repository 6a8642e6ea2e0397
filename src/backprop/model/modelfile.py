"""Model files: the network's arrays plus JSON metadata, never a pickle.

A model file is an uncompressed NumPy ``.npz`` archive holding

* ``W1``, ``b1``, ``W2``, ``b2``, ...: the parameter arrays (float32 or
  float64, the network's dtype), ``W`` of shape (n_out, n_in), ``b`` (n_out,);
* for an ensemble of ``k`` networks, member ``i`` (1 to k-1) as
  ``mi.W1``, ``mi.b1``, ... (e.g. ``m1.W2``), shaped exactly like member 0's;
* ``metadata``: a uint8 array, the UTF-8 bytes of one JSON object::

      {"format": "backprop-model", "version": 1,
       "members": 1,
       "network": {...Network.config()...},
       "preprocessor": {...Preprocessor.to_dict()...} or null,
       "image": {...ImageSteps.to_dict()...} or null,
       "class_names": ["0", ..., "9"],
       "train_config": {...TrainConfig fields...} or null,
       "backprop_version": "0.1.0", "numpy_version": "2.4.6",
       "extra": {...any other JSON metadata given to save()...}}

One network is written as version 1 (readable by every backprop), an
ensemble (``"members"`` > 1, at most ``BACKPROP_MAX_ENSEMBLE``) as version 2,
which older backprops refuse by its version; files without ``"members"`` hold one.

``load`` reads it through :func:`backprop.model.archive.read_npz` (bounded:
member count, sizes, compression ratio, ``.npy`` headers, no pickles) and
returns a :class:`backprop.model.model.Model`.  It refuses, with a
``ModelFileError`` naming the file, the problem and the fix: a missing or
unreadable file, an unknown format or version, metadata without the keys it
needs, missing or unexpected arrays, wrong shapes or dtypes, non-finite
weights or input statistics, and class names that do not match the outputs.
Files written before ``"image"`` existed load with MNIST-style image steps
when their input is a square image, as ``predict`` treated them then.

``save`` writes a temporary file in the same folder and renames it over the
target (``os.replace``), so a crash never leaves half a model file.  A
``.safetensors`` file (:mod:`backprop.model.safetensors`) loads the same way.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from backprop.data.images import ImageSteps
from backprop.data.preprocess import Preprocessor
from backprop.engine.network import Network
from backprop.errors import BackpropError, ModelFileError
from backprop.fileio import atomic_open
from backprop.model.archive import read_npz
from backprop.model.model import MAX_ARRAYS, Model

FORMAT = "backprop-model"
#: The newest version written: 2 for an ensemble (a single network is written as version 1).
VERSION = 2
#: The versions ``load`` reads.
VERSIONS = (1, 2)
METADATA_KEY = "metadata"
#: Keys ``metadata["network"]`` must have (the rest take Network's defaults).
NETWORK_KEYS = ("sizes", "activation", "output")

__all__ = ["FORMAT", "VERSION", "VERSIONS", "array_names", "load", "read_metadata", "save",
           "atomic_savez", "jsonable", "metadata_of", "model_from_metadata"]


def jsonable(value: Any, what: str) -> Any:
    """``value`` as plain JSON data (numpy scalars and arrays, paths converted)."""

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
    """Write ``arrays`` to ``path`` as an uncompressed .npz, atomically (see fileio)."""
    with atomic_open(path) as f:
        np.savez(f, **arrays)
    return Path(path)


def metadata_of(model: Model, **extra: Any) -> dict:
    """The JSON metadata dict of a model (``extra`` merged over its recorded extras)."""
    from backprop import __version__

    old = model.metadata
    return {
        "format": FORMAT,
        "version": 1 if model.n_members == 1 else VERSION,
        "members": model.n_members,
        "network": model.network.config(),
        "preprocessor": None if model.preprocessor is None else model.preprocessor.to_dict(),
        "image": None if model.image is None else model.image.to_dict(),
        "class_names": list(model.class_names),
        "train_config": jsonable(old.get("train_config"), "train_config"),
        "backprop_version": __version__,
        "numpy_version": np.__version__,
        "extra": jsonable({**(old.get("extra") or {}), **extra}, "extra"),
    }


def save(model: Model | Network, path: str | os.PathLike, preprocessor: Any = None,
         class_names: list[str] | None = None, train_config: Any = None,
         image: ImageSteps | dict | None = None, members: list[Network] | None = None,
         **extra: Any) -> Path:
    """Write a model file at ``path`` (atomically; see the module docstring).

    Parameters
    ----------
    model : Model or Network
        A bare network is wrapped with ``preprocessor``, ``class_names``,
        ``train_config``, ``image`` and ``members`` (an ensemble, ``members[0]
        is model``; for a Model these must be left out).
    path : str or PathLike
        Target file; ``.npz`` is the usual suffix.
    **extra
        Any other JSON-able metadata (e.g. ``test_accuracy=0.97``), stored
        under ``"extra"`` and merged over the model's recorded extras.

    Returns
    -------
    pathlib.Path
    """
    if isinstance(model, Network):
        if isinstance(image, dict):
            image = ImageSteps.from_dict(image)
        if isinstance(preprocessor, dict):
            preprocessor = Preprocessor.from_dict(preprocessor)
        if train_config is not None and not isinstance(train_config, dict):
            train_config = train_config.to_dict()  # a TrainConfig
        model = Model(model, preprocessor, class_names or [], image,
                      {"train_config": jsonable(train_config, "train_config")}, members or [])
    elif any(v is not None for v in (preprocessor, class_names, train_config, image, members)):
        raise TypeError("save(model, path): a Model carries its own preprocessor, class names, "
                        "settings and image steps; pass only extra facts as keywords")
    model = model.folded()  # batch normalisation folded into W and b: a plain network
    meta = metadata_of(model, **extra)
    arrays = {name: a for i, net in enumerate(model.members)
              for name, a in zip(array_names(net, i), net.params())}
    arrays[METADATA_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    return atomic_savez(path, arrays)


def array_names(net: Network, member: int = 0) -> list[str]:
    """The file's names of a member's parameters: ``W1, b1, ...``, or ``m2.W1, m2.b1, ...``."""
    prefix = f"m{member}." if member else ""
    return [prefix + name for name in net.param_names()]


def _check_path(path: Path) -> None:
    if not path.exists():
        raise ModelFileError(
            f"model file {path} does not exist; give the model.npz of a run folder "
            "(train one with `backprop train`)"
        )
    if path.is_dir():
        hint = path / "model.npz"
        extra = f" (did you mean {hint}?)" if hint.is_file() else ""
        raise ModelFileError(f"{path} is a folder, not a model file{extra}")


def _open(path: Path) -> dict[str, np.ndarray]:
    with path.open("rb") as f:
        magic = f.read(4)
    if magic == b"\x93NUM":
        raise ModelFileError(f"{path} is a single .npy array, not a backprop model file (.npz)")
    if magic != b"PK\x03\x04":  # every .npz is a zip archive
        raise ModelFileError(
            f"{path} is not a model file: a backprop model is a .npz archive (like the "
            "model.npz of a run folder), and this file is something else"
        )
    arrays = read_npz(path, "model file", METADATA_KEY, kinds="fu")
    if METADATA_KEY not in arrays and "checkpoint" in arrays:
        raise ModelFileError(
            f"{path} is a training checkpoint, not a model file; resume the run with "
            "`backprop train --resume RUN_DIR`, which writes model.npz when it finishes"
        )
    return arrays


def _decode_metadata(path: Path, blob: np.ndarray | bytes) -> dict:
    if isinstance(blob, np.ndarray):
        if blob.dtype != np.uint8 or blob.ndim != 1:
            raise ModelFileError(
                f"{path}: metadata must be a 1-D uint8 array of JSON bytes, found "
                f"{blob.dtype} {blob.shape}"
            )
        blob = blob.tobytes()
    try:
        meta = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the metadata is not valid JSON ({exc})"[:300]) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ModelFileError(
            f"{path}: metadata format is {str(found)[:40]!r}, expected {FORMAT!r}; this is "
            "not a backprop model file"
        )
    version = meta.get("version")
    if isinstance(version, bool) or version not in VERSIONS:
        raise ModelFileError(
            f"{path}: model file version {str(version)[:20]} is not supported (this "
            f"backprop reads versions {' and '.join(map(str, VERSIONS))}); use the backprop "
            "version that wrote it, or retrain"
        )
    network = meta.get("network")
    missing = [k for k in NETWORK_KEYS if not isinstance(network, dict) or k not in network]
    if missing:
        raise ModelFileError(
            f"{path}: the metadata's network description lacks {', '.join(missing)}; the "
            "file is damaged or was not written by backprop"
        )
    for key in ("train_config", "extra", "preprocessor", "image"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            raise ModelFileError(f"{path}: metadata {key!r} must be an object or null")
    return meta


def _metadata(path: Path, arrays: dict[str, np.ndarray]) -> dict:
    if METADATA_KEY not in arrays:
        raise ModelFileError(
            f"{path} has no {METADATA_KEY!r} entry, so it is not a backprop model file "
            "(save models with model.save(path) or `backprop train`)"
        )
    return _decode_metadata(path, arrays.pop(METADATA_KEY))


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata dict of a model file, validated like ``load`` does."""
    path = Path(path)
    _check_path(path)
    return _metadata(path, _open(path))


def _member_count(path: Path, meta: dict) -> int:
    """The number of networks the metadata declares (1 when it says nothing), checked."""
    from backprop.limits import limit

    k = meta.get("members", 1)
    most = limit("BACKPROP_MAX_ENSEMBLE")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ModelFileError(
            f"{path}: the metadata's \"members\" is {str(k)[:30]!r}, not a whole number of "
            "networks (1 or more); the file is damaged or was not written by backprop"
        )
    if k > most:
        raise ModelFileError(
            f"{path}: the metadata declares an ensemble of {k:,} networks, over the limit of "
            f"{most}; if the file is genuine, raise BACKPROP_MAX_ENSEMBLE"
        )
    return k


def _networks(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> list[Network]:
    """Every network of the file, member 0 first (arrays checked against the metadata)."""
    k = _member_count(path, meta)
    config = meta["network"]
    sizes = config.get("sizes")
    if (not isinstance(sizes, list) or len(sizes) < 2 or not all(
            isinstance(s, int) and not isinstance(s, bool) and 0 < s < 2**31 for s in sizes)):
        raise ModelFileError(f"{path}: network sizes {str(sizes)[:80]} are not a list of "
                             "positive ints")
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path}: network dtype {str(dtype)[:20]!r} must be float32 or "
                             "float64")
    n_layers = len(sizes) - 1
    if 2 * k * n_layers > MAX_ARRAYS:
        raise ModelFileError(f"{path}: {k} network(s) of {n_layers:,} layers would need "
                             f"{2 * k * n_layers:,} arrays, over the limit of {MAX_ARRAYS:,}")
    prefixes = [""] + [f"m{i}." for i in range(1, k)]
    names = [f"{pre}{p}{i}" for pre in prefixes for i in range(1, n_layers + 1)
             for p in ("W", "b")]
    what = f"a network of sizes {sizes}" if k == 1 else \
        f"an ensemble of {k} networks of sizes {sizes}"
    missing = [n for n in names if n not in arrays]
    if missing:
        raise ModelFileError(
            f"{path}: missing parameter array(s) {', '.join(missing[:6])} for {what}; the "
            "file is damaged or incomplete"
        )
    unexpected = sorted(set(arrays) - set(names) - {METADATA_KEY})
    if unexpected:
        raise ModelFileError(
            f"{path}: unexpected array(s) {', '.join(unexpected[:6])} for {what} (the "
            "metadata's \"members\" says how many networks the file holds); the file is damaged"
        )
    nets = []
    for pre in prefixes:
        params = [_array(path, arrays, f"{pre}{kind}{i + 1}", shape, dtype, sizes)
                  for i in range(n_layers)
                  for kind, shape in (("W", (sizes[i + 1], sizes[i])), ("b", (sizes[i + 1],)))]
        try:
            nets.append(Network.from_config(config, params))
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise ModelFileError(
                f"{path}: the network description is invalid ({exc})"[:300]) from None
    return nets


def _array(path: Path, arrays: dict, name: str, shape: tuple, dtype: str,
           sizes: list[int]) -> np.ndarray:
    """``arrays[name]`` after checking its shape, dtype and finiteness."""
    a = arrays[name]
    if a.shape != shape:
        raise ModelFileError(
            f"{path}: array {name} has shape {a.shape}, expected {shape} for sizes {sizes}"
        )
    if a.dtype != np.dtype(dtype):
        raise ModelFileError(f"{path}: array {name} has dtype {a.dtype}, expected {dtype}")
    if not np.all(np.isfinite(a)):
        raise ModelFileError(f"{path}: array {name} holds NaN or infinite values; the "
                             "model is damaged (retrain it)")
    return a


def _preprocessor(path: Path, d: dict | None) -> Preprocessor | None:
    if d is None:
        return None
    try:
        pre = Preprocessor.from_dict(d)
    except (BackpropError, ValueError, TypeError, OverflowError) as exc:
        raise ModelFileError(f"{path}: the stored input scaling is invalid ({exc})"[:300]) from None
    good_max = pre.max_value is None or (math.isfinite(pre.max_value) and pre.max_value > 0)
    good_mean = pre.mean is None or bool(np.all(np.isfinite(pre.mean)))
    good_std = pre.std is None or bool(np.all(np.isfinite(pre.std)) and np.all(pre.std > 0))
    if not (good_max and good_mean and good_std):
        raise ModelFileError(
            f"{path}: the stored input statistics hold NaN, infinite, zero or negative "
            "values; the model file is damaged (retrain it)"
        )
    return pre


def model_from_metadata(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> Model:
    """A Model from validated metadata and parameter arrays (ModelFileError naming ``path``)."""
    nets = _networks(path, meta, arrays)
    net = nets[0]
    pre = _preprocessor(path, meta.get("preprocessor"))
    names = meta.get("class_names")
    if names is not None and (not isinstance(names, list)
                              or not all(isinstance(c, str) for c in names)):
        raise ModelFileError(f"{path}: class_names must be a list of strings")
    try:
        image = _image_steps(meta, net, pre)
        return Model(net, pre, names or [], image, meta, nets)
    except (BackpropError, ValueError) as exc:
        raise ModelFileError(f"{path}: {exc}"[:400]) from None


def _image_steps(meta: dict, net: Network, pre: Preprocessor | None) -> ImageSteps | None:
    if "image" in meta:
        return None if meta["image"] is None else ImageSteps.from_dict(meta["image"])
    # written before "image" existed: predict used MNIST-style steps on square inputs
    shape = None if pre is None else pre.input_shape
    if shape is None:
        shape = (meta.get("extra") or {}).get("image_shape")
    n = net.sizes[0]
    if shape is None and math.isqrt(n) ** 2 == n:
        shape = (math.isqrt(n),) * 2
    if shape is None or len(shape) != 2 or shape[0] != shape[1]:
        return None
    return ImageSteps("mnist", tuple(shape))


def load(path: str | os.PathLike) -> Model:
    """Read a model file (``.npz``, or ``.safetensors``); return a :class:`Model`.

    Raises
    ------
    ModelFileError
        For anything but a well-formed model file of a known version.
    """
    path = Path(path)
    _check_path(path)
    from backprop.model import safetensors

    if safetensors.looks_like(path):
        return safetensors.load(path)
    arrays = _open(path)
    meta = _metadata(path, arrays)
    return model_from_metadata(path, meta, arrays)
