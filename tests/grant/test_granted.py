"""Granted storage access (docs/storage-access.md): the server signs, the client has no AWS keys.

Runs on moto; the end-to-end test runs on Ceph RGW too when ``JETRAW_TEST_RGW_*`` is set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from jetraw import StorageError
from jetraw._crc import crc32c
from jetraw._storage._granted import GrantedStorage
from jetraw._transfer import TransferConfig
from tests.conftest import S3Endpoint

MiB = 1024 * 1024
SMALL = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
pytestmark = pytest.mark.anyio


_ON_RGW = {"test_no_aws_configuration_round_trip", "test_store_refusal_of_an_expired_grant"}


@pytest.fixture(params=["moto", "rgw", "rgw-https"])
def endpoint(request: pytest.FixtureRequest, moto_server: S3Endpoint) -> S3Endpoint:
    if request.param == "moto":
        return moto_server
    if request.node.originalname not in _ON_RGW:
        pytest.skip("moto only")
    servers: Any = request.getfixturevalue("rgw_servers")
    endpoint: S3Endpoint = servers.endpoint(request.param)
    return endpoint


@pytest.fixture(scope="module")
def platform() -> Any:
    from jetraw.testing import LocalPlatform

    with LocalPlatform(
        grant_ttl_seconds=2, garbage_grace_seconds=0, cleanup_interval_seconds=0
    ) as started:
        yield started


def granted_space(platform: Any, endpoint: S3Endpoint, **extra: Any) -> dict[str, Any]:
    s3 = endpoint.boto3_client()
    bucket = f"grant-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    storage = {
        "type": "s3",
        "bucket": bucket,
        "prefix": "data/",
        "region": "us-east-1",
        "endpoint_url": endpoint.url,
        "addressing_style": "path",
        "access": "granted",
        "credentials": {
            "access_key_id": endpoint.access_key,
            "secret_access_key": endpoint.secret_key,
        },
    }
    info: dict[str, Any] = platform.create_space(
        f"g-{uuid.uuid4().hex[:10]}", storage=storage, **extra
    )
    info["s3"] = s3
    return info


def no_aws_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(home),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        JETRAW_TOKEN_STORAGE="memory",
        JETRAW_CONFIG_DIR=str(home / "jetraw"),
    )
    return env


def test_no_aws_configuration_round_trip(
    platform: Any, endpoint: S3Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if endpoint.ca:
        # The server checks commits over HTTPS too: it is told the store's CA the AWS way.
        from jetraw.testing import LocalPlatform

        monkeypatch.setenv("AWS_CA_BUNDLE", endpoint.ca)
        platform = LocalPlatform().start()
        monkeypatch.delenv("AWS_CA_BUNDLE")
    try:
        _round_trip(platform, endpoint, tmp_path)
    finally:
        if endpoint.ca:
            platform.close()


def _round_trip(platform: Any, endpoint: S3Endpoint, tmp_path: Path) -> None:
    space = granted_space(platform, endpoint)
    assert space["storage"]["access"] == "granted"
    assert "credentials" not in space["storage"]
    single, multi = os.urandom(1000), os.urandom(12 * MiB + 3)
    (tmp_path / "single.bin").write_bytes(single)
    (tmp_path / "multi.bin").write_bytes(multi)
    home = tmp_path / "home"
    home.mkdir()
    env = no_aws_env(home)
    if endpoint.ca:  # RGW over HTTPS: its test CA, the way any non-AWS tool is told one
        env["SSL_CERT_FILE"] = endpoint.ca
    child = Path(__file__).with_name("_child.py")
    argv = [
        sys.executable,
        str(child),
        platform.url,
        platform.api_key,
        space["name"],
        str(tmp_path),
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "single.bin").read_bytes() == single
    assert (tmp_path / "out" / "multi.bin").read_bytes() == multi
    ranged = bytes.fromhex(json.loads(done.stdout.strip().splitlines()[-1])["ranged"])
    assert ranged == multi[6 * MiB - 10 : 6 * MiB + 10]
    keys = space["s3"].list_objects_v2(Bucket=space["storage"]["bucket"]).get("Contents", [])
    assert len(keys) == 2
    assert all(k["Key"].startswith("data/objects/") for k in keys)
    log = (platform._workdir / "server.log").read_text("utf-8", "replace")
    assert endpoint.secret_key not in log
    assert "X-Amz-Signature" not in log
    assert "X-Amz-Signature" not in done.stderr
    assert "X-Amz-Signature" not in done.stdout


def _api(platform: Any, api_key: str | None = None) -> httpx.Client:
    token = platform.access_token(api_key)
    return httpx.Client(
        base_url=platform.url + "/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    )


def test_secrets_never_returned(platform: Any, moto_server: S3Endpoint) -> None:
    space = granted_space(platform, moto_server)
    with _api(platform) as api:
        for path in (f"/spaces/{space['name']}", "/spaces"):
            text = api.get(path).text
            assert moto_server.secret_key not in text
            assert "secret_access_key" not in text
            assert '"access":"granted"' in text.replace(" ", "")


def test_grants_are_scoped(platform: Any, moto_server: S3Endpoint) -> None:
    space = granted_space(platform, moto_server)
    name = space["name"]
    with _api(platform) as api:
        upload = api.post(f"/spaces/{name}/uploads", json={"path": "a.bin", "size": 3}).json()
        key = upload["object_key"]
        answer = api.post(
            f"/spaces/{name}/grants",
            json={"requests": [{"op": "put", "key": key}, {"op": "put", "key": "objects/other"}]},
        )
        assert answer.status_code == 200
        first, second = answer.json()["results"]
        assert first["grant"]["method"] == "PUT"
        assert first["error"] is None
        assert second["grant"] is None
        assert second["error"]["code"] == "grant_refused"
        # A GET of an object no file names is refused too.
        refused = api.post(
            f"/spaces/{name}/grants", json={"requests": [{"op": "get", "key": "objects/x"}]}
        ).json()["results"][0]
        assert refused["grant"] is None
        # A local space has nothing to grant.
        local = api.post(
            f"/spaces/{platform.space}/grants", json={"requests": [{"op": "get", "key": "k"}]}
        )
        assert local.status_code == 400
    # Another organisation's member does not even see the space.
    org = platform.create_organisation(f"o{uuid.uuid4().hex[:8]}")
    user = platform.create_user(f"u{uuid.uuid4().hex[:8]}@example.org")
    platform.add_member(user, org["name"])
    other_key = platform.create_api_key(user, org["name"])
    with _api(platform, other_key) as api:
        foreign = api.post(f"/spaces/{name}/grants", json={"requests": [{"op": "put", "key": key}]})
        assert foreign.status_code == 404
        assert "X-Amz" not in foreign.text


def test_commit_is_verified_and_replaced_objects_deleted(
    platform: Any, moto_server: S3Endpoint
) -> None:
    space = granted_space(platform, moto_server)
    name, bucket, s3 = space["name"], space["storage"]["bucket"], space["s3"]
    with _api(platform) as api:
        upload = api.post(f"/spaces/{name}/uploads", json={"path": "v.bin", "size": 4}).json()
        s3.put_object(Bucket=bucket, Key="data/" + upload["object_key"], Body=b"abc")
        crc = f"{crc32c(b'abcd'):08x}"
        bad = api.post(
            f"/uploads/{upload['id']}/complete", json={"size": 4, "checksum": {"crc32c": crc}}
        )
        assert bad.status_code == 409
        assert bad.json()["code"] == "size_mismatch"
        s3.put_object(Bucket=bucket, Key="data/" + upload["object_key"], Body=b"abce")
        bad = api.post(
            f"/uploads/{upload['id']}/complete", json={"size": 4, "checksum": {"crc32c": crc}}
        )
        # moto keeps no CRC-32C for an object put without one: only the size is checked.
        assert bad.status_code in (200, 409)
        missing = api.post(f"/spaces/{name}/uploads", json={"path": "m.bin", "size": 4}).json()
        gone = api.post(
            f"/uploads/{missing['id']}/complete", json={"size": 4, "checksum": {"crc32c": crc}}
        )
        assert gone.status_code == 409
        assert gone.json()["code"] == "object_missing"


async def test_upload_replace_and_expiry_mid_transfer(
    platform: Any, moto_server: S3Endpoint, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Grants live 2 s here: a slow multipart upload outlives them and still succeeds."""
    from jetraw.aio import AsyncClient

    caplog.set_level(logging.DEBUG)
    space = granted_space(platform, moto_server)
    name, bucket, s3 = space["name"], space["storage"]["bucket"], space["s3"]
    data = os.urandom(15 * MiB)
    (tmp_path / "f.bin").write_bytes(data)
    async with AsyncClient(platform.api_key, server=platform.url) as client:
        storage = await client._transfers.storage_for(name)
        assert isinstance(storage, GrantedStorage)
        granter = storage._batcher.granter
        calls: list[int] = []
        asked: list[tuple[str, int | None]] = []

        async def slow(requests: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
            expires_at, results = await granter(requests)
            calls.append(len(requests))
            asked.extend((r["op"], r.get("part_number")) for r in requests)
            if len(calls) == 2:
                await asyncio.sleep(2.5)  # the grants expire before they are used
            return expires_at, results

        storage._batcher.granter = slow
        config = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB, max_concurrency=3)
        await client.upload(tmp_path / "f.bin", f"/{name}/f.bin", config=config)
        # The grants expired before use: granted again (moto does not enforce presigned
        # expiry, so this is the client's known-expiry path; RGW's 403 is the other).
        parts = [a for a in asked if a[0] == "upload_part"]
        assert len(parts) > len(set(parts)), asked
        await client.upload(tmp_path / "f.bin", f"/{name}/f.bin", config=SMALL, overwrite=True)
        back = tmp_path / "back.bin"
        await client.download(f"/{name}/f.bin", back)
        assert back.read_bytes() == data
    objects = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert len(objects) == 2  # the replaced object waits for the cleanup
    platform.cleanup()
    objects = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert len(objects) == 1
    text = caplog.text + (platform._workdir / "server.log").read_text("utf-8", "replace")
    assert "X-Amz-Signature" not in "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")
    )
    assert moto_server.secret_key not in (platform._workdir / "server.log").read_text()
    assert text


async def test_store_errors_map_to_jetraw(platform: Any, moto_server: S3Endpoint) -> None:
    async def refuse(requests: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
        return time.time() + 60, [{"grant": None, "error": {"status": 403}} for _ in requests]

    storage = GrantedStorage(granter=refuse, bucket="b")
    with pytest.raises(StorageError, match="refused access"):
        await storage.head("objects/x")
    await storage.aclose()


def test_cli_creates_a_granted_space(
    platform: Any, moto_server: S3Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from jetraw.cli import cli

    monkeypatch.setenv("JETRAW_SERVER", platform.url)
    monkeypatch.setenv("JETRAW_API_KEY", platform.api_key)
    keys = tmp_path / "keys.json"
    keys.write_text(
        json.dumps(
            {"access_key_id": moto_server.access_key, "secret_access_key": moto_server.secret_key}
        )
    )
    storage = {"type": "s3", "bucket": "cli-bucket", "endpoint_url": moto_server.url}
    name = f"c-{uuid.uuid4().hex[:10]}"
    args = ["spaces", "create", name, "--storage", json.dumps(storage), "--access", "granted"]
    result = CliRunner().invoke(cli, [*args, "--credentials-file", str(keys), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["storage"]["access"] == "granted"
    assert moto_server.secret_key not in result.output
    # Granted access without keys is refused, with a one-line message and no secret.
    result = CliRunner().invoke(cli, [*args[:2], name + "x", *args[3:]])
    assert result.exit_code != 0
    assert "credentials" in result.output


def test_bad_credentials_are_not_echoed(platform: Any) -> None:
    secret = "s3cr3t-" + uuid.uuid4().hex
    storage = {
        "type": "s3",
        "bucket": "echo-bucket",
        "access": "granted",
        "credentials": {"access_key_id": 17, "secret_access_key": secret + "\x00"},
    }
    with _api(platform) as api:
        answer = api.post("/spaces", json={"name": f"e-{uuid.uuid4().hex[:8]}", "storage": storage})
    assert answer.status_code in (400, 422)
    assert secret not in answer.text


async def test_store_refusal_of_an_expired_grant(platform: Any, endpoint: S3Endpoint) -> None:
    """The client trusts a grant the store finds expired: the 403 makes it ask again."""
    if endpoint.name == "moto":
        pytest.skip("moto does not enforce the expiry of presigned URLs")
    if endpoint.ca:
        pytest.skip("the module's platform has no CA for RGW's HTTPS (the round trip covers it)")
    space = granted_space(platform, endpoint)
    name = space["name"]
    with _api(platform) as api:
        upload = api.post(f"/spaces/{name}/uploads", json={"path": "x.bin", "size": 5}).json()
        calls: list[int] = []

        async def lying(requests: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
            answer = api.post(f"/spaces/{name}/grants", json={"requests": requests}).json()
            calls.append(len(requests))
            if len(calls) == 1:
                await asyncio.sleep(3)  # past the 2 s the grant lives
            return time.time() + 600, answer["results"]

        storage = GrantedStorage(granter=lying, bucket=space["storage"]["bucket"])
        try:
            await storage.put_object(
                upload["object_key"], memoryview(b"hello"), crc32c=crc32c(b"hello")
            )
        finally:
            await storage.aclose()
    assert len(calls) == 2
    stored = space["s3"].get_object(
        Bucket=space["storage"]["bucket"], Key="data/" + upload["object_key"]
    )
    assert stored["Body"].read() == b"hello"


async def test_kill_then_resume_on_a_granted_space(
    platform: Any, moto_server: S3Endpoint, tmp_path: Path
) -> None:
    """A multipart upload SIGKILLed after two parts resumes (ListParts through a grant)."""
    from jetraw.aio import AsyncClient
    from tests.transfer.test_resume import start_and_kill, upload_counting

    space = granted_space(platform, moto_server)
    size = 4 * 5 * MiB + 11
    data = os.urandom(size)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    dest = f"/{space['name']}/big.bin"
    start_and_kill(platform, local, dest, parts=2)
    async with AsyncClient(platform.api_key, server=platform.url) as client:
        result, sent = await upload_counting(client, local, dest)
        assert result.files[0].status == "uploaded"
        assert 0 < sent <= size - 2 * 5 * MiB  # the two stored parts were not sent again
        back = tmp_path / "back.bin"
        await client.download(dest, back)
    assert back.read_bytes() == data


async def test_a_run_of_small_files_shares_one_grant_call(
    platform: Any, moto_server: S3Endpoint, tmp_path: Path
) -> None:
    """With one request at a time, the store worker reads up to 16 small files together and
    asks for their PUT grants in one call (prepare_puts), not one call per file."""
    from jetraw.aio import AsyncClient

    space = granted_space(platform, moto_server)
    tree = tmp_path / "run"
    tree.mkdir()
    for i in range(64):
        (tree / f"f{i:02d}.txt").write_bytes(os.urandom(100) + bytes([i]))
    async with AsyncClient(platform.api_key, server=platform.url) as client:
        storage = await client._transfers.storage_for(space["name"], concurrency=1)
        assert isinstance(storage, GrantedStorage)
        granter = storage._batcher.granter
        puts: list[int] = []

        async def counting(requests: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
            puts.append(sum(r["op"] == "put" for r in requests))
            return await granter(requests)

        storage._batcher.granter = counting
        config = TransferConfig(max_concurrency=1)
        result = await client.upload(tree, f"/{space['name']}/run/", config=config)
        assert len(result.files) == 64
        assert sum(puts) == 64
        # 64 files in runs of up to 16: a handful of calls (one per file before prepare_puts).
        assert len([n for n in puts if n]) <= 8, puts


async def test_many_files_share_grant_calls(
    platform: Any, moto_server: S3Endpoint, tmp_path: Path
) -> None:
    """Concurrent PUTs of a batch ask for their grants together, not one call per file."""
    from jetraw.aio import AsyncClient

    space = granted_space(platform, moto_server)
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(200):
        (tree / f"f{i:03d}.txt").write_bytes(os.urandom(100) + bytes([i]))
    async with AsyncClient(platform.api_key, server=platform.url) as client:
        storage = await client._transfers.storage_for(space["name"], concurrency=32)
        assert isinstance(storage, GrantedStorage)
        granter = storage._batcher.granter
        sizes: list[int] = []
        ops: list[str] = []

        async def counting(requests: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
            sizes.append(len(requests))
            ops.extend(r["op"] for r in requests)
            return await granter(requests)

        storage._batcher.granter = counting
        config = TransferConfig(max_concurrency=32)
        result = await client.upload(tree, f"/{space['name']}/tree/", config=config)
        assert len(result.files) == 200
    assert ops.count("put") >= 200, sorted(set(ops))  # more if a PUT was retried
    # 200 files in at most 100 grant calls: about 4 join a call here (48-58 calls measured);
    # how many join depends on how fast the engine readies files.
    assert len(sizes) <= 100, sizes
