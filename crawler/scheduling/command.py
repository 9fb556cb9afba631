"""``newsarchive schedule`` and ``python scheduler.py``: the container's long-running service.

Only the standard library is imported at module level: ``crawler.cli`` imports this module to
build its parser, and every crawl child runs ``crawler.cli``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

logger = logging.getLogger("crawler.scheduling")


def add_schedule_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``schedule`` options to ``parser``."""
    parser.add_argument("--sources", help="sources TOML file (default: ARCHIVE_SOURCES or bundled)")
    parser.add_argument("--archive", help="archive URI: a folder or s3://bucket/prefix")
    parser.add_argument(
        "--state-dir", help="job store, run records and metrics state (default: ./state)"
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="run every enabled source once and exit (non-zero if any failed)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        help="port of /metrics and /healthz (default 9410; 0 picks a free port)",
    )
    parser.add_argument("--metrics-host", help="address to serve metrics on (default 0.0.0.0)")
    parser.add_argument(
        "-s",
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="override a crawl setting in every run (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line of ``scheduler.py``."""
    parser = argparse.ArgumentParser(
        prog="scheduler.py",
        description="Crawl every source on its own schedule, with metrics and a health check.",
    )
    add_schedule_arguments(parser)
    return parser


def cmd_schedule(args: argparse.Namespace) -> int:
    """Run the scheduler (or, with ``--once``, every source once)."""
    from crawler.scheduling.config import load_config
    from crawler.scheduling.service import SchedulerService

    config = load_config(
        sources=args.sources,
        archive=args.archive,
        state_dir=args.state_dir,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        serve_metrics=not args.once,
        settings=args.set or (),
    )
    configure_logging(config.log_level)
    service = SchedulerService(config)
    signals = StopSignals(hurry=lambda: setattr(service.runner, "hurry", True))
    signals.install()
    try:
        if args.once:
            return _run_once(service, signals)
        return _serve(service, signals)
    finally:
        signals.restore()


def _serve(service: Any, signals: StopSignals) -> int:
    service.start()
    try:
        while not signals.stop_requested:
            time.sleep(0.2)
            if signals.take_reload():
                service.reload()
        logger.info(
            "received %s: starting no new run, stopping running crawls within %gs",
            signals.received,
            service.config.shutdown_grace,
        )
    finally:
        service.stop()
    return EXIT_OK


def _run_once(service: Any, signals: StopSignals) -> int:
    from crawler.scheduling.runs import SUCCESS, describe

    results = service.run_once(should_stop=lambda: signals.stop_requested)
    failed = 0
    for name, run in results.items():
        if run is None:
            failed += 1
            print(f"{name:<24} {'NOT RUN':<12}  -- stopped before it started", flush=True)
            continue
        if run.result != SUCCESS:
            failed += 1
        print(describe(run), flush=True)
    print(f"{len(results)} sources: {len(results) - failed} ok, {failed} failed", flush=True)
    return EXIT_OK if failed == 0 else EXIT_FAILED


class StopSignals:
    """SIGTERM and SIGINT ask to stop (a second one: stop now); SIGHUP asks to reload.

    The handlers only set flags; the main loop acts on them.
    """

    def __init__(self, hurry: Callable[[], None]) -> None:
        self.hurry = hurry
        self.stop_requests = 0
        self.received = ""
        self._reload = False
        self._previous: dict[int, Any] = {}

    @property
    def stop_requested(self) -> bool:
        """Return whether SIGTERM or SIGINT arrived."""
        return self.stop_requests > 0

    def take_reload(self) -> bool:
        """Return whether SIGHUP arrived since the last call."""
        wanted, self._reload = self._reload, False
        return wanted

    def install(self) -> None:
        """Install the handlers (in the main thread)."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        """Put back the handlers that were there before."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._reload = True
            return
        self.received = signal.Signals(signum).name
        self.stop_requests += 1
        if self.stop_requests > 1:
            self.hurry()


def configure_logging(level: str) -> None:
    """Log to stderr, one line per event, unless the process already set logging up."""
    from crawler.scheduling.config import SchedulingError

    if not isinstance(logging.getLevelName(level.upper()), int):
        raise SchedulingError(f"ARCHIVE_LOG_LEVEL: unknown log level {level!r}")
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
    # APScheduler says "Running job" and "executed successfully" for every run; our own run
    # start and end lines say more.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``scheduler.py``: the same options as ``newsarchive schedule``."""
    from archiver import ArchiverError
    from crawler.errors import CrawlerError

    args = build_parser().parse_args(argv)
    try:
        return cmd_schedule(args)
    except (CrawlerError, ArchiverError) as err:
        print(f"scheduler: error: {err}", file=sys.stderr)
        return EXIT_USAGE
