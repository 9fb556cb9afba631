"""The local hints cache: what it keeps, what wins, and that it only ever saves requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver import FetchHints, open_store
from archiver.hints_cache import HintsCache, HintsCacheError, hints_after
from tests.archiver.support import CaptureFactory

URL = "https://news.example/world/ceasefire-talks"


def hints(version: int, etag: str | None = '"a"') -> FetchHints:
    return FetchHints(
        URL, version, f"articles/ab/abc/v{version:06d}.json", "c" * 64, "h" * 64, etag, None
    )


def test_hints_read_back_per_archive(tmp_path: Path) -> None:
    path = tmp_path / "hints.sqlite"
    one = HintsCache(path, "s3://one/news")
    two = HintsCache(path, "s3://two/news")
    one.put(URL, hints(1))
    assert one.get(URL) == hints(1)
    assert two.get(URL) is None
    assert len(one) == 1
    assert len(two) == 0
    one.close()
    two.close()
    # Another process (another crawler) reads what this one wrote.
    again = HintsCache(path, "s3://one/news")
    assert again.get(URL) == hints(1)
    again.close()


def test_a_newer_version_wins_and_an_older_never_replaces_it(tmp_path: Path) -> None:
    cache = HintsCache(tmp_path / "hints.sqlite", "archive")
    cache.put(URL, hints(2, '"two"'))
    cache.put(URL, hints(1, '"one"'))
    assert cache.get(URL) == hints(2, '"two"')
    cache.put(URL, hints(2, '"fresh"'))
    assert cache.get(URL) == hints(2, '"fresh"')
    cache.forget(URL)
    assert cache.get(URL) is None


def test_hints_after_archiving_match_what_the_archive_says(
    tmp_path: Path, make_capture: CaptureFactory
) -> None:
    store = open_store(str(tmp_path / "archive"))
    headers = {"Content-Type": "text/html", "ETag": '"v1"', "Last-Modified": "Fri, 27 Nov 2026"}
    first = make_capture(headers=headers)
    result = store.archive(first)
    assert hints_after(first, result) == store.fetch_hints(first.identity_url)
    # A later fetch with the same content but new validators: an observation, fresh hints.
    later = make_capture(headers={**headers, "ETag": '"v1b"'}, captured_at="2026-11-28T05:00:00Z")
    seen = store.archive(later)
    assert seen.outcome == "unchanged"
    assert hints_after(later, seen) == store.fetch_hints(later.identity_url)


def test_an_unusable_cache_file_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    with pytest.raises(HintsCacheError, match="cannot open the hints cache"):
        HintsCache(folder, "archive")


def test_one_put_keeps_the_hints_under_several_urls(tmp_path: Path) -> None:
    cache = HintsCache(tmp_path / "hints.sqlite", "archive")
    other = "https://news.example/world/ceasefire-talks-live"
    cache.put([URL, other], hints(2))
    assert cache.get(URL) == hints(2)
    assert cache.get(other) == hints(2)
    # An older version never replaces a newer one, whichever URL it comes under.
    cache.put([other], hints(1))
    assert cache.get(other) == hints(2)
    assert len(cache) == 2
    cache.close()
