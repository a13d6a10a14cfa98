"""Where login secrets live: the OS keyring, a 0600 file, or process memory.

``JETRAW_TOKEN_STORAGE`` picks one (``keyring``, ``file``, ``memory``); unset, the keyring is
probed (in a thread, with a timeout, because a locked or absent Secret Service can block) and,
where none works (headless Linux, Docker), a 0600 file in the config dir is used with one warning.

Every method is blocking; async callers run them in a worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from jetraw._config import ENV_TOKEN_STORAGE, config_dir, io_error, write_private_file
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
#: Seconds to wait for one keyring get/set/delete after the probe.
CALL_TIMEOUT = 30.0

T = TypeVar("T")


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
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except ValueError:
            logger.warning("Ignoring a corrupt secret file for this login: %s", path)
            return None
        except OSError as error:
            raise io_error("read the secret file", path, error, secret=True) from error
        value = data.get("value") if isinstance(data, dict) and data.get("key") == key else None
        return dict(value) if isinstance(value, dict) else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        text = json.dumps({"key": key, "value": value})
        write_private_file(self._path(key), text, secret=True)

    def delete(self, key: str) -> bool:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as error:
            raise io_error("delete the secret file", path, error, secret=True) from error
        return True

    def describe(self, key: str) -> str:
        return str(self._path(key))


def _keyring_failed(error: Exception) -> ConfigurationError:
    return ConfigurationError(
        f"The OS keyring failed ({type(error).__name__}); unlock it, or set "
        f"{ENV_TOKEN_STORAGE}=file to keep logins in a 0600 file instead."
    )


class _KeyringTimeout(Exception):
    """Internal: a keyring call did not return in time."""


def _with_timeout(fn: Callable[..., T], *args: Any, timeout: float, name: str) -> T:
    """Run a keyring call in a daemon thread and wait at most ``timeout`` seconds.

    A keyring backend can block forever (a locked Secret Service waiting for a prompt nobody
    sees, a D-Bus peer that went away); the caller then gets an error instead of a hung process.
    The stuck thread is abandoned: it is a daemon and holds no jetraw lock.

    Raises:
        _KeyringTimeout: No answer within ``timeout``.
        Exception: Whatever the call raised.
    """
    box: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            box.append((True, fn(*args)))
        except BaseException as error:  # handed to the waiting thread
            box.append((False, error))

    thread = threading.Thread(target=run, name=f"jetraw-keyring-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not box:
        raise _KeyringTimeout(name)
    ok, result = box[0]
    if not ok:
        raise result
    return cast(T, result)


def _keyring_hung(timeout: float) -> ConfigurationError:
    return ConfigurationError(
        f"The OS keyring did not answer within {timeout:g}s (locked, or waiting for a prompt?); "
        f"unlock it, or set {ENV_TOKEN_STORAGE}=file to keep logins in a 0600 file instead."
    )


class KeyringStore:
    """The OS keyring through ``keyring`` (Secret Service, macOS Keychain, Windows Vault).

    Backend failures (a locked or vanished keyring) become one :class:`ConfigurationError`
    saying what to do; the backend's own exception is chained. Every call runs in a thread and
    gives up after ``timeout`` seconds, so a keyring that hangs cannot stall a token refresh.

    Args:
        timeout: Seconds to wait for one keyring call.
    """

    name = "keyring"

    def __init__(self, timeout: float = CALL_TIMEOUT) -> None:
        self.timeout = timeout

    def _call(self, fn: Callable[..., T], *args: Any, name: str) -> T:
        try:
            return _with_timeout(fn, *args, timeout=self.timeout, name=name)
        except _KeyringTimeout:
            raise _keyring_hung(self.timeout) from None

    def get(self, key: str) -> dict[str, Any] | None:
        import keyring

        try:
            raw = self._call(keyring.get_password, SERVICE, key, name="get")
        except ConfigurationError:
            raise
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
            self._call(keyring.set_password, SERVICE, key, json.dumps(value), name="set")
        except ConfigurationError:
            raise
        except Exception as error:
            raise _keyring_failed(error) from error

    def delete(self, key: str) -> bool:
        import keyring
        import keyring.errors

        try:
            self._call(keyring.delete_password, SERVICE, key, name="delete")
        except keyring.errors.PasswordDeleteError:
            return False
        except ConfigurationError:
            raise
        except Exception as error:
            raise _keyring_failed(error) from error
        return True

    def describe(self, key: str) -> str:
        import keyring

        return f"OS keyring ({type(keyring.get_keyring()).__name__}, service 'jetraw')"


#: In the secrets directory once the keyring fallback was announced (no secret in it).
_FALLBACK_MARKER = ".keyring-fallback-warned"

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
        try:
            _probe_result = _with_timeout(_probe, timeout=timeout, name="probe")
        except _KeyringTimeout:
            _probe_result = (False, f"keyring did not answer in {timeout:g}s")
        except Exception as error:  # any backend failure means: not usable
            _probe_result = (False, f"{type(error).__name__}")
        return _probe_result


def _reset_after_fork() -> None:
    """In a forked child, replace the module's locks: another thread of the parent may have held
    one at the fork, and it would then stay locked forever in the child."""
    global _MEMORY_LOCK, _probe_lock
    _MEMORY_LOCK = threading.Lock()
    _probe_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX only
    os.register_at_fork(after_in_child=_reset_after_fork)


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
    # Once per process, and once per config dir: every `jetraw` command is a new process, and
    # the same warning before each of them forever would bury what they print.
    marker = store.directory / _FALLBACK_MARKER
    if not _warned and not marker.exists():
        logger.warning(
            "No usable OS keyring (%s); storing login tokens in %s (mode 0600). "
            "Set %s=file to silence this (shown once for this config directory).",
            why,
            store.directory,
            ENV_TOKEN_STORAGE,
        )
        # Not writable: the warning comes again next time, and so does the reason.
        with contextlib.suppress(ConfigurationError):
            write_private_file(marker, f"{why}\n")
    _warned = True
    return store
