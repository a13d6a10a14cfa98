"""Helpers shared by the commands: exit codes, running async code, JSON, sizes, remote paths."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import anyio
import click

from jetraw.aio import (
    AsyncClient,
    AsyncJetrawPath,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidPathError,
    JetrawError,
    NotFoundError,
    PermissionDeniedError,
    RemoteDirectory,
    RemoteFile,
    RemotePathNotFoundError,
    ServerConnectionError,
    StorageConnectionError,
    TransferError,
    Upload,
)

__all__ = [
    "ENTRY_KEYS",
    "ENV_API_KEY",
    "ENV_PROFILE",
    "ENV_SERVER",
    "ENV_TOKEN_STORAGE",
    "EXIT_CODES",
    "CommandError",
    "SizeType",
    "client_for",
    "describe_error",
    "emit_json",
    "entry_json",
    "exit_code_for",
    "file_error_code",
    "full_path_errors",
    "human_size",
    "info",
    "is_quiet",
    "local_errors",
    "no_color",
    "parse_size",
    "printable",
    "remote_path",
    "run",
    "upload_json",
    "warn",
]

T = TypeVar("T")

# The environment variables the CLI names in options and messages: a documented contract, so the
# CLI spells them itself rather than reaching into the SDK's configuration code.
ENV_API_KEY = "JETRAW_API_KEY"
ENV_PROFILE = "JETRAW_PROFILE"
ENV_SERVER = "JETRAW_SERVER"
# S105: an environment variable's name, not a secret
ENV_TOKEN_STORAGE = "JETRAW_TOKEN_STORAGE"  # noqa: S105

#: Exit codes that mean something to scripts (documented in ``jetraw --help``).
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (TransferError, 7),
    (AuthenticationError, 3),
    (PermissionDeniedError, 3),
    (NotFoundError, 4),
    (ConflictError, 5),
    (ServerConnectionError, 6),
    (StorageConnectionError, 6),
    (ConfigurationError, 2),
    (InvalidPathError, 2),
    (JetrawError, 1),
]


def exit_code_for(exc: BaseException) -> int:
    """The exit code of a jetraw error (1 for anything else)."""
    for kind, code in EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return 1


class CommandError(click.ClickException):
    """A one-line error with a chosen exit code (``Error: ...`` on stderr)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        # Messages quote paths and server text: shown escaped (:func:`printable`).
        super().__init__(printable(message))
        # click declares `exit_code` a ClassVar but reads it from the instance.
        self.exit_code = exit_code  # type: ignore[misc]


def run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn`` on a fresh event loop; a task group's lone error is raised as itself."""
    try:
        return anyio.run(fn)
    except asyncio.CancelledError:
        # Python 3.10: the runner cancels the main task on Ctrl-C but, without
        # `Task.uncancel`, re-raises that cancellation instead of KeyboardInterrupt. Nothing
        # else cancels the main task from outside.
        raise KeyboardInterrupt from None
    except Exception as exc:
        # One error wrapped by a task group reads better (and maps to its exit code) unwrapped.
        # Duck-typed: on 3.10 the group class is the `exceptiongroup` backport's.
        leaves = _leaves(exc)
        if len(leaves) == 1 and leaves[0] is not exc:
            raise leaves[0] from None
        raise


def _leaves(exc: BaseException) -> list[BaseException]:
    inner = getattr(exc, "exceptions", None)
    if not isinstance(inner, (list, tuple)):
        return [exc]
    found: list[BaseException] = []
    for item in inner:
        found += _leaves(item)
    return found


def client_for(ctx: click.Context, **options: Any) -> AsyncClient:
    """The client of the global ``--server`` and ``--profile`` (or the environment).

    ``options`` go to :class:`AsyncClient` as they are (``refresh_token_if_empty=False``...).
    """
    obj = ctx.obj or {}
    options.setdefault("profile", obj.get("profile"))
    options.setdefault("server", obj.get("server"))
    return AsyncClient(**options)


def is_quiet(ctx: click.Context) -> bool:
    """Whether the global ``--quiet`` was given."""
    return bool((ctx.obj or {}).get("quiet"))


def info(ctx: click.Context, message: str, *, err: bool = False) -> None:
    """Print an informational line (escaped, :func:`printable`), unless ``--quiet``."""
    if not is_quiet(ctx):
        click.echo(printable(message), err=err)


def no_color() -> bool:
    """Whether ``NO_COLOR`` asks for output without colour (no-color.org: set, not empty)."""
    return bool(os.environ.get("NO_COLOR"))


def warn(message: str) -> None:
    """Print ``Warning: ...`` on stderr, ``--quiet`` or not (it says something went amiss)."""
    click.echo(printable(f"Warning: {message}"), err=True)


def remote_path(text: str) -> AsyncJetrawPath:
    """``/space/path`` as a path, checked before anything is sent.

    Raises:
        InvalidPathError: Not absolute, no space, or a path that escapes its space (exit 2).
    """
    return AsyncJetrawPath(text)


# What a terminal may act on rather than show: C0 controls (tab and newline too: a name must not
# fake a line of output), DEL, C1 controls (U+009B is a one-character CSI on many terminals), lone
# surrogates (not text at all), and the bidirectional overrides and isolates, which reorder what
# follows them on screen ("Trojan Source").
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def printable(value: object) -> str:
    """``value`` as text safe to print on a terminal: control characters shown as ``\\x1b``.

    Everything the CLI prints that came from the server or from storage (paths, names, metadata,
    error messages quoting the server) goes through this, so a hostile file name or metadata
    value cannot clear the screen, set the window title or write the clipboard (OSC 52). Only
    the characters a terminal acts on are changed; other text, non-ASCII included, stays as is.
    """
    return _UNPRINTABLE.sub(_escape, str(value))


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout.

    ``json.dumps`` escapes every control character and (with its default ``ensure_ascii``) every
    non-ASCII one, C1 controls and lone surrogates included, so JSON output needs no
    :func:`printable` and stays valid JSON.
    """
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True))


def file_error_code(exc: BaseException | None) -> int:
    """The exit code for one file's error (local OS errors included)."""
    if exc is None or isinstance(exc, JetrawError):
        return exit_code_for(exc) if exc is not None else 1
    if isinstance(exc, FileExistsError):
        return 5
    if isinstance(exc, FileNotFoundError):
        return 4
    if isinstance(exc, PermissionError):
        return 3
    return 1


def describe_error(exc: BaseException | None) -> str:
    """One line for an error: OS errors without their errno prefix noise."""
    if exc is None:
        return "unknown error"
    if isinstance(exc, OSError) and not isinstance(exc, JetrawError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
        return printable(text)
    text = str(exc) or type(exc).__name__
    return printable(text.splitlines()[0] if text else type(exc).__name__)


@contextlib.contextmanager
def local_errors() -> Iterator[None]:
    """Turn local OS errors (not jetraw's own) into one-line errors with a fitting exit code."""
    try:
        yield
    except JetrawError:
        raise
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise
        raise CommandError(describe_error(exc), file_error_code(exc)) from None


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """``8MiB``, ``64M``, ``1G``, ``1.5GB``, ``5242880`` → bytes (units are powers of 1024).

    Raises:
        ValueError: Not a size.
    """
    match = _SIZE.match(text)
    if not match or (match.group(3) and not match.group(2) and match.group(3).lower() != "b"):
        raise ValueError(f"{text!r} is not a size (examples: 8MiB, 64M, 1G, 5242880)")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * _UNITS[unit])


class SizeType(click.ParamType):  # type: ignore[type-arg]
    """A click parameter type for sizes such as ``8MiB`` or ``1G``."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def human_size(n: int) -> str:
    """``1536`` → ``1.5 KiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


#: The keys of every listing and stat entry in JSON (docs/cli.md): null where they do not apply.
ENTRY_KEYS = (
    "path",
    "name",
    "type",
    "size",
    "checksum",
    "sha256",
    "created_at",
    "modified_at",
    "metadata",
)


def entry_json(entry: RemoteFile | RemoteDirectory | str) -> dict[str, Any]:
    """A listing or stat entry as JSON (a ``str``: a space's name, as ``jetraw ls`` lists it)."""
    data: dict[str, Any] = dict.fromkeys(ENTRY_KEYS)
    if isinstance(entry, str):
        data.update(path=f"/{entry}/", name=entry, type="space")
        return data
    remote = f"/{entry.space}/{entry.path}" if entry.path else f"/{entry.space}/"
    data.update(path=remote, name=entry.path.rpartition("/")[2] or entry.space)
    if isinstance(entry, RemoteDirectory):
        data["type"] = "directory"
        return data
    data.update(
        type="file",
        size=entry.size,
        checksum=entry.checksum,
        sha256=entry.sha256,
        created_at=entry.created_at,
        modified_at=entry.modified_at,
        metadata=dict(entry.metadata),
    )
    return data


@contextlib.contextmanager
def full_path_errors(path: str) -> Iterator[None]:
    """A missing remote path named in full (``/space/a/b``), not as the server names it
    (``a/b``, without its space)."""
    try:
        yield
    except RemotePathNotFoundError as exc:
        raise RemotePathNotFoundError(
            f"No file or directory {path!r}.",
            status_code=exc.status_code,
            code=exc.code,
            request_id=exc.request_id,
        ) from None


def upload_json(upload: Upload) -> dict[str, Any]:
    """A pending upload as JSON."""
    return {
        "id": upload.id,
        "path": f"/{upload.space}/{upload.path}",
        "size": upload.size,
        "status": upload.status,
        "multipart": upload.storage_upload_id is not None,
        "created_at": upload.created_at,
        "expires_at": upload.expires_at,
    }
