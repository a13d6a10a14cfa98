"""Run the platform under uvicorn on a socket bound up front (so port 0 works).

Every way of serving the platform builds its uvicorn configuration with :func:`uvicorn_config`:
uvicorn's defaults believe ``X-Forwarded-For`` from any loopback peer, which would let a local
caller choose the address the login and token rate limits count.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import uvicorn

from jetraw._util import atomic_write
from jetraw._util._env import ENV_TRUSTED_PROXIES
from jetraw.server._app import create_app
from jetraw.server._bootstrap import BOOTSTRAP_FILE, bootstrap, describe
from jetraw.server._settings import ServerSettings

__all__ = [
    "ENV_TRUSTED_PROXIES",
    "READY_PREFIX",
    "bind",
    "configure_logging",
    "run",
    "settings_from",
    "trusted_proxies",
    "url_for",
    "uvicorn_config",
]

READY_PREFIX = "JETRAW_SERVER_READY "


def trusted_proxies(
    values: Iterable[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """The trusted proxies from ``--trusted-proxy`` values, else from the environment.

    Each entry is an IP address or a network (``10.0.0.0/8``); ``*`` trusts every peer (only
    behind a proxy that is the sole way in).

    Raises:
        ValueError: An entry is neither.
    """
    given = [v for value in values or () for v in value.split(",")]
    if not given:
        env = os.environ if environ is None else environ
        given = env.get(ENV_TRUSTED_PROXIES, "").split(",")
    result: list[str] = []
    for entry in (v.strip() for v in given):
        if not entry:
            continue
        if entry != "*":
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {entry!r}") from None
        result.append(entry)
    return tuple(result)


def uvicorn_config(app: Any, settings: ServerSettings, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration to serve ``app``: forwarded headers only from trusted proxies.

    Args:
        app: The application from :func:`jetraw.server.create_app`.
        settings: Its settings; ``settings.trusted_proxies`` empty means no proxy is trusted.
        **options: Other :class:`uvicorn.Config` options (``log_level``, ``access_log``, ...).
    """
    options.setdefault("lifespan", "on")
    options.setdefault("access_log", False)
    proxies = list(trusted_proxies(settings.trusted_proxies, {}))
    if proxies:
        return uvicorn.Config(app, proxy_headers=True, forwarded_allow_ips=proxies, **options)
    # proxy_headers=False: uvicorn neither reads the headers nor consults FORWARDED_ALLOW_IPS.
    return uvicorn.Config(app, proxy_headers=False, **options)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port``, inheritable so uvicorn can serve it.

    Port ``0`` picks any free port; read it back with ``sock.getsockname()[1]``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio enables TCP_NODELAY only on sockets whose proto says TCP,
    # and without it Nagle + delayed ACKs add ~40 ms to every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_for(host: str, port: int) -> str:
    """The base URL of a server on ``host``:``port`` (IPv6 hosts in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run(
    settings: ServerSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready_file: Path | None = None,
    announce: Callable[[str], None] = print,
    log_level: str = "warning",
) -> None:
    """Bootstrap if needed, serve until SIGINT/SIGTERM, then return.

    When serving, prints a line ``JETRAW_SERVER_READY {"url", "port", "pid"}`` and writes the same
    JSON to ``ready_file`` (atomically), so a parent that started us on port 0 learns the port.
    """
    sock = bind(host, port)
    bound_port = sock.getsockname()[1]
    url = url_for(host, bound_port)
    if settings.base_url is None:
        settings.base_url = url
    app = create_app(settings)
    info = bootstrap(app)
    if info is not None:
        announce(describe(info, url))
    elif (settings.data_dir / BOOTSTRAP_FILE).exists():
        announce(
            f"Existing data; the first run's credentials: {settings.data_dir / BOOTSTRAP_FILE}"
        )
    server = uvicorn.Server(uvicorn_config(app, settings, log_level=log_level))
    ready = {"url": url, "port": bound_port, "pid": os.getpid()}

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        # uvicorn offers a flag, not an event, for "listening".
        while not server.started and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if server.started:
            if ready_file is not None:
                atomic_write(ready_file, json.dumps(ready))
            announce(READY_PREFIX + json.dumps(ready))
            sys.stdout.flush()
        await task

    try:
        asyncio.run(main())
    finally:
        sock.close()


def configure_logging(level: str) -> None:
    """Log to stderr at ``level`` (a logging level name, e.g. ``"warning"``).

    The access log (``jetraw.server.access``, at ``info``) gets a handler of its own that writes
    each entry as it is, one JSON object per line, with no prefix.
    """
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.WARNING),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    access = logging.getLogger("jetraw.server.access")
    if not any(getattr(h, "jetraw_access", False) for h in access.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.jetraw_access = True  # type: ignore[attr-defined]
        access.addHandler(handler)
        access.propagate = False


def settings_from(**values: Any) -> ServerSettings:
    """:class:`ServerSettings` from keyword values; ``None`` means "the default"."""
    return ServerSettings(**{k: v for k, v in values.items() if v is not None})
