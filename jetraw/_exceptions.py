"""The jetraw exception tree.

Every error the SDK raises is a :class:`JetrawError`. Errors of the libraries underneath (httpx,
botocore, the OS) are translated at exactly one boundary each and chained (``raise ... from exc``),
so callers never need to catch a dependency's exception type.

Where a caller would naturally catch a builtin, the jetraw error also subclasses it.

    JetrawError
    ├── ConfigurationError (ValueError) ........ no server configured, unknown profile, bad args
    ├── InvalidPathError (ValueError) ........... a remote path malformed or escaping its space
    ├── AuthenticationError (PermissionError)
    │   ├── LoginRequiredError .................. no usable credentials: run `jetraw login`
    │   ├── InvalidCredentialsError ............. API key or refresh token wrong, expired or revoked
    │   └── LoginError .......................... browser/device login failed, timed out, denied
    ├── PermissionDeniedError (PermissionError) . 403: not allowed, or not in the organisation
    ├── NotFoundError (FileNotFoundError)
    │   ├── OrganisationNotFoundError
    │   ├── SpaceNotFoundError
    │   ├── RemotePathNotFoundError
    │   ├── UploadNotFoundError
    │   ├── ApiKeyNotFoundError
    │   └── LocalPathNotFoundError .............. a local source of an upload does not exist
    ├── ConflictError
    │   ├── RemotePathExistsError (FileExistsError)
    │   ├── LocalPathExistsError (FileExistsError) a download's local file exists (no overwrite)
    │   ├── DirectoryNotEmptyError (OSError)
    │   └── UploadStateError ................... the upload is no longer pending
    ├── APIError ............................... any other error answer of the state server
    ├── RateLimitedError ....................... 429 after our retries (retry_after)
    ├── ServerConnectionError (ConnectionError) . state server unreachable, timed out or TLS failure
    ├── StorageError (OSError)
    │   ├── StorageCredentialsError ............ no or rejected storage (AWS) credentials
    │   ├── StorageConnectionError (ConnectionError-like) storage endpoint unreachable
    │   ├── IntegrityError ..................... checksum or size of stored bytes does not match
    │   ├── InsufficientStorageError ........... local disk full (ENOSPC); no partial file is left
    │   └── LocalWriteError (PermissionError) .. a download's destination is read-only (EROFS)
    ├── TransferError
    │   ├── UploadError ........................ some files of an upload failed (result attached)
    │   └── DownloadError ...................... some files of a download failed (result attached)
    ├── EventLoopError (RuntimeError) .......... an AsyncClient used from another event loop
    └── ClientClosedError (RuntimeError) ....... a closed client used again

Attributes common to all: ``status_code``, ``code`` (the server's stable problem code),
``request_id`` (quote it in bug reports); each ``None`` where it does not apply.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "ApiKeyNotFoundError",
    "AuthenticationError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DirectoryNotEmptyError",
    "DownloadError",
    "EventLoopError",
    "InsufficientStorageError",
    "IntegrityError",
    "InvalidCredentialsError",
    "InvalidPathError",
    "JetrawError",
    "LocalPathExistsError",
    "LocalPathNotFoundError",
    "LocalWriteError",
    "LoginError",
    "LoginRequiredError",
    "NotFoundError",
    "OrganisationNotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RemotePathExistsError",
    "RemotePathNotFoundError",
    "ServerConnectionError",
    "SpaceNotFoundError",
    "StorageConnectionError",
    "StorageCredentialsError",
    "StorageError",
    "TransferError",
    "UploadError",
    "UploadNotFoundError",
    "UploadStateError",
]


class JetrawError(Exception):
    """Base class of every error raised by jetraw."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request id {self.request_id})"
        return self.message


class ConfigurationError(JetrawError, ValueError):
    """Raised when the configuration is missing or contradictory (no server, unknown profile)."""


class InvalidPathError(JetrawError, ValueError):
    """Raised for a remote path that is malformed or escapes its space."""


class AuthenticationError(JetrawError, PermissionError):
    """Base class of errors that mean: the state server does not accept who you are."""


class LoginRequiredError(AuthenticationError):
    """Raised when there are no usable credentials; the message says to run `jetraw login`."""


class InvalidCredentialsError(AuthenticationError):
    """Raised when an API key or refresh token is wrong, expired or revoked."""


class LoginError(AuthenticationError):
    """Raised when a browser or device-code login fails, times out or is denied."""


class PermissionDeniedError(JetrawError, PermissionError):
    """Raised on 403: authenticated, but not allowed (or not a member of the organisation)."""


class NotFoundError(JetrawError, FileNotFoundError):
    """Base class of 'no such thing' errors."""


class OrganisationNotFoundError(NotFoundError):
    """Raised when an organisation does not exist (or you cannot see it)."""


class SpaceNotFoundError(NotFoundError):
    """Raised when a space does not exist in the client's organisation."""


class RemotePathNotFoundError(NotFoundError):
    """Raised when a file or directory does not exist in a space."""


class UploadNotFoundError(NotFoundError):
    """Raised when an upload id is unknown."""


class ApiKeyNotFoundError(NotFoundError):
    """Raised when an API key id is unknown."""


class LocalPathNotFoundError(NotFoundError):
    """Raised when a local path a transfer reads from (an upload's source) does not exist,
    or a download's local destination cannot be used (its parent is not a directory).

    Raised before any request is sent; the message names the path.
    """


class ConflictError(JetrawError):
    """Base class of 409 answers: the request conflicts with the current state."""


class RemotePathExistsError(ConflictError, FileExistsError):
    """Raised when the destination exists and ``overwrite`` was not given."""


class LocalPathExistsError(ConflictError, FileExistsError):
    """Raised when a download's local destination file exists and ``overwrite`` was not given."""


class DirectoryNotEmptyError(ConflictError, OSError):
    """Raised when removing a directory that still has entries."""


class UploadStateError(ConflictError):
    """Raised when an upload is no longer pending (aborted or expired)."""


class APIError(JetrawError):
    """Raised for any other error answer of the state server."""


class RateLimitedError(JetrawError):
    """Raised when the server keeps answering 429 after our retries."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerConnectionError(JetrawError, ConnectionError):
    """Raised when the state server cannot be reached (refused, DNS, timeout, TLS)."""


class StorageError(JetrawError, OSError):
    """Base class of errors reading or writing a space's storage.

    ``retryable`` is true for a transient failure (throttling, a 5xx, a dropped connection)
    that the transfer engine tries again; backends set it where they translate the error.
    ``object_key`` is the internal storage key of the file concerned, for debugging, when a
    transfer named the file by its remote path in the message instead.
    """

    object_key: str | None = None

    def __init__(self, message: str, *, retryable: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retryable = retryable


class StorageCredentialsError(StorageError):
    """Raised when storage (AWS) credentials are missing or rejected."""


class StorageConnectionError(StorageError):
    """Raised when the storage endpoint cannot be reached."""


class IntegrityError(StorageError):
    """Raised when stored bytes do not match their recorded size or checksum."""


class InsufficientStorageError(StorageError):
    """Raised when the local disk is full; no partial file is left behind.

    A download that meets it stops at once (no other file would fit either): its
    :class:`DownloadError` has this error as ``__cause__``.
    """


class LocalWriteError(StorageError, PermissionError):
    """Raised when a download's local destination cannot be written at all.

    A read-only file system (``EROFS``) or a permission refused (``EACCES``, ``EPERM``): the
    download stops at the first such file instead of failing every file one by one, as it
    does for a full disk (:class:`InsufficientStorageError`): its :class:`DownloadError` has
    this error as ``__cause__``, and the files finished before stay.
    """


class TransferError(JetrawError):
    """Base class of errors that carry the per-file result of a batch transfer."""

    def __init__(self, message: str, *, result: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.result = result


class UploadError(TransferError):
    """Raised when one or more files of an upload failed; ``result`` has every file's outcome."""


class DownloadError(TransferError):
    """Raised when one or more files of a download failed; ``result`` has every file's outcome."""


class EventLoopError(JetrawError, RuntimeError):
    """Raised when an AsyncClient is used from an event loop other than the one it belongs to."""


class ClientClosedError(JetrawError, RuntimeError):
    """Raised when a closed client is used."""
