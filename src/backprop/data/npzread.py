"""Read a data ``.npz`` through the bounded zip reader that model files use.

The checks (zip directory, member sizes, compression ratio, ``.npy`` headers,
no pickles) are those of :func:`backprop.model.archive.read_npz`; here they run
with the data limits (``BACKPROP_MAX_DATA_BYTES``, ``BACKPROP_MAX_GZIP_RATIO``)
and their failures are :class:`backprop.errors.DataError`.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import numpy as np

from backprop.errors import BackpropError, DataError
from backprop.limits import limit, over

__all__ = ["read_data_npz"]

#: Members a data .npz may hold (X, y, X_test, y_test, class_names and a few more).
MAX_MEMBERS = 16


def read_data_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of a data ``.npz``, keyed by name; numbers and strings only, never objects."""
    try:
        from backprop.model import archive
    except ImportError:
        return _fallback(path)
    data_max = limit("BACKPROP_MAX_DATA_BYTES")
    lim = archive.Limits(members=MAX_MEMBERS, array_bytes=data_max, total_bytes=2 * data_max,
                         metadata_bytes=data_max, ratio=float(limit("BACKPROP_MAX_GZIP_RATIO")))
    try:
        return archive.read_npz(path, what="data file", metadata="class_names", kinds="biufUS",
                                lim=lim)
    except BackpropError as exc:
        msg = str(exc).replace("BACKPROP_MAX_MODEL_BYTES", "BACKPROP_MAX_DATA_BYTES")
        msg = msg.replace("BACKPROP_MAX_METADATA_BYTES", "BACKPROP_MAX_DATA_BYTES")
        raise DataError(msg) from None


def _fallback(path: Path) -> dict[str, np.ndarray]:
    """Directory checks, then ``np.load`` without pickle (until the archive reader lands)."""
    data_max = limit("BACKPROP_MAX_DATA_BYTES")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise DataError(f"{path}: {len(infos):,} members, over the limit of {MAX_MEMBERS}")
            for info in infos:
                if info.file_size > data_max:
                    raise DataError(f"{path}: member {info.filename!r} " + over(
                        "BACKPROP_MAX_DATA_BYTES", "declares", info.file_size))
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > 2**24 and ratio > limit("BACKPROP_MAX_GZIP_RATIO"):
                    raise DataError(f"{path}: member {info.filename!r} has compression ratio "
                                    f"{ratio:,.0f} (a zip bomb?)")
                if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\.npy", info.filename):
                    raise DataError(f"{path}: member {info.filename[:80]!r} is not an array name "
                                    "like X.npy; this is not a data .npz")
                with zf.open(info) as m:
                    version = np.lib.format.read_magic(m)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read(m)
                    if dtype.hasobject:
                        raise DataError(f"{path}: array {info.filename[:-4]!r} holds Python "
                                        "objects (a pickle), which backprop never unpickles")
                    nbytes = math.prod(shape) * dtype.itemsize
                    if m.tell() + nbytes != info.file_size:
                        raise DataError(f"{path}: array {info.filename[:-4]!r} claims shape "
                                        f"{shape} but its member holds {info.file_size:,} bytes")
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure of a foreign file is a sentence
        msg = " ".join(str(exc).split())[:200]
        raise DataError(f"{path}: not a readable .npz data file ({msg})") from None
