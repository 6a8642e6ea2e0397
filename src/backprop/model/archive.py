"""A bounded reader of ``.npz`` archives (model files and checkpoints), never a pickle.

``np.load`` believes what a file declares: a zip directory of millions of
entries, a member that inflates to gigabytes, an ``.npy`` header claiming a
tebibyte.  :func:`read_npz` checks all of that against :class:`Limits` and
against the file's own size *before* allocating anything:

1. the zip's end record: the member count, at most ``Limits.members``;
2. the directory: member names (``NAME.npy``, no folders), no duplicates, no
   encryption, stored or deflated only, each declared size at most
   ``Limits.array_bytes`` (``Limits.metadata_bytes`` for the metadata), all
   together at most ``Limits.total_bytes``, and a compression ratio of at most
   ``Limits.ratio`` (zip bombs reach thousands);
3. each ``.npy`` header: a plain numeric dtype of the kinds allowed (never an
   object array), a shape whose byte count is within the limits and equal to
   what the member holds.

Only then is each array read, into one buffer of exactly that size.  Every
refusal is a :class:`backprop.errors.ModelFileError` naming the file, the
number and the limit.  The limits can be raised with environment variables
(``BACKPROP_MAX_MODEL_BYTES``, ``BACKPROP_MAX_METADATA_BYTES``) or by
passing a :class:`Limits`; docs/model-files.md lists them.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backprop.errors import ModelFileError

__all__ = ["Limits", "limits", "read_npz"]

GiB, MiB = 2**30, 2**20


@dataclass(frozen=True)
class Limits:
    """Largest model file contents accepted (see the module docstring)."""

    members: int = 1024
    array_bytes: int = 4 * GiB
    total_bytes: int = 4 * GiB
    metadata_bytes: int = 64 * MiB
    ratio: float = 50.0


def limits() -> Limits:
    """The default :class:`Limits`, with ``BACKPROP_MAX_MODEL_BYTES`` and
    ``BACKPROP_MAX_METADATA_BYTES`` applied (see :mod:`backprop.limits`)."""
    from backprop.limits import limit

    total = limit("BACKPROP_MAX_MODEL_BYTES")
    return Limits(array_bytes=total, total_bytes=total,
                  metadata_bytes=limit("BACKPROP_MAX_METADATA_BYTES"))


def _size(n: int) -> str:
    """Bytes in words: '1,610,612,736 bytes (1.5 GiB)'."""
    for unit, factor in (("TiB", 2**40), ("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= factor:
            return f"{n:,} bytes ({n / factor:.3g} {unit})"
    return f"{n:,} bytes"


_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\.npy")


def _member_count(path: Path, size: int, what: str) -> int:
    """The entry count of the zip's end-of-central-directory record (zip64 too)."""
    with path.open("rb") as f:
        tail_len = min(size, 22 + 65535)
        f.seek(size - tail_len)
        tail = f.read(tail_len)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            raise ModelFileError(
                f"{path} is not a readable {what}: its zip directory is missing (the file may "
                "be truncated)"
            )
        count = struct.unpack_from("<H", tail, at + 10)[0]
        locator = at - 20
        if count == 0xFFFF and locator >= 0 and tail[locator:locator + 4] == b"PK\x06\x07":
            offset = struct.unpack_from("<Q", tail, locator + 8)[0]
            if offset + 56 > size:
                raise ModelFileError(f"{path}: the zip64 directory lies outside the file")
            f.seek(offset)
            record = f.read(56)
            if record[:4] != b"PK\x06\x06":
                raise ModelFileError(f"{path}: the zip64 directory record is damaged")
            count = struct.unpack_from("<Q", record, 32)[0]
    return count


def _check_directory(path: Path, infos: list, lim: Limits, metadata: str, what: str) -> None:
    file_size = path.stat().st_size
    seen: set[str] = set()
    total = packed = 0
    for info in infos:
        name = info.filename
        if not _NAME.fullmatch(name):
            raise ModelFileError(
                f"{path}: member {name[:80]!r} is not an array name like W1.npy; this is not a "
                f"backprop {what}"
            )
        if name in seen:
            raise ModelFileError(f"{path}: member {name!r} appears twice; the file is damaged")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise ModelFileError(f"{path}: member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(
                f"{path}: member {name!r} uses zip compression method {info.compress_type}; "
                "backprop reads stored or deflated members only"
            )
        limit = lim.metadata_bytes if name == metadata + ".npy" else lim.array_bytes
        if info.file_size > limit:
            raise ModelFileError(
                f"{path}: member {name!r} declares {_size(info.file_size)}, over the limit of "
                f"{_size(limit)}" + _raise_hint(name == metadata + ".npy")
            )
        if info.compress_size > file_size:
            raise ModelFileError(
                f"{path}: member {name!r} declares {_size(info.compress_size)} of data in a "
                f"file of {_size(file_size)}; the file is damaged"
            )
        total += info.file_size
        packed += info.compress_size
    if total > lim.total_bytes:
        raise ModelFileError(
            f"{path}: its arrays declare {_size(total)} in all, over the limit of "
            f"{_size(lim.total_bytes)}" + _raise_hint(False)
        )
    if total > MiB and total > lim.ratio * max(packed, 1):
        raise ModelFileError(
            f"{path}: {_size(packed)} of zip data declare {_size(total)}, a compression "
            f"ratio of {total / max(packed, 1):,.0f}, over the limit of {lim.ratio:g} (a zip "
            "bomb, or not a backprop file)"
        )


def _raise_hint(metadata: bool) -> str:
    var = "BACKPROP_MAX_METADATA_BYTES" if metadata else "BACKPROP_MAX_MODEL_BYTES"
    return f"; if the file is genuine, raise the limit with {var}"


def _read_member(zf: zipfile.ZipFile, info, path: Path, lim: Limits, kinds: str) -> np.ndarray:
    name = info.filename
    key = name[:-4]
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"npy format version {version} is not supported")
        except ValueError as exc:
            if "object" in str(exc).lower() or "pickle" in str(exc).lower():
                raise ModelFileError(
                    f"{path}: array {key!r} holds Python objects, which backprop never "
                    "unpickles; this is not a backprop file"
                ) from None
            raise ModelFileError(f"{path}: array {key!r} has a damaged header ({exc})") from None
        if dtype.hasobject:
            raise ModelFileError(
                f"{path}: array {key!r} holds Python objects, which backprop never unpickles; "
                "this is not a backprop file"
            )
        if dtype.names is not None or dtype.subdtype is not None or dtype.kind not in kinds:
            raise ModelFileError(
                f"{path}: array {key!r} has dtype {dtype}, which a backprop file never holds"
            )
        count = 1
        for d in shape:
            count *= int(d)
        nbytes = count * dtype.itemsize
        header = f.tell()
        if nbytes > lim.array_bytes:
            raise ModelFileError(
                f"{path}: array {key!r} claims shape {tuple(shape)} of {dtype}, "
                f"{_size(nbytes)}, over the limit of {_size(lim.array_bytes)}"
                + _raise_hint(False)
            )
        if header + nbytes != info.file_size:
            raise ModelFileError(
                f"{path}: array {key!r} claims shape {tuple(shape)} of {dtype} "
                f"({_size(nbytes)}) but its member holds {_size(info.file_size - header)} of "
                "data; the file is damaged"
            )
        out = np.empty(count, dtype=dtype)
        view = memoryview(out).cast("B")
        done = 0
        while done < nbytes:
            n = f.readinto(view[done:])
            if not n:
                raise ModelFileError(f"{path}: array {key!r} ends early; the file is truncated")
            done += n
        f.read(1)  # reach the end, so zipfile checks the member's CRC
    return out.reshape(shape, order="F" if fortran else "C")


def read_npz(path: str | os.PathLike, what: str = "model file", metadata: str = "metadata",
             kinds: str = "fu", lim: Limits | None = None) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, after the checks of the module docstring.

    Parameters
    ----------
    path : str or PathLike
    what : str
        What the file should be, for messages ("model file", "checkpoint").
    metadata : str
        The member holding JSON bytes, bound by ``Limits.metadata_bytes``.
    kinds : str
        Allowed NumPy dtype kinds (``"fu"``: floats and unsigned ints).
    lim : Limits, optional
        Default :func:`limits`.

    Returns
    -------
    dict of str to ndarray
        Keyed by member name without ``.npy``.

    Raises
    ------
    ModelFileError
    """
    path = Path(path)
    lim = limits() if lim is None else lim
    size = path.stat().st_size
    count = _member_count(path, size, what)
    if count > lim.members:
        raise ModelFileError(
            f"{path}: its zip directory lists {count:,} members, over the limit of "
            f"{lim.members:,}; this is not a backprop {what}"
        )
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > lim.members:
                raise ModelFileError(
                    f"{path}: its zip directory lists {len(infos):,} members, over the limit "
                    f"of {lim.members:,}; this is not a backprop {what}"
                )
            _check_directory(path, infos, lim, metadata, what)
            return {info.filename[:-4]: _read_member(zf, info, path, lim, kinds)
                    for info in infos}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, struct.error) as exc:
        raise ModelFileError(
            f"{path} is not a readable {what} ({type(exc).__name__}: {exc}); it may be "
            "truncated or damaged"
        ) from None
