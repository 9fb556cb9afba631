"""The revisit queue: a SQLite file two connections (or processes) share safely."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.revisit_policy import Sighting, Transition, parse_steps
from crawler.revisits import FILE_NAME, RevisitQueue, RevisitQueueError

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
STEPS = parse_steps("1h,6h,24h")


def url(n: int) -> str:
    return f"https://news.example/world/2026/11/28/story-{n:04d}"


def test_the_queue_lives_in_the_state_folder_in_wal_mode(tmp_path: Path) -> None:
    with RevisitQueue.in_state_dir(tmp_path / "state") as queue:
        assert queue.enqueue(url(1), "news-example", url(1) + "?x=1", T0, STEPS)
    path = tmp_path / "state" / FILE_NAME
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM revisits").fetchone()[0] == 1
    with RevisitQueue(path) as queue:
        entry = queue.get(url(1))
    assert entry is not None
    assert (entry.source, entry.url, entry.first_seen, entry.steps) == (
        "news-example",
        url(1) + "?x=1",
        T0,
        STEPS,
    )
    assert (entry.step, entry.next_due, entry.state, entry.pending) == (
        0,
        T0 + HOUR,
        "present",
        None,
    )


def test_an_article_is_queued_once_and_never_without_steps(tmp_path: Path) -> None:
    with RevisitQueue.in_state_dir(tmp_path) as queue:
        assert queue.enqueue(url(1), "a", url(1), T0, STEPS)
        assert not queue.enqueue(url(1), "b", url(1), T0 + HOUR, parse_steps("1d"))
        assert not queue.enqueue(url(2), "a", url(2), T0, ())
        assert [e.identity_url for e in queue.entries()] == [url(1)]
        entry = queue.get(url(1))
        assert entry is not None
        assert (entry.source, entry.first_seen) == ("a", T0)
        assert queue.get(url(2)) is None


def test_claiming_takes_what_is_due_and_holds_it_for_the_lease(tmp_path: Path) -> None:
    with RevisitQueue.in_state_dir(tmp_path) as queue:
        queue.enqueue(url(1), "a", url(1), T0, STEPS)
        queue.enqueue(url(2), "b", url(2), T0 + HOUR, STEPS)
        queue.enqueue(url(3), "a", url(3), T0 + 5 * HOUR, STEPS)
        now = T0 + 2 * HOUR
        assert [e.identity_url for e in queue.claim_due(now, sources=["a"])] == [url(1)]
        assert queue.claim_due(now, sources=[]) == []
        claimed = queue.claim_due(now, lease=HOUR)
        assert [e.identity_url for e in claimed] == [url(1), url(2)]
        assert claimed[0].next_due == T0 + HOUR  # as it was when claimed
        assert queue.claim_due(now) == []
        # When the lease runs out without a recorded revisit, the articles are due again.
        assert len(queue.claim_due(now + HOUR)) == 2


def test_recording_advances_the_entry_and_rolls_back_when_the_archive_fails(
    tmp_path: Path,
) -> None:
    with RevisitQueue.in_state_dir(tmp_path) as queue:
        queue.enqueue(url(1), "a", url(1), T0, STEPS)
        gone = Sighting(url(1), "a", "removed", T0 + HOUR, 410, url(1), "http_410")

        def fail(transition: Transition) -> None:
            raise OSError("archive unreachable")

        with pytest.raises(OSError, match="archive unreachable"):
            queue.record(gone, HOUR, fail)
        assert queue.get(url(1)) == queue.entries()[0]
        entry = queue.get(url(1))
        assert entry is not None
        assert (entry.pending, entry.last_revisit) == (None, None)

        written: list[Transition] = []
        result = queue.record(gone, HOUR, written.append)
        assert result is not None
        assert written == [result]
        entry = queue.get(url(1))
        assert entry == result.entry
        assert entry is not None
        assert (entry.pending, entry.pending_count, entry.next_due) == ("removed", 1, T0 + 2 * HOUR)
        assert entry.evidence[0].status == 410
        assert entry.last_outcome == "removed:http_410"
        unknown = Sighting(url(9), "a", "present", T0, 200, url(9), "unchanged")
        assert queue.record(unknown, HOUR) is None


def test_two_connections_share_the_queue(tmp_path: Path) -> None:
    """Two queue objects (as two processes would) enqueue and claim at once without losses."""
    first = RevisitQueue.in_state_dir(tmp_path)
    second = RevisitQueue.in_state_dir(tmp_path)
    errors: list[BaseException] = []

    def fill(queue: RevisitQueue, start: int) -> None:
        try:
            for n in range(start, start + 150):
                queue.enqueue(url(n), "a", url(n), T0, STEPS)
                # Both connections also try to add the other's articles.
                queue.enqueue(url(300 - n - 1), "a", url(300 - n - 1), T0, STEPS)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [
        threading.Thread(target=fill, args=(first, 0)),
        threading.Thread(target=fill, args=(second, 150)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(first.entries()) == len(second.entries()) == 300

    claims: dict[str, list[str]] = {"first": [], "second": []}

    def claim(name: str, queue: RevisitQueue) -> None:
        for _ in range(20):
            claims[name] += [e.identity_url for e in queue.claim_due(T0 + 2 * HOUR, lease=HOUR)]

    threads = [
        threading.Thread(target=claim, args=("first", first)),
        threading.Thread(target=claim, args=("second", second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    together = claims["first"] + claims["second"]
    assert sorted(together) == sorted(url(n) for n in range(300))  # each claimed exactly once
    first.close()
    second.close()


def test_a_queue_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    RevisitQueue(path).close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 99")
        conn.commit()
    with pytest.raises(RevisitQueueError, match=f"{path}.*newer"):
        RevisitQueue(path)


def test_an_unusable_path_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).mkdir()
    with pytest.raises(RevisitQueueError, match="cannot open the revisit queue"):
        RevisitQueue.in_state_dir(tmp_path)
