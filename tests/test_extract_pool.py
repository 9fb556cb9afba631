"""Extraction in worker processes: same articles, time and memory limits, crawls that go on."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.demosite.server import DemoSite
from crawler.errors import PageTooLargeError
from crawler.extract import MAX_ELEMENTS, extract_article
from crawler.extract_pool import ExtractionError, ExtractionTimeout, ExtractorPool
from crawler.timings import ExtractionTimes
from tests.archive_support import CRAWL_SETTINGS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "extraction"
FETCHED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def fixture(name: str) -> tuple[bytes, str]:
    meta = json.loads((FIXTURES / name / "meta.json").read_text(encoding="utf-8"))
    return (FIXTURES / name / "page.html").read_bytes(), str(meta["url"])


def link_page(links: int) -> bytes:
    """A page of nothing but links: slow to extract, and never an article."""
    items = "".join(f'<a href="/l{i}">link number {i}</a><br>' for i in range(links))
    return f"<html><body><h1>Every link we have</h1>{items}</body></html>".encode()


@pytest.fixture
def pool() -> Iterator[ExtractorPool]:
    with ExtractorPool(1, timeout=30.0) as running:
        yield running


def test_a_worker_extracts_what_the_extractor_does(pool: ExtractorPool) -> None:
    for name in ("guardian_style", "cp1252_bytes"):
        body, url = fixture(name)
        extracted = pool.extract(body, url, fetched_at=FETCHED, encoding=None)
        here = extract_article(body, url, fetched_at=FETCHED)
        assert extracted.article is not None
        assert here is not None
        assert extracted.article.to_dict() == here.to_dict()
        assert extracted.seconds > 0
        assert extracted.cpu_seconds > 0
    assert pool.started == 1


def test_a_page_that_is_not_an_article_gives_none(pool: ExtractorPool) -> None:
    body, url = fixture("error_page")
    assert pool.extract(body, url, fetched_at=FETCHED, encoding=None).article is None


def test_a_slow_page_is_abandoned_and_the_next_page_extracts() -> None:
    body, url = fixture("guardian_style")
    # About 90,000 elements: seconds of work, far beyond a half-second limit.
    slow = link_page(45_000)
    with ExtractorPool(1, timeout=0.5) as pool:
        with pytest.raises(ExtractionTimeout, match=r"took longer than 0\.5 s; worker killed"):
            pool.extract(slow, "http://127.0.0.1/links", fetched_at=FETCHED, encoding=None)
        after = pool.extract(body, url, fetched_at=FETCHED, encoding=None)
        assert after.article is not None
        assert pool.started == 2


def test_a_page_that_exhausts_the_memory_limit_fails_alone() -> None:
    body, url = fixture("guardian_style")
    with ExtractorPool(1, timeout=60.0, memory_limit=200 * 1024**2) as pool:
        with pytest.raises(ExtractionError, match="MemoryError"):
            pool.extract(
                link_page(45_000), "http://127.0.0.1/links", fetched_at=FETCHED, encoding=None
            )
        assert pool.extract(body, url, fetched_at=FETCHED, encoding=None).article is not None


def test_workers_are_replaced_after_max_pages() -> None:
    body, url = fixture("guardian_style")
    with ExtractorPool(1, timeout=30.0, max_pages=2) as pool:
        for _ in range(5):
            assert pool.extract(body, url, fetched_at=FETCHED, encoding=None).article is not None
        assert pool.started == 3


def test_a_stop_signal_to_the_process_group_leaves_the_workers_to_the_crawler(
    pool: ExtractorPool,
) -> None:
    body, url = fixture("guardian_style")
    assert pool.extract(body, url, fetched_at=FETCHED, encoding=None).article is not None
    [worker] = pool._all
    # What the scheduler's SIGTERM to the crawl's process group, or Ctrl-C, does to a worker.
    for sig in (signal.SIGTERM, signal.SIGINT):
        os.kill(worker.process.pid, sig)
        assert pool.extract(body, url, fetched_at=FETCHED, encoding=None).article is not None
    assert worker.exitcode is None
    assert pool.started == 1


def _worker_pids() -> list[int]:
    """The extraction workers this process has started, from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        if parent == os.getpid() and b"crawler.extract_worker" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_a_stop_signal_while_a_worker_starts_does_not_kill_it() -> None:
    body, url = fixture("guardian_style")
    done = threading.Event()
    signalled: set[int] = set()

    def signal_every_new_worker() -> None:
        # The scheduler's SIGTERM can reach a worker still starting its interpreter.
        while not done.is_set():
            for pid in _worker_pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                    signalled.add(pid)
            time.sleep(0.0005)

    sender = threading.Thread(target=signal_every_new_worker, daemon=True)
    sender.start()
    try:
        with ExtractorPool(1, timeout=60.0) as pool:
            assert pool.extract(body, url, fetched_at=FETCHED, encoding=None).article is not None
            assert pool.started == 1
    finally:
        done.set()
        sender.join()
    assert signalled, "no worker was signalled: the test proved nothing"


def test_a_worker_that_cannot_start_leaves_its_slot_for_the_next_page() -> None:
    body, url = fixture("guardian_style")
    # Too little address space to import the extractor: every worker dies before it is ready.
    pool = ExtractorPool(1, timeout=30.0, memory_limit=32 * 1024**2)
    outcomes: list[str] = []

    def use() -> None:
        for _ in range(2):
            try:
                pool.extract(body, url, fetched_at=FETCHED, encoding=None)
            except ExtractionError as err:
                outcomes.append(str(err))
        pool.close()
        outcomes.append("closed")

    user = threading.Thread(target=use, daemon=True)
    user.start()
    user.join(timeout=120)
    assert not user.is_alive(), "the pool lost its slot: a page or its close waits forever"
    *failures, last = outcomes
    assert last == "closed"
    assert len(failures) == 2
    assert all("did not start" in failure for failure in failures)
    assert pool.started == 0


def test_too_many_elements_is_refused_before_any_extraction(pool: ExtractorPool) -> None:
    page = link_page(MAX_ELEMENTS // 2 + 1)
    with pytest.raises(PageTooLargeError, match=f"more than {MAX_ELEMENTS}"):
        extract_article(page, "http://127.0.0.1/links")
    with pytest.raises(ExtractionError, match="PageTooLargeError"):
        pool.extract(page, "http://127.0.0.1/links", fetched_at=FETCHED, encoding=None)


def test_a_closed_pool_refuses_work() -> None:
    body, url = fixture("guardian_style")
    pool = ExtractorPool(2, timeout=30.0)
    pool.close()
    with pytest.raises(ExtractionError, match="closed"):
        pool.extract(body, url, fetched_at=FETCHED, encoding=None)
    with pytest.raises(ValueError, match="at least one worker"):
        ExtractorPool(0, timeout=1.0)


def test_extraction_times_keep_a_bounded_sample() -> None:
    times = ExtractionTimes(sample_size=100, seed=7)
    for millis in range(1, 10_001):
        times.add(millis / 1000, millis / 2000)
    times.add_timeout()
    summary = times.summary()
    assert summary["pages"] == 10_000
    assert summary["timeouts"] == 1
    assert summary["max_ms"] == 10_000
    assert summary["mean_ms"] == pytest.approx(5000.5)
    assert summary["cpu_ms_per_page"] == pytest.approx(2500.25)
    # A uniform sample of 1..10,000 ms: its median is near the middle, its p90 near 9,000.
    assert 3500 < summary["p50_ms"] < 6500
    assert 7500 < summary["p90_ms"] <= 10_000
    assert ExtractionTimes().summary()["p50_ms"] is None


def crawl(site: DemoSite, tmp: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    sources = site.write_sources(tmp / "sources.toml")
    summary = tmp / "summary.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "--sources",
            str(sources),
            "--archive",
            str(tmp / "archive"),
            "--summary",
            str(summary),
            *CRAWL_SETTINGS,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
        check=False,
    )
    return result, json.loads(summary.read_text(encoding="utf-8"))


def test_a_crawl_reports_its_extraction_times(tmp_path: Path) -> None:
    with DemoSite() as site:
        result, summary = crawl(site, tmp_path)
    assert result.returncode == 0, result.stderr
    extraction = summary["extraction"]
    archived = summary["totals"]["archived"]
    assert archived > 10
    # Every archived page was extracted, plus the pages found not to be articles.
    assert extraction["pages"] >= archived
    assert extraction["timeouts"] == 0
    assert 0 < extraction["p50_ms"] <= extraction["p90_ms"] <= extraction["max_ms"]


def test_pages_out_of_time_fail_alone_and_the_crawl_goes_on(tmp_path: Path) -> None:
    with DemoSite() as site:
        result, summary = crawl(site, tmp_path, ARCHIVE_EXTRACT_TIMEOUT="0.000001")
    failed = summary["totals"]["failed_by"]
    assert failed["extract_timeout"] == summary["extraction"]["timeouts"] > 10
    assert summary["totals"]["archived"] == 0
    assert summary["finish_reason"] == "finished"
    assert "worker killed" in result.stderr
    # Nothing half-written: no version record exists.
    assert not list((tmp_path / "archive").rglob("v*.json"))
