"""A dask array stored to Zarr in a space and computed from it, plus ``jetraw.dask.upload``.

Needs the ``dask`` extra (which brings ``fsspec``), zarr 3 (Python >= 3.11)
(``pip install 'jetraw[server,dask]' 'zarr>=3'``).
Self-contained: starts the reference platform on 127.0.0.1 (``jetraw.testing.LocalPlatform``)
and a two-worker Dask cluster in this process. Open it as a notebook (``# %%`` cells) in
VS Code or Jupytext, or run it:

    uv run --frozen --extra dev python examples/dask_arrays.py
"""

# %% Start a local platform and a small Dask cluster (threads in this process)
import pathlib
import tempfile

import dask.array as da
import numpy as np
from distributed import Client as DaskClient
from distributed import LocalCluster

import jetraw
import jetraw.dask
from jetraw.testing import LocalPlatform

platform = LocalPlatform()
platform.start()
opts = {"server": platform.url, "api_key": platform.api_key}
# dashboard_address=":0": a free port for the dashboard (8787 may be taken by another cluster)
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
dask_client = DaskClient(cluster)

# %% A dask array written chunk by chunk to a Zarr array in the space, then read back lazily
frames = da.random.default_rng(42).integers(0, 4096, size=(16, 256, 256), chunks=(4, 128, 128))
frames = frames.astype("u2")
url = f"jetraw://{platform.space}/dask/frames.zarr"
frames.to_zarr(url, storage_options=opts, overwrite=True)
stored = da.from_zarr(url, storage_options=opts)
print(f"stored {stored.shape} in {stored.npartitions} chunks")
assert bool((stored == frames).all().compute())
print(f"max projection mean: {float(stored.max(axis=0).mean().compute()):.1f}")

# %% jetraw.dask.upload: a tree of files uploaded by the cluster's workers
with tempfile.TemporaryDirectory() as tmp:
    for i in range(12):
        pathlib.Path(tmp, f"tile-{i:02d}.raw").write_bytes(np.full(50_000, i, "u1").tobytes())
    result = jetraw.dask.upload(
        tmp, f"/{platform.space}/tiles/", dask_client=dask_client, files_per_task=3, **opts
    )
print(f"workers uploaded {len(result.uploaded)} files")
client = jetraw.Client(refresh_token=platform.api_key, server=platform.url)
print("tiles listed:", len(list(client.list_files(f"/{platform.space}/tiles/"))))
client.close()

# %% Clean up
dask_client.close()
cluster.close()
platform.stop()
print("dask example done")
