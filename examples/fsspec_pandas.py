"""Tables and arrays over ``jetraw://`` URLs: pandas and fsspec, no download step.

Needs the ``fsspec`` extra and pandas (``pip install 'jetraw[server,fsspec]' pandas``).
Self-contained: starts the reference platform on 127.0.0.1 (``jetraw.testing.LocalPlatform``).
Open it as a notebook (``# %%`` cells) in VS Code or Jupytext, or run it:

    uv run --frozen --extra dev python examples/fsspec_pandas.py
"""

# %% Start a local platform; fsspec takes the server and the key as storage_options
import fsspec
import pandas as pd

from jetraw.testing import LocalPlatform

platform = LocalPlatform()
platform.start()
opts = {"server": platform.url, "api_key": platform.api_key}
base = f"jetraw://{platform.space}/tables"

# %% Write a table with pandas, read it back
cells = pd.DataFrame({"cell": range(5), "area_um2": [12.5, 13.0, 9.75, 20.25, 15.5]})
cells.to_csv(f"{base}/cells.csv", index=False, storage_options=opts)
back = pd.read_csv(f"{base}/cells.csv", storage_options=opts)
assert back.equals(cells)
print(back.describe().loc[["mean", "max"]])

# %% The filesystem itself: list with sizes and CRC-32C, ranged reads
fs = fsspec.filesystem("jetraw", **opts)
for entry in fs.ls(f"{platform.space}/tables", detail=True):
    print(entry["name"], entry["size"], entry.get("crc32c"))
print(fs.cat_file(f"{platform.space}/tables/cells.csv", start=0, end=13))

# %% Clean up
platform.stop()
print("fsspec example done")
