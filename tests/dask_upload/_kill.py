"""A worker plugin that kills its worker process (SIGKILL) once, mid-way through an upload task."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from distributed import WorkerPlugin


class KillOnce(WorkerPlugin):  # type: ignore[misc]
    """Kill the first worker that starts a ``jetraw-upload-`` task, once ``go`` exists.

    Only once over the cluster (restarted workers get the plugin again): the first to create
    ``marker`` (O_EXCL) is the one killed; it writes its pid there. The test creates ``go``
    when the upload is under way (files are listed); after ``timeout`` s the kill comes anyway.
    """

    name = "jetraw-kill-once"

    def __init__(self, marker: str, go: str, timeout: float = 10.0) -> None:
        self.marker = marker
        self.go = go
        self.timeout = timeout

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or not str(key).startswith("jetraw-upload-"):
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)

        def kill() -> None:
            deadline = time.monotonic() + self.timeout
            while not os.path.exists(self.go) and time.monotonic() < deadline:
                time.sleep(0.005)
            os.kill(os.getpid(), signal.SIGKILL)

        threading.Thread(target=kill, daemon=True).start()
