"""The lean PUT's raw HTTP/1.1 client (jetraw/_storage/_wire.py) against a real local server.

A raw-socket server on 127.0.0.1 answers by the key's name: ``ok`` (200, keep-alive),
``chunked403`` (a chunked AccessDenied document), ``hang`` (reads the request, never answers),
``drop`` (closes without answering), ``closing`` (``Connection: close``, the body up to the
end), ``dropsecond`` (answers, then closes when the same connection sends a second request:
the race of a store closing an idle connection).
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from jetraw._crc import crc32c
from jetraw._exceptions import StorageConnectionError, StorageCredentialsError
from jetraw._storage import S3Storage, is_retryable
from jetraw._storage._s3_lean import LeanPut

from .conftest import TLSFiles

pytestmark = pytest.mark.anyio

_OK = b'HTTP/1.1 200 OK\r\nETag: "e"\r\nContent-Length: 0\r\n\r\n'
_DOC = (
    b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
    b"<Message>Access Denied</Message></Error>"
)


class _Server:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.tls = tls
        self.connections = 0
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    continue
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf, served = b"", 0
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next(
                    int(line.split(":")[1])
                    for line in lines
                    if line.lower().startswith("content-length")
                )
                while len(buf) < length:
                    buf += conn.recv(65536)
                buf = buf[length:]
                name = lines[0].split(" ")[1].rsplit("/", 1)[-1]
                self.requests.append(name)
                if name == "drop" or (name == "dropsecond" and served):
                    return
                if name == "hang":
                    self._stop.wait(10)
                    return
                if name == "chunked403":
                    half = len(_DOC) // 2
                    conn.sendall(
                        b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n"
                        b"x-amz-request-id: req-chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n"
                        % (half, _DOC[:half], len(_DOC) - half, _DOC[half:])
                    )
                elif name == "closing":  # an HTTP/1.0-style answer: no length, then the end
                    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                    return
                else:
                    conn.sendall(_OK)
                served += 1

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def server() -> Iterator[_Server]:
    made = _Server()
    yield made
    made.close()


def _backend(url: str, **kw: Any) -> S3Storage:
    return S3Storage(bucket="bkt", endpoint_url=url, addressing_style="path", **kw)


async def _put(backend: S3Storage, key: str, size: int = 3000) -> None:
    data = os.urandom(size)
    await backend.put_object(key, memoryview(bytearray(data)), crc32c=crc32c(data))
    lean = backend._lean
    assert isinstance(lean, LeanPut)
    assert lean._wire is not None


async def test_keep_alive_reuses_one_connection(server: _Server) -> None:
    backend = _backend(f"http://127.0.0.1:{server.port}")
    try:
        for i, size in enumerate((0, 1, 3000, 65536, 1 << 20)):
            await _put(backend, f"ok{i}", size)
    finally:
        await backend.aclose()
    assert server.connections == 1
    assert len(server.requests) == 5


async def test_idle_connection_closed_by_the_store_is_retried_once(server: _Server) -> None:
    backend = _backend(f"http://127.0.0.1:{server.port}")
    try:
        await _put(backend, "dropsecond")
        await _put(backend, "dropsecond")  # dropped on the reused connection, sent again
    finally:
        await backend.aclose()
    assert server.requests == ["dropsecond"] * 3
    assert server.connections == 2


async def test_a_connection_dropped_twice_is_a_retryable_jetraw_error(server: _Server) -> None:
    backend = _backend(f"http://127.0.0.1:{server.port}")
    try:
        await _put(backend, "ok")
        with pytest.raises(StorageConnectionError) as info:
            await _put(backend, "drop")
    finally:
        await backend.aclose()
    assert is_retryable(info.value)
    assert server.requests == ["ok", "drop", "drop"]  # the reused connection, then one new one


async def test_chunked_error_document(server: _Server) -> None:
    backend = _backend(f"http://127.0.0.1:{server.port}")
    try:
        with pytest.raises(StorageCredentialsError) as info:
            await _put(backend, "chunked403")
        await _put(backend, "ok")  # the connection stays usable after a chunked answer
    finally:
        await backend.aclose()
    assert info.value.code == "AccessDenied"
    assert info.value.status_code == 403
    assert info.value.request_id == "req-chunked"
    assert server.connections == 1


async def test_read_timeout_is_a_retryable_jetraw_error(server: _Server) -> None:
    backend = _backend(f"http://127.0.0.1:{server.port}", read_timeout=0.3)
    try:
        with pytest.raises(StorageConnectionError) as info:
            await _put(backend, "hang")
        assert not backend._pools[("http", "127.0.0.1", server.port)]._idle  # not reused
    finally:
        await backend.aclose()
    assert is_retryable(info.value)
    assert "timeout" in str(info.value).lower()


async def _put_error(backend: S3Storage) -> StorageConnectionError:
    """The error of one PUT through ``backend`` (closed afterwards)."""
    try:
        with pytest.raises(StorageConnectionError) as info:
            await _put(backend, "ok")
    finally:
        await backend.aclose()
    return info.value


async def test_refused_connection_is_a_retryable_jetraw_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens once closed
    error = await _put_error(_backend(f"http://127.0.0.1:{port}"))
    assert is_retryable(error)


async def test_tls_with_the_test_ca(tls: TLSFiles) -> None:
    server = _Server(tls.server)
    try:
        backend = _backend(f"https://127.0.0.1:{server.port}", verify=str(tls.ca))
        try:
            for i in range(3):
                await _put(backend, f"ok{i}", 70000)
        finally:
            await backend.aclose()
        assert server.connections == 1
        # A client that does not trust the test CA: a certificate error, never retried.
        error = await _put_error(_backend(f"https://127.0.0.1:{server.port}"))
        assert not is_retryable(error)
        assert "certificate" in str(error)
    finally:
        server.close()


async def test_proxy_keeps_the_aiohttp_path(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    backend = _backend("http://s3.example.invalid")
    try:
        lean = await backend._lean_put()
        assert lean is not None
        assert lean._wire is None
    finally:
        await backend.aclose()


async def test_wire_and_aiohttp_lean_paths_fail_alike(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors = []
    for wire in (True, False):
        monkeypatch.setattr(LeanPut, "wire", wire)
        backend = _backend(f"http://127.0.0.1:{server.port}")
        try:
            with pytest.raises(StorageCredentialsError) as info:
                await backend.put_object("chunked403", memoryview(b"x"), crc32c=crc32c(b"x"))
            lean = backend._lean
            assert isinstance(lean, LeanPut)
            assert (lean._wire is not None) is wire
        finally:
            await backend.aclose()
        errors.append(info.value)
    assert str(errors[0]) == str(errors[1])
    assert [e.request_id for e in errors] == ["req-chunked"] * 2


async def test_connection_close_is_honoured(server: _Server) -> None:
    backend = _backend(f"http://127.0.0.1:{server.port}")
    try:
        await _put(backend, "closing")
        await _put(backend, "ok")  # on a new connection, nothing resent
    finally:
        await backend.aclose()
    assert server.requests == ["closing", "ok"]
    assert server.connections == 2


async def test_cancelled_request_drops_its_connection(server: _Server) -> None:
    import anyio

    backend = _backend(f"http://127.0.0.1:{server.port}")
    try:
        await _put(backend, "ok")
        with anyio.move_on_after(0.2):
            await _put(backend, "hang")
        assert not backend._pools[("http", "127.0.0.1", server.port)]._idle  # not reused
        await _put(backend, "ok")
    finally:
        await backend.aclose()
    assert server.requests == ["ok", "hang", "ok"]
    assert server.connections == 2
