"""Chunked arrays in a space: a Zarr v3 array and an xarray dataset over ``jetraw://``.

Needs the ``fsspec`` extra, zarr 3 (Python >= 3.11) and xarray
(``pip install 'jetraw[server,fsspec]' 'zarr>=3' xarray``).
Self-contained: starts the reference platform on 127.0.0.1 (``jetraw.testing.LocalPlatform``).
Open it as a notebook (``# %%`` cells) in VS Code or Jupytext, or run it:

    uv run --frozen --extra dev python examples/zarr_xarray.py
"""

# %% Start a local platform; zarr and xarray take the server and the key as storage_options
import fsspec
import numpy as np
import xarray as xr
import zarr

from jetraw.testing import LocalPlatform

platform = LocalPlatform()
platform.start()
opts = {"server": platform.url, "api_key": platform.api_key}
base = f"jetraw://{platform.space}/zarr"

# %% A Zarr v3 array: each chunk is one object in the space
stack = np.arange(8 * 128 * 128, dtype="u2").reshape(8, 128, 128)
array = zarr.create_array(
    store=f"{base}/stack.zarr",
    storage_options=opts,
    shape=stack.shape,
    chunks=(1, 64, 64),
    dtype=stack.dtype,
)
array[:] = stack
again = zarr.open_array(f"{base}/stack.zarr", storage_options=opts, mode="r")
assert again.metadata.zarr_format == 3
assert np.array_equal(again[3, 10:20, 100:], stack[3, 10:20, 100:])  # reads only two chunks
fs = fsspec.filesystem("jetraw", **opts)
chunks = [p for p in fs.find(f"{platform.space}/zarr/stack.zarr") if "/c/" in p]
print(f"zarr array: shape {again.shape}, {len(chunks)} chunk objects")

# %% An xarray dataset with coordinates and attributes, written with to_zarr and opened lazily
ds = xr.Dataset(
    {"intensity": (("t", "y", "x"), stack.astype("f4") / 4096)},
    coords={"t": np.arange(8) * 0.5, "y": np.arange(128), "x": np.arange(128)},
    attrs={"instrument": "confocal", "units": "a.u."},
)
ds.to_zarr(f"{base}/run.zarr", storage_options=opts, mode="w", zarr_format=3, consolidated=False)
back = xr.open_zarr(f"{base}/run.zarr", storage_options=opts, consolidated=False)
xr.testing.assert_equal(back.load(), ds)
print(f"xarray dataset: {dict(back.sizes)}, instrument={back.attrs['instrument']}")
print(f"mean at t=1.5: {float(back.intensity.sel(t=1.5).mean()):.4f}")

# %% Clean up
platform.stop()
print("zarr/xarray example done")
