"""Small-file workloads (issue 9, item 2): the state server's CPU, and the per-file table.

The state server (``jetraw.server``, started by ``LocalPlatform``) runs in its own child
process; its CPU-seconds around a run are read from ``/proc/<pid>/stat`` (user + system of the
process and its waited-for children).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["proc_cpu", "small_table"]


def proc_cpu(pid: int | None) -> float | None:
    """CPU-seconds (utime + stime + cutime + cstime) of process ``pid``, None if unknown."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: fields after its closing parenthesis.
    fields = text.rpartition(")")[2].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def small_table(rows: list[dict[str, Any]]) -> list[str]:
    """One line per (workload, settings, peer) of the small-file workloads: per-file figures."""
    out = [
        "| workload | settings | peer | files/s | × best | client CPU ms/file (sys) | "
        "state-server requests/file | state-server CPU ms/file | sink CPU ms/file | "
        "peak RSS MiB | runs |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("files_per_s") is not None:
            groups.setdefault((r["transport"], r["workload"], r["mode"]), []).append(r)
    for group in groups.values():
        best = max(r["files_per_s"] for r in group)
        for r in group:
            trips = r.get("round_trips")
            out.append(
                f"| {r['workload']} ({r['transport']}) | {r['mode']} | {r['peer']} | "
                f"{r['files_per_s']:.0f} | "
                f"{r['files_per_s'] / best:.2f} | {r['cpu_ms_per_file']:.3f} "
                f"({r['sys_ms_per_file']:.3f}) | {'—' if trips is None else f'{trips:.4f}'} | "
                f"{_ms(r.get('server_ms_per_file'))} | {r['sink_ms_per_file']:.3f} | "
                f"{r['rss_mib']:.0f} | {r['n']} |"
            )
    return out
