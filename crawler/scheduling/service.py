"""The scheduler service: every enabled source on its own trigger, runs bounded, state persisted.

The jobs live in a persistent job store (:mod:`.jobstore`). Each job runs in a worker thread of
a pool of ``max_concurrent_runs`` threads and crawls in a child process (:mod:`.runner`); after
each run the service updates the source's history, metrics and staleness.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED
from sqlalchemy.exc import SQLAlchemyError

from crawler.metrics import MetricsServer, SchedulerMetrics
from crawler.scheduling import jobs
from crawler.scheduling.config import SchedulerConfig, SchedulingError
from crawler.scheduling.jobstore import (
    JOB_PREFIX,
    SyncReport,
    build_scheduler,
    open_job_store,
    safe_url,
    sync_jobs,
)
from crawler.scheduling.runner import CrawlRunner
from crawler.scheduling.runs import REVISITS, RunResult
from crawler.scheduling.staleness import SourceHistory, after_run, assess
from crawler.scheduling.state import HistoryStore
from crawler.scheduling.triggers import build_trigger

logger = logging.getLogger(__name__)

STALE_CHECK_SECONDS = 60


class SchedulerService:
    """Run every enabled source of the sources file on its schedule, until :meth:`stop`."""

    def __init__(self, config: SchedulerConfig) -> None:
        self.config = config
        self.runner = CrawlRunner(config)
        self.histories = HistoryStore(config.history_file)
        self.metrics = SchedulerMetrics()
        self.scheduler: Any = None
        self.server: MetricsServer | None = None
        self._jobstore: Any = None
        self._schedules: dict[str, str] = {}
        self._stale: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._once = False

    # --- configuration --------------------------------------------------------------------
    def load_schedules(self) -> dict[str, str]:
        """Read the sources file: the schedule of every enabled source (or the default)."""
        from crawler.sources import load_sources

        sources = load_sources(self.config.sources)
        schedules = {
            name: source.schedule or self.config.default_schedule
            for name, source in sources.items()
            if source.enabled
        }
        for name, schedule in schedules.items():
            try:
                build_trigger(schedule, self.config.timezone)
            except SchedulingError as err:
                raise SchedulingError(f"{self.config.sources}: source {name!r}: {err}") from err
        return schedules

    # --- running sources ------------------------------------------------------------------
    def run_source(self, source: str) -> RunResult | None:
        """Crawl ``source`` once, then update its history, metrics and staleness.

        Return None if the service is stopping and nothing was started.
        """
        self.metrics.running.labels(source).set(1)
        try:
            run = self.runner.run(source)
        finally:
            self.metrics.running.labels(source).set(0)
        if run is None:
            return None
        self.metrics.observe_run(run)
        history = after_run(self.histories.get(source), run, self.config.stale)
        self.histories.put(source, history)
        self.metrics.set_history(source, history)
        self._assess(source, history, time.time())
        return run

    def run_revisits(self) -> RunResult | None:
        """Fetch again the articles whose revisit is due, of every source, in one child.

        Revisits are not a source's run: they leave its history, metrics and staleness alone.
        """
        return self.runner.run(REVISITS)

    def check_staleness(self, now: float | None = None) -> None:
        """Re-assess the staleness of every scheduled source, logging any change."""
        moment = time.time() if now is None else now
        for source in list(self._schedules):
            self._assess(source, self.histories.get(source), moment)

    def stale_sources(self) -> list[str]:
        """Return the sources flagged stale."""
        with self._lock:
            return sorted(name for name, stale in self._stale.items() if stale)

    def _assess(self, source: str, history: SourceHistory, now: float) -> None:
        verdict = assess(history, now, self.config.stale)
        self.metrics.stale.labels(source).set(1 if verdict.stale else 0)
        with self._lock:
            was_stale = self._stale.get(source, False)
            self._stale[source] = verdict.stale
        if verdict.stale and not was_stale:
            logger.warning("source %s is stale: %s", source, verdict.describe())
        elif was_stale and not verdict.stale:
            logger.info("source %s is no longer stale", source)

    def run_once(
        self, should_stop: Callable[[], bool] = lambda: False
    ) -> dict[str, RunResult | None]:
        """Run every enabled source once, at most ``max_concurrent_runs`` at a time.

        ``should_stop`` is polled; once it returns True, running crawls are stopped as at
        shutdown and sources not started yet are not run (their value is None).
        """
        schedules = self.load_schedules()
        self._once = True
        self._schedules = schedules
        self.metrics.declare(schedules)
        self._start_server()
        results: dict[str, RunResult | None] = {}
        try:
            with ThreadPoolExecutor(
                self.config.max_concurrent_runs, thread_name_prefix="crawl"
            ) as pool:
                futures: dict[Future[RunResult | None], str] = {
                    pool.submit(self.run_source, name): name for name in schedules
                }
                pending = set(futures)
                while pending:
                    if should_stop() and not self.runner.stopping:
                        self.runner.stop_all(self.config.shutdown_grace)
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in done:
                        results[futures[future]] = future.result()
            once = {name: results.get(name) for name in schedules}
            if self.config.revisit_every > 0 and not should_stop():
                # Articles due for a revisit (none on a first run) are fetched once too.
                once[REVISITS] = self.run_revisits()
        finally:
            self._stop_server()
        return once

    # --- the service ----------------------------------------------------------------------
    def start(self) -> SyncReport:
        """Sync the stored jobs with the sources file, serve metrics, and start scheduling.

        Raise :class:`SchedulingError` (or ``SourcesError``) before anything runs if the
        sources file, the job store or the metrics port is unusable.
        """
        schedules = self.load_schedules()
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        url = self.config.job_store_url
        self._jobstore = open_job_store(url)
        self.scheduler = build_scheduler(self.config, self._jobstore)
        self.scheduler.add_listener(self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        jobs.activate(self)
        try:
            # Paused: the stored jobs become visible, and none runs before they are synced.
            self.scheduler.start(paused=True)
            report = self.sync(schedules)
            self.scheduler.add_job(
                jobs.CHECK_STALENESS_REF,
                "interval",
                seconds=STALE_CHECK_SECONDS,
                id="check-staleness",
                jobstore="internal",
                executor="internal",
                replace_existing=True,
            )
            if self.config.revisit_every > 0 and not self._once:
                # Which articles are due lives in the revisit queue; the job only polls it.
                self.scheduler.add_job(
                    jobs.RUN_REVISITS_REF,
                    "interval",
                    seconds=self.config.revisit_every,
                    id="revisits",
                    name=REVISITS,
                    jobstore="default",
                    executor="default",
                    replace_existing=True,
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=self.config.misfire_grace_time,
                )
            elif self.scheduler.get_job("revisits", jobstore="default") is not None:
                self.scheduler.remove_job("revisits", jobstore="default")
            for source, history in self.histories.all().items():
                if source in schedules:
                    self.metrics.set_history(source, history)
            self.check_staleness()
            self._start_server()
        except SQLAlchemyError as err:
            self._abort()
            raise SchedulingError(f"cannot use the job store {safe_url(url)}: {err}") from err
        except BaseException:
            self._abort()
            raise
        self.scheduler.resume()
        logger.info(
            "scheduler started: %d sources (%d new, %d kept, %d rescheduled, %d removed), "
            "at most %d runs at once, job store %s, archive %s, state %s",
            len(schedules),
            len(report.added),
            len(report.kept),
            len(report.replaced),
            len(report.removed),
            self.config.max_concurrent_runs,
            safe_url(url),
            self.config.archive,
            self.config.state_dir,
        )
        return report

    def sync(self, schedules: dict[str, str]) -> SyncReport:
        """Make the stored jobs match ``schedules`` (name -> schedule), as :func:`sync_jobs`."""
        report = sync_jobs(
            self.scheduler,
            schedules,
            timezone=self.config.timezone,
            misfire_grace_time=self.config.misfire_grace_time,
            last_run=lambda name: self.histories.get(name).last_run,
        )
        for name in report.removed:
            self.metrics.forget(name)
            with self._lock:
                self._stale.pop(name, None)
        self._schedules = dict(schedules)
        self.metrics.declare(schedules)
        return report

    def reload(self) -> SyncReport | None:
        """Re-read the sources file and sync the jobs; keep the schedule if the file is bad."""
        from crawler.errors import CrawlerError

        try:
            schedules = self.load_schedules()
        except CrawlerError as err:
            logger.error("not reloading the sources: %s; the schedule stays as it was", err)
            return None
        report = self.sync(schedules)
        logger.info(
            "sources reloaded: %d new, %d kept, %d rescheduled, %d removed",
            len(report.added),
            len(report.kept),
            len(report.replaced),
            len(report.removed),
        )
        return report

    def pause(self) -> None:
        """Start no new run; ``/healthz`` turns unhealthy."""
        if self.scheduler is not None and self.scheduler.state == STATE_RUNNING:
            self.scheduler.pause()

    def stop(self, grace: float | None = None) -> None:
        """Stop scheduling, stop running crawls (SIGTERM, SIGKILL after the grace), shut down."""
        wait_seconds = self.config.shutdown_grace if grace is None else grace
        self.pause()
        self.runner.stop_all(wait_seconds)
        if self.scheduler is not None and self.scheduler.state != STATE_STOPPED:
            # Runs queued behind the worker bound return at once: the runner is stopping.
            self.scheduler.shutdown(wait=True)
        self._stop_server()
        jobs.deactivate(self)
        logger.info("scheduler stopped")

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Return whether the service is healthy, with details for ``/healthz``."""
        details: dict[str, Any] = {"running": self.runner.running(), "stale": self.stale_sources()}
        if self.runner.stopping:
            return False, {**details, "status": "stopping"}
        if self._once:
            return True, {**details, "status": "ok", "mode": "once"}
        if self.scheduler is None or self.scheduler.state != STATE_RUNNING:
            return False, {**details, "status": "not scheduling"}
        try:
            next_run = self._jobstore.get_next_run_time()
        except (SQLAlchemyError, OSError) as err:
            logger.warning("health: the job store is unreachable: %s", type(err).__name__)
            return False, {**details, "status": "job store unreachable"}
        details["next_run"] = next_run.isoformat() if next_run is not None else None
        return True, {**details, "status": "ok", "sources": len(self._schedules)}

    # --- internals ------------------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        source = str(event.job_id)
        if not source.startswith(JOB_PREFIX):
            return
        reason = "still_running" if event.code == EVENT_JOB_MAX_INSTANCES else "missed"
        self.metrics.skipped.labels(source.removeprefix(JOB_PREFIX), reason).inc()

    def _start_server(self) -> None:
        if self.config.metrics_port is None:
            return
        server = MetricsServer(
            self.metrics.registry, self.health, self.config.metrics_host, self.config.metrics_port
        )
        try:
            self.server = server.start()
        except OSError as err:
            raise SchedulingError(
                f"cannot serve metrics on {self.config.metrics_host}:{self.config.metrics_port}:"
                f" {err.strerror or err}"
            ) from err

    def _stop_server(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _abort(self) -> None:
        if self.scheduler is not None and self.scheduler.state != STATE_STOPPED:
            self.scheduler.shutdown(wait=False)
        self._stop_server()
        jobs.deactivate(self)
