"""Backfills: the date window of a sitemap walk, and progress reports for long runs.

``scrapy crawl news -a source=NAME -a since=YYYY-MM-DD [-a until=YYYY-MM-DD]`` walks a source's
sitemaps for articles dated in the window; ``-a urls=FILE`` archives a list of URLs. Both skip
articles the archive already holds, so an interrupted backfill simply runs again to finish.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime

from crawler.errors import CrawlerError

logger = logging.getLogger(__name__)


def listing_day(text: str | None) -> date | None:
    """Return the calendar day of a feed or sitemap date (ISO 8601 or RFC 2822), if readable."""
    if not text:
        return None
    text = text.strip()
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError):
        pass
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class DateWindow:
    """Inclusive range of publication days a backfill archives."""

    since: date
    until: date | None = None

    @classmethod
    def parse(cls, since: str, until: str | None = None) -> DateWindow:
        """Read ``since``/``until`` arguments; a clear error names the bad one."""
        try:
            start = date.fromisoformat(since)
        except ValueError as err:
            raise CrawlerError(f"since={since!r}: expected a date like 2026-11-01") from err
        end = None
        if until:
            try:
                end = date.fromisoformat(until)
            except ValueError as err:
                raise CrawlerError(f"until={until!r}: expected a date like 2026-11-30") from err
            if end < start:
                raise CrawlerError(f"until={until} is before since={since}")
        return cls(start, end)

    def admits(self, listed: str | None) -> bool:
        """Say whether a listed URL falls in the window; undated URLs are kept (can't tell)."""
        day = listing_day(listed)
        if day is None:
            return True
        return day >= self.since and (self.until is None or day <= self.until)

    def may_hold(self, lastmod: str | None) -> bool:
        """Say whether a child sitemap last modified at ``lastmod`` may list articles in range.

        A sitemap last changed before ``since`` lists nothing newer than that.
        """
        day = listing_day(lastmod)
        return day is None or day >= self.since


class Progress:
    """Count pages done against pages known, and log the rate and time left now and then."""

    def __init__(self, interval: float = 10.0, label: str = "progress") -> None:
        self.interval = interval
        self.label = label
        self.known = 0
        self.done = 0
        self.started = time.monotonic()
        self._last_log = self.started

    def found(self, n: int = 1) -> None:
        """Note ``n`` more pages to do."""
        self.known += n

    def finished(self, n: int = 1) -> None:
        """Note ``n`` pages done; log if the interval has passed."""
        self.done += n
        now = time.monotonic()
        if now - self._last_log >= self.interval:
            self._last_log = now
            self.log()

    def eta_seconds(self) -> float | None:
        """Estimate the seconds left at the rate so far (``None`` before any page is done)."""
        if self.done == 0:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.done * max(0, self.known - self.done)

    def log(self) -> None:
        """Log pages done, total known so far and the estimated time left."""
        eta = self.eta_seconds()
        left = "unknown" if eta is None else f"{eta:.0f}s"
        logger.info(
            "%s: %d of %d pages done (total known so far), about %s left",
            self.label,
            self.done,
            self.known,
            left,
        )
