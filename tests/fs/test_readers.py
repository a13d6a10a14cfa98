"""The readers scientists open remote data with, round-tripping real files at ``jetraw://``:
tifffile, zarr (v3), xarray, dask.array, pandas CSV and Parquet — on a local and an S3 space."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest

from jetraw.testing import LocalPlatform

needs_zarr3 = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="zarr 3 (the Zarr v3 format) needs Python >= 3.11"
)


@pytest.fixture
def options(jetraw_platform: LocalPlatform) -> dict[str, Any]:
    """The ``storage_options`` a user passes to each reader."""
    return {"server": jetraw_platform.url, "api_key": jetraw_platform.api_key}


@pytest.fixture
def url(jroot: str) -> str:
    return f"jetraw://{jroot}"


def test_tifffile_reads_a_multipage_ome_tiff(
    url: str, options: dict[str, Any], jfs: Any, tmp_path: Path
) -> None:
    import tifffile

    stack = np.random.default_rng(7).integers(0, 4096, size=(12, 256, 192), dtype=np.uint16)
    local = tmp_path / "stack.ome.tif"
    tifffile.imwrite(local, stack, ome=True, metadata={"axes": "ZYX"}, photometric="minisblack")
    jfs.put_file(str(local), f"{url}/stack.ome.tif")

    with fsspec.open(f"{url}/stack.ome.tif", "rb", **options) as f, tifffile.TiffFile(f) as tif:
        assert tif.is_ome
        assert len(tif.pages) == 12
        assert tif.series[0].axes == "ZYX"
        np.testing.assert_array_equal(tif.pages[5].asarray(), stack[5])  # one page: ranged reads
        np.testing.assert_array_equal(tif.asarray(), stack)


def test_tifffile_writes_through_a_buffer(url: str, options: dict[str, Any], jfs: Any) -> None:
    """tifffile seeks back to patch offsets while writing, which a streamed upload cannot do:
    the attempt fails cleanly (nothing appears), and writing to memory then ``pipe`` works."""
    import tifffile

    frames = np.arange(3 * 64 * 64, dtype=np.uint8).reshape(3, 64, 64)
    with (
        pytest.raises(OSError, match=r"[Ss]eek"),
        fsspec.open(f"{url}/streamed.tif", "wb", **options) as f,
    ):
        tifffile.imwrite(f, frames, photometric="minisblack")
    assert not jfs.exists(f"{url}/streamed.tif")

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, frames, photometric="minisblack")
    jfs.pipe_file(f"{url}/written.tif", buffer.getvalue())
    with fsspec.open(f"{url}/written.tif", "rb", **options) as f:
        np.testing.assert_array_equal(tifffile.imread(f), frames)


@needs_zarr3
def test_zarr_array_and_group(url: str, options: dict[str, Any], jfs: Any) -> None:
    import zarr

    data = np.arange(200 * 150, dtype="f4").reshape(200, 150)
    array = zarr.create_array(
        store=f"{url}/a.zarr",
        storage_options=options,
        shape=data.shape,
        chunks=(64, 64),
        dtype="f4",
    )
    array[:] = data
    again = zarr.open_array(f"{url}/a.zarr", storage_options=options, mode="r")
    assert again.metadata.zarr_format == 3
    np.testing.assert_array_equal(again[:], data)
    np.testing.assert_array_equal(again[10:70, 100:], data[10:70, 100:])
    assert jfs.exists(f"{url}/a.zarr/zarr.json")

    group = zarr.open_group(f"{url}/g.zarr", storage_options=options, mode="w")
    group.attrs["instrument"] = "confocal"
    group.create_array("raw", shape=(4, 8), dtype="u2")[:] = np.ones((4, 8), dtype="u2")
    opened = zarr.open_group(f"{url}/g.zarr", storage_options=options, mode="r")
    assert opened.attrs["instrument"] == "confocal"
    assert list(opened.array_keys()) == ["raw"]
    assert int(opened["raw"][:].sum()) == 32


@needs_zarr3
def test_xarray_to_zarr_and_open_zarr(url: str, options: dict[str, Any]) -> None:
    import xarray as xr

    rng = np.random.default_rng(3)
    ds = xr.Dataset(
        {"intensity": (("t", "y", "x"), rng.random((4, 16, 16)))},
        coords={"t": np.arange(4), "y": np.arange(16), "x": np.arange(16)},
        attrs={"sample": "A7"},
    )
    ds.to_zarr(f"{url}/ds.zarr", storage_options=options, mode="w", consolidated=False)
    opened = xr.open_zarr(f"{url}/ds.zarr", storage_options=options, consolidated=False)
    xr.testing.assert_identical(opened.load(), ds)


@needs_zarr3
def test_dask_array_from_zarr(url: str, options: dict[str, Any]) -> None:
    import dask
    import dask.array as da

    data = np.arange(120 * 80, dtype="i8").reshape(120, 80)
    da.from_array(data, chunks=(40, 40)).to_zarr(f"{url}/d.zarr", storage_options=options)
    lazy = da.from_zarr(f"{url}/d.zarr", storage_options=options)
    assert lazy.chunks == ((40, 40, 40), (40, 40))
    with dask.config.set(scheduler="threads"):
        assert int(lazy.sum().compute()) == int(data.sum())
        np.testing.assert_array_equal(lazy[50:90].compute(), data[50:90])


def test_pandas_csv_and_parquet(url: str, options: dict[str, Any]) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "frame": range(1000),
            "channel": ["dapi", "gfp", "rfp", "cy5"] * 250,
            "mean": np.linspace(0.0, 1.0, 1000),
        }
    )
    frame.to_csv(f"{url}/stats.csv", index=False, storage_options=options)
    pd.testing.assert_frame_equal(pd.read_csv(f"{url}/stats.csv", storage_options=options), frame)

    frame.to_parquet(f"{url}/stats.parquet", engine="pyarrow", storage_options=options)
    back = pd.read_parquet(f"{url}/stats.parquet", engine="pyarrow", storage_options=options)
    pd.testing.assert_frame_equal(back, frame)
    subset = pd.read_parquet(
        f"{url}/stats.parquet", engine="pyarrow", columns=["mean"], storage_options=options
    )
    assert list(subset.columns) == ["mean"]
