"""The scheduler's settings: command-line arguments first, then ``ARCHIVE_*`` variables.

The scheduler runs no Scrapy code itself, so its own settings are not Scrapy settings: they are
read here, in :func:`load_config`, the one place the scheduler reads the environment. The
settings it shares with the crawl (``ARCHIVE_URI``, ``ARCHIVE_SOURCES``, ``ARCHIVE_LOG_LEVEL``)
come from :mod:`crawler.settings`, which reads them for both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.errors import CrawlerError
from crawler.sources import schedule_problem


class SchedulingError(CrawlerError):
    """The scheduler's configuration is invalid, or the scheduler cannot do what it was asked."""


DEFAULT_STATE_DIR = "state"
DEFAULT_SCHEDULE = "30m"
DEFAULT_METRICS_HOST = "0.0.0.0"  # noqa: S104 - the container's metrics port must be reachable
DEFAULT_METRICS_PORT = 9410
# Six hours: longer than any default interval, so after an outage every job runs once (coalesced)
# instead of waiting for its next time; a daily cron job missed by more waits for the next day.
DEFAULT_MISFIRE_GRACE = 6 * 3600


@dataclass(frozen=True)
class StaleRule:
    """When a source counts as stale: it has produced no new article for much longer than usual."""

    factor: float = 4.0
    """Stale after this many times the median gap between runs that archived a new article."""
    floor_seconds: float = 6 * 3600.0
    """Never stale before this long without a new article."""
    never_runs: int = 12
    """A source that never archived a new article is stale after this many runs."""
    gaps_kept: int = 20
    """How many recent gaps the median is taken over."""


@dataclass(frozen=True)
class SchedulerConfig:
    """Everything the scheduler needs, resolved and checked."""

    sources: Path
    """The sources file."""
    archive: str
    """The archive URI handed to every crawl."""
    state_dir: Path
    """Holds the job store (by default), run records and the staleness state."""
    scheduler_db: str = ""
    """SQLAlchemy URL of the job store; empty: ``sqlite:///STATE_DIR/scheduler.sqlite``."""
    crawl_settings: tuple[tuple[str, str], ...] = ()
    """``-s NAME=VALUE`` overrides given to every crawl."""
    max_concurrent_runs: int = 2
    run_timeout: float = 3600.0
    shutdown_grace: float = 60.0
    misfire_grace_time: int = DEFAULT_MISFIRE_GRACE
    default_schedule: str = DEFAULT_SCHEDULE
    timezone: tzinfo = UTC
    metrics_host: str = DEFAULT_METRICS_HOST
    metrics_port: int | None = DEFAULT_METRICS_PORT
    """``None``: no metrics server; 0: any free port."""
    keep_runs: int = 50
    """Run records (with their summary and log) kept per source."""
    revisit_every: float = 600.0
    """Seconds between revisit runs (every source's due articles); 0: no revisits."""
    stale: StaleRule = field(default_factory=StaleRule)
    log_level: str = "INFO"

    @property
    def job_store_url(self) -> str:
        """Return the SQLAlchemy URL of the job store."""
        if self.scheduler_db:
            return self.scheduler_db
        return f"sqlite:///{self.state_dir.resolve() / 'scheduler.sqlite'}"

    @property
    def runs_dir(self) -> Path:
        """Return the folder of run records: ``runs/SOURCE/RUN_ID.*``."""
        return self.state_dir / "runs"

    @property
    def history_file(self) -> Path:
        """Return the JSON file that keeps what staleness needs across restarts."""
        return self.state_dir / "sources-state.json"


def load_config(
    *,
    sources: str | None = None,
    archive: str | None = None,
    state_dir: str | None = None,
    metrics_port: int | None = None,
    metrics_host: str | None = None,
    serve_metrics: bool = True,
    settings: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
) -> SchedulerConfig:
    """Build the configuration from arguments (when given) over the environment.

    ``serve_metrics=False`` leaves the metrics server off unless ``metrics_port`` is given.
    Raise :class:`SchedulingError` naming the variable of any invalid value.
    """
    from crawler import settings as crawl_settings
    from crawler.sources import default_sources_path

    env = os.environ if environ is None else environ
    sources_path = sources or crawl_settings.ARCHIVE_SOURCES or str(default_sources_path())
    port: int | None
    if metrics_port is not None:
        port = metrics_port
    elif serve_metrics:
        port = _int(env, "ARCHIVE_METRICS_PORT", DEFAULT_METRICS_PORT, 0)
    else:
        port = None
    if port is not None and port > 65535:
        raise SchedulingError(f"metrics port {port} is not a TCP port")
    default_schedule = env.get("ARCHIVE_DEFAULT_SCHEDULE", "").strip() or DEFAULT_SCHEDULE
    problem = schedule_problem(default_schedule)
    if problem is not None:
        raise SchedulingError(f"ARCHIVE_DEFAULT_SCHEDULE: {problem}")
    overrides = [*parse_settings_list(env.get("ARCHIVE_CRAWL_SETTINGS", ""))]
    overrides += [_setting_pair(item, "-s") for item in settings]
    return SchedulerConfig(
        sources=Path(sources_path).resolve(),
        archive=archive or crawl_settings.ARCHIVE_URI,
        state_dir=Path(state_dir or env.get("ARCHIVE_STATE_DIR", "") or DEFAULT_STATE_DIR),
        scheduler_db=env.get("ARCHIVE_SCHEDULER_DB", "").strip(),
        crawl_settings=tuple(overrides),
        max_concurrent_runs=_int(env, "ARCHIVE_MAX_CONCURRENT_RUNS", 2, 1),
        run_timeout=_float(env, "ARCHIVE_RUN_TIMEOUT", 3600.0, 1.0),
        shutdown_grace=_float(env, "ARCHIVE_SHUTDOWN_GRACE", 60.0, 0.0),
        misfire_grace_time=_int(env, "ARCHIVE_MISFIRE_GRACE_TIME", DEFAULT_MISFIRE_GRACE, 1),
        default_schedule=" ".join(default_schedule.split()),
        timezone=_timezone(env.get("ARCHIVE_SCHEDULER_TIMEZONE", "").strip() or "UTC"),
        metrics_host=metrics_host or env.get("ARCHIVE_METRICS_HOST", "") or DEFAULT_METRICS_HOST,
        metrics_port=port,
        keep_runs=_int(env, "ARCHIVE_KEEP_RUNS", 50, 1),
        revisit_every=_float(env, "ARCHIVE_REVISIT_EVERY", 600.0, 0.0),
        stale=StaleRule(
            factor=_float(env, "ARCHIVE_STALE_FACTOR", 4.0, 1.0),
            floor_seconds=_float(env, "ARCHIVE_STALE_FLOOR", 6 * 3600.0, 0.0),
            never_runs=_int(env, "ARCHIVE_STALE_RUNS", 12, 1),
        ),
        log_level=str(crawl_settings.LOG_LEVEL),
    )


def parse_settings_list(text: str) -> list[tuple[str, str]]:
    """Parse ``NAME=VALUE,NAME=VALUE`` (``ARCHIVE_CRAWL_SETTINGS``) into pairs."""
    return [
        _setting_pair(item.strip(), "ARCHIVE_CRAWL_SETTINGS")
        for item in text.split(",")
        if item.strip()
    ]


def _setting_pair(item: str, where: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name.strip():
        raise SchedulingError(f"{where}: expected NAME=VALUE, got {item!r}")
    return name.strip(), value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError as err:
        raise SchedulingError(f"{name}: expected an integer, got {text!r}") from err
    if value < minimum:
        raise SchedulingError(f"{name}: expected an integer >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError as err:
        raise SchedulingError(f"{name}: expected a number of seconds, got {text!r}") from err
    if not value >= minimum or value == float("inf"):
        raise SchedulingError(f"{name}: expected a finite number >= {minimum:g}, got {text!r}")
    return value


def _timezone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise SchedulingError(f"ARCHIVE_SCHEDULER_TIMEZONE: unknown time zone {name!r}") from err
