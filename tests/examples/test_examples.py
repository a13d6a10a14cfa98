"""The README's main job (examples/quickstart.py) keeps working: run it as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

needs_zarr3 = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="zarr 3 (the Zarr v3 format) needs Python >= 3.11"
)


@pytest.mark.timeout(300)
def test_quickstart_runs_end_to_end() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JETRAW_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=280,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Downloaded and verified 25 files byte for byte. Done." in proc.stdout
    assert proc.stderr == ""


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("progress.py", ["8/8 files", "uploaded 8 files", "downloaded and compared"]),
        (
            "async_upload.py",
            [
                "uploaded 3 files concurrently",
                "listed ['plate-0.raw', 'plate-1.raw', 'plate-2.raw']",
                "read back: written with async with p.open('wb')",
            ],
        ),
        ("paths.py", ["stack.raw: 262144 bytes", "left: []", "paths example done"]),
        (
            "rerun.py",
            [
                "second run refused: 5 files exist already",
                "with skip_existing: 1 uploaded, 5 skipped",
                "download again: 0 downloaded, 6 skipped",
                "refused: 1 local file differs",
                "rerun example done",
            ],
        ),
        ("fsspec_pandas.py", ["b'cell,area_um2'", "fsspec example done"]),
        pytest.param(
            "zarr_xarray.py",
            [
                "zarr array: shape (8, 128, 128), 32 chunk objects",
                "xarray dataset: {'t': 8, 'y': 128, 'x': 128}, instrument=confocal",
                "zarr/xarray example done",
            ],
            marks=needs_zarr3,
        ),
        pytest.param(
            "dask_arrays.py",
            [
                "stored (16, 256, 256) in 16 chunks",
                "workers uploaded 12 files",
                "tiles listed: 12",
                "dask example done",
            ],
            marks=needs_zarr3,
        ),
        (
            "login_profiles.py",
            [
                "profile lab: admin@localhost via profile:lab, in process memory",
                "profile robot: admin@localhost via profile:robot",
                "'[profiles.lab]', '[profiles.robot]'",
                "memory, next process: Error: Profile 'lab' has no stored login",
                "next process: logged in as admin@localhost",
                "after logout: Error: No profile 'lab'",
                "login profiles example done",
            ],
        ),
    ],
)
def test_task_example_runs(script: str, expected: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JETRAW_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / script)],
        capture_output=True,
        text=True,
        timeout=160,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in expected:
        assert line in proc.stdout, proc.stdout
    assert proc.stderr == ""
