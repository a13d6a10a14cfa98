"""`jetraw uploads` counts the stored parts of the kept uploads concurrently (bounded)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

from jetraw.aio import AsyncClient
from jetraw.cli import _files

from .conftest import Jetraw


def test_uploads_counts_kept_uploads_concurrently(
    jetraw: Jetraw, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = jetraw.platform.access_token()
    for i in range(12):  # pending uploads, as interrupted ones leave them
        created = httpx.post(
            f"{jetraw.platform.url}/api/v1/spaces/{jetraw.space}/uploads",
            json={"path": f"p{i:02}.raw", "size": 5, "overwrite": False, "metadata": {}},
            headers={"Authorization": f"Bearer {token}"},
            trust_env=False,
        )
        assert created.status_code == 201, created.text
    real = AsyncClient.stored_parts
    running = peak = 0

    async def counted(self: AsyncClient, upload: Any) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await anyio.sleep(0.05)  # a storage round trip
            return await real(self, upload)
        finally:
            running -= 1

    monkeypatch.setattr(AsyncClient, "stored_parts", counted)
    out = jetraw("uploads", "--space", jetraw.space, "--json")
    assert out.exit_code == 0, out.stderr
    listed = json.loads(out.stdout)
    assert sorted(u["path"] for u in listed) == [f"/{jetraw.space}/p{i:02}.raw" for i in range(12)]
    assert 1 < peak <= _files._PARTS_CONCURRENCY, peak
