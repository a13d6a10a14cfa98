"""Local-disk storage: a directory on a local or network file system.

Objects are written to a temporary name in the target directory, fsynced and renamed, so a
reader sees the whole object or none. A multipart upload is staged as one preallocated data file
written with ``pwrite`` at each part's offset (parts may arrive in any order, concurrently), plus
one small record per finished part; complete renames the data file into place, so no byte is
copied twice.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from jetraw._crc import crc32c_combine, crc32c_hex
from jetraw._exceptions import InsufficientStorageError, IntegrityError, StorageError
from jetraw._storage._base import ByteCallback, MultipartInfo, PartInfo
from jetraw._util import StagingLayout, StagingMeta, atomic_write, fsync_dir, write_all

__all__ = ["LocalStorage"]

_CHUNK = 1 << 20
_T = TypeVar("_T")


def _translate(exc: OSError, what: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorageError(f"No space left on the storage disk while {what}.")
    return StorageError(f"Local storage error while {what}: {exc.strerror or exc}.")


def _publish(target: Path, body: memoryview | bytes) -> None:
    """Write an object (or a staging record) atomically, readable by others like any file."""
    atomic_write(target, body, mode=0o644, parent_mode=None)


class LocalStorage:
    """Storage under a directory ``root`` (the space descriptor's ``root``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.layout = StagingLayout(self.root)

    def __repr__(self) -> str:
        return f"LocalStorage(root={str(self.root)!r})"

    @property
    def pool_size(self) -> int:
        return 1 << 30  # no connection pool: the scheduler's limits are the only bound

    @property
    def timeouts(self) -> tuple[float, float] | None:
        return None

    async def _run(self, what: str, func: Callable[[], _T]) -> _T:
        try:
            return await anyio.to_thread.run_sync(func)
        except StorageError:
            raise
        except OSError as exc:
            raise _translate(exc, what) from exc

    def _object_path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") or StagingLayout.is_reserved(p) for p in parts):
            raise StorageError(f"Invalid storage key {key!r}.")
        return self.root.joinpath(*parts)

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise StorageError(f"The local storage root {str(self.root)!r} does not exist.")

    async def check_credentials(self) -> None:
        """Check that the root exists (local disk needs no credentials)."""
        await self._run("checking the storage root", self._check_root)

    def _staging(self, upload_id: str) -> Path:
        try:
            return self.layout.upload_dir(upload_id)
        except ValueError as exc:
            raise StorageError(str(exc)) from None

    async def prepare_puts(self, puts: Sequence[tuple[str, int]]) -> None:
        """Nothing to prepare: each PUT needs nothing from elsewhere."""

    async def put_object(
        self, key: str, body: memoryview, *, crc32c: int, on_bytes: ByteCallback | None = None
    ) -> None:
        target = self._object_path(key)

        def put() -> None:
            self._check_root()
            target.parent.mkdir(parents=True, exist_ok=True)
            _publish(target, body)

        await self._run(f"writing {key!r}", put)
        if on_bytes is not None:
            on_bytes(len(body))

    async def create_multipart(self, key: str, *, part_size: int) -> str:
        self._object_path(key)
        upload_id = uuid.uuid4().hex
        self._staging(upload_id)  # a valid id (uuid4 hex always is)

        def create() -> None:
            # Assembled aside and renamed into place whole: a crash leaves either nothing
            # under the id or a complete staging, and what it left aside names the key.
            self._check_root()
            new = self.layout.new_dir(upload_id, key)
            try:
                (new / "parts").mkdir(parents=True)
                (new / "data").touch()
                self.layout.write_meta(new, StagingMeta(key, part_size))
                os.rename(new, self.layout.upload_dir(upload_id))
            except BaseException:
                shutil.rmtree(new, ignore_errors=True)
                raise
            fsync_dir(self.layout.base)

        await self._run(f"starting a multipart upload of {key!r}", create)
        return upload_id

    def _meta(self, upload_id: str) -> StagingMeta:
        self._staging(upload_id)  # an id that could escape the staging area is refused
        meta = self.layout.read_meta(upload_id)
        if meta is None:
            raise StorageError(
                f"No multipart upload {upload_id!r} in local storage.", code="NoSuchUpload"
            )
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
        def write() -> PartInfo:
            meta = self._meta(upload_id)
            fd = os.open(self.layout.data_path(upload_id), os.O_WRONLY)
            try:
                write_all(fd, body, (number - 1) * meta.part_size)
                os.fdatasync(fd) if hasattr(os, "fdatasync") else os.fsync(fd)
            finally:
                os.close(fd)
            info = PartInfo(number, crc32c_hex(crc32c), len(body), crc32c)
            record = {"etag": info.etag, "size": info.size, "crc32c": crc32c}
            _publish(self.layout.part_record(upload_id, number), json.dumps(record).encode())
            return info

        info = await self._run(f"writing part {number} of {key!r}", write)
        if on_bytes is not None:
            on_bytes(len(body))
        return info

    def _parts(self, upload_id: str) -> list[PartInfo]:
        parts = []
        for entry in self.layout.parts_dir(upload_id).iterdir():
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
                if index < len(parts) and have.size != meta.part_size:
                    raise StorageError(f"Part {index} of {key!r} has the wrong size.")
                total += have.size
                combined = crc32c_combine(combined, have.crc32c or 0, have.size)
            if combined != crc32c:
                raise IntegrityError(f"The parts of {key!r} do not add up to its checksum.")
            data = self.layout.data_path(upload_id)
            try:
                fd = os.open(data, os.O_WRONLY)
            except FileNotFoundError:
                # Stopped between moving the bytes into place and removing the staging: done
                # (an object key names one upload's object only), unless the object is wrong.
                if not target.is_file() or target.stat().st_size != total:
                    raise
            else:
                try:
                    os.ftruncate(fd, total)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(data, target)
                fsync_dir(target.parent)
            with contextlib.suppress(OSError):
                self.layout.retire(staging)

        await self._run(f"completing {key!r}", complete)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        staging = self._staging(upload_id)
        await self._run(f"aborting the upload of {key!r}", lambda: self.layout.retire(staging))

    async def list_multipart_uploads(self) -> list[MultipartInfo]:
        def uploads() -> list[MultipartInfo]:
            return [
                MultipartInfo(meta.key, upload_id)
                for upload_id, meta in self.layout.iter_uploads()
                if meta is not None
            ]

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
