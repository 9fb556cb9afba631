"""When to come back to an article, and what a revisit says about it.

Each archived article is revisited on a decaying schedule after it was first seen (by default
1 h, 6 h, 24 h, 3 days and 7 days after). A revisit either finds the article (edited or not)
or a failed sighting: removed (404, 410), redirected to another story, or turned into a paywall
or login wall. A failed sighting becomes a state change only when the next revisit agrees with
it; :func:`decide` applies that rule. Nothing here does I/O: :mod:`crawler.revisits` keeps the
queue, :mod:`archiver.states` writes what the archive keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

ArticleState = Literal["present", "removed", "redirected", "paywalled"]
FailedState = Literal["removed", "redirected", "paywalled"]
SightingKind = Literal["present", "removed", "redirected", "paywalled", "error"]
ChangeName = Literal["removed", "redirected", "paywalled", "restored"]
SightingReason = Literal[
    "removed_unconfirmed",
    "redirected_unconfirmed",
    "paywalled_unconfirmed",
    "removed",
    "redirected",
    "paywalled",
]
"""Reason of the observation written for a failed sighting (see ``archiver.states``)."""

FAILED_STATES: tuple[FailedState, ...] = ("removed", "redirected", "paywalled")
_UNCONFIRMED: dict[FailedState, SightingReason] = {
    "removed": "removed_unconfirmed",
    "redirected": "redirected_unconfirmed",
    "paywalled": "paywalled_unconfirmed",
}
REMOVED_STATUSES = frozenset({404, 410})
"""HTTP statuses that say the article was taken down."""
WALL_STATUSES = frozenset({401, 402})
"""HTTP statuses that put the article behind a login wall or a paywall."""
DEFAULT_STEPS = "1h,6h,24h,3d,7d"

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``90s``, ``30m``, ``6h`` or ``3d``; raise ValueError if not one."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected a duration such as '30m', '6h' or '3d', got {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_steps(value: str | Iterable[str]) -> tuple[timedelta, ...]:
    """Parse a revisit schedule: ``"1h,6h,24h,3d,7d"`` or a list of durations.

    Each step counts from when the article was first seen, so steps may not decrease. An empty
    schedule (``""`` or ``[]``) means no revisits.
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    texts = [item.strip() for item in items]
    if isinstance(value, str) and texts == [""]:
        return ()
    steps = tuple(parse_duration(text) for text in texts)
    for i in range(1, len(steps)):
        if steps[i] < steps[i - 1]:
            raise ValueError(
                "steps count from when the article was first seen and may not decrease: "
                f"{texts[i]!r} after {texts[i - 1]!r}"
            )
    return steps


def format_duration(step: timedelta) -> str:
    """Write a step as the largest whole unit (``6h``, ``90s``)."""
    seconds = int(step.total_seconds())
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def next_due(
    first_seen: datetime,
    steps: tuple[timedelta, ...],
    step: int,
    last_revisit: datetime | None = None,
) -> datetime | None:
    """Return when step ``step`` (0-based) is due, or None when the schedule is over.

    A step is due its offset after ``first_seen``; when the revisit before it came late, the gap
    between the two steps is kept after that revisit, so a backlog never crowds revisits together.
    """
    if step >= len(steps):
        return None
    due = first_seen + steps[step]
    if step > 0 and last_revisit is not None:
        due = max(due, last_revisit + (steps[step] - steps[step - 1]))
    return due


def failure_kind(status: int | None) -> SightingKind:
    """Say what a failed fetch with HTTP ``status`` (None: no response) means for the article.

    403 is not a wall: it is as often a crawler being refused as a reader.
    """
    if status in REMOVED_STATUSES:
        return "removed"
    if status in WALL_STATUSES:
        return "paywalled"
    return "error"


def iso(moment: datetime) -> str:
    """Format as ``2026-11-28T03:40:12.123456Z`` (sorts chronologically as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 time; naive times are taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Sighting:
    """What one revisit of an article found; the item the revisit spider hands to the pipelines
    for pages that are not archived (failures, redirects)."""

    identity_url: str
    source: str
    kind: SightingKind
    """``present`` (the article was served), a failed state, or ``error`` (a transient failure:
    5xx, timeout, DNS...; it neither confirms nor cancels anything)."""
    observed_at: datetime
    status: int | None
    """HTTP status of the final response; None when there was none."""
    url: str | None
    """Final URL after redirects."""
    reason: str
    """Detail: ``http_410``, ``redirect``, ``offsite_redirect``, ``canonical``, ``paywall``,
    ``not_article``, ``changed``, ``unchanged``, ``http_500``, ``timeout``..."""


@dataclass(frozen=True)
class Evidence:
    """One failed (or, for ``restored``, successful) sighting backing a state change."""

    observed_at: datetime
    status: int | None
    url: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the evidence as the archive's state records give it."""
        return {
            "observed_at": iso(self.observed_at),
            "http_status": self.status,
            "final_url": self.url,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        """Build evidence from :meth:`to_dict` output."""
        return cls(
            parse_iso(data["observed_at"]), data["http_status"], data["final_url"], data["reason"]
        )


@dataclass(frozen=True)
class RevisitEntry:
    """One article in the revisit queue."""

    identity_url: str
    source: str
    url: str
    """The URL to fetch: the final URL of the article's first fetch."""
    first_seen: datetime
    steps: tuple[timedelta, ...]
    """The schedule the article was given when it was enqueued."""
    step: int = 0
    """Index of the next scheduled step; ``len(steps)`` once the schedule is over."""
    next_due: datetime | None = None
    """When the article is next due; None once finished."""
    state: ArticleState = "present"
    """The confirmed state."""
    pending: FailedState | None = None
    """A failed state seen once and waiting for a confirming revisit."""
    evidence: tuple[Evidence, ...] = ()
    """The sightings of the pending state, oldest first."""
    last_revisit: datetime | None = None
    last_outcome: str | None = None
    """``KIND:REASON`` of the last revisit, e.g. ``removed:http_410`` or ``present:unchanged``."""

    @property
    def finished(self) -> bool:
        """Tell whether the schedule is over."""
        return self.next_due is None

    @property
    def pending_count(self) -> int:
        """Return how many consecutive revisits saw the pending state."""
        return len(self.evidence)


@dataclass(frozen=True)
class StateChange:
    """A confirmed change of an article's state, to record in the archive."""

    state: ChangeName
    previous_state: ArticleState
    detected_at: datetime
    """The first sighting."""
    confirmed_at: datetime
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Transition:
    """What one revisit does: the entry after it, and what to write and count."""

    entry: RevisitEntry
    observation: SightingReason | None = None
    """Reason of the observation to write for a failed sighting: ``removed_unconfirmed`` for
    the first sighting of a state, ``removed`` once it is (or is being) confirmed."""
    change: StateChange | None = None
    event: str | None = None
    """For the summary: ``removed_pending``, ``removed``, ``restored``, ``cancelled``..."""


def decide(entry: RevisitEntry, sighting: Sighting, confirm_after: timedelta) -> Transition:
    """Apply one revisit to a queue entry.

    A failed state is confirmed by two consecutive sightings that agree: the first is recorded
    as an observation and a confirming revisit is scheduled ``confirm_after`` later, outside
    the decaying steps. A normal fetch in between cancels it. A served article after a
    confirmed failed state is a restoration. Every revisit but a first sighting uses up a step.
    """
    at = sighting.observed_at
    seen = Evidence(at, sighting.status, sighting.url, sighting.reason)
    base = replace(entry, last_revisit=at, last_outcome=f"{sighting.kind}:{sighting.reason}")
    kind = sighting.kind
    if kind in FAILED_STATES and kind not in (entry.state, entry.pending):
        # The first sighting may be a glitch: look again soon, before the next decaying step.
        pending = replace(base, pending=kind, evidence=(seen,), next_due=at + confirm_after)
        return Transition(pending, _UNCONFIRMED[kind], None, f"{kind}_pending")
    state, waiting, evidence = entry.state, entry.pending, entry.evidence
    observation: SightingReason | None = None
    change: StateChange | None = None
    event: str | None = None
    if kind in FAILED_STATES:
        observation = kind
        if kind == entry.pending:
            assert entry.pending is not None
            proof = (*evidence, seen)
            change = StateChange(entry.pending, state, proof[0].observed_at, at, proof)
            state, waiting, evidence, event = entry.pending, None, (), kind
    elif kind == "present":
        if waiting is not None:
            waiting, evidence, event = None, (), "cancelled"
        if state != "present":
            change = StateChange("restored", state, at, at, (seen,))
            state, event = "present", "restored"
    step = entry.step + 1
    after = replace(
        base,
        state=state,
        pending=waiting,
        evidence=evidence,
        step=step,
        next_due=next_due(entry.first_seen, entry.steps, step, at),
    )
    return Transition(after, observation, change, event)
