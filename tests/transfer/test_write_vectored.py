"""write_vectored: many buffers land back to back at an offset, short writes resumed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jetraw._util import _atomic, write_vectored


def test_buffers_land_back_to_back(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    parts = [b"ab", b"", bytearray(b"cde"), memoryview(b"fghij")[1:]]
    fd = os.open(path, os.O_RDWR)
    try:
        write_vectored(fd, parts, 3)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"xxxabcdeghij"


def test_short_writes_and_many_buffers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.pwritev
    seen: list[int] = []

    def short(fd: int, buffers: Any, offset: int) -> int:
        seen.append(len(buffers))
        # At most 7 bytes per call: splits buffers in the middle.
        return real(fd, [bytes(b"".join(bytes(b) for b in buffers)[:7])], offset)

    monkeypatch.setattr(_atomic.os, "pwritev", short)
    parts = [bytes([65 + i % 26]) * (i % 5 + 1) for i in range(2000)]
    path = tmp_path / "g"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        write_vectored(fd, parts, 0)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(parts)
    assert max(seen) <= 1024
