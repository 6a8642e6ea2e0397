"""Checkpoints: everything needed to resume a training run, stored without pickle.

A checkpoint is an ``.npz`` archive (written atomically, like model files)
with

* ``param_0``, ``param_1``, ...: the network's current parameters
  (``Network.get_params``: with batch normalisation, its running averages too);
* ``state_<n>``: every array found in ``Trainer.state_dict()`` (the epoch's
  permutation, optimiser velocities or moments, the best weights so far);
* ``checkpoint``: a uint8 array of UTF-8 JSON bytes holding the rest of the
  state dict, where each array is replaced by ``{"__array__": "state_<n>"}``
  (so nested lists and dicts, the RNG state with its 128-bit integers and
  ``inf`` survive exactly), plus caller metadata under ``"meta"``.

``save_checkpoint(path, trainer, **meta)`` writes one;
``load_checkpoint(path)`` returns ``(params, state, meta)`` ready for
``net.set_params(params)`` and ``trainer.load_state_dict(state)``, after which
``trainer.fit`` continues the same run bit for bit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from backprop.errors import ModelFileError
from backprop.model.archive import read_npz
from backprop.model.modelfile import atomic_savez

FORMAT = "backprop-checkpoint"
VERSION = 1

__all__ = ["load_checkpoint", "save_checkpoint"]


def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        key = f"state_{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        if "__array__" in value or "__tuple__" in value:
            raise ValueError("state dict keys '__array__' and '__tuple__' are reserved")
        return {str(k): _encode(v, arrays) for k, v in value.items()}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")


def _decode(value: Any, arrays: dict[str, np.ndarray], path: Path) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            key = value["__array__"]
            if key not in arrays:
                raise ModelFileError(f"{path}: checkpoint array {key!r} is missing")
            return arrays[key]
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v, arrays, path) for v in value["__tuple__"])
        return {k: _decode(v, arrays, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays, path) for v in value]
    return value


def save_checkpoint(path: str | os.PathLike, trainer: Any, **meta: Any) -> Path:
    """Write the trainer's network parameters and state dict to ``path``.

    Parameters
    ----------
    path : str or PathLike
    trainer : backprop.engine.train.Trainer
    **meta
        JSON-able extras (e.g. the run's settings), returned by ``load_checkpoint``.
    """
    arrays: dict[str, np.ndarray] = {}
    state = _encode(trainer.state_dict(), arrays)
    params = trainer.net.get_params()  # with batch norm's running averages after the parameters
    for i, p in enumerate(params):
        arrays[f"param_{i}"] = p
    doc = {"format": FORMAT, "version": VERSION, "n_params": len(params),
           "state": state, "meta": meta}
    arrays["checkpoint"] = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    return atomic_savez(path, arrays)


def load_checkpoint(path: str | os.PathLike) -> tuple[list[np.ndarray], dict, dict]:
    """Read a checkpoint: ``(params, state, meta)``.

    Raises
    ------
    ModelFileError
        When the file is missing, unreadable, of another format or version, or
        incomplete.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"checkpoint {path} does not exist; an interrupted `backprop train` writes it "
            "into its run folder"
        )
    arrays = read_npz(path, "checkpoint", "checkpoint", kinds="biuf")
    if "checkpoint" not in arrays:
        hint = " (it is a model file)" if "metadata" in arrays else ""
        raise ModelFileError(f"{path} is not a backprop checkpoint{hint}: it has no "
                             "'checkpoint' entry")
    blob = arrays.pop("checkpoint")
    try:
        if blob.dtype != np.uint8 or blob.ndim != 1:
            raise ValueError(f"a {blob.dtype} array of shape {blob.shape}, not JSON bytes")
        doc = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: no readable checkpoint metadata ({exc})"[:300]) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a backprop checkpoint")
    if doc.get("version") != VERSION:
        raise ModelFileError(
            f"{path}: checkpoint version {str(doc.get('version'))[:20]!r} is not supported "
            f"(expected {VERSION}); start the run again"
        )
    n = doc.get("n_params")
    if not isinstance(n, int) or isinstance(n, bool) or not 0 < n <= len(arrays):
        raise ModelFileError(f"{path}: the checkpoint's parameter count {str(n)[:20]} is "
                             "invalid; the file is damaged")
    try:
        params = [arrays[f"param_{i}"] for i in range(n)]
    except KeyError as exc:
        raise ModelFileError(f"{path}: parameter array {exc} is missing") from None
    if not all(np.all(np.isfinite(p)) for p in params):
        raise ModelFileError(f"{path}: the checkpoint's parameters hold NaN or infinite values")
    meta = doc.get("meta", {})
    if "state" not in doc or not isinstance(meta, dict):
        raise ModelFileError(f"{path}: the checkpoint lacks its training state; it is damaged")
    try:
        state = _decode(doc["state"], arrays, path)
    except (RecursionError, TypeError, AttributeError) as exc:
        raise ModelFileError(f"{path}: the checkpoint's training state is malformed ({exc})"
                             [:300]) from None
    return params, state, meta
