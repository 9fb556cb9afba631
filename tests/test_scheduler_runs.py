"""The scheduler running real crawls of the demo site in child processes.

``--once`` as a cron user runs it; scheduled runs that never overlap; the bound on runs at once;
a restart that keeps the stored schedule. Intervals are seconds long; what is checked is order,
overlap and counts, never durations.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.demosite.server import DemoSite
from tests.scheduler_support import (
    FAST_SETTINGS,
    child_env,
    closed_port,
    dead_source,
    demo_sources,
    expected_article_count,
    make_config,
    run_records,
    running_service,
    stored_jobs,
    version_files,
    wait_for,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        running.set_edition(1)
        yield running


def schedule_once(tmp: Path, sources: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``newsarchive schedule --once`` from an empty working directory, ``tmp/work``."""
    work = tmp / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "schedule",
            "--once",
            "--sources",
            str(sources),
            "--archive",
            str(tmp / "archive"),
            "--state-dir",
            str(tmp / "state"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=child_env(ARCHIVE_CRAWL_SETTINGS=FAST_SETTINGS, **env),
        cwd=work,
        check=False,
    )


def test_once_archives_every_source_then_names_a_dead_one(site: DemoSite, tmp_path: Path) -> None:
    sources = demo_sources(site, tmp_path / "sources.toml")
    first = schedule_once(tmp_path, sources)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    for outlet in site.outlets:
        assert any(line.startswith(outlet) and " ok " in line for line in lines), first.stdout
    assert len(version_files(tmp_path / "archive")) == expected_article_count()
    # One run per source, then one revisit run (nothing is due yet on a first crawl).
    assert len(run_records(tmp_path / "state")) == len(site.outlets) + 1
    (revisits,) = run_records(tmp_path / "state", "revisits")
    assert revisits["result"] == "success"
    assert any(line.startswith("revisits") and " ok " in line for line in lines), first.stdout
    # The crawls kept their own state in the scheduler's state folder, not where they ran.
    assert list((tmp_path / "work").iterdir()) == []

    port = closed_port()
    demo_sources(site, sources, extra=dead_source("gone", port))
    second = schedule_once(tmp_path, sources, ARCHIVE_KEEP_RUNS="1")
    assert second.returncode == 1, second.stdout + second.stderr
    gone = [line for line in second.stdout.splitlines() if line.startswith("gone ")]
    assert len(gone) == 1, second.stdout
    assert "FAILED" in gone[0]
    assert f"http://127.0.0.1:{port}/rss.xml failed: connection_refused" in gone[0]
    for outlet in site.outlets:
        assert any(
            line.startswith(outlet) and " ok " in line for line in second.stdout.splitlines()
        )
    # Nothing changed on the site: no version was added.
    assert len(version_files(tmp_path / "archive")) == expected_article_count()
    assert "Traceback" not in second.stderr
    # Only the newest run of each source is kept: its record, summary and log.
    for outlet in site.outlets:
        [record] = run_records(tmp_path / "state", outlet)
        assert record["result"] == "success"
        assert record["counts"].get("archived", 0) == 0
        assert len(list((tmp_path / "state" / "runs" / outlet).iterdir())) == 3


def test_a_bad_sources_file_stops_the_scheduler_before_anything(tmp_path: Path) -> None:
    bad = tmp_path / "sources.toml"
    bad.write_text(
        '[sources.wire]\nfeeds = ["https://wire.example/rss"]\n'
        'allowed_domains = ["wire.example"]\nschedule = "hourly"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scheduler.py"),
            "--sources",
            str(bad),
            "--archive",
            str(tmp_path / "archive"),
            "--state-dir",
            str(tmp_path / "state"),
            "--metrics-host",
            "127.0.0.1",
            "--metrics-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        check=False,
    )
    assert result.returncode == 2
    for part in ("sources.toml", "'wire'", "'schedule'", "hourly"):
        assert part in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists()
    assert not (tmp_path / "archive").exists()


def test_scheduled_runs_of_a_source_repeat_and_never_overlap(
    site: DemoSite, tmp_path: Path
) -> None:
    # Each (paced) crawl outlasts the 1-second interval, and a second worker is free: only
    # the one-run-per-source rule keeps two runs of the source apart.
    outlet = "meridian-wire"
    sources = demo_sources(
        site, tmp_path / "sources.toml", outlets=[outlet], schedule="1s", delay=0.1
    )
    config = make_config(tmp_path, sources, max_runs=2)
    with running_service(config) as service:
        wait_for(
            lambda: sum(r["result"] == "success" for r in run_records(config.state_dir)) >= 3,
            timeout=90,
            what="three finished runs",
        )
        service.pause()
        skipped = service.metrics.registry.get_sample_value(
            "newsarchive_runs_skipped_total", {"source": outlet, "reason": "still_running"}
        )
    records = run_records(config.state_dir, outlet)
    # A run that started as the test ended was stopped: interrupted.
    assert all(r["result"] in ("success", "interrupted") for r in records), records
    times = [(_when(r["started"]), _when(r["ended"])) for r in records]
    for (_, end), (start, _) in itertools.pairwise(times):
        assert start >= end, "two runs of the source overlap"
    # Times came while the crawl still ran, and were skipped.
    assert skipped is not None
    assert skipped >= 1


def test_no_more_runs_at_once_than_the_bound(site: DemoSite, tmp_path: Path) -> None:
    # Three sources come due together; two workers.
    sources = demo_sources(site, tmp_path / "sources.toml", schedule="1h", delay=0.1)
    config = make_config(tmp_path, sources, max_runs=2)
    with running_service(config):
        wait_for(
            lambda: len(run_records(config.state_dir)) == len(site.outlets),
            timeout=90,
            what="one run of every source",
        )
    records = run_records(config.state_dir)
    assert [r["result"] for r in records] == ["success"] * len(site.outlets)
    spans = [(_when(r["started"]), _when(r["ended"]), r["source"]) for r in records]
    # Two ran side by side, never three.
    assert _max_overlap(spans) == 2


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _max_overlap(spans: list[tuple[datetime, datetime, str]]) -> int:
    events = sorted([(s, 1) for s, _, _ in spans] + [(e, -1) for _, e, _ in spans])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_a_restart_keeps_the_stored_schedule(site: DemoSite, tmp_path: Path) -> None:
    sources = demo_sources(
        site, tmp_path / "sources.toml", outlets=["meridian-wire"], schedule="1h"
    )
    config = make_config(tmp_path, sources)
    # First start: a new source crawls at once, then waits an hour.
    with running_service(config):
        wait_for(lambda: len(run_records(config.state_dir)) == 1, what="the first run")
    [record] = run_records(config.state_dir)
    assert record["result"] == "success"
    next_run, state = stored_jobs(config.state_dir)["source:meridian-wire"]
    assert state["trigger"].interval.total_seconds() == 3600
    assert state["func"] == "crawler.scheduling.jobs:run_source_job"
    assert state["args"] == ("meridian-wire",)

    # Same file: the job is kept with its stored next run time; nothing runs.
    with running_service(config) as service:
        pass
    assert stored_jobs(config.state_dir)["source:meridian-wire"][0] == next_run
    assert len(run_records(config.state_dir)) == 1
    last_run = service.histories.get("meridian-wire").last_run
    assert last_run == pytest.approx(_when(record["started"]).timestamp(), abs=1e-5)

    # A new interval replaces the job: the next run is two hours after the last one.
    demo_sources(site, sources, outlets=["meridian-wire"], schedule="2h")
    with running_service(config):
        pass
    rescheduled, state = stored_jobs(config.state_dir)["source:meridian-wire"]
    assert state["trigger"].interval.total_seconds() == 7200
    assert rescheduled == pytest.approx(_when(record["started"]).timestamp() + 7200, abs=0.01)
    assert len(run_records(config.state_dir)) == 1

    # A source removed from the file loses its job; a new cron source waits for its time.
    demo_sources(site, sources, outlets=["le-quotidien"], schedule="0 0 1 1 *")
    with running_service(config):
        pass
    jobs = stored_jobs(config.state_dir)
    # The revisit job polls the revisit queue of every source, whatever the sources are.
    assert set(jobs) == {"source:le-quotidien", "revisits"}
    first = datetime.fromtimestamp(jobs["source:le-quotidien"][0], UTC)
    assert (first.month, first.day, first.hour, first.minute) == (1, 1, 0, 0)
    assert len(run_records(config.state_dir)) == 1


def test_scheduled_revisits_capture_an_edit_the_listings_no_longer_show(
    site: DemoSite, tmp_path: Path
) -> None:
    """The revisit run catches an edit to an article whose feed did not change."""
    sources = demo_sources(site, tmp_path / "sources.toml", outlets=["harbour-herald"])
    site.set_edition(1)
    try:
        # Steps of no time at all: each article is due again at once, twice.
        first = schedule_once(tmp_path, sources, ARCHIVE_REVISIT_STEPS="0s,0s")
        assert first.returncode == 0, first.stdout + first.stderr
        versions = len(version_files(tmp_path / "archive"))
        site.set_edition(2)
        second = schedule_once(tmp_path, sources, ARCHIVE_REVISIT_STEPS="0s,0s")
    finally:
        site.set_edition(1)
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(version_files(tmp_path / "archive")) == versions + 1
    crawls = run_records(tmp_path / "state", "harbour-herald")
    assert crawls[-1]["counts"].get("archived", 0) == 0  # the feed was unchanged
    revisits = run_records(tmp_path / "state", "revisits")
    assert len(revisits) == 2
    assert revisits[-1]["result"] == "success"
