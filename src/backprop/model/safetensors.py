"""Model files in the safetensors format, written and read without the ``safetensors`` package.

safetensors (Hugging Face) is the format the field made for loading weights
from strangers: an 8-byte little-endian header length ``N``, ``N`` bytes of
JSON naming each tensor's ``dtype``, ``shape`` and ``data_offsets`` into the
byte buffer that follows, and no code.  ``backprop export MODEL --safetensors
FILE`` writes one:

* tensors ``W1``, ``b1``, ``W2``, ``b2``, ... (``F32`` or ``F64``, row-major,
  ``W`` of shape (n_out, n_in) like ``torch.nn.Linear.weight``), and for an
  ensemble each further member's as ``m1.W1``, ``m1.b1``, ... (as in ``model.npz``);
* ``__metadata__``: ``{"backprop": "<the model file's JSON metadata>"}``, so
  ``backprop.load`` (and predict, evaluate, serve) read it like ``model.npz``.

A PyTorch user loads the weights with one call:
``safetensors.torch.load_file("model.safetensors")``.

:func:`load` checks, before reading any tensor: the header length against
``Limits.metadata_bytes`` and the file size, the JSON, each dtype (F32/F64),
that each tensor's byte count (shape × item size) equals its offsets' span,
that the spans tile the buffer exactly, and the total against
``Limits.total_bytes``.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np

from backprop.errors import ModelFileError
from backprop.fileio import atomic_open
from backprop.model.archive import Limits, limits
from backprop.model.model import Model

__all__ = ["load", "looks_like", "save"]

_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_CODES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64"}


def looks_like(path: Path) -> bool:
    """True when the file starts like a safetensors file (a header length, then ``{``)."""
    with path.open("rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{" and head[:2] != b"PK"


def save(model: Model, path: str | os.PathLike) -> Path:
    """Write ``model`` as a safetensors file at ``path`` (atomically)."""
    from backprop.model.modelfile import array_names, metadata_of

    model = model.folded()  # batch normalisation folded into W and b
    header: dict = {"__metadata__": {"backprop": json.dumps(metadata_of(model))}}
    chunks, offset = [], 0
    named = [(name, a) for i, net in enumerate(model.members)
             for name, a in zip(array_names(net, i), net.params())]
    for name, a in named:
        data = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _CODES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the buffer starts 8-byte aligned
    with atomic_open(path) as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in chunks:
            f.write(data)
    return Path(path)


def _header(path: Path, f, size: int, lim: Limits) -> tuple[dict, int]:
    (n,) = struct.unpack("<Q", f.read(8))
    if n > lim.metadata_bytes:
        raise ModelFileError(
            f"{path}: the safetensors header claims {n:,} bytes, over the limit of "
            f"{lim.metadata_bytes:,}; raise it with BACKPROP_MAX_METADATA_BYTES if genuine"
        )
    if 8 + n > size:
        raise ModelFileError(f"{path}: the safetensors header claims {n:,} bytes but the file "
                             f"has {size:,}; it is truncated")
    try:
        header = json.loads(f.read(n).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the safetensors header is not valid JSON ({exc})"[:300]) \
            from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: the safetensors header is not a JSON object")
    return header, 8 + n


def _spans(path: Path, header: dict, data_len: int, lim: Limits) -> dict:
    """name -> (dtype, shape, start, end), checked as the module docstring says."""
    spans = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(spec, dict) or spec.get("dtype") not in _DTYPES:
            dtype = spec.get("dtype") if isinstance(spec, dict) else spec
            raise ModelFileError(f"{path}: tensor {name[:40]!r} has dtype {str(dtype)[:20]!r}; "
                                 "backprop reads F32 and F64 only")
        shape, offsets = spec.get("shape"), spec.get("data_offsets")
        ints = (isinstance(shape, list) and isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                        for v in [*shape, *offsets]))
        if not ints:
            raise ModelFileError(f"{path}: tensor {name[:40]!r} has a malformed shape or offsets")
        count = 1
        for d in shape:
            count *= d
        nbytes = count * _DTYPES[spec["dtype"]].itemsize
        if nbytes > lim.array_bytes:
            raise ModelFileError(
                f"{path}: tensor {name[:40]!r} claims shape {tuple(shape)}, {nbytes:,} bytes, "
                f"over the limit of {lim.array_bytes:,}"
            )
        start, end = offsets
        if end - start != nbytes or end > data_len:
            raise ModelFileError(
                f"{path}: tensor {name[:40]!r} claims {nbytes:,} bytes at offsets {offsets}, "
                f"which do not fit the {data_len:,}-byte buffer; the file is damaged"
            )
        spans[name] = (_DTYPES[spec["dtype"]], tuple(shape), start, end)
    pos = 0
    for _, _, start, end in sorted(spans.values(), key=lambda s: s[2]):
        if start != pos:
            raise ModelFileError(f"{path}: the tensors' byte ranges overlap or leave gaps; the "
                                 "file is damaged")
        pos = end
    if pos != data_len:
        raise ModelFileError(f"{path}: {data_len - pos:,} bytes after the last tensor; the file "
                             "is damaged")
    return spans


def load(path: str | os.PathLike, lim: Limits | None = None) -> Model:
    """Read a safetensors model file written by :func:`save`; ModelFileError on anything else."""
    from backprop.model.modelfile import _decode_metadata, model_from_metadata

    path = Path(path)
    lim = limits() if lim is None else lim
    size = path.stat().st_size
    with path.open("rb") as f:
        header, start = _header(path, f, size, lim)
        data_len = size - start
        if data_len > lim.total_bytes:
            raise ModelFileError(f"{path}: {data_len:,} bytes of tensors, over the limit of "
                                 f"{lim.total_bytes:,}")
        spans = _spans(path, header, data_len, lim)
        extra = header.get("__metadata__")
        text = extra.get("backprop") if isinstance(extra, dict) else None
        if not isinstance(text, str):
            raise ModelFileError(
                f"{path} is a safetensors file without backprop's metadata (the network's "
                "layers and input scaling); export it with `backprop export --safetensors`"
            )
        meta = _decode_metadata(path, text.encode("utf-8"))
        arrays = {}
        for name, (dtype, shape, lo, hi) in spans.items():
            f.seek(start + lo)
            out = np.empty(shape, dtype=dtype)
            if f.readinto(memoryview(out).cast("B")) != hi - lo:
                raise ModelFileError(f"{path}: tensor {name!r} ends early; the file is truncated")
            arrays[name] = out.astype(out.dtype.newbyteorder("="), copy=False)
    return model_from_metadata(path, meta, arrays)
