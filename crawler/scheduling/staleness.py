"""Notice a source that has gone quiet: no new article for much longer than it usually takes.

The rule, with the defaults of :class:`~crawler.scheduling.config.StaleRule`:

- a source that has archived new articles before is stale when the time since its last run
  with a new article exceeds ``factor`` (4) times the median gap between its recent runs with
  new articles, and never before ``floor_seconds`` (6 h);
- a source that never archived a new article is stale after ``never_runs`` (12) runs.

Only what the rule needs is kept (:class:`SourceHistory`), in a JSON file across restarts.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from typing import Any

from crawler.scheduling.config import StaleRule
from crawler.scheduling.runs import INTERRUPTED, SUCCESS, RunResult


@dataclass(frozen=True)
class SourceHistory:
    """What the scheduler remembers of a source's runs. Times are seconds since the epoch."""

    last_run: float | None = None
    """Start of the last run."""
    last_success: float | None = None
    """End of the last successful run."""
    last_new: float | None = None
    """End of the last run that archived at least one new article."""
    new_gaps: tuple[float, ...] = field(default_factory=tuple)
    """Seconds between consecutive runs with new articles, oldest first."""
    runs_since_new: int = 0
    """Runs finished since ``last_new`` (or ever, if there was none)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "last_run": self.last_run,
            "last_success": self.last_success,
            "last_new": self.last_new,
            "new_gaps": list(self.new_gaps),
            "runs_since_new": self.runs_since_new,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceHistory:
        """Read the JSON form; unknown keys are ignored, wrong types raise ValueError."""
        return cls(
            last_run=_time(data.get("last_run")),
            last_success=_time(data.get("last_success")),
            last_new=_time(data.get("last_new")),
            new_gaps=tuple(float(gap) for gap in data.get("new_gaps") or ()),
            runs_since_new=int(data.get("runs_since_new") or 0),
        )


@dataclass(frozen=True)
class Staleness:
    """The verdict on one source at one moment."""

    stale: bool
    silent_for: float | None
    """Seconds since the last new article; None if there never was one."""
    threshold: float | None
    """Seconds of silence allowed; None when the rule counts runs instead."""
    runs_since_new: int

    def describe(self) -> str:
        """Say how long the source has been quiet, for the log."""
        if self.silent_for is None:
            runs = self.runs_since_new
            return f"no new article in its {runs} run{'' if runs == 1 else 's'}"
        assert self.threshold is not None
        return (
            f"no new article for {format_seconds(self.silent_for)} "
            f"(usual limit {format_seconds(self.threshold)})"
        )


def assess(history: SourceHistory, now: float, rule: StaleRule) -> Staleness:
    """Apply the staleness rule to a source's history at time ``now``."""
    if history.last_new is None:
        stale = history.runs_since_new >= rule.never_runs
        return Staleness(stale, None, None, history.runs_since_new)
    silent = max(0.0, now - history.last_new)
    threshold = rule.floor_seconds
    if history.new_gaps:
        threshold = max(threshold, rule.factor * statistics.median(history.new_gaps))
    return Staleness(silent > threshold, silent, threshold, history.runs_since_new)


def after_run(history: SourceHistory, run: RunResult, rule: StaleRule) -> SourceHistory:
    """Return the history updated with a finished run.

    A run stopped at shutdown only moves ``last_run``: it says nothing about the source.
    """
    updated = replace(history, last_run=run.started)
    if run.result == INTERRUPTED:
        return updated
    if run.result == SUCCESS:
        updated = replace(updated, last_success=run.ended)
    if run.new_articles <= 0:
        return replace(updated, runs_since_new=updated.runs_since_new + 1)
    gaps = updated.new_gaps
    if updated.last_new is not None:
        gaps = (*gaps, max(0.0, run.ended - updated.last_new))[-rule.gaps_kept :]
    return replace(updated, last_new=run.ended, new_gaps=gaps, runs_since_new=0)


def format_seconds(seconds: float) -> str:
    """Render a duration for people: ``3d 4h``, ``6h 0m``, ``12m 5s``, ``40s``."""
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _time(value: Any) -> float | None:
    return None if value is None else float(value)
