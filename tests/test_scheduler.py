"""The scheduler's pure parts: triggers, settings, judging runs, staleness and its state file."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry

from crawler.metrics import SchedulerMetrics
from crawler.scheduling.config import (
    DEFAULT_METRICS_HOST,
    SchedulingError,
    StaleRule,
    load_config,
)
from crawler.scheduling.runs import RunResult, describe, judge
from crawler.scheduling.staleness import SourceHistory, after_run, assess, format_seconds
from crawler.scheduling.state import HistoryStore, write_json_atomic
from crawler.scheduling.triggers import (
    build_trigger,
    cron_day_of_week,
    first_run_time,
    interval_seconds,
    trigger_fingerprint,
)

HOUR = 3600.0
# A Wednesday.
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def fire_times(trigger: Any, count: int, start: datetime = T0) -> list[datetime]:
    times: list[datetime] = []
    previous = None
    now = start
    for _ in range(count):
        nxt = trigger.get_next_fire_time(previous, now)
        times.append(nxt)
        previous, now = nxt, nxt + timedelta(seconds=1)
    return times


# --- triggers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800), ("0 * * * *", None)],
)
def test_interval_seconds(text: str, seconds: int | None) -> None:
    assert interval_seconds(text) == seconds


def test_an_interval_trigger_fires_every_interval() -> None:
    trigger = build_trigger("15m", UTC)
    times = fire_times(trigger, 3, start=T0)
    assert times[1] - times[0] == timedelta(minutes=15)
    assert times[2] - times[1] == timedelta(minutes=15)


@pytest.mark.parametrize(
    ("field", "weekdays"),
    [
        ("1-5", {0, 1, 2, 3, 4}),  # Monday to Friday
        ("0", {6}),  # Sunday
        ("7", {6}),  # Sunday too
        ("sun", {6}),
        ("sat,sun", {5, 6}),
        ("*/2", {6, 1, 3, 5}),  # Sunday, Tuesday, Thursday, Saturday
        ("0-2", {6, 0, 1}),
    ],
)
def test_cron_weekdays_count_from_sunday_as_in_crontab(field: str, weekdays: set[int]) -> None:
    trigger = build_trigger(f"0 6 * * {field}", UTC)
    times = fire_times(trigger, 14)
    assert {t.weekday() for t in times} == weekdays
    assert all((t.hour, t.minute) == (6, 0) for t in times)


def test_cron_day_of_week_translation_reads_as_names() -> None:
    assert cron_day_of_week("1-5") == "mon,tue,wed,thu,fri"
    assert cron_day_of_week("*") == "*"
    with pytest.raises(SchedulingError, match="backwards"):
        cron_day_of_week("5-1")


def test_cron_is_read_in_the_configured_time_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    trigger = build_trigger("30 6 * * *", paris)
    first = fire_times(trigger, 1)[0]
    assert first.astimezone(paris).hour == 6
    assert first.astimezone(UTC).hour == 5  # CET in November


@pytest.mark.parametrize("text", ["", "30", "5x", "* * * *", "61 * * * *", "0 6 * * 8"])
def test_invalid_schedules_are_refused(text: str) -> None:
    with pytest.raises(SchedulingError, match="schedule"):
        build_trigger(text, UTC)


def test_fingerprints_ignore_start_dates_but_not_what_fires_when() -> None:
    first = build_trigger("1h", UTC)
    later = build_trigger("1h", UTC)
    later.start_date += timedelta(minutes=5)
    assert trigger_fingerprint(first) == trigger_fingerprint(later)
    assert trigger_fingerprint(first) != trigger_fingerprint(build_trigger("2h", UTC))
    # The same interval written differently is no change.
    assert trigger_fingerprint(first) == trigger_fingerprint(build_trigger("60m", UTC))
    cron = build_trigger("0 6 * * *", UTC)
    assert trigger_fingerprint(cron) == trigger_fingerprint(build_trigger("0  6 * * *", UTC))
    assert trigger_fingerprint(cron) != trigger_fingerprint(build_trigger("0 7 * * *", UTC))
    assert trigger_fingerprint(cron) != trigger_fingerprint(
        build_trigger("0 6 * * *", ZoneInfo("Europe/Paris"))
    )


def test_first_run_follows_the_last_run_or_is_now() -> None:
    trigger = build_trigger("1h", UTC)
    assert first_run_time(trigger, T0, None) == T0
    recent = T0 - timedelta(minutes=20)
    assert first_run_time(trigger, T0, recent) == recent + timedelta(hours=1)
    long_ago = T0 - timedelta(days=3)
    assert first_run_time(trigger, T0, long_ago) == T0
    cron = build_trigger("0 6 * * *", UTC)
    assert first_run_time(cron, T0, None) == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


# --- settings ---------------------------------------------------------------------------------
def test_config_reads_its_variables(tmp_path: Path) -> None:
    env = {
        "ARCHIVE_STATE_DIR": str(tmp_path / "st"),
        "ARCHIVE_CRAWL_SETTINGS": "DOWNLOAD_DELAY=0, LOG_LEVEL=WARNING,,",
        "ARCHIVE_MAX_CONCURRENT_RUNS": "3",
        "ARCHIVE_RUN_TIMEOUT": "90",
        "ARCHIVE_SHUTDOWN_GRACE": "5",
        "ARCHIVE_METRICS_PORT": "0",
        "ARCHIVE_METRICS_HOST": "127.0.0.1",
        "ARCHIVE_DEFAULT_SCHEDULE": "45m",
        "ARCHIVE_STALE_FLOOR": "60",
    }
    config = load_config(sources=str(tmp_path / "s.toml"), settings=["RETRY_TIMES=1"], environ=env)
    assert config.state_dir == tmp_path / "st"
    assert config.crawl_settings == (
        ("DOWNLOAD_DELAY", "0"),
        ("LOG_LEVEL", "WARNING"),
        ("RETRY_TIMES", "1"),
    )
    assert (config.max_concurrent_runs, config.run_timeout, config.shutdown_grace) == (3, 90, 5)
    assert (config.metrics_host, config.metrics_port) == ("127.0.0.1", 0)
    assert config.default_schedule == "45m"
    assert config.stale.floor_seconds == 60
    assert config.job_store_url == f"sqlite:///{(tmp_path / 'st').resolve()}/scheduler.sqlite"


def test_config_defaults_and_once_without_metrics(tmp_path: Path) -> None:
    config = load_config(sources=str(tmp_path / "s.toml"), environ={})
    assert config.state_dir == Path("state")
    assert (config.max_concurrent_runs, config.run_timeout, config.shutdown_grace) == (2, 3600, 60)
    assert (config.metrics_host, config.metrics_port) == (DEFAULT_METRICS_HOST, 9410)
    assert config.default_schedule == "30m"
    once = load_config(sources=str(tmp_path / "s.toml"), serve_metrics=False, environ={})
    assert once.metrics_port is None
    asked = load_config(sources="s.toml", serve_metrics=False, metrics_port=0, environ={})
    assert asked.metrics_port == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ARCHIVE_MAX_CONCURRENT_RUNS", "0", "ARCHIVE_MAX_CONCURRENT_RUNS"),
        ("ARCHIVE_RUN_TIMEOUT", "soon", "ARCHIVE_RUN_TIMEOUT"),
        ("ARCHIVE_CRAWL_SETTINGS", "DOWNLOAD_DELAY", "NAME=VALUE"),
        ("ARCHIVE_DEFAULT_SCHEDULE", "hourly", "ARCHIVE_DEFAULT_SCHEDULE"),
        ("ARCHIVE_SCHEDULER_TIMEZONE", "Mars/Olympus", "ARCHIVE_SCHEDULER_TIMEZONE"),
        ("ARCHIVE_METRICS_PORT", "70000", "port"),
    ],
)
def test_config_names_the_bad_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SchedulingError, match=message):
        load_config(sources="s.toml", environ={name: value})


# --- judging runs -----------------------------------------------------------------------------
def summary_of(source: str, **entry: Any) -> dict[str, Any]:
    return {"sources": {source: entry}, "totals": {}, "finish_reason": "finished"}


def test_judge_runs() -> None:
    ok = summary_of("a", fetched=3, archived_by={"new": 3})
    assert judge("a", 0, ok) == ("success", None)
    assert judge("a", 1, ok)[0] == "failed"
    assert "exit" in str(judge("a", 1, ok)[1])
    assert judge("a", 0, None) == ("failed", "the crawl wrote no summary")
    assert judge("a", -9, None) == ("failed", "the crawl was killed by SIGKILL")
    assert judge("b", 0, ok)[0] == "failed"
    assert judge("a", None, None, timed_out=True)[0] == "timeout"
    assert judge("a", 1, None, interrupted=True)[0] == "interrupted"
    # Every listing failed: the crawl finished (exit 0) but the source archived nothing.
    dead = summary_of("a", fetched=0, warnings=["feed http://x/rss failed: dns"])
    result, reason = judge("a", 0, dead)
    assert result == "failed"
    assert "every listing failed" in str(reason)
    assert "dns" in str(reason)
    # One broken feed among working listings is a warning, not a failure; so is one beside a
    # listing that answered "not modified".
    assert judge("a", 0, summary_of("a", fetched=2, warnings=["feed x: broken"]))[0] == "success"
    quiet = summary_of("a", fetched=0, listings_unchanged=1, warnings=["feed x: broken"])
    assert judge("a", 0, quiet)[0] == "success"


def make_run(
    source: str = "wire",
    started: float = 1000.0,
    ended: float = 1010.0,
    result: str = "success",
    new: int = 0,
    **counts: Any,
) -> RunResult:
    entry = {"archived_by": {"new": new}, "archived": new, **counts} if new else dict(counts)
    return RunResult(source, "r", started, ended, result, counts=entry)


def test_describe_says_source_result_and_counts() -> None:
    line = describe(make_run(new=4, fetched=5, unchanged=1))
    assert line.startswith("wire")
    assert " ok " in line
    assert "archived=4 (new=4)" in line
    failed = RunResult("gone", "r", 0, 1, "failed", reason="every listing failed (1 warning): x")
    assert "FAILED" in describe(failed)
    assert "every listing failed" in describe(failed)


# --- staleness --------------------------------------------------------------------------------
RULE = StaleRule(factor=4, floor_seconds=6 * HOUR, never_runs=3, gaps_kept=3)


def test_staleness_uses_four_times_the_median_gap_with_a_floor() -> None:
    hourly = SourceHistory(last_new=0.0, new_gaps=(HOUR, HOUR, 2 * HOUR))
    # Median gap 1 h: 4 h is below the 6 h floor, which decides.
    assert not assess(hourly, 5 * HOUR, RULE).stale
    verdict = assess(hourly, 7 * HOUR, RULE)
    assert verdict.stale
    assert verdict.threshold == 6 * HOUR
    assert "7h 0m" in verdict.describe()
    slow = SourceHistory(last_new=0.0, new_gaps=(3 * HOUR, 5 * HOUR, 4 * HOUR))
    assert not assess(slow, 15 * HOUR, RULE).stale  # median 4 h -> 16 h allowed
    assert assess(slow, 17 * HOUR, RULE).stale
    assert not assess(SourceHistory(last_new=0.0), 5 * HOUR, RULE).stale  # no gaps: the floor


def test_a_source_that_never_produced_is_stale_after_n_runs() -> None:
    history = SourceHistory()
    for n in range(1, 4):
        history = after_run(history, make_run(started=n * 10.0, ended=n * 10.0 + 1), RULE)
        assert assess(history, 100.0, RULE).stale == (n >= 3)
    verdict = assess(history, 100.0, RULE)
    assert verdict.silent_for is None
    assert "no new article in its 3 runs" in verdict.describe()


def test_after_run_keeps_gaps_between_runs_with_new_articles() -> None:
    history = SourceHistory()
    history = after_run(history, make_run(started=0, ended=10, new=2), RULE)
    assert (history.last_new, history.new_gaps, history.last_success) == (10, (), 10)
    history = after_run(history, make_run(started=20, ended=30, new=0), RULE)
    assert history.runs_since_new == 1
    for end in (110.0, 210.0, 410.0, 810.0):
        history = after_run(history, make_run(started=end - 5, ended=end, new=1), RULE)
    # Gaps of 100, 100, 200, 400 s; only the last three are kept.
    assert history.new_gaps == (100.0, 200.0, 400.0)
    assert history.runs_since_new == 0
    failed = after_run(history, make_run(started=900, ended=901, result="failed"), RULE)
    assert (failed.runs_since_new, failed.last_success, failed.last_run) == (1, 810.0, 900)
    stopped = after_run(failed, make_run(started=950, ended=951, result="interrupted"), RULE)
    assert (stopped.runs_since_new, stopped.last_run) == (1, 950)


def test_format_seconds() -> None:
    assert format_seconds(40) == "40s"
    assert format_seconds(725) == "12m 5s"
    assert format_seconds(6 * HOUR) == "6h 0m"
    assert format_seconds(3 * 86400 + 4 * HOUR) == "3d 4h"


# --- the state file ---------------------------------------------------------------------------
def test_histories_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "sources-state.json"
    store = HistoryStore(path)
    history = SourceHistory(
        last_run=1.5, last_success=2.5, last_new=2.5, new_gaps=(60.0, 90.0), runs_since_new=4
    )
    store.put("wire", history)
    store.put("gazette", SourceHistory(runs_since_new=2))
    again = HistoryStore(path)
    assert again.get("wire") == history
    assert again.get("gazette").runs_since_new == 2
    assert again.get("unknown") == SourceHistory()
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["sources-state.json"]


def test_a_corrupt_state_file_starts_a_fresh_history(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sources-state.json"
    path.write_text('{"sources": {"wire": {"last_new": 12', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        store = HistoryStore(path)
    assert store.all() == {}
    assert "starting a fresh history" in caplog.text
    path.write_text('{"sources": {"wire": {"new_gaps": "x"}, "ok": {}}}', encoding="utf-8")
    assert set(HistoryStore(path).all()) == {"ok"}


def test_atomic_writes_replace_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "a" / "data.json"
    write_json_atomic(target, {"n": 1})
    write_json_atomic(target, {"n": 2})
    assert json.loads(target.read_text(encoding="utf-8")) == {"n": 2}
    assert [p.name for p in target.parent.iterdir()] == ["data.json"]
    with pytest.raises(TypeError):
        write_json_atomic(target, {"n": object()})
    assert json.loads(target.read_text(encoding="utf-8")) == {"n": 2}
    assert [p.name for p in target.parent.iterdir()] == ["data.json"]


# --- metrics ----------------------------------------------------------------------------------
def test_metrics_count_what_a_run_archived() -> None:
    metrics = SchedulerMetrics(CollectorRegistry())
    run = make_run(
        source="wire",
        new=3,
        fetched=5,
        unchanged=1,
        skipped_by={"not_article": 1},
        failed_by={"http_404": 2},
        warnings=["sitemap x failed: timeout"],
    )
    run.counts["archived_by"]["changed"] = 1
    run.counts["archived"] = 4
    metrics.observe_run(run)
    metrics.observe_run(make_run(source="wire", result="failed"))

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert value("newsarchive_articles_archived_total", source="wire", outcome="new") == 3
    assert value("newsarchive_articles_archived_total", source="wire", outcome="changed") == 1
    assert value("newsarchive_versions_total", source="wire") == 4
    assert value("newsarchive_articles_unchanged_total", source="wire") == 1
    assert value("newsarchive_fetch_errors_total", source="wire", reason="http_404") == 2
    assert value("newsarchive_pages_skipped_total", source="wire", reason="not_article") == 1
    assert value("newsarchive_listing_warnings_total", source="wire") == 1
    assert value("newsarchive_runs_total", source="wire", result="success") == 1
    assert value("newsarchive_runs_total", source="wire", result="failed") == 1
    assert value("newsarchive_run_duration_seconds_count", source="wire") == 2
    metrics.set_history("wire", SourceHistory(last_success=1010.0, last_new=1010.0))
    assert value("newsarchive_source_last_success_timestamp_seconds", source="wire") == 1010.0
    metrics.forget("wire")
    assert value("newsarchive_source_last_success_timestamp_seconds", source="wire") is None
