"""Smoke test of an installed wheel (run by `nox -s wheel` in a clean venv, outside the repo).

Imports every public namespace, starts the bundled reference platform, and does one upload and
read-back through the sync API and one through the async API.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path


def main() -> int:
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    import jetraw
    import jetraw.aio
    import jetraw.cli
    import jetraw.server
    import jetraw_sync
    from jetraw import Client, JetrawPath, upload
    from jetraw.testing import LocalPlatform

    here = Path(jetraw.__file__).resolve()
    assert "site-packages" in str(here), f"jetraw imported from {here}, not the wheel"
    assert (here.parent / "py.typed").exists(), "py.typed is missing from the wheel"
    for module in (jetraw, jetraw.aio, jetraw.cli, jetraw.server, jetraw_sync):
        assert module.__all__, module.__name__

    with tempfile.TemporaryDirectory() as tmp, LocalPlatform() as platform:
        src = Path(tmp) / "frame.raw"
        src.write_bytes(os.urandom(123_457))
        client = Client(refresh_token=platform.api_key, server=platform.url)
        upload(src, f"/{platform.space}/wheel/", client=client)
        remote = JetrawPath(f"/{platform.space}/wheel/frame.raw", client=client)
        assert remote.read_bytes() == src.read_bytes()
        client.close()

        async def via_async() -> bytes:
            async with jetraw.aio.AsyncClient(platform.api_key, server=platform.url) as ac:
                path = jetraw.aio.AsyncJetrawPath(f"/{platform.space}/wheel/frame.raw", client=ac)
                return await path.read_bytes()

        assert asyncio.run(via_async()) == src.read_bytes()
    print(f"wheel smoke test passed (jetraw {jetraw.__version__}, Python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
