"""TLS verification, CA bundles and proxies from the environment, over real sockets; and a
browser login interrupted with Ctrl-C.
"""

from __future__ import annotations

import datetime
import json
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from jetraw import _exceptions as exc
from jetraw.aio import AsyncClient

ROOT = Path(__file__).resolve().parents[2]
TOKEN = {
    "access_token": "at_tls",
    "token_type": "Bearer",
    "expires_in": 600,
    "organisation": {"id": "o1", "name": "acme"},
    "user": {"id": "u1", "email": "tls@example.org", "name": "T"},
}


class _Fake(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def _reply(self) -> None:
        type(self).seen.append(f"{self.command} {self.path}")
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        if self.path.endswith("/oauth/token"):
            body = json.dumps(TOKEN).encode()
        else:
            body = json.dumps(
                {"user": TOKEN["user"], "organisation": TOKEN["organisation"], "role": "member"}
            ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, format: str, *args: object) -> None:
        pass


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _serve(
    tls: tuple[Path, Path] | None = None, handler: type[BaseHTTPRequestHandler] | None = None
) -> Iterator[str]:
    """Serve ``handler`` (the fake state server by default) on 127.0.0.1 until closed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler or _Fake)
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = _self_signed(tmp_path)
    for url in _serve((cert, key)):
        yield url, cert


@pytest.fixture
def proxy() -> Iterator[str]:
    _Fake.seen = []
    yield from _serve()


@pytest.mark.anyio
async def test_tls_verify_default_rejects_unknown_ca(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    with pytest.raises(exc.ServerConnectionError, match="TLS"):
        async with AsyncClient("jrk_x", server=url, retries=1):
            pass


@pytest.mark.anyio
async def test_tls_verify_with_ca_bundle_argument(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    async with AsyncClient("jrk_x", server=url, verify=str(cert)) as client:
        assert client.verify == str(cert)
        assert (await client.whoami()).email == "tls@example.org"


@pytest.mark.anyio
async def test_tls_ca_bundle_from_ssl_cert_file(
    tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    async with AsyncClient("jrk_x", server=url) as client:
        assert (await client.whoami()).email == "tls@example.org"


@pytest.mark.anyio
async def test_proxy_from_environment(proxy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy)
    # A host that does not resolve: only the proxy can answer for it.
    async with AsyncClient("jrk_x", server="http://jetraw.invalid") as client:
        await client.whoami()
    assert "POST http://jetraw.invalid/oauth/token" in _Fake.seen
    assert "GET http://jetraw.invalid/api/v1/me" in _Fake.seen


def test_ctrl_c_during_browser_login_exits_cleanly(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "JETRAW_CONFIG_DIR": str(tmp_path / "cfg"),
        "JETRAW_TOKEN_STORAGE": "memory",
        "HOME": str(tmp_path),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from jetraw.cli import main; main()",
            "login",
            "--no-browser",
            "--server",
            "http://127.0.0.1:9",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines = [proc.stderr.readline(), proc.stderr.readline()]
    url = lines[1].strip()
    assert url.startswith("http://127.0.0.1:9/oauth/authorize?"), lines
    redirect = url.split("redirect_uri=", 1)[1].split("&", 1)[0]
    port = int(redirect.split("%3A")[2].split("%2F")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # the listener was up before the URL was shown
    # Let the loop accept that probe first: asyncio on 3.11 logs an InvalidStateError when a
    # pending accept and the cancellation land in the same loop iteration (a CPython race).
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "Interrupted." in err
    assert "Traceback" not in err
    time.sleep(0.1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.anyio
async def test_unreadable_ca_bundle_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(exc.ConfigurationError, match="not a readable CA bundle"):
        async with AsyncClient("jrk_x", server="https://127.0.0.1:9", verify=str(tmp_path / "no")):
            pass


# -- the deferred CA bundle (jetraw._tls): verification from the start, certificates on first use --


def _context_of(client: AsyncClient) -> ssl.SSLContext:
    pool = client._login.http()._client._transport._pool  # type: ignore[attr-defined]
    context: ssl.SSLContext = pool._ssl_context
    return context


def test_the_deferred_context_verifies_before_its_cas_are_loaded(
    tls_server: tuple[str, Path],
) -> None:
    from jetraw._tls import DeferredCAContext

    url, cert = tls_server
    context = DeferredCAContext.create(cafile=str(cert))
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert not context.ca_loaded
    assert context.cert_store_stats()["x509_ca"] == 0
    # Were the loading ever skipped, the context would trust no CA at all: refused, not open.
    context._ca_pending = None
    port = int(url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ssl.SSLContext.wrap_socket(context, sock, server_hostname="127.0.0.1")
    # Loaded (as the first handshake does), the same bundle is trusted.
    context = DeferredCAContext.create(cafile=str(cert))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        context.wrap_socket(sock, server_hostname="127.0.0.1"),
    ):
        pass
    assert context.ca_loaded
    assert context.cert_store_stats()["x509_ca"] == 1


@pytest.mark.anyio
async def test_a_client_of_an_http_server_never_loads_the_ca_bundle(proxy: str) -> None:
    async with AsyncClient("jrk_x", server=proxy) as client:
        await client.whoami()
        context = _context_of(client)
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert not context.ca_loaded  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_the_first_https_request_loads_and_verifies(tls_server: tuple[str, Path]) -> None:
    url, _ = tls_server
    client = AsyncClient("jrk_x", server=url, retries=0, refresh_token_if_empty=False)
    try:
        assert not _context_of(client).ca_loaded  # type: ignore[attr-defined]
        with pytest.raises(exc.ServerConnectionError, match="TLS"):
            await client.whoami()
        assert _context_of(client).ca_loaded  # type: ignore[attr-defined]
    finally:
        await client.aclose()


@pytest.fixture
def redirect_to(tls_server: tuple[str, Path]) -> Iterator[str]:
    target, _ = tls_server

    class Redirect(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            self.send_response(307)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _reply

        def log_message(self, format: str, *args: object) -> None:
            pass

    yield from _serve(handler=Redirect)


@pytest.mark.anyio
async def test_a_redirect_to_https_cannot_bypass_verification(redirect_to: str) -> None:
    import httpx

    client = AsyncClient("jrk_x", server=redirect_to, retries=0, refresh_token_if_empty=False)
    try:
        # jetraw follows no redirect: the answer is an error, and no TLS is attempted.
        with pytest.raises(exc.JetrawError):
            await client.whoami()
        assert not _context_of(client).ca_loaded  # type: ignore[attr-defined]
        # Even made to follow it, the client's one context verifies: the self-signed target
        # is refused.
        raw = client._login.http()._client
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await raw.get(redirect_to + "/api/v1/me", follow_redirects=True)
        assert _context_of(client).ca_loaded  # type: ignore[attr-defined]
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_a_missing_ssl_cert_file_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(exc.ConfigurationError, match="SSL_CERT_FILE"):
        async with AsyncClient("jrk_x", server="http://127.0.0.1:9"):
            pass


def test_the_deferred_context_has_the_settings_of_create_default_context() -> None:
    from jetraw._tls import DeferredCAContext

    ours, reference = DeferredCAContext.create(), ssl.create_default_context()
    for name in (
        "protocol",
        "verify_mode",
        "check_hostname",
        "verify_flags",
        "options",
        "minimum_version",
        "maximum_version",
        "post_handshake_auth",
        "hostname_checks_common_name",
        "security_level",
    ):
        assert getattr(ours, name) == getattr(reference, name), name
    assert ours.get_ciphers() == reference.get_ciphers()
