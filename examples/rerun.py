"""Re-running an upload or a download: skip what is already there, replace on purpose.

Self-contained: starts the reference platform on 127.0.0.1 (``jetraw.testing.LocalPlatform``).
Open it as a notebook (``# %%`` cells) in VS Code or Jupytext, or run it:

    uv run --frozen --extra server python examples/rerun.py
"""

# %% Start a local platform and a client
import os
import pathlib
import tempfile

import jetraw
from jetraw.testing import LocalPlatform

platform = LocalPlatform()
platform.start()
client = jetraw.Client(refresh_token=platform.api_key, server=platform.url)
tmp = pathlib.Path(tempfile.mkdtemp(prefix="jetraw-rerun-"))
dest = f"/{platform.space}/rerun-demo/"

# %% A first upload of a small tree
for i in range(5):
    (tmp / "run" / f"frame-{i}.raw").parent.mkdir(parents=True, exist_ok=True)
    (tmp / "run" / f"frame-{i}.raw").write_bytes(os.urandom(256 * 1024))
first = client.upload(tmp / "run", dest)
print(f"first run: uploaded {len(first.uploaded)} files")

# %% Running it again fails on what exists, unless told what to do
try:
    client.upload(tmp / "run", dest)
except jetraw.UploadError as error:
    print(f"second run refused: {len(error.result.failed)} files exist already")

(tmp / "run" / "frame-5.raw").write_bytes(os.urandom(256 * 1024))  # one new frame
again = client.upload(tmp / "run", dest, skip_existing=True)
print(f"with skip_existing: {len(again.uploaded)} uploaded, {len(again.skipped)} skipped")
assert len(again.uploaded) == 1
assert len(again.skipped) == 5

# %% Downloads work the same way: a local file is skipped when its size and CRC-32C match
back = tmp / "back"
client.download(dest, back)
redo = client.download(dest, back, skip_existing=True)
print(f"download again: {len(redo.downloaded)} downloaded, {len(redo.skipped)} skipped")
assert len(redo.skipped) == 6

# %% A local file that differs is never skipped silently: replace it on purpose
(back / "frame-0.raw").write_bytes(b"changed locally")
try:
    client.download(dest, back, skip_existing=True)
except jetraw.DownloadError as error:
    print(f"refused: {len(error.result.failed)} local file differs from the remote one")
client.download(f"{dest}frame-0.raw", back / "frame-0.raw", overwrite=True)
assert (back / "frame-0.raw").read_bytes() == (tmp / "run" / "frame-0.raw").read_bytes()
print("replaced frame-0.raw with the remote bytes")

# %% Clean up
client.close()
platform.stop()
print("rerun example done")
