"""Normalise article fields: author names, dates, language tags, tags; read bylines from the DOM."""

from __future__ import annotations

import email.utils
import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from lxml.html import HtmlElement

from crawler.extract_html import class_id, element_text, normalize_space

__all__ = [
    "FUTURE_TOLERANCE",
    "clean_authors",
    "dedupe",
    "dom_byline",
    "dom_section",
    "is_readable_date",
    "normalize_date",
    "normalize_language",
]

logger = logging.getLogger(__name__)

FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far past the fetch time a date may lie (clock skew) before it is dropped."""
# A date without a time zone may be local time anywhere from UTC-12 to UTC+14.
_NAIVE_SLACK = timedelta(hours=14)

_BY_PREFIX_RE = re.compile(
    r"^(?:(?:words|text|story|reporting|report|written|compiled|interview)\s+)?"
    r"(?:by|por|par|door|av)\b\s*:?\s*",
    re.IGNORECASE,
)
_AUTHOR_SPLIT_RE = re.compile(r"\s*(?:[,;&|]|\band\b|\bund\b|\by\b|\bet\b|\be\b)\s*")
# "Jane Doe in Kyiv", "à Addis-Abeba", "en Lima": where the reporter was, not who.
_PLACE_SUFFIX_RE = re.compile(
    r"(?:^|\s+)(?:in|à|en|em|aus|from)\s+[A-Z][\w'\u2019.-]*(?:[\s-]+[A-Z][\w'\u2019.-]*)*$"
)
_ROLE_RE = re.compile(
    r"\b(?:correspondent|editor|reporter|writer|staff|contributor|columnist|journalist"
    r"|producer|chief|bureau|desk|analyst|critic|redacción|rédaction)\b",
    re.IGNORECASE,
)
_NOT_A_NAME_RE = re.compile(r"\d|@|https?:|www\.|\.com\b")
_MAX_NAME_WORDS = 8
_LANG_RE = re.compile(r"^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8})*$")
_BYLINE_HINTS = (
    "byline",
    "author",
    "autor",
    "auteur",
    "signature",
    "firma",
    "contributor",
    "writer",
)
_SECTION_HINTS = (
    "kicker",
    "section-label",
    "section-name",
    "eyebrow",
    "overline",
    "rubric",
    "surtitre",
    "antetitulo",
    "dachzeile",
    "occhiello",
)


def clean_authors(values: Iterable[str]) -> list[str]:
    """Return person or organisation names: no ``By``, one name per item, no roles or places."""
    names: list[str] = []
    for value in values:
        text = _BY_PREFIX_RE.sub("", normalize_space(value))
        kept: list[str] = []
        for piece in _AUTHOR_SPLIT_RE.split(text):
            name = _PLACE_SUFFIX_RE.sub("", _BY_PREFIX_RE.sub("", piece.strip(" .:-\u2013\u2014")))
            if not name or _NOT_A_NAME_RE.search(name) or len(name.split()) > _MAX_NAME_WORDS:
                continue
            # "Jane Doe, Diplomatic Editor": a role after a name describes that name.
            if kept and _ROLE_RE.search(name) and not _ROLE_RE.search(kept[-1]):
                continue
            kept.append(name)
        names.extend(kept)
    return dedupe(names)


def dedupe(values: Iterable[str]) -> list[str]:
    """Return the values without blanks or case-insensitive repeats, first spelling kept."""
    seen: set[str] = set()
    result: list[str] = []
    for value in values:
        text = normalize_space(value)
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            result.append(text)
    return result


def normalize_date(value: str | None, *, fetched_at: datetime, url: str, field: str) -> str | None:
    """Return ``value`` as ISO 8601 (offset kept), or ``None`` if unreadable or in the future.

    A date later than ``fetched_at`` (plus :data:`FUTURE_TOLERANCE`) cannot be a real
    publication date; it is dropped with a warning naming the URL.
    """
    parsed = _parse_date(value)
    if parsed is None:
        return None
    limit = fetched_at.astimezone(UTC) + FUTURE_TOLERANCE
    if isinstance(parsed, datetime):
        if parsed.tzinfo is None:
            future = parsed > limit.replace(tzinfo=None) + _NAIVE_SLACK
        else:
            future = parsed > limit
        text = parsed.isoformat(timespec="seconds")
    else:
        future = parsed > (limit + _NAIVE_SLACK).date()
        text = parsed.isoformat()
    if future:
        logger.warning(
            "dropping %s %s: later than the fetch time %s (%s)",
            field,
            text,
            fetched_at.isoformat(timespec="seconds"),
            url,
        )
        return None
    return text


def is_readable_date(value: str | None) -> bool:
    """Return whether :func:`normalize_date` can read ``value`` (whether or not it keeps it)."""
    return _parse_date(value) is not None


def _parse_date(value: str | None) -> datetime | date | None:
    if not value:
        return None
    text = normalize_space(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if not 1800 < parsed.year < 2200:
        return None
    return parsed.replace(microsecond=0)


def normalize_language(value: str | None) -> str | None:
    """Return a BCP 47 tag (``en``, ``es-ES``, ``zh-Hant-TW``) or ``None`` if not one."""
    if not value:
        return None
    text = value.strip().replace("_", "-").split(",")[0].strip()
    if not _LANG_RE.fullmatch(text):
        return None
    parts = text.split("-")
    tag = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 2 or (len(part) == 3 and part.isdigit()):
            tag.append(part.upper())
        elif len(part) == 4:
            tag.append(part.title())
        else:
            tag.append(part.lower())
    return "-".join(tag)


def dom_byline(region: HtmlElement) -> list[str]:
    """Return the author names shown in the visible byline of ``region`` (raw, uncleaned)."""
    for element in region.iterfind(".//*[@itemprop='author']"):
        named = element.find(".//*[@itemprop='name']")
        source = named if named is not None else element
        text = source.get("content") or element_text(source)
        if text:
            return [text]
    links = [element_text(link) for link in region.iterfind(".//a[@rel='author']")]
    if any(links):
        return [text for text in links if text]
    hinted = [
        element
        for element in region.iter()
        if isinstance(element.tag, str) and _has_hint(element, _BYLINE_HINTS)
    ]
    # The innermost byline element holds the names; its containers add dates and labels.
    inner = set(hinted)
    for element in hinted:
        inner.difference_update(element.iterancestors())
    for element in hinted:
        if element not in inner:
            continue
        text = element_text(element, skip=lambda child: child.tag in ("time", "img"))
        if text and len(text.split()) <= 3 * _MAX_NAME_WORDS:
            return [text]
    return []


def dom_section(region: HtmlElement) -> str | None:
    """Return the visible section label (kicker) of ``region``, or the last breadcrumb."""
    for element in region.iterfind(".//*[@itemprop='articleSection']"):
        text = element.get("content") or element_text(element)
        if text:
            return text
    for element in region.iter():
        if isinstance(element.tag, str) and _has_hint(element, _SECTION_HINTS):
            text = element_text(element)
            if text and len(text.split()) <= 5:
                return text
    for element in region.iter("nav", "ol", "ul", "div"):
        if (
            "breadcrumb" in class_id(element)
            or "breadcrumb" in (element.get("aria-label") or "").lower()
        ):
            crumbs = [element_text(link) for link in element.iter("a")]
            crumbs = [crumb for crumb in crumbs if crumb and crumb.casefold() != "home"]
            if crumbs:
                return crumbs[-1]
    return None


def _has_hint(element: HtmlElement, hints: tuple[str, ...]) -> bool:
    """Tell whether a class or id segment of ``element`` names one of ``hints``."""
    names = class_id(element).split()
    return any(hint in name for name in names for hint in hints) and not any(
        "avatar" in name or "image" in name or "bio" in name for name in names
    )
