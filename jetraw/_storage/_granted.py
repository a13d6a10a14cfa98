"""S3 through presigned URLs the state server grants: no AWS configuration on the client.

A space whose descriptor says ``access: "granted"`` is reached with this backend. Each request
(PUT, UploadPart, GET, HEAD, the multipart calls) is signed by the server
(``POST /api/v1/spaces/{space}/grants``) and sent straight to the store over aiohttp; the body
is the caller's buffer (:class:`~jetraw._storage._s3_body.PartBody`, no copy). Requests that
wait for a grant at the same time (the first waits ``_LINGER`` for others) share one call to the
server, up to 1,000 a call, so a transfer of ``n`` parts or files costs fewer than ``n`` round
trips (how many fewer depends on how many are in flight together); a GET/HEAD grant is reused
for every range of the object until it nears expiry. A grant past its known expiry is fetched
again, and a request the store refuses with 403 (an expired grant: AWS says so, Ceph RGW answers
a bare AccessDenied) is granted again and retried once.
URLs are never logged or put in an error message: they are bearer credentials until expiry.
"""

from __future__ import annotations

import asyncio
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from jetraw._crc import crc32c_b64
from jetraw._exceptions import JetrawError, StorageConnectionError, StorageError
from jetraw._storage._base import ByteCallback, MultipartInfo, PartInfo
from jetraw._storage._s3 import translate_error
from jetraw._storage._s3_body import PartBody

__all__ = ["GrantedStorage", "Granter"]

#: Sends a batch of grant requests; returns ``(expires_at, results)`` (one per request).
Granter = Callable[[list[dict[str, Any]]], Awaitable[tuple[float, list[dict[str, Any]]]]]

_CHUNK = 1 << 20
_MARGIN = 5.0  # seconds before expiry a cached grant is no longer used
_BATCH = 1000
#: How long the first request of a batch waits for others (a fraction of a store request).
_LINGER = 0.005
_TRANSIENT = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable"}


def _text(root: ET.Element, name: str) -> str | None:
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == name:
            return el.text
    return None


class _Batcher:
    """Coalesces the grant requests made at the same time into one call of the granter."""

    def __init__(self, granter: Granter) -> None:
        self.granter = granter
        self.queue: list[tuple[dict[str, Any], asyncio.Future[tuple[float, dict[str, Any]]]]] = []
        self.task: asyncio.Task[None] | None = None

    async def grant(self, request: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        future: asyncio.Future[tuple[float, dict[str, Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        self.queue.append((request, future))
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        await asyncio.sleep(_LINGER)  # let the other requests of this moment join
        while self.queue:
            batch, self.queue = self.queue[:_BATCH], self.queue[_BATCH:]
            try:
                expires_at, results = await self.granter([r for r, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result((expires_at, result))


class GrantedStorage:
    """A bucket (and prefix) the state server signs requests for."""

    def __init__(
        self,
        *,
        granter: Granter,
        bucket: str,
        verify: bool | str = True,
        max_pool_connections: int = 10,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
    ) -> None:
        self.bucket = bucket
        self.verify = verify
        self.max_pool_connections = max(10, max_pool_connections)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._batcher = _Batcher(granter)
        self._reads: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        #: PUT grants fetched ahead by prepare_puts, by (key, crc32c); each is used once.
        self._puts: dict[tuple[str, int], tuple[float, dict[str, Any]]] = {}
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"GrantedStorage(bucket={self.bucket!r})"

    @property
    def pool_size(self) -> int:
        return self.max_pool_connections

    @property
    def timeouts(self) -> tuple[float, float] | None:
        return (self.connect_timeout, self.read_timeout)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl: Any = True
            # As botocore does: verify= a CA bundle, else AWS_CA_BUNDLE, else the system's.
            cafile = (
                self.verify if isinstance(self.verify, str) else os.environ.get("AWS_CA_BUNDLE")
            )
            if self.verify is False:
                ssl = False
            elif cafile:
                import ssl as ssl_module

                ssl = ssl_module.create_default_context(cafile=cafile)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_pool_connections, ssl=ssl),
                timeout=aiohttp.ClientTimeout(
                    sock_connect=self.connect_timeout, sock_read=self.read_timeout
                ),
                auto_decompress=False,
                skip_auto_headers=("Content-Type",),
            )
        return self._session

    async def check_credentials(self) -> None:
        """Nothing to check here: the server refuses a grant it may not give."""

    async def prepare_puts(self, puts: Sequence[tuple[str, int]]) -> None:
        """Ask for the grants of these PUTs together (one granter call with what else is
        asked at the same moment), for ``put_object`` to use; errors are left to it."""
        if len(puts) < 2:
            return  # nothing to share
        requests = [{"op": "put", "key": key, "crc32c": crc} for key, crc in puts]
        answers = await asyncio.gather(
            *(self._batcher.grant(r) for r in requests), return_exceptions=True
        )
        for (key, crc), answer in zip(puts, answers, strict=True):
            if isinstance(answer, BaseException):
                if isinstance(answer, asyncio.CancelledError):
                    raise answer
                continue
            expires_at, result = answer
            if "grant" in result:
                self._puts[(key, crc)] = (expires_at, result["grant"])

    async def _grant(self, request: dict[str, Any], what: str) -> tuple[float, dict[str, Any]]:
        if request["op"] == "put":
            ahead = self._puts.pop((request["key"], request["crc32c"]), None)
            if ahead is not None:  # used at once: _send checks that it has not expired
                return ahead
        cacheable = request["op"] in ("get", "head")
        cache_key = (request["op"], request["key"])
        if cacheable:
            found = self._reads.get(cache_key)
            if found is not None and found[0] - _MARGIN > time.time():
                return found
        expires_at, result = await self._batcher.grant(request)
        error = result.get("error")
        if error is not None:
            raise StorageError(
                f"The server refused access for {what}: {error.get('detail') or error}",
                status_code=error.get("status"),
                code="AccessDenied",
            )
        answer = (expires_at, result["grant"])
        if cacheable:
            self._reads[cache_key] = answer
        return answer

    async def _send(
        self,
        request: dict[str, Any],
        what: str,
        *,
        body: PartBody | bytes | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> aiohttp.ClientResponse:
        """Grant and send one request; a grant that expired is fetched again, once."""
        for attempt in (1, 2):
            expires_at, grant = await self._grant(request, what)
            if expires_at - 1.0 < time.time() and attempt == 1:
                self._reads.pop((request["op"], request["key"]), None)
                continue
            all_headers = {**grant["headers"], **(headers or {})}
            if isinstance(body, PartBody):
                body.seek(0)
            try:
                response = await self._http().request(
                    grant["method"], grant["url"], data=body, headers=all_headers
                )
            except Exception as exc:
                if isinstance(body, PartBody):
                    body.retract()
                raise _connection_error(exc, what) from None
            if response.status < 300 or (stream and response.status == 206):
                return response
            payload = await response.read()
            response.release()
            if isinstance(body, PartBody):
                body.retract()
            error = _error(response.status, payload, what, response.headers)
            # A 403 on a first use may be an expired grant (AWS says "Request has expired";
            # Ceph RGW answers a bare AccessDenied): ask once more with a fresh one.
            if attempt == 1 and response.status == 403:
                self._reads.pop((request["op"], request["key"]), None)
                continue
            raise error
        raise StorageError(f"Storage kept refusing the grant for {what} as expired.")

    async def put_object(
        self, key: str, body: memoryview, *, crc32c: int, on_bytes: ByteCallback | None = None
    ) -> None:
        what = f"writing {key!r}"
        response = await self._send(
            {"op": "put", "key": key, "crc32c": crc32c}, what, body=PartBody(body, on_bytes)
        )
        response.release()

    async def create_multipart(self, key: str, *, part_size: int) -> str:
        what = f"starting a multipart upload of {key!r}"
        response = await self._send({"op": "create_multipart", "key": key}, what)
        upload_id = _text(_parse(await response.read()), "UploadId")
        if not upload_id:
            raise StorageError(f"Storage gave no upload id while {what}.")
        return upload_id

    async def upload_part(
        self,
        key: str,
        upload_id: str,
        number: int,
        body: memoryview,
        *,
        crc32c: int,
        on_bytes: ByteCallback | None = None,
    ) -> PartInfo:
        what = f"writing part {number} of {key!r}"
        stream = PartBody(body, on_bytes)
        request = {
            "op": "upload_part",
            "key": key,
            "upload_id": upload_id,
            "part_number": number,
            "crc32c": crc32c,
        }
        response = await self._send(request, what, body=stream)
        etag = response.headers.get("ETag", "")
        response.release()
        return PartInfo(number, etag, len(stream), crc32c)

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        parts: list[PartInfo] = []
        marker = 0
        while True:
            request = {
                "op": "list_parts",
                "key": key,
                "upload_id": upload_id,
                "part_number_marker": marker,
            }
            response = await self._send(request, f"listing the parts of {key!r}")
            root = _parse(await response.read())
            for el in root.iter():
                if el.tag.rsplit("}", 1)[-1] != "Part":
                    continue
                crc = _text(el, "ChecksumCRC32C")
                parts.append(
                    PartInfo(
                        int(_text(el, "PartNumber") or 0),
                        _text(el, "ETag") or "",
                        int(_text(el, "Size") or 0),
                        int.from_bytes(_b64(crc), "big") if crc else None,
                    )
                )
            if (_text(root, "IsTruncated") or "false").lower() != "true":
                return parts
            marker = int(_text(root, "NextPartNumberMarker") or 0)

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[PartInfo], *, crc32c: int
    ) -> None:
        items = []
        for p in parts:
            crc = (
                ""
                if p.crc32c is None
                else f"<ChecksumCRC32C>{crc32c_b64(p.crc32c)}</ChecksumCRC32C>"
            )
            etag = p.etag.replace("&", "&amp;").replace('"', "&quot;")
            items.append(
                f"<Part><PartNumber>{p.number}</PartNumber><ETag>{etag}</ETag>{crc}</Part>"
            )
        xml = (
            '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            + "".join(items)
            + "</CompleteMultipartUpload>"
        ).encode()
        what = f"completing {key!r}"
        request = {"op": "complete_multipart", "key": key, "upload_id": upload_id, "crc32c": crc32c}
        response = await self._send(request, what, body=xml)
        payload = await response.read()
        # S3 may answer 200 with an error document (the root element is then <Error>).
        if b"<Error>" in payload[:200]:
            raise _error(500, payload, what, response.headers)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            request = {"op": "abort_multipart", "key": key, "upload_id": upload_id}
            response = await self._send(request, f"aborting the upload of {key!r}")
            response.release()
        except StorageError as exc:
            # No longer pending (the server then aborts it itself), or gone already.
            if exc.code not in ("NoSuchUpload", "AccessDenied", "NoSuchKey"):
                raise

    async def list_multipart_uploads(self) -> list[MultipartInfo]:
        """The bucket cannot be listed with grants: the server cleans up what it holds."""
        return []

    async def head(self, key: str) -> int:
        response = await self._send({"op": "head", "key": key}, f"reading {key!r}")
        response.release()
        return int(response.headers.get("Content-Length", "0"))

    async def iter_range(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        if length <= 0:
            return
        what = f"reading {key!r}"
        response = await self._send(
            {"op": "get", "key": key},
            what,
            headers={"Range": f"bytes={start}-{start + length - 1}"},
            stream=True,
        )
        try:
            while True:
                try:
                    chunk = await response.content.read(_CHUNK)
                except Exception as exc:
                    raise _connection_error(exc, what) from None
                if not chunk:
                    break
                yield chunk
        finally:
            response.release()

    async def delete(self, key: str) -> None:
        try:
            response = await self._send({"op": "delete", "key": key}, f"deleting {key!r}")
            response.release()
        except StorageError as exc:
            # Not a pending upload of ours any more: the server deletes it after its grace.
            if exc.code != "AccessDenied":
                raise

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _parse(payload: bytes) -> ET.Element:
    """An S3 XML answer of the space's store (which the server's admin configured); expat
    resolves no external entities, and answers are small."""
    return ET.fromstring(payload)  # noqa: S314


def _b64(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


def _connection_error(exc: BaseException, what: str) -> JetrawError:
    """A transport error, without the URL aiohttp puts in its messages."""
    mapped = translate_error(exc, what)
    if isinstance(mapped, StorageConnectionError) and not mapped.retryable:
        return mapped  # a certificate that cannot be verified (the message names no URL)
    if isinstance(mapped, StorageConnectionError):
        return StorageConnectionError(
            f"Lost the connection to storage while {what} ({type(exc).__name__}).",
            retryable=mapped.retryable,
        )
    return StorageError(f"Storage error while {what}: {type(exc).__name__}.")


def _error(status: int, payload: bytes, what: str, headers: Any) -> StorageError:
    code = message = ""
    try:
        root = _parse(payload) if payload else None
    except ET.ParseError:
        root = None
    if root is not None:
        code, message = _text(root, "Code") or "", _text(root, "Message") or ""
    kw: dict[str, Any] = {
        "status_code": status,
        "code": code or None,
        "request_id": headers.get("x-amz-request-id"),
    }
    text = f"Storage refused {what}: {code or status} {message}".rstrip() + "."
    if status == 404 and code in ("", "NotFound"):
        kw["code"] = "NoSuchKey"
        return StorageError(f"No such object ({what}).", **kw)
    if code == "NoSuchKey" and "part" in what:
        kw["code"] = "NoSuchUpload"
    if status == 403:
        from jetraw._exceptions import StorageCredentialsError

        return StorageCredentialsError(text, **kw)
    return StorageError(text, retryable=status >= 500 or code in _TRANSIENT, **kw)
