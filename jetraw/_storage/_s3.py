"""S3 (and any S3-compatible store) through aiobotocore.

The session and client are created on the event loop that first uses them and closed by
:meth:`S3Storage.aclose`. Every botocore/aiohttp error is translated here, once, into the jetraw
tree; nothing above this module sees a botocore exception.

botocore >= 1.36 adds CRC32 checksums and aws-chunked trailers by default, which several
S3-compatible stores reject or store verbatim, so checksums are only sent when an operation
requires them; integrity is ours: the part CRC-32C goes in ``x-amz-checksum-crc32c`` and the
whole-file value is recorded by the state server and checked on download.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import anyio
import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from jetraw._crc import crc32c_b64
from jetraw._exceptions import (
    JetrawError,
    StorageConnectionError,
    StorageCredentialsError,
    StorageError,
)
from jetraw._storage._base import ByteCallback, MultipartInfo, PartInfo
from jetraw._storage._s3_body import PartBody
from jetraw._storage._s3_lean import LeanPut, WrongRegion
from jetraw._storage._wire import WirePools
from jetraw._util import protect_library_loggers

__all__ = ["S3Storage", "translate_error"]

logger = logging.getLogger("jetraw.storage")

_CHUNK = 1 << 20
_CREDENTIAL_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AllAccessDisabled",
    "AccountProblem",
}
_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
}
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    # botocore's ConnectionError (not the builtin) covers SSLError, EndpointConnectionError,
    # ConnectTimeoutError and ProxyConnectionError.
    botocore.exceptions.ConnectionError,
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.HTTPClientError,
    aiohttp.ClientConnectionError,
    aiohttp.ClientConnectorError,
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientPayloadError,
    ssl.SSLError,
    asyncio.TimeoutError,
    ConnectionError,
)


def translate_error(exc: BaseException, what: str) -> JetrawError:
    """Map one botocore/aiohttp error to the jetraw tree (never echoing credentials)."""
    if isinstance(exc, JetrawError):
        return exc
    if isinstance(
        exc,
        botocore.exceptions.NoCredentialsError
        | botocore.exceptions.PartialCredentialsError
        | botocore.exceptions.ProfileNotFound
        | botocore.exceptions.CredentialRetrievalError,
    ):
        return StorageCredentialsError(
            f"No usable AWS credentials for {what} ({type(exc).__name__}): configure the standard "
            "AWS chain (environment, ~/.aws/credentials, a profile)."
        )
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        request_id = exc.response.get("ResponseMetadata", {}).get("RequestId")
        message = f"Storage refused {what}: {code or status} {error.get('Message', '')}".rstrip()
        kw: dict[str, Any] = {"status_code": status, "code": code or None, "request_id": request_id}
        if code in _CREDENTIAL_CODES or status == 403:
            return StorageCredentialsError(message + ".", **kw)
        if status == 404 and code in ("", "404", "NotFound"):
            kw["code"] = "NoSuchKey"  # HEAD answers carry no body, so no code
            return StorageError(f"No such object ({what}).", **kw)
        if code == "NoSuchBucket":
            return StorageError(f"The bucket does not exist ({what}).", **kw)
        if code in _TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
            return StorageError(message + ".", retryable=True, **kw)
        return StorageError(message + ".", **kw)
    if _cert_verify_failed(exc):
        # A wrong CA or a bad certificate: retrying cannot help, and must not be tried.
        return StorageConnectionError(
            f"Storage's TLS certificate could not be verified while {what}: pass verify= a CA "
            "bundle that signs it (or set AWS_CA_BUNDLE). Not retried.",
            retryable=False,
        )
    if _is_tls(exc):
        return StorageConnectionError(
            f"The TLS handshake with storage failed while {what} ({type(exc).__name__}).",
            retryable=True,
        )
    if isinstance(exc, _CONNECTION_ERRORS):
        return StorageConnectionError(
            f"Lost the connection to storage while {what}: {exc}.", retryable=True
        )
    return StorageError(f"Storage error while {what}: {type(exc).__name__}: {exc}.")


def _causes(exc: BaseException) -> list[BaseException]:
    """The error, what it wraps (botocore keeps the original in ``kwargs["error"]``) and its
    causes, without looping."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is f for f in found) or len(found) > 16:
            continue
        found.append(item)
        kwargs = getattr(item, "kwargs", None)
        inner = kwargs.get("error") if isinstance(kwargs, dict) else None
        todo.extend([item.__cause__, item.__context__])
        if isinstance(inner, BaseException):
            todo.append(inner)
        os_error = getattr(item, "os_error", None)  # aiohttp's ClientConnectorError
        if isinstance(os_error, BaseException):
            todo.append(os_error)
    return found


def _cert_verify_failed(exc: BaseException) -> bool:
    return any(
        isinstance(e, ssl.SSLCertVerificationError | aiohttp.ClientConnectorCertificateError)
        or "CERTIFICATE_VERIFY_FAILED" in str(e)
        for e in _causes(exc)
    )


def _is_tls(exc: BaseException) -> bool:
    return any(
        isinstance(e, ssl.SSLError | botocore.exceptions.SSLError | aiohttp.ClientSSLError)
        for e in _causes(exc)
    )


class S3Storage:
    """A bucket (and key prefix) of an S3-compatible store."""

    #: Small objects' PUTs through :class:`~jetraw._storage._s3_lean.LeanPut` (False: botocore).
    lean_put = True
    #: Largest body sent the lean way. Measured up to 1 MiB: 2,000 x 1 MiB files, 3 interleaved
    #: rounds, lean vs botocore 471 vs 325 files/s, 1.83 vs 2.63 ms CPU/file (benchmarks/NOTES.md,
    #: "Small files (session 22)"); larger single PUTs are not measured yet: botocore above this.
    lean_put_max = 1 << 20

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
        addressing_style: str | None = None,
        verify: bool | str = True,
        aws_profile: str | None = None,
        max_pool_connections: int = 10,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.region = region
        self.endpoint_url = endpoint_url
        self.addressing_style = addressing_style or "auto"
        self.verify = verify
        self.aws_profile = aws_profile
        self.max_pool_connections = max(10, max_pool_connections)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._client: Any = None
        self._lean: LeanPut | bool | None = False  # False: not looked up yet
        self._pools = WirePools()  # the lean PUTs' connections
        self._stack: contextlib.AsyncExitStack | None = None
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return (
            f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r}, "
            f"endpoint_url={self.endpoint_url!r})"
        )

    @property
    def pool_size(self) -> int:
        return self.max_pool_connections

    @property
    def timeouts(self) -> tuple[float, float] | None:
        return (self.connect_timeout, self.read_timeout)

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def _get_client(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is not None:
                return self._client
            # botocore logs every signed request (session token, signature) at DEBUG: mask them.
            protect_library_loggers()
            try:
                session = AioSession(profile=self.aws_profile)
                # Resolve credentials before any request: a missing chain must fail here,
                # with nothing sent anywhere.
                credentials = await session.get_credentials()
            except Exception as exc:
                raise translate_error(exc, f"bucket {self.bucket!r}") from exc
            if credentials is None:
                raise StorageCredentialsError(
                    f"No AWS credentials found for bucket {self.bucket!r}: set them in the "
                    "environment, ~/.aws/credentials, or the profile's aws_profile."
                )
            config = AioConfig(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                max_pool_connections=self.max_pool_connections,
                s3={"addressing_style": self.addressing_style, "payload_signing_enabled": False},
                retries={"total_max_attempts": 1, "mode": "standard"},
                # A stalled connection fails the attempt (StorageConnectionError, retried).
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
            )
            stack = contextlib.AsyncExitStack()
            try:
                client = await stack.enter_async_context(
                    session.create_client(
                        "s3",
                        region_name=self.region or "us-east-1",
                        endpoint_url=self.endpoint_url or None,
                        # None lets botocore apply AWS_CA_BUNDLE / a profile's ca_bundle.
                        verify=None if self.verify is True else self.verify,
                        config=config,
                    )
                )
            except Exception as exc:
                await stack.aclose()
                raise translate_error(exc, f"bucket {self.bucket!r}") from exc
            protect_library_loggers()  # and the loggers of modules the client just imported
            self._stack, self._client = stack, client
            return client

    async def check_credentials(self) -> None:
        """Resolve the AWS credentials and build the client: nothing is sent to the bucket."""
        await self._get_client()

    async def _call(self, what: str, operation: str, **kwargs: Any) -> Any:
        client = await self._get_client()
        try:
            return await getattr(client, operation)(Bucket=self.bucket, **kwargs)
        except Exception as exc:
            raise translate_error(exc, what) from exc

    async def _lean_put(self) -> LeanPut | None:
        if self._lean is False:
            client = await self._get_client()
            find = LeanPut.for_bucket
            self._lean = (
                await find(client, self.bucket, None, self._pools) if self.lean_put else None
            )
        return self._lean if isinstance(self._lean, LeanPut) else None

    async def _relearn_lean(self, moved: WrongRegion) -> None:
        """After botocore followed a region redirect for a lean PUT: sign for the bucket's region
        from now on (botocore cached it, so its endpoint resolution gives that region's URL), or
        stay with botocore when the answer did not name the region or named the same one."""
        if self._lean is not None or moved.region is None:
            return  # already relearnt by a concurrent request, or botocore keeps the request
        self._lean = True  # looking up (a concurrent fallback does not look up twice)
        lean = None
        try:
            client = await self._get_client()
            lean = await LeanPut.for_bucket(client, self.bucket, moved.region, self._pools)
        except Exception:  # the object is stored: never fail its PUT over the fast path
            logger.debug("Cannot sign small PUTs for region %s", moved.region, exc_info=True)
        self._lean = lean if lean is not None and lean.region != moved.old_region else None

    async def prepare_puts(self, puts: Sequence[tuple[str, int]]) -> None:
        """Nothing to prepare: each PUT needs nothing from elsewhere."""

    async def put_object(
        self, key: str, body: memoryview, *, crc32c: int, on_bytes: ByteCallback | None = None
    ) -> None:
        stream = PartBody(body, on_bytes)
        lean = await self._lean_put() if len(body) <= self.lean_put_max else None
        moved: WrongRegion | None = None
        if lean is not None:
            try:
                await lean.put(self._key(key), stream, crc32c_b64(crc32c))
            except WrongRegion as exc:
                # The bucket is elsewhere: this request goes through botocore, which follows the
                # redirect (and caches the region); later ones are signed for that region.
                stream.retract()
                stream = PartBody(body, on_bytes)
                moved = exc
                if self._lean is lean:
                    self._lean = None
            except BaseException as exc:
                stream.retract()
                if isinstance(exc, Exception):
                    raise translate_error(exc, f"writing {key!r}") from exc
                raise
            else:
                return
        try:
            await self._call(
                f"writing {key!r}",
                "put_object",
                Key=self._key(key),
                Body=stream,
                ContentLength=len(stream),
                ChecksumCRC32C=crc32c_b64(crc32c),
            )
        except BaseException:
            stream.retract()
            raise
        if moved is not None:
            await self._relearn_lean(moved)

    async def create_multipart(self, key: str, *, part_size: int) -> str:
        response = await self._call(
            f"starting a multipart upload of {key!r}",
            "create_multipart_upload",
            Key=self._key(key),
            ChecksumAlgorithm="CRC32C",
            ChecksumType="FULL_OBJECT",
        )
        return str(response["UploadId"])

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
        stream = PartBody(body, on_bytes)
        try:
            response = await self._call(
                f"writing part {number} of {key!r}",
                "upload_part",
                Key=self._key(key),
                UploadId=upload_id,
                PartNumber=number,
                Body=stream,
                ContentLength=len(stream),
                ChecksumCRC32C=crc32c_b64(crc32c),
            )
        except BaseException as exc:
            stream.retract()
            if isinstance(exc, StorageError):
                mapped = _as_no_such_upload(exc, f"writing part {number} of {key!r}")
                if mapped is not exc:
                    raise mapped from exc
            raise
        return PartInfo(number, str(response["ETag"]), len(stream), crc32c)

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        parts: list[PartInfo] = []
        marker = 0
        while True:
            what = f"listing the parts of {key!r}"
            try:
                response = await self._call(
                    what,
                    "list_parts",
                    Key=self._key(key),
                    UploadId=upload_id,
                    PartNumberMarker=marker,
                )
            except StorageError as exc:
                mapped = _as_no_such_upload(exc, what)
                if mapped is exc:
                    raise
                raise mapped from exc
            for item in response.get("Parts", []):
                crc = item.get("ChecksumCRC32C")
                parts.append(
                    PartInfo(
                        int(item["PartNumber"]),
                        str(item["ETag"]),
                        int(item["Size"]),
                        int.from_bytes(base64.b64decode(crc), "big") if crc else None,
                    )
                )
            if not response.get("IsTruncated"):
                return parts
            marker = int(response["NextPartNumberMarker"])

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[PartInfo], *, crc32c: int
    ) -> None:
        listing = []
        for p in parts:
            entry: dict[str, Any] = {"PartNumber": p.number, "ETag": p.etag}
            if p.crc32c is not None:
                entry["ChecksumCRC32C"] = crc32c_b64(p.crc32c)
            listing.append(entry)
        await self._call(
            f"completing {key!r}",
            "complete_multipart_upload",
            Key=self._key(key),
            UploadId=upload_id,
            MultipartUpload={"Parts": listing},
            ChecksumCRC32C=crc32c_b64(crc32c),
            ChecksumType="FULL_OBJECT",
        )

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            await self._call(
                f"aborting the upload of {key!r}",
                "abort_multipart_upload",
                Key=self._key(key),
                UploadId=upload_id,
            )
        except StorageError as exc:
            if exc.code != "NoSuchUpload":
                raise

    async def list_multipart_uploads(self) -> list[MultipartInfo]:
        found: list[MultipartInfo] = []
        kwargs: dict[str, Any] = {"Prefix": self.prefix}
        while True:
            response = await self._call(
                "listing multipart uploads", "list_multipart_uploads", **kwargs
            )
            for item in response.get("Uploads", []):
                found.append(MultipartInfo(str(item["Key"])[len(self.prefix) :], item["UploadId"]))
            if not response.get("IsTruncated"):
                return found
            kwargs["KeyMarker"] = response.get("NextKeyMarker")
            kwargs["UploadIdMarker"] = response.get("NextUploadIdMarker")

    async def head(self, key: str) -> int:
        response = await self._call(f"reading {key!r}", "head_object", Key=self._key(key))
        return int(response["ContentLength"])

    async def iter_range(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        if length <= 0:
            return
        what = f"reading {key!r}"
        response = await self._call(
            what, "get_object", Key=self._key(key), Range=f"bytes={start}-{start + length - 1}"
        )
        body = response["Body"]
        try:
            async with body as stream:
                while True:
                    try:
                        chunk = await stream.read(_CHUNK)
                    except Exception as exc:
                        raise translate_error(exc, what) from exc
                    if not chunk:
                        break
                    yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await self._call(f"deleting {key!r}", "delete_object", Key=self._key(key))

    async def aclose(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        self._lean = False
        await self._pools.aclose()
        if stack is not None:
            await stack.aclose()


def _as_no_such_upload(exc: StorageError, what: str) -> StorageError:
    """The contract's error for an unknown multipart upload, whatever the store calls it.

    Ceph RGW answers ListParts and UploadPart of an unknown (or deleted-bucket) upload with 404
    NoSuchKey; AWS and moto say NoSuchUpload.
    """
    if exc.code == "NoSuchKey" and exc.status_code == 404:
        return StorageError(
            f"No such multipart upload ({what}).",
            status_code=404,
            code="NoSuchUpload",
            request_id=exc.request_id,
        )
    return exc
