"""The local hints cache: what it keeps, what wins, and that it only ever saves requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver import FetchHints, open_store
from archiver.hints_cache import HintsCache, HintsCacheError, hints_after
from archiver.identity import ArchiveIdentity
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


def _url(n: int) -> str:
    return f"https://news.example/world/story-{n}"


def test_hints_read_ahead_are_answered_from_memory_once(tmp_path: Path) -> None:
    path = tmp_path / "hints.sqlite"
    crawler = HintsCache(path, "archive")
    writer = HintsCache(path, "archive")  # another crawler process sharing the file
    writer.put(URL, hints(1, '"one"'))
    other = "https://news.example/world/harvest-report"
    assert crawler.read_ahead([URL, other, URL]) == 1
    # What was read ahead answers, not the file (where another crawler has moved on)...
    writer.put(URL, hints(2, '"two"'))
    assert crawler.get(URL) == hints(1, '"one"')
    # ... once: the next lookup reads the file again.
    assert crawler.get(URL) == hints(2, '"two"')
    # A URL without an entry was not kept: a cache that is not complete knows nothing of it.
    assert crawler.get(other) is None
    assert not crawler.knows_absent(other)
    crawler.close()
    writer.close()


def test_this_cache_s_own_writes_replace_what_it_read_ahead(tmp_path: Path) -> None:
    cache = HintsCache(tmp_path / "hints.sqlite", "archive")
    cache.put(URL, hints(1, '"one"'))
    cache.read_ahead([URL])
    cache.put(URL, hints(2, '"two"'))
    assert cache.get(URL) == hints(2, '"two"')
    cache.read_ahead([URL])
    cache.forget(URL)
    assert cache.get(URL) is None


def test_a_complete_cache_reads_ahead_which_articles_are_new(tmp_path: Path) -> None:
    new_archive = ArchiveIdentity("id-1", "2026-11-29T00:00:00Z", True, created_now=True)
    cache = HintsCache(tmp_path / "hints.sqlite", "archive", new_archive)
    assert cache.complete
    new, known, forgotten = _url(1), _url(2), _url(3)
    cache.put([known, forgotten], hints(1))
    cache.forget(forgotten)
    assert cache.read_ahead([new, known, forgotten]) == 2
    writer = HintsCache(tmp_path / "hints.sqlite", "archive")
    writer.put(new, hints(1))  # another crawler archives it meanwhile
    # Read ahead: no hints for the new article, and it is known to be new.
    assert cache.get(new) is None
    assert cache.knows_absent(new)
    # Asked again, the file answers.
    assert not cache.knows_absent(new)
    assert cache.get(known) == hints(1)
    # A forgotten article is never assumed new: the archive must be asked.
    assert cache.get(forgotten) is None
    assert not cache.knows_absent(forgotten)
    cache.close()
    writer.close()


def test_read_ahead_goes_by_batches_and_keeps_a_bounded_number(tmp_path: Path) -> None:
    cache = HintsCache(tmp_path / "hints.sqlite", "archive", ahead_kept=700)
    urls = [_url(n) for n in range(1_200)]
    for url in urls:
        cache.put(url, hints(1))
    # More URLs than one query takes (500), and than are kept (700): the oldest go.
    assert cache.read_ahead(urls) == 1_200
    writer = HintsCache(tmp_path / "hints.sqlite", "archive")
    for url in (urls[0], urls[499], urls[500], urls[-1]):
        writer.put(url, hints(2))
    assert cache.get(urls[0]) == hints(2)  # dropped: read from the file
    assert cache.get(urls[499]) == hints(2)
    assert cache.get(urls[500]) == hints(1)  # kept: read ahead
    assert cache.get(urls[-1]) == hints(1)
    cache.close()
    writer.close()


def test_a_cache_that_cannot_be_read_ahead_says_so(tmp_path: Path) -> None:
    cache = HintsCache(tmp_path / "hints.sqlite", "archive")
    cache.close()
    # The crawler logs this and looks each article up on its own: only time is lost.
    with pytest.raises(HintsCacheError, match="cannot read the hints cache"):
        cache.read_ahead([URL])
