"""Turn a source's ``schedule`` (``30m``, or 5 cron fields) into an APScheduler trigger."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.scheduling.config import SchedulingError
from crawler.sources import schedule_problem

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Classic cron counts weekdays from Sunday (0 and 7); APScheduler 3 counts from Monday, so
# weekdays are handed to it by name.
_CRON_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_APS_WEEKDAY_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def interval_seconds(schedule: str) -> int | None:
    """Return the seconds of an interval schedule (``15m`` -> 900), or None for cron."""
    text = schedule.strip()
    if len(text) >= 2 and text[-1] in UNIT_SECONDS and text[:-1].isdigit():
        return int(text[:-1]) * UNIT_SECONDS[text[-1]]
    return None


def build_trigger(schedule: str, timezone: tzinfo) -> Any:
    """Return the trigger of a schedule; cron expressions are read in ``timezone``.

    Raise :class:`SchedulingError` if the schedule is invalid.
    """
    problem = schedule_problem(schedule)
    if problem is not None:
        raise SchedulingError(f"schedule {schedule!r}: {problem}")
    seconds = interval_seconds(schedule)
    if seconds is not None:
        return IntervalTrigger(seconds=seconds, timezone=timezone)
    minute, hour, day, month, day_of_week = schedule.lower().split()
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=cron_day_of_week(day_of_week),
            timezone=timezone,
        )
    except ValueError as err:
        raise SchedulingError(f"schedule {schedule!r}: {err}") from err


def cron_day_of_week(field: str) -> str:
    """Translate a classic cron day-of-week field (0 or 7 = Sunday) into APScheduler names.

    ``1-5`` -> ``mon,tue,wed,thu,fri``; ``0`` -> ``sun``; ``*`` stays ``*``.
    """
    text = field.strip().lower()
    if text == "*":
        return "*"
    days: set[int] = set()
    for item in text.split(","):
        days |= _expand_weekdays(item)
    return ",".join(name for name in _APS_WEEKDAY_ORDER if _CRON_WEEKDAYS.index(name) in days)


def _expand_weekdays(item: str) -> set[int]:
    span, _, step_text = item.partition("/")
    step = int(step_text) if step_text else 1
    if step < 1:
        raise SchedulingError(f"cron day of week {item!r}: a step must be 1 or more")
    if span == "*":
        first, last = 0, 6
    else:
        start, _, end = span.partition("-")
        first = _weekday_number(start)
        # "a/n" runs from a to the end of the week, as in classic cron.
        last = _weekday_number(end) if end else (7 if step_text else first)
    if first > last:
        raise SchedulingError(f"cron day of week {item!r}: the range runs backwards")
    return {day % 7 for day in range(first, last + 1, step)}


def _weekday_number(token: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token in _CRON_WEEKDAYS:
        return _CRON_WEEKDAYS.index(token)
    raise SchedulingError(f"cron day of week: cannot read {token!r}")


def trigger_fingerprint(trigger: Any) -> str:
    """Describe what makes two triggers fire at the same times (not their start dates)."""
    if isinstance(trigger, IntervalTrigger):
        return f"interval:{trigger.interval.total_seconds():g}"
    if isinstance(trigger, CronTrigger):
        return f"cron:{trigger}:{trigger.timezone}"
    return repr(trigger)


def first_run_time(trigger: Any, now: datetime, last_run: datetime | None) -> datetime | None:
    """Return when a new (or rescheduled) job should first run.

    An interval job runs one interval after the source's last run, or now if that is past or
    the source never ran: a fresh container crawls at once. A cron job waits for its next time.
    """
    if isinstance(trigger, IntervalTrigger):
        interval: timedelta = trigger.interval
        if last_run is None:
            return now
        return max(now, last_run + interval)
    nxt: datetime | None = trigger.get_next_fire_time(None, now)
    return nxt
