"""A TCP proxy on 127.0.0.1 that resets connections once a request body grows too large."""

from __future__ import annotations

import select
import socket
import struct
import threading


class DroppingProxy:
    """Forwards to ``upstream``; a connection that sends more than ``drop_after`` bytes upstream
    is reset (RST), as a flaky network or a middlebox would do to large uploads."""

    def __init__(self, upstream_port: int, drop_after: int, max_drops: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.drop_after = drop_after
        self.max_drops = max_drops
        self.dropped = 0
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._listener], [], [], 0.1)
            if not ready:
                continue
            conn, _ = self._listener.accept()
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        sent = 0
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([client, upstream], [], [], 0.1)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        sent += len(data)
                        if sent > self.drop_after and (
                            self.max_drops is None or self.dropped < self.max_drops
                        ):
                            self.dropped += 1
                            for s in (client, upstream):
                                s.setsockopt(
                                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                                )
                            return
                        upstream.sendall(data)
                    else:
                        client.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
