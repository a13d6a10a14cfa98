"""benchmarks.commits runs end to end on a small workload (SQLite; PostgreSQL when available)."""

from __future__ import annotations

import os

import pytest

from benchmarks.commits import _schema_url, run_case

POSTGRESQL_URL = os.environ.get("JETRAW_TEST_POSTGRESQL_URL", "")


def test_sqlite_case_commits_and_counts_every_file() -> None:
    result = run_case(None, 1, clients=2, batches=2, batch=10)
    assert result["backend"] == "sqlite"
    assert result["files"] == 40  # checked listed by the benchmark itself
    assert result["commits_per_second"] > 0
    assert result["client_cpu_us_per_file"] > 0


def test_postgresql_case_with_two_instances() -> None:
    if not POSTGRESQL_URL:
        from tests.conftest import require_system

        require_system("PostgreSQL (JETRAW_TEST_POSTGRESQL_URL)", False)
    pytest.importorskip("psycopg")
    result = run_case(_schema_url(POSTGRESQL_URL), 2, clients=2, batches=1, batch=10)
    assert (result["backend"], result["instances"], result["files"]) == ("postgresql", 2, 20)
