"""One benchmark run of one peer, in a fresh process: ``python -m benchmarks._peer SPEC_JSON``.

The spec names the peer, the settings (``"defaults"`` or ``"matched"``: same part size,
concurrency and multipart threshold for everyone), the endpoint and the files. The process pins
itself to the client core, imports and sets up its library, then measures only the upload:
CPU-seconds (``getrusage`` self + children) and wall time around it, and the process's peak RSS
(``VmHWM``: ``ru_maxrss`` may carry the parent's peak over fork/exec). It prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MiB = 1 << 20


def _cpu() -> tuple[float, float]:
    """(user, system) CPU-seconds of this process and its waited-for children."""
    user = system = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        user += usage.ru_utime
        system += usage.ru_stime
    return user, system


def _minflt() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # pragma: no cover


def _files(spec: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(local path, object key, size) of every file of the workload."""
    out = []
    for path in spec["files"]:
        key = f"{spec['prefix']}/{Path(path).name}"
        out.append((path, key, os.path.getsize(path)))
    return out


# -- peers ----------------------------------------------------------------------------------------
# Each returns an "upload everything" callable, built (clients created) before timing starts.


def _jetraw(spec: dict[str, Any]) -> Callable[[], Any]:
    from jetraw.aio import AsyncClient, TransferConfig

    m = spec["matched"]
    config = (
        TransferConfig(
            part_size=m["part_size"],
            max_concurrency=m["concurrency"],
            multipart_threshold=m["threshold"],
            max_bytes_in_flight=m["part_size"] * m["concurrency"],
        )
        if spec["mode"] == "matched"
        # BENCH_BUDGET_MIB=N: the defaults with an N MiB byte budget (to measure a budget).
        else TransferConfig(max_bytes_in_flight=int(os.environ["BENCH_BUDGET_MIB"]) << 20)
        if os.environ.get("BENCH_BUDGET_MIB")
        else TransferConfig()
    )
    paths = [Path(p) for p in spec["files"]]
    if spec["peer"] == "jetraw-botocore":
        # jetraw with every small file's PUT through botocore (the lean PUT path off).
        from jetraw._storage._s3 import S3Storage

        S3Storage.lean_put = False
    if os.environ.get("BENCH_UVLOOP"):
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    client = AsyncClient(spec["api_key"], server=spec["server"], verify=spec["ca"] or True)
    loop.run_until_complete(client.__aenter__())
    # Open the space's storage client before timing (every peer builds its client first):
    # storage_for makes the backend only; check_credentials builds its aiobotocore client (~70 ms
    # of CPU), which the first request would otherwise build inside the timing.
    storage = loop.run_until_complete(
        client._transfers.storage_for(spec["space"], concurrency=config.max_concurrency)
    )
    loop.run_until_complete(storage.check_credentials())

    def run() -> Any:
        dest = f"/{spec['space']}/{spec['prefix']}/"
        result = loop.run_until_complete(client.upload(paths, dest, config=config))
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

    m = spec["matched"]
    if spec["mode"] == "matched":
        config = TransferConfig(
            multipart_threshold=m["threshold"],
            multipart_chunksize=m["part_size"],
            max_concurrency=m["concurrency"],
        )
    else:
        config = TransferConfig()
    pool = max(10, config.max_request_concurrency)
    client = boto3.client(
        "s3",
        endpoint_url=spec["endpoint"],
        region_name="us-east-1",
        verify=spec["ca"] or True,
        config=Config(max_pool_connections=pool),
    )
    files = _files(spec)

    def run() -> None:
        # The transfer manager is what upload_file uses; one for all files shares its pool.
        with create_transfer_manager(client, config) as manager:
            futures = [manager.upload(p, spec["bucket"], k) for p, k, _ in files]
            for f in futures:
                f.result()

    return run


def _s3fs(spec: dict[str, Any]) -> Callable[[], Any]:
    import s3fs

    m = spec["matched"]
    kwargs: dict[str, Any] = {}
    if spec["mode"] == "matched":
        kwargs = {"chunksize": m["part_size"], "batch_size": m["concurrency"]}
    fs = s3fs.S3FileSystem(
        endpoint_url=spec["endpoint"],
        client_kwargs={"region_name": "us-east-1", "verify": spec["ca"] or True},
        max_concurrency=m["concurrency"] if spec["mode"] == "matched" else 10,
    )
    files = _files(spec)
    lpaths = [p for p, _, _ in files]
    rpaths = [f"{spec['bucket']}/{k}" for _, k, _ in files]

    def run() -> None:
        fs.put(lpaths, rpaths, **kwargs)

    return run


def _obstore(spec: dict[str, Any]) -> Callable[[], Any]:
    import obstore
    from obstore.store import S3Store

    m = spec["matched"]
    options: dict[str, Any] = {"allow_http": True}
    if spec["ca"]:
        # Verified against the sink's CA, like every other peer (rustls, the CA added to the roots).
        options["root_certificate"] = Path(spec["ca"]).read_text()
    store = S3Store(
        spec["bucket"],
        endpoint=spec["endpoint"],
        region="us-east-1",
        access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        client_options=options,
        virtual_hosted_style_request=False,
    )
    put_kwargs: dict[str, Any] = {}
    files_at_once = 10
    if spec["mode"] == "matched":
        put_kwargs = {"chunk_size": m["part_size"], "max_concurrency": m["concurrency"]}
        files_at_once = m["concurrency"]
    files = _files(spec)
    loop = asyncio.new_event_loop()

    async def upload_all() -> None:
        gate = asyncio.Semaphore(files_at_once)

        async def one(path: str, key: str, size: int) -> None:
            async with gate:
                use_multipart = None
                if spec["mode"] == "matched":
                    use_multipart = size >= m["threshold"]
                await obstore.put_async(
                    store, key, Path(path), use_multipart=use_multipart, **put_kwargs
                )

        await asyncio.gather(*(one(*f) for f in files))

    def run() -> None:
        loop.run_until_complete(upload_all())

    def close() -> None:
        loop.close()

    run.close = close  # type: ignore[attr-defined]
    return run


def _aiobotocore(spec: dict[str, Any]) -> Callable[[], Any]:
    """The plain loop a user writes: files and parts under one semaphore, parts read whole."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    m = spec["matched"]
    part, concurrency, threshold = 8 * MiB, 10, 8 * MiB
    if spec["mode"] == "matched":
        part, concurrency, threshold = m["part_size"], m["concurrency"], m["threshold"]
    files = _files(spec)
    loop = asyncio.new_event_loop()
    session = get_session()
    cm = session.create_client(
        "s3",
        endpoint_url=spec["endpoint"],
        region_name="us-east-1",
        verify=spec["ca"] or True,
        config=AioConfig(max_pool_connections=max(10, concurrency)),
    )
    client = loop.run_until_complete(cm.__aenter__())
    bucket = spec["bucket"]

    async def upload_all() -> None:
        gate = asyncio.Semaphore(concurrency)

        async def small(path: str, key: str) -> None:
            async with gate:
                # Blocking reads on the loop, as the plain loop a user writes does.
                with open(path, "rb") as f:  # noqa: ASYNC230
                    body = f.read()
                await client.put_object(Bucket=bucket, Key=key, Body=body)

        async def big(path: str, key: str, size: int) -> None:
            mpu = await client.create_multipart_upload(Bucket=bucket, Key=key)
            uid = mpu["UploadId"]

            async def one(number: int) -> dict[str, Any]:
                async with gate:
                    with open(path, "rb") as f:  # noqa: ASYNC230
                        f.seek((number - 1) * part)
                        body = f.read(part)
                    r = await client.upload_part(
                        Bucket=bucket, Key=key, UploadId=uid, PartNumber=number, Body=body
                    )
                    return {"PartNumber": number, "ETag": r["ETag"]}

            count = -(-size // part)
            parts = await asyncio.gather(*(one(n) for n in range(1, count + 1)))
            await client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": list(parts)}
            )

        await asyncio.gather(
            *(big(p, k, s) if s >= threshold else small(p, k) for p, k, s in files)
        )

    def run() -> None:
        loop.run_until_complete(upload_all())

    return run


def _jetraw_sync(spec: dict[str, Any]) -> Callable[[], Any]:
    """jetraw's sync facade (``jetraw_sync.Client.upload``: the engine on the facade's loop
    thread), same settings as ``jetraw``: the cost of the facade over the async API."""
    import jetraw_sync
    from jetraw import TransferConfig

    m = spec["matched"]
    config = (
        TransferConfig(
            part_size=m["part_size"],
            max_concurrency=m["concurrency"],
            multipart_threshold=m["threshold"],
            max_bytes_in_flight=m["part_size"] * m["concurrency"],
        )
        if spec["mode"] == "matched"
        else TransferConfig()
    )
    paths = [Path(p) for p in spec["files"]]
    client = jetraw_sync.Client(spec["api_key"], server=spec["server"], verify=spec["ca"] or True)
    client.whoami()  # the token exchange before timing, as the async peer's __aenter__
    # Open the space's storage client before timing, as the async peer does (on the facade's loop).
    from jetraw_sync import _runtime

    inner = _runtime.unwrap(client)
    storage = _runtime.run(
        inner._transfers.storage_for, spec["space"], concurrency=config.max_concurrency
    )
    _runtime.run(storage.check_credentials)

    def run() -> Any:
        dest = f"/{spec['space']}/{spec['prefix']}/"
        result = client.upload(paths, dest, config=config)
        assert not result.failed, result.failed
        return result

    run.close = client.close  # type: ignore[attr-defined]
    return run


def _lean_aiobotocore(spec: dict[str, Any]) -> Callable[[], Any]:
    """Issue 9's "lean aiobotocore": 16 MiB parts, 8 in flight, unsigned payload,
    ``when_required`` checksums (no CRC at all), parts read whole; a raw loop with no engine.
    The same in both modes (it has no settings of its own)."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    part, in_flight = 16 * MiB, 8
    files = _files(spec)
    loop = asyncio.new_event_loop()
    config = AioConfig(
        max_pool_connections=in_flight,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"payload_signing_enabled": False},
    )
    cm = get_session().create_client(
        "s3", endpoint_url=spec["endpoint"], region_name="us-east-1",
        verify=spec["ca"] or True, config=config,
    )  # fmt: skip
    client = loop.run_until_complete(cm.__aenter__())
    bucket = spec["bucket"]

    def read(path: str, offset: int) -> bytes:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(part)

    async def upload_all() -> None:
        gate = asyncio.Semaphore(in_flight)

        async def one(path: str, key: str, size: int) -> None:
            if size <= part:
                async with gate:
                    body = await asyncio.to_thread(read, path, 0)
                    await client.put_object(Bucket=bucket, Key=key, Body=body)
                return
            uid = (await client.create_multipart_upload(Bucket=bucket, Key=key))["UploadId"]

            async def send(number: int) -> dict[str, Any]:
                async with gate:
                    body = await asyncio.to_thread(read, path, (number - 1) * part)
                    r = await client.upload_part(
                        Bucket=bucket, Key=key, UploadId=uid, PartNumber=number, Body=body
                    )
                return {"PartNumber": number, "ETag": r["ETag"]}

            parts = await asyncio.gather(*(send(n) for n in range(1, -(-size // part) + 1)))
            await client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": list(parts)}
            )

        await asyncio.gather(*(one(*f) for f in files))

    def run() -> None:
        loop.run_until_complete(upload_all())

    def close() -> None:
        loop.run_until_complete(cm.__aexit__(None, None, None))
        loop.close()

    run.close = close  # type: ignore[attr-defined]
    return run


def _profiler() -> Any:
    """A cProfile of the timed upload (event-loop thread only) to ``$BENCH_CPROFILE``, if set."""
    if not os.environ.get("BENCH_CPROFILE"):
        return None
    import cProfile

    return cProfile.Profile()


PEERS: dict[str, Callable[[dict[str, Any]], Callable[[], Any]]] = {
    "jetraw": _jetraw,
    "jetraw-botocore": _jetraw,
    "boto3": _boto3,
    "s3fs": _s3fs,
    "obstore": _obstore,
    "aiobotocore": _aiobotocore,
    "jetraw-sync": _jetraw_sync,
    "lean-aiobotocore": _lean_aiobotocore,
}


def main() -> None:
    if os.environ.get("BENCH_BASE_TREE"):  # peer jetraw-base: jetraw from another tree
        sys.path.insert(0, os.environ["BENCH_BASE_TREE"])
    arg = sys.argv[1]
    if arg.startswith("@"):  # a spec too long for the command line (10,000 paths), in a file
        arg = Path(arg[1:]).read_text("utf-8")
    spec = json.loads(arg)
    if spec.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {spec["cpu"]})
    run = PEERS[spec["peer"]](spec)
    nbytes = sum(os.path.getsize(p) for p in spec["files"])
    rss0 = _status_kib("VmRSS")
    flt0 = _minflt()
    profiler = _profiler()
    (user0, sys0), t0 = _cpu(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    run()
    if profiler is not None:
        profiler.disable()
    wall = time.perf_counter() - t0
    user1, sys1 = _cpu()
    hwm = _status_kib("VmHWM")
    faults = _minflt() - flt0
    close = getattr(run, "close", None)
    if close is not None:
        close()
    if profiler is not None:
        profiler.dump_stats(os.environ["BENCH_CPROFILE"])
    print(
        json.dumps(
            {"bytes": nbytes, "files": len(spec["files"]), "wall": wall,
             "cpu": user1 - user0 + sys1 - sys0, "sys": sys1 - sys0, "hwm_kib": hwm,
             "rss_before_kib": rss0, "minor_faults": faults}
        ),
        flush=True,
    )  # fmt: skip


if __name__ == "__main__":
    main()
