"""Run manifests are immutable records under runs/, listed oldest first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from archiver import ConflictError
from archiver.runs import iter_run_manifests, new_run_id, run_key, run_manifest, write_run_manifest
from archiver.uri import open_storage


def _manifest(run_id: str, started: datetime) -> dict[str, object]:
    return run_manifest(
        run_id=run_id,
        started_at=started,
        finished_at=started,
        finish_reason="finished",
        spider="news",
        sources=["wire", "herald"],
        config_sha256="0" * 64,
        software={"newsarchive": "0.1.0"},
        counts={"new": 2},
        by_source={},
    )


def test_run_ids_sort_by_start_and_name_their_day() -> None:
    early = new_run_id(datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    late = new_run_id(datetime(2026, 11, 28, 17, 30, tzinfo=UTC))
    assert early < late
    assert run_key(early).startswith("runs/2026/11/28/20261128T040000Z-")
    with pytest.raises(ValueError, match="not a run id"):
        run_key("../../etc/passwd")


def test_manifests_are_written_once_and_listed_in_order(archive_uri: str) -> None:
    storage = open_storage(archive_uri)
    days = [datetime(2026, 11, 27, 23, 59, tzinfo=UTC), datetime(2026, 11, 28, 0, 1, tzinfo=UTC)]
    ids = [new_run_id(day) for day in days]
    for run_id, day in zip(ids, days, strict=True):
        write_run_manifest(storage, _manifest(run_id, day))
    with pytest.raises(ConflictError):
        write_run_manifest(storage, _manifest(ids[0], days[0]))
    assert [m["run_id"] for m in iter_run_manifests(storage)] == ids
    assert [m["run_id"] for m in iter_run_manifests(storage, days[1])] == ids[1:]
    assert next(iter_run_manifests(storage))["sources"] == ["herald", "wire"]
    storage.close()
