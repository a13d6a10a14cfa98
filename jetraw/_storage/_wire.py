"""A raw HTTP/1.1 client for the lean PUT: keep-alive connections, one write per request.

aiohttp's request machinery (session, connector, request and response objects, header
multidicts, stream reader, timers) was ~45 % of a small file's client CPU (benchmarks/NOTES.md,
"Small files (session 22)"). The lean PUT needs none of it: one method, a known set of headers,
a body in memory, an answer that is a status, a few headers and at most an error document. This
module sends exactly that over pooled connections of its own:

- a keep-alive pool per (scheme, host, port), at most ``size`` connections (the client's
  ``max_pool_connections``), most recently used first;
- the head in one ``transport.write``, the body as a view of the caller's buffer;
- the answer parsed minimally: status line, headers (lower-cased names), a body by
  ``Content-Length``, ``Transfer-Encoding: chunked`` or up to the end of the connection;
  ``Connection: close`` (or HTTP/1.0) ends the connection;
- TLS with the SSL context aiobotocore's connector uses (verification, CA bundle, client
  certificate alike), SNI and hostname checks against the URL's host;
- the client's connect and read timeouts; every failure raised as the botocore exception
  aiobotocore raises for it (``ConnectTimeoutError``, ``ReadTimeoutError``, ``SSLError``,
  ``EndpointConnectionError``, ``ConnectionClosedError``), which
  :func:`~jetraw._storage._s3.translate_error` maps and the transfer engine retries;
- a request on a reused connection that fails before any byte of an answer (the store closed
  the idle connection) is sent again, once, on a new connection, as aiohttp and urllib3 do.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from typing import NamedTuple

import botocore.exceptions

__all__ = ["WireAnswer", "WirePool", "WirePools"]

_MAX_HEAD = 64 << 10  # bytes of status line and headers before an answer is refused


class WireAnswer(NamedTuple):
    """An HTTP answer: status, headers (names lower-cased), body."""

    status: int
    headers: dict[str, str]
    body: bytes


class _BadAnswer(Exception):
    """The bytes received are not an HTTP/1.1 answer."""


class _ReadTimeout(Exception):
    """No byte of the answer for the read timeout."""


class _Conn(asyncio.Protocol):
    """One connection: at most one request in flight; the answer parsed as it arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._waiter: asyncio.Future[WireAnswer] | None = None
        self._head: tuple[int, dict[str, str], bool] | None = None  # status, headers, keep-alive
        self.closed = False
        self.got_bytes = False  # any byte of the current answer
        self.last_read = 0.0
        self._eof = False
        self._drain: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        self.got_bytes = True
        self.last_read = self.loop.time()
        if self._waiter is None:  # an answer nobody asked for (e.g. 408 before a close)
            self.close()
            return
        self._parse()

    def eof_received(self) -> bool:
        self._eof = True
        if self._waiter is not None:
            self._parse()
        self.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("the store closed the connection"))
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def pause_writing(self) -> None:
        self._drain = self.loop.create_future()

    def resume_writing(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    # -- requests
    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.cancel()  # nobody awaits it any more: no "exception never retrieved"
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, exc: BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    async def send(self, head: bytes, body: memoryview) -> asyncio.Future[WireAnswer]:
        """Write a request; the future is its answer."""
        assert self.transport is not None
        self._buf.clear()
        self._head = None
        self.got_bytes = False
        waiter = self._waiter = self.loop.create_future()
        if len(body) <= 16384:
            self.transport.write(head + body)  # one segment for a small body (one copy of it)
        else:
            self.transport.write(head)
            self.transport.write(body)
        if self._drain is not None:
            await self._drain
        return waiter

    def _parse(self) -> None:
        try:
            answer = self._answer()
        except _BadAnswer as exc:
            self._fail(exc)
            self.close()
            return
        if answer is not None:
            waiter, self._waiter = self._waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result(answer)

    def _answer(self) -> WireAnswer | None:
        """The answer if it is complete (the connection closed if it cannot be reused)."""
        buf = self._buf
        if self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD or self._eof:
                    raise _BadAnswer("no complete HTTP answer head")
                return None
            lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
            del buf[: end + 4]
            version, _, rest = lines[0].partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or not code.isdigit():
                raise _BadAnswer(f"bad status line {lines[0][:80]!r}")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    raise _BadAnswer(f"bad header line {line[:80]!r}")
                name = name.strip().lower()
                value = value.strip()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            status = int(code)
            if 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
                return self._answer() if buf else None
            tokens = headers.get("connection", "").lower()
            keep = "close" not in tokens and (version == "HTTP/1.1" or "keep-alive" in tokens)
            self._head = (status, headers, keep)
        status, headers, keep = self._head
        if status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            chunked = self._dechunk()
            if chunked is None:
                return None
            body = chunked
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise _BadAnswer("bad Content-Length") from None
            if len(buf) < length:
                if self._eof:
                    raise _BadAnswer("the answer's body was cut short")
                return None
            body = bytes(buf[:length])
        else:  # delimited by the end of the connection
            if not self._eof:
                return None
            body, keep = bytes(buf), False
        if not keep:
            self.close()
        return WireAnswer(status, headers, body)

    def _dechunk(self) -> bytes | None:
        buf, pos, out = self._buf, 0, bytearray()
        while True:
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            size_text = bytes(buf[pos:end]).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BadAnswer("bad chunk size") from None
            if size == 0:
                trailer = buf.find(b"\r\n\r\n", end)  # the empty line (after any trailers)
                if buf[end : end + 4] == b"\r\n\r\n" or trailer >= 0:
                    return bytes(out)
                break
            if len(buf) < end + 2 + size + 2:
                break
            out += buf[end + 2 : end + 2 + size]
            pos = end + 2 + size + 2
        if self._eof:
            raise _BadAnswer("the chunked body was cut short")
        return None


class WirePool:
    """Keep-alive HTTP/1.1 connections to one (scheme, host, port).

    Args:
        scheme: ``http`` or ``https``.
        host: The host to connect to (and to check the certificate against).
        port: The port.
        ssl_context: The TLS context for ``https`` (None for ``http``).
        size: Most connections open at once (further requests wait for one).
        connect_timeout: Seconds for the TCP and TLS handshakes.
        read_timeout: Seconds without a byte of the answer before the request fails.
    """

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None,
        size: int,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> None:
        self._scheme, self._host, self._port = scheme, host, port
        self._ssl = ssl_context if scheme == "https" else None
        self._url = f"{scheme}://{host}:{port}"
        self._idle: collections.deque[_Conn] = collections.deque()
        self._slots = asyncio.Semaphore(size)
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._open: set[_Conn] = set()

    async def request(self, head: bytes, body: memoryview) -> WireAnswer:
        """Send ``head`` (request line and headers, ending in an empty line) and ``body``."""
        async with self._slots:
            conn = self._idle_conn()
            if conn is not None:
                try:
                    return await self._exchange(conn, head, body)
                except botocore.exceptions.BotoCoreError:
                    raise  # a read timeout (botocore's timeouts are OSErrors too): not resent
                except (OSError, _BadAnswer) as exc:
                    if conn.got_bytes:
                        raise self._error(exc) from exc
                    # The store closed the idle connection: once more on a new one.
            conn = await self._connect()
            try:
                return await self._exchange(conn, head, body)
            except botocore.exceptions.BotoCoreError:
                raise
            except (OSError, _BadAnswer) as exc:
                raise self._error(exc) from exc

    def _idle_conn(self) -> _Conn | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        return None

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Conn(loop),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl is not None else None,
                ),
                self._connect_timeout,
            )
        except asyncio.TimeoutError as exc:
            raise botocore.exceptions.ConnectTimeoutError(
                endpoint_url=self._url, error=exc
            ) from exc
        except ssl.SSLError as exc:
            raise botocore.exceptions.SSLError(endpoint_url=self._url, error=exc) from exc
        except OSError as exc:
            raise botocore.exceptions.EndpointConnectionError(
                endpoint_url=self._url, error=exc
            ) from exc
        self._open.add(conn)
        return conn

    async def _exchange(self, conn: _Conn, head: bytes, body: memoryview) -> WireAnswer:
        done = False
        try:
            waiter = await conn.send(head, body)
            answer = await self._wait(conn, waiter)
            done = True
        finally:
            if not done:  # failed or cancelled mid-request: the connection's state is unknown
                conn.abort()
            if conn.closed:
                self._open.discard(conn)
            else:
                self._idle.append(conn)
        return answer

    async def _wait(self, conn: _Conn, waiter: asyncio.Future[WireAnswer]) -> WireAnswer:
        timeout = self._read_timeout
        if timeout is None:
            return await waiter
        loop = asyncio.get_running_loop()
        conn.last_read = loop.time()
        conn.timer = loop.call_later(timeout, self._check, conn, waiter, timeout)
        try:
            return await waiter
        except _ReadTimeout as exc:
            raise botocore.exceptions.ReadTimeoutError(endpoint_url=self._url, error=exc) from exc
        finally:
            if conn.timer is not None:
                conn.timer.cancel()

    @staticmethod
    def _check(conn: _Conn, waiter: asyncio.Future[WireAnswer], timeout: float) -> None:
        """The read timer: fail the request after ``timeout`` s without a byte, else re-arm."""
        if waiter.done():
            return
        loop = conn.loop
        idle = loop.time() - conn.last_read
        if idle >= timeout:
            waiter.set_exception(_ReadTimeout(f"no byte of the answer in {timeout} s"))
        else:
            conn.timer = loop.call_later(timeout - idle, WirePool._check, conn, waiter, timeout)

    def _error(self, exc: BaseException) -> botocore.exceptions.BotoCoreError:
        if isinstance(exc, ssl.SSLError):
            return botocore.exceptions.SSLError(endpoint_url=self._url, error=exc)
        return botocore.exceptions.ConnectionClosedError(endpoint_url=self._url, error=exc)

    async def aclose(self) -> None:
        """Close every connection (idle or not)."""
        conns, self._open = list(self._open), set()
        self._idle.clear()
        for conn in conns:
            conn.abort()
        if conns:
            await asyncio.sleep(0)  # let the transports call connection_lost and free sockets


class WirePools(dict[tuple[str, str, int], WirePool]):
    """A storage backend's pools by (scheme, host, port); closed with it."""

    async def aclose(self) -> None:
        """Close every pool's connections."""
        pools = list(self.values())
        self.clear()
        for pool in pools:
            await pool.aclose()
