"""Bad input: each a specific error, nothing created or changed."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from jetraw._exceptions import (
    InvalidPathError,
    JetrawError,
    LocalPathNotFoundError,
    RemotePathExistsError,
    RemotePathNotFoundError,
    SpaceNotFoundError,
    StorageCredentialsError,
    UploadError,
)
from jetraw._transfer import TransferConfig
from jetraw.aio import AsyncJetrawPath

from .conftest import SpaceUnderTest, free_port

pytestmark = pytest.mark.anyio

MiB = 1 << 20


async def pending(client: Any, space: str) -> list[Any]:
    return list(await client.list_pending_uploads(space))


async def test_unknown_space(client: Any, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    with pytest.raises(SpaceNotFoundError):
        await client.upload(tmp_path / "a", "/no-such-space/a")
    assert all(u.space != "no-such-space" for u in await client.list_pending_uploads())


async def test_stat_of_an_unknown_space(space: SpaceUnderTest, client: Any) -> None:
    """``/space`` is a directory only if the space exists: the server is asked (once)."""
    with pytest.raises(SpaceNotFoundError):
        await client.stat("/no-such-space")
    with pytest.raises(SpaceNotFoundError):
        await client.stat("/no-such-space/")
    root = AsyncJetrawPath("/no-such-space", client=client)
    assert not await root.exists()
    assert not await root.is_dir()
    assert not await (root / "f").exists()
    with pytest.raises(SpaceNotFoundError):
        await root.stat()
    known = await client.stat(f"/{space.name}")
    assert known.path == ""
    assert await AsyncJetrawPath(f"/{space.name}", client=client).is_dir()


async def test_missing_local_file(
    space: SpaceUnderTest, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    request = client._api.request

    async def counted(method: str, path: str, **kwargs: Any) -> Any:
        sent.append(f"{method} {path}")
        return await request(method, path, **kwargs)

    monkeypatch.setattr(client._api, "request", counted)
    for dest in (f"/{space.name}/x", f"/{space.name}/dir/"):
        with pytest.raises(LocalPathNotFoundError) as caught:
            await client.upload(tmp_path / "missing", dest)
        # A jetraw error (still a FileNotFoundError for callers catching the builtin), naming
        # the path, raised before anything was asked of the server.
        assert isinstance(caught.value, JetrawError)
        assert isinstance(caught.value, FileNotFoundError)
        assert str(tmp_path / "missing") in str(caught.value)
    assert sent == []
    monkeypatch.undo()
    assert await pending(client, space.name) == []
    assert not await AsyncJetrawPath(f"/{space.name}/x", client=client).exists()


async def test_existing_destination_without_overwrite(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    for size in (10, 6 * MiB):  # single PUT and multipart
        (tmp_path / "f").write_bytes(b"old" * 3)
        await client.upload(tmp_path / "f", f"/{space.name}/f", overwrite=True)
        before = await client.stat(f"/{space.name}/f")
        (tmp_path / "f").write_bytes(os.urandom(size))
        config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
        with pytest.raises(UploadError) as info:
            await client.upload(tmp_path / "f", f"/{space.name}/f", config=config)
        [failed] = info.value.result.failed
        assert isinstance(failed.error, RemotePathExistsError)
        after = await client.stat(f"/{space.name}/f")
        assert after == before
        assert space.read_object(after.object_key) == b"old" * 3
        assert await pending(client, space.name) == []
        assert space.open_multipart_uploads() == []


@pytest.mark.parametrize(
    "dest",
    [
        "/{space}/../escape",
        "/{space}/a/../../b",
        "/{space}/a//b",
        "relative/path",
        "/{space}/a\x00b",
    ],
)
async def test_path_escaping_its_space(
    dest: str, space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    (tmp_path / "a").write_bytes(b"a")
    with pytest.raises(InvalidPathError):
        await client.upload(tmp_path / "a", dest.format(space=space.name))
    assert await pending(client, space.name) == []
    assert [e async for e in client.list_files(f"/{space.name}", recursive=True)] == []


async def test_no_aws_credentials_sends_nothing(
    jetraw_platform: Any, client: Any, tmp_path: Path
) -> None:
    # No AWS variables (the suite's autouse fixture cleared them) and an endpoint where nothing
    # listens: a sent request would be a connection error, not a credentials error.
    name = f"t-{uuid.uuid4().hex[:12]}"
    jetraw_platform.create_space(
        name,
        storage={
            "type": "s3",
            "bucket": "nobucket",
            "prefix": "",
            "region": "us-east-1",
            "endpoint_url": f"http://127.0.0.1:{free_port()}",
            "addressing_style": "path",
        },
    )
    assert os.environ.get("AWS_EC2_METADATA_DISABLED") == "true"
    (tmp_path / "a").write_bytes(b"a")
    with pytest.raises(StorageCredentialsError) as info:
        await client.upload(tmp_path / "a", f"/{name}/a")
    assert "credentials" in str(info.value).lower()
    assert await pending(client, name) == []


async def test_batch_with_failures_uploads_the_rest(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    files = []
    for i in range(6):
        (tmp_path / f"f{i}").write_bytes(f"content {i}".encode())
        files.append(tmp_path / f"f{i}")
    await client.upload(tmp_path / "f2", f"/{space.name}/batch/f2")  # exists: no overwrite
    files.insert(3, tmp_path / "gone")  # missing locally
    with pytest.raises(UploadError) as info:
        await client.upload(files, f"/{space.name}/batch/")
    result = info.value.result
    assert [f.status for f in result.files] == [
        "uploaded",
        "uploaded",
        "failed",
        "failed",
        "uploaded",
        "uploaded",
        "uploaded",
    ]
    assert isinstance(result.files[2].error, RemotePathExistsError)
    assert isinstance(result.files[3].error, LocalPathNotFoundError)
    assert str(tmp_path / "gone") in str(result.files[3].error)
    for i in (0, 1, 3, 4, 5):
        p = AsyncJetrawPath(f"/{space.name}/batch/f{i}", client=client)
        assert await p.read_bytes() == f"content {i}".encode()
    assert await pending(client, space.name) == []


async def test_skip_existing(space: SpaceUnderTest, client: Any, tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"f{i}").write_bytes(f"v{i}".encode())
    await client.upload(tmp_path, f"/{space.name}/s/")
    (tmp_path / "f1").write_bytes(b"changed")
    result = await client.upload(tmp_path, f"/{space.name}/s/", skip_existing=True, overwrite=True)
    assert [f.status for f in result.files] == ["skipped", "uploaded", "skipped"]
    assert await AsyncJetrawPath(f"/{space.name}/s/f1", client=client).read_bytes() == b"changed"


async def test_fail_fast_stops(space: SpaceUnderTest, client: Any, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    with pytest.raises(UploadError) as info:
        await client.upload(
            [tmp_path / "missing", tmp_path / "a"], f"/{space.name}/ff/", fail_fast=True
        )
    result = info.value.result
    assert [f.status for f in result.files] == ["failed", "failed"]
    assert not await AsyncJetrawPath(f"/{space.name}/ff/a", client=client).exists()
    assert await pending(client, space.name) == []


async def test_download_missing_remote(space: SpaceUnderTest, client: Any, tmp_path: Path) -> None:
    with pytest.raises(RemotePathNotFoundError):
        await client.download(f"/{space.name}/nothing", tmp_path / "x")
    assert not (tmp_path / "x").exists()


async def test_a_storage_error_names_the_remote_path_not_the_object_key(
    space: SpaceUnderTest, client: Any, tmp_path: Path
) -> None:
    from jetraw._exceptions import DownloadError, StorageError

    (tmp_path / "a.raw").write_bytes(os.urandom(1000))
    await client.upload(tmp_path / "a.raw", f"/{space.name}/gone/a.raw")
    key = (await client.stat(f"/{space.name}/gone/a.raw")).object_key
    assert key
    # The object vanishes from storage behind the platform's back.
    if space.kind == "s3":
        space.s3.delete_object(
            Bucket=space.storage["bucket"], Key=(space.storage.get("prefix") or "") + key
        )
    else:
        (Path(space.storage["root"]) / key).unlink()
    with pytest.raises(DownloadError) as info:
        await client.download(f"/{space.name}/gone/a.raw", tmp_path / "out.raw")
    [failed] = info.value.result.files
    assert isinstance(failed.error, StorageError)
    assert f"/{space.name}/gone/a.raw" in str(failed.error)
    assert key not in str(failed.error)
    assert key not in str(info.value)
    assert failed.error.object_key == key  # kept for debugging
