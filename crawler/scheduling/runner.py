"""Run one crawl of one source in a child process, bounded in time, and keep its record.

Scrapy's Twisted reactor cannot be restarted in a process, so every run is a fresh
``python -m crawler.cli crawl`` child. Its exit code and its JSON summary are the result. Each
run leaves three files under ``STATE_DIR/runs/SOURCE/``: ``RUN_ID.json`` (the run record),
``RUN_ID.summary.json`` (the crawl's summary) and ``RUN_ID.log`` (the crawl's output).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from crawler.scheduling.config import SchedulerConfig
from crawler.scheduling.runs import REVISITS, RunResult, count_text, judge, run_id_for
from crawler.scheduling.state import write_json_atomic

logger = logging.getLogger(__name__)

# How often a stopping runner looks at its children.
_POLL_SECONDS = 0.1


class CrawlRunner:
    """Start crawl children, stop them on timeout or shutdown, and record each run.

    Safe to call from several threads at once; the scheduler bounds how many run together.
    """

    def __init__(self, config: SchedulerConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._interrupted: set[str] = set()
        self._stopping = False
        # Set from a signal handler (no lock there): skip the rest of the grace and kill now.
        self.hurry = False

    @property
    def stopping(self) -> bool:
        """Return whether :meth:`stop_all` was called: no new run starts."""
        return self._stopping

    def running(self) -> list[str]:
        """Return the sources whose crawl runs now."""
        with self._lock:
            return sorted({key.split("/", 1)[0] for key in self._children})

    def command(self, source: str, summary_file: Path) -> list[str]:
        """Return the child's command line: a crawl of ``source``, or the revisit run."""
        selection = ["revisit"] if source == REVISITS else ["crawl", "--source", source]
        cmd = [
            sys.executable,
            "-m",
            "crawler.cli",
            *selection,
            "--sources",
            str(self.config.sources),
            "--archive",
            self.config.archive,
            "--summary",
            str(summary_file),
        ]
        for name, value in self.config.crawl_settings:
            cmd += ["-s", f"{name}={value}"]
        return cmd

    def child_environment(self) -> dict[str, str]:
        """Return the child's environment: ours, with the crawl's state in our state folder.

        The crawl keeps local state of its own (the revisit queue) in ``ARCHIVE_STATE_DIR``;
        it belongs beside the scheduler's, whatever the child's working directory.
        """
        return {**os.environ, "ARCHIVE_STATE_DIR": str(self.config.state_dir.resolve())}

    def run(self, source: str) -> RunResult | None:
        """Crawl ``source`` once in a child process and return the result.

        Return None, without starting anything, once :meth:`stop_all` has been called.
        """
        if self._stopping:
            return None
        started = time.time()
        run_id = run_id_for(started)
        folder = self.config.runs_dir / source
        folder.mkdir(parents=True, exist_ok=True)
        summary_file = folder / f"{run_id}.summary.json"
        log_file = folder / f"{run_id}.log"
        key = f"{source}/{run_id}"
        timed_out = False
        child: subprocess.Popen[bytes] | None
        with log_file.open("wb") as log:
            with self._lock:
                if self._stopping:
                    log_file.unlink(missing_ok=True)
                    return None
                try:
                    # A session of its own: a Ctrl-C on the terminal reaches the scheduler only,
                    # which forwards one SIGTERM; Scrapy would take a second signal as "kill now".
                    child = subprocess.Popen(
                        self.command(source, summary_file),
                        env=self.child_environment(),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                except OSError as err:
                    logger.error("run start failed: source=%s error=%s", source, err)
                    child = None
                else:
                    self._children[key] = child
            if child is None:
                exit_code = None
            else:
                logger.info("run start: source=%s run=%s pid=%d", source, run_id, child.pid)
                try:
                    exit_code = child.wait(timeout=self.config.run_timeout)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    logger.warning(
                        "run timeout: source=%s run=%s still running after %gs; stopping it",
                        source,
                        run_id,
                        self.config.run_timeout,
                    )
                    exit_code = self._stop_child(child, self.config.shutdown_grace)
                finally:
                    with self._lock:
                        self._children.pop(key, None)
                        interrupted = key in self._interrupted
                        self._interrupted.discard(key)
        ended = time.time()
        summary = _read_summary(summary_file)
        result, reason = judge(
            source,
            exit_code,
            summary,
            timed_out=timed_out,
            interrupted=child is not None and interrupted,
        )
        run = RunResult(
            source=source,
            run_id=run_id,
            started=started,
            ended=ended,
            result=result,
            reason=reason,
            exit_code=exit_code,
            finish_reason=summary.get("finish_reason") if summary else None,
            counts=(summary or {}).get("sources", {}).get(source, {}),
            summary_file=str(summary_file) if summary is not None else None,
            log_file=str(log_file),
        )
        write_json_atomic(folder / f"{run_id}.json", run.to_dict())
        self._prune(folder)
        log_level = logging.INFO if result == "success" else logging.WARNING
        logger.log(
            log_level,
            "run end: source=%s run=%s result=%s duration=%.1fs exit=%s %s%s",
            source,
            run_id,
            result,
            run.duration,
            exit_code,
            count_text(run.counts),
            f" reason={reason} log={log_file}" if reason else "",
        )
        return run

    def stop_all(self, grace: float) -> None:
        """Start no new run; send SIGTERM to every child, then SIGKILL after ``grace`` seconds.

        Return once every child has exited.
        """
        with self._lock:
            self._stopping = True
            children = dict(self._children)
            self._interrupted.update(children)
        if not children:
            return
        logger.info("stopping %d running crawl(s): %s", len(children), ", ".join(sorted(children)))
        for child in children.values():
            _signal(child, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(child.poll() is None for child in children.values()):
            if self.hurry or time.monotonic() >= deadline:
                for key, child in children.items():
                    if child.poll() is None:
                        logger.warning("killing crawl %s (pid %d): grace over", key, child.pid)
                        _signal(child, signal.SIGKILL)
                for child in children.values():
                    child.wait()
                break
            time.sleep(_POLL_SECONDS)

    def _stop_child(self, child: subprocess.Popen[bytes], grace: float) -> int:
        _signal(child, signal.SIGTERM)
        try:
            return child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            logger.warning("killing crawl pid %d: it did not stop within %gs", child.pid, grace)
            _signal(child, signal.SIGKILL)
            return child.wait()

    def _prune(self, folder: Path) -> None:
        """Keep the newest ``keep_runs`` runs of a source; run ids sort by time."""
        records = sorted(p for p in folder.glob("*.json") if not p.name.endswith(".summary.json"))
        for record in records[: max(0, len(records) - self.config.keep_runs)]:
            run_id = record.name.removesuffix(".json")
            for name in (f"{run_id}.json", f"{run_id}.summary.json", f"{run_id}.log"):
                (folder / name).unlink(missing_ok=True)


def _signal(child: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the child's whole process group (it leads its own session)."""
    # A reaped child's pid may already belong to someone else: signal live children only.
    if child.poll() is not None:
        return
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        child.send_signal(sig)


def _read_summary(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        logger.warning("cannot read the crawl summary %s: %s", path, err)
        return None
    return data if isinstance(data, dict) else None
