"""The resume journal is rewritten a bounded number of times, not once per finished part."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jetraw import _api as api_
from jetraw._storage import PartInfo
from jetraw._transfer import Uploader, UploadItem, UploadJob, UploadOptions
from jetraw._transfer._config import TransferConfig
from jetraw._transfer._journal import Journal, JournalStore, RunningJournal
from jetraw._transfer._results import FileTransfer

pytestmark = pytest.mark.anyio

PARTS = 5_000


class CountingStore(JournalStore):
    """Counts the journal writes; its throttle's clock is frozen (moved by hand)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.writes = 0
        self.clock = 100.0

    def now(self) -> float:
        return self.clock

    def save(self, key: str, journal: Journal) -> None:
        self.writes += 1
        super().save(key, journal)


def make(tmp_path: Path, on_cancel: Any = "abort") -> tuple[Uploader, CountingStore, UploadJob]:
    store = CountingStore(tmp_path / "uploads")
    uploader = Uploader(
        None,  # type: ignore[arg-type]  # neither the server nor storage is reached
        None,  # type: ignore[arg-type]
        space="s",
        config=TransferConfig(),
        journals=store,
        scope="scope",
        options=UploadOptions(on_cancel=on_cancel),
    )
    local = tmp_path / "f.bin"
    local.write_bytes(b"")
    job = UploadJob(UploadItem(local, "f.bin"), FileTransfer(local, "/s/f.bin"))
    job.multipart = True
    job.nparts = PARTS + 1
    job.upload = api_.Upload("u1", "s", "f.bin", 0, "objects/k", "pending")
    job.journal = RunningJournal(store, "k")
    job.journal.record = Journal("u1", "sid", "objects/k", 5 << 20, (PARTS + 1) * (5 << 20), 1)
    return uploader, store, job


async def finish_parts(store: CountingStore, job: UploadJob, count: int, step: float = 0.0) -> None:
    for number in range(1, count + 1):
        job.parts[number] = PartInfo(number, f"etag{number}", 5 << 20, number)
        store.clock += step
        await job.save_journal()


async def test_part_completions_cause_a_bounded_number_of_writes(tmp_path: Path) -> None:
    uploader, store, job = make(tmp_path, on_cancel="keep")
    await job.save_journal(force=True)  # as the upload starts
    await finish_parts(store, job, PARTS)
    assert store.writes <= 1 + PARTS // 64 + 2
    assert store.writes >= PARTS // 64  # still journaled as it goes
    written = json.loads((tmp_path / "uploads" / "k.json").read_text())
    assert len(written["parts"]) < PARTS  # the tail is not yet journaled...
    await uploader.cleanup([job])  # ...until the upload is kept (cancelled, resumable)
    written = json.loads((tmp_path / "uploads" / "k.json").read_text())
    assert len(written["parts"]) == PARTS
    assert written["parts"]["4321"] == ["etag4321", 5 << 20, 4321]
    assert Journal.from_json(written).parts[PARTS] == ["etag5000", 5 << 20, PARTS]


async def test_a_slow_upload_journals_every_part_that_takes_over_the_interval(
    tmp_path: Path,
) -> None:
    _, store, job = make(tmp_path)
    await finish_parts(store, job, 10, step=1.5)
    assert store.writes == 10
    await finish_parts(store, job, 100, step=0.1)  # ten parts per second: one write a second
    assert 10 + 9 <= store.writes <= 10 + 11
