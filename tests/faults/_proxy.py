"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1 (threads, blocking sockets).

The SDK is pointed at :attr:`FaultProxy.url` instead of the upstream (the state server, or moto
as a space's ``endpoint_url``). Every request is parsed (head and body, keep-alive kept), matched
against the :class:`Rule` list, and either forwarded untouched or hit by a fault:

- ``latency``: wait ``delay`` seconds, then forward.
- ``reset_before_body``: RST as soon as the request head is in (nothing reaches the upstream).
- ``reset_during_body``: read half the request body, then RST.
- ``reset_after_body``: forward the whole request, let the upstream process it, then RST instead
  of answering (the answer is lost: the ambiguous case).
- ``reset_during_response``: forward, then send the head and half the answer's body, then RST.
- ``reset_after_response``: forward and relay the whole answer, then RST the connection.
- ``status_500`` / ``status_503`` / ``status_429``: answer the status without forwarding (503 is
  S3's ``SlowDown`` XML, 429 carries ``Retry-After``).
- ``truncated``: forward, then send the head (its Content-Length intact) and half the body,
  then close cleanly (FIN): Content-Length larger than what was sent.
- ``stall``: read the request, never answer, keep the connection open.
- ``tls_refused``: (TLS proxies only) answer the connection's ClientHello with a fatal
  ``handshake_failure`` alert and close: a TLS endpoint refusing the handshake.

A rule hits the ``nth`` to ``nth + times - 1``-th matching requests (``times=None``: every one
from the ``nth`` on, the persistent variant); others pass through. ``tls_refused`` rules count
connections, not requests.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import socket
import ssl
import struct
import termios
import threading
import time
from dataclasses import dataclass, field

__all__ = ["FAULTS", "FaultProxy", "Rule", "Seen"]

FAULTS = (
    "latency",
    "reset_before_body",
    "reset_during_body",
    "reset_after_body",
    "reset_during_response",
    "reset_after_response",
    "status_500",
    "status_503",
    "status_429",
    "truncated",
    "stall",
    "tls_refused",
)

_TICK = 0.1  # how often blocked reads look at the stop flag

# A fatal TLS alert record (TLS 1.2 framing): level 2 (fatal), description 40 (handshake_failure).
_TLS_HANDSHAKE_FAILURE = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])

_S3_SLOWDOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message>"
    b"<RequestId>FAULT503</RequestId><HostId>fault-proxy</HostId></Error>"
)
_S3_INTERNAL = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message>"
    b"<RequestId>FAULT500</RequestId><HostId>fault-proxy</HostId></Error>"
)
_S3_THROTTLE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Too many requests.</Message>"
    b"<RequestId>FAULT429</RequestId><HostId>fault-proxy</HostId></Error>"
)
_PROBLEM_500 = b'{"code":"internal_error","title":"Internal Server Error","detail":"fault"}'
_PROBLEM_503 = b'{"code":"unavailable","title":"Service Unavailable","detail":"fault"}'
_PROBLEM_429 = b'{"code":"rate_limited","title":"Too Many Requests","detail":"fault"}'


class _Closed(Exception):
    """The peer closed its side (or the proxy is stopping)."""


@dataclass
class Rule:
    """Fault the matching requests ``nth`` .. ``nth + times - 1`` (1-based; ``times=None``:
    every matching request from the ``nth`` on)."""

    fault: str
    method: str = ".*"
    path: str = ".*"
    nth: int = 1
    times: int | None = 1
    delay: float = 0.3
    retry_after: str = "1"
    seen: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}")
        self._method = re.compile(self.method, re.IGNORECASE)
        self._path = re.compile(self.path)

    def matches(self, method: str, target: str) -> bool:
        return bool(self._method.fullmatch(method) and self._path.search(target))

    def take(self) -> bool:
        """Count one matching request; whether the fault hits it."""
        self.seen += 1
        last = None if self.times is None else self.nth + self.times - 1
        hit = self.seen >= self.nth and (last is None or self.seen <= last)
        if hit:
            self.fired += 1
        return hit


@dataclass
class Seen:
    """One request as the proxy saw it."""

    method: str
    target: str
    fault: str | None
    at: float = field(default_factory=time.monotonic)


class _Conn:
    """Buffered blocking reads from a socket that give up when the proxy stops."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop
        self.buf = bytearray()
        sock.settimeout(_TICK)

    def _fill(self) -> None:
        while True:
            if self.stop.is_set():
                raise _Closed
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ssl.SSLWantReadError:
                continue
            except OSError as exc:
                raise _Closed from exc
            if not data:
                raise _Closed
            self.buf += data
            return

    def read_head(self) -> bytes | None:
        """Bytes up to and including the blank line; None on a clean EOF before any byte."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.buf[: end + 4])
                del self.buf[: end + 4]
                return head
            try:
                self._fill()
            except _Closed:
                if not self.buf:
                    return None
                raise

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[: end + 2])
                del self.buf[: end + 2]
                return line
            self._fill()

    def read_chunked(self) -> bytes:
        """A chunked body, raw (sizes, data, trailers), as it came."""
        out = bytearray()
        while True:
            line = self.read_line()
            out += line
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    trailer = self.read_line()
                    out += trailer
                    if trailer == b"\r\n":
                        return bytes(out)
            out += self.read_exact(size + 2)

    def read_to_close(self) -> bytes:
        try:
            while True:
                self._fill()
        except _Closed:
            data = bytes(self.buf)
            self.buf.clear()
            return data

    def wait_closed(self) -> None:
        """Block until the peer closes or the proxy stops (a stall)."""
        try:
            while True:
                self._fill()
                self.buf.clear()
        except _Closed:
            return


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _build_head(first: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [first, *(f"{k}: {v}" for k, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _rst(sock: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed peer or a middlebox would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    _close(sock)


def _drained(sock: socket.socket, limit: float = 5.0) -> None:
    """Wait until the peer's kernel acknowledged every byte sent (Linux ``TIOCOUTQ``)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            unsent = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))
        except OSError:
            return
        if unsent[0] == 0:
            return
        time.sleep(0.002)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


class _Body:
    """How a message's body is framed."""

    def __init__(self, length: int | None, chunked: bool, to_close: bool = False) -> None:
        self.length = length
        self.chunked = chunked
        self.to_close = to_close

    def read(self, conn: _Conn) -> bytes:
        if self.chunked:
            return conn.read_chunked()
        if self.length is not None:
            return conn.read_exact(self.length)
        if self.to_close:
            return conn.read_to_close()
        return b""


def _request_body(headers: list[tuple[str, str]]) -> _Body:
    te = (_header(headers, "transfer-encoding") or "").lower()
    if "chunked" in te:
        return _Body(None, True)
    length = _header(headers, "content-length")
    return _Body(int(length) if length else 0, False)


def _response_body(method: str, status: int, headers: list[tuple[str, str]]) -> _Body:
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return _Body(0, False)
    te = (_header(headers, "transfer-encoding") or "").lower()
    if "chunked" in te:
        return _Body(None, True)
    length = _header(headers, "content-length")
    if length is not None:
        return _Body(int(length), False)
    return _Body(None, False, to_close=True)


class FaultProxy:
    """An HTTP/1.1 proxy to ``127.0.0.1:upstream_port`` that injects the faults of ``rules``.

    Args:
        upstream_port: Where requests go.
        kind: ``"state"`` (JSON problem bodies) or ``"s3"`` (S3 XML error bodies) for the
            synthesised error answers.
        tls: A server-side SSL context: the proxy then speaks HTTPS to its clients (and plain
            HTTP to the upstream).
    """

    def __init__(
        self, upstream_port: int, *, kind: str = "state", tls: ssl.SSLContext | None = None
    ) -> None:
        self.upstream_port = upstream_port
        self.kind = kind
        self.tls = tls
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socks: set[socket.socket] = set()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(_TICK)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, daemon=True, name="fault-proxy")
        self._thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def add(self, *rules: Rule) -> FaultProxy:
        with self._lock:
            self.rules.extend(rules)
        return self

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def requests(self, method: str = ".*", path: str = ".*", since: int = 0) -> list[Seen]:
        """The requests seen (from number ``since`` on) that match (regexes as in
        :class:`Rule`)."""
        probe = Rule("latency", method, path)
        with self._lock:
            return [s for s in self.seen[since:] if probe.matches(s.method, s.target)]

    def mark(self) -> int:
        """The number of requests seen so far (for :meth:`requests`' ``since``)."""
        with self._lock:
            return len(self.seen)

    def drop_connections(self) -> None:
        """Close every client connection now (call it while none is busy): the next requests
        come on new connections, so a connection-level fault can hit them."""
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def fired(self) -> int:
        with self._lock:
            return sum(r.fired for r in self.rules)

    # -- plumbing -------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
                self._socks.add(conn)
            threading.Thread(
                target=self._serve, args=(conn, number), daemon=True, name="fault-proxy-conn"
            ).start()

    def _pick(self, method: str, target: str, tls_only: bool = False) -> Rule | None:
        with self._lock:
            chosen = None
            for rule in self.rules:
                if (rule.fault == "tls_refused") != tls_only:
                    continue
                if rule.matches(method, target) and rule.take() and chosen is None:
                    chosen = rule
            if not tls_only:
                self.seen.append(Seen(method, target, chosen.fault if chosen else None))
            return chosen

    def _serve(self, raw: socket.socket, number: int) -> None:
        client: socket.socket = raw
        upstream: _Conn | None = None
        try:
            if self.tls is not None:
                if self._pick("CONNECT", f"#{number}", tls_only=True) is not None:
                    raw.settimeout(2.0)
                    try:
                        raw.recv(65536)  # the ClientHello
                        raw.sendall(_TLS_HANDSHAKE_FAILURE)
                    except OSError:
                        pass
                    _close(raw)
                    return
                raw.settimeout(5.0)
                try:
                    client = self.tls.wrap_socket(raw, server_side=True)
                except (OSError, ssl.SSLError):
                    _close(raw)
                    return
                with self._lock:
                    self._socks.add(client)
            conn = _Conn(client, self._stop)
            while True:
                following = self._one(conn, upstream)
                if following is not upstream and upstream is not None:
                    _close(upstream.sock)
                upstream = following
                if upstream is None:
                    return
        except _Closed:
            return
        except Exception:  # a broken peer must never take the proxy down
            return
        finally:
            if upstream is not None:
                _close(upstream.sock)
            _close(client)
            with self._lock:
                self._socks.discard(client)
                self._socks.discard(raw)

    def _one(self, conn: _Conn, upstream: _Conn | None) -> _Conn | None:
        """Serve one request; the upstream connection to go on with, or None to stop."""
        head = conn.read_head()
        if head is None:
            return None
        first, headers = _parse_head(head)
        method, target = first.split(" ")[0], first.split(" ")[1]
        rule = self._pick(method, target)
        fault = rule.fault if rule is not None else None
        body_framing = _request_body(headers)
        expect = (_header(headers, "expect") or "").lower() == "100-continue"
        forward_headers = [(k, v) for k, v in headers if k.lower() != "expect"]

        if fault == "latency":
            assert rule is not None
            time.sleep(rule.delay)
        if fault == "reset_before_body":
            _rst(conn.sock)
            return None
        if fault in ("status_500", "status_503", "status_429"):
            if not expect:  # with 100-continue the client has not sent it: answer at once
                body_framing.read(conn)
            self._answer_error(conn.sock, fault, rule)
            _close(conn.sock)
            return None
        if expect:
            conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if fault == "reset_during_body":
            if body_framing.length:
                conn.read_exact(max(1, body_framing.length // 2))
            _rst(conn.sock)
            return None
        body = body_framing.read(conn)
        if fault == "stall":
            conn.wait_closed()
            return None

        rhead, rbody, rframing, _status, rheaders, upstream = self._exchange(
            upstream, _build_head(first, forward_headers) + body, method
        )
        upstream_closes = rframing.to_close or (
            (_header(rheaders, "connection") or "").lower() == "close"
        )
        if upstream_closes:
            _close(upstream.sock)

        if fault == "reset_after_body":
            _close(upstream.sock)
            _rst(conn.sock)
            return None
        if fault in ("reset_during_response", "truncated"):
            conn.sock.sendall(rhead + rbody[: len(rbody) // 2])
            _close(upstream.sock)
            if fault == "truncated":
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_WR)
                time.sleep(0.05)
                _close(conn.sock)
            else:
                _rst(conn.sock)
            return None
        conn.sock.sendall(rhead + rbody)
        if fault == "reset_after_response":
            _close(upstream.sock)
            _drained(conn.sock)  # a RST drops unsent bytes: the whole answer goes first
            _rst(conn.sock)
            return None
        if upstream_closes:
            _close(conn.sock)
            return None
        return upstream

    def _exchange(
        self, upstream: _Conn | None, request: bytes, method: str
    ) -> tuple[bytes, bytes, _Body, int, list[tuple[str, str]], _Conn]:
        """Send one request upstream and read its answer. A kept-alive upstream connection the
        upstream closed meanwhile (idle timeout) is replaced once, so the proxy itself never
        adds a fault."""
        for attempt in range(2):
            reused = upstream is not None
            if upstream is None:
                sock = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
                upstream = _Conn(sock, self._stop)
            got_head = False
            try:
                upstream.sock.sendall(request)
                while True:
                    rhead = upstream.read_head()
                    if rhead is None:
                        raise _Closed
                    got_head = True
                    rfirst, rheaders = _parse_head(rhead)
                    status = int(rfirst.split(" ")[1])
                    if status >= 200:
                        break
                rframing = _response_body(method, status, rheaders)
                rbody = rframing.read(upstream)
                return rhead, rbody, rframing, status, rheaders, upstream
            except (_Closed, OSError):
                _close(upstream.sock)
                upstream = None
                if got_head or not reused or attempt or self._stop.is_set():
                    raise _Closed from None
        raise _Closed

    def _answer_error(self, sock: socket.socket, fault: str, rule: Rule | None) -> None:
        status, reason = {
            "status_500": (500, "Internal Server Error"),
            "status_503": (503, "Slow Down"),
            "status_429": (429, "Too Many Requests"),
        }[fault]
        if self.kind == "s3":
            body = {500: _S3_INTERNAL, 503: _S3_SLOWDOWN, 429: _S3_THROTTLE}[status]
            ctype = "application/xml"
        else:
            body = {500: _PROBLEM_500, 503: _PROBLEM_503, 429: _PROBLEM_429}[status]
            ctype = "application/problem+json"
        headers = [
            ("Content-Type", ctype),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
        if status == 429 and rule is not None:
            headers.append(("Retry-After", rule.retry_after))
        sock.sendall(_build_head(f"HTTP/1.1 {status} {reason}", headers) + body)

    def close(self) -> None:
        # Not joined: the threads see the flag within one tick and end on their own.
        self._stop.set()
        _close(self._listener)
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            _close(sock)
