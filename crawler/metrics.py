"""The scheduler's Prometheus metrics and the HTTP server of ``/metrics`` and ``/healthz``.

Metrics live in a registry of their own (never the process-global one), so several schedulers in
one process (tests) do not collide. docs/scheduler.md lists every series and its labels.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from crawler.scheduling.runs import RESULTS, RunResult
from crawler.scheduling.staleness import SourceHistory

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, float("inf"))


class SchedulerMetrics:
    """Every series the scheduler exports, fed from run results and source histories."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        per_source = ["source"]
        self.last_success = Gauge(
            "newsarchive_source_last_success_timestamp_seconds",
            "End of the source's last successful run (Unix time).",
            per_source,
            registry=r,
        )
        self.last_run = Gauge(
            "newsarchive_source_last_run_timestamp_seconds",
            "Start of the source's last run, whatever its result (Unix time).",
            per_source,
            registry=r,
        )
        self.last_new = Gauge(
            "newsarchive_source_last_new_article_timestamp_seconds",
            "End of the source's last run that archived a new article (Unix time).",
            per_source,
            registry=r,
        )
        self.stale = Gauge(
            "newsarchive_source_stale",
            "1 when the source has produced no new article for much longer than usual.",
            per_source,
            registry=r,
        )
        self.running = Gauge(
            "newsarchive_source_running",
            "1 while a crawl of the source runs.",
            per_source,
            registry=r,
        )
        self.runs = Counter(
            "newsarchive_runs_total",
            "Runs by result: success, failed, timeout, interrupted.",
            ["source", "result"],
            registry=r,
        )
        self.skipped = Counter(
            "newsarchive_runs_skipped_total",
            "Scheduled runs that did not start: still_running (the last run had not ended) "
            "or missed (later than the misfire grace time).",
            ["source", "reason"],
            registry=r,
        )
        self.duration = Histogram(
            "newsarchive_run_duration_seconds",
            "Wall-clock duration of runs.",
            per_source,
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.archived = Counter(
            "newsarchive_articles_archived_total",
            "Versions archived, by outcome: new (first version) or changed (a later version).",
            ["source", "outcome"],
            registry=r,
        )
        self.unchanged = Counter(
            "newsarchive_articles_unchanged_total",
            "Articles fetched again and found unchanged (an observation, no new version).",
            per_source,
            registry=r,
        )
        self.versions = Counter(
            "newsarchive_versions_total",
            "Version records written (new and changed together).",
            per_source,
            registry=r,
        )
        self.fetched = Counter(
            "newsarchive_pages_fetched_total",
            "Article pages fetched.",
            per_source,
            registry=r,
        )
        self.page_skips = Counter(
            "newsarchive_pages_skipped_total",
            "Article candidates skipped, by reason (not_article, robots_disallowed, ...).",
            ["source", "reason"],
            registry=r,
        )
        self.fetch_errors = Counter(
            "newsarchive_fetch_errors_total",
            "Article fetches or archivings that failed, by reason (http_404, timeout, ...).",
            ["source", "reason"],
            registry=r,
        )
        self.listing_warnings = Counter(
            "newsarchive_listing_warnings_total",
            "Feeds, sitemaps or section pages that could not be read.",
            per_source,
            registry=r,
        )

    def observe_run(self, run: RunResult) -> None:
        """Count a finished run and what it archived."""
        source = run.source
        self.runs.labels(source, run.result).inc()
        self.duration.labels(source).observe(run.duration)
        counts = run.counts
        for outcome, n in (counts.get("archived_by") or {}).items():
            self.archived.labels(source, outcome).inc(n)
        self.versions.labels(source).inc(counts.get("archived", 0))
        self.unchanged.labels(source).inc(counts.get("unchanged", 0))
        self.fetched.labels(source).inc(counts.get("fetched", 0))
        for reason, n in (counts.get("skipped_by") or {}).items():
            self.page_skips.labels(source, reason).inc(n)
        for reason, n in (counts.get("failed_by") or {}).items():
            self.fetch_errors.labels(source, reason).inc(n)
        self.listing_warnings.labels(source).inc(len(counts.get("warnings") or ()))

    def declare(self, sources: Iterable[str]) -> None:
        """Show every scheduled source in the series, at zero, before its first run."""
        for source in sources:
            self.running.labels(source).set(0)
            self.stale.labels(source)
            for result in RESULTS:
                self.runs.labels(source, result)
            for outcome in ("new", "changed"):
                self.archived.labels(source, outcome)
            self.unchanged.labels(source)
            self.versions.labels(source)

    def forget(self, source: str) -> None:
        """Drop the gauges of a source that is no longer scheduled."""
        for gauge in (self.last_success, self.last_run, self.last_new, self.stale, self.running):
            with contextlib.suppress(KeyError):
                gauge.remove(source)

    def set_history(self, source: str, history: SourceHistory) -> None:
        """Publish the timestamps of a source's history."""
        for gauge, value in (
            (self.last_success, history.last_success),
            (self.last_run, history.last_run),
            (self.last_new, history.last_new),
        ):
            if value is not None:
                gauge.labels(source).set(value)


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up in DNS; a metrics port does not need it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)
        self.setup_environ()


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("metrics http: " + format, *args)


class MetricsServer:
    """Serve ``/metrics`` (Prometheus text format) and ``/healthz`` in a background thread."""

    def __init__(
        self, registry: CollectorRegistry, health: HealthCheck, host: str, port: int
    ) -> None:
        self.registry = registry
        self.health = health
        self.host = host
        self.requested_port = port
        self._metrics_app = make_wsgi_app(registry)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """Return the port served (the one picked when 0 was asked for)."""
        if self._server is None:
            raise RuntimeError("the metrics server is not running")
        return self._server.server_port

    def start(self) -> MetricsServer:
        """Bind and start serving; raise OSError if the port cannot be bound."""
        server_class = _Server6 if ":" in self.host else _Server
        self._server = make_server(
            self.host,
            self.requested_port,
            self._app,
            server_class=server_class,
            handler_class=_QuietHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="metrics-http",
            daemon=True,
        )
        self._thread.start()
        logger.info("metrics at http://%s:%d/metrics, health at /healthz", self.host, self.port)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body: Iterable[bytes] = self._metrics_app(environ, start_response)
            return body
        if path == "/healthz":
            try:
                healthy, details = self.health()
            except Exception as err:  # a failing check is an unhealthy answer, not a 500
                logger.exception("the health check failed")
                healthy, details = False, {"status": "error", "error": type(err).__name__}
            payload = json.dumps(details, sort_keys=True).encode("utf-8")
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(
                status,
                [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
            )
            return [payload]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: try /metrics or /healthz\n"]
