"""The local spool: durable captures, flushed in order, each archived once."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from archiver import SnapshotStore, open_store
from archiver.spool import Spool, SpoolError, iter_spools
from tests.archiver.support import CaptureFactory


@pytest.fixture
def store(tmp_path: Path) -> SnapshotStore:
    return open_store(str(tmp_path / "archive"))


def test_a_spooled_capture_reads_back_whole(tmp_path: Path, make_capture: CaptureFactory) -> None:
    spool = Spool(tmp_path / "spool", "s3://bucket/news")
    capture = make_capture(html=bytes(range(256)) * 4)
    path = spool.put(capture)
    assert spool.files() == [path]
    assert spool.read(path) == capture
    # Nothing half-written is left beside it, and the archive it belongs to is named.
    assert [p.name for p in spool.path.iterdir() if p.name.startswith(".")] == []
    assert list(iter_spools(tmp_path / "spool")) == [("s3://bucket/news", 1)]


def test_flush_archives_in_order_and_empties_the_spool(
    tmp_path: Path, store: SnapshotStore, make_capture: CaptureFactory
) -> None:
    spool = Spool(tmp_path / "spool", store.storage.uri)
    spool.put(make_capture(body="First words.", captured_at="2026-11-28T01:00:00Z"))
    spool.put(make_capture(body="Second words.", captured_at="2026-11-28T02:00:00Z"))
    result = spool.flush(store)
    assert [(done.result.outcome, done.result.version) for done in result.archived] == [
        ("new", 1),
        ("changed", 2),
    ]
    assert result.remaining == 0
    assert spool.files() == []


def test_a_capture_already_archived_is_not_archived_twice(
    tmp_path: Path, store: SnapshotStore, make_capture: CaptureFactory
) -> None:
    # The write reached storage but its answer did not: the crawler spooled it anyway.
    capture = make_capture()
    store.archive(capture)
    spool = Spool(tmp_path / "spool", store.storage.uri)
    spool.put(capture)
    (done,) = spool.flush(store).archived
    assert done.result.outcome == "unchanged"
    assert store.latest(capture.identity_url) is not None
    assert [v["version"] for v in store.history(capture.identity_url)] == [1]


def test_an_unreadable_spool_file_is_kept_and_reported(
    tmp_path: Path, store: SnapshotStore, make_capture: CaptureFactory
) -> None:
    spool = Spool(tmp_path / "spool", store.storage.uri)
    good = spool.put(make_capture())
    bad = good.with_name("00000000T000000.000000Z-broken.capture.json.gz")
    bad.write_bytes(gzip.compress(b"{not json"))
    with pytest.raises(SpoolError, match="not readable"):
        spool.read(bad)
    result = spool.flush(store)
    assert result.failed == [str(bad)]
    assert len(result.archived) == 1
    assert spool.files() == [bad]


def test_flush_stops_at_the_first_storage_error(
    tmp_path: Path, closed_port: int, make_capture: CaptureFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")
    down = open_store("s3://bucket/news")
    spool = Spool(tmp_path / "spool", down.storage.uri)
    spool.put(make_capture(body="One."))
    spool.put(make_capture(body="Two."))
    result = spool.flush(down)
    assert result.archived == []
    assert result.remaining == 2
    assert len(spool.files()) == 2


def test_an_unwritable_spool_is_a_clear_error(tmp_path: Path, make_capture: CaptureFactory) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SpoolError, match="cannot spool"):
        Spool(blocker, "s3://bucket/news").put(make_capture())
