"""A minimal S3 *sink*: speaks enough S3 for every peer, stores sizes, discards bytes.

moto and s3rver saturate at ~50-90 MiB/s on one core, which hides the differences between
clients, so throughput runs go against this server instead (DESIGN §11). It is one asyncio
process on raw HTTP/1.1 (no framework): request heads are parsed with ``bytes.find``, bodies are
counted chunk by chunk as they arrive and dropped.

What it understands: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload, ListParts, PutObject, HeadObject (the size of what was "stored"),
DeleteObject, HeadBucket, CreateBucket, GetBucketLocation, a minimal ListObjectsV2, and
GetObject (whole or one ``Range``) of a stored object, answered with deterministic bytes (see
:mod:`benchmarks._sink_get`: uploads of pattern files download intact). Any SigV4
signature is accepted. Bodies may be plain (``Content-Length``), HTTP ``chunked``, and/or
``aws-chunked`` (botocore's streaming checksums with trailers): the framing is decoded, so the
sizes are those of the payload. ``x-amz-checksum-crc32c`` (and ``-crc32``) in a header or a
trailer is verified against the bytes received; a mismatch is counted and answered
``400 BadDigest`` as S3 would. A FULL_OBJECT CRC-32C given at completion is checked against the
part CRCs combined. ``x-amz-decoded-content-length`` is checked against the decoded size.

``GET /_sink/stats`` answers JSON counters (and the sink's own CPU time); ``POST /_sink/reset``
forgets everything.

Run: ``python -m benchmarks._sink [--port 0] [--https] [--cpu 0] [--ready-file F]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import resource
import ssl
import sys
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import google_crc32c

from benchmarks._sink_get import Stream, get_object, list_page
from jetraw._crc import crc32c_combine

__all__ = ["ChunkDecoder", "SinkState", "main", "make_certificates", "serve"]

_MAX_HEAD = 64 * 1024
_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def _b64(value: int) -> str:
    return base64.b64encode(value.to_bytes(4, "big")).decode()


def _unb64(text: str) -> int | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    return int.from_bytes(raw, "big") if len(raw) == 4 else None


# -- body framing ---------------------------------------------------------------------------------


class ChunkDecoder:
    """Decoder of ``size[;ext]\\r\\n data\\r\\n ... 0[;ext]\\r\\n trailers \\r\\n`` framing.

    HTTP/1.1 ``Transfer-Encoding: chunked`` and S3's ``aws-chunked`` share this grammar (the
    latter with ``chunk-signature`` extensions and ``x-amz-checksum-*`` trailers).
    """

    _SIZE, _DATA, _CRLF, _TRAILER, _DONE = range(5)

    def __init__(
        self, on_data: Callable[[bytes], None], on_trailer: Callable[[str, str], None]
    ) -> None:
        self.on_data = on_data
        self.on_trailer = on_trailer
        self.state = self._SIZE
        self.remaining = 0
        self._line = bytearray()

    @property
    def done(self) -> bool:
        return self.state == self._DONE

    def feed(self, data: bytes, pos: int = 0, end: int | None = None) -> int:
        """Decode ``data[pos:end]``; returns where decoding stopped (at the end, or after the
        last trailer line when the framing is complete)."""
        end = len(data) if end is None else end
        while pos < end and self.state != self._DONE:
            if self.state == self._DATA:
                n = min(self.remaining, end - pos)
                self.on_data(data if pos == 0 and n == len(data) else data[pos : pos + n])
                pos += n
                self.remaining -= n
                if self.remaining == 0:
                    self.state = self._CRLF
                continue
            i = data.find(b"\n", pos, end)
            if i < 0:
                self._line += data[pos:end]
                if len(self._line) > _MAX_HEAD:
                    raise ValueError("chunk framing line too long")
                return end
            self._line += data[pos:i]
            pos = i + 1
            line = bytes(self._line).rstrip(b"\r")
            self._line.clear()
            if self.state == self._SIZE:
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    self.state = self._TRAILER
                else:
                    self.remaining, self.state = size, self._DATA
            elif self.state == self._CRLF:
                if line:
                    raise ValueError("chunk data not followed by CRLF")
                self.state = self._SIZE
            elif not line:
                self.state = self._DONE
            else:
                name, _, value = line.decode("latin-1").partition(":")
                self.on_trailer(name.strip().lower(), value.strip())
        return pos


class _Payload:
    """Counts (and checksums, when a checksum is announced) the bytes of one request body."""

    def __init__(self, want_crc32c: bool, want_crc32: bool, keep: bool) -> None:
        self.size = 0
        self.crc32c = 0 if want_crc32c else None
        self.crc32 = 0 if want_crc32 else None
        self.kept = bytearray() if keep else None

    def __call__(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.crc32c is not None:
            self.crc32c = google_crc32c.extend(self.crc32c, chunk)
        if self.crc32 is not None:
            self.crc32 = zlib.crc32(chunk, self.crc32)
        if self.kept is not None:
            self.kept += chunk


# -- state ----------------------------------------------------------------------------------------


@dataclass
class _Part:
    size: int
    etag: str
    crc32c: int | None


@dataclass
class _Upload:
    bucket: str
    key: str
    checksum_type: str
    parts: dict[int, _Part] = field(default_factory=dict)


@dataclass
class SinkState:
    """Everything the sink remembers: object sizes, open multipart uploads, counters."""

    verify_crc32: bool = True
    objects: dict[tuple[str, str], tuple[int, str, int | None]] = field(default_factory=dict)
    uploads: dict[str, _Upload] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.objects.clear()
        self.uploads.clear()
        self.counters.clear()

    def stats(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "counters": dict(self.counters),
            "objects": len(self.objects),
            "stored_bytes": sum(v[0] for v in self.objects.values()),
            "open_uploads": len(self.uploads),
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "sizes": {f"{b}/{k}": v[0] for (b, k), v in self.objects.items()},
        }


# -- one request ----------------------------------------------------------------------------------


@dataclass
class _Request:
    method: str
    target: str
    headers: dict[str, str]
    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    trailers: dict[str, str] = field(default_factory=dict)
    payload: _Payload | None = None


def _parse_head(head: bytes) -> _Request:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    raw_path, _, raw_query = target.partition("?")
    query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
    return _Request(method, target, headers, unquote(raw_path), query)


def _response(
    status: int,
    reason: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    head: bool = False,
    content_length: int | None = None,
) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", "x-amz-request-id: sink", "Server: jetraw-bench-sink"]
    all_headers = dict(headers or {})
    if body:
        all_headers.setdefault("Content-Type", "application/xml")
    length = len(body) if content_length is None else content_length
    all_headers["Content-Length"] = str(length)
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return out if head else out + body


def _xml(root: str, inner: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_NS}">{inner}</{root}>'.encode()
    )


def _error(status: int, code: str, message: str, *, head: bool = False) -> bytes:
    reasons = {
        400: "Bad Request",
        404: "Not Found",
        416: "Range Not Satisfiable",
        501: "Not Implemented",
    }
    body = f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>".encode()
    return _response(status, reasons.get(status, "Error"), body, head=head)


_DATE = "Sat, 28 Nov 2026 00:00:00 GMT"
_ISO = "2026-11-28T00:00:00.000Z"


class _Router:
    def __init__(self, state: SinkState) -> None:
        self.state = state

    def handle(self, req: _Request) -> bytes | Stream:
        s = self.state
        if req.path.startswith("/_sink/"):
            if req.path == "/_sink/stats":
                body = json.dumps(s.stats()).encode()
                return _response(200, "OK", body, {"Content-Type": "application/json"})
            if req.path == "/_sink/reset" and req.method == "POST":
                s.reset()
                return _response(204, "No Content")
        bucket, _, key = req.path.lstrip("/").partition("/")
        q, m, head = req.query, req.method, req.method == "HEAD"
        if not bucket:
            return _error(400, "InvalidRequest", "no bucket in the path", head=head)
        if not key:
            return self._bucket(req, bucket)
        if m == "POST" and "uploads" in q:
            return self._create(req, bucket, key)
        if "uploadId" in q:
            upload = s.uploads.get(q["uploadId"])
            if upload is None or (upload.bucket, upload.key) != (bucket, key):
                s.counters["no_such_upload"] += 1
                return _error(404, "NoSuchUpload", "no such upload", head=head)
            if m == "PUT" and "partNumber" in q:
                return self._part(req, upload, int(q["partNumber"]))
            if m == "POST":
                return self._complete(req, q["uploadId"], upload)
            if m == "DELETE":
                s.counters["AbortMultipartUpload"] += 1
                del s.uploads[q["uploadId"]]
                return _response(204, "No Content")
            if m == "GET":
                return self._list_parts(req, upload)
        if m == "PUT":
            return self._put(req, bucket, key)
        if m == "GET":
            s.counters["GetObject"] += 1
            stored = s.objects.get((bucket, key))
            if stored is None:
                return _error(404, "NoSuchKey", "no such key")
            answer = get_object(stored[0], stored[1], req.headers, _DATE)
            if isinstance(answer, Stream):
                s.counters["get_bytes"] += answer.length
                return answer
            s.counters["bad_ranges"] += 1
            return _error(answer[0], answer[1], "the range is not satisfiable")
        if m == "HEAD":
            s.counters["HeadObject"] += 1
            found = s.objects.get((bucket, key))
            if found is None:
                return _error(404, "NoSuchKey", "no such key", head=True)
            size, etag, crc = found
            headers = {"ETag": etag, "Last-Modified": _DATE, "Content-Type": "binary/octet-stream"}
            if crc is not None and req.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
                headers["x-amz-checksum-crc32c"] = _b64(crc)
            return _response(200, "OK", headers=headers, head=True, content_length=size)
        if m == "DELETE":
            s.counters["DeleteObject"] += 1
            s.objects.pop((bucket, key), None)
            return _response(204, "No Content")
        s.counters["unsupported"] += 1
        return _error(501, "NotImplemented", f"{m} {req.target} is not supported by the sink")

    # -- bucket level ----------------------------------------------------------------------------

    def _bucket(self, req: _Request, bucket: str) -> bytes:
        s, q = self.state, req.query
        if req.method in ("HEAD", "PUT"):
            s.counters["HeadBucket" if req.method == "HEAD" else "CreateBucket"] += 1
            return _response(
                200, "OK", headers={"x-amz-bucket-region": "us-east-1"}, head=req.method == "HEAD"
            )
        if req.method == "GET" and "location" in q:
            return _response(200, "OK", _xml("LocationConstraint", ""))
        if req.method == "GET":
            s.counters["ListObjects"] += 1
            return self._list(bucket, q)
        if req.method == "POST" and "delete" in q:
            s.counters["DeleteObjects"] += 1
            return _response(200, "OK", _xml("DeleteResult", ""))
        s.counters["unsupported"] += 1
        return _error(501, "NotImplemented", f"{req.method} {req.target} is not supported")

    def _list(self, bucket: str, query: dict[str, str]) -> bytes:
        objects = (
            (key, size, etag)
            for (b, key), (size, etag, _) in self.state.objects.items()
            if b == bucket
        )
        status, code, inner = list_page(bucket, objects, query, _ISO)
        if status != 200:
            return _error(status, code, inner)
        return _response(200, "OK", _xml("ListBucketResult", inner))

    # -- bodies ----------------------------------------------------------------------------------

    def _check_body(self, req: _Request) -> tuple[bytes | None, dict[str, str]]:
        """Verify announced checksums and lengths; an error answer, or the checksum headers."""
        s, p = self.state, req.payload
        assert p is not None
        s.counters["payload_bytes"] += p.size
        decoded = req.headers.get("x-amz-decoded-content-length")
        if decoded is not None and int(decoded) != p.size:
            s.counters["length_mismatches"] += 1
            return _error(400, "IncompleteBody", "decoded length differs"), {}
        echo: dict[str, str] = {}
        given = {**req.headers, **req.trailers}
        if "x-amz-checksum-crc32c" in given and p.crc32c is not None:
            s.counters["crc32c_checked"] += 1
            if _unb64(given["x-amz-checksum-crc32c"]) != p.crc32c:
                s.counters["checksum_mismatches"] += 1
                return _error(400, "BadDigest", "CRC32C mismatch"), {}
            echo["x-amz-checksum-crc32c"] = _b64(p.crc32c)
        if "x-amz-checksum-crc32" in given and p.crc32 is not None:
            s.counters["crc32_checked"] += 1
            if _unb64(given["x-amz-checksum-crc32"]) != p.crc32:
                s.counters["checksum_mismatches"] += 1
                return _error(400, "BadDigest", "CRC32 mismatch"), {}
            echo["x-amz-checksum-crc32"] = _b64(p.crc32)
        for name in given:
            if (
                name.startswith("x-amz-checksum-")
                and name not in echo
                and name != ("x-amz-checksum-type")
            ):
                s.counters[f"unverified_{name[15:]}"] += 1
        return None, echo

    def _put(self, req: _Request, bucket: str, key: str) -> bytes:
        s = self.state
        s.counters["PutObject"] += 1
        if "x-amz-copy-source" in req.headers:
            return _error(501, "NotImplemented", "copy is not supported")
        error, echo = self._check_body(req)
        if error is not None:
            return error
        assert req.payload is not None
        etag = f'"{uuid.uuid4().hex}"'
        s.objects[(bucket, key)] = (req.payload.size, etag, req.payload.crc32c)
        return _response(200, "OK", headers={"ETag": etag, **echo})

    def _create(self, req: _Request, bucket: str, key: str) -> bytes:
        s = self.state
        s.counters["CreateMultipartUpload"] += 1
        upload_id = uuid.uuid4().hex
        ctype = req.headers.get("x-amz-checksum-type", "COMPOSITE").upper()
        s.uploads[upload_id] = _Upload(bucket, key, ctype)
        inner = (
            f"<Bucket>{escape(bucket)}</Bucket><Key>{escape(key)}</Key>"
            f"<UploadId>{upload_id}</UploadId>"
        )
        return _response(200, "OK", _xml("InitiateMultipartUploadResult", inner))

    def _part(self, req: _Request, upload: _Upload, number: int) -> bytes:
        s = self.state
        s.counters["UploadPart"] += 1
        if not 1 <= number <= 10_000:
            return _error(400, "InvalidArgument", "part number must be 1..10000")
        error, echo = self._check_body(req)
        if error is not None:
            return error
        assert req.payload is not None
        etag = f'"{number:08x}{uuid.uuid4().hex[:24]}"'
        upload.parts[number] = _Part(req.payload.size, etag, req.payload.crc32c)
        s.counters["max_part_number"] = max(s.counters["max_part_number"], number)
        return _response(200, "OK", headers={"ETag": etag, **echo})

    def _complete(self, req: _Request, upload_id: str, upload: _Upload) -> bytes:
        s = self.state
        s.counters["CompleteMultipartUpload"] += 1
        assert req.payload is not None
        assert req.payload.kept is not None
        try:
            root = ElementTree.fromstring(bytes(req.payload.kept))
        except ElementTree.ParseError:
            return _error(400, "MalformedXML", "unreadable part list")
        listed: list[tuple[int, str]] = []
        for part in root.iter():
            if part.tag.rsplit("}", 1)[-1] != "Part":
                continue
            fields = {c.tag.rsplit("}", 1)[-1]: (c.text or "") for c in part}
            listed.append((int(fields["PartNumber"]), fields.get("ETag", "")))
        numbers = [n for n, _ in listed]
        if not listed or numbers != sorted(set(numbers)):
            return _error(400, "InvalidPartOrder", "parts must be ascending and unique")
        total, crc, have_crc = 0, 0, True
        for number, etag in listed:
            stored = upload.parts.get(number)
            if stored is None or etag.strip('"') != stored.etag.strip('"'):
                s.counters["invalid_parts"] += 1
                return _error(400, "InvalidPart", f"part {number} was not uploaded")
            total += stored.size
            if stored.crc32c is None:
                have_crc = False
            else:
                crc = crc32c_combine(crc, stored.crc32c, stored.size)
        echo = ""
        given = req.headers.get("x-amz-checksum-crc32c")
        if given is not None and have_crc and upload.checksum_type == "FULL_OBJECT":
            s.counters["full_object_crc32c_checked"] += 1
            if _unb64(given) != crc:
                s.counters["checksum_mismatches"] += 1
                return _error(400, "BadDigest", "full-object CRC32C mismatch")
            echo = (
                f"<ChecksumCRC32C>{_b64(crc)}</ChecksumCRC32C>"
                "<ChecksumType>FULL_OBJECT</ChecksumType>"
            )
        etag = f'"{uuid.uuid4().hex}-{len(listed)}"'
        del s.uploads[upload_id]
        s.objects[(upload.bucket, upload.key)] = (total, etag, crc if have_crc else None)
        s.counters["multipart_objects"] += 1
        inner = (
            f"<Location>/{escape(upload.bucket)}/{escape(upload.key)}</Location>"
            f"<Bucket>{escape(upload.bucket)}</Bucket><Key>{escape(upload.key)}</Key>"
            f"<ETag>{escape(etag)}</ETag>{echo}"
        )
        return _response(200, "OK", _xml("CompleteMultipartUploadResult", inner))

    def _list_parts(self, req: _Request, upload: _Upload) -> bytes:
        self.state.counters["ListParts"] += 1
        marker = int(req.query.get("part-number-marker", "0") or 0)
        limit = min(1000, int(req.query.get("max-parts", "1000") or 1000))
        numbers = sorted(n for n in upload.parts if n > marker)
        page, more = numbers[:limit], len(numbers) > limit
        items = []
        for n in page:
            p = upload.parts[n]
            crc = (
                f"<ChecksumCRC32C>{_b64(p.crc32c)}</ChecksumCRC32C>" if p.crc32c is not None else ""
            )
            items.append(
                f"<Part><PartNumber>{n}</PartNumber><LastModified>{_ISO}</LastModified>"
                f"<ETag>{escape(p.etag)}</ETag><Size>{p.size}</Size>{crc}</Part>"
            )
        inner = (
            f"<Bucket>{escape(upload.bucket)}</Bucket><Key>{escape(upload.key)}</Key>"
            f"<UploadId>{escape(req.query['uploadId'])}</UploadId>"
            f"<PartNumberMarker>{marker}</PartNumberMarker>"
            f"<NextPartNumberMarker>{page[-1] if page else marker}</NextPartNumberMarker>"
            f"<MaxParts>{limit}</MaxParts><IsTruncated>{'true' if more else 'false'}</IsTruncated>"
            + "".join(items)
        )
        return _response(200, "OK", _xml("ListPartsResult", inner))


# -- the connection -------------------------------------------------------------------------------


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection: a small state machine fed by ``data_received``."""

    def __init__(self, router: _Router) -> None:
        self.router = router
        self.transport: asyncio.Transport | None = None
        self.head = bytearray()
        self.req: _Request | None = None
        self.remaining = 0  # Content-Length bytes still to come
        self.framing: ChunkDecoder | None = None  # HTTP chunked
        self.body: Callable[[bytes], None] | None = None
        self.aws: ChunkDecoder | None = None
        self.stream: Iterator[memoryview] | None = None  # a GET body being written
        self.paused = False
        self.pending = bytearray()  # request bytes that came while a body was written

    def connection_lost(self, exc: Exception | None) -> None:
        # A client may hang up mid-body (s3fs closes a big file's stream early): stop writing.
        self.stream = None
        self.pending.clear()
        self.transport = None

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._pump()

    def _pump(self) -> None:
        """Write the GET body's slices until the transport's buffer is full or it ends."""
        while self.stream is not None and not self.paused:
            if self.transport is None or self.transport.is_closing():
                self.stream = None
                return
            view = next(self.stream, None)
            if view is None:
                self.stream = None
                if self.pending:
                    data = bytes(self.pending)
                    self.pending.clear()
                    self.data_received(data)
                return
            self.transport.write(view)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.router.state.counters["connections"] += 1

    def data_received(self, data: bytes) -> None:
        if self.stream is not None:
            self.pending += data
            return
        try:
            self._feed(data)
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            self.router.state.counters["bad_requests"] += 1
            if self.transport is not None:
                self.transport.write(_error(400, "BadRequest", f"unparseable request: {exc}"))
                self.transport.close()

    def _feed(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end:
            if self.stream is not None:  # a pipelined request: after this body
                self.pending += data[pos:end]
                return
            if self.req is None:
                if self.head:
                    data = bytes(self.head) + data[pos:]
                    self.head.clear()
                    pos, end = 0, len(data)
                i = data.find(b"\r\n\r\n", pos)
                if i < 0:
                    self.head += data[pos:]
                    if len(self.head) > _MAX_HEAD:
                        raise ValueError("request head too long")
                    return
                self._start(data[pos:i])
                pos = i + 4
                if self.req is not None and self.framing is None and self.remaining == 0:
                    self._finish()
                continue
            if self.framing is not None:
                assert self.body is not None
                pos = self.framing.feed(data, pos, end)
                if self.framing.done:
                    self._finish()
                continue
            n = min(self.remaining, end - pos)
            self._body(data if pos == 0 and n == end else data[pos : pos + n])
            pos += n
            self.remaining -= n
            if self.remaining == 0:
                self._finish()

    def _body(self, chunk: bytes) -> None:
        if self.aws is not None:
            self.aws.feed(chunk)
        else:
            assert self.body is not None
            self.body(chunk)

    def _start(self, head: bytes) -> None:
        req = _parse_head(head)
        h = req.headers
        self.req = req
        announced = h.get("x-amz-trailer", "").lower()
        want_c = "x-amz-checksum-crc32c" in h or "x-amz-checksum-crc32c" in announced
        want_32 = self.router.state.verify_crc32 and (
            "x-amz-checksum-crc32" in h or announced == "x-amz-checksum-crc32"
        )
        req.payload = _Payload(want_c, want_32, keep=req.method == "POST")
        self.body = req.payload
        encoding = h.get("content-encoding", "").lower()
        sha = h.get("x-amz-content-sha256", "")
        self.aws = None
        if "aws-chunked" in encoding or sha.startswith("STREAMING-"):
            self.router.state.counters["aws_chunked_bodies"] += 1
            self.aws = ChunkDecoder(req.payload, req.trailers.__setitem__)
        if h.get("expect", "").lower() == "100-continue" and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in h.get("transfer-encoding", "").lower():
            self.router.state.counters["http_chunked_bodies"] += 1
            self.framing = ChunkDecoder(self._body, req.trailers.__setitem__)
            self.remaining = 0
        else:
            self.framing = None
            self.remaining = int(h.get("content-length", "0") or 0)
            if req.method == "HEAD":
                self.remaining = 0

    def _finish(self) -> None:
        req, self.req, self.framing, self.aws, self.body = self.req, None, None, None, None
        assert req is not None
        if self.transport is None or self.transport.is_closing():
            return
        answer = self.router.handle(req)
        if isinstance(answer, Stream):
            self.transport.write(answer.head)
            self.stream = answer.views()
            self._pump()
            return
        self.transport.write(answer)
        if req.headers.get("connection", "").lower() == "close":
            self.transport.close()


# -- certificates and serving ---------------------------------------------------------------------


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a 127.0.0.1/localhost certificate it signed: ``(ca, cert, key)``.

    A separate CA (not a self-signed leaf) because rustls-based clients reject a CA certificate
    used as the server's own. Uses ``cryptography`` when importable, else the ``openssl`` CLI.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = (
        directory / "ca.pem",
        directory / "cert.pem",
        directory / "key.pem",
    )
    try:
        _certificates_cryptography(ca_path, cert_path, key_path)
    except ImportError:
        _certificates_openssl(directory, ca_path, cert_path, key_path)
    return ca_path, cert_path, key_path


def _certificates_cryptography(ca_path: Path, cert_path: Path, key_path: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jetraw bench sink CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _certificates_openssl(directory: Path, ca_path: Path, cert_path: Path, key_path: Path) -> None:
    import subprocess

    ca_key = directory / "ca-key.pem"
    ext = directory / "ext.cnf"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth\n"
    )
    run = [
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(ca_key)],
        ["openssl", "req", "-x509", "-new", "-key", str(ca_key), "-days", "2", "-subj",
         "/CN=jetraw bench sink CA", "-out", str(ca_path)],
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key_path)],
        ["openssl", "req", "-new", "-key", str(key_path), "-subj", "/CN=127.0.0.1", "-out",
         str(directory / "req.csr")],
        ["openssl", "x509", "-req", "-in", str(directory / "req.csr"), "-CA", str(ca_path),
         "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out",
         str(cert_path)],
    ]  # fmt: skip
    for cmd in run:
        subprocess.run(cmd, check=True, capture_output=True)


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ssl_context: ssl.SSLContext | None = None,
    state: SinkState | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until cancelled; ``ready`` gets the base URL once listening."""
    router = _Router(state or SinkState())
    server = await asyncio.get_running_loop().create_server(
        lambda: _Connection(router), host, port, ssl=ssl_context, backlog=1024
    )
    bound = server.sockets[0].getsockname()[1]
    scheme = "https" if ssl_context is not None else "http"
    if ready is not None:
        ready(f"{scheme}://{host}:{bound}")
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._sink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--https", action="store_true", help="TLS with a throwaway CA")
    parser.add_argument("--cert-dir", type=Path, help="where the CA/cert/key go (with --https)")
    parser.add_argument("--cpu", type=int, help="pin the sink to this CPU")
    parser.add_argument("--ready-file", type=Path, help="JSON {url, ca} written when serving")
    parser.add_argument("--no-crc32", action="store_true", help="do not verify CRC-32 (zlib)")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    context, ca = None, None
    if args.https:
        cert_dir = args.cert_dir or Path(os.environ.get("TMPDIR", "/tmp")) / f"sink-{os.getpid()}"
        ca_path, cert_path, key_path = make_certificates(cert_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
        ca = str(ca_path)

    def ready(url: str) -> None:
        info = json.dumps({"url": url, "ca": ca, "pid": os.getpid()})
        if args.ready_file is not None:
            tmp = args.ready_file.with_suffix(".tmp")
            tmp.write_text(info)
            tmp.replace(args.ready_file)
        else:
            print(info, flush=True)

    state = SinkState(verify_crc32=not args.no_crc32)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, ssl_context=context, state=state, ready=ready))


class SinkProcess:
    """The sink in a child process (``with SinkProcess() as sink: sink.url``)."""

    def __init__(
        self,
        *,
        https: bool = False,
        cpu: int | None = None,
        workdir: Path | None = None,
        verify_crc32: bool = True,
    ) -> None:
        self.https = https
        self.cpu = cpu
        self.verify_crc32 = verify_crc32
        self._workdir = workdir
        self._own_workdir = workdir is None
        self.url = ""
        self.ca: str | None = None
        self._proc: Any = None

    def __enter__(self) -> SinkProcess:
        import subprocess
        import tempfile

        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="jetraw-sink-"))
        self._workdir.mkdir(parents=True, exist_ok=True)
        ready = self._workdir / "ready.json"
        args = [sys.executable, "-m", "benchmarks._sink", "--ready-file", str(ready)]
        if self.https:
            args += ["--https", "--cert-dir", str(self._workdir / "certs")]
        if self.cpu is not None:
            args += ["--cpu", str(self.cpu)]
        if not self.verify_crc32:
            args.append("--no-crc32")
        root = Path(__file__).resolve().parent.parent
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        }
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, env=env, cwd=root)
        deadline = time.monotonic() + 30
        while not ready.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the S3 sink did not start")
            time.sleep(0.01)
        info = json.loads(ready.read_text())
        self.url, self.ca = info["url"], info["ca"]
        return self

    @property
    def pid(self) -> int:
        return int(self._proc.pid)

    def _http(self, method: str, path: str) -> Any:
        import httpx

        verify: ssl.SSLContext | bool = True
        if self.ca is not None:
            verify = ssl.create_default_context(cafile=self.ca)
        with httpx.Client(verify=verify, trust_env=False, timeout=30) as client:
            response = client.request(method, self.url + path)
            response.raise_for_status()
            return response.json() if response.content else None

    def stats(self) -> dict[str, Any]:
        """The sink's counters, sizes of stored objects and CPU time."""
        result: dict[str, Any] = self._http("GET", "/_sink/stats")
        return result

    def reset(self) -> None:
        self._http("POST", "/_sink/reset")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except Exception:
                self._proc.kill()
                self._proc.wait()
        if self._own_workdir and self._workdir is not None:
            import shutil

            shutil.rmtree(self._workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
