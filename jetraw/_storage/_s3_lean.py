"""A lean single-request PUT: botocore's SigV4 signer over aiobotocore's own aiohttp session.

``client.put_object`` costs ~0.8 ms of CPU per request here (parameter validation,
serialisation, endpoint rules, a dozen event hooks, response parsing), four times the request
itself. For a small file's one PUT this module signs and sends the request directly, keeping
what matters:

- the same credential chain (the client's refreshable credentials, frozen per request);
- the same signing: what ``S3SigV4Auth`` computes with the client's config (unsigned payload,
  as botocore sends it; the CRC-32C header is signed), by
  :class:`~jetraw._storage._s3_sign.PutSigner`, which fixes per bucket and per day what
  botocore's signer recomputes per request;
- the same URL: the bucket's URL prefix is taken once from botocore's own endpoint resolution
  (a presigned URL of a sentinel key), so addressing style, endpoints and regions match;
- the same TLS context (verification, CA bundle), pool size and timeouts as aiobotocore's
  session, over connections of :class:`~jetraw._storage._wire.WirePool` (a raw HTTP/1.1 client
  at a third of aiohttp's CPU per request); with a proxy configured for the URL, through
  aiobotocore's aiohttp session itself, proxy and all;
- the same error mapping (a non-2xx answer becomes the ``ClientError`` botocore would raise,
  then :func:`~jetraw._storage._s3.translate_error`); retries stay with the transfer engine;
- the same region redirect: an answer that says the bucket is in another region (a 301/302/307,
  ``PermanentRedirect``, ``AuthorizationHeaderMalformed`` naming a region,
  ``IllegalLocationConstraintException``) raises :class:`WrongRegion`, and the caller sends that
  request through botocore, whose redirect handler finds the bucket's region, retries there and
  caches it; the lean path then signs for the region the store named.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import aiohttp.http
import botocore.exceptions
from yarl import URL

from jetraw._storage._s3_body import PartBody
from jetraw._storage._s3_sign import PutSigner, signed_host
from jetraw._storage._wire import WirePool, WirePools

__all__ = ["LeanPut", "WrongRegion"]

_SENTINEL = "jetraw-lean-put-sentinel"
_REDIRECT_STATUS = (301, 302, 307)
_REDIRECT_CODES = ("PermanentRedirect", "IllegalLocationConstraintException")


class WrongRegion(Exception):
    """The store answered that the bucket is in another region than the one signed for.

    Attributes:
        region: The bucket's region as the answer gave it (``x-amz-bucket-region`` or the error
            document's ``Region``), or None when it did not say.
        old_region: The region the request was signed for.
        error: The answer as botocore would have raised it.
    """

    def __init__(
        self, region: str | None, old_region: str, error: botocore.exceptions.ClientError
    ) -> None:
        super().__init__(f"the bucket is in region {region or '(unknown)'}, not {old_region}")
        self.region = region
        self.old_region = old_region
        self.error = error


class LeanPut:
    """PUTs of whole objects to one bucket, through an aiobotocore S3 client's session."""

    #: Send over :class:`~jetraw._storage._wire.WirePool`\ s where possible (False: aiohttp).
    wire = True

    def __init__(self, client: Any, url_prefix: str, region: str | None = None) -> None:
        self._client = client
        self._prefix = url_prefix
        self._http = client._endpoint.http_session
        self._credentials = client._get_credentials()
        #: The region requests are signed for.
        self.region: str = region or client.meta.region_name or "us-east-1"
        self._signer = PutSigner(url_prefix, self.region)
        # As aiobotocore's send() finds them per request; they depend only on the URL's scheme
        # and user info, which every key under the prefix shares.
        self._proxy = self._http._proxy_config.proxy_url_for(url_prefix)
        self._proxy_headers = self._http._proxy_config.proxy_headers_for(url_prefix)
        self._wire: WirePool | None = None
        parts = urlsplit(url_prefix)
        self._head = (
            f"Host: {signed_host(url_prefix)}\r\nAccept: */*\r\nAccept-Encoding: identity\r\n"
            f"User-Agent: {aiohttp.http.SERVER_SOFTWARE}\r\n"
        )
        self._path = parts.path

    @classmethod
    async def for_bucket(
        cls, client: Any, bucket: str, region: str | None = None, pools: WirePools | None = None
    ) -> LeanPut | None:
        """The lean path for ``bucket``, or None where it cannot match botocore exactly
        (an ARN, anonymous access, payload signing on, a client without the internals it uses).
        ``region``: sign for this region rather than the client's (the bucket's, learnt from a
        redirect; the URL comes from botocore's endpoint resolution, which uses the region it
        cached). ``pools``: send through these raw HTTP/1.1 pools (and add the bucket's host's)
        where no proxy is configured; None: aiobotocore's session always."""
        if ":" in bucket:
            return None  # an access point or Outposts ARN: other signing names and hosts
        try:
            if client._get_credentials() is None:
                return None
            if (client.meta.config.s3 or {}).get("payload_signing_enabled") is not False:
                return None  # botocore would sign the payload's SHA-256: not this signer
            url = await client.generate_presigned_url(
                "put_object", Params={"Bucket": bucket, "Key": _SENTINEL}, ExpiresIn=60
            )
            _ = client._endpoint.http_session, client.meta.config
        except (AttributeError, botocore.exceptions.BotoCoreError):
            return None
        base = url.partition("?")[0]
        if not base.endswith("/" + _SENTINEL):
            return None
        lean = cls(client, base[: -len(_SENTINEL)], region)
        if pools is not None and cls.wire:
            lean._wire = await lean._wire_pool(pools)
        return lean

    async def _wire_pool(self, pools: WirePools) -> WirePool | None:
        """The raw pool for the prefix's host, with aiobotocore's TLS context, pool size and
        timeouts; None where it could not send what aiohttp sends (a proxy, user info)."""
        http, parts = self._http, urlsplit(self._prefix)
        # (aiobotocore ignores botocore's socket options, as this does; asyncio sets TCP_NODELAY.)
        if self._proxy is not None or parts.username is not None:
            return None
        scheme, host = parts.scheme, parts.hostname or ""
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
        if port is None or not host:
            return None
        pool = pools.get((scheme, host, port))
        if pool is None:
            context = None
            if scheme == "https":
                session = await http._get_session(None)  # builds aiobotocore's TLS context
                context = getattr(session.connector, "_ssl", None)
                if not isinstance(context, ssl.SSLContext):
                    return None
            timeout = http._timeout
            pool = pools.setdefault(
                (scheme, host, port),
                WirePool(
                    scheme,
                    host,
                    port,
                    ssl_context=context,
                    size=http._max_pool_connections,
                    connect_timeout=timeout.sock_connect,
                    read_timeout=timeout.sock_read,
                ),
            )
        return pool

    async def put(self, key: str, body: PartBody, crc32c_b64: str) -> None:
        """PUT ``body`` at ``key`` (the full key, prefix included) with its CRC-32C (base64).

        Raises:
            WrongRegion: The answer says the bucket is in another region (send it through
                botocore, which follows the redirect).
            botocore.exceptions.ClientError: Another non-2xx answer, as botocore would raise it.
        """
        frozen = await self._credentials.get_frozen_credentials()
        quoted, send = self._signer.headers(
            key,
            length=len(body),
            crc32c_b64=crc32c_b64,
            access_key=frozen.access_key,
            secret_key=frozen.secret_key,
            token=frozen.token,
        )
        if self._wire is not None:
            head = f"PUT {self._path}{quoted} HTTP/1.1\r\n{self._head}" + "".join(
                [f"{name}: {value}\r\n" for name, value in send.items()]
            )
            body.seek(0)
            answer = await self._wire.request(
                (head + "\r\n").encode("latin-1"), body.take(len(body))
            )
            status, headers, payload = answer
        else:
            session = await self._http._get_session(self._proxy)
            send["Accept-Encoding"] = "identity"
            async with session.put(
                URL(self._prefix + quoted, encoded=True),  # quoted already, as aiobotocore does
                data=body,
                headers=send,
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
            ) as response:
                payload = await response.read()
                status, headers = response.status, response.headers
        if status < 300:
            return
        error = _client_error(status, headers, payload)
        if _is_redirect(status, error):
            named = headers.get("x-amz-bucket-region")
            region = str(named or error.response["Error"].get("Region") or "") or None
            raise WrongRegion(region, self.region, error)
        raise error


def _is_redirect(status: int, error: botocore.exceptions.ClientError) -> bool:
    """Whether botocore's region redirector (``S3RegionRedirectorv2``) would act on this answer."""
    info = error.response["Error"]
    code = info.get("Code")
    return (
        status in _REDIRECT_STATUS
        or code in _REDIRECT_CODES
        or (code == "AuthorizationHeaderMalformed" and bool(info.get("Region")))
    )


def _client_error(status: int, headers: Any, payload: bytes) -> botocore.exceptions.ClientError:
    code, message = str(status), ""
    request_id = headers.get("x-amz-request-id")  # botocore's S3 parser: the header only
    try:
        # The store's own error document, as botocore parses it (no DTDs or entities in S3's).
        root = ElementTree.fromstring(payload) if payload else None  # noqa: S314
    except ElementTree.ParseError:
        root = None
    if root is not None:
        code = root.findtext("Code") or code
        message = root.findtext("Message") or ""
    error: dict[str, str] = {"Code": code, "Message": message}
    if root is not None and root.findtext("Region"):
        error["Region"] = root.findtext("Region") or ""
    response: Any = {
        "Error": error,
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": request_id},
    }
    return botocore.exceptions.ClientError(response, "PutObject")
