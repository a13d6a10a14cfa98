"""Device-code login (RFC 8628) for SSH sessions and machines without a browser."""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

import jetraw._exceptions as exc
from jetraw._auth._browser import Opener, default_notify
from jetraw._auth._oauth import CLIENT_ID, DEVICE_PATH, TOKEN_PATH, TokenSet
from jetraw._http import StateServerHTTP, error_from_response, parse_retry_after

__all__ = ["DEVICE_GRANT", "device_login"]

logger = logging.getLogger("jetraw.auth")

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _json(response: Any) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def device_login(
    http: StateServerHTTP,
    *,
    organisation: str | None = None,
    opener: Opener | None = None,
    login_timeout: float = 900.0,
    notify: Callable[[str], None] = default_notify,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> tuple[TokenSet, str]:
    """Run the device-code login and return ``(tokens, refresh_token)``.

    Args:
        http: The state server.
        organisation: The organisation to log in to (default: the user's choice on the page).
        opener: Called with the verification URL (with the code filled in), if given. Library
            code opens nothing by default: the instructions are printed.
        login_timeout: Give up after this many seconds (the code's own expiry may be shorter).
        notify: Where the instructions go (standard error by default).
        sleep: The sleep between polls (injectable for tests).

    Raises:
        LoginError: Denied, expired or timed out.
    """
    form = {"client_id": CLIENT_ID}
    if organisation:
        form["organisation"] = organisation
    response = await http.send("POST", DEVICE_PATH, data=form, idempotent=False)
    if response.status_code != 200:
        raise error_from_response(response, server=http.server)
    grant = _json(response)
    try:
        device_code = str(grant["device_code"])
        user_code = str(grant["user_code"])
        verification_uri = str(grant["verification_uri"])
    except KeyError:
        raise exc.APIError(
            f"The server at {http.server} answered the device login request without a code."
        ) from None
    complete = str(grant.get("verification_uri_complete") or verification_uri)
    raw_interval = grant.get("interval")
    interval = 5.0 if raw_interval is None else max(0.0, float(raw_interval))
    expires_in = min(float(grant.get("expires_in") or login_timeout), login_timeout)
    notify(
        f"To log in to {http.server}, open {verification_uri} in any browser and enter the code "
        f"{user_code}\n(or open {complete})"
    )
    if opener is not None:
        # A daemon thread: the opener may block (a real browser, a test driving one) and must
        # neither delay the polling nor keep the process alive.
        threading.Thread(target=opener, args=(complete,), name="jetraw-opener", daemon=True).start()
    try:
        with anyio.fail_after(expires_in):
            tokens = await _poll(http, device_code, interval, sleep)
    except TimeoutError:
        raise exc.LoginError(
            f"The device code was not approved within {expires_in:g}s; run the login again."
        ) from None
    if not tokens.refresh_token:
        raise exc.LoginError("The server did not return a refresh token for the login.")
    return tokens, tokens.refresh_token


async def _poll(
    http: StateServerHTTP,
    device_code: str,
    interval: float,
    sleep: Callable[[float], Awaitable[None]],
) -> TokenSet:
    form = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": CLIENT_ID}
    # A poll is idempotent while the code is pending: a transient failure (connection error,
    # timeout, 5xx, 429) costs one poll, not the login. The failures in a row are bounded by the
    # client's attempts (AsyncClient(retries=) + 1), the whole flow by its deadline; the retry
    # waits the poll interval (an earlier one would only earn a slow_down).
    failures = 0
    wait: float | None = None  # a longer wait than the interval (Retry-After)
    while True:
        await sleep(interval if wait is None else wait)
        wait = None
        try:
            response = await http.send("POST", TOKEN_PATH, data=form, idempotent=False)
        except exc.ServerConnectionError as failure:
            failures += 1
            if failures >= http.retry.attempts:
                raise
            logger.info(
                "device login poll failed (%s); retry %d/%d in %.2fs",
                type(failure).__name__,
                failures,
                http.retry.attempts - 1,
                interval,
            )
            continue
        if response.status_code == 429 or response.status_code >= 500:
            failures += 1
            if failures >= http.retry.attempts:
                raise error_from_response(response, server=http.server)
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            wait = max(interval, http.retry.delay(failures, retry_after))
            logger.info(
                "device login poll answered %d; retry %d/%d in %.2fs",
                response.status_code,
                failures,
                http.retry.attempts - 1,
                wait,
            )
            continue
        after_failure, failures = failures > 0, 0
        if response.status_code == 200:
            return TokenSet.from_json(response.json())
        error = str(_json(response).get("error") or "")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        if error == "access_denied":
            raise exc.LoginError("The device login was denied in the browser.")
        if error == "invalid_grant" and after_failure:
            # The server uses a device code once: the failed poll was the approval, and its
            # answer (the tokens) was lost. Nothing to retry.
            raise exc.LoginError(
                "The device login was approved, but the server's answer was lost on the way "
                "(a connection failure) and a device code is used only once; log in again."
            )
        if error in ("expired_token", "invalid_grant"):
            raise exc.LoginError("The device code expired before it was approved; log in again.")
        raise error_from_response(response, server=http.server)
