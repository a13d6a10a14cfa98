"""JetrawPath: pathlib for a space — list, glob, stat, read, write, rename, delete.

Self-contained: starts the reference platform on 127.0.0.1 (``jetraw.testing.LocalPlatform``).
Open it as a notebook (``# %%`` cells) in VS Code or Jupytext, or run it:

    uv run --frozen --extra server python examples/paths.py
"""

# %% Start a local platform and make its client the default one
import jetraw
from jetraw import JetrawPath
from jetraw.testing import LocalPlatform

platform = LocalPlatform()
platform.start()
client = jetraw.Client(refresh_token=platform.api_key, server=platform.url)
jetraw.set_default_client(client)

# %% Write a few files: bytes, text, and a streamed write that appears whole on close
run = JetrawPath(f"/{platform.space}/paths-demo/run-1")
for t in range(3):
    (run / "frames" / f"t{t}.raw").write_bytes(bytes([t]) * 4096)
(run / "notes.txt").write_text("exposure 20 ms\n")
with (run / "stack.raw").open("wb") as f:
    for _ in range(4):
        f.write(b"\x00" * 65536)

# %% List, glob and stat, as with pathlib
print(sorted(p.name for p in run.iterdir()))
frames = sorted(run.rglob("*.raw"))
print([str(p) for p in frames])
info = (run / "stack.raw").stat()
print(f"stack.raw: {info.st_size} bytes, modified {info.modified:%Y-%m-%d %H:%M} UTC")
assert info.st_size == 4 * 65536
assert (run / "notes.txt").read_text() == "exposure 20 ms\n"

# %% Rename and delete
(run / "notes.txt").rename(run / "README.txt")
assert not (run / "notes.txt").exists()
assert (run / "README.txt").is_file()
for p in run.rglob("*"):
    if p.is_file():
        p.unlink()
print("left:", sorted(p.name for p in run.rglob("*") if p.is_file()))

# %% Clean up
client.close()
platform.stop()
print("paths example done")
