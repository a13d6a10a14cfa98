"""A ``distributed.LocalCluster`` of two worker processes for the module, on the session platform.

The workers are separate processes started with an environment of their own: no JETRAW_* or
AWS_* variable of the developer's, a config dir of the cluster's, and the keys moto accepts, so
an S3 (moto) space works from them. Every test passes ``server=`` and ``api_key=`` explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _CLEARED, AWS_ENV


def worker_env(home: Path) -> dict[str, str]:
    return {
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "JETRAW_CONFIG_DIR": str(home / "jetraw-config"),
        "JETRAW_TOKEN_STORAGE": "memory",
        **AWS_ENV,
    }


@pytest.fixture(scope="module")
def cluster_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dask-workers")


@pytest.fixture(scope="module")
def dask_cluster(cluster_home: Path) -> Iterator[Any]:
    from distributed import LocalCluster

    env = worker_env(cluster_home)
    with pytest.MonkeyPatch.context() as mp:
        # What the spawned workers inherit, besides `env`.
        for name in list(os.environ):
            if name in _CLEARED or name.startswith("JETRAW_"):
                mp.delenv(name)
        for name, value in env.items():
            mp.setenv(name, value)
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: None still binds 8787
            worker_dashboard_address=None,
            env=env,
        )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def dask_client(dask_cluster: Any) -> Iterator[Any]:
    from distributed import Client

    client = Client(dask_cluster)
    try:
        yield client
    finally:
        client.close()
