"""Fixtures of the fault matrix: moto S3, the reference platform, and fault proxies in front
of both (the SDK only ever talks to a proxy)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import google_crc32c
import pytest

from jetraw.testing import LocalPlatform

from ._proxy import FaultProxy

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def crc_hex(data: bytes) -> str:
    return f"{google_crc32c.value(data):08x}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].rstrip("/"))


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    return AWS_ENV


@pytest.fixture
def s3(moto_url: str, aws_env: dict[str, str]) -> Any:
    """A boto3 client straight to moto (never through a proxy): the independent reader."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="session")
def fast_platform() -> Iterator[LocalPlatform]:
    """A platform of our own whose access tokens live 1 s and whose device logins poll every
    1 s (settings the shared ``jetraw_platform`` must keep at their defaults)."""
    platform = LocalPlatform(access_token_ttl=1)
    platform.start()
    try:
        platform.set_device_poll_interval(1)
        yield platform
    finally:
        platform.close()


# -- TLS ------------------------------------------------------------------------------------------


class TLSFiles:
    def __init__(self, ca: Path, server: ssl.SSLContext) -> None:
        self.ca = ca
        self.server = server


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jetraw fault matrix CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    root = tmp_path_factory.mktemp("tls")
    ca_file, cert_file, key_file = root / "ca.pem", root / "cert.pem", root / "key.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return TLSFiles(ca_file, context)


# -- proxies --------------------------------------------------------------------------------------


@pytest.fixture
def make_proxy() -> Iterator[Callable[..., FaultProxy]]:
    """``make_proxy(upstream_url, kind=..., tls=...)``: a proxy closed after the test."""
    made: list[FaultProxy] = []

    def make(upstream: str, **kw: Any) -> FaultProxy:
        proxy = FaultProxy(_port(upstream), **kw)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


class S3Space:
    """A fresh space on moto S3 whose endpoint URL is a fault proxy, and a direct reader."""

    def __init__(self, platform: LocalPlatform, s3: Any, proxy: FaultProxy, name: str) -> None:
        self.platform = platform
        self.s3 = s3
        self.proxy = proxy
        self.name = name
        self.bucket = f"faults-{uuid.uuid4().hex[:16]}"
        self.prefix = "space-data/"
        s3.create_bucket(Bucket=self.bucket)
        platform.create_space(
            name,
            storage={
                "type": "s3",
                "bucket": self.bucket,
                "prefix": "space-data",
                "region": "us-east-1",
                "endpoint_url": proxy.url,
                "addressing_style": "path",
            },
        )

    def read_object(self, object_key: str) -> bytes | None:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=self.prefix + object_key)
        except self.s3.exceptions.NoSuchKey:
            return None
        return bytes(answer["Body"].read())

    def open_multipart_uploads(self) -> list[Any]:
        return list(self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []))


@pytest.fixture
def make_space(
    s3: Any, moto_url: str, make_proxy: Callable[..., FaultProxy]
) -> Callable[..., S3Space]:
    def make(platform: LocalPlatform, tls: ssl.SSLContext | None = None) -> S3Space:
        proxy = make_proxy(moto_url, kind="s3", tls=tls)
        return S3Space(platform, s3, proxy, f"f-{uuid.uuid4().hex[:12]}")

    return make


# -- the half-visible watcher ---------------------------------------------------------------------


class Watcher:
    """Polls ``stat`` of some paths straight on the platform (no proxy) while an operation runs;
    every time a file is visible its stored bytes must all be there with the recorded CRC."""

    def __init__(self, platform: LocalPlatform, space: S3Space, paths: list[str]) -> None:
        self.platform = platform
        self.space = space
        self.paths = paths
        self.violations: list[str] = []
        self.sightings = 0

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        from jetraw import RemotePathNotFoundError
        from jetraw.aio import AsyncClient

        async with AsyncClient(self.platform.api_key, server=self.platform.url) as direct:
            task_status.started()
            while True:
                for path in self.paths:
                    try:
                        remote: Any = await direct.stat(path)
                    except RemotePathNotFoundError:
                        continue
                    await self.check(remote)
                await anyio.sleep(0.05)

    async def check(self, remote: Any) -> None:
        self.sightings += 1
        data = await anyio.to_thread.run_sync(self.space.read_object, remote.object_key)
        if data is None:
            self.violations.append(f"{remote.path}: visible, but no object")
        elif len(data) != remote.size or crc_hex(data) != remote.checksum:
            self.violations.append(
                f"{remote.path}: visible with {len(data)} of {remote.size} bytes "
                f"(crc {crc_hex(data)} vs {remote.checksum})"
            )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
