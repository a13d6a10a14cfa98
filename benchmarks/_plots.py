"""PNG plots for RESULTS.md: CPU-s/GiB and MiB/s per peer per workload, one figure per transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_plots"]


def write_plots(out: Path, rows: list[dict[str, Any]], skip_workload: str | None) -> list[Path]:
    """One PNG per transport beside ``out`` (``<stem>-<transport>.png``); returns the paths.

    Bars are medians (the rows of :func:`benchmarks._run.summarize`), grouped by workload and
    settings, one bar per peer. Nothing is written when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    for transport in ("http", "https"):
        done = [
            r for r in rows if r["transport"] == transport and r["n"]
            and not (skip_workload and r["workload"].startswith(skip_workload))
        ]  # fmt: skip
        if not done:
            continue
        groups = sorted({(r["workload"], r["mode"]) for r in done})
        peers = sorted({r["peer"] for r in done}, key=lambda p: (p != "jetraw", p))
        fig, axes = plt.subplots(1, 2, figsize=(12, 0.9 * len(groups) + 2.5), squeeze=False)
        width = 0.8 / len(peers)
        for ax, metric, label in (
            (axes[0][0], "cpu_per_gib", "CPU-s/GiB (lower is better)"),
            (axes[0][1], "mib_s", "MiB/s (higher is better)"),
        ):
            for i, peer in enumerate(peers):
                values = []
                for group in groups:
                    match = [r for r in done if (r["workload"], r["mode"]) == group
                             and r["peer"] == peer]  # fmt: skip
                    values.append(match[0][metric] if match else 0.0)
                ax.barh([g + i * width for g in range(len(groups))], values, width, label=peer)
            ax.set_yticks([g + 0.4 - width / 2 for g in range(len(groups))])
            ax.set_yticklabels([f"{w}\n({m})" for w, m in groups], fontsize=8)
            ax.invert_yaxis()
            ax.set_xlabel(label)
            ax.grid(axis="x", alpha=0.3)
        axes[0][1].legend(fontsize=8, loc="lower right")
        fig.suptitle(f"Uploads over {transport.upper()} (medians)")
        fig.tight_layout()
        path = out.with_name(f"{out.stem}-{transport}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
