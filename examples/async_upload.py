"""The asyncio API (``jetraw.aio``): several uploads at once from your own event loop.

Self-contained: starts the reference platform on 127.0.0.1. Run it with:

    uv run --frozen --extra server python examples/async_upload.py
"""

# %% Imports and a local platform
import asyncio
import os
import pathlib
import tempfile

import jetraw.aio as jaio
from jetraw.testing import LocalPlatform


# %% Upload three files concurrently, then list them
async def main(platform: LocalPlatform, tmp: pathlib.Path) -> None:
    async with jaio.AsyncClient(refresh_token=platform.api_key, server=platform.url) as client:
        files = []
        for i in range(3):
            path = tmp / f"plate-{i}.raw"
            path.write_bytes(os.urandom(256 * 1024))
            files.append(path)
        results = await asyncio.gather(
            *(client.upload(p, f"/{platform.space}/plates/{p.name}") for p in files)
        )
        print(f"uploaded {sum(len(r.uploaded) for r in results)} files concurrently")
        folder = jaio.AsyncJetrawPath(f"/{platform.space}/plates", client=client)
        names = sorted([p.name async for p in folder.iterdir()])
        print("listed", names)
        async with (folder / "notes.txt").open("wb") as f:
            await f.write(b"written with async with p.open('wb')")
        print("read back:", (await (folder / "notes.txt").read_bytes()).decode())


# %% Run it (in Jupyter, `await main(platform, tmp)` in a cell instead)
with LocalPlatform() as platform, tempfile.TemporaryDirectory() as tmp:
    asyncio.run(main(platform, pathlib.Path(tmp)))
