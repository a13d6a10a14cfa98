"""The fault matrix (issue 12, deliverable 2): every operation crossed with every fault.

Each cell arms one :class:`~tests.faults._proxy.Rule` on the proxy in front of the state server
or of S3, runs the operation under ``anyio.fail_after`` (a bound derived from the configured
timeouts and retries), and checks the invariants:

- atomic visibility: a watcher polling ``stat`` straight on the platform never sees a file
  whose stored bytes are not all there (size and CRC-32C);
- nothing lost: a successful upload is there, its bytes read back exactly, its CRC recorded;
  a failed one is absent (or, when its commit was ambiguous, present and intact);
- cleanup: no multipart upload open in the bucket, no upload pending on the state server, no
  temporary file beside a failed download;
- the documented exception: ``transient`` (the fault hits the first matching request, then
  passes) must recover; ``persistent`` (every matching request) must fail with the class
  :data:`EXPECTED` names (per-file errors inside ``UploadError`` / ``DownloadError``), never a
  dependency's exception;
- bounded retries: the proxy saw at most :func:`max_requests` matching requests; retries of
  state-server requests are logged by the ``jetraw`` loggers.

Cells where the SDK breaks an invariant are ``xfail(strict=True)`` with the finding as reason
(:data:`FINDINGS`); docs/reliability.md has the matrix.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from jetraw import (
    APIError,
    DownloadError,
    JetrawError,
    RateLimitedError,
    RemotePathNotFoundError,
    ServerConnectionError,
    StorageConnectionError,
    StorageError,
    UploadError,
)
from jetraw.aio import AsyncClient, TransferConfig
from jetraw.testing import LocalPlatform

from ._proxy import FaultProxy, Rule
from .conftest import S3Space, Watcher, crc_hex
from .findings import FINDINGS, NOT_RUN

pytestmark = pytest.mark.anyio

MiB = 1 << 20

#: The client's state-server timeout (s) and retries: short, so stalls are found quickly.
TIMEOUT = 1.0
RETRIES = 1
#: Storage attempts per request and its timeouts (the client's); parts of 5 MiB, files of
#: 6 MiB go in two parts.
CONFIG = TransferConfig(
    multipart_threshold=5 * MiB,
    part_size=5 * MiB,
    attempts=3,
    max_concurrency=4,
    connect_timeout=TIMEOUT,
    read_timeout=TIMEOUT,
)
BIG = 6 * MiB
SMALL = 64 * 1024
RETRY_AFTER = "1"

S3_OPS = ("put", "part", "get", "commit")
STATE_OPS = ("complete", "list", "refresh", "device")
OPS = ("put", "part", "complete", "get", "list", "commit", "refresh", "device")
FAULTS = (
    "latency",
    "reset_before_body",
    "reset_during_body",
    "reset_after_body",
    "reset_during_response",
    "reset_after_response",
    "status_500",
    "status_503",
    "status_429",
    "truncated",
    "stall",
    "tls_refused",
)

#: Which requests each operation's fault hits: (method, path regex of the request target).
TARGETS: dict[str, tuple[str, str]] = {
    "put": ("PUT", r"/objects/[0-9a-f]+$"),
    "part": ("PUT", r"[?&]partNumber="),
    "commit": ("POST", r"\?uploadId="),
    "get": ("GET", r"/objects/"),
    "complete": ("POST", r"/(batch-)?complete$"),
    "list": ("GET", r"/files(\?|$)"),
    "refresh": ("POST", r"^/oauth/token$"),
    "device": ("POST", r"^/oauth/token$"),
}

_CONNECTION_FAULTS = (
    "reset_before_body",
    "reset_during_body",
    "reset_after_body",
    "reset_during_response",
    "truncated",
    "stall",
    "tls_refused",
)


#: Persistent faults that must not fail the call, and why.
SUCCEEDS: dict[tuple[str, str], str] = {
    # S3 answers PutObject/UploadPart with an empty body: nothing to cut, the answer is whole.
    ("put", "reset_during_response"): "empty answer body",
    ("put", "truncated"): "empty answer body",
    ("part", "reset_during_response"): "empty answer body",
    ("part", "truncated"): "empty answer body",
    # The request reached the upstream, which committed it: the SDK must find that out (S3: a
    # retried CompleteMultipartUpload answers NoSuchUpload, HEAD shows the object; state
    # server: GET /uploads/{id} says completed) and report success.
    ("commit", "reset_after_body"): "processed; the SDK confirms by HEAD",
    ("commit", "reset_during_response"): "processed; the SDK confirms by HEAD",
    ("commit", "truncated"): "processed; the SDK confirms by HEAD",
    ("complete", "reset_after_body"): "processed; the SDK confirms by GET /uploads/{id}",
    ("complete", "reset_during_response"): "processed; the SDK confirms by GET /uploads/{id}",
    ("complete", "truncated"): "processed; the SDK confirms by GET /uploads/{id}",
}


def expected_error(op: str, fault: str) -> type[BaseException] | None:
    """The documented class of a persistent fault (per file for transfers); None: succeeds."""
    if fault in ("latency", "reset_after_response") or (op, fault) in SUCCEEDS:
        return None
    if op in S3_OPS:
        return StorageConnectionError if fault in _CONNECTION_FAULTS else StorageError
    if fault in _CONNECTION_FAULTS:
        return ServerConnectionError
    return RateLimitedError if fault == "status_429" else APIError


#: What wraps a per-file error, if anything.
WRAPPER: dict[str, type[BaseException] | None] = {
    "put": UploadError,
    "part": UploadError,
    "commit": UploadError,
    "complete": UploadError,
    "get": DownloadError,
    "list": None,
    "refresh": None,
    "device": None,
}


def max_requests(op: str) -> int:
    """The most matching requests the SDK may send (its documented retry budget)."""
    http = RETRIES + 1
    # aiohttp re-sends an idempotent request (GET, PUT) once when a kept-alive connection drops
    # under it, inside one of our attempts: storage requests may go twice per attempt.
    if op == "put":
        return 2 * CONFIG.attempts
    if op == "commit":
        return CONFIG.attempts  # a POST: never re-sent by aiohttp
    if op in ("part", "get"):
        return 2 * 2 * CONFIG.attempts  # two parts / ranges
    if op == "complete":
        # One batch-complete, then one file alone (each with the http retries); once that one
        # fails without an answer too, the other files are not tried (their abort settles them).
        # A file found committed by its lookup costs one more complete, to fetch it.
        return 2 * http + 2
    if op == "list":
        return http
    if op == "refresh":
        return 2 * http  # the refresh, and once more after a 401
    return 64  # device: one poll per interval until the login times out


def bound(op: str, fault: str, variant: str = "transient") -> float:
    """Seconds the call may take: every attempt may use ~2 timeouts (connect + read), plus the
    backoff caps and Retry-After waits, plus the operation's own work."""
    attempt = 2 * TIMEOUT
    if op in S3_OPS and fault == "stall" and variant == "transient":
        # The stalled attempt is given up after TransferConfig.read_timeout, the retry succeeds.
        return 2.0 + 2 * CONFIG.read_timeout
    if op in S3_OPS and fault == "stall":
        # Every attempt is given up after read_timeout (plus the backoff, < 0.8 s each).
        per = CONFIG.attempts * (CONFIG.read_timeout + 0.8)
        return 4.0 + per * (2 if op == "commit" else 1)
    if op in S3_OPS:
        # Per attempt: TransferConfig.connect_timeout + read_timeout (the client's timeout).
        per = CONFIG.attempts * (attempt + 0.8) + (CONFIG.attempts - 1) * float(RETRY_AFTER)
        return 4.0 + per * (2 if op == "commit" else 1)
    http = RETRIES + 1
    per = http * attempt + 0.75 + RETRIES * float(RETRY_AFTER)
    if op == "complete" and fault == "stall":
        # What the caller can expect from the documented per-request budget: the batch-complete
        # and one more round, each within (retries + 1) timeouts.
        return 4.0 + 2 * (http * TIMEOUT + 0.75)
    if op == "complete":
        return 4.0 + per * 3
    if op == "device":
        return 8.0 + 3 * per
    return 3.0 + 2 * per


def rule_for(op: str, fault: str, variant: str) -> Rule:
    method, path = TARGETS[op]
    times = None if variant == "persistent" else 1
    if fault == "tls_refused":
        return Rule(fault, "CONNECT", ".*", times=times)
    # Retry-After: 1 s once (it must be waited for); 0 when persistent (keeps the suite short).
    after = RETRY_AFTER if variant == "transient" else "0"
    return Rule(fault, method, path, times=times, retry_after=after, delay=0.3)


# -- the cell's world -----------------------------------------------------------------------------


class Cell:
    def __init__(
        self,
        op: str,
        fault: str,
        variant: str,
        platform: LocalPlatform,
        state: FaultProxy,
        space: S3Space | None,
        tmp: Path,
        verify: bool | str,
    ) -> None:
        self.op, self.fault, self.variant = op, fault, variant
        self.platform, self.state, self.space, self.tmp = platform, state, space, tmp
        self.verify = verify
        self.files: dict[str, bytes] = {}
        self.result: Any = None

    @property
    def target(self) -> FaultProxy:
        if self.op in S3_OPS:
            assert self.space is not None
            return self.space.proxy
        return self.state

    def client(self, **kw: Any) -> AsyncClient:
        kw.setdefault("refresh_token", self.platform.api_key)
        return AsyncClient(
            server=self.state.url, timeout=TIMEOUT, retries=RETRIES, verify=self.verify, **kw
        )

    def remote(self, name: str) -> str:
        assert self.space is not None
        return f"/{self.space.name}/{name}"

    def write(self, name: str, size: int) -> Path:
        data = os.urandom(size)
        path = self.tmp / name
        path.write_bytes(data)
        self.files[name] = data
        return path


async def prepare(cell: Cell) -> Callable[[AsyncClient], Awaitable[Any]]:
    """Set up what the operation needs (no fault armed yet); return the operation."""
    op = cell.op
    if op == "put":
        src = cell.write("small.bin", SMALL)
        return lambda c: c.upload(src, cell.remote("small.bin"), config=CONFIG)
    if op in ("part", "commit"):
        src = cell.write("big.bin", BIG)
        return lambda c: c.upload(src, cell.remote("big.bin"), config=CONFIG)
    if op == "complete":
        a, b = cell.write("a.bin", SMALL), cell.write("b.bin", SMALL)
        return lambda c: c.upload([a, b], cell.remote("in/"), config=CONFIG)
    if op == "get":
        src = cell.write("big.bin", BIG)
        async with cell.client() as setup:
            await setup.upload(src, cell.remote("big.bin"), config=CONFIG)
        dest = cell.tmp / "down" / "big.bin"
        dest.parent.mkdir()
        return lambda c: c.download(cell.remote("big.bin"), dest, config=CONFIG)
    if op == "list":
        src = cell.write("listed.bin", 100)
        async with cell.client() as setup:
            await setup.upload(src, cell.remote("dir/listed.bin"))

        async def listing(c: AsyncClient) -> list[Any]:
            return [e async for e in c.list_files(cell.remote("dir"))]

        return listing
    if op == "refresh":

        async def refresh(c: AsyncClient) -> Any:
            return await c.whoami()

        return refresh
    raise AssertionError(op)


async def run_device(cell: Cell) -> Any:
    """A device login whose polls go through the proxy; a person approves at once."""
    import httpx

    from .people import approve_device

    platform = cell.platform
    user = await anyio.to_thread.run_sync(
        platform.create_user, f"dev-{uuid.uuid4().hex[:8]}@example.org"
    )
    await anyio.to_thread.run_sync(platform.add_member, user)

    def opener(url: str) -> None:
        with httpx.Client(trust_env=False, timeout=30) as http:
            approve_device(http, url, user.email, user.password)

    async with cell.client(refresh_token=None, refresh_token_if_empty=False) as c:
        return await c.authorize(
            device=True, opener=opener, notify=lambda m: None, login_timeout=bound("device", "")
        )


# -- the matrix ------------------------------------------------------------------------------------


def _cells() -> list[Any]:
    cells = []
    for op in OPS:
        for fault in FAULTS:
            for variant in ("transient", "persistent"):
                marks = []
                finding = FINDINGS.get((op, fault, variant))
                if finding is not None:
                    run = (op, fault, variant) not in NOT_RUN
                    marks.append(pytest.mark.xfail(strict=True, reason=finding, run=run))
                cells.append(
                    pytest.param(op, fault, variant, id=f"{op}-{fault}-{variant}", marks=marks)
                )
    return cells


def _record(entry: dict[str, Any]) -> None:
    """Append a cell's outcome to $FAULT_MATRIX_REPORT (for docs/reliability.md)."""
    path = os.environ.get("FAULT_MATRIX_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def _per_file_errors(error: BaseException) -> list[BaseException]:
    result = getattr(error, "result", None)
    if result is None:
        return []
    return [f.error for f in result.failed]


@pytest.mark.parametrize(("op", "fault", "variant"), _cells())
async def test_cell(
    op: str,
    fault: str,
    variant: str,
    jetraw_platform: LocalPlatform,
    fast_platform: LocalPlatform,
    make_proxy: Callable[..., FaultProxy],
    make_space: Callable[..., S3Space],
    tls: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="jetraw")
    platform = fast_platform if op in ("refresh", "device") else jetraw_platform
    use_tls = fault == "tls_refused"
    state = make_proxy(
        platform.url, kind="state", tls=tls.server if use_tls and op in STATE_OPS else None
    )
    space = None
    if op not in ("refresh", "device"):
        space = make_space(platform, tls=tls.server if use_tls and op in S3_OPS else None)
    cell = Cell(op, fault, variant, platform, state, space, tmp_path, str(tls.ca))

    operation = None if op == "device" else await prepare(cell)
    client = None if op == "device" else cell.client()
    if client is not None:
        await client.__aenter__()
    if op == "refresh":
        # The 1 s access token counts as expired 0.75 s after it was issued: the next call
        # refreshes it.
        await anyio.sleep(0.8)
    rule = rule_for(op, fault, variant)
    cell.target.drop_connections()  # a connection-level fault needs new connections
    since = cell.target.mark()
    cell.target.add(rule)
    watched = [cell.remote(n if op != "complete" else f"in/{n}") for n in cell.files]
    watcher = Watcher(platform, space, watched) if space is not None and op != "list" else None

    error: BaseException | None = None
    value: Any = None
    limit = bound(op, fault, variant)
    started = time.monotonic()
    try:
        async with anyio.create_task_group() as tg:
            if watcher is not None:
                await tg.start(watcher.run)
            try:
                with anyio.fail_after(limit):
                    if op == "device":
                        value = await run_device(cell)
                    else:
                        assert operation is not None
                        assert client is not None
                        value = await operation(client)
            except Exception as exc:
                error = exc
            finally:
                tg.cancel_scope.cancel()
    finally:
        elapsed = time.monotonic() - started
        cell.target.clear()
        if client is not None:
            await client.aclose()
    seen = len(cell.target.requests(*TARGETS[op], since=since)) if fault != "tls_refused" else None
    retry_logs = [
        r
        for r in caplog.records
        if r.name.startswith("jetraw") and ("retry" in r.getMessage() or "try 2" in r.getMessage())
    ]
    _record(
        {
            "op": op,
            "fault": fault,
            "variant": variant,
            "elapsed": round(elapsed, 2),
            "error": None if error is None else type(error).__name__,
            "per_file": [type(e).__name__ for e in _per_file_errors(error)] if error else [],
            "message": None if error is None else str(error)[:300],
            "fired": rule.fired,
            "requests": seen,
            "retry_logs": len(retry_logs),
        }
    )

    # The fault did hit something (else the cell proves nothing).
    assert rule.fired >= 1, f"the fault never fired ({cell.target.seen})"
    # Every call ends within its bound.
    assert not isinstance(error, TimeoutError), f"no answer within {limit:.1f}s (a hang)"
    # Only jetraw's own exceptions escape, per file too.
    if error is not None:
        assert isinstance(error, JetrawError), f"raw {type(error).__name__}: {error}"
        for inner in _per_file_errors(error):
            assert isinstance(inner, JetrawError), f"raw per-file {type(inner).__name__}: {inner}"
    # Retries are bounded.
    if seen is not None:
        assert seen <= max_requests(op), f"{seen} matching requests (unbounded retries?)"

    if watcher is not None:
        assert watcher.violations == [], watcher.violations
    await check_invariants(cell, error)

    expected = expected_error(op, fault) if variant == "persistent" else None
    if expected is None:
        assert error is None, f"did not recover: {type(error).__name__}: {error}"
        if op in STATE_OPS and rule.fired and fault not in ("latency", "reset_after_response"):
            assert retry_logs, "the retry was not logged"
        if op in STATE_OPS and fault == "status_429":
            assert elapsed >= float(RETRY_AFTER), "Retry-After was not waited for"
    else:
        wrapper = WRAPPER[op]
        assert error is not None, "a persistent fault did not fail the call"
        if op in ("complete", "list") and fault == "tls_refused":
            # Connection-level: the upload cannot even be planned (stat, get_space): raised as is.
            wrapper = None
        if wrapper is not None:
            assert isinstance(error, wrapper), f"{type(error).__name__}: {error}"
            inner = _per_file_errors(error)
            assert inner, "no per-file error"
            assert all(isinstance(e, expected) for e in inner), [repr(e) for e in inner]
        else:
            assert isinstance(error, expected), f"{type(error).__name__}: {error}"
    if op == "device" and error is None:
        assert value.email.startswith("dev-")


async def check_invariants(cell: Cell, error: BaseException | None) -> None:
    space = cell.space
    if space is None:
        return
    async with AsyncClient(cell.platform.api_key, server=cell.platform.url) as direct:
        if cell.op in ("put", "part", "commit", "complete"):
            failed = set()
            if error is not None and getattr(error, "result", None) is not None:
                failed = {f.remote for f in error.result.failed}
            elif error is not None:  # raised before any file was tried: none was uploaded
                failed = {
                    cell.remote(n if cell.op != "complete" else f"in/{n}") for n in cell.files
                }
            for name, data in cell.files.items():
                path = cell.remote(name if cell.op != "complete" else f"in/{name}")
                try:
                    remote: Any = await direct.stat(path)
                except RemotePathNotFoundError:
                    assert error is not None, f"{path} reported uploaded but missing (lost)"
                    assert path in failed, f"{path} missing but not reported failed"
                    continue
                stored = await anyio.to_thread.run_sync(space.read_object, remote.object_key)
                assert remote.size == len(data), f"{path}: size {remote.size}"
                assert remote.checksum == crc_hex(data), f"{path}: crc {remote.checksum}"
                assert stored == data, f"{path}: stored bytes differ"
                assert path not in failed, f"{path} is there, intact, but reported failed"
            pending = await direct.list_pending_uploads(space.name)
            assert pending == [], f"uploads left pending: {pending}"
        if cell.op == "get":
            dest = cell.tmp / "down" / "big.bin"
            leftovers = [p.name for p in dest.parent.iterdir() if p.name != "big.bin"]
            assert leftovers == [], f"temporary files left: {leftovers}"
            if error is None:
                assert dest.read_bytes() == cell.files["big.bin"]
            else:
                assert not dest.exists(), "a failed download left a file"
    uploads = await anyio.to_thread.run_sync(space.open_multipart_uploads)
    assert uploads == [], f"multipart uploads left open: {uploads}"
