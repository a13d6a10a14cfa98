"""Requests to the state server: timeouts, retries, and the one place HTTP errors become jetraw's.

The logic without I/O (which error a response means, whether and how long to wait before a retry)
is plain functions; :class:`StateServerHTTP` is the thin async shell around ``httpx``.

Secrets never reach a log line or an exception: tokens travel only in the ``Authorization`` header
and in form bodies (never in a URL, which httpx logs), our own log lines carry method, path,
status and request id, and the header is attached only to requests for the state server's origin.
"""

from __future__ import annotations

import logging
import os
import random
import ssl
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import anyio

import jetraw._exceptions as exc
from jetraw._httpx import httpx
from jetraw._tls import default_verify_context
from jetraw._util import Backoff

__all__ = [
    "RetryPolicy",
    "StateServerHTTP",
    "error_from_response",
    "is_idempotent",
    "parse_retry_after",
    "problem_to_error",
    "same_origin",
    "tls_verify",
]

logger = logging.getLogger("jetraw.http")

_CODE_TO_ERROR: dict[str, type[exc.JetrawError]] = {
    "invalid_request": exc.APIError,
    "invalid_path": exc.InvalidPathError,
    "invalid_name": exc.ConfigurationError,
    "unauthorized": exc.InvalidCredentialsError,
    "forbidden": exc.PermissionDeniedError,
    "not_a_member": exc.PermissionDeniedError,
    "not_found": exc.NotFoundError,
    "organisation_not_found": exc.OrganisationNotFoundError,
    "space_not_found": exc.SpaceNotFoundError,
    "file_not_found": exc.RemotePathNotFoundError,
    "upload_not_found": exc.UploadNotFoundError,
    "api_key_not_found": exc.ApiKeyNotFoundError,
    "file_exists": exc.RemotePathExistsError,
    "space_exists": exc.ConflictError,
    "not_a_directory": exc.ConflictError,
    "is_a_directory": exc.ConflictError,
    "directory_not_empty": exc.DirectoryNotEmptyError,
    "upload_not_pending": exc.UploadStateError,
    "size_mismatch": exc.ConflictError,
    "rate_limited": exc.RateLimitedError,
}

_STATUS_TO_ERROR: dict[int, type[exc.JetrawError]] = {
    401: exc.InvalidCredentialsError,
    403: exc.PermissionDeniedError,
    404: exc.NotFoundError,
    409: exc.ConflictError,
    429: exc.RateLimitedError,
}

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def is_idempotent(method: str) -> bool:
    """Whether a request with this method may be repeated safely (RFC 9110 §9.2.2)."""
    return method.upper() in _IDEMPOTENT_METHODS


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    """Whether two URLs share scheme, host and port (the ``Authorization`` boundary)."""
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    import time

    return max(0.0, float(when) - (time.time() if now is None else now))


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def problem_to_error(
    problem: Mapping[str, Any],
    *,
    status: int | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> exc.JetrawError:
    """The jetraw error of one problem document (RFC 9457; or an OAuth error answer).

    The one mapping of the state server's errors, for whole answers and for the items of a
    batch answer alike. Branches on the problem ``code`` (stable), falling back on the status;
    keeps ``status_code``, ``code``, ``request_id`` and (429) ``retry_after``.
    """
    code = str(problem.get("code") or problem.get("error") or "")
    detail = (
        problem.get("detail") or problem.get("error_description") or problem.get("title") or code
    )
    if status is None and isinstance(problem.get("status"), int):
        status = problem["status"]
    request_id = request_id or problem.get("request_id")
    if retry_after is None and isinstance(problem.get("retry_after"), (int, float)):
        retry_after = float(problem["retry_after"])
    kind = _CODE_TO_ERROR.get(code) or _STATUS_TO_ERROR.get(status or 0) or exc.APIError
    kw: dict[str, Any] = {"status_code": status, "code": code or None, "request_id": request_id}
    if kind is exc.RateLimitedError:
        return exc.RateLimitedError(str(detail), retry_after=retry_after, **kw)
    return kind(str(detail), **kw)


def error_from_response(response: httpx.Response, *, server: str = "") -> exc.JetrawError:
    """Translate an error answer of the state server into a jetraw exception.

    An answer that is not a problem document at all means the URL is probably not a Jetraw
    server, and says so; a problem document goes through :func:`problem_to_error`.
    """
    body = _decode(response)
    request_id = response.headers.get("x-request-id")
    status = response.status_code
    if not isinstance(body, dict) or not ("code" in body or "error" in body):
        where = server or str(response.request.url.copy_with(query=None))
        return exc.APIError(
            f"The server at {where} answered HTTP {status} without a Jetraw error document; "
            "check the server URL (`--server`, JETRAW_SERVER or the profile).",
            status_code=status,
            request_id=request_id,
        )
    return problem_to_error(
        body,
        status=status,
        request_id=request_id,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


class RetryPolicy:
    """How often and how long to retry a state-server request.

    The delays are :class:`jetraw._util.Backoff`'s: exponential, capped, with full jitter (uniform
    between 0 and the window), and a ``Retry-After`` honoured up to the cap.

    Args:
        attempts: Total tries, the first included (``AsyncClient(retries=n)`` makes ``n + 1``).
        backoff: Base delay in seconds (the window doubles per attempt).
        max_backoff: Cap of one delay; also the cap applied to ``Retry-After``.
        rand: Source of randomness in [0, 1) (injectable for tests).
    """

    def __init__(
        self,
        attempts: int = 4,
        backoff: float = 0.25,
        max_backoff: float = 10.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.attempts = attempts
        self.schedule = Backoff(base=backoff, cap=max_backoff, rand=rand)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep after the failed try number ``attempt`` (1-based)."""
        return self.schedule.delay(attempt, retry_after)

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(attempts={self.attempts}, backoff={self.schedule.base}, "
            f"max_backoff={self.schedule.cap})"
        )


# Errors raised before a byte of the request can have reached the server: always retryable.
_DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def tls_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """httpx's ``verify`` for ours: a CA bundle file or directory becomes an SSL context.

    ``True`` becomes what httpx makes of it (``SSL_CERT_FILE``, ``SSL_CERT_DIR``, else certifi's
    bundle) as a :class:`~jetraw._tls.DeferredCAContext`: verifying from the start, but reading
    the certificates on the first TLS handshake, so a client of an ``http://`` server never pays
    for them.
    """
    if verify is True:
        try:
            return default_verify_context()
        except FileNotFoundError as error:
            raise exc.ConfigurationError(
                f"{error}: point it at a CA bundle (file or directory), or unset it"
            ) from None
    if verify is False:
        return False
    path = os.path.expanduser(verify)
    try:
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as error:
        raise exc.ConfigurationError(
            f"verify={verify!r} is not a readable CA bundle: {error}"
        ) from None


class StateServerHTTP:
    """The HTTP shell: one ``httpx.AsyncClient`` for one state server.

    Args:
        server: Base URL of the state server (``https://jetraw.example.org``).
        verify: TLS verification: ``True``, ``False`` or a CA bundle path.
        timeout: httpx timeout (seconds or :class:`httpx.Timeout`).
        retry: The retry policy.
        transport: An httpx transport (tests inject ``httpx.MockTransport``).
    """

    def __init__(
        self,
        server: str,
        *,
        verify: bool | str = True,
        timeout: float | httpx.Timeout = _DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server = server
        self.base_url = httpx.URL(server)
        self.retry = retry or RetryPolicy()
        self._client = httpx.AsyncClient(
            base_url=server,
            verify=tls_verify(verify),
            timeout=timeout,
            transport=transport,
            trust_env=True,
            follow_redirects=False,
            headers={"User-Agent": "jetraw-python"},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def send(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one request (with retries), returning the final response, error or not.

        Raises:
            ServerConnectionError: The server could not be reached after the retries.
            RateLimitedError: 429 after the retries.
        """
        if idempotent is None:
            idempotent = is_idempotent(method)
        request = self._client.build_request(method, path, json=json, data=data, params=params)
        if token is not None:
            if not same_origin(request.url, self.base_url):
                raise exc.ConfigurationError(
                    f"Refusing to send credentials to {request.url.host}: not the state server."
                )
            request.headers["Authorization"] = f"Bearer {token}"
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._client.send(request)
            except httpx.HTTPError as error:
                retryable = isinstance(error, _NOT_SENT) or (
                    idempotent and isinstance(error, httpx.TransportError)
                )
                if retryable and attempt < self.retry.attempts:
                    wait = self.retry.delay(attempt)
                    logger.debug(
                        "%s %s failed (%s); retry %d in %.2fs",
                        method,
                        request.url.path,
                        type(error).__name__,
                        attempt,
                        wait,
                    )
                    await anyio.sleep(wait)
                    continue
                raise self._connection_error(error) from error
            request_id = response.headers.get("x-request-id")
            logger.debug(
                "%s %s -> %d (request id %s, try %d)",
                method,
                request.url.path,
                response.status_code,
                request_id,
                attempt,
            )
            if response.status_code in _RETRY_STATUSES and attempt < self.retry.attempts:
                can_retry = idempotent or response.status_code in (429, 503)
                if can_retry:
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    await response.aclose()
                    await anyio.sleep(self.retry.delay(attempt, retry_after))
                    continue
            return response

    def _connection_error(self, error: httpx.HTTPError) -> exc.ServerConnectionError:
        kind = type(error).__name__
        if isinstance(error, httpx.TimeoutException):
            what = "timed out"
        elif isinstance(error, httpx.ConnectError) and "SSL" in str(error).upper():
            what = "failed the TLS handshake (pass verify= a CA bundle, or set SSL_CERT_FILE)"
        elif isinstance(error, httpx.ConnectError):
            what = "refused or unreachable"
        else:
            what = f"failed ({kind})"
        return exc.ServerConnectionError(
            f"Cannot reach the Jetraw server at {self.server}: connection {what}. "
            "Check the server URL (`--server`, JETRAW_SERVER or the profile) and that it is up."
        )
