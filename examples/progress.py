"""Progress in a notebook or a terminal: ``jetraw.ProgressBar`` picks a widget or a text bar.

Self-contained: starts the reference platform on 127.0.0.1 (``jetraw.testing.LocalPlatform``).
Open it as a notebook (``# %%`` cells) in VS Code or Jupytext, or run it:

    uv run --frozen --extra server python examples/progress.py
"""

# %% Start a local platform and a client (an API key, as a lab's uploader would use)
import os
import pathlib
import sys
import tempfile

import jetraw
from jetraw.testing import LocalPlatform

platform = LocalPlatform()
platform.start()
client = jetraw.Client(refresh_token=platform.api_key, server=platform.url)
tmp = pathlib.Path(tempfile.mkdtemp(prefix="jetraw-progress-"))

# %% Upload a small tree with a progress bar (a widget in Jupyter, text on a terminal)
for channel in ("dapi", "gfp"):
    (tmp / "run" / channel).mkdir(parents=True)
    for t in range(4):
        (tmp / "run" / channel / f"t{t}.raw").write_bytes(os.urandom(512 * 1024))
bar = jetraw.ProgressBar("Uploading", mode="text", file=sys.stdout)
result = client.upload(tmp / "run", f"/{platform.space}/run/", progress=bar)
print(f"uploaded {len(result.uploaded)} files")

# %% Download it back, with its own bar
back = tmp / "back"
client.download(f"/{platform.space}/run", back, progress=jetraw.ProgressBar("Downloading"))
assert sorted(p.name for p in back.rglob("*.raw")) == sorted(
    p.name for p in (tmp / "run").rglob("*.raw")
)
print("downloaded and compared")

# %% Clean up
client.close()
platform.stop()
