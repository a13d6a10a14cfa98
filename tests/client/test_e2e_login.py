"""Interactive logins end to end: headless Chromium on the real login form, the device flow, the
loopback listener's behaviour, and what a fresh client finds afterwards.
"""

from __future__ import annotations

import threading
import time

import anyio.to_thread
import pytest

from jetraw import _exceptions as exc
from jetraw._auth._store import MemoryStore, store_key
from jetraw._config import load_config
from jetraw.aio import AsyncClient
from jetraw.testing import LocalPlatform
from tests.conftest import have_binary, require_system

from ._people import chromium_opener, form_opener, have_chromium, unique_email

pytestmark = pytest.mark.anyio


@pytest.mark.system
async def test_browser_login_in_headless_chromium(jetraw_platform: LocalPlatform) -> None:
    require_system("chromium", have_binary("chromium") and have_chromium())
    platform = jetraw_platform
    user = platform.create_user(unique_email("chromium"))
    platform.add_member(user)
    second = f"lab-{user.id[:8]}"
    platform.create_organisation(second)
    platform.add_member(user, second)  # two organisations: the page asks which one
    browser_log: list[str] = []
    messages: list[str] = []
    finished = threading.Event()
    c = AsyncClient(server=platform.url, refresh_token_if_empty=False)
    ident = await c.authorize(
        opener=chromium_opener(
            user.email, user.password, second, log=browser_log, finished=finished
        ),
        notify=messages.append,
        login_timeout=90,
    )
    await c.aclose()
    assert ident.email == user.email
    assert ident.organisation.name == second
    assert await anyio.to_thread.run_sync(finished.wait, 30)
    assert browser_log[0].startswith("http://127.0.0.1:")
    assert browser_log[0].endswith("/callback")
    assert "Jetraw" in browser_log[1]
    assert f"{platform.url}/oauth/authorize?" in messages[0]
    profile = load_config()["profiles"]["default"]
    assert profile == {"server": platform.url, "organisation": second, "user": user.email}
    # A fresh client works from the stored profile alone.
    async with AsyncClient() as fresh:
        assert fresh.auth_source == "profile:default"
        me = await fresh.whoami()
        assert (me.email, me.organisation.name) == (user.email, second)


async def test_login_for_an_organisation_you_are_not_in_is_refused(
    jetraw_platform: LocalPlatform,
) -> None:
    platform = jetraw_platform
    user = platform.create_user(unique_email("outsider"))
    platform.add_member(user)
    other = f"closed-{user.id[:8]}"
    platform.create_organisation(other)
    async with AsyncClient(server=platform.url, refresh_token_if_empty=False) as c:
        await c.authorize(opener=form_opener(user.email, user.password), notify=lambda m: None)
    with pytest.raises(exc.PermissionDeniedError, match="not a member") as info:
        async with AsyncClient(organisation=other):
            pass
    assert info.value.code == "not_a_member"


async def test_device_login_end_to_end(fast_device_polls: LocalPlatform) -> None:
    platform = fast_device_polls
    user = platform.create_user(unique_email("device"))
    platform.add_member(user)
    messages: list[str] = []

    def approve(url: str) -> None:
        import httpx

        from ._people import _submit

        with httpx.Client(trust_env=False, timeout=30) as http:
            page = http.get(url)
            answer = _submit(
                http, page, {"email": user.email, "password": user.password, "action": "approve"}
            )
            assert 'id="approved"' in answer.text

    started = time.monotonic()
    async with AsyncClient(server=platform.url, refresh_token_if_empty=False) as c:
        ident = await c.authorize(device=True, opener=approve, notify=messages.append)
    # The client follows the server's 1 s interval: at the default 5 s, it sleeps 5 s before
    # its first poll.
    assert time.monotonic() - started < 5
    assert ident.email == user.email
    assert "/device" in messages[0]
    stored = MemoryStore().get(store_key(platform.url, platform.organisation, user.email))
    assert stored is not None
    assert stored["refresh_token"].startswith("jrt_")
    async with AsyncClient() as fresh:
        assert (await fresh.whoami()).email == user.email


async def test_logout_revokes_the_login_on_the_server(jetraw_platform: LocalPlatform) -> None:
    platform = jetraw_platform
    user = platform.create_user(unique_email("logout"))
    platform.add_member(user)
    async with AsyncClient(server=platform.url, refresh_token_if_empty=False) as c:
        await c.authorize(opener=form_opener(user.email, user.password), notify=lambda m: None)
        key = store_key(platform.url, platform.organisation, user.email)
        refresh = MemoryStore().get(key)["refresh_token"]  # type: ignore[index]
        result = await c.logout()
    assert result.revoked
    assert MemoryStore().get(key) is None
    assert "default" not in (load_config().get("profiles") or {})
    # The revoked refresh token no longer works anywhere.
    with pytest.raises(exc.LoginRequiredError, match="expired or was revoked"):
        async with AsyncClient(refresh, server=platform.url):
            pass
    with pytest.raises(exc.LoginRequiredError, match="jetraw login"):
        async with AsyncClient(server=platform.url):
            pass


async def test_login_as_someone_else_replaces_the_stored_secret(
    jetraw_platform: LocalPlatform,
) -> None:
    platform = jetraw_platform
    first = platform.create_user(unique_email("first"))
    second = platform.create_user(unique_email("second"))
    for user in (first, second):
        platform.add_member(user)
        async with AsyncClient(server=platform.url, refresh_token_if_empty=False) as c:
            await c.authorize(opener=form_opener(user.email, user.password), notify=lambda m: None)
    store = MemoryStore()
    assert store.get(store_key(platform.url, platform.organisation, first.email)) is None
    assert store.get(store_key(platform.url, platform.organisation, second.email)) is not None
    async with AsyncClient() as fresh:
        assert (await fresh.whoami()).email == second.email


async def test_login_again_revokes_the_replaced_refresh_token(
    jetraw_platform: LocalPlatform,
) -> None:
    platform = jetraw_platform
    user = platform.create_user(unique_email("again"))
    platform.add_member(user)
    key = store_key(platform.url, platform.organisation, user.email)
    tokens: list[str] = []
    for _ in range(2):
        async with AsyncClient(server=platform.url, refresh_token_if_empty=False) as c:
            await c.authorize(opener=form_opener(user.email, user.password), notify=lambda m: None)
        tokens.append(MemoryStore().get(key)["refresh_token"])  # type: ignore[index]
    old, new = tokens
    assert old != new
    # The server rejects the replaced login's token; the new login works.
    with pytest.raises(exc.LoginRequiredError, match="expired or was revoked"):
        async with AsyncClient(old, server=platform.url):
            pass
    async with AsyncClient() as fresh:
        assert (await fresh.whoami()).email == user.email
    assert MemoryStore().get(key)["refresh_token"] != old  # type: ignore[index]
