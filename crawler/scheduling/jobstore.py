"""APScheduler with a persistent job store, and keeping its stored jobs in line with the sources.

Jobs live in an SQLAlchemy job store (SQLite in the state folder by default), so schedules and
next run times survive restarts. Each source's job is ``source:NAME``; it names
:func:`crawler.scheduling.jobs.run_source_job` and the source's name, nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor as JobThreadPool
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from crawler.scheduling import jobs
from crawler.scheduling.config import SchedulerConfig, SchedulingError
from crawler.scheduling.triggers import build_trigger, first_run_time, trigger_fingerprint

logger = logging.getLogger(__name__)

JOB_PREFIX = "source:"


@dataclass
class SyncReport:
    """What :func:`sync_jobs` did to the stored jobs, by source name."""

    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]
    """APScheduler's background scheduler, minus one extra pass after shutdown.

    ``shutdown()`` wakes the scheduler thread, which then processes due jobs once more: it
    submits them to the closed executor (an error each) and moves their stored next run time
    on, so the run is lost instead of happening after the restart.
    """

    def _process_jobs(self) -> Any:
        if self.state != STATE_RUNNING:
            return None
        return super()._process_jobs()


def safe_url(url: str) -> str:
    """Return a database URL fit for logs: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable database URL)"


def open_job_store(url: str) -> Any:
    """Return the SQLAlchemy job store at ``url``; raise :class:`SchedulingError` if unusable."""
    try:
        return SQLAlchemyJobStore(url=url)
    except ArgumentError as err:
        # The message would repeat the URL, password included.
        raise SchedulingError(f"cannot use the job store {safe_url(url)}: bad URL") from err
    except (SQLAlchemyError, ImportError) as err:
        raise SchedulingError(f"cannot use the job store {safe_url(url)}: {err}") from err


def build_scheduler(config: SchedulerConfig, job_store: Any) -> Any:
    """Return a (not yet started) background scheduler with the configured bounds.

    Source jobs go to ``job_store`` and run on a pool of ``max_concurrent_runs`` threads;
    internal jobs (the staleness check) have a memory store and a thread of their own, so they
    never wait behind crawls.
    """
    return _Scheduler(
        jobstores={"default": job_store, "internal": MemoryJobStore()},
        executors={
            "default": JobThreadPool(config.max_concurrent_runs),
            "internal": JobThreadPool(1),
        },
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": config.misfire_grace_time,
        },
        timezone=config.timezone,
    )


def sync_jobs(
    scheduler: Any,
    schedules: dict[str, str],
    *,
    timezone: tzinfo,
    misfire_grace_time: int,
    last_run: Callable[[str], float | None],
) -> SyncReport:
    """Make the stored jobs match ``schedules`` (source name -> schedule).

    A job whose trigger is unchanged keeps its stored next run time; a changed trigger
    replaces the job; a source no longer scheduled loses its job. ``last_run`` gives the start
    of a source's last run (seconds since the epoch), from which a new interval job counts.
    """
    report = SyncReport()
    now = datetime.now(timezone)
    stored = {
        job.id: job
        for job in scheduler.get_jobs(jobstore="default")
        if job.id.startswith(JOB_PREFIX)
    }
    for name, schedule in schedules.items():
        job_id = JOB_PREFIX + name
        trigger = build_trigger(schedule, timezone)
        job = stored.pop(job_id, None)
        if job is not None and trigger_fingerprint(job.trigger) == trigger_fingerprint(trigger):
            _refresh(scheduler, job, name, misfire_grace_time)
            report.kept.append(name)
            continue
        last = last_run(name)
        previous = datetime.fromtimestamp(last, UTC) if last is not None else None
        next_run = first_run_time(trigger, now, previous)
        options: dict[str, Any] = {} if next_run is None else {"next_run_time": next_run}
        scheduler.add_job(
            jobs.RUN_SOURCE_REF,
            trigger=trigger,
            args=[name],
            id=job_id,
            name=name,
            jobstore="default",
            executor="default",
            replace_existing=True,
            **options,
        )
        (report.added if job is None else report.replaced).append(name)
        logger.info("scheduled %s: %s, first run at %s", name, schedule, next_run)
    for job_id in stored:
        scheduler.remove_job(job_id, jobstore="default")
        report.removed.append(job_id.removeprefix(JOB_PREFIX))
        logger.info("unscheduled %s: no longer an enabled source", job_id)
    return report


def _refresh(scheduler: Any, job: Any, name: str, misfire_grace_time: int) -> None:
    """Bring a kept job's options in line with the configuration; its next run time stays."""
    wanted: dict[str, Any] = {
        "func": jobs.RUN_SOURCE_REF,
        "args": (name,),
        "name": name,
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": misfire_grace_time,
    }
    current = {
        "func": job.func_ref,
        "args": tuple(job.args),
        "name": job.name,
        "coalesce": job.coalesce,
        "max_instances": job.max_instances,
        "misfire_grace_time": job.misfire_grace_time,
    }
    changes = {key: value for key, value in wanted.items() if current[key] != value}
    if changes:
        scheduler.modify_job(job.id, jobstore="default", **changes)
