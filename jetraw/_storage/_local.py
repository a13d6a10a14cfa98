"""Local-disk storage: a directory on a local or network file system.

Objects are written to a temporary name in the target directory, fsynced and renamed, so a
reader sees the whole object or none. A multipart upload is staged as one preallocated data file
written with ``pwrite`` at each part's offset (parts may arrive in any order, concurrently), plus
one small record per finished part; complete renames the data file into place, so no byte is
copied twice.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from jetraw._crc import crc32c_combine, crc32c_hex
from jetraw._exceptions import InsufficientStorageError, IntegrityError, StorageError
from jetraw._storage._base import ByteCallback, MultipartInfo, PartInfo

__all__ = ["LocalStorage"]

_STAGING = ".jetraw-multipart"
_CHUNK = 1 << 20
_T = TypeVar("_T")


def _translate(exc: OSError, what: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorageError(f"No space left on the storage disk while {what}.")
    return StorageError(f"Local storage error while {what}: {exc.strerror or exc}.")


def _write_all(fd: int, body: memoryview, offset: int) -> None:
    view = body.cast("B") if body.format != "B" else body
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)


def _atomic_write(target: Path, body: memoryview | bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            _write_all(fd, memoryview(body), 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - directories that cannot be opened (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


class LocalStorage:
    """Storage under a directory ``root`` (the space descriptor's ``root``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage(root={str(self.root)!r})"

    async def _run(self, what: str, func: Callable[[], _T]) -> _T:
        try:
            return await anyio.to_thread.run_sync(func)
        except StorageError:
            raise
        except OSError as exc:
            raise _translate(exc, what) from exc

    def _object_path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") or p.startswith(_STAGING) for p in parts):
            raise StorageError(f"Invalid storage key {key!r}.")
        return self.root.joinpath(*parts)

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise StorageError(f"The local storage root {str(self.root)!r} does not exist.")

    def _staging(self, upload_id: str) -> Path:
        if not upload_id or "/" in upload_id or upload_id.startswith("."):
            raise StorageError(f"Invalid multipart upload id {upload_id!r}.")
        return self.root / _STAGING / upload_id

    async def put_object(
        self, key: str, body: memoryview, *, crc32c: int, on_bytes: ByteCallback | None = None
    ) -> None:
        target = self._object_path(key)

        def put() -> None:
            self._check_root()
            target.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(target, body)

        await self._run(f"writing {key!r}", put)
        if on_bytes is not None:
            on_bytes(len(body))

    async def create_multipart(self, key: str, *, part_size: int) -> str:
        self._object_path(key)
        upload_id = uuid.uuid4().hex
        staging = self._staging(upload_id)

        def create() -> None:
            self._check_root()
            (staging / "parts").mkdir(parents=True)
            (staging / "data").touch()
            meta = {"key": key, "part_size": part_size}
            _atomic_write(staging / "meta.json", json.dumps(meta).encode())

        await self._run(f"starting a multipart upload of {key!r}", create)
        return upload_id

    def _meta(self, upload_id: str) -> dict[str, Any]:
        try:
            meta: dict[str, Any] = json.loads((self._staging(upload_id) / "meta.json").read_bytes())
        except FileNotFoundError:
            raise StorageError(
                f"No multipart upload {upload_id!r} in local storage.", code="NoSuchUpload"
            ) from None
        return meta

    async def upload_part(
        self,
        key: str,
        upload_id: str,
        number: int,
        body: memoryview,
        *,
        crc32c: int,
        on_bytes: ByteCallback | None = None,
    ) -> PartInfo:
        staging = self._staging(upload_id)

        def write() -> PartInfo:
            meta = self._meta(upload_id)
            fd = os.open(staging / "data", os.O_WRONLY)
            try:
                _write_all(fd, body, (number - 1) * int(meta["part_size"]))
                os.fdatasync(fd) if hasattr(os, "fdatasync") else os.fsync(fd)
            finally:
                os.close(fd)
            info = PartInfo(number, crc32c_hex(crc32c), len(body), crc32c)
            record = {"etag": info.etag, "size": info.size, "crc32c": crc32c}
            _atomic_write(staging / "parts" / f"{number}.json", json.dumps(record).encode())
            return info

        info = await self._run(f"writing part {number} of {key!r}", write)
        if on_bytes is not None:
            on_bytes(len(body))
        return info

    def _parts(self, upload_id: str) -> list[PartInfo]:
        parts = []
        for entry in (self._staging(upload_id) / "parts").iterdir():
            if not entry.name.endswith(".json"):
                continue
            record = json.loads(entry.read_bytes())
            number = int(entry.name[: -len(".json")])
            parts.append(PartInfo(number, record["etag"], record["size"], record["crc32c"]))
        return sorted(parts, key=lambda p: p.number)

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        def parts() -> list[PartInfo]:
            self._meta(upload_id)
            return self._parts(upload_id)

        return await self._run(f"listing the parts of {key!r}", parts)

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[PartInfo], *, crc32c: int
    ) -> None:
        target = self._object_path(key)
        staging = self._staging(upload_id)

        def complete() -> None:
            meta = self._meta(upload_id)
            stored = {p.number: p for p in self._parts(upload_id)}
            total, combined = 0, 0
            for index, part in enumerate(parts, start=1):
                have = stored.get(part.number)
                if part.number != index or have is None or have.etag != part.etag:
                    raise StorageError(f"Part {part.number} of {key!r} is missing or differs.")
                if index < len(parts) and have.size != meta["part_size"]:
                    raise StorageError(f"Part {index} of {key!r} has the wrong size.")
                total += have.size
                combined = crc32c_combine(combined, have.crc32c or 0, have.size)
            if combined != crc32c:
                raise IntegrityError(f"The parts of {key!r} do not add up to its checksum.")
            data = staging / "data"
            fd = os.open(data, os.O_WRONLY)
            try:
                os.ftruncate(fd, total)
                os.fsync(fd)
            finally:
                os.close(fd)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(data, target)
            _fsync_dir(target.parent)
            shutil.rmtree(staging, ignore_errors=True)

        await self._run(f"completing {key!r}", complete)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        staging = self._staging(upload_id)
        await self._run(
            f"aborting the upload of {key!r}", lambda: shutil.rmtree(staging, ignore_errors=True)
        )

    async def list_multipart_uploads(self) -> list[MultipartInfo]:
        def uploads() -> list[MultipartInfo]:
            base = self.root / _STAGING
            if not base.is_dir():
                return []
            found = []
            for entry in sorted(base.iterdir()):
                try:
                    found.append(MultipartInfo(self._meta(entry.name)["key"], entry.name))
                except StorageError:
                    continue
            return found

        return await self._run("listing multipart uploads", uploads)

    async def head(self, key: str) -> int:
        path = self._object_path(key)

        def size() -> int:
            try:
                return path.stat().st_size
            except FileNotFoundError:
                raise StorageError(f"No object {key!r} in storage.", code="NoSuchKey") from None

        return await self._run(f"reading {key!r}", size)

    async def iter_range(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        path = self._object_path(key)
        try:
            fd = await self._run(f"opening {key!r}", lambda: os.open(path, os.O_RDONLY))
        except StorageError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                raise StorageError(f"No object {key!r} in storage.", code="NoSuchKey") from None
            raise
        try:
            offset, end = start, start + length
            while offset < end:
                n = min(_CHUNK, end - offset)
                chunk = await self._run(f"reading {key!r}", partial(os.pread, fd, n, offset))
                if not chunk:
                    raise IntegrityError(f"The object {key!r} is shorter than expected.")
                offset += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    async def delete(self, key: str) -> None:
        path = self._object_path(key)
        await self._run(f"deleting {key!r}", lambda: path.unlink(missing_ok=True))

    async def aclose(self) -> None:
        return None
