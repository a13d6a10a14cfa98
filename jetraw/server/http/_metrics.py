"""Prometheus text-format counters (in-process; each server process counts its own).

Every exposition starts with ``jetraw_instance_info{instance="<id>"} 1``
(:attr:`ServerSettings.instance_id`), so samples scraped from several instances on one database
say which instance counted them (Prometheus joins on the scrape target; the info sample names
it in the data itself).
"""

from __future__ import annotations

import threading
from collections import defaultdict

__all__ = ["Metrics"]

_HELP = {
    "jetraw_token_grants_total": "Tokens issued by the token endpoint, by grant type.",
    "jetraw_refresh_failures_total": "Refresh-token grants that failed.",
    "jetraw_uploads_created_total": "Uploads created.",
    "jetraw_uploads_completed_total": "Uploads completed.",
    "jetraw_uploads_aborted_total": "Uploads aborted.",
    "jetraw_http_responses_total": "HTTP responses, by status code.",
    "jetraw_internal_errors_total": "Unexpected faults, answered 500 internal_error and logged.",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    """Thread-safe counters rendered in the Prometheus exposition format."""

    def __init__(self, instance: str = "") -> None:
        self.instance = instance
        self._lock = threading.Lock()
        self._values: defaultdict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(
            float
        )
        for name in _HELP:
            if "{" not in name and name not in (
                "jetraw_token_grants_total",
                "jetraw_http_responses_total",
            ):
                self._values[(name, ())] += 0

    def inc(self, name: str, labels: dict[str, str] | None = None, value: float = 1) -> None:
        key = (name, tuple(sorted((labels or {}).items())))
        with self._lock:
            self._values[key] += value

    def render(self) -> str:
        with self._lock:
            items = sorted(self._values.items())
        lines: list[str] = [
            "# HELP jetraw_instance_info The server instance these samples come from.",
            "# TYPE jetraw_instance_info gauge",
            f'jetraw_instance_info{{instance="{_escape(self.instance)}"}} 1',
        ]
        seen: set[str] = set()
        for (name, labels), value in items:
            if name not in seen:
                seen.add(name)
                lines.append(f"# HELP {name} {_HELP.get(name, name)}")
                lines.append(f"# TYPE {name} counter")
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            sample = f"{name}{{{label_text}}}" if label_text else name
            lines.append(f"{sample} {value:g}")
        return "\n".join(lines) + "\n"
