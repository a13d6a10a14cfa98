"""Fixtures of the CLI tests: a fresh space on the session's platform, and ways to run `jetraw`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from jetraw.cli import cli
from jetraw.testing import LocalPlatform


@dataclass
class Jetraw:
    """Runs `jetraw` commands as the platform's admin, against one fresh space."""

    platform: LocalPlatform
    space: str
    storage_root: Path

    def open_multipart_uploads(self) -> list[Path]:
        staging = self.storage_root / ".jetraw-multipart"
        return sorted(staging.iterdir()) if staging.is_dir() else []

    def __call__(self, *args: str, input: str | None = None) -> Result:
        """In-process, through click's runner (fast; stdout and stderr apart)."""
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    def proc(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """In a child process, as a user runs it (`python -m jetraw.cli`)."""
        return subprocess.run(
            [sys.executable, "-m", "jetraw.cli", *args],
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def raw(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        """Like :meth:`proc`, with stdout as bytes (``jetraw cat``)."""
        return subprocess.run(
            [sys.executable, "-m", "jetraw.cli", *args], capture_output=True, timeout=60
        )


@pytest.fixture
def jetraw(jetraw_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> Jetraw:
    monkeypatch.setenv("JETRAW_SERVER", jetraw_platform.url)
    monkeypatch.setenv("JETRAW_API_KEY", jetraw_platform.api_key)
    name = f"cli-{uuid.uuid4().hex[:10]}"
    info = jetraw_platform.create_space(name)
    return Jetraw(jetraw_platform, name, Path(info["storage"]["root"]))


def make_tree(root: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def one_error_line(stderr: str) -> str:
    """The single `Error: ...` line a failed command prints (and nothing else)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr
    return lines[0]


AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def cli_moto_url() -> Iterator[str]:
    """An S3 endpoint (moto) on 127.0.0.1 for the CLI's S3 tests."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def jetraw_s3(
    jetraw_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch, cli_moto_url: str
) -> Jetraw:
    """Like ``jetraw``, with a space whose bytes live in a fresh moto bucket."""
    import boto3

    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("JETRAW_SERVER", jetraw_platform.url)
    monkeypatch.setenv("JETRAW_API_KEY", jetraw_platform.api_key)
    bucket = f"cli-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=cli_moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    name = f"cli-s3-{uuid.uuid4().hex[:10]}"
    descriptor = {
        "type": "s3",
        "bucket": bucket,
        "prefix": "space/",
        "region": "us-east-1",
        "endpoint_url": cli_moto_url,
        "addressing_style": "path",
    }
    jetraw_platform.create_space(name, storage=descriptor)
    return S3Jetraw(jetraw_platform, name, Path("/nonexistent"), s3, bucket)


@dataclass
class S3Jetraw(Jetraw):
    s3: Any = None
    bucket: str = ""

    def open_multipart_uploads(self) -> list[Path]:
        answer = self.s3.list_multipart_uploads(Bucket=self.bucket)
        return [Path(u["Key"]) for u in answer.get("Uploads", [])]


@pytest.fixture(params=["local", "s3"])
def jetraw_any(request: pytest.FixtureRequest) -> Jetraw:
    """``jetraw`` on a local-disk space, then on an S3 (moto) space."""
    fixture = "jetraw" if request.param == "local" else "jetraw_s3"
    runner: Jetraw = request.getfixturevalue(fixture)
    return runner
