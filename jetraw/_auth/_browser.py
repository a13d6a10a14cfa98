"""Browser login: OAuth 2.0 authorization code + PKCE with a loopback redirect (RFC 8252).

The listener is bound to 127.0.0.1 on an OS-chosen port *before* the browser opens, so there is
no busy-port race and nothing to configure. Requests other than the expected callback (favicon,
probes, a callback with a foreign ``state``) get a small answer and are otherwise ignored.
"""

from __future__ import annotations

import contextlib
import html
import logging
import secrets
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.abc
import anyio.to_thread

import jetraw._exceptions as exc
from jetraw._auth._oauth import (
    AUTHORIZE_PATH,
    CLIENT_ID,
    InvalidGrant,
    TokenSet,
    pkce_pair,
    request_token,
)
from jetraw._http import StateServerHTTP

__all__ = ["Opener", "browser_login", "default_notify"]

logger = logging.getLogger("jetraw.auth")

Opener = Callable[[str], Any]
CALLBACK_PATH = "/callback"
_MAX_REQUEST = 16 * 1024

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Jetraw login</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;color:#222}}
h1{{font-size:1.4rem}}</style></head><body><h1>{title}</h1><p>{text}</p></body></html>"""


def default_notify(message: str) -> None:
    """Print a login instruction to standard error."""
    import sys

    print(message, file=sys.stderr, flush=True)


def _answer(status: str, title: str, text: str) -> bytes:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


_NO_BROWSER = (
    "No web browser found on this machine ({why}); log in with the device code instead: "
    "`client.authorize(device=True)` (CLI: `jetraw login --device`), or use an API key "
    "(or `jetraw login --no-browser`: it prints a URL for a browser that can reach this machine)."
)


def _where_to_open(redirect_uri: str, port: int) -> str:
    """What a login URL needs of the browser: to reach this machine's loopback listener."""
    return (
        f"The login returns to {redirect_uri}: use a browser on this machine, or on one that "
        f"forwards port {port} to it (ssh -L {port}:127.0.0.1:{port} THIS-HOST). "
        "No browser at hand: `jetraw login --device` (`authorize(device=True)`)."
    )


def _find_browser() -> str | None:
    """Why :func:`webbrowser.open` cannot work here, or ``None`` if a browser is registered."""
    import webbrowser  # only a browser login needs it (it imports subprocess, shlex...)

    try:
        webbrowser.get()
    except webbrowser.Error as error:
        return str(error) or "webbrowser found none"
    return None


def _open_in_browser(url: str) -> bool:
    import webbrowser

    if not webbrowser.open(url):  # a BROWSER command that does not run, xdg-open failing...
        raise exc.LoginError(
            _NO_BROWSER.format(why="webbrowser.open failed"), code="browser_not_found"
        )
    return True


class _Callback:
    """The outcome of the loopback callback, once a valid one arrives."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.code: str | None = None
        self.error: str | None = None
        self.done = anyio.Event()

    def handle(self, target: str) -> bytes:
        """Answer one request line target; record the outcome when it is our callback."""
        parts = urlsplit(target)
        if parts.path != CALLBACK_PATH:
            return _answer("404 Not Found", "Not found", "This is the Jetraw login listener.")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not secrets.compare_digest(query.get("state", ""), self.state):
            return _answer(
                "400 Bad Request",
                "Unexpected login response",
                "This response does not belong to the login in progress; it was ignored.",
            )
        if self.done.is_set():
            return _answer("200 OK", "Already handled", "You can close this window.")
        if "code" in query:
            self.code = query["code"]
            self.done.set()
            return _answer(
                "200 OK",
                "You are logged in to Jetraw",
                "You can close this window and return to your terminal or notebook.",
            )
        self.error = query.get("error_description") or query.get("error") or "no code returned"
        self.done.set()
        return _answer("200 OK", "Login failed", f"The login did not complete: {self.error}.")


async def _serve_one(stream: anyio.abc.SocketStream, callback: _Callback) -> None:
    async with stream:
        data = b""
        with anyio.move_on_after(10):
            try:
                while b"\r\n\r\n" not in data and len(data) < _MAX_REQUEST:
                    chunk = await stream.receive(4096)
                    data += chunk
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                return
        line = data.split(b"\r\n", 1)[0].decode("latin-1", "replace").split(" ")
        if len(line) < 2 or line[0] not in ("GET", "HEAD"):
            reply = _answer("400 Bad Request", "Bad request", "Unexpected request.")
        else:
            reply = callback.handle(line[1])
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            await stream.send(reply)


async def browser_login(
    http: StateServerHTTP,
    *,
    organisation: str | None = None,
    opener: Opener | None = None,
    login_timeout: float = 300.0,
    notify: Callable[[str], None] = default_notify,
) -> tuple[TokenSet, str]:
    """Run the browser login and return ``(tokens, refresh_token)``.

    Raises:
        LoginError: Timed out, denied, or the code exchange failed; at once, with ``code``
            ``"browser_not_found"``, when the default opener finds no browser to open.
    """
    if opener is None:
        why = await anyio.to_thread.run_sync(_find_browser)
        if why is not None:
            raise exc.LoginError(_NO_BROWSER.format(why=why), code="browser_not_found")
    verifier, challenge = pkce_pair()
    callback = _Callback(secrets.token_urlsafe(24))
    listeners = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    listener = cast(anyio.abc.SocketListener, listeners.listeners[0])
    # S610: anyio's typed-attribute .extra(), not Django's
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610
    redirect_uri = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": callback.state,
    }
    if organisation:
        params["organisation"] = organisation
    url = str(http.base_url.join(AUTHORIZE_PATH).copy_with(params=params))
    opener_errors: list[BaseException] = []

    accepted: set[anyio.abc.SocketStream] = set()

    async def handle(stream: anyio.abc.SocketStream) -> None:
        try:
            await _serve_one(stream, callback)
        finally:
            accepted.discard(stream)

    async def serve() -> None:
        # Our own accept loop (not Listener.serve): a connection accepted just before the end
        # (browsers open speculative ones) must still be closed, not leaked.
        async with anyio.create_task_group() as handlers:
            while True:
                stream = await listener.accept()
                accepted.add(stream)
                handlers.start_soon(handle, stream)

    async def open_browser() -> None:
        try:
            await anyio.to_thread.run_sync(opener or _open_in_browser, url, abandon_on_cancel=True)
        except Exception as error:
            opener_errors.append(error)
            callback.done.set()

    if opener is None:
        head = f"Opening a browser to log in to {http.server}. If none opens, visit:"
    else:  # the caller's opener (`jetraw login --no-browser`: none) decides what opens the URL
        head = f"To log in to {http.server}, open this URL in a browser:"
    notify(f"{head}\n  {url}\n{_where_to_open(redirect_uri, port)}")
    try:
        async with listener:
            try:
                with anyio.fail_after(login_timeout):
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(serve)
                        tg.start_soon(open_browser)
                        await callback.done.wait()
                        tg.cancel_scope.cancel()
            finally:
                with anyio.CancelScope(shield=True):
                    for stream in list(accepted):
                        await anyio.aclose_forcefully(stream)
    except TimeoutError:
        raise exc.LoginError(
            f"Timed out after {login_timeout:g}s waiting for the browser login; run it again, "
            "or use `jetraw login --device` on a machine without a browser."
        ) from None
    if opener_errors and callback.code is None:
        if isinstance(opener_errors[0], exc.LoginError):
            raise opener_errors[0]
        raise exc.LoginError(
            f"Could not open the browser ({type(opener_errors[0]).__name__}); "
            "use `jetraw login --device`."
        ) from opener_errors[0]
    if callback.code is None:
        raise exc.LoginError(f"Browser login failed: {callback.error}.")
    form = {
        "grant_type": "authorization_code",
        "code": callback.code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    try:
        tokens = await request_token(http, form)
    except InvalidGrant as error:
        raise exc.LoginError(
            "The login code was rejected (expired or already used); run the login again.",
            request_id=error.request_id,
        ) from None
    if not tokens.refresh_token:
        raise exc.LoginError("The server did not return a refresh token for the login.")
    return tokens, tokens.refresh_token
