"""``jetraw.dask.upload`` on a ``LocalCluster`` of two worker processes, against the session's
reference platform: exact results, reruns, a worker killed mid-run, and the errors a caller meets.
"""

from __future__ import annotations

import os
import pickle
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import jetraw
import jetraw.dask
from jetraw._crc import crc32c, crc32c_hex
from jetraw.dask._task import portable_error
from jetraw.testing import LocalPlatform
from tests.conftest import S3Endpoint
from tests.dask_upload._kill import KillOnce
from tests.transfer.conftest import s3_descriptor

N_DIRS, PER_DIR = 20, 100  # 2,000 files


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    """2,000 small files in 20 directories: ``{relative path: (size, crc32c hex)}``."""
    root = tmp_path_factory.mktemp("tree")
    rng = random.Random(10)
    expected = {}
    for d in range(N_DIRS):
        (root / f"d{d:02d}").mkdir()
        for i in range(PER_DIR):
            data = rng.randbytes(rng.randrange(0, 2048))
            rel = f"d{d:02d}/f{i:03d}.bin"
            (root / rel).write_bytes(data)
            expected[rel] = (len(data), crc32c_hex(crc32c(data)))
    expected["__root__"] = (0, str(root))
    return expected


@pytest.fixture
def client(jetraw_platform: LocalPlatform) -> Iterator[jetraw.Client]:
    with jetraw.Client(jetraw_platform.api_key, server=jetraw_platform.url) as c:
        yield c


def root_of(tree: dict[str, tuple[int, str]]) -> Path:
    return Path(tree["__root__"][1])


def files_of(tree: dict[str, tuple[int, str]]) -> dict[str, tuple[int, str]]:
    return {k: v for k, v in tree.items() if k != "__root__"}


def listing(client: jetraw.Client, prefix: str) -> dict[str, tuple[int, str | None]]:
    """``{path below prefix: (size, checksum)}`` of every file the server lists."""
    found = {}
    for entry in client.list_files(prefix, recursive=True):
        if isinstance(entry, jetraw.RemoteFile):
            found[f"/{entry.space}/{entry.path}"[len(prefix) + 1 :]] = (entry.size, entry.checksum)
    return found


def options(platform: LocalPlatform, dask_client: Any) -> dict[str, Any]:
    return {"dask_client": dask_client, "server": platform.url, "api_key": platform.api_key}


def check_exact(
    result: jetraw.UploadResult,
    tree: dict[str, tuple[int, str]],
    prefix: str,
    status: str,
) -> None:
    expected = files_of(tree)
    root = root_of(tree)
    assert len(result.files) == len(expected)
    assert [f.local for f in result.files] == [root / rel for rel in sorted(expected)]
    for file in result.files:
        rel = file.local.relative_to(root).as_posix()
        assert file.remote == f"{prefix}/{rel}"
        assert file.status == status, (file, file.error)
        assert (file.size, file.checksum) == expected[rel]


def test_two_thousand_files_on_two_workers_then_a_rerun_skips_them_all(
    jetraw_platform: LocalPlatform,
    dask_client: Any,
    client: jetraw.Client,
    tree: dict[str, tuple[int, str]],
) -> None:
    prefix = f"/{jetraw_platform.space}/dask-{uuid.uuid4().hex[:8]}"
    opts = options(jetraw_platform, dask_client)

    result = jetraw.dask.upload(root_of(tree), f"{prefix}/", **opts)

    assert isinstance(result, jetraw.UploadResult)
    check_exact(result, tree, prefix, "uploaded")
    assert sum(f.bytes_sent for f in result.files) == sum(s for s, _ in files_of(tree).values())
    assert listing(client, prefix) == files_of(tree)
    again = jetraw.dask.upload(root_of(tree), f"{prefix}/", skip_existing=True, **opts)
    check_exact(again, tree, prefix, "skipped")
    assert sum(f.bytes_sent for f in again.files) == 0


def test_a_worker_killed_mid_run_loses_nothing(
    jetraw_platform: LocalPlatform,
    dask_client: Any,
    client: jetraw.Client,
    tree: dict[str, tuple[int, str]],
    tmp_path: Path,
) -> None:
    """SIGKILL of a worker while its batch is half committed: Dask runs the batch again on a
    worker, which finds the files the dead attempt committed and reports them uploaded."""
    prefix = f"/{jetraw_platform.space}/dask-{uuid.uuid4().hex[:8]}"
    marker, go = tmp_path / "killed", tmp_path / "go"
    stop = threading.Event()

    def watch() -> None:  # "go" once the two first batches have committed ~30 files each
        with jetraw.Client(jetraw_platform.api_key, server=jetraw_platform.url) as watcher:
            while not stop.is_set() and len(listing(watcher, prefix)) < 60:
                time.sleep(0.01)
        go.touch()

    watcher = threading.Thread(target=watch)
    dask_client.register_plugin(KillOnce(str(marker), str(go)))
    watcher.start()
    try:
        result = jetraw.dask.upload(
            root_of(tree),
            prefix,
            files_per_task=200,
            # Commits of 10 files at a time, so the killed attempt has committed some.
            config=jetraw.TransferConfig(batch_size=10),
            **options(jetraw_platform, dask_client),
        )
    finally:
        stop.set()
        watcher.join()
        dask_client.unregister_worker_plugin(KillOnce.name)
    assert marker.exists(), "no worker was killed"
    check_exact(result, tree, prefix, "uploaded")
    assert listing(client, prefix) == files_of(tree)
    # Committed by the killed attempt: reported uploaded, not failed as existing, not resent.
    assert any(f.bytes_sent == 0 and f.size for f in result.files)
    dask_client.wait_for_workers(2, timeout=30)  # the nanny restarts the killed worker


def test_a_rerun_without_skip_existing_fails_existing_files_as_upload_does(
    jetraw_platform: LocalPlatform,
    dask_client: Any,
    client: jetraw.Client,
    tmp_path: Path,
) -> None:
    prefix = f"/{jetraw_platform.space}/dask-{uuid.uuid4().hex[:8]}"
    (tmp_path / "a.bin").write_bytes(b"a" * 10)
    (tmp_path / "b.bin").write_bytes(b"b" * 20)
    client.upload(tmp_path / "a.bin", f"{prefix}/a.bin")
    with pytest.raises(jetraw.UploadError) as caught:
        jetraw.dask.upload(tmp_path, prefix, **options(jetraw_platform, dask_client))
    files = caught.value.result.files
    assert [(f.remote, f.status) for f in files] == [
        (f"{prefix}/a.bin", "failed"),
        (f"{prefix}/b.bin", "uploaded"),
    ]
    assert isinstance(files[0].error, jetraw.RemotePathExistsError)
    assert "1 of 2 files failed" in str(caught.value)


def test_remote_paths_are_those_of_upload(
    jetraw_platform: LocalPlatform, dask_client: Any, client: jetraw.Client, tmp_path: Path
) -> None:
    """A single file renamed, into a folder, an iterable of files and directories."""
    (tmp_path / "one.bin").write_bytes(b"1")
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "sub" / "two.bin").write_bytes(b"22")
    (tmp_path / "sub" / "deep" / "three.bin").write_bytes(b"333")
    cases: list[tuple[Any, str]] = [
        (tmp_path / "one.bin", "renamed.bin"),
        (tmp_path / "one.bin", "folder/"),
        ([tmp_path / "one.bin", tmp_path / "sub"], "many"),
    ]
    for src, dest in cases:
        base = f"/{jetraw_platform.space}/dask-{uuid.uuid4().hex[:8]}"
        plain = client.upload(src, f"{base}/plain/{dest}")
        spread = jetraw.dask.upload(
            src, f"{base}/dask/{dest}", **options(jetraw_platform, dask_client)
        )
        assert [f.local for f in spread.files] == [f.local for f in plain.files]
        assert [f.remote.replace("/dask/", "/plain/", 1) for f in spread.files] == [
            f.remote for f in plain.files
        ]
        assert [(f.size, f.checksum, f.status) for f in spread.files] == [
            (f.size, f.checksum, f.status) for f in plain.files
        ]


def test_a_missing_member_of_an_iterable_is_reported_failed(
    jetraw_platform: LocalPlatform, dask_client: Any, tmp_path: Path
) -> None:
    (tmp_path / "here.bin").write_bytes(b"x")
    prefix = f"/{jetraw_platform.space}/dask-{uuid.uuid4().hex[:8]}"
    with pytest.raises(jetraw.UploadError) as caught:
        jetraw.dask.upload(
            [tmp_path / "gone.bin", tmp_path / "here.bin"],
            prefix,
            **options(jetraw_platform, dask_client),
        )
    gone, here = caught.value.result.files
    assert isinstance(gone.error, jetraw.LocalPathNotFoundError)
    assert here.status == "uploaded"


def test_a_wrong_api_key_raises_authentication_error(
    jetraw_platform: LocalPlatform, dask_client: Any, tree: dict[str, tuple[int, str]]
) -> None:
    prefix = f"/{jetraw_platform.space}/dask-{uuid.uuid4().hex[:8]}"
    with pytest.raises(jetraw.InvalidCredentialsError, match="API key was rejected"):
        jetraw.dask.upload(
            root_of(tree),
            prefix,
            dask_client=dask_client,
            server=jetraw_platform.url,
            api_key="jr_wrong-key",
        )


def test_an_unknown_space_raises_space_not_found(
    jetraw_platform: LocalPlatform, dask_client: Any, tmp_path: Path
) -> None:
    (tmp_path / "f.bin").write_bytes(b"f")
    with pytest.raises(jetraw.SpaceNotFoundError):
        jetraw.dask.upload(tmp_path, "/no-such-space/x", **options(jetraw_platform, dask_client))


class _Untouchable:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the Dask client was used ({name}) before the source was checked")


def test_a_missing_source_raises_before_anything_is_submitted(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No such local file or directory") as caught:
        jetraw.dask.upload(tmp_path / "nothing", "/data/x", dask_client=_Untouchable())
    assert isinstance(caught.value, jetraw.LocalPathNotFoundError)
    with pytest.raises(jetraw.InvalidPathError):
        jetraw.dask.upload(tmp_path, "no-leading-slash", dask_client=_Untouchable())


def test_an_s3_space(
    jetraw_platform: LocalPlatform,
    dask_client: Any,
    client: jetraw.Client,
    moto_server: S3Endpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)  # the workers have these keys from their own env
    bucket = f"dask-{uuid.uuid4().hex[:12]}"
    moto_server.boto3_client().create_bucket(Bucket=bucket)
    space = f"dask-s3-{uuid.uuid4().hex[:8]}"
    jetraw_platform.create_space(space, storage=s3_descriptor(moto_server.url, bucket))
    expected = {}
    for i in range(60):
        data = os.urandom(100 + i)
        (tmp_path / f"f{i:02d}.bin").write_bytes(data)
        expected[f"f{i:02d}.bin"] = (len(data), crc32c_hex(crc32c(data)))
    result = jetraw.dask.upload(
        tmp_path, f"/{space}/in", files_per_task=10, **options(jetraw_platform, dask_client)
    )
    assert [f.status for f in result.files] == ["uploaded"] * 60
    assert listing(client, f"/{space}/in") == expected
    objects = moto_server.boto3_client().list_objects_v2(Bucket=bucket)["KeyCount"]
    assert objects == 60


def test_errors_come_back_picklable() -> None:
    err = jetraw.RateLimitedError("slow down", retry_after=3.0, status_code=429, request_id="r1")
    back = pickle.loads(pickle.dumps(portable_error(err)))
    assert type(back) is jetraw.RateLimitedError
    assert (back.retry_after, back.status_code, back.request_id) == (3.0, 429, "r1")
    assert str(back) == str(err)

    class Stubborn(Exception):
        def __init__(self, a: int, b: int) -> None:
            super().__init__(f"{a}/{b}")

    converted = portable_error(Stubborn(1, 2))
    assert isinstance(converted, jetraw.JetrawError)
    assert "Stubborn: 1/2" in str(converted)
    pickle.loads(pickle.dumps(converted))


class _FailedFuture:
    status = "error"

    def __init__(self, exc: BaseException) -> None:
        self._exc = exc

    def exception(self) -> BaseException:
        return self._exc


def test_a_batch_whose_workers_keep_dying_fails_its_files_with_a_jetraw_error() -> None:
    from distributed import KilledWorker

    from jetraw.dask._task import BatchSpec, ClientOptions
    from jetraw.dask._upload import _outcome

    spec = BatchSpec("jetraw-upload-x-0", (("/a/1.bin", "/s/d/", False),), ClientOptions())
    killed = KilledWorker("jetraw-upload-x-0", SimpleNamespace(address="tcp://w"), 3)
    outcome = _outcome(_FailedFuture(killed), spec)
    (file,) = outcome.files
    assert file.status == "failed"
    assert isinstance(file.error, jetraw.JetrawError)
    assert "skip_existing=True" in str(file.error)
    assert isinstance(file.error.__cause__, KilledWorker)
    assert repr(ClientOptions(api_key="jr_secret")).count("jr_secret") == 0


def test_batches_spread_files_by_count_and_bytes() -> None:
    from jetraw.dask._plan import PlannedFile, auto_files_per_task, batches

    assert auto_files_per_task(2000, 2) == 250
    assert auto_files_per_task(10**6, 2) == 1000
    assert auto_files_per_task(3, 8) == 1
    sizes = [10, 10, 100, 10, 10, 10]
    files = [PlannedFile(Path(f"{i}"), f"/{i}", "/s/", f"/s/{i}", n) for i, n in enumerate(sizes)]
    files.append(PlannedFile(Path("gone"), "/gone", "/s/", "/s/gone", missing=True))
    assert batches(files, 3, 50) == [[0, 1], [2], [3, 4, 5]]
