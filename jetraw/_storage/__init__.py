"""Storage backends behind one protocol: S3 (aiobotocore) and local disk.

The S3 backend is imported only when an S3 space is opened (or ``S3Storage`` is asked for):
aiobotocore, botocore and aiohttp cost about half a second of CPU to import, which a client
that only lists files, or uploads to a local space, never pays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jetraw._exceptions import ConfigurationError
from jetraw._storage._base import ByteCallback, MultipartInfo, PartInfo, Storage, is_retryable
from jetraw._storage._local import LocalStorage

if TYPE_CHECKING:
    from jetraw._storage._granted import Granter
    from jetraw._storage._s3 import S3Storage

__all__ = [
    "ByteCallback",
    "LocalStorage",
    "MultipartInfo",
    "PartInfo",
    "S3Storage",
    "Storage",
    "is_retryable",
    "open_storage",
]


def open_storage(
    descriptor: Mapping[str, Any],
    *,
    verify: bool | str = True,
    aws_profile: str | None = None,
    max_pool_connections: int = 10,
    connect_timeout: float = 10.0,
    read_timeout: float = 30.0,
    granter: Granter | None = None,
) -> Storage:
    """Build the backend for a space's storage descriptor (no I/O happens here).

    ``granter`` signs requests on a space with ``access: "granted"`` (the state server's
    ``grants`` endpoint); such a space needs no AWS configuration at all.
    """
    kind = descriptor.get("type")
    if kind == "local":
        return LocalStorage(descriptor["root"])
    if kind == "s3" and descriptor.get("access") == "granted":
        if granter is None:
            raise ConfigurationError("This space's storage is granted by the server: no granter.")
        from jetraw._storage._granted import GrantedStorage

        return GrantedStorage(
            granter=granter,
            bucket=descriptor["bucket"],
            verify=verify,
            max_pool_connections=max_pool_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
    if kind == "s3":
        from jetraw._storage._s3 import S3Storage

        return S3Storage(
            bucket=descriptor["bucket"],
            prefix=descriptor.get("prefix") or "",
            region=descriptor.get("region"),
            endpoint_url=descriptor.get("endpoint_url"),
            addressing_style=descriptor.get("addressing_style"),
            verify=verify,
            aws_profile=aws_profile,
            max_pool_connections=max_pool_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
    raise ConfigurationError(f"Unsupported storage type {kind!r} in the space descriptor.")


if not TYPE_CHECKING:  # for mypy, S3Storage is the import above; a misspelt name stays an error

    def __getattr__(name: str) -> Any:
        if name == "S3Storage":
            from jetraw._storage._s3 import S3Storage

            return S3Storage
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
