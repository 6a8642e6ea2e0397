"""Building blocks of the model-file, image and server cases: a real model, and ways to spoil it."""

from __future__ import annotations

import functools
import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np


@functools.lru_cache(maxsize=1)
def _base() -> tuple[dict, dict]:
    """(arrays, metadata) of a small 784-16-10 model fitted one epoch on the bundled sample."""
    import backprop
    from backprop.data import Preprocessor, load_dataset
    from backprop.model.model import Model, image_steps_for
    from backprop.model.modelfile import metadata_of

    ds = load_dataset("mnist-sample")
    pre = Preprocessor("unit").fit(ds.X_train)
    net = backprop.Network([784, 16, 10], activation="relu", seed=0)
    backprop.fit(net, pre.transform(ds.X_train), ds.y_train, epochs=1, lr=0.1, batch_size=64)
    model = Model(net, pre, ds.class_names, image_steps_for(ds),
                  {"train_config": {"dataset": "mnist-sample"}})
    arrays = dict(zip(net.param_names(), net.params()))
    return arrays, metadata_of(model)


def parts() -> tuple[dict, dict]:
    """Fresh copies of the good model's arrays and metadata, to spoil."""
    arrays, meta = _base()
    return {k: v.copy() for k, v in arrays.items()}, json.loads(json.dumps(meta))


def blob(meta) -> np.ndarray:
    text = meta if isinstance(meta, (bytes, str)) else json.dumps(meta)
    return np.frombuffer(text.encode() if isinstance(text, str) else text, dtype=np.uint8)


def npz_bytes(arrays: dict, meta=None) -> bytes:
    """An .npz (as np.savez writes it) of ``arrays`` plus ``meta`` as the metadata member."""
    buf = io.BytesIO()
    full = dict(arrays)
    if meta is not None:
        full["metadata"] = blob(meta)
    np.savez(buf, **full)
    return buf.getvalue()


def good_model() -> bytes:
    arrays, meta = parts()
    return npz_bytes(arrays, meta)


def npy_header(shape: tuple, dtype: str = "<f4", fortran: bool = False) -> bytes:
    """A version 1.0 .npy header (magic, length, dict) declaring ``shape`` of ``dtype``."""
    d = f"{{'descr': '{dtype}', 'fortran_order': {fortran}, 'shape': {tuple(shape)!r}, }}"
    pad = 64 - (10 + len(d) + 1) % 64
    text = (d + " " * pad + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def members_of_good() -> dict[str, bytes]:
    """The good model's zip members, by name."""
    with zipfile.ZipFile(io.BytesIO(good_model())) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def zip_bomb(path: Path, inflated: int = 256 * 2**20) -> Path:
    """The good model plus a deflated member of ``inflated`` zero bytes (a few hundred kB)."""
    members = members_of_good()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        with zf.open("W9.npy", "w", force_zip64=True) as f:
            f.write(npy_header((inflated // 4,)))
            chunk = bytes(2**20)
            for _ in range(inflated // 2**20):
                f.write(chunk)
    return path


def safetensors_bytes(header: dict, data: bytes = b"", length: int | None = None) -> bytes:
    text = json.dumps(header).encode()
    n = len(text) if length is None else length
    return struct.pack("<Q", n) + text + data


def png_bytes(img: np.ndarray, **kw) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img, **kw).save(buf, format="PNG")
    return buf.getvalue()


def digit(i: int = 0, side: int = 84) -> np.ndarray:
    """Test digit ``i`` of the bundled sample, black on white, ``side`` pixels square (uint8)."""
    from PIL import Image

    from backprop.data import load_dataset

    x = load_dataset("mnist-sample").X_test[i]
    return 255 - np.asarray(Image.fromarray(x).resize((side, side), Image.Resampling.BILINEAR))


def huge_png(width: int = 12000, height: int = 12000) -> bytes:
    """A valid greyscale PNG of width × height white pixels, written row by row (about 50 kB)."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    comp = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * width
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n"
       b"newpath 4 4 moveto 24 24 lineto stroke showpage\n%%EOF\n")
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><path d="M4 4L24 24"/></svg>'


def spoiled(edit_meta=None, edit_arrays=None, make=None) -> bytes:
    """A model file from ``make()`` (default :func:`parts`) with its metadata and arrays edited."""
    arrays, meta = (make or parts)()
    if edit_meta is not None:
        edit_meta(meta)
    if edit_arrays is not None:
        edit_arrays(arrays)
    return npz_bytes(arrays, meta)


def predict_refuses(case, data: bytes, *mention, name="model.npz", env=None):
    """``backprop predict`` on the model file ``data`` is refused, naming it and ``mention``."""
    case.write(name, data)
    case.write("digit.png", png_bytes(np.full((28, 28), 255, np.uint8)))
    r = case.run(["predict", name, "digit.png"], env=env)
    case.assert_refused(r, must_mention=[name, *mention])
    return r


def assert_safetensors_round_trip(case, model: bytes) -> None:
    """``model`` (npz bytes) exports to safetensors, and both files predict a seven alike."""
    case.write("model.npz", model)
    case.write("seven.png", png_bytes(digit(0)))
    r = case.run(["export", "model.npz", "--safetensors", "model.safetensors"])
    assert r.rc == 0, r
    a = case.run(["predict", "model.npz", "seven.png", "--json"])
    b = case.run(["predict", "model.safetensors", "seven.png", "--json"])
    assert a.rc == b.rc == 0 and json.loads(a.stdout)[0]["top"] == json.loads(b.stdout)[0]["top"]
    case.assert_harmless(allow=("model.safetensors",))


def safetensors_parts(arrays: dict, meta: dict) -> tuple[dict, bytes]:
    """A safetensors header and data of ``arrays`` (as float32) with backprop's metadata."""
    header, data = {"__metadata__": {"backprop": json.dumps(meta)}}, b""
    for name, a in arrays.items():
        raw = a.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return header, data

