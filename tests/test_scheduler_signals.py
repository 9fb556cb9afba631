"""A signal in the middle of a crawl: the entry script stops cleanly and the archive is whole."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.demosite.server import DemoSite
from crawler.scheduling.service import SchedulerService
from tests.scheduler_support import (
    FAST_SETTINGS,
    archive_problems,
    child_env,
    demo_sources,
    expected_article_count,
    make_config,
    run_records,
    stored_jobs,
    version_files,
    wait_for,
)

REPO = Path(__file__).resolve().parent.parent
# Scrapy's graceful stop completes every request already handed to the downloader: one at a
# time, so a stop in the middle leaves the rest of the crawl undone.
SLOW_SETTINGS = FAST_SETTINGS + ",CONCURRENT_REQUESTS=1"


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        running.set_edition(1)
        yield running


def start_scheduler(sources: Path, tmp: Path, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """Start ``python scheduler.py`` with its output in ``log``."""
    with log.open("w", encoding="utf-8") as out:
        return subprocess.Popen(
            [
                sys.executable,
                str(REPO / "scheduler.py"),
                "--sources",
                str(sources),
                "--archive",
                str(tmp / "archive"),
                "--state-dir",
                str(tmp / "state"),
                "--metrics-host",
                "127.0.0.1",
                "--metrics-port",
                "0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(ARCHIVE_CRAWL_SETTINGS=SLOW_SETTINGS, **env),
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_crawl_stops_cleanly(
    site: DemoSite, tmp_path: Path, sig: signal.Signals
) -> None:
    outlet = "harbour-herald"
    # One request at a time, paced: the crawl lasts several seconds.
    sources = demo_sources(site, tmp_path / "sources.toml", outlets=[outlet], delay=0.4)
    archive = tmp_path / "archive"
    state = tmp_path / "state"
    log = tmp_path / "scheduler.log"
    process = start_scheduler(sources, tmp_path, log, ARCHIVE_SHUTDOWN_GRACE="30")
    try:
        try:
            wait_for(lambda: len(version_files(archive)) >= 1, timeout=120)
        except AssertionError as err:
            runs = "\n".join(str(r) for r in run_records(state))
            raise AssertionError(f"no version archived\n{log.read_text()}\n{runs}") from err
        process.send_signal(sig)
        code = process.wait(timeout=60)
    finally:
        stop(process)
    text = log.read_text(encoding="utf-8")
    assert code == 0, text
    assert f"received {sig.name}" in text
    assert "Traceback" not in text
    # Everything archived is whole: records parse, their HTML exists, no temporary files.
    assert archive_problems(archive) == []
    archived = len(version_files(archive))
    assert 1 <= archived < expected_article_count([outlet])
    # The crawl was stopped gracefully (Scrapy's own shutdown), not killed.
    [record] = run_records(state, outlet)
    assert record["result"] == "interrupted", record
    assert record["finish_reason"] == "shutdown", record
    assert record["counts"]["archived"] == archived
    assert re.search(rf"run end: source={outlet} .*result=interrupted", text)
    assert "scheduler stopped" in text


def test_a_run_past_its_timeout_is_stopped(site: DemoSite, tmp_path: Path) -> None:
    outlet = "harbour-herald"
    # A second between requests, one at a time: the crawl cannot end within its time bound.
    sources = demo_sources(site, tmp_path / "sources.toml", outlets=[outlet], delay=1.0)
    config = make_config(tmp_path, sources, settings=SLOW_SETTINGS, run_timeout=4.0)
    run = SchedulerService(config).run_once()[outlet]
    assert run is not None
    assert run.result == "timeout"
    assert run.reason == "stopped after the run timeout"
    assert archive_problems(tmp_path / "archive") == []
    assert len(version_files(tmp_path / "archive")) < expected_article_count([outlet])
    [record] = run_records(config.state_dir, outlet)
    assert record["result"] == "timeout"


def test_sighup_reloads_the_sources_file(site: DemoSite, tmp_path: Path) -> None:
    # Cron times far away: nothing runs, only the schedule changes.
    never = "0 0 1 1 *"
    sources = demo_sources(
        site, tmp_path / "sources.toml", outlets=["meridian-wire"], schedule=never
    )
    log = tmp_path / "scheduler.log"
    process = start_scheduler(sources, tmp_path, log)
    try:
        wait_for(lambda: "scheduler started" in log.read_text(), what="the start")
        outlets = ["meridian-wire", "le-quotidien"]
        demo_sources(site, sources, outlets=outlets, schedule=never)
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "sources reloaded: 1 new, 1 kept" in log.read_text(), what="a reload")
        sources.write_text("[sources.broken\n", encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "not reloading the sources" in log.read_text(), what="a refused reload")
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    finally:
        stop(process)
    assert code == 0, log.read_text()
    assert set(stored_jobs(tmp_path / "state")) == {
        "source:meridian-wire",
        "source:le-quotidien",
        "revisits",
    }
    assert run_records(tmp_path / "state") == []
