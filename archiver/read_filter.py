"""Filters for reading articles: source, publication and capture time, language, text.

A bound may be a ``date`` (the whole UTC day is inclusive), an aware or naive ``datetime``
(naive is UTC; compared as an instant) or the same as an ISO 8601 string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from .errors import ArchiverError

TimeBound = date | datetime | str
"""A date (whole UTC day), a datetime (an instant; naive means UTC) or either in ISO 8601."""

TEXT_FIELDS = ("headline", "description", "body")
"""Fields ``text_contains`` searches."""


class ReadError(ArchiverError):
    """A read that cannot be answered: an unknown article or version, a bad filter."""


class UnknownArticleError(ReadError, LookupError):
    """No article is archived under the URL given."""


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 time (``2026-11-27T12:00Z``) into an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise ReadError(f"not an ISO 8601 time: {text!r}") from err
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _bound(value: TimeBound | None, *, upper: bool) -> datetime | None:
    """Return the instant a bound stands for; an upper date bound ends with its day."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else parse_instant(text)
        except ValueError as err:
            raise ReadError(f"not an ISO 8601 date or time: {value!r}") from err
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    start = datetime.combine(value, time(0), tzinfo=UTC)
    # Exclusive end of the day: compared with "<" below, so the whole day is inside.
    return start + timedelta(days=1) if upper else start


def record_time(value: Any) -> datetime | None:
    """Return a record's time field as an aware UTC datetime, or None if it has none.

    A date alone (``2026-11-27``) stands for midnight UTC; a naive time is taken as UTC.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_instant(value)
    except ReadError:
        return None


def _language_matches(wanted: str, language: Any) -> bool:
    # "fr" matches "fr", "fr-FR" and "fr_CA"; "fr-FR" matches only itself.
    if not isinstance(language, str) or not language:
        return False
    given = wanted.strip().lower().replace("_", "-")
    tag = language.strip().lower().replace("_", "-")
    return tag == given or tag.startswith(given + "-")


@dataclass(frozen=True)
class ArticleFilter:
    """Which versions to read; every criterion is optional and every bound inclusive.

    ``sources`` names sources (any of them matches); ``language`` is a language tag and also
    matches its regional variants (``fr`` matches ``fr-FR``); ``text_contains`` is searched,
    ignoring case, in the headline, description and body. A version without a publication
    date fails the publication bounds.
    """

    sources: frozenset[str] = field(default_factory=frozenset)
    published_from: datetime | None = None
    published_before: datetime | None = None
    """Exclusive end: a date bound given to :meth:`build` becomes the next day's midnight."""
    captured_from: datetime | None = None
    captured_before: datetime | None = None
    language: str | None = None
    text_contains: str | None = None

    @classmethod
    def build(
        cls,
        *,
        source: str | Iterable[str] | None = None,
        published_from: TimeBound | None = None,
        published_to: TimeBound | None = None,
        captured_from: TimeBound | None = None,
        captured_to: TimeBound | None = None,
        language: str | None = None,
        text_contains: str | None = None,
    ) -> ArticleFilter:
        """Build a filter from user-facing bounds; raise :class:`ReadError` for bad ones."""
        sources = frozenset([source] if isinstance(source, str) else source or ())
        made = cls(
            sources=sources,
            published_from=_bound(published_from, upper=False),
            published_before=_end(published_to),
            captured_from=_bound(captured_from, upper=False),
            captured_before=_end(captured_to),
            language=language or None,
            text_contains=text_contains.casefold() if text_contains else None,
        )
        for low, high, name in (
            (made.published_from, made.published_before, "publication"),
            (made.captured_from, made.captured_before, "capture"),
        ):
            if low is not None and high is not None and low >= high:
                raise ReadError(f"the {name} range is empty: it ends before it starts")
        return made

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Return whether the version ``record`` passes every criterion."""
        if self.sources and record.get("source") not in self.sources:
            return False
        if self.captured_from is not None or self.captured_before is not None:
            captured = record_time(record.get("captured_at"))
            if not _within(captured, self.captured_from, self.captured_before):
                return False
        raw_article = record.get("article")
        article: Mapping[str, Any] = raw_article if isinstance(raw_article, Mapping) else {}
        if self.published_from is not None or self.published_before is not None:
            published = record_time(article.get("date_published"))
            if not _within(published, self.published_from, self.published_before):
                return False
        if self.language is not None and not _language_matches(
            self.language, article.get("language")
        ):
            return False
        if self.text_contains is not None:
            return any(
                isinstance(article.get(name), str)
                and self.text_contains in article[name].casefold()
                for name in TEXT_FIELDS
            )
        return True


def _end(value: TimeBound | None) -> datetime | None:
    # A datetime upper bound is inclusive: make it exclusive one microsecond later.
    end = _bound(value, upper=True)
    if end is not None and (isinstance(value, datetime) or _is_time_text(value)):
        end += timedelta(microseconds=1)
    return end


def _is_time_text(value: TimeBound | None) -> bool:
    return isinstance(value, str) and len(value.strip()) != 10


def _within(moment: datetime | None, low: datetime | None, before: datetime | None) -> bool:
    if moment is None:
        return False
    return (low is None or moment >= low) and (before is None or moment < before)
