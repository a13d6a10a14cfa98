"""What every request handler reaches through ``request.app.state.jetraw``."""

from __future__ import annotations

import dataclasses

from jetraw.server._db import Database
from jetraw.server._metrics import Metrics
from jetraw.server._settings import ServerSettings

__all__ = ["AppState"]


@dataclasses.dataclass
class AppState:
    settings: ServerSettings
    db: Database
    metrics: Metrics
