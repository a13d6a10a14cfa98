"""jetraw.ProgressBar: the display it picks, and a real upload drawn as a text bar."""

from __future__ import annotations

import io
from pathlib import Path

import jetraw
from jetraw.testing import LocalPlatform


def test_outside_a_kernel_it_draws_nothing_unless_on_a_terminal_or_given_a_file() -> None:
    assert not jetraw.ProgressBar.__module__.startswith("jetraw._")
    assert jetraw.ProgressBar().mode == "none"  # pytest captures stderr: not a terminal
    assert jetraw.ProgressBar(file=io.StringIO()).mode == "text"


def test_a_real_upload_redraws_one_text_line_in_place(
    jetraw_platform: LocalPlatform, tmp_path: Path
) -> None:
    src = tmp_path / "tree"
    for i in range(3):
        (src / f"f{i}.raw").parent.mkdir(exist_ok=True)
        (src / f"f{i}.raw").write_bytes(b"x" * (300_000 + i))
    out = io.StringIO()
    bar = jetraw.ProgressBar("Uploading", file=out)
    client = jetraw.Client(refresh_token=jetraw_platform.api_key, server=jetraw_platform.url)
    try:
        client.upload(src, f"/{jetraw_platform.space}/bar-test/", progress=bar)
    finally:
        client.close()
    text = out.getvalue()
    assert text.startswith("\rUploading [")
    last = text.rstrip("\n ").rsplit("\r", 1)[-1]
    assert "100% 878.9 KiB / 878.9 KiB, 3/3 files" in last, repr(text[-300:])
    assert text.count("\r") > 1  # redrawn in place
    assert text.count("\n") <= 1  # one line (ended once every file is done)
    assert bar.last is not None
    assert bar.last.files_done == 3
