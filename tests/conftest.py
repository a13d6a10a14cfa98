"""Suite-wide safety: nothing leaves 127.0.0.1, nothing reads the developer's own config."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
