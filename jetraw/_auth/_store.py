"""Where login secrets live: the OS keyring, a 0600 file, or process memory.

``JETRAW_TOKEN_STORAGE`` picks one (``keyring``, ``file``, ``memory``); unset, the keyring is
probed (in a thread, with a timeout, because a locked or absent Secret Service can block) and,
where none works (headless Linux, Docker), a 0600 file in the config dir is used with one warning.

Every method is blocking; async callers run them in a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from jetraw._config import ENV_TOKEN_STORAGE, _atomic_write, config_dir
from jetraw._exceptions import ConfigurationError

__all__ = [
    "FileStore",
    "KeyringStore",
    "MemoryStore",
    "SecretStore",
    "keyring_available",
    "open_store",
    "store_key",
]

logger = logging.getLogger("jetraw.auth")

SERVICE = "jetraw"
PROBE_TIMEOUT = 3.0


def store_key(server: str, organisation: str | None, user: str | None) -> str:
    """The store entry of one login: (server, organisation, user)."""
    return f"{server}|{organisation or ''}|{user or ''}"


class SecretStore(Protocol):
    """A place for one JSON blob of secrets per login."""

    name: str

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored blob, or ``None``."""

    def set(self, key: str, value: dict[str, Any]) -> None:
        """Store (replace) a blob atomically."""

    def delete(self, key: str) -> bool:
        """Remove a blob; whether there was one."""

    def describe(self, key: str) -> str:
        """Where the blob lives, for humans (never the secret)."""


_MEMORY: dict[str, str] = {}
_MEMORY_LOCK = threading.Lock()


class MemoryStore:
    """Process memory: gone at exit (the test-suite's default)."""

    name = "memory"

    def get(self, key: str) -> dict[str, Any] | None:
        with _MEMORY_LOCK:
            raw = _MEMORY.get(key)
        return None if raw is None else dict(json.loads(raw))

    def set(self, key: str, value: dict[str, Any]) -> None:
        with _MEMORY_LOCK:
            _MEMORY[key] = json.dumps(value)

    def delete(self, key: str) -> bool:
        with _MEMORY_LOCK:
            return _MEMORY.pop(key, None) is not None

    def describe(self, key: str) -> str:
        return "process memory"


class FileStore:
    """One 0600 JSON file per login in ``<config dir>/secrets`` (a 0700 directory)."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (ValueError, OSError):
            logger.warning("Ignoring an unreadable secret file for this login.")
            return None
        value = data.get("value") if isinstance(data, dict) and data.get("key") == key else None
        return dict(value) if isinstance(value, dict) else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _atomic_write(self._path(key), json.dumps({"key": key, "value": value}), mode=0o600)

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def describe(self, key: str) -> str:
        return str(self._path(key))


def _keyring_failed(error: Exception) -> ConfigurationError:
    return ConfigurationError(
        f"The OS keyring failed ({type(error).__name__}); unlock it, or set "
        f"{ENV_TOKEN_STORAGE}=file to keep logins in a 0600 file instead."
    )


class KeyringStore:
    """The OS keyring through ``keyring`` (Secret Service, macOS Keychain, Windows Vault).

    Backend failures (a locked or vanished keyring) become one :class:`ConfigurationError`
    saying what to do; the backend's own exception is chained.
    """

    name = "keyring"

    def get(self, key: str) -> dict[str, Any] | None:
        import keyring

        try:
            raw = keyring.get_password(SERVICE, key)
        except Exception as error:
            raise _keyring_failed(error) from error
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return dict(value) if isinstance(value, dict) else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        import keyring

        try:
            keyring.set_password(SERVICE, key, json.dumps(value))
        except Exception as error:
            raise _keyring_failed(error) from error

    def delete(self, key: str) -> bool:
        import keyring
        import keyring.errors

        try:
            keyring.delete_password(SERVICE, key)
        except keyring.errors.PasswordDeleteError:
            return False
        except Exception as error:
            raise _keyring_failed(error) from error
        return True

    def describe(self, key: str) -> str:
        import keyring

        return f"OS keyring ({type(keyring.get_keyring()).__name__}, service 'jetraw')"


_probe_result: tuple[bool, str] | None = None
_probe_lock = threading.Lock()
_warned = False


def _probe() -> tuple[bool, str]:
    import keyring
    import keyring.backends.fail

    backend = keyring.get_keyring()
    if isinstance(backend, keyring.backends.fail.Keyring):
        return False, "no keyring backend"
    if getattr(backend, "priority", 1) <= 0:
        return False, f"keyring backend {type(backend).__name__} is not usable"
    backend.get_password(SERVICE, "__jetraw_probe__")
    return True, type(backend).__name__


def keyring_available(timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """Whether the OS keyring works, probed once per process in a thread with a timeout."""
    global _probe_result
    with _probe_lock:
        if _probe_result is not None:
            return _probe_result
        box: list[tuple[bool, str]] = []

        def run() -> None:
            try:
                box.append(_probe())
            except Exception as error:  # any backend failure means: not usable
                box.append((False, f"{type(error).__name__}"))

        thread = threading.Thread(target=run, name="jetraw-keyring-probe", daemon=True)
        thread.start()
        thread.join(timeout)
        _probe_result = box[0] if box else (False, f"keyring did not answer in {timeout:g}s")
        return _probe_result


def open_store(env: dict[str, str] | None = None) -> SecretStore:
    """The secret store selected by ``JETRAW_TOKEN_STORAGE`` (or probing, when unset).

    Raises:
        ConfigurationError: An unknown storage name, or ``keyring`` asked for and unusable.
    """
    global _warned
    env = dict(os.environ) if env is None else env
    choice = (env.get(ENV_TOKEN_STORAGE) or "").strip().lower()
    if choice == "memory":
        return MemoryStore()
    if choice == "file":
        return FileStore(config_dir(env) / "secrets")
    if choice not in ("", "auto", "keyring"):
        raise ConfigurationError(
            f"{ENV_TOKEN_STORAGE}={choice!r} is not one of keyring, file, memory."
        )
    ok, why = keyring_available()
    if ok:
        return KeyringStore()
    if choice == "keyring":
        raise ConfigurationError(
            f"{ENV_TOKEN_STORAGE}=keyring, but the OS keyring is not usable ({why})."
        )
    store = FileStore(config_dir(env) / "secrets")
    if not _warned:
        _warned = True
        logger.warning(
            "No usable OS keyring (%s); storing login tokens in %s (mode 0600). "
            "Set %s=file to silence this.",
            why,
            store.directory,
            ENV_TOKEN_STORAGE,
        )
    return store
