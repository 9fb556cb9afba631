"""The archive's identity, and the hints cache tied to it: dropped when the archive changes,
complete when it has known the archive since it was empty."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from archiver import FetchHints, StorageError, open_store
from archiver.hints_cache import HintsCache
from archiver.identity import IDENTITY_KEY, ArchiveIdentity, archive_identity
from archiver.uri import open_storage

from .support import CaptureFactory, sample_article

URL = "https://news.example/world/ceasefire-talks"
OTHER = "https://news.example/world/harvest-report"


def _hints(version: int) -> FetchHints:
    key = f"articles/ab/abc/v{version:06d}.json"
    return FetchHints(URL, version, key, "c" * 64, None, '"e"', None)


def archive_identity_of(uri: str) -> ArchiveIdentity:
    storage = open_storage(uri)
    try:
        return archive_identity(storage)
    finally:
        storage.close()


def test_the_identity_is_written_once_and_read_back(archive_uri: str) -> None:
    first = archive_identity_of(archive_uri)
    again = archive_identity_of(archive_uri)
    assert first.created_now
    assert first.empty_at_creation
    assert len(first.archive_id) == 32
    assert not again.created_now
    assert (again.archive_id, again.empty_at_creation) == (first.archive_id, True)


def test_an_archive_with_articles_is_not_empty_at_creation(
    archive_uri: str, make_capture: CaptureFactory
) -> None:
    with open_store(archive_uri) as store:
        store.archive(make_capture())
        identity = archive_identity(store.storage)
    assert identity.created_now
    assert not identity.empty_at_creation


def test_a_damaged_identity_is_a_clear_error(archive_uri: str) -> None:
    storage = open_storage(archive_uri)
    try:
        storage.put(IDENTITY_KEY, b'{"schema": "something/else"}', content_type="application/json")
        with pytest.raises(StorageError, match=r"archive\.json is not a valid"):
            archive_identity(storage)
    finally:
        storage.close()


def test_the_cache_forgets_another_archive_behind_the_same_uri(
    tmp_path: Path, archive_uri: str
) -> None:
    path = tmp_path / "hints.sqlite"
    cache = HintsCache(path, "s3://news/main", archive_identity_of(archive_uri))
    assert cache.complete
    cache.put(URL, _hints(3))
    cache.close()

    # The same archive: everything is kept, completeness too.
    same = HintsCache(path, "s3://news/main", archive_identity_of(archive_uri))
    assert same.get(URL) == _hints(3)
    assert same.complete
    same.close()

    # The bucket was emptied and a new archive started under the same URI.
    other_root = tmp_path / "other"
    fresh = archive_identity_of(str(other_root))
    renewed = HintsCache(path, "s3://news/main", fresh)
    assert renewed.get(URL) is None
    assert renewed.complete
    renewed.close()


def test_a_complete_cache_knows_new_articles_until_it_forgets_one(tmp_path: Path) -> None:
    identity = archive_identity_of(str(tmp_path / "archive"))
    cache = HintsCache(tmp_path / "hints.sqlite", "archive", identity)
    assert cache.knows_absent(OTHER)
    cache.put(URL, _hints(1))
    assert not cache.knows_absent(URL)
    # A revisit sighting drops the entry: the next fetch must ask the archive again.
    cache.forget(URL)
    assert cache.get(URL) is None
    assert not cache.knows_absent(URL)
    cache.put(URL, _hints(2))
    cache.forget(URL)
    cache.put(URL, _hints(2))
    assert cache.get(URL) == _hints(2)
    cache.close()


def test_a_cache_that_did_not_see_the_archive_start_is_not_complete(
    tmp_path: Path, make_capture: CaptureFactory
) -> None:
    root = str(tmp_path / "archive")
    with open_store(root) as store:
        store.archive(make_capture())
    first = archive_identity_of(root)
    assert first.created_now
    assert not first.empty_at_creation
    early = HintsCache(tmp_path / "early.sqlite", "archive", first)
    assert not early.complete
    early.close()
    # The identity exists already: a new cache (a new container) cannot know every article.
    late = HintsCache(tmp_path / "late.sqlite", "archive", archive_identity_of(root))
    assert not late.complete
    assert not late.knows_absent(OTHER)
    late.close()
    # Nor is one without an identity (the archive could not be read).
    plain = HintsCache(tmp_path / "plain.sqlite", "archive")
    assert not plain.complete
    plain.close()


def test_assuming_absent_wrongly_adds_no_version(
    archive_uri: str, make_capture: CaptureFactory
) -> None:
    with open_store(archive_uri) as store:
        first = make_capture(html=b"<html>one</html>")
        store.archive(first)
    # Another crawler's store (its own caches) believes the article is new.
    with open_store(archive_uri) as other:
        other.assume_absent(first.identity_url)
        same = make_capture(html=b"<html>one, again</html>", captured_at="2026-11-28T06:00:00Z")
        assert other.archive(same).outcome == "unchanged"
        other.assume_absent(first.identity_url)
        changed = make_capture(
            html=b"<html>two</html>",
            article=sample_article(body="Delegations met again on Saturday."),
            captured_at="2026-11-28T07:00:00Z",
        )
        result = other.archive(changed)
        assert (result.outcome, result.version) == ("changed", 2)
        assert [v["version"] for v in other.history(first.identity_url)] == [1, 2]


def test_crawlers_opening_the_cache_together_wait_in_turn(tmp_path: Path) -> None:
    # The scheduler starts one crawler per source at once, all on one state folder.
    archive = str(tmp_path / "archive")
    archive_identity_of(archive)
    script = (
        "import sys, time\n"
        "from archiver.hints_cache import HintsCache\n"
        "from archiver.identity import archive_identity\n"
        "from archiver.uri import open_storage\n"
        "identity = archive_identity(open_storage(sys.argv[3]))\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "HintsCache(sys.argv[1], 'archive', identity).close()\n"
    )
    for round_ in range(3):
        path = tmp_path / f"hints-{round_}.sqlite"
        start = str(time.time() + 2.0)
        children = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(path), start, archive],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        for child in children:
            _, stderr = child.communicate(timeout=60)
            assert child.returncode == 0, stderr
