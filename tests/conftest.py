"""Suite-wide safety: nothing leaves 127.0.0.1, nothing reads the developer's own config."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_CLEARED = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
)

# A shell without job control starts background commands (`cmd &`, nohup) with SIGINT ignored,
# and an ignored signal stays ignored across exec: every Ctrl-C test would then see no
# KeyboardInterrupt, here or in the processes it starts. Python's own handler is reset to the
# default on exec, so the children get a working Ctrl-C too.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Set before anything imports botocore: without credentials it would probe 169.254.169.254.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def require_system(what: str, available: bool) -> None:
    """Skip when a system component is missing, except in CI, where it is a failure."""
    if available:
        return
    reason = f"{what} is not available on this machine"
    if os.environ.get("JETRAW_REQUIRE_SYSTEM_TESTS") == "1":
        pytest.fail(reason + " (JETRAW_REQUIRE_SYSTEM_TESTS=1)")
    pytest.skip(reason)


def have_binary(name: str) -> bool:
    return shutil.which(name) is not None


# -- S3 servers: moto in this process, Ceph RGW (a real S3) when there is one -----------------

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}

# Read at import: the autouse fixture below clears every JETRAW_* variable for each test.
_RGW_ENV = {
    name: os.environ.get(f"JETRAW_TEST_RGW_{name}", "")
    for name in ("HTTP", "HTTPS", "CA", "ACCESS_KEY", "SECRET_KEY")
}
RGW_SCRIPTS = Path(__file__).resolve().parent.parent / "scripts" / "rgw"


@dataclass(frozen=True)
class S3Endpoint:
    """An S3 server for tests: its URL, the keys it accepts and the CA its certificate needs."""

    name: str  # the test id: "moto", "rgw", "rgw-https"
    url: str
    access_key: str
    secret_key: str
    ca: str | None = None

    @property
    def env(self) -> dict[str, str]:
        """The AWS variables that point the SDK (and a child process) at this server."""
        env = {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        if self.ca:
            env["AWS_CA_BUNDLE"] = self.ca
        return env

    def boto3_client(self, attempts: int | None = None) -> Any:
        """An independent boto3 reader/writer of this server's buckets.

        Checksums only where required: Ceph RGW refuses the aws-chunked uploads with trailing
        checksums that boto3 sends by default over HTTPS (411 MissingContentLength).
        """
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            verify=self.ca or True,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"total_max_attempts": attempts} if attempts else None,
            ),
        )


class RgwServers:
    """Ceph RGW over HTTP and HTTPS: given by the CI (``JETRAW_TEST_RGW_*``, from
    ``scripts/rgw/start.sh``) or started here with that script when radosgw is installed."""

    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self._tmp = tmp
        self._endpoints: dict[str, S3Endpoint] | None = None
        self._problem: str | None = None
        self._started_in: Path | None = None

    def endpoint(self, name: str) -> S3Endpoint:
        """The ``rgw`` or ``rgw-https`` endpoint; skips (fails in CI) without one."""
        if self._endpoints is None and self._problem is None:
            self._find()
        require_system(f"Ceph RGW ({self._problem})", self._endpoints is not None)
        assert self._endpoints is not None
        return self._endpoints[name]

    def _find(self) -> None:
        env = dict(_RGW_ENV)
        if not env["HTTP"]:
            if not have_binary("radosgw"):
                self._problem = "radosgw not installed, JETRAW_TEST_RGW_HTTP not set"
                return
            env = self._start()
            if not env:
                return
        self._endpoints = {
            name: S3Endpoint(name, url, env["ACCESS_KEY"], env["SECRET_KEY"], ca)
            for name, url, ca in (
                ("rgw", env["HTTP"], None),
                ("rgw-https", env["HTTPS"], env["CA"] or None),
            )
        }

    def _start(self) -> dict[str, str]:
        directory = self._tmp.mktemp("rgw")
        self._started_in = directory
        run_env = {**os.environ, "JETRAW_RGW_DIR": str(directory), "JETRAW_RGW_NO_INSTALL": "1"}
        done = subprocess.run(
            ["bash", str(RGW_SCRIPTS / "start.sh")],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            self._problem = f"scripts/rgw/start.sh failed: {done.stderr[-2000:]}"
            return {}
        prefix = "export JETRAW_TEST_RGW_"
        return dict(
            line[len(prefix) :].split("=", 1)
            for line in done.stdout.splitlines()
            if line.startswith(prefix)
        )

    def close(self) -> None:
        if self._started_in is not None:
            subprocess.run(
                ["bash", str(RGW_SCRIPTS / "stop.sh")],
                env={**os.environ, "JETRAW_RGW_DIR": str(self._started_in)},
                capture_output=True,
                timeout=120,
            )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[S3Endpoint]:
    """moto's S3 server in a thread of this process, for the session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield S3Endpoint(
        "moto",
        f"http://127.0.0.1:{port}",
        AWS_ENV["AWS_ACCESS_KEY_ID"],
        AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    server.stop()


@pytest.fixture(scope="session")
def rgw_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RgwServers]:
    """Ceph RGW for the session, found or started on first use (see :class:`RgwServers`)."""
    servers = RgwServers(tmp_path_factory)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("JETRAW_") and name != "JETRAW_REQUIRE_SYSTEM_TESTS":
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("JETRAW_CONFIG_DIR", str(home / "jetraw-config"))
    monkeypatch.setenv("JETRAW_TOKEN_STORAGE", "memory")
    # An AWS chain that finds nothing of the developer's.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    return home


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
