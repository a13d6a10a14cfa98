"""``AsyncClient.save_login`` and ``AsyncClient.login_info`` against the real platform."""

from __future__ import annotations

import pytest

from jetraw import _exceptions as exc
from jetraw._auth._store import MemoryStore, store_key
from jetraw._config import load_config
from jetraw.aio import AsyncClient, LoginInfo
from jetraw.testing import LocalPlatform

from ._people import form_opener, unique_email

pytestmark = pytest.mark.anyio


async def test_save_login_saves_the_api_key_as_the_profile(jetraw_platform: LocalPlatform) -> None:
    platform = jetraw_platform
    key = platform.create_api_key(name="save-login")
    async with AsyncClient(key, server=platform.url) as c:
        ident = await c.save_login()
        assert ident.email == platform.admin_email
        assert c.auth_source == "argument"  # the credential in force is still the given one
        info = await c.login_info()
    assert info == LoginInfo(
        server=platform.url,
        profile="default",
        organisation=platform.organisation,
        auth_source="argument",
        saved_server=platform.url,
        stored_in=None,
        unusable_reason=None,
    )
    stored = MemoryStore().get(store_key(platform.url, platform.organisation, ident.email))
    assert stored == {"kind": "api_key", "refresh_token": key}
    profile = load_config()["profiles"]["default"]
    assert profile == {
        "server": platform.url,
        "organisation": platform.organisation,
        "user": platform.admin_email,
    }
    async with AsyncClient(profile="default") as fresh:
        assert fresh.auth_source == "profile:default"
        assert (await fresh.whoami()).email == platform.admin_email
        info = await fresh.login_info()
    assert info.stored_in == "process memory"
    assert info.saved_server == platform.url
    assert info.unusable_reason is None


async def test_save_login_from_the_environment_replaces_and_revokes_the_previous_login(
    jetraw_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = jetraw_platform
    user = platform.create_user(unique_email("save-login"))
    platform.add_member(user)
    async with AsyncClient(server=platform.url, refresh_token_if_empty=False) as c:
        await c.authorize(opener=form_opener(user.email, user.password), notify=lambda m: None)
    old_key = store_key(platform.url, platform.organisation, user.email)
    old = MemoryStore().get(old_key)["refresh_token"]  # type: ignore[index]
    monkeypatch.setenv("JETRAW_API_KEY", platform.api_key)
    async with AsyncClient(server=platform.url) as c:
        assert c.auth_source == "env:JETRAW_API_KEY"
        ident = await c.save_login()
    assert ident.email == platform.admin_email
    # The interactive login it replaced: its secret gone, its refresh token revoked.
    assert MemoryStore().get(old_key) is None
    with pytest.raises(exc.LoginRequiredError, match="expired or was revoked"):
        async with AsyncClient(old, server=platform.url):
            pass
    monkeypatch.delenv("JETRAW_API_KEY")
    async with AsyncClient() as fresh:
        assert fresh.auth_source == "profile:default"
        assert (await fresh.whoami()).email == platform.admin_email


async def test_save_login_without_an_explicit_credential_fails(
    jetraw_platform: LocalPlatform,
) -> None:
    async with AsyncClient(server=jetraw_platform.url, refresh_token_if_empty=False) as c:
        with pytest.raises(exc.LoginRequiredError, match="save_login"):
            await c.save_login()


async def test_save_login_with_a_rejected_key_saves_nothing(
    jetraw_platform: LocalPlatform,
) -> None:
    with pytest.raises(exc.InvalidCredentialsError):
        async with AsyncClient(
            "jrk_not-a-key", server=jetraw_platform.url, refresh_token_if_empty=False
        ) as c:
            await c.save_login()
    assert "profiles" not in load_config()


async def test_login_info_explains_a_saved_login_for_another_server(
    jetraw_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = jetraw_platform
    async with AsyncClient(platform.api_key, server=platform.url) as c:
        await c.save_login()
    other = "http://127.0.0.1:9"  # never contacted
    monkeypatch.setenv("JETRAW_SERVER", other)
    async with AsyncClient(refresh_token_if_empty=False) as c:
        info = await c.login_info()
    assert info.server == other
    assert info.auth_source is None
    assert info.saved_server == platform.url
    assert info.stored_in is None
    assert info.unusable_reason == (
        f"the saved login (profile 'default') is for {platform.url}; JETRAW_SERVER points to "
        f"{other}. Unset JETRAW_SERVER to use it, or run `jetraw login --server {other}`."
    )
    monkeypatch.delenv("JETRAW_SERVER")
    async with AsyncClient(server=other, refresh_token_if_empty=False) as c:
        info = await c.login_info()
    assert info.unusable_reason is not None
    assert "the server in use is http://127.0.0.1:9" in info.unusable_reason


async def test_login_info_with_no_login(jetraw_platform: LocalPlatform) -> None:
    async with AsyncClient(server=jetraw_platform.url, refresh_token_if_empty=False) as c:
        info = await c.login_info()
    assert info == LoginInfo(
        server=jetraw_platform.url,
        profile="default",
        organisation=None,
        auth_source=None,
    )
