"""Backfills walk sitemaps for a date window, resume without duplicates, and report progress."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from archiver import open_store
from crawler.backfill import DateWindow, Progress, listing_day
from crawler.demosite.server import DemoSite, load_manifest
from crawler.errors import CrawlerError
from crawler.urls import normalize_url

REPO = Path(__file__).resolve().parent.parent
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-02T10:05:00Z", date(2026, 11, 2)),
        ("2026-11-02", date(2026, 11, 2)),
        ("Mon, 02 Nov 2026 10:05:00 GMT", date(2026, 11, 2)),
        ("2026-11-02T10:05:00.123+01:00", date(2026, 11, 2)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_listing_days(text: str | None, day: date | None) -> None:
    assert listing_day(text) == day


def test_date_window() -> None:
    window = DateWindow.parse("2026-11-01", "2026-11-20")
    assert window.admits("2026-11-01T00:00:00Z")
    assert window.admits("2026-11-20T23:59:00Z")
    assert not window.admits("2026-10-31T23:59:00Z")
    assert not window.admits("2026-11-21")
    assert window.admits(None)  # undated entries cannot be ruled out
    assert window.may_hold("2026-11-26")
    assert not window.may_hold("2026-10-29T11:20:00Z")
    assert DateWindow.parse("2026-11-01").admits("2030-01-01")
    with pytest.raises(CrawlerError, match="since='11/01/2026'"):
        DateWindow.parse("11/01/2026")
    with pytest.raises(CrawlerError, match="before since"):
        DateWindow.parse("2026-11-20", "2026-11-01")


def test_progress_estimates_time_left() -> None:
    progress = Progress(interval=3600)
    assert progress.eta_seconds() is None
    progress.found(10)
    progress.finished(5)
    eta = progress.eta_seconds()
    assert eta is not None
    assert eta >= 0
    assert (progress.done, progress.known) == (5, 10)


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


def _scrapy(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "news", *args, *FAST],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _in_window(site: DemoSite, window: DateWindow) -> list[str]:
    pages = load_manifest()["outlets"]["meridian-wire"]["pages"]
    base = site.outlets["meridian-wire"]
    return [
        normalize_url(base + page["canonical_path"])
        for page in pages
        if page["is_article"]
        and "sitemap" in page["discovered_via"]
        and window.admits(page["date_published"])
    ]


def test_backfill_interrupted_then_resumed_archives_the_window_once(
    site: DemoSite, tmp_path: Path
) -> None:
    site.set_edition(1)
    site.clear_request_log()
    sources = site.write_sources(tmp_path / "sources.toml")
    archive = tmp_path / "archive"
    summary_path = tmp_path / "summary.json"
    window = DateWindow.parse("2026-11-01", "2026-11-20")
    wanted = _in_window(site, window)
    assert 3 <= len(wanted) < 12
    args = [
        "-a", f"sources_file={sources}",
        "-a", "source=meridian-wire",
        "-a", "since=2026-11-01",
        "-a", "until=2026-11-20",
        "-s", f"ARCHIVE_URI={archive}",
        "-s", f"ARCHIVE_SUMMARY_FILE={summary_path}",
    ]  # fmt: skip

    # Interrupted: the run stops after two articles. Scrapy finishes the pages already fetched;
    # fetching one a second keeps those few while the extraction workers start.
    slow = tmp_path / "slow-sources.toml"
    slow.write_text(
        sources.read_text(encoding="utf-8").replace("download_delay = 0.0", "download_delay = 1.0"),
        encoding="utf-8",
    )
    slow_args = [arg.replace(str(sources), str(slow)) for arg in args]
    first = _scrapy(*slow_args, "-s", "CLOSESPIDER_ITEMCOUNT=2", "-s", "CONCURRENT_REQUESTS=1")
    assert first.returncode == 0, first.stderr
    interrupted: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    assert interrupted["finish_reason"] == "closespider_itemcount"
    done_first = interrupted["totals"]["archived"]
    assert 2 <= done_first < len(wanted)

    # Resumed: the rest is archived, nothing twice, what was done is not fetched again.
    second = _scrapy(*args)
    assert second.returncode == 0, second.stderr
    resumed: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    assert resumed["finish_reason"] == "finished"
    assert resumed["totals"]["archived"] == len(wanted) - done_first
    assert resumed["totals"]["skipped_by"]["already_archived"] == done_first
    assert "backfill: " in second.stderr
    assert f"of {len(wanted)} pages done" in second.stderr

    store = open_store(str(archive))
    for identity in wanted:
        assert len(store.history(identity)) == 1, identity
    archived = sorted(p.parent.name for p in archive.glob("articles/*/*/v000001.json"))
    assert len(archived) == len(wanted)
    # The October sitemap was last modified before the window: it was never fetched.
    assert not any("news-2026-10" in r.path for r in site.request_log)


def test_progress_counts_an_article_listed_twice_once(site: DemoSite, tmp_path: Path) -> None:
    sources = site.write_sources(tmp_path / "sources.toml")
    summary_path = tmp_path / "summary.json"
    done = _scrapy(
        "-a", f"sources_file={sources}",
        "-a", "source=meridian-wire",
        "-s", f"ARCHIVE_URI={tmp_path / 'archive'}",
        "-s", f"ARCHIVE_SUMMARY_FILE={summary_path}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["finish_reason"] == "finished"
    last = [line for line in done.stderr.splitlines() if "pages done" in line][-1]
    match = re.search(r"(\d+) of (\d+) pages done", last)
    assert match is not None, last
    # Its listings name some articles more than once (the duplicate filter drops the later
    # requests): each is one page to do.
    assert match.group(1) == match.group(2), last


def test_until_without_since_is_refused(site: DemoSite, tmp_path: Path) -> None:
    sources = site.write_sources(tmp_path / "sources.toml")
    run = _scrapy("-a", f"sources_file={sources}", "-a", "until=2026-11-20")
    assert run.returncode != 0
    assert "until= needs since=" in run.stderr
