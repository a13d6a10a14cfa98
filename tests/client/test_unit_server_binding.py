"""A saved login is sent only to the server that issued it, never to one configured elsewhere."""

from __future__ import annotations

import pytest

from jetraw import _exceptions as exc
from jetraw._auth._store import MemoryStore, store_key
from jetraw._config import Profile, same_server, save_profile
from jetraw.aio import AsyncClient

from ._mock import MockServer

pytestmark = pytest.mark.anyio
HOME = "https://a.example"
ELSEWHERE = "https://evil.example"
SECRET = "jrt_1"  # the MockServer's valid rotating refresh token


@pytest.fixture
def saved_login() -> MockServer:
    """A profile for HOME whose refresh token is in the (process-wide) memory store."""
    save_profile(Profile(name="default", server=HOME, organisation="acme", user="ada@example.org"))
    MemoryStore().set(
        store_key(HOME, "acme", "ada@example.org"),
        {"kind": "refresh_token", "refresh_token": SECRET},
    )
    return MockServer()


def carried_secret(mock: MockServer) -> list[str]:
    return [str(r.url) for r in mock.requests if SECRET in r.content.decode() + str(r.url)]


@pytest.mark.parametrize("via", ["argument", "env"])
async def test_saved_login_is_not_sent_to_another_server(
    saved_login: MockServer, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    mock = saved_login
    if via == "env":
        monkeypatch.setenv("JETRAW_SERVER", ELSEWHERE)
        c = AsyncClient(transport=mock.transport())
    else:
        c = AsyncClient(server=ELSEWHERE, transport=mock.transport())
    assert c.server == ELSEWHERE
    assert c.auth_source is None
    assert SECRET not in repr(c)
    with pytest.raises(exc.LoginRequiredError, match=f"jetraw login --server {ELSEWHERE}") as info:
        async with c:
            pass
    assert HOME in str(info.value)
    assert SECRET not in str(info.value)
    assert mock.requests == []

    # Without the eager token, the first call refuses the same way.
    lazy = AsyncClient(server=ELSEWHERE, transport=mock.transport(), refresh_token_if_empty=False)
    async with lazy:
        with pytest.raises(exc.LoginRequiredError, match="jetraw login --server"):
            await lazy.whoami()
    assert carried_secret(mock) == []
    assert mock.requests == []


async def test_logout_against_another_server_neither_revokes_nor_deletes(
    saved_login: MockServer,
) -> None:
    mock = saved_login
    async with AsyncClient(
        server=ELSEWHERE, transport=mock.transport(), refresh_token_if_empty=False
    ) as c:
        result = await c.logout()
    assert not result.revoked
    assert result.removed == ()
    assert mock.requests == []
    stored = MemoryStore().get(store_key(HOME, "acme", "ada@example.org"))
    assert stored is not None
    assert stored["refresh_token"] == SECRET


async def test_same_server_spelled_differently_still_uses_the_saved_login(
    saved_login: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock = saved_login
    monkeypatch.setenv("JETRAW_SERVER", "https://A.example:443/")
    async with AsyncClient(transport=mock.transport()) as c:
        assert c.auth_source == "profile:default"
        assert (await c.whoami()).email == "ada@example.org"
    grants = [r for r in mock.requests if r.url.path == "/oauth/token"]
    assert len(grants) == 1
    assert grants[0].url.host == "a.example"


async def test_an_api_key_goes_to_the_configured_server(saved_login: MockServer) -> None:
    # Only a profile's own secret is bound to its server; a key given explicitly is not.
    mock = saved_login
    async with AsyncClient("jrk_good", server=ELSEWHERE, transport=mock.transport()) as c:
        assert c.auth_source == "argument"
    assert {r.url.host for r in mock.requests} == {"evil.example"}
    assert carried_secret(mock) == []


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://a.example", "https://a.example/", True),
        ("https://a.example", "https://A.EXAMPLE:443", True),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/", True),
        ("http://a.example", "http://a.example:80", True),
        ("https://a.example", "http://a.example", False),
        ("https://a.example", "https://a.example:8443", False),
        ("https://a.example", "https://a.example.evil.example", False),
        ("https://a.example/jetraw", "https://a.example/other", False),
        ("https://a.example", "https://user@evil.example", False),
    ],
)
def test_same_server(a: str, b: str, same: bool) -> None:
    assert same_server(a, b) is same
    assert same_server(b, a) is same
