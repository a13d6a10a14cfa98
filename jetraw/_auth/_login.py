"""Persisting a login: the profile (no secrets) plus the secret-store entry, and removing both."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import anyio.to_thread

from jetraw._auth._oauth import TokenSet, revoke
from jetraw._auth._store import FileStore, MemoryStore, SecretStore, store_key
from jetraw._config import Profile, config_dir, io_error, remove_profile, save_profile
from jetraw._exceptions import ConfigurationError
from jetraw._http import StateServerHTTP

__all__ = ["StoredLogin", "forget_login", "lock_path", "persist_login"]

logger = logging.getLogger("jetraw.auth")


def lock_path(directory: Path, key: str) -> Path:
    """The cross-process lock file of one login (server, organisation, user).

    Raises:
        ConfigurationError: The lock directory cannot be created.
    """
    locks = directory / "locks"
    path = locks / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock")
    try:
        locks.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise io_error("create the lock file", path, error) from error
    return path


@dataclasses.dataclass(frozen=True)
class StoredLogin:
    """Where a login was written."""

    profile: Profile
    key: str
    store: SecretStore
    config_file: Path


async def persist_login(
    *,
    server: str,
    organisation: str | None,
    user: str | None,
    profile_name: str,
    kind: str,
    store: SecretStore,
    refresh_token: str,
    tokens: TokenSet | None = None,
    aws_profile: str | None = None,
    previous: Profile | None = None,
    http: StateServerHTTP | None = None,
) -> StoredLogin:
    """Write the secret (store) and then the profile (config file) of a fresh login.

    Args:
        server: The state server.
        organisation: The organisation logged in to (its name).
        user: The user's email.
        profile_name: The profile to write; it becomes the default.
        kind: ``"refresh_token"`` (rotating, interactive) or ``"api_key"``.
        store: The secret store.
        refresh_token: The secret to keep.
        tokens: The first token answer, whose access token other processes may reuse.
        aws_profile: An AWS profile to remember with this login.
        previous: The profile this login replaces. Its secret is deleted if stored elsewhere,
            and its refresh token (not an API key) is revoked on the server, best effort.
        http: The connection to ``server``, used to revoke a replaced refresh token (one to
            another server is opened for the purpose).
    """
    profile = Profile(
        name=profile_name,
        server=server,
        organisation=organisation,
        user=user,
        aws_profile=aws_profile,
    )
    key = store_key(server, organisation, user)
    old_key: str | None = None
    replaced: list[tuple[str, str]] = []
    if previous is not None and previous.name == profile_name:
        old_key = store_key(previous.server, previous.organisation, previous.user)
        replaced = await _rotating_secrets(store, {old_key: previous.server, key: server})
    blob: dict[str, Any] = {"kind": kind, "refresh_token": refresh_token}
    if tokens is not None:
        blob.update(
            access_token=tokens.access_token,
            expires_in=tokens.expires_in,
            expires_at=time.time() + tokens.expires_in,
            access_organisation=organisation,
        )
    await anyio.to_thread.run_sync(store.set, key, blob)
    path = await anyio.to_thread.run_sync(lambda: save_profile(profile))
    if old_key is not None and old_key != key:
        # Re-login as someone else (or elsewhere): leave no orphaned secret behind.
        await anyio.to_thread.run_sync(store.delete, old_key)
    for old_server, token in replaced:
        if token != refresh_token:
            await _revoke_quietly(http, old_server, token)
    return StoredLogin(profile=profile, key=key, store=store, config_file=path)


async def _rotating_secrets(store: SecretStore, servers: dict[str, str]) -> list[tuple[str, str]]:
    """``(server, refresh_token)`` of the interactive logins stored under these keys.

    API keys are left out: a key may be in use elsewhere, so replacing a login never revokes one
    (as :meth:`AsyncClient.logout` does not).
    """
    found: list[tuple[str, str]] = []
    for key, server in servers.items():
        try:
            blob = await anyio.to_thread.run_sync(store.get, key)
        except ConfigurationError:
            continue  # unreadable: the write of the new login reports the store's problem
        token = blob.get("refresh_token") if blob else None
        if blob and token and blob.get("kind", "refresh_token") == "refresh_token":
            found.append((server, str(token)))
    return found


async def _revoke_quietly(http: StateServerHTTP | None, server: str, token: str) -> None:
    """Revoke a replaced refresh token on its server; a failure only logs (best effort).

    The new login is already saved: nothing here may fail it.
    """
    own: StateServerHTTP | None = None
    try:
        if http is None or http.server != server:
            own = http = StateServerHTTP(server, timeout=10.0)
        await revoke(http, token)
    except Exception as error:
        logger.warning(
            "Could not revoke the replaced login on %s (%s); it expires on its own.",
            server,
            type(error).__name__,
        )
    finally:
        if own is not None:
            await own.aclose()


async def forget_login(profile: Profile, store: SecretStore) -> list[str]:
    """Delete every stored copy of a profile's login and the profile itself.

    Returns:
        Human descriptions of what was removed.
    """
    key = store_key(profile.server, profile.organisation, profile.user)
    removed: list[str] = []
    stores: list[SecretStore] = [store]
    # A login may have been written by another storage setting (a keyring that came and went).
    directory = config_dir() / "secrets"
    if not isinstance(store, FileStore) or store.directory != directory:
        stores.append(FileStore(directory))
    if not isinstance(store, MemoryStore):
        stores.append(MemoryStore())
    for each in stores:
        where = each.describe(key)
        if await anyio.to_thread.run_sync(each.delete, key):
            removed.append(f"secret in {where}")
    if await anyio.to_thread.run_sync(lambda: remove_profile(profile.name)):
        removed.append(f"profile {profile.name!r}")
    return removed
