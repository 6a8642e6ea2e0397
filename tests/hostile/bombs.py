"""Small files that expand to a lot: gzip and zip bombs built in milliseconds.

A deflate stream of zeros flushed with ``Z_FULL_FLUSH`` is made of byte-aligned
blocks with no references across the flush, so one compressed MiB of zeros
(about 1 KB) repeated ``n`` times is a valid stream of ``n`` MiB of zeros.
"""

from __future__ import annotations

import struct
import zlib

MiB = 2**20


def _deflate(prefix: bytes, zeros_mib: int) -> tuple[bytes, int, int]:
    """Raw deflate of ``prefix`` followed by ``zeros_mib`` MiB of zeros: (stream, crc, size)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(b"\0" * MiB) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.flush()
    crc = zlib.crc32(prefix)
    zero_mib = b"\0" * MiB
    for _ in range(zeros_mib):
        crc = zlib.crc32(zero_mib, crc)
    return head + block * zeros_mib + tail, crc, len(prefix) + zeros_mib * MiB


def gzip_bomb(prefix: bytes, zeros_mib: int) -> bytes:
    """A gzip file holding ``prefix`` then ``zeros_mib`` MiB of zeros (about 1 KB per MiB)."""
    stream, crc, size = _deflate(prefix, zeros_mib)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + stream + struct.pack("<II", crc, size & 0xFFFFFFFF)


def zip_file(members: dict[str, tuple[bytes, int]]) -> bytes:
    """A zip whose member ``name`` holds ``prefix`` then ``zeros_mib`` MiB of zeros, deflated.

    ``members`` maps name -> (prefix, zeros_mib).  The sizes in the directory are true,
    so this is a real bomb, not a lying directory.
    """
    local, central = b"", b""
    for name, (prefix, zeros_mib) in members.items():
        data, crc, size = _deflate(prefix, zeros_mib)
        fname = name.encode()
        offset = len(local)
        fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0, crc, len(data), size)
        local += b"PK\x03\x04" + fields + struct.pack("<HH", len(fname), 0) + fname + data
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + fields
                    + struct.pack("<HHHHHII", len(fname), 0, 0, 0, 0, 0, offset) + fname)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members),
                                      len(central), len(local), 0)
    return local + central + end


def npy_header(dtype: str, shape: tuple[int, ...]) -> bytes:
    """A version 1.0 ``.npy`` header declaring ``dtype`` and ``shape`` (no data)."""
    text = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape!r}, }}"
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")
