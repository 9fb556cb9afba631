"""What the scheduler tests share: sources files for the demo site, waiting, reading state."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crawler.demosite.server import DemoSite, load_manifest
from crawler.scheduling.config import SchedulerConfig, StaleRule, parse_settings_list
from crawler.scheduling.service import SchedulerService

FAST_SETTINGS = "DOWNLOAD_DELAY=0,AUTOTHROTTLE_ENABLED=False,ARCHIVE_RETRY_BACKOFF_BASE=0.1"


def demo_sources(
    site: DemoSite,
    path: Path,
    *,
    outlets: Iterable[str] | None = None,
    schedule: str | dict[str, str] | None = None,
    delay: float | None = None,
    extra: str = "",
) -> Path:
    """Write a sources file for (some of) the demo outlets, with schedules and a slower pace.

    ``delay`` sets the outlets' ``download_delay`` and one request at a time, so a crawl lasts.
    """
    blocks = site.sources_toml().split("\n[sources.")
    wanted = set(outlets) if outlets is not None else set(site.outlets)
    kept = []
    for block in blocks[1:]:
        name = block.split("]", 1)[0]
        if name not in wanted:
            continue
        text = "[sources." + block.strip() + "\n"
        if delay is not None:
            text = text.replace("download_delay = 0.0", f"download_delay = {delay}")
            text = re.sub(r"concurrency = \d+", "concurrency = 1", text)
        wanted_schedule = schedule.get(name) if isinstance(schedule, dict) else schedule
        if wanted_schedule is not None:
            text += f'schedule = "{wanted_schedule}"\n'
        kept.append(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(kept) + extra, encoding="utf-8")
    return path


def dead_source(name: str, port: int, schedule: str | None = None) -> str:
    """Return the TOML of a source whose only feed is on a closed port."""
    line = f'schedule = "{schedule}"\n' if schedule else ""
    return (
        f'\n[sources.{name}]\nfeeds = ["http://127.0.0.1:{port}/rss.xml"]\n'
        f'allowed_domains = ["127.0.0.1:{port}"]\n{line}'
    )


def closed_port() -> int:
    """Return a loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def expected_article_count(outlets: Iterable[str] | None = None) -> int:
    """Count the demo pages the manifest says a crawl archives."""
    total = 0
    for outlet, spec in load_manifest()["outlets"].items():
        if outlets is not None and outlet not in outlets:
            continue
        for page in spec["pages"]:
            if page["is_article"] and "disallowed" not in page["roles"] and page["discovered_via"]:
                total += 1
    return total


def child_env(**extra: str) -> dict[str, str]:
    """Return this process's environment without AWS or ARCHIVE_ variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ARCHIVE_", "SCRAPY_"))}
    env.update(extra)
    return env


def make_config(
    tmp: Path,
    sources: Path,
    *,
    settings: str = FAST_SETTINGS,
    max_runs: int = 2,
    metrics_port: int | None = None,
    stale: StaleRule | None = None,
    shutdown_grace: float = 20.0,
    run_timeout: float = 300.0,
) -> SchedulerConfig:
    """Return a scheduler configuration for in-process tests (archive and state under ``tmp``)."""
    return SchedulerConfig(
        sources=sources,
        archive=str(tmp / "archive"),
        state_dir=tmp / "state",
        crawl_settings=tuple(parse_settings_list(settings)),
        max_concurrent_runs=max_runs,
        shutdown_grace=shutdown_grace,
        run_timeout=run_timeout,
        metrics_host="127.0.0.1",
        metrics_port=metrics_port,
        stale=stale or StaleRule(),
    )


@contextmanager
def running_service(config: SchedulerConfig) -> Iterator[SchedulerService]:
    """Start a scheduler service and always stop it."""
    service = SchedulerService(config)
    try:
        service.start()
        yield service
    finally:
        service.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what or predicate}")
        time.sleep(0.1)


def run_records(state_dir: Path, source: str | None = None) -> list[dict[str, Any]]:
    """Return the run records in the state folder (of one source), ordered by start."""
    pattern = f"runs/{source or '*'}/*.json"
    records = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in state_dir.glob(pattern)
        if not path.name.endswith(".summary.json")
    ]
    return sorted(records, key=lambda r: str(r["started"]))


def version_files(archive: Path) -> list[Path]:
    """Return every version record file of a local archive."""
    return sorted(archive.glob("articles/*/*/v*.json"))


def archive_problems(archive: Path) -> list[str]:
    """Check a local archive: every version parses, its HTML exists whole, no temporary files."""
    problems = []
    for path in version_files(archive):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            problems.append(f"{path}: not JSON: {err}")
            continue
        html = archive / record["html_key"]
        try:
            gzip.decompress(html.read_bytes())
        except (OSError, EOFError) as err:
            problems.append(f"{path}: html {record['html_key']}: {err}")
    for path in archive.rglob(".tmp-*"):
        problems.append(f"temporary file left: {path}")
    return problems


def stored_jobs(state_dir: Path) -> dict[str, tuple[float, dict[str, Any]]]:
    """Read the job store as any SQLite client would: id -> (next run time, job state)."""
    with sqlite3.connect(state_dir / "scheduler.sqlite") as db:
        rows = db.execute("SELECT id, next_run_time, job_state FROM apscheduler_jobs").fetchall()
    return {job_id: (next_run, pickle.loads(state)) for job_id, next_run, state in rows}  # noqa: S301
