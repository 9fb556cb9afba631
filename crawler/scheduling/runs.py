"""What one crawl run of one source came to: its result, the counts of its summary, one line."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SUCCESS = "success"
# The pseudo-source of the revisit runs: every source's due articles, in one child.
REVISITS = "revisits"
FAILED = "failed"
TIMEOUT = "timeout"
INTERRUPTED = "interrupted"
RESULTS = (SUCCESS, FAILED, TIMEOUT, INTERRUPTED)


@dataclass(frozen=True)
class RunResult:
    """One finished run of one source."""

    source: str
    run_id: str
    """Compact UTC start time, e.g. ``20261128T040000.123456Z``: names the run's files."""
    started: float
    """Start, in seconds since the epoch."""
    ended: float
    result: str
    """``success``, ``failed``, ``timeout`` or ``interrupted`` (stopped at shutdown)."""
    reason: str | None = None
    """Why the run did not succeed."""
    exit_code: int | None = None
    finish_reason: str | None = None
    """Scrapy's finish reason from the summary (``finished``, ``shutdown``, ...)."""
    counts: dict[str, Any] = field(default_factory=dict)
    """The source's entry of the crawl summary (see :mod:`crawler.summary`); empty without one."""
    summary_file: str | None = None
    log_file: str | None = None

    @property
    def duration(self) -> float:
        """Return the run's wall-clock duration in seconds."""
        return max(0.0, self.ended - self.started)

    @property
    def new_articles(self) -> int:
        """Return how many articles this run archived for the first time."""
        return int(self.counts.get("archived_by", {}).get("new", 0))

    def to_dict(self) -> dict[str, Any]:
        """Return the run record written to the state folder."""
        return {
            "source": self.source,
            "run_id": self.run_id,
            "started": iso_time(self.started),
            "ended": iso_time(self.ended),
            "duration_seconds": round(self.duration, 3),
            "result": self.result,
            "reason": self.reason,
            "exit_code": self.exit_code,
            "finish_reason": self.finish_reason,
            "counts": self.counts,
            "summary_file": self.summary_file,
            "log_file": self.log_file,
        }


def iso_time(timestamp: float) -> str:
    """Return an epoch time as ISO 8601 UTC with microseconds."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def run_id_for(timestamp: float) -> str:
    """Return the compact UTC name of a run started at ``timestamp``; names sort by time."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def judge(
    source: str,
    exit_code: int | None,
    summary: dict[str, Any] | None,
    *,
    timed_out: bool = False,
    interrupted: bool = False,
) -> tuple[str, str | None]:
    """Return ``(result, reason)`` of a run from its exit code and its summary.

    A crawl exits 0 when it finished, even if every listing of the source failed; such a run
    (listing warnings, no page fetched and no listing found unchanged) is a failure here.
    """
    if interrupted:
        return INTERRUPTED, "stopped at shutdown"
    if timed_out:
        return TIMEOUT, "stopped after the run timeout"
    if exit_code is None or exit_code != 0:
        return FAILED, _exit_reason(exit_code)
    if summary is None:
        return FAILED, "the crawl wrote no summary"
    if source == REVISITS:
        # A revisit run covers whichever sources have articles due, possibly none.
        return SUCCESS, None
    entry = summary.get("sources", {}).get(source)
    if entry is None:
        return FAILED, "the summary counts nothing for the source"
    warnings = entry.get("warnings") or []
    if warnings and not entry.get("fetched") and not entry.get("listings_unchanged"):
        noun = "warning" if len(warnings) == 1 else "warnings"
        return FAILED, f"every listing failed ({len(warnings)} {noun}): {warnings[0]}"
    return SUCCESS, None


def _exit_reason(exit_code: int | None) -> str:
    if exit_code is None:
        return "the crawl did not start"
    if exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"the crawl was killed by {name}"
    if exit_code == 2:
        return "the crawl refused its configuration (exit code 2); see its log"
    return f"the crawl exited with code {exit_code}; see its log"


def count_text(counts: dict[str, Any]) -> str:
    """Render the counts of one source as ``fetched=13 archived=12 (new=12) ...``."""
    archived_by = counts.get("archived_by") or {}
    detail = " ".join(f"{k}={v}" for k, v in sorted(archived_by.items()))
    parts = [
        f"fetched={counts.get('fetched', 0)}",
        f"archived={counts.get('archived', 0)}" + (f" ({detail})" if detail else ""),
        f"unchanged={counts.get('unchanged', 0)}",
        f"skipped={counts.get('skipped', 0)}",
        f"failed={counts.get('failed', 0)}",
    ]
    warnings = counts.get("warnings") or []
    if warnings:
        parts.append(f"warnings={len(warnings)}")
    return " ".join(parts)


def describe(run: RunResult) -> str:
    """Return the one line ``--once`` prints for a run."""
    status = "ok" if run.result == SUCCESS else run.result.upper()
    line = f"{run.source:<24} {status:<12} {run.duration:7.1f}s  {count_text(run.counts)}"
    if run.reason:
        line += f"  -- {run.reason}"
    return line
