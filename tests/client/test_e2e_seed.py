"""The async twin of every snippet of the user guide (seed/authentication.rst), end to end against
the reference platform over real sockets.

The snippets name no server (there is no public one): ``JETRAW_SERVER`` supplies it, as a user
of a self-hosted platform would set it once.
"""

from __future__ import annotations

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


async def test_snippet_set_default_client(platform: LocalPlatform) -> None:
    # client = Client(); set_default_client(client)
    client = AsyncClient(refresh_token=platform.api_key)
    try:
        set_default_client(client)
        assert get_default_client() is client
        assert (await get_default_client().whoami()).email == platform.admin_email
    finally:
        set_default_client(None)
        await client.aclose()


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
