"""CRC-32C (Castagnoli): the checksum of every part and whole file we store.

The whole-file value of a multipart upload is combined from the part values with
:func:`crc32c_combine` (the GF(2) matrix method of zlib's ``crc32_combine``), so a file is read
once. ``google_crc32c`` only accepts immutable ``bytes`` (not a memoryview, not even a read-only
one); hashing a large mutable buffer goes through it in bounded slices, so no whole-part copy is
ever made. The transfer engine hashes parts in its worker threads, not on the event loop.
"""

from __future__ import annotations

import base64

import google_crc32c

__all__ = ["crc32c", "crc32c_b64", "crc32c_combine", "crc32c_hex", "parse_crc32c_hex"]

_POLY = 0x82F63B78  # reflected Castagnoli polynomial
_SLICE = 1 << 20  # bytes hashed per copy of a mutable buffer


def crc32c(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """Extend the CRC-32C ``value`` with ``data`` (any buffer; mutable ones are sliced)."""
    if isinstance(data, bytes):
        return int(google_crc32c.extend(value, data))
    view = memoryview(data).cast("B")
    for start in range(0, len(view), _SLICE):
        value = int(google_crc32c.extend(value, bytes(view[start : start + _SLICE])))
    return value


def _gf2_times(mat: list[int], vec: int) -> int:
    total = 0
    i = 0
    while vec:
        if vec & 1:
            total ^= mat[i]
        vec >>= 1
        i += 1
    return total


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32c_combine(crc1: int, crc2: int, len2: int) -> int:
    """Return the CRC-32C of ``A + B`` given ``crc(A)``, ``crc(B)`` and ``len(B)``."""
    if len2 <= 0:
        return crc1
    # odd: the operator for one zero bit; even: for two zero bits.
    odd = [_POLY] + [1 << n for n in range(31)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)  # first pass: one zero byte
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def crc32c_hex(value: int) -> str:
    """Format a CRC-32C as the protocol's 8 lowercase hex digits."""
    return f"{value:08x}"


def parse_crc32c_hex(text: str) -> int:
    """Parse the protocol's 8-hex-digit form."""
    return int(text, 16)


def crc32c_b64(value: int) -> str:
    """Format a CRC-32C as S3's ``x-amz-checksum-crc32c`` header value (base64, big-endian)."""
    return base64.b64encode(value.to_bytes(4, "big")).decode("ascii")
