"""Run in a process with no AWS configuration: upload and download on a granted space."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from jetraw import Client, JetrawPath
from jetraw._transfer import TransferConfig

MiB = 1024 * 1024


def main() -> None:
    server, api_key, space, work = sys.argv[1:5]
    allowed = {"AWS_EC2_METADATA_DISABLED", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"}
    assert not [n for n in os.environ if n.startswith("AWS_") and n not in allowed]
    assert os.environ["AWS_CONFIG_FILE"] == "/nonexistent"
    work_dir = Path(work)
    small = TransferConfig(multipart_threshold=5 * MiB, part_size=5 * MiB)
    client = Client(refresh_token=api_key, server=server)
    single = work_dir / "single.bin"
    multi = work_dir / "multi.bin"
    client.upload(single, f"/{space}/in/", config=small)
    client.upload(multi, f"/{space}/in/", config=small)
    out = work_dir / "out"
    out.mkdir()
    client.download(f"/{space}/in/single.bin", out / "single.bin", config=small)
    client.download(f"/{space}/in/multi.bin", out / "multi.bin", config=small)
    with JetrawPath(f"/{space}/in/multi.bin", client=client).open("rb") as reader:
        reader.seek(6 * MiB - 10)
        ranged = reader.read(20)
    print(json.dumps({"ranged": ranged.hex()}))
    client.close()


if __name__ == "__main__":
    main()
