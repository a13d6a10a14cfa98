"""The asyncio API of jetraw; the sync facade (:mod:`jetraw_sync`, re-exported by :mod:`jetraw`)
mirrors it name for name.

Everything a caller meets is here: the async classes and functions, the results and value types
they return, and the whole exception tree. Each object reports its public module (see
:mod:`jetraw._public`): ``jetraw.aio`` for the async classes and functions, ``jetraw`` for what
both facades share.
"""

from jetraw._api import RemoteDirectory, RemoteFile, Upload
from jetraw._client import AsyncClient
from jetraw._default_client import get_default_client, set_default_client
from jetraw._exceptions import (
    APIError,
    ApiKeyNotFoundError,
    AuthenticationError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    DirectoryNotEmptyError,
    DownloadError,
    EventLoopError,
    InsufficientStorageError,
    IntegrityError,
    InvalidCredentialsError,
    InvalidPathError,
    JetrawError,
    LocalPathExistsError,
    LocalPathNotFoundError,
    LocalWriteError,
    LoginError,
    LoginRequiredError,
    NotFoundError,
    OrganisationNotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RemotePathExistsError,
    RemotePathNotFoundError,
    ServerConnectionError,
    SpaceNotFoundError,
    StorageConnectionError,
    StorageCredentialsError,
    StorageError,
    TransferError,
    UploadError,
    UploadNotFoundError,
    UploadStateError,
)
from jetraw._models import (
    ApiKey,
    Identity,
    LoginInfo,
    LogoutResult,
    Membership,
    Organisation,
    Space,
    User,
)
from jetraw._operations import download, upload
from jetraw._path import AsyncJetrawPath
from jetraw._path_io import AsyncJetrawReader, AsyncJetrawWriter
from jetraw._path_text import AsyncJetrawTextReader, AsyncJetrawTextWriter
from jetraw._progress import ProgressBar
from jetraw._public import set_public_module as _set_public_module
from jetraw._transfer import (
    DownloadResult,
    FileTransfer,
    ProgressEvent,
    TransferConfig,
    TransferResult,
    UploadResult,
)
from jetraw._util import RedactingFilter

__all__ = [
    "APIError",
    "ApiKey",
    "ApiKeyNotFoundError",
    "AsyncClient",
    "AsyncJetrawPath",
    "AsyncJetrawReader",
    "AsyncJetrawTextReader",
    "AsyncJetrawTextWriter",
    "AsyncJetrawWriter",
    "AuthenticationError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DirectoryNotEmptyError",
    "DownloadError",
    "DownloadResult",
    "EventLoopError",
    "FileTransfer",
    "Identity",
    "InsufficientStorageError",
    "IntegrityError",
    "InvalidCredentialsError",
    "InvalidPathError",
    "JetrawError",
    "LocalPathExistsError",
    "LocalPathNotFoundError",
    "LocalWriteError",
    "LoginError",
    "LoginInfo",
    "LoginRequiredError",
    "LogoutResult",
    "Membership",
    "NotFoundError",
    "Organisation",
    "OrganisationNotFoundError",
    "PermissionDeniedError",
    "ProgressBar",
    "ProgressEvent",
    "RateLimitedError",
    "RedactingFilter",
    "RemoteDirectory",
    "RemoteFile",
    "RemotePathExistsError",
    "RemotePathNotFoundError",
    "ServerConnectionError",
    "Space",
    "SpaceNotFoundError",
    "StorageConnectionError",
    "StorageCredentialsError",
    "StorageError",
    "TransferConfig",
    "TransferError",
    "TransferResult",
    "Upload",
    "UploadError",
    "UploadNotFoundError",
    "UploadResult",
    "UploadStateError",
    "User",
    "download",
    "get_default_client",
    "set_default_client",
    "upload",
]

# What both facades share reports `jetraw`; the async classes and functions `jetraw.aio`.
_SHARED = [n for n in __all__ if n[0].isupper() and not n.startswith("Async")]
_set_public_module("jetraw", globals(), _SHARED)
_set_public_module("jetraw.aio", globals(), [n for n in __all__ if n not in _SHARED])


def __dir__() -> list[str]:
    # What `dir(jetraw.aio)` and IPython's completion offer: the public names and the module's
    # dunders, not its imports (`_set_public_module`).
    return sorted({*__all__, *(n for n in globals() if n.startswith("__") and n.endswith("__"))})
