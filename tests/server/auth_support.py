"""Test support for the identity side: a real reference server under uvicorn in a thread,
a controllable clock, account helpers, and a tiny HTML form reader (what a browser would send).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # authlib warns at import that it would prefer the `httpx2` fork; httpx is what we ship.
    warnings.filterwarnings("ignore", "The httpx module is deprecated", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

from jetraw.server import ServerSettings, bind, create_app
from jetraw.server.auth import create_api_key, hash_password
from jetraw.server.http import AppState, app_state
from jetraw.server.store import add_membership, create_organisation, create_user, transaction

PASSWORD_N = 16


class Clock:
    """The server's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class User:
    id: str
    email: str
    password: str
    organisations: dict[str, str] = field(default_factory=dict)  # name -> id


class AuthServer:
    """The reference platform on 127.0.0.1 with direct access to its database for set-up."""

    def __init__(self, data_dir: Path, **overrides: Any) -> None:
        self.clock = Clock()
        self._clients: list[OAuth2Client] = []
        options: dict[str, Any] = {
            "password_hash_n": PASSWORD_N,
            "rate_limit_per_minute": 0,
            "device_poll_interval": 1,
            "metrics_public": True,  # the tests read the counters without the admin token
            "clock": self.clock,
        }
        options.update(overrides)
        self.settings = ServerSettings(data_dir=data_dir, **options)
        self._sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.settings.base_url = self.url
        self.app = create_app(self.settings)
        self.state: AppState = app_state(self.app)
        config = uvicorn.Config(self.app, log_level="info", lifespan="on", access_log=True)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)

    def oauth_client(self, redirect_uri: str | None = None) -> OAuth2Client:
        """authlib's OAuth 2.0 client for the public client ``jetraw`` (closed at stop)."""
        client = OAuth2Client(
            client_id="jetraw",
            token_endpoint_auth_method="none",
            code_challenge_method="S256",
            redirect_uri=redirect_uri,
        )
        self._clients.append(client)
        return client

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/token"

    def stamp(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock.now))

    def organisation(self, name: str) -> str:
        conn = self.state.db.conn()
        row = conn.execute("SELECT id FROM organisations WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return str(row["id"])
        with transaction(conn):
            return str(create_organisation(conn, name, now=self.stamp())["id"])

    def user(self, email: str, *organisations: str, password: str | None = None) -> User:
        password = password or secrets.token_urlsafe(12)
        conn = self.state.db.conn()
        with transaction(conn):
            row = create_user(
                conn,
                email=email,
                name=None,
                password_hash=hash_password(password, n=PASSWORD_N),
                now=self.stamp(),
            )
        user = User(row["id"], email, password)
        for name in organisations:
            self.add_member(user, name)
        return user

    def add_member(self, user: User, organisation: str, role: str = "member") -> None:
        org_id = self.organisation(organisation)
        conn = self.state.db.conn()
        with transaction(conn):
            add_membership(
                conn, user_id=user.id, organisation_id=org_id, role=role, now=self.stamp()
            )
        user.organisations[organisation] = org_id

    def remove_member(self, user: User, organisation: str) -> None:
        conn = self.state.db.conn()
        with transaction(conn):
            conn.execute(
                "DELETE FROM memberships WHERE user_id = ? AND organisation_id = ?",
                (user.id, user.organisations.pop(organisation)),
            )

    def api_key(
        self, user: User, organisation: str, name: str = "test"
    ) -> tuple[dict[str, Any], str]:
        return create_api_key(
            self.state.db.conn(),
            user_id=user.id,
            organisation_id=user.organisations[organisation],
            name=name,
            now=self.clock.now,
        )

    def set(self, name: str, value: Any) -> None:
        self.state.runtime.set(name, value)
        time.sleep(0)  # setting an override resets this process's cache


@contextmanager
def running_server(data_dir: Path, **overrides: Any) -> Iterator[AuthServer]:
    server = AuthServer(data_dir, **overrides)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


class FormReader(HTMLParser):
    """The fields, selects, buttons and error text of a page, as a browser would see them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self.ids: dict[str, dict[str, str]] = {}
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._capture: str | None = None
        self.texts: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids[a["id"]] = {"tag": tag, **a}
            self._capture = a["id"]
            self.texts[a["id"]] = ""
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": {}, "options": {}}
            self.forms[a.get("id") or f"form{len(self.forms)}"] = self._form
        elif tag == "input" and self._form is not None and a.get("name"):
            self._form["fields"][a["name"]] = a.get("value", "")
        elif tag == "select" and self._form is not None:
            self._select = a.get("name", "")
            self._form["options"][self._select] = []
        elif tag == "option" and self._form is not None and self._select is not None:
            self._form["options"][self._select].append(a.get("value", ""))
            if "selected" in a or self._select not in self._form["fields"]:
                self._form["fields"][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        self._capture = None  # ids carry text only in leaf elements on these pages
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self.texts[self._capture] += data


def submit(
    browser: httpx.Client,
    page: httpx.Response,
    values: dict[str, str],
    *,
    form_id: str = "login-form",
) -> httpx.Response:
    """Fill a form of ``page`` (keeping its hidden fields) and post it, like a browser."""
    reader = FormReader(page.text)
    form = reader.forms[form_id]
    data = {**form["fields"], **values}
    target = httpx.URL(str(page.url)).join(form["action"])
    return browser.post(target, data=data)
