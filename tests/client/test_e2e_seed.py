"""The async twin of every snippet of the user guide (seed/authentication.rst), end to end against
the reference platform over real sockets.

The snippets name no server (there is no public one): ``JETRAW_SERVER`` supplies it, as a user
of a self-hosted platform would set it once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jetraw.aio import AsyncClient, get_default_client, set_default_client
from jetraw.testing import LocalPlatform

from ._people import form_opener, unique_email

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform(jetraw_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> LocalPlatform:
    monkeypatch.setenv("JETRAW_SERVER", jetraw_platform.url)
    return jetraw_platform


async def test_snippet_api_key(platform: LocalPlatform) -> None:
    # client = Client(refresh_token="<your_api_key>")
    async with AsyncClient(refresh_token=platform.api_key) as client:
        assert client.auth_source == "argument"
        ident = await client.whoami()
        assert ident.email == platform.admin_email
        assert ident.organisation.name == platform.organisation


async def test_snippet_browser_login_then_config_file(platform: LocalPlatform) -> None:
    # c = Client(refresh_token_if_empty=False); c.authorize()
    user = platform.create_user(unique_email("seed-browser"))
    platform.add_member(user)
    c = AsyncClient(refresh_token_if_empty=False)
    ident = await c.authorize(
        opener=form_opener(user.email, user.password), notify=lambda message: None
    )
    assert ident.email == user.email
    await c.aclose()
    # client = Client()
    async with AsyncClient() as client:
        assert client.auth_source == "profile:default"
        assert (await client.whoami()).email == user.email
        assert client.organisation == platform.organisation


async def test_snippet_set_default_client(platform: LocalPlatform, tmp_path: Path) -> None:
    # client = Client()                      (the login saved by authorize / `jetraw login`)
    # set_default_client(client)
    # upload("local-file", "/destination-space/")          (no client=: the default is used)
    from jetraw.aio import AsyncJetrawPath, upload

    user = platform.create_user(unique_email("seed-default"))
    platform.add_member(user)
    login = AsyncClient(refresh_token_if_empty=False)
    await login.authorize(opener=form_opener(user.email, user.password), notify=lambda m: None)
    await login.aclose()
    local = tmp_path / "default-client-file"
    local.write_bytes(b"uploaded by the default client")
    client = AsyncClient()
    assert client.auth_source == "profile:default"
    try:
        set_default_client(client)
        assert get_default_client() is client
        await upload(str(local), f"/{platform.space}/", overwrite=True)
        path = AsyncJetrawPath(f"/{platform.space}/default-client-file")
        assert await path.exists()
        assert await path.read_bytes() == b"uploaded by the default client"
        # It was this client that did the work: only a use binds it to the loop and makes
        # its token manager.
        assert client._lifecycle.loop is not None
        assert client._login.tokens_ is not None
        assert (await client.whoami()).email == user.email
    finally:
        set_default_client(None)
        await client.aclose()
    # The operation ran as the logged-in user, not as anyone else the environment names.
    async with AsyncClient(refresh_token=platform.api_key) as admin:
        stat = await AsyncJetrawPath(f"/{platform.space}/default-client-file", client=admin).stat()
        assert stat.size == len(b"uploaded by the default client")


def test_implicit_default_client_is_closed_when_asyncio_run_ends(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    # No set_default_client and no close anywhere: the implicit default must not leak its
    # connections at exit (ResourceWarning "unclosed transport/socket", printed to stderr).
    local = tmp_path / "implicit-file"
    local.write_bytes(b"implicit default")
    script = f"""
import asyncio
from jetraw.aio import AsyncJetrawPath, get_default_client, upload

async def main():
    await upload({str(local)!r}, "/{platform.space}/", overwrite=True)
    assert await AsyncJetrawPath("/{platform.space}/implicit-file").exists()
    return get_default_client()

client = asyncio.run(main())
assert client._lifecycle.state.name == "CLOSED", client
print("ok")
"""
    env = dict(os.environ, JETRAW_API_KEY=platform.api_key, PYTHONWARNINGS="always")
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    assert proc.stderr == ""


async def test_snippet_client_passed_to_operations(platform: LocalPlatform, tmp_path: Path) -> None:
    # upload("local-file", "/destination-space/", client=client)
    # file = JetrawPath("/destination-space/local-file", client=client)
    from jetraw.aio import AsyncJetrawPath, upload

    local = tmp_path / "local-file"
    local.write_bytes(b"seed snippet bytes")
    async with AsyncClient(refresh_token=platform.api_key) as client:
        await upload(str(local), f"/{platform.space}/", client=client, overwrite=True)
        file = AsyncJetrawPath(f"/{platform.space}/local-file", client=client)
        assert await file.read_bytes() == b"seed snippet bytes"
