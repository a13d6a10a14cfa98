"""One download run of one peer, in a fresh process: ``python -m benchmarks._dl_peer SPEC_JSON``.

The download twin of :mod:`benchmarks._peer`: the spec names the peer, the endpoint, the
objects (``[object key, size, name]``; jetraw downloads ``/space/prefix/``, whose files
they are) and the local directory to write them to (``dest/<name>``). Each peer uses its
library's defaults; the timed part is the download only.
Prints one JSON line (bytes, files, wall, cpu, sys, hwm_kib, rss_before_kib, minor_faults).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._peer import _cpu, _minflt, _status_kib

MiB = 1 << 20


def _targets(spec: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(object key, local path, size) of every object."""
    dest = Path(spec["dest"])
    return [(k, str(dest / name), s) for k, s, name in spec["objects"]]


def _jetraw(spec: dict[str, Any]) -> Callable[[], Any]:
    from jetraw.aio import AsyncClient

    loop = asyncio.new_event_loop()
    client = AsyncClient(spec["api_key"], server=spec["server"], verify=spec["ca"] or True)
    loop.run_until_complete(client.__aenter__())
    # Build the space's storage client before timing, as every other peer builds its client
    # first: storage_for only makes the backend, whose aiobotocore client (~70 ms of CPU:
    # service model, endpoint rules) is otherwise made by the first GET, inside the timing.
    storage = loop.run_until_complete(client._transfers.storage_for(spec["space"], concurrency=10))
    loop.run_until_complete(storage.check_credentials())

    def run() -> Any:
        src = f"/{spec['space']}/{spec['prefix']}/"
        result = loop.run_until_complete(client.download(src, spec["dest"]))
        assert not result.failed, result.failed
        return result

    def close() -> None:
        loop.run_until_complete(client.__aexit__(None, None, None))
        loop.close()

    run.close = close  # type: ignore[attr-defined]
    return run


def _boto3(spec: dict[str, Any]) -> Callable[[], Any]:
    import boto3
    from boto3.s3.transfer import TransferConfig, create_transfer_manager
    from botocore.config import Config

    config = TransferConfig()
    client = boto3.client(
        "s3",
        endpoint_url=spec["endpoint"],
        region_name="us-east-1",
        verify=spec["ca"] or True,
        config=Config(max_pool_connections=max(10, config.max_request_concurrency)),
    )
    targets = _targets(spec)

    def run() -> None:
        # download_file's transfer manager; one for all files shares its pool.
        with create_transfer_manager(client, config) as manager:
            futures = [manager.download(spec["bucket"], k, p) for k, p, _ in targets]
            for f in futures:
                f.result()

    return run


def _s3fs(spec: dict[str, Any]) -> Callable[[], Any]:
    import s3fs

    fs = s3fs.S3FileSystem(
        endpoint_url=spec["endpoint"],
        client_kwargs={"region_name": "us-east-1", "verify": spec["ca"] or True},
    )
    targets = _targets(spec)
    rpaths = [f"{spec['bucket']}/{k}" for k, _, _ in targets]
    lpaths = [p for _, p, _ in targets]

    def run() -> None:
        fs.get(rpaths, lpaths)

    return run


def _obstore(spec: dict[str, Any]) -> Callable[[], Any]:
    import obstore
    from obstore.store import S3Store

    options: dict[str, Any] = {"allow_http": True}
    if spec["ca"]:
        options["root_certificate"] = Path(spec["ca"]).read_text()  # verified, like the others
    store = S3Store(
        spec["bucket"],
        endpoint=spec["endpoint"],
        region="us-east-1",
        access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        client_options=options,
        virtual_hosted_style_request=False,
    )
    targets = _targets(spec)
    loop = asyncio.new_event_loop()

    async def all_files() -> None:
        gate = asyncio.Semaphore(10)

        async def one(key: str, path: str) -> None:
            async with gate:
                result = await obstore.get_async(store, key)
                with open(path, "wb") as f:  # noqa: ASYNC230 - page-cache writes
                    async for chunk in result.stream():
                        f.write(chunk)

        await asyncio.gather(*(one(k, p) for k, p, _ in targets))

    def run() -> None:
        loop.run_until_complete(all_files())

    run.close = loop.close  # type: ignore[attr-defined]
    return run


def _aiobotocore(spec: dict[str, Any], verified: bool = False) -> Callable[[], Any]:
    """The lean loop: 16 MiB ranged GETs, 8 in flight, 1 MiB reads ``pwrite``-n from the loop,
    no response checksum validation. ``verified`` (peer ``aiobotocore-verified``, the floor of
    what jetraw pays): also the CRC-32C of every read, and fsync of each file and directory."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    from jetraw._crc import crc32c

    part, in_flight = 16 * MiB, 8
    targets = _targets(spec)
    loop = asyncio.new_event_loop()
    cm = get_session().create_client(
        "s3",
        endpoint_url=spec["endpoint"],
        region_name="us-east-1",
        verify=spec["ca"] or True,
        config=AioConfig(
            max_pool_connections=in_flight,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
    client = loop.run_until_complete(cm.__aenter__())
    bucket = spec["bucket"]

    async def all_files() -> None:
        gate = asyncio.Semaphore(in_flight)

        async def piece(key: str, fd: int, start: int, length: int) -> None:
            async with gate:
                r = await client.get_object(
                    Bucket=bucket, Key=key, Range=f"bytes={start}-{start + length - 1}"
                )
                async with r["Body"] as body:
                    offset = start
                    value = 0
                    while chunk := await body.read(MiB):
                        if verified:
                            value = crc32c(chunk, value)
                        os.pwrite(fd, chunk, offset)
                        offset += len(chunk)
                assert offset == start + length

        def durable(fd: int, path: str) -> None:
            os.fsync(fd)
            dfd = os.open(os.path.dirname(path), os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

        async def one(key: str, path: str, size: int) -> None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                await asyncio.gather(
                    *(piece(key, fd, s, min(part, size - s)) for s in range(0, size, part))
                )
                if verified:
                    await asyncio.to_thread(durable, fd, path)
            finally:
                os.close(fd)

        await asyncio.gather(*(one(*t) for t in targets))

    def run() -> None:
        loop.run_until_complete(all_files())

    def close() -> None:
        loop.run_until_complete(cm.__aexit__(None, None, None))
        loop.close()

    run.close = close  # type: ignore[attr-defined]
    return run


PEERS: dict[str, Callable[[dict[str, Any]], Callable[[], Any]]] = {
    "jetraw": _jetraw,
    "boto3": _boto3,
    "s3fs": _s3fs,
    "obstore": _obstore,
    "aiobotocore": _aiobotocore,
    "aiobotocore-verified": lambda spec: _aiobotocore(spec, verified=True),
}


def _list(spec: dict[str, Any]) -> None:
    """Print ``[[object key, size, name], ...]`` of the files under ``/space/prefix/``."""
    from jetraw.aio import AsyncClient, RemoteFile

    async def listing() -> list[list[Any]]:
        async with AsyncClient(spec["api_key"], server=spec["server"]) as client:
            src = f"/{spec['space']}/{spec['prefix']}"
            return [
                [e.object_key, e.size, e.path.rsplit("/", 1)[-1]]
                async for e in client.list_files(src)
                if isinstance(e, RemoteFile)
            ]

    print(json.dumps({"objects": asyncio.run(listing())}), flush=True)


def main() -> None:
    if os.environ.get("BENCH_BASE_TREE"):  # peer jetraw-base: jetraw from another tree
        sys.path.insert(0, os.environ["BENCH_BASE_TREE"])
    if sys.argv[1] == "list":
        _list(json.loads(sys.argv[2]))
        return
    spec = json.loads(sys.argv[1])
    if spec.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {spec["cpu"]})
    Path(spec["dest"]).mkdir(parents=True, exist_ok=True)
    run = PEERS[spec["peer"]](spec)
    nbytes = sum(o[1] for o in spec["objects"])
    rss0, flt0 = _status_kib("VmRSS"), _minflt()
    (user0, sys0), t0 = _cpu(), time.perf_counter()
    run()
    wall = time.perf_counter() - t0
    user1, sys1 = _cpu()
    hwm, faults = _status_kib("VmHWM"), _minflt() - flt0
    close = getattr(run, "close", None)
    if close is not None:
        close()
    print(
        json.dumps(
            {"bytes": nbytes, "files": len(spec["objects"]), "wall": wall,
             "cpu": user1 - user0 + sys1 - sys0, "sys": sys1 - sys0, "hwm_kib": hwm,
             "rss_before_kib": rss0, "minor_faults": faults}
        ),
        flush=True,
    )  # fmt: skip


if __name__ == "__main__":
    main()
