"""LocalPlatform: the reference platform on 127.0.0.1, for tests and examples."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from jetraw._httpx import httpx

__all__ = ["LocalPlatform", "PlatformUser", "parse_metrics"]

_READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class PlatformUser:
    """A user created by :meth:`LocalPlatform.create_user` (also readable as ``user["id"]``)."""

    id: str
    email: str
    name: str
    password: str = field(repr=False)

    def __getitem__(self, key: str) -> str:
        value: str = getattr(self, key)
        return value


def _terminate(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _terminate_if_owner(proc: subprocess.Popen[bytes], owner: int) -> None:
    # A forked child exiting normally must not stop its parent's server.
    if os.getpid() == owner:
        _terminate(proc)


class LocalPlatform:
    """The Jetraw reference platform (``jetraw.server``) running on 127.0.0.1 on a free port.

    Use it as a context manager, with ``with`` or ``async with`` (leaving it stops the server and
    removes the temporary directory; a ``data_dir`` you gave is kept)::

        with LocalPlatform() as platform:
            client = jetraw.Client(platform.api_key, server=platform.url)

    On start, a temporary data dir (unless ``data_dir`` is given) is bootstrapped with an admin
    user (:attr:`admin_email`, :attr:`admin_password`), the organisation :attr:`organisation`
    (``"default"``), a space :attr:`space` (``"data"``) on local storage in the data dir, and an
    API key :attr:`api_key`. The helper methods use the platform's admin API over HTTP, so they
    work the same in both modes.

    Args:
        mode: ``"process"`` (default) runs the server in a child process
            (``python -m jetraw.server``), which keeps its CPU and GIL out of the caller's
            measurements and survives ``fork`` in the caller; ``"thread"`` runs uvicorn in a
            thread of this process (needs the ``server`` extra importable here).
        data_dir: Keep the data here (not deleted on exit); a new temp dir by default.
        password_hash_n: scrypt cost N for passwords; low by default so tests are fast.
        rate_limit_per_minute: Limit on login/token endpoints per client address; 0 = none.
        access_token_ttl: Lifetime of access tokens, seconds.
        upload_expiry_days: Pending uploads expire after this many days (fractions allowed).
        garbage_grace_seconds: Replaced/deleted objects are removed after this long.
        refresh_grace_seconds: Grace period of a rotated-out interactive refresh token.
        cleanup_interval_seconds: Period of the server's own cleanup pass (0: only on
            :meth:`cleanup`).
        startup_timeout: Seconds to wait for the server to serve.
        database: A ``postgresql://`` URL to keep the state in (the ``postgresql`` extra); by
            default the server's own default: ``$JETRAW_SERVER_DATABASE``, else SQLite in the
            data dir.
    """

    def __init__(
        self,
        *,
        mode: Literal["process", "thread"] = "process",
        data_dir: str | os.PathLike[str] | None = None,
        password_hash_n: int = 2**4,
        rate_limit_per_minute: int = 0,
        access_token_ttl: int = 600,
        upload_expiry_days: float = 7.0,
        garbage_grace_seconds: float = 300.0,
        refresh_grace_seconds: float = 30.0,
        cleanup_interval_seconds: float = 60.0,
        grant_ttl_seconds: float = 900.0,
        startup_timeout: float = _READY_TIMEOUT,
        database: str | None = None,
    ) -> None:
        if mode not in ("process", "thread"):
            raise ValueError("mode is 'process' or 'thread'")
        self.mode = mode
        self._given_data_dir = None if data_dir is None else Path(data_dir).resolve()
        self._options: dict[str, Any] = {
            "password_hash_n": password_hash_n,
            "rate_limit_per_minute": rate_limit_per_minute,
            "access_token_ttl": access_token_ttl,
            "upload_expiry_days": upload_expiry_days,
            "garbage_grace_seconds": garbage_grace_seconds,
            "refresh_grace_seconds": refresh_grace_seconds,
            "cleanup_interval_seconds": cleanup_interval_seconds,
            "grant_ttl_seconds": grant_ttl_seconds,
        }
        if database is not None:  # else the server's default ($JETRAW_SERVER_DATABASE, SQLite)
            self._options["database"] = database
        self.startup_timeout = startup_timeout
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._thread: threading.Thread | None = None
        self._uvicorn: Any = None
        self._http: httpx.Client | None = None
        self._admin_token = ""
        self._bootstrap: dict[str, Any] = {}
        self._url: str | None = None

    # -- life cycle -----------------------------------------------------------------------------

    @property
    def database(self) -> str | None:
        """The ``postgresql://`` URL given as ``database``, else ``None`` (the server's default)."""
        value = self._options.get("database")
        return None if value is None else str(value)

    def __repr__(self) -> str:
        state = self._url or "stopped"
        return f"<LocalPlatform {self.mode} {state}>"

    def __enter__(self) -> LocalPlatform:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> LocalPlatform:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        import anyio.to_thread

        await anyio.to_thread.run_sync(self.close)

    @property
    def running(self) -> bool:
        return self._url is not None

    def start(self) -> LocalPlatform:
        """Start the server and wait until it serves. Returns ``self``."""
        if self.running:
            raise RuntimeError("the platform is already running")
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="jetraw-platform-"))
        if not self._admin_token:
            self._admin_token = secrets.token_urlsafe(24)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self.mode == "process":
                self._start_process()
            else:
                self._start_thread()
            self._bootstrap = json.loads((self.data_dir / "bootstrap.json").read_text("utf-8"))
            self._http = httpx.Client(
                base_url=self.url,
                headers={"Authorization": f"Bearer {self._admin_token}"},
                timeout=30.0,
                trust_env=False,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (and delete the temporary data dir unless ``data_dir`` was given).

        A stopped platform can be started again (:meth:`restart`): same data dir, new port.
        """
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._proc is not None:
            _terminate(self._proc)
            self._proc = None
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
        if self._thread is not None:
            self._uvicorn.should_exit = True
            self._thread.join(30)
            self._thread = None
            self._uvicorn = None
        self._url = None

    def close(self) -> None:
        """Stop and remove the working directory (and the data, unless ``data_dir`` was given)."""
        self.stop()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def restart(self) -> LocalPlatform:
        """Stop and start again on the same data dir (the port changes)."""
        self.stop()
        return self.start()

    def _start_process(self) -> None:
        assert self._workdir is not None
        token_file = self._workdir / "admin-token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self._admin_token)
        ready_file = self._workdir / "ready.json"
        ready_file.unlink(missing_ok=True)
        log_path = self._workdir / "server.log"
        args = [
            sys.executable,
            "-m",
            "jetraw.server",
            "--data-dir",
            str(self.data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--admin-token-file",
            str(token_file),
            "--ready-file",
            str(ready_file),
        ]
        for name, value in self._options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
        with open(log_path, "ab") as log:
            # S603: argv built here: sys.executable -m jetraw.server
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)  # noqa: S603
        self._proc = proc
        self._finalizer = weakref.finalize(self, _terminate_if_owner, proc, os.getpid())
        deadline = time.monotonic() + self.startup_timeout
        # Another process on the same data dir may still be writing the bootstrap file.
        bootstrap_file = self.data_dir / "bootstrap.json"
        while not (ready_file.exists() and bootstrap_file.exists()):
            if proc.poll() is not None or time.monotonic() > deadline:
                _terminate(proc)
                output = log_path.read_text("utf-8", "replace")[-4000:]
                raise RuntimeError(
                    f"the Jetraw platform did not start (exit code {proc.returncode}):\n{output}"
                )
            time.sleep(0.02)
        self._url = json.loads(ready_file.read_text("utf-8"))["url"]

    def _start_thread(self) -> None:
        import uvicorn

        from jetraw.server import (
            ServerSettings,
            bind,
            bootstrap,
            create_app,
            url_for,
            uvicorn_config,
        )

        sock = bind("127.0.0.1", 0)
        url = url_for("127.0.0.1", sock.getsockname()[1])
        settings = ServerSettings(
            data_dir=self.data_dir, base_url=url, admin_token=self._admin_token, **self._options
        )
        app = create_app(settings)
        bootstrap(app)
        server = uvicorn.Server(uvicorn_config(app, settings, log_level="warning"))

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            finally:
                sock.close()

        thread = threading.Thread(target=serve, name="jetraw-platform", daemon=True)
        thread.start()
        self._thread, self._uvicorn = thread, server
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Jetraw platform did not start in its thread")
            time.sleep(0.01)
        self._url = url

    # -- what a test needs ---------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The server's process id (``None`` when it runs in a thread, or is stopped)."""
        return None if self._proc is None else self._proc.pid

    @property
    def url(self) -> str:
        """Base URL of the running server, ``http://127.0.0.1:<port>``."""
        if self._url is None:
            raise RuntimeError("the platform is not running")
        return self._url

    @property
    def data_dir(self) -> Path:
        """The data dir (database, bootstrap.json, local storage of the default spaces)."""
        if self._given_data_dir is not None:
            return self._given_data_dir
        if self._workdir is None:
            raise RuntimeError("the platform has not been started")
        return self._workdir / "data"

    @property
    def organisation(self) -> str:
        """Name of the bootstrapped organisation (``"default"``)."""
        return str(self._bootstrap["organisation"])

    @property
    def space(self) -> str:
        """Name of the bootstrapped space (``"data"``, local storage)."""
        return str(self._bootstrap["space"])

    @property
    def api_key(self) -> str:
        """An API key of the admin user in :attr:`organisation`."""
        return str(self._bootstrap["api_key"])

    @property
    def admin_email(self) -> str:
        return str(self._bootstrap["email"])

    @property
    def admin_password(self) -> str:
        return str(self._bootstrap["password"])

    @property
    def admin_user_id(self) -> str:
        return str(self._bootstrap["user_id"])

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        if self._http is None:
            raise RuntimeError("the platform is not running")
        response = self._http.request(method, "/admin/v1" + path, json=body)
        if response.status_code >= 400:
            try:
                problem = response.json()
                detail = f"{problem.get('code')}: {problem.get('detail')}"
            except ValueError:
                detail = response.text[:200]
            raise RuntimeError(
                f"admin API {method} {path} failed ({response.status_code}) {detail}"
            )
        return None if response.status_code == 204 else response.json()

    def create_organisation(self, name: str) -> dict[str, Any]:
        """Create an organisation; returns ``{"id", "name"}``."""
        result: dict[str, Any] = self._admin("POST", "/organisations", {"name": name})
        return result

    def create_user(
        self, email: str, password: str | None = None, name: str | None = None
    ) -> PlatformUser:
        """Create a user (a random password unless given). Not a member of anything yet."""
        body = {"email": email, "password": password, "name": name}
        data = self._admin("POST", "/users", body)
        return PlatformUser(
            id=data["id"], email=data["email"], name=data["name"], password=data["password"]
        )

    def add_member(
        self,
        user: PlatformUser | str,
        organisation: str | dict[str, Any] | None = None,
        role: Literal["admin", "member"] = "member",
    ) -> None:
        """Make ``user`` (object, id or email) a member of ``organisation`` (name)."""
        body = {"user": _user_ref(user), "organisation": self._org_name(organisation), "role": role}
        self._admin("POST", "/memberships", body)

    def create_api_key(
        self,
        user: PlatformUser | str | None = None,
        organisation: str | dict[str, Any] | None = None,
        name: str = "test key",
    ) -> str:
        """A new API key of ``user`` (default: the admin) issued in ``organisation``."""
        body = {
            "user": self.admin_user_id if user is None else _user_ref(user),
            "organisation": self._org_name(organisation),
            "name": name,
        }
        return str(self._admin("POST", "/api-keys", body)["key"])

    def revoke_api_key(self, key_or_id: str) -> None:
        """Revoke an API key, given the key itself or its id."""
        key_id = key_or_id
        if key_or_id.startswith("jrk_"):
            key_id = key_or_id[4:].split("_", 1)[0]
        self._admin("DELETE", f"/api-keys/{key_id}")

    def create_space(
        self,
        name: str,
        storage: dict[str, Any] | None = None,
        organisation: str | dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create a space; returns the ``Space`` object (its ``storage`` is the descriptor).

        ``storage`` is ``{"type": "s3", "bucket", "prefix", "region", "endpoint_url",
        "addressing_style"}`` or ``{"type": "local", "root"}``; by default local storage in the
        data dir.
        """
        body = {"organisation": self._org_name(organisation), "name": name, "storage": storage}
        result: dict[str, Any] = self._admin("POST", "/spaces", body)
        return result

    def set_access_token_ttl(self, seconds: int) -> None:
        """Lifetime of access tokens issued from now on."""
        self._set(access_token_ttl=int(seconds))

    def set_rate_limit(self, per_minute: int) -> None:
        """Requests per minute per address on login/token endpoints (0: unlimited)."""
        self._set(rate_limit_per_minute=int(per_minute))

    def set_refresh_grace(self, seconds: float) -> None:
        """Grace period of rotated-out interactive refresh tokens."""
        self._set(refresh_grace_seconds=float(seconds))

    def set_device_poll_interval(self, seconds: int) -> None:
        """The poll interval (``interval``, whole seconds) of device logins started from now on."""
        self._set(device_poll_interval=int(seconds))

    def _set(self, **values: Any) -> None:
        self._admin("PATCH", "/settings", values)
        # Every server process re-reads the settings table at most 0.5 s later.
        time.sleep(0.6)

    def cleanup(self) -> dict[str, Any]:
        """Run the server's cleanup now (expire uploads, delete garbage past its grace)."""
        result: dict[str, Any] = self._admin("POST", "/cleanup")
        return result

    def access_token(self, api_key: str | None = None, organisation: str | None = None) -> str:
        """An access token for ``api_key`` (default :attr:`api_key`) from the token endpoint."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": api_key or self.api_key,
            "client_id": "jetraw",
        }
        if organisation is not None:
            form["organisation"] = organisation
        response = httpx.post(self.url + "/oauth/token", data=form, trust_env=False)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def metrics(self) -> dict[str, float]:
        """The ``/metrics`` samples keyed as written, e.g. ``'name{label="v"}'``."""
        if self._http is None:
            raise RuntimeError("the platform is not running")
        # /metrics is not public by default: the platform's admin client sends the admin token.
        response = self._http.get("/metrics")
        response.raise_for_status()
        return parse_metrics(response.text)

    def _org_name(self, organisation: str | dict[str, Any] | None) -> str:
        if organisation is None:
            return self.organisation
        if isinstance(organisation, dict):
            return str(organisation["name"])
        return organisation


def _user_ref(user: PlatformUser | str) -> str:
    return user.id if isinstance(user, PlatformUser) else str(user)


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text exposition → ``{sample name with labels: value}``."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        samples[name] = float(value)
    return samples
