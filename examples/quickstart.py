"""The main job, end to end, on the embedded local platform.

Starts the reference platform on 127.0.0.1 (jetraw.testing.LocalPlatform), then does what a lab's
batch uploader does, with the synchronous API of the user documentation:

1. authenticate with an API key (``Client(refresh_token=...)``) and make it the default client;
2. upload a folder of raw camera frames (a directory tree, relative paths kept) and one larger
   stack that goes up in parallel multipart parts;
3. list the space, read a file back through ``JetrawPath``, download the tree and verify every
   byte against the originals.

Run it with:  uv run --frozen --extra server python examples/quickstart.py
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from jetraw import Client, JetrawPath, TransferConfig, download, set_default_client, upload
from jetraw.testing import LocalPlatform

MiB = 1024 * 1024


def make_frames(root: Path) -> dict[str, str]:
    """Write a small acquisition: 24 frames in 3 channels, plus one 48 MiB stack."""
    digests: dict[str, str] = {}
    for channel in ("dapi", "gfp", "mcherry"):
        for t in range(8):
            path = root / "run-001" / channel / f"frame_{t:04d}.raw"
            path.parent.mkdir(parents=True, exist_ok=True)
            data = os.urandom(MiB + 137 * t)  # 16-bit sensor noise stands in for a real frame
            path.write_bytes(data)
            digests[path.relative_to(root).as_posix()] = hashlib.sha256(data).hexdigest()
    stack = root / "run-001" / "stack.raw"
    with stack.open("wb") as f:
        h = hashlib.sha256()
        for _ in range(48):
            block = os.urandom(MiB)
            f.write(block)
            h.update(block)
    digests["run-001/stack.raw"] = h.hexdigest()
    return digests


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="jetraw-quickstart-") as tmp,
        LocalPlatform() as platform,
    ):
        work = Path(tmp)
        print(f"Local platform at {platform.url} (organisation {platform.organisation!r})")
        space = platform.space
        local = work / "acquisition"
        digests = make_frames(local)
        total = sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
        print(f"Made {len(digests)} files, {total / MiB:.1f} MiB, under {local}")

        client = Client(refresh_token=platform.api_key, server=platform.url)
        set_default_client(client)
        print(f"Authenticated as {client.whoami().email}")

        started = time.perf_counter()
        config = TransferConfig(multipart_threshold=16 * MiB, part_size=8 * MiB)
        result = upload(local, f"/{space}/acquisition/", config=config)  # the tree, into a folder
        elapsed = time.perf_counter() - started
        print(
            f"Uploaded {len(result.files)} files in {elapsed:.2f} s "
            f"({total / MiB / elapsed:.0f} MiB/s)"
        )

        root = JetrawPath(f"/{space}/acquisition")
        remote = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        assert remote == sorted(digests), "the remote listing does not match what was uploaded"
        first = root / "run-001" / "dapi" / "frame_0000.raw"
        stat = first.stat()
        print(f"{first}: {stat.size} bytes, CRC-32C {stat.checksum}")

        back = work / "downloaded"
        download(str(root), back)
        for rel, digest in digests.items():
            got = hashlib.sha256((back / rel).read_bytes()).hexdigest()
            assert got == digest, f"{rel} differs after the round trip"
        print(f"Downloaded and verified {len(digests)} files byte for byte. Done.")
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
