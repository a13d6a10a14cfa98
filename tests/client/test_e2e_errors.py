"""Failures a user meets, end to end: each is a specific exception with an actionable message,
within seconds; and no secret ever appears in logs, reprs or exception text.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jetraw import _exceptions as exc
from jetraw.aio import AsyncClient
from jetraw.testing import LocalPlatform

from ._people import form_opener, unique_email

pytestmark = pytest.mark.anyio


class _NotJetraw(BaseHTTPRequestHandler):
    def _reply(self) -> None:
        body = b"<html><body>It works!</body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def other_web_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotJetraw)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_revoked_api_key(jetraw_platform: LocalPlatform) -> None:
    key = jetraw_platform.create_api_key(name="to revoke")
    async with AsyncClient(key, server=jetraw_platform.url) as client:
        await client.whoami()
        jetraw_platform.revoke_api_key(key)
        # The access token dies with its key: the next call fails, and says what to do.
        started = time.monotonic()
        with pytest.raises(exc.InvalidCredentialsError, match="API key was rejected") as info:
            await client.whoami()
    assert time.monotonic() - started < 5
    assert info.value.code == "invalid_grant"
    assert info.value.request_id
    with pytest.raises(exc.InvalidCredentialsError, match="jetraw login"):
        async with AsyncClient(key, server=jetraw_platform.url):
            pass


async def test_unknown_api_key(jetraw_platform: LocalPlatform) -> None:
    with pytest.raises(exc.InvalidCredentialsError, match="wrong, expired or revoked"):
        async with AsyncClient("jrk_000000_notakey", server=jetraw_platform.url):
            pass


async def test_wrong_server_url(other_web_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(exc.APIError, match="check the server URL") as info:
        async with AsyncClient("jrk_anything", server=other_web_server):
            pass
    assert time.monotonic() - started < 5
    assert info.value.status_code == 404


async def test_server_down() -> None:
    started = time.monotonic()
    with pytest.raises(exc.ServerConnectionError, match="Cannot reach the Jetraw server"):
        async with AsyncClient("jrk_anything", server=f"http://127.0.0.1:{closed_port()}"):
            pass
    assert time.monotonic() - started < 5


async def test_api_key_for_organisation_you_are_not_in(jetraw_platform: LocalPlatform) -> None:
    other = f"elsewhere-{closed_port()}"
    jetraw_platform.create_organisation(other)
    user = jetraw_platform.create_user(f"member-{other}@example.org")
    jetraw_platform.add_member(user)
    key = jetraw_platform.create_api_key(user)
    with pytest.raises(
        exc.PermissionDeniedError, match=f"not a member of the organisation '{other}'"
    ):
        async with AsyncClient(key, server=jetraw_platform.url, organisation=other):
            pass


async def test_api_key_selects_another_organisation_of_the_user(
    jetraw_platform: LocalPlatform,
) -> None:
    other = f"second-{closed_port()}"
    jetraw_platform.create_organisation(other)
    user = jetraw_platform.create_user(f"multi-{other}@example.org")
    jetraw_platform.add_member(user)
    jetraw_platform.add_member(user, other)
    key = jetraw_platform.create_api_key(user)
    async with AsyncClient(key, server=jetraw_platform.url) as client:
        assert (await client.whoami()).organisation.name == jetraw_platform.organisation
    async with AsyncClient(key, server=jetraw_platform.url, organisation=other) as client:
        assert (await client.whoami()).organisation.name == other
        assert client.organisation == other


async def test_no_secret_in_logs_reprs_or_errors(
    jetraw_platform: LocalPlatform, caplog: pytest.LogCaptureFixture
) -> None:
    platform = jetraw_platform
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "jetraw"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    texts: list[str] = []
    secrets: list[str] = [platform.api_key]
    async with AsyncClient(platform.api_key, server=platform.url) as client:
        await client.whoami()
        await client.list_spaces()
        created = await client.create_api_key("leak check")
        assert created.key
        secrets.append(created.key)
        texts += [repr(client), str(client), repr(created)]
        tm = client._login.tokens_
        assert tm is not None
        secrets.append(tm._access or "")
        await client.revoke_api_key(created.id)
    # An interactive login: refresh token and access token.
    user = platform.create_user(unique_email("nolog"))
    platform.add_member(user)
    async with AsyncClient(server=platform.url, refresh_token_if_empty=False) as c:
        await c.authorize(opener=form_opener(user.email, user.password), notify=texts.append)
        tm = c._login.tokens_
        assert tm is not None
        secrets += [tm.refresh_token or "", tm._access or ""]
        texts += [repr(c), repr(tm)]
    errors: list[BaseException] = []
    for key in (created.key, "jrk_bogus_secret_value"):
        secrets.append(key)
        try:
            async with AsyncClient(key, server=platform.url):
                pass
        except exc.JetrawError as error:
            errors.append(error)
    assert len(errors) == 2
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    everything = caplog.text + "\n".join(texts)
    assert "Bearer" not in caplog.text
    assert "POST" in caplog.text  # the logs were captured at all
    for secret in filter(None, secrets):
        assert secret not in everything
