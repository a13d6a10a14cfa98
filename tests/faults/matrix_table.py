"""Render the fault matrix as a Markdown table for docs/reliability.md.

FAULT_MATRIX_REPORT=/tmp/fm.jsonl uv run --frozen --extra dev python -m pytest tests/faults
uv run --frozen --extra dev python -m tests.faults.matrix_table /tmp/fm.jsonl
"""

from __future__ import annotations

import json
import re
import sys

from .findings import FINDINGS
from .test_matrix import FAULTS, OPS

SHORT = {
    "StorageConnectionError": "StorageConnection",
    "ServerConnectionError": "ServerConnection",
    "RateLimitedError": "RateLimited",
    "StorageError": "Storage",
    "APIError": "API",
    "UploadError": "Upload",
    "DownloadError": "Download",
}


#: Faults on an answer without a body: nothing to cut, nothing to recover from.
EMPTY_BODY = {(op, f) for op in ("put", "part") for f in ("reset_during_response", "truncated")}


def _number(reason: str) -> str:
    match = re.match(r"finding (\d+)", reason)
    return match.group(1) if match else "?"


def _outcome(entry: dict | None, op: str, fault: str, variant: str) -> str:
    reason = FINDINGS.get((op, fault, variant))
    if reason is not None:
        return f"**F{_number(reason)}**"
    if entry is None:
        return "–"
    if entry["error"] is None:
        harmless = fault in ("latency", "reset_after_response") or (op, fault) in EMPTY_BODY
        word = "ok" if variant == "persistent" or harmless else "retry ok"
        return f"{word} {entry['elapsed']:.1f}s"
    names = entry["per_file"] or [entry["error"]]
    inner = SHORT.get(names[0], names[0])
    outer = entry["error"]
    shown = f"{SHORT.get(outer, outer)}({inner})" if entry["per_file"] else inner
    return f"{shown} {entry['elapsed']:.1f}s"


def render(path: str) -> str:
    entries: dict[tuple[str, str, str], dict] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            e = json.loads(line)
            entries[(e["op"], e["fault"], e["variant"])] = e
    header = "| operation | " + " | ".join(f.replace("_", " ") for f in FAULTS) + " |"
    rule = "|---|" + "---|" * len(FAULTS)
    rows = [header, rule]
    for op in OPS:
        cells = []
        for fault in FAULTS:
            t = _outcome(entries.get((op, fault, "transient")), op, fault, "transient")
            p = _outcome(entries.get((op, fault, "persistent")), op, fault, "persistent")
            cells.append(f"T: {t}<br>P: {p}")
        rows.append(f"| **{op}** | " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(render(sys.argv[1]))
