"""GetObject for the sink: the pattern's bytes (:mod:`benchmarks._pattern`), whole or ranged.

The sink stores no bytes; an object it knows (from an upload, whose bytes were the pattern's)
is served as the pattern's first ``size`` bytes, with its ETag, Content-Length and — when asked
with ``x-amz-checksum-mode: ENABLED`` for a whole single-part object, as S3 does — its
``x-amz-checksum-crc32c``. :class:`Stream` is what the connection writes: the response head,
then the body's slices, paced by the transport's flow control. :func:`list_page` is one page of
ListObjectsV2 (``max-keys``, ``continuation-token``, ``start-after``, ``delimiter``), as S3 pages.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import escape

from benchmarks._pattern import pattern_crc, pattern_views

__all__ = ["MAX_KEYS", "Stream", "checksum_headers", "get_object", "list_page", "parse_range"]


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


#: S3's page size: ListObjectsV2 never returns more keys than this, whatever ``max-keys`` asks.
MAX_KEYS = 1000


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def list_page(
    bucket: str,
    objects: Iterable[tuple[str, int, str]],
    query: dict[str, str],
    last_modified: str,
) -> tuple[int, str, str]:
    """One ListObjectsV2 page of ``objects`` (``(key, size, etag)``): ``(200, "", inner XML)``,
    or an error ``(400, code, message)``.

    As S3: keys in UTF-8 order, a ``delimiter`` rolls keys up into common prefixes (each counts
    as one of the page's ``max-keys``), at most 1,000 entries a page; a truncated page has a
    ``NextContinuationToken`` (opaque: here the last entry, encoded) that the next request
    sends back as ``continuation-token``; ``start-after`` skips keys up to and including it.
    """
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    try:
        max_keys = min(int(query.get("max-keys", MAX_KEYS)), MAX_KEYS)
    except ValueError:
        return 400, "InvalidArgument", "max-keys is not an integer"
    if max_keys < 0:
        return 400, "InvalidArgument", "max-keys is negative"
    after = query.get("start-after", "")
    token = query.get("continuation-token")
    if token is not None:
        try:
            after = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
        except ValueError:
            return 400, "InvalidArgument", "The continuation token provided is incorrect"
    # Entries in key order: ("k", key, size, etag) or ("p", common prefix, 0, "").
    entries: dict[str, tuple[str, int, str]] = {}
    for key, size, etag in objects:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if delimiter and delimiter in rest:
            common = prefix + rest.split(delimiter, 1)[0] + delimiter
            entries.setdefault(common, ("p", 0, ""))
        else:
            entries[key] = ("k", size, etag)
    names = sorted((n for n in entries if n > after), key=lambda n: n.encode())
    page, truncated = names[:max_keys], len(names) > max_keys
    contents, prefixes = [], []
    for name in page:
        kind, size, etag = entries[name]
        if kind == "p":
            prefixes.append(f"<CommonPrefixes><Prefix>{escape(name)}</Prefix></CommonPrefixes>")
        else:
            contents.append(
                f"<Contents><Key>{escape(name)}</Key><LastModified>{last_modified}</LastModified>"
                f"<ETag>{escape(etag)}</ETag><Size>{size}</Size>"
                "<StorageClass>STANDARD</StorageClass></Contents>"
            )
    inner = (
        f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>"
        + (f"<Delimiter>{escape(delimiter)}</Delimiter>" if delimiter else "")
        + f"<KeyCount>{len(page)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>"
        + (
            f"<StartAfter>{escape(query['start-after'])}</StartAfter>"
            if "start-after" in query
            else ""
        )
        + (f"<ContinuationToken>{escape(token)}</ContinuationToken>" if token is not None else "")
        + f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
        + (
            f"<NextContinuationToken>{_token(page[-1])}</NextContinuationToken>"
            if truncated
            else ""
        )
        + "".join(contents)
        + "".join(prefixes)
    )
    return 200, "", inner
