"""The revisit schedule, and the rule that two agreeing sightings confirm a state change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crawler.revisit_policy import (
    RevisitEntry,
    Sighting,
    SightingKind,
    decide,
    failure_kind,
    format_duration,
    next_due,
    parse_duration,
    parse_steps,
)

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
STEPS = parse_steps("1h,6h,24h,3d,7d")
IDENTITY = "https://news.example/world/ceasefire-talks"


def entry(**changes: object) -> RevisitEntry:
    base = RevisitEntry(IDENTITY, "news-example", IDENTITY, T0, STEPS, 0, T0 + HOUR)
    return replace(base, **changes)  # type: ignore[arg-type]


def seen(kind: SightingKind, at: datetime, status: int | None = 200, reason: str = "") -> Sighting:
    return Sighting(IDENTITY, "news-example", kind, at, status, IDENTITY, reason or kind)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0), ("90s", 90), ("30m", 1800), ("6h", 21600), ("3d", 259200), (" 1h ", 3600)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1", "h", "1w", "-1h", "1.5h", "1 h", "1h30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration such as"):
        parse_duration(text)


def test_default_schedule_and_lists() -> None:
    assert [format_duration(step) for step in STEPS] == ["1h", "6h", "1d", "3d", "7d"]
    assert parse_steps(["30m", "2h", "1d"]) == (HOUR / 2, 2 * HOUR, 24 * HOUR)
    assert parse_steps("") == ()
    assert parse_steps([]) == ()
    assert parse_steps("0s,0s,0s") == (timedelta(0),) * 3
    with pytest.raises(ValueError, match="may not decrease: '1h' after '6h'"):
        parse_steps("6h,1h")
    with pytest.raises(ValueError, match="expected a duration"):
        parse_steps("1h,,6h")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (404, "removed"),
        (410, "removed"),
        (401, "paywalled"),
        (402, "paywalled"),
        (403, "error"),
        (500, "error"),
        (None, "error"),
    ],
)
def test_what_a_failed_fetch_means(status: int | None, kind: str) -> None:
    assert failure_kind(status) == kind


def test_steps_count_from_first_seen_and_keep_their_gaps_when_late() -> None:
    assert next_due(T0, STEPS, 0) == T0 + HOUR
    # On time: the second step is 6 hours after the first sighting.
    assert next_due(T0, STEPS, 1, last_revisit=T0 + HOUR) == T0 + 6 * HOUR
    # Three hours late: the five-hour gap to the next step is kept after the late revisit.
    assert next_due(T0, STEPS, 1, last_revisit=T0 + 4 * HOUR) == T0 + 9 * HOUR
    assert next_due(T0, STEPS, 5, last_revisit=T0 + 7 * 24 * HOUR) is None


def test_a_normal_revisit_uses_up_one_step_until_the_last() -> None:
    current = entry()
    for step in range(len(STEPS)):
        at = current.next_due
        assert at is not None
        result = decide(current, seen("present", at, reason="unchanged"), HOUR)
        assert (result.observation, result.change, result.event) == (None, None, None)
        current = result.entry
        assert current.step == step + 1
        assert current.last_outcome == "present:unchanged"
    assert current.finished
    assert current.next_due is None


def test_a_removal_is_confirmed_by_the_next_revisit_that_agrees() -> None:
    first = decide(entry(), seen("removed", T0 + HOUR, 410, "http_410"), 2 * HOUR)
    assert first.observation == "removed_unconfirmed"
    assert first.change is None
    assert first.event == "removed_pending"
    pending = first.entry
    assert (pending.state, pending.pending, pending.pending_count) == ("present", "removed", 1)
    # The confirming revisit comes soon, and the decaying step is not used up.
    assert (pending.step, pending.next_due) == (0, T0 + 3 * HOUR)

    second = decide(pending, seen("removed", T0 + 3 * HOUR, 404, "http_404"), 2 * HOUR)
    assert second.observation == "removed"
    assert second.event == "removed"
    change = second.change
    assert change is not None
    assert (change.state, change.previous_state) == ("removed", "present")
    assert (change.detected_at, change.confirmed_at) == (T0 + HOUR, T0 + 3 * HOUR)
    assert [(e.status, e.reason) for e in change.evidence] == [(410, "http_410"), (404, "http_404")]
    assert change.evidence[0].to_dict() == {
        "observed_at": "2026-11-28T07:00:00.000000Z",
        "http_status": 410,
        "final_url": IDENTITY,
        "reason": "http_410",
    }
    confirmed = second.entry
    assert (confirmed.state, confirmed.pending, confirmed.evidence) == ("removed", None, ())
    assert confirmed.step == 1
    assert confirmed.next_due == T0 + 8 * HOUR  # 3 h + the 5-hour gap to the 6-hour step

    # Still gone: observed again, nothing new to record.
    again = decide(confirmed, seen("removed", T0 + 8 * HOUR, 410), 2 * HOUR)
    assert (again.observation, again.change, again.event) == ("removed", None, None)
    assert again.entry.state == "removed"

    # Back: restored at once; a served article is not a glitch.
    back = decide(again.entry, seen("present", T0 + 30 * HOUR, 200, "unchanged"), 2 * HOUR)
    assert back.event == "restored"
    assert back.observation is None
    assert back.change is not None
    assert (back.change.state, back.change.previous_state) == ("restored", "removed")
    assert back.change.detected_at == back.change.confirmed_at == T0 + 30 * HOUR
    assert back.entry.state == "present"


def test_one_failed_sighting_then_a_normal_fetch_cancels_it() -> None:
    pending = decide(entry(), seen("removed", T0 + HOUR, 404), HOUR).entry
    result = decide(pending, seen("present", T0 + 2 * HOUR, 200, "unchanged"), HOUR)
    assert result.event == "cancelled"
    assert (result.change, result.observation) == (None, None)
    assert (result.entry.state, result.entry.pending, result.entry.evidence) == (
        "present",
        None,
        (),
    )
    assert result.entry.step == 1


def test_errors_neither_confirm_nor_cancel() -> None:
    pending = decide(entry(), seen("paywalled", T0 + HOUR, 200, "paywall"), HOUR).entry
    error = decide(pending, seen("error", T0 + 2 * HOUR, 503, "http_503"), HOUR)
    assert (error.event, error.change, error.observation) == (None, None, None)
    assert (error.entry.pending, error.entry.pending_count) == ("paywalled", 1)
    assert error.entry.step == 1
    confirmed = decide(error.entry, seen("paywalled", T0 + 6 * HOUR, 200, "paywall"), HOUR)
    assert confirmed.event == "paywalled"
    assert confirmed.change is not None
    assert len(confirmed.change.evidence) == 2


def test_a_different_failure_starts_over() -> None:
    pending = decide(entry(), seen("removed", T0 + HOUR, 410), HOUR).entry
    other = decide(pending, seen("redirected", T0 + 2 * HOUR, 200, "redirect"), HOUR)
    assert other.event == "redirected_pending"
    assert other.observation == "redirected_unconfirmed"
    assert (other.entry.pending, other.entry.pending_count) == ("redirected", 1)
    # From a confirmed removal, a redirect is a change of its own.
    removed = entry(state="removed")
    moved = decide(removed, seen("redirected", T0 + HOUR, 200, "redirect"), HOUR).entry
    confirmed = decide(moved, seen("redirected", T0 + 2 * HOUR, 200, "redirect"), HOUR)
    assert confirmed.change is not None
    assert (confirmed.change.state, confirmed.change.previous_state) == ("redirected", "removed")
