"""The sync facade in a real Jupyter kernel (ipykernel, whose thread runs an event loop)."""

from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import Any

import pytest

from jetraw.testing import LocalPlatform

jupyter_client = pytest.importorskip("jupyter_client")


def _execute(kc: Any, code: str, timeout: float = 60, interrupt: Any = None) -> dict[str, Any]:
    """Run ``code``; return its status, text output, error name and the display MIME types."""
    msg_id = kc.execute(code)
    out: dict[str, Any] = {"text": "", "ename": None, "mimes": set(), "status": None}
    deadline = time.monotonic() + timeout
    while True:
        if interrupt is not None and interrupt(out):
            interrupt = None
        try:
            msg = kc.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            assert time.monotonic() < deadline, f"cell timed out: {out}"
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out["text"] += content["text"]
        elif kind in ("display_data", "execute_result"):
            out["mimes"].update(content["data"])
        elif kind == "error":
            out["ename"] = content["ename"]
        elif kind == "status" and content["execution_state"] == "idle":
            break
    out["status"] = kc.get_shell_msg(timeout=10)["content"]["status"]
    return out


@pytest.mark.timeout(180)
def test_client_upload_download_and_a_cancelled_cell_in_a_kernel(
    jetraw_platform: LocalPlatform, tmp_path: Path
) -> None:
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        space = jetraw_platform.space
        setup = f"""
import os, jetraw, pathlib, threading
client = jetraw.Client(refresh_token={jetraw_platform.api_key!r}, server={jetraw_platform.url!r})
src = pathlib.Path("small.raw"); src.write_bytes(os.urandom(2_000_000))
r = client.upload(src, "/{space}/nb/small.raw", progress=jetraw.ProgressBar())
client.download("/{space}/nb/small.raw", "back.raw")
print("ROUNDTRIP", pathlib.Path("back.raw").read_bytes() == src.read_bytes(), r.uploaded[0].size)
"""
        first = _execute(kc, setup)
        assert first["status"] == "ok", first
        assert "ROUNDTRIP True 2000000" in first["text"]
        assert "application/vnd.jupyter.widget-view+json" in first["mimes"]  # the widget bar

        big = tmp_path / "big.raw"
        with big.open("wb") as f:
            f.truncate(2 * 1024**3)  # sparse: quick to make, slow enough to send
        threads = _execute(kc, "print('THREADS', threading.active_count())")["text"]
        started: list[float] = []

        def interrupt(out: dict[str, Any]) -> bool:
            if not started:
                started.append(time.monotonic())
            if time.monotonic() - started[0] > 0.7:
                km.interrupt_kernel()
                return True
            return False

        cell = (
            "cfg = jetraw.TransferConfig(multipart_threshold=8 * 2**20, part_size=8 * 2**20)\n"
            f"client.upload('big.raw', '/{space}/nb/big.raw', config=cfg)\n"
        )
        cancelled = _execute(kc, cell, timeout=60, interrupt=interrupt)
        assert cancelled["ename"] == "KeyboardInterrupt", cancelled
        check = _execute(
            kc, f"print('EXISTS', jetraw.JetrawPath('/{space}/nb/big.raw', client=client).exists())"
        )
        assert "EXISTS False" in check["text"], check  # no partial file visible
        again = _execute(
            kc,
            f"r = client.upload(src, '/{space}/nb/again.raw'); print('AGAIN', r.uploaded[0].size)\n"
            "print('THREADS', threading.active_count())",
        )
        assert again["status"] == "ok", again
        assert "AGAIN 2000000" in again["text"]
        before = int(threads.split()[-1])
        after = int(again["text"].split("THREADS")[-1].split()[0])
        assert after <= before + 1, (threads, again["text"])  # no leaked worker threads
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
