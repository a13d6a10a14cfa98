"""GetObject for the sink: the pattern's bytes (:mod:`benchmarks._pattern`), whole or ranged.

The sink stores no bytes; an object it knows (from an upload, whose bytes were the pattern's)
is served as the pattern's first ``size`` bytes, with its ETag, Content-Length and — when asked
with ``x-amz-checksum-mode: ENABLED`` for a whole single-part object, as S3 does — its
``x-amz-checksum-crc32c``. :class:`Stream` is what the connection writes: the response head,
then the body's slices, paced by the transport's flow control.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

from benchmarks._pattern import pattern_crc, pattern_views

__all__ = ["Stream", "checksum_headers", "get_object", "parse_range"]


@dataclass
class Stream:
    """A response whose body is the pattern's bytes ``[start, start + length)``."""

    head: bytes
    start: int
    length: int

    def views(self) -> Iterator[memoryview]:
        return pattern_views(self.start, self.length)


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``(start, length)`` of a single ``bytes=`` range, or None when it is unsatisfiable."""
    unit, _, spec = value.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    if not first:
        if not last:
            return None
        n = min(int(last), size)
        return (size - n, n) if n > 0 else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end - start + 1


def checksum_headers(etag: str, headers: dict[str, str], whole: bool, size: int) -> dict[str, str]:
    """The CRC-32C header S3 adds for a whole single-part object when checksum mode is on."""
    if not whole or "-" in etag.strip('"'):
        return {}
    if headers.get("x-amz-checksum-mode", "").upper() != "ENABLED":
        return {}
    return {
        "x-amz-checksum-crc32c": base64.b64encode(pattern_crc(size).to_bytes(4, "big")).decode()
    }


def _head(status: int, reason: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", "x-amz-request-id: sink", "Server: jetraw-bench-sink"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def get_object(
    size: int, etag: str, headers: dict[str, str], date: str
) -> Stream | tuple[int, str]:
    """The answer to a GET of an object of ``size`` bytes: a :class:`Stream`, or an error
    ``(status, code)``."""
    base = {
        "ETag": etag,
        "Last-Modified": date,
        "Content-Type": "binary/octet-stream",
        "Accept-Ranges": "bytes",
    }
    asked = headers.get("range")
    if asked is None:
        base.update(checksum_headers(etag, headers, True, size))
        return Stream(_head(200, "OK", base, size), 0, size)
    try:
        found = parse_range(asked, size)
    except ValueError:
        found = None
    if found is None:
        return 416, "InvalidRange"
    start, length = found
    base["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    return Stream(_head(206, "Partial Content", base, length), start, length)
