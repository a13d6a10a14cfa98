"""CRC-32C (Castagnoli): the checksum of every part and whole file we store.

The whole-file value of a multipart upload is combined from the part values with
:func:`crc32c_combine` (zlib 1.2.12's ``crc32_combine`` method: one multiply modulo the
polynomial), so a file is read once. ``google_crc32c`` only accepts immutable ``bytes`` (not a
memoryview, not even a read-only one); hashing a large mutable buffer goes through it in bounded
slices, so no whole-part copy is ever made. The transfer engine hashes parts in its worker
threads, not on the event loop."""

from __future__ import annotations

import base64
import functools

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


def _multmodp(a: int, b: int) -> int:
    """``a * b`` modulo the CRC-32C polynomial (reflected: bit 31 is x^0)."""
    product = 0
    m = 1 << 31
    while a:
        if a & m:
            product ^= b
            a ^= m
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
    return product


def _x2n_table() -> tuple[int, ...]:
    # x^(2^k) mod P for k < 64. zlib's CRC-32 table wraps after 32 entries because that
    # polynomial's x^(2^32) cycle allows it; CRC-32C's does not, so keep all 64 (lengths < 2^61).
    table = [1 << 30]  # x^1
    for _ in range(63):
        table.append(_multmodp(table[-1], table[-1]))
    return tuple(table)


_X2N = _x2n_table()


@functools.lru_cache(maxsize=64)
def _zeros_operator(nbytes: int) -> int:
    """x^(8 * nbytes) mod P: appending ``nbytes`` zero bytes multiplies a CRC by this."""
    p = 1 << 31  # x^0
    k = 3  # a byte is 2^3 bits
    square = _X2N[k]
    while nbytes:
        if nbytes & 1:
            p = _multmodp(square, p)
        nbytes >>= 1
        k += 1
        square = _X2N[k] if k < len(_X2N) else _multmodp(square, square)
    return p


def crc32c_combine(crc1: int, crc2: int, len2: int) -> int:
    """Return the CRC-32C of ``A + B`` given ``crc(A)``, ``crc(B)`` and ``len(B)``.

    zlib 1.2.12's method: one carry-less multiply by x^(8 * len2) mod P, the operator cached
    per length (the parts of one file share a size), so combining thousands of parts is cheap.
    """
    if len2 <= 0:
        return crc1
    return _multmodp(_zeros_operator(len2), crc1) ^ crc2


def crc32c_hex(value: int) -> str:
    """Format a CRC-32C as the protocol's 8 lowercase hex digits."""
    return f"{value:08x}"


def parse_crc32c_hex(text: str) -> int:
    """Parse the protocol's 8-hex-digit form."""
    return int(text, 16)


def crc32c_b64(value: int) -> str:
    """Format a CRC-32C as S3's ``x-amz-checksum-crc32c`` header value (base64, big-endian)."""
    return base64.b64encode(value.to_bytes(4, "big")).decode("ascii")
