"""jetraw: the Python SDK for the Jetraw platform.

The synchronous API of the user documentation (``Client``, ``JetrawPath``, ``upload``, ...) is
re-exported lazily from :mod:`jetraw_sync`, the results and value types lazily from
:mod:`jetraw.aio` (the asyncio API), and the exception tree at once: ``import jetraw`` stays cheap
and the sync runtime starts only when used.
"""

import typing as _typing

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
from jetraw._public import set_public_module as _set_public_module

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "ApiKey",
    "ApiKeyNotFoundError",
    "AuthenticationError",
    "Client",
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
    "JetrawPath",
    "JetrawReader",
    "JetrawTextReader",
    "JetrawTextWriter",
    "JetrawWriter",
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
    "__version__",
    "download",
    "get_default_client",
    "set_default_client",
    "upload",
]

# From `jetraw.aio`, shared by both facades (`jetraw.aio` makes them report `jetraw`).
_VALUE_NAMES = (
    "ApiKey",
    "DownloadResult",
    "FileTransfer",
    "Identity",
    "LoginInfo",
    "LogoutResult",
    "Membership",
    "Organisation",
    "ProgressBar",
    "ProgressEvent",
    "RedactingFilter",
    "RemoteDirectory",
    "RemoteFile",
    "Space",
    "TransferConfig",
    "TransferResult",
    "Upload",
    "UploadResult",
    "User",
)
# The sync facade's own classes and functions.
_SYNC_NAMES = (
    "Client",
    "JetrawPath",
    "JetrawReader",
    "JetrawTextReader",
    "JetrawTextWriter",
    "JetrawWriter",
    "download",
    "get_default_client",
    "set_default_client",
    "upload",
)
# The exceptions, imported above; the lazy names are fixed when they are loaded.
_set_public_module("jetraw", globals(), [n for n in __all__ if n in globals() and n[0].isupper()])

if _typing.TYPE_CHECKING:
    from jetraw.aio import ApiKey as ApiKey
    from jetraw.aio import DownloadResult as DownloadResult
    from jetraw.aio import FileTransfer as FileTransfer
    from jetraw.aio import Identity as Identity
    from jetraw.aio import LoginInfo as LoginInfo
    from jetraw.aio import LogoutResult as LogoutResult
    from jetraw.aio import Membership as Membership
    from jetraw.aio import Organisation as Organisation
    from jetraw.aio import ProgressBar as ProgressBar
    from jetraw.aio import ProgressEvent as ProgressEvent
    from jetraw.aio import RedactingFilter as RedactingFilter
    from jetraw.aio import RemoteDirectory as RemoteDirectory
    from jetraw.aio import RemoteFile as RemoteFile
    from jetraw.aio import Space as Space
    from jetraw.aio import TransferConfig as TransferConfig
    from jetraw.aio import TransferResult as TransferResult
    from jetraw.aio import Upload as Upload
    from jetraw.aio import UploadResult as UploadResult
    from jetraw.aio import User as User
    from jetraw_sync import Client as Client
    from jetraw_sync import JetrawPath as JetrawPath
    from jetraw_sync import JetrawReader as JetrawReader
    from jetraw_sync import JetrawTextReader as JetrawTextReader
    from jetraw_sync import JetrawTextWriter as JetrawTextWriter
    from jetraw_sync import JetrawWriter as JetrawWriter
    from jetraw_sync import download as download
    from jetraw_sync import get_default_client as get_default_client
    from jetraw_sync import set_default_client as set_default_client
    from jetraw_sync import upload as upload


_MOVED_TO_AIO = frozenset({"AsyncClient", "AsyncJetrawPath"})


def __getattr__(name: str) -> object:
    # Lazy, so `import jetraw` loads neither httpx nor the sync runtime until they are used.
    if name in _VALUE_NAMES:
        import jetraw.aio

        value: object = getattr(jetraw.aio, name)
    elif name in _SYNC_NAMES:
        import jetraw_sync

        _set_public_module("jetraw", vars(jetraw_sync), list(_SYNC_NAMES))
        value = getattr(jetraw_sync, name)
    elif name in _MOVED_TO_AIO:
        # jetraw 0.1 exported the async classes here too; `jetraw` is now the sync face and
        # mirrors `jetraw.aio` name for name, so they live in `jetraw.aio` only.
        import warnings

        import jetraw.aio

        warnings.warn(
            f"jetraw.{name} is deprecated; import it from jetraw.aio",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(jetraw.aio, name)  # not cached: every use warns
    else:
        raise AttributeError(f"module 'jetraw' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    # What `dir(jetraw)` and IPython's completion offer: the public names, loaded or not, and the
    # module's dunders (not `_typing` and other helpers).
    return sorted({*__all__, *(n for n in globals() if n.startswith("__") and n.endswith("__"))})
