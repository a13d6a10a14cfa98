"""What every request handler reaches through :func:`state_of`: one :class:`AppState` per app."""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request

from jetraw.server._settings import ServerSettings
from jetraw.server.auth import RateLimiter
from jetraw.server.http._metrics import Metrics
from jetraw.server.store import Database, RuntimeSettings

__all__ = ["AppState", "app_state", "state_of"]


@dataclasses.dataclass
class AppState:
    """The objects one application instance shares between its requests.

    Build it with :meth:`open`; the composition root stores it as ``app.state.jetraw``.
    """

    settings: ServerSettings
    db: Database
    #: The configured settings with the run-time overrides of the ``settings`` table.
    runtime: RuntimeSettings
    #: This process's counters, served at ``/metrics``.
    metrics: Metrics = dataclasses.field(default_factory=Metrics)
    #: This process's sliding windows for the login, token and device endpoints.
    rate_limiter: RateLimiter = dataclasses.field(default_factory=RateLimiter)

    @classmethod
    def open(cls, settings: ServerSettings) -> AppState:
        """The state of a new application on ``settings.data_dir`` (database created, migrated)."""
        db = Database(settings.database_location)
        return cls(
            settings=settings,
            db=db,
            runtime=RuntimeSettings(settings, db),
            metrics=Metrics(instance=settings.instance_id),
        )

    def now(self) -> float:
        """The server's current time (unix seconds) from its injectable clock."""
        return self.settings.clock()

    def setting(self, name: str) -> Any:
        """A setting's value: the run-time override if one is stored, else the configured one."""
        return self.runtime.get(name)


def app_state(app: Starlette) -> AppState:
    """The :class:`AppState` the composition root stored on ``app``."""
    state: AppState = app.state.jetraw
    return state


def state_of(request: Request) -> AppState:
    """The :class:`AppState` of the application serving ``request``."""
    return app_state(request.app)
