"""A strict reader and writer for the IDX format of the MNIST family.

An IDX file is a 4-byte magic number followed by the dimensions and the data,
all big-endian::

    byte 0, 1   zero
    byte 2      type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte 3      number of dimensions, d >= 1
    d x uint32  the size of each dimension
    data        prod(sizes) items of the type, row-major (C order)

Files whose name ends in ``.gz`` or that start with the gzip magic bytes are
decompressed on the fly.  The reader checks every one of these rules and raises
:class:`backprop.errors.DataError` naming the file and the fault.

Memory: the reader allocates the output buffer once from the header and reads
the payload straight into it, so a ``uint8`` file costs one copy of its data
and a multi-byte type two (the big-endian buffer and its native-order copy).
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from backprop.errors import DataError
from backprop.fileio import atomic_open
from backprop.limits import RATIO_FLOOR, limit, over, size_words

__all__ = ["TYPE_CODES", "read_idx", "read_idx_header", "write_idx", "check_pair"]

#: IDX type code -> big-endian NumPy dtype as stored in the file.
TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # 1 MiB per read


def _is_gzip(path: Path) -> bool:
    if path.name.endswith(".gz"):
        return True
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def _open(path: Path) -> BinaryIO:
    if _is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _read_exact(f: BinaryIO, n: int, path: Path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DataError(
            f"{path}: truncated header: expected {n} bytes of {what}, found {len(data)}; "
            "the file is incomplete or not an IDX file, download or copy it again"
        )
    return data


def _parse_header(f: BinaryIO, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    magic = _read_exact(f, 4, path, "magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise DataError(
            f"{path}: wrong magic number 0x{magic.hex()}: an IDX file starts with two zero "
            "bytes; this is not an IDX file (check the file name and that it was not "
            "decompressed or renamed by mistake)"
        )
    code, ndim = magic[2], magic[3]
    if code not in TYPE_CODES:
        known = ", ".join(f"0x{c:02X}" for c in TYPE_CODES)
        raise DataError(
            f"{path}: unknown IDX type code 0x{code:02X}; the format defines {known}; "
            "the file is damaged or not an IDX file"
        )
    if ndim == 0:
        raise DataError(
            f"{path}: the IDX header declares 0 dimensions; an IDX file needs at least one"
        )
    dims_raw = _read_exact(f, 4 * ndim, path, f"{ndim} dimension sizes")
    shape = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
    return TYPE_CODES[code], shape


def read_idx_header(path: str | os.PathLike[str]) -> tuple[np.dtype, tuple[int, ...]]:
    """Read only the header of an IDX file.

    Parameters
    ----------
    path : str or PathLike
        The file, plain or gzip.

    Returns
    -------
    dtype : numpy.dtype
        The stored (big-endian) item type.
    shape : tuple of int
        The dimensions, e.g. ``(60000, 28, 28)``.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise DataError(f"{path}: not a regular file; give an IDX file (plain or .gz)")
    try:
        with _open(path) as f:
            return _parse_header(f, path)
    except (EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataError(f"{path}: cannot read the gzip stream ({exc}); the file is damaged, "
                        "download or copy it again") from exc


def _shape_words(shape: tuple[int, ...]) -> str:
    """The shape as text, shortened when it has many dimensions."""
    if len(shape) <= 6:
        return str(shape)
    return f"({', '.join(map(str, shape[:3]))}, ... {len(shape)} dimensions)"


def _checked_size(path: Path, dtype: np.dtype, shape: tuple[int, ...], gz: bool) -> int:
    """Bytes of data the header declares, after checking them against the limits and the file.

    Runs before anything is allocated: the declared size must be at most
    ``BACKPROP_MAX_DATA_BYTES``; a plain file must hold exactly the header and
    that many bytes; a gzip file declaring more than 16 MiB may expand at most
    ``BACKPROP_MAX_GZIP_RATIO`` times.
    """
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if nbytes > limit("BACKPROP_MAX_DATA_BYTES"):
        raise DataError(f"{path}: " + over(
            "BACKPROP_MAX_DATA_BYTES",
            f"the IDX header declares shape {_shape_words(shape)} of {dtype.name} =",
            nbytes))
    on_disk = path.stat().st_size
    if not gz:
        expected = 4 + 4 * len(shape) + nbytes
        if on_disk < expected:
            raise DataError(
                f"{path}: truncated data: the header declares shape {shape} of {dtype.name} = "
                f"{nbytes:,} bytes but the file holds only {on_disk - expected + nbytes:,}; "
                "the file is incomplete, download or copy it again"
            )
        if on_disk > expected:
            raise DataError(
                f"{path}: {on_disk - expected:,} trailing bytes after the {nbytes:,} data bytes "
                f"that the header's shape {shape} declares; the header or the file is wrong"
            )
    elif nbytes > RATIO_FLOOR and nbytes > limit("BACKPROP_MAX_GZIP_RATIO") * on_disk:
        raise DataError(
            f"{path}: {size_words(on_disk)} of gzip declare {size_words(nbytes)} of data, a "
            f"compression ratio of {nbytes / max(on_disk, 1):,.0f}, over the limit of "
            f"{limit('BACKPROP_MAX_GZIP_RATIO')} (a gzip bomb?); if the file is genuine, "
            "raise BACKPROP_MAX_GZIP_RATIO"
        )
    return nbytes


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file into a NumPy array in native byte order.

    The header is checked against the limits of :mod:`backprop.limits` and the
    file's size before the output is allocated (see :func:`_checked_size`), and
    never more than the declared bytes (plus one chunk, to detect trailing
    data) are decompressed, so a gzip bomb costs at most one chunk of work
    beyond what its header declares.

    Parameters
    ----------
    path : str or PathLike
        The file; gzip-compressed if its name ends in ``.gz`` or it starts with
        the gzip magic bytes.

    Returns
    -------
    numpy.ndarray
        Shape as declared in the header, e.g. ``(60000, 28, 28)`` uint8 for
        MNIST images or ``(60000,)`` uint8 for labels; writable.

    Raises
    ------
    DataError
        Wrong magic, unknown type code, truncated header, fewer or more data
        bytes than the dimensions declare, a declared size over the limits, a
        damaged/short gzip stream, or not a regular file.
    FileNotFoundError
        The file does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "IDX file not found", str(path))
    if not path.is_file():
        raise DataError(f"{path}: not a regular file; give an IDX file (plain or .gz)")
    try:
        gz = _is_gzip(path)
        with _open(path) as f:
            dtype, shape = _parse_header(f, path)
            nbytes = _checked_size(path, dtype, shape, gz)
            buf = np.empty(nbytes, dtype=np.uint8)
            view = memoryview(buf)
            got = 0
            while got < nbytes:
                n = f.readinto(view[got : got + min(_CHUNK, nbytes - got)])  # type: ignore[attr-defined]
                if not n:
                    break
                got += n
            if got != nbytes:
                raise DataError(
                    f"{path}: truncated data: the header declares shape {shape} of "
                    f"{dtype.name} = {nbytes:,} bytes but the file holds only {got:,}; "
                    "the file is incomplete, download or copy it again"
                )
            extra = len(f.read(_CHUNK))
            if extra:
                more = f"{extra:,}" if extra < _CHUNK else f"at least {extra:,}"
                raise DataError(
                    f"{path}: {more} trailing bytes after the {nbytes:,} data bytes that the "
                    f"header's shape {shape} declares; the header or the file is wrong"
                )
    except EOFError as exc:
        raise DataError(
            f"{path}: the gzip stream ends early ({exc}); the download was cut off, "
            "fetch or copy the file again"
        ) from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(
            f"{path}: damaged gzip stream ({exc}); fetch or copy the file again"
        ) from exc
    except PermissionError as exc:
        raise DataError(f"{path}: cannot read the file (permission denied)") from exc
    data = buf.view(dtype).reshape(shape)
    if dtype.byteorder == ">":
        data = data.astype(dtype.newbyteorder("="))
    return data


def _code_for(dtype: np.dtype) -> int:
    for code, stored in TYPE_CODES.items():
        if stored.kind == dtype.kind and stored.itemsize == dtype.itemsize:
            return code
    raise DataError(
        f"cannot write dtype {dtype} to IDX: the format holds uint8, int8, int16, int32, "
        "float32 and float64; convert the array with .astype() first"
    )


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write an array as an IDX file, gzip-compressed if the name ends in ``.gz``.

    The file is written to a temporary name in the same folder and renamed into
    place, so a reader never sees half a file.

    Parameters
    ----------
    path : str or PathLike
        Destination.
    array : numpy.ndarray
        Any shape with 1 to 255 dimensions, each below 2**32; dtype uint8, int8,
        int16, int32, float32 or float64.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    array = np.asarray(array)
    if not 1 <= array.ndim <= 255:
        raise DataError(f"{path}: IDX needs 1 to 255 dimensions, the array has {array.ndim}")
    if any(d >= 2**32 for d in array.shape):
        raise DataError(f"{path}: dimension sizes {array.shape} do not fit in 32 bits")
    code = _code_for(array.dtype)
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=TYPE_CODES[code])
    with atomic_open(path) as raw:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                gz.write(header)
                gz.write(payload.tobytes())
        else:
            raw.write(header)
            raw.write(payload.tobytes())
    return path


def check_pair(
    images: np.ndarray,
    labels: np.ndarray,
    images_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str],
    n_classes: int | None = None,
) -> None:
    """Check that an image file and a label file belong together.

    Parameters
    ----------
    images : numpy.ndarray, shape (N, ...)
    labels : numpy.ndarray, shape (N,)
        Integer class indices.
    images_path, labels_path : str or PathLike
        Named in the error messages.
    n_classes : int, optional
        When given, every label must lie in ``[0, n_classes)``.

    Raises
    ------
    DataError
        Labels not 1-D integers, counts differ, or a label out of range.
    """
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(
            f"{labels_path}: a label file must hold one integer per item, found shape "
            f"{labels.shape} of {labels.dtype}; check that images and labels are not swapped"
        )
    if images.ndim < 1 or images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{images_path} holds {images.shape[0] if images.ndim else 0} items but "
            f"{labels_path} holds {labels.shape[0]} labels; the two files do not belong "
            "together, use the matching pair"
        )
    if n_classes is not None and labels.size:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise DataError(
                f"{labels_path}: label {bad} is outside the {n_classes} classes "
                f"0..{n_classes - 1}; the label file is damaged or belongs to another data set"
            )
