"""Authorization code + PKCE through the real login form, driven by authlib's OAuth2 client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from auth_support import (
    AuthServer,
    FormReader,
    OAuth2Client,
    User,
    pkce_pair,
    running_server,
    submit,
)

REDIRECT = "http://127.0.0.1:53682/callback"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AuthServer]:
    with running_server(tmp_path) as srv:
        yield srv


def _login(
    server: AuthServer,
    user: User,
    *,
    organisation: str | None = None,
    choose: str | None = None,
    redirect_uri: str = REDIRECT,
) -> tuple[OAuth2Client, str, str]:
    """Run the browser part of the flow; return the client, the verifier and the redirect."""
    client = server.oauth_client(redirect_uri)
    verifier, _ = pkce_pair()
    extra = {"organisation": organisation} if organisation else {}
    url, _state = client.create_authorization_url(
        f"{server.url}/oauth/authorize", code_verifier=verifier, **extra
    )
    with httpx.Client() as browser:
        page = browser.get(url)
        assert page.status_code == 200
        ids = FormReader(page.text).ids
        for element in ("login-form", "email", "password", "submit", "deny"):
            assert element in ids, element
        answer = submit(browser, page, {"email": user.email, "password": user.password})
        if choose is not None:
            assert answer.status_code == 200, answer.text
            reader = FormReader(answer.text)
            assert reader.ids["organisation"]["tag"] == "select"
            assert sorted(reader.forms["login-form"]["options"]["organisation"]) == sorted(
                user.organisations
            )
            answer = submit(browser, answer, {"organisation": choose, "action": "login"})
    assert answer.status_code == 302, answer.text
    return client, verifier, answer.headers["location"]


def test_authorization_code_with_pkce(server: AuthServer) -> None:
    user = server.user("ada@example.org", "acme")
    client, verifier, location = _login(server, user)
    assert location.startswith(REDIRECT + "?")
    token = client.fetch_token(
        server.token_url, authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer"
    assert token["refresh_token"].startswith("jrt_")
    assert token["expires_in"] == 600
    assert token["organisation"] == {"id": user.organisations["acme"], "name": "acme"}
    assert token["user"] == {"id": user.id, "email": user.email, "name": "ada"}
    me = httpx.get(
        f"{server.url}/api/v1/api-keys",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert me.status_code == 200, me.text
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'jetraw_token_grants_total{grant_type="authorization_code"} 1' in metrics


def test_state_is_echoed_and_redirect_keeps_its_query(server: AuthServer) -> None:
    user = server.user("bo@example.org", "acme")
    _, _, location = _login(server, user, redirect_uri="http://localhost:9/cb?x=1")
    query = parse_qs(urlsplit(location).query)
    assert query["x"] == ["1"]
    assert len(query["state"][0]) > 10
    assert len(query["code"][0]) > 20


def test_ipv6_loopback_redirect(server: AuthServer) -> None:
    user = server.user("v6@example.org", "acme")
    client, verifier, location = _login(server, user, redirect_uri="http://[::1]:8080/")
    assert location.startswith("http://[::1]:8080/?code=")
    token = client.fetch_token(
        server.token_url, authorization_response=location, code_verifier=verifier
    )
    assert token["organisation"]["name"] == "acme"


def test_organisation_choice_for_a_user_of_several(server: AuthServer) -> None:
    user = server.user("cy@example.org", "acme", "beta")
    client, verifier, location = _login(server, user, choose="beta")
    token = client.fetch_token(
        server.token_url, authorization_response=location, code_verifier=verifier
    )
    assert token["organisation"]["name"] == "beta"


def test_organisation_hint_skips_the_choice(server: AuthServer) -> None:
    user = server.user("di@example.org", "acme", "beta")
    client, verifier, location = _login(server, user, organisation="beta")
    token = client.fetch_token(
        server.token_url, authorization_response=location, code_verifier=verifier
    )
    assert token["organisation"]["name"] == "beta"


def test_organisation_hint_of_another_organisation_offers_the_users_own(
    server: AuthServer,
) -> None:
    server.organisation("secret-org")
    user = server.user("ed@example.org", "acme")
    client = server.oauth_client(REDIRECT)
    verifier, _ = pkce_pair()
    url, _ = client.create_authorization_url(
        f"{server.url}/oauth/authorize", code_verifier=verifier, organisation="secret-org"
    )
    with httpx.Client() as browser:
        page = browser.get(url)
        answer = submit(browser, page, {"email": user.email, "password": user.password})
        assert answer.status_code == 400
        reader = FormReader(answer.text)
        assert "not a member" in reader.texts["error"]
        assert reader.forms["login-form"]["options"]["organisation"] == ["acme"]
        done = submit(browser, answer, {"organisation": "acme", "action": "login"})
    assert done.status_code == 302
    token = client.fetch_token(
        server.token_url, authorization_response=done.headers["location"], code_verifier=verifier
    )
    assert token["organisation"]["name"] == "acme"


def test_wrong_password_reshows_the_form_without_saying_which_part(server: AuthServer) -> None:
    user = server.user("fay@example.org", "acme")
    client = server.oauth_client(REDIRECT)
    url, _ = client.create_authorization_url(
        f"{server.url}/oauth/authorize", code_verifier=pkce_pair()[0]
    )
    with httpx.Client() as browser:
        page = browser.get(url)
        wrong = submit(browser, page, {"email": user.email, "password": "not-it"})
        unknown = submit(browser, page, {"email": "nobody@example.org", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert FormReader(wrong.text).texts["error"] == FormReader(unknown.text).texts["error"]
    assert "login-form" in FormReader(wrong.text).forms
    assert user.password not in wrong.text
    assert 'value="fay@example.org"' in wrong.text


def test_deny_redirects_with_access_denied(server: AuthServer) -> None:
    client = server.oauth_client(REDIRECT)
    url, state = client.create_authorization_url(
        f"{server.url}/oauth/authorize", code_verifier=pkce_pair()[0]
    )
    with httpx.Client() as browser:
        page = browser.get(url)
        answer = submit(browser, page, {"action": "deny"})
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == [state]
    assert "code" not in query


def test_csrf_token_is_required_and_bound_to_the_cookie(server: AuthServer) -> None:
    user = server.user("gus@example.org", "acme")
    client = server.oauth_client(REDIRECT)
    url, _ = client.create_authorization_url(
        f"{server.url}/oauth/authorize", code_verifier=pkce_pair()[0]
    )
    with httpx.Client() as browser:
        page = browser.get(url)
        fields = FormReader(page.text).forms["login-form"]["fields"]
        creds = {"email": user.email, "password": user.password}
        missing = browser.post(
            f"{server.url}/oauth/authorize", data={**fields, **creds, "csrf_token": ""}
        )
        forged = browser.post(
            f"{server.url}/oauth/authorize", data={**fields, **creds, "csrf_token": "A" * 43}
        )
    with httpx.Client() as other_browser:  # the right token without its cookie (cross-site)
        stolen = other_browser.post(f"{server.url}/oauth/authorize", data={**fields, **creds})
    for answer in (missing, forged, stolen):
        assert answer.status_code == 403
        assert "location" not in answer.headers
        assert "expired" in FormReader(answer.text).texts["error"]


@pytest.mark.parametrize(
    ("params", "title"),
    [
        ({"client_id": "evil"}, "Unknown application"),
        ({"client_id": None}, "Unknown application"),
        ({"redirect_uri": "https://evil.example/cb"}, "Invalid redirect URI"),
        ({"redirect_uri": "http://192.168.1.5:80/cb"}, "Invalid redirect URI"),
        ({"redirect_uri": "http://127.0.0.1.evil.example/cb"}, "Invalid redirect URI"),
        ({"redirect_uri": "http://127.0.0.1:80/cb#frag"}, "Invalid redirect URI"),
        ({"redirect_uri": "http://user@127.0.0.1:80/cb"}, "Invalid redirect URI"),
        ({"redirect_uri": "http://127.0.0.1:99999/cb"}, "Invalid redirect URI"),
        ({"redirect_uri": "javascript:alert(1)"}, "Invalid redirect URI"),
        ({"redirect_uri": None}, "Invalid redirect URI"),
    ],
)
def test_bad_client_or_redirect_is_an_error_page_never_a_redirect(
    server: AuthServer, params: dict[str, str | None], title: str
) -> None:
    query = {
        "response_type": "code",
        "client_id": "jetraw",
        "redirect_uri": REDIRECT,
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
        "state": "s",
    }
    query.update(params)  # type: ignore[arg-type]
    clean = {k: v for k, v in query.items() if v is not None}
    answer = httpx.get(f"{server.url}/oauth/authorize", params=clean)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert answer.headers["content-type"].startswith("text/html")
    assert title in answer.text


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_other_authorization_errors_redirect_with_state(
    server: AuthServer, params: dict[str, str | None], error: str
) -> None:
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "jetraw",
        "redirect_uri": REDIRECT,
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
        "state": "xyz",
    }
    query.update(params)
    clean = {k: v for k, v in query.items() if v is not None}
    answer = httpx.get(f"{server.url}/oauth/authorize", params=clean)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    assert parse_qs(urlsplit(location).query)["error"] == [error]
    assert parse_qs(urlsplit(location).query)["state"] == ["xyz"]


def _code(server: AuthServer, user: User) -> tuple[OAuth2Client, str, str]:
    client, verifier, location = _login(server, user)
    return client, verifier, parse_qs(urlsplit(location).query)["code"][0]


def _exchange(server: AuthServer, **data: str) -> httpx.Response:
    return httpx.post(
        server.token_url, data={"grant_type": "authorization_code", "client_id": "jetraw", **data}
    )


def test_wrong_verifier_consumes_the_code(server: AuthServer) -> None:
    user = server.user("hal@example.org", "acme")
    _, verifier, code = _code(server, user)
    wrong = _exchange(server, code=code, redirect_uri=REDIRECT, code_verifier=pkce_pair()[0])
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert "PKCE" in wrong.json()["error_description"]
    again = _exchange(server, code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert again.json()["error"] == "invalid_grant"


def test_code_is_single_use(server: AuthServer) -> None:
    user = server.user("ian@example.org", "acme")
    _, verifier, code = _code(server, user)
    first = _exchange(server, code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert first.status_code == 200
    tokens = first.json()
    second = _exchange(server, code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert second.status_code == 400
    # A replayed code revokes what was issued for it (RFC 6749 §4.1.2).
    assert (
        httpx.get(
            f"{server.url}/api/v1/me",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        ).status_code
        == 401
    )
    refused = httpx.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refused.json()["error"] == "invalid_grant"
    body = second.json()
    assert body["error"] == "invalid_grant"
    assert body["code"] == "invalid_grant"
    assert body["status"] == 400
    assert body["type"].endswith("/invalid-grant")
    assert body["request_id"] == second.headers["x-request-id"]
    assert second.headers["cache-control"] == "no-store"


def test_code_expires_after_60_seconds(server: AuthServer) -> None:
    user = server.user("jo@example.org", "acme")
    _, verifier, code = _code(server, user)
    server.clock.advance(61)
    late = _exchange(server, code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert late.json()["error"] == "invalid_grant"
    assert "expired" in late.json()["error_description"]


def test_redirect_uri_must_match(server: AuthServer) -> None:
    user = server.user("kim@example.org", "acme")
    _, verifier, code = _code(server, user)
    other = _exchange(
        server, code=code, redirect_uri="http://127.0.0.1:1/other", code_verifier=verifier
    )
    assert other.json()["error"] == "invalid_grant"
    assert "redirect_uri" in other.json()["error_description"]


def test_token_request_errors(server: AuthServer) -> None:
    url = server.token_url
    cases = [
        ({"client_id": "jetraw"}, 400, "invalid_request"),
        ({"grant_type": "password", "client_id": "jetraw"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "client_id": "jetraw"}, 400, "invalid_request"),
        (
            {
                "grant_type": "authorization_code",
                "code": "x",
                "redirect_uri": REDIRECT,
                "code_verifier": "v" * 43,
            },
            400,
            "invalid_request",
        ),
        (
            {
                "grant_type": "authorization_code",
                "client_id": "other",
                "code": "x",
                "redirect_uri": REDIRECT,
                "code_verifier": "v" * 43,
            },
            401,
            "invalid_client",
        ),
        (
            {
                "grant_type": "authorization_code",
                "client_id": "jetraw",
                "code": "nope",
                "redirect_uri": REDIRECT,
                "code_verifier": "v" * 43,
            },
            400,
            "invalid_grant",
        ),
        ({"grant_type": "refresh_token"}, 400, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "garbage"}, 400, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "jrt_x_y"}, 400, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "jrk_\u00e9_y"}, 400, "invalid_grant"),
        (
            {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": "jetraw"},
            400,
            "invalid_request",
        ),
    ]
    for data, status, error in cases:
        answer = httpx.post(url, data=data)
        assert (answer.status_code, answer.json()["error"]) == (status, error), data
    duplicated = httpx.post(
        url,
        content=b"grant_type=refresh_token&grant_type=refresh_token&refresh_token=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert duplicated.json()["error"] == "invalid_request"
    as_json = httpx.post(url, json={"grant_type": "refresh_token", "refresh_token": "x"})
    assert as_json.status_code == 400
    assert as_json.json()["error"] == "invalid_request"
    garbage = httpx.post(
        url,
        content=b"\xff\xfe%%%&&==",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert garbage.status_code == 400
    multipart = httpx.post(url, files={"grant_type": ("a.txt", b"refresh_token")})
    assert multipart.status_code == 400
    get = httpx.get(url)
    assert get.status_code == 405


def test_discovery(server: AuthServer) -> None:
    client = server.oauth_client(REDIRECT)
    meta = httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == server.url
    assert meta["token_endpoint"] == server.token_url
    assert meta["authorization_endpoint"] == f"{server.url}/oauth/authorize"
    assert meta["device_authorization_endpoint"] == f"{server.url}/oauth/device_authorization"
    assert meta["revocation_endpoint"] == f"{server.url}/oauth/revoke"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert meta["token_endpoint_auth_methods_supported"] == ["none"]
    assert set(meta["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    }
    # The discovered endpoints are the ones that work.
    user = server.user("lu@example.org", "acme")
    verifier, _ = pkce_pair()
    url, _ = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    with httpx.Client() as browser:
        answer = submit(browser, browser.get(url), {"email": user.email, "password": user.password})
    token = client.fetch_token(
        meta["token_endpoint"],
        authorization_response=answer.headers["location"],
        code_verifier=verifier,
    )
    assert token["user"]["email"] == user.email


def test_login_ticket_is_bound_to_its_browser_and_expires(server: AuthServer) -> None:
    user = server.user("max@example.org", "acme", "beta")
    client = server.oauth_client(REDIRECT)
    url, _ = client.create_authorization_url(
        f"{server.url}/oauth/authorize", code_verifier=pkce_pair()[0]
    )
    with httpx.Client() as browser:
        step2 = submit(browser, browser.get(url), {"email": user.email, "password": user.password})
        ticket = FormReader(step2.text).forms["login-form"]["fields"]["login_ticket"]
        assert user.password not in step2.text
        with httpx.Client() as other:
            # Another browser, with its own valid CSRF pair, cannot use the ticket.
            page = other.get(url)
            stolen = submit(other, page, {"login_ticket": ticket, "organisation": "beta"})
        assert stolen.status_code == 400
        assert "expired" in FormReader(stolen.text).texts["error"]
        server.clock.advance(601)
        late = submit(browser, step2, {"organisation": "beta", "action": "login"})
    assert late.status_code == 400
    assert "location" not in late.headers
