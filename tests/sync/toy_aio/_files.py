"""Toy module-level transfers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from toy_aio._client import AsyncClient, get_default_client
from toy_aio._path import AsyncJetrawPath

_UNSET = object()


@dataclasses.dataclass
class UploadResult:
    """What :func:`upload` did."""

    remote: str
    size: int


async def upload(
    src: str | Path,
    dest: str | AsyncJetrawPath,
    *,
    client: AsyncClient | None = None,
    overwrite: bool = False,
    tag: object = _UNSET,
) -> UploadResult:
    """Upload a local file.

    Args:
        src: The local file.
        dest: Where to (``/space/dir/`` or a path object).
        client: The client (default: ``get_default_client()``).
        overwrite: Replace an existing file.
        tag: Anything.

    Returns:
        What was uploaded.
    """
    client = client or get_default_client()
    client._check()
    data = Path(src).read_bytes()  # noqa: ASYNC240 (a toy)
    remote = str(dest)
    if remote.endswith("/"):
        remote += Path(src).name
    client.store()[remote] = data
    return UploadResult(remote, len(data))
