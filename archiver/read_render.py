"""Text the read commands print: an article as it read, a history, a line per article."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .history import UNCHANGED_REASONS, HistoryEvent
from .reader import ArticleSummary

# Archived pages are untrusted: a control character in a headline must not drive the terminal.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_SEEN = ("observation", "check")


def clean(text: str) -> str:
    """Return ``text`` with control characters (but newlines) shown as escapes."""
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


def short_time(value: Any) -> str:
    """Format a record time or datetime as ``2026-11-28T05:56:55Z`` (to the second)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value or "")
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", text)
    return f"{match.group(1)}Z" if match else text


def summary_line(summary: ArticleSummary) -> str:
    """Return one tab-separated line: captured, source, version/versions, headline, URL."""
    fields = (
        short_time(summary.captured_at),
        summary.source,
        f"v{summary.version}/{summary.versions}",
        summary.headline or "(no headline)",
        summary.identity_url,
    )
    return "\t".join(clean(" ".join(field.split())) for field in fields)


def render_article(record: Mapping[str, Any], versions: int, at: datetime | None = None) -> str:
    """Return the article of a version record as a reader would see it."""
    raw = record.get("article")
    article: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    headline = _one_line(article.get("headline")) or "(no headline)"
    lines = [headline, "=" * min(len(headline), 100)]
    byline = [
        ", ".join(str(name) for name in article.get("authors") or ()),
        _one_line(article.get("section")),
        _one_line(article.get("site_name")),
        _one_line(article.get("language")),
    ]
    if any(byline):
        by = byline[0]
        lines.append(
            " · ".join(([f"By {by}"] if by else []) + [part for part in byline[1:] if part])
        )
    dates = [
        f"{label} {article[name]}"
        for label, name in (("Published", "date_published"), ("Modified", "date_modified"))
        if article.get(name)
    ]
    if dates:
        lines.append(" · ".join(dates))
    if article.get("description"):
        lines.extend(["", _one_line(article.get("description"))])
    lines.append("")
    lines.append(f"URL: {record.get('url') or record.get('identity_url')}")
    state = (
        f"Version {record.get('version')} of {versions}, captured "
        f"{short_time(record.get('captured_at'))} (source {record.get('source')})"
    )
    if at is not None:
        state += f"; current at {short_time(at)}"
    lines.append(state)
    lines.extend(_images(article.get("images")))
    body = str(article.get("body") or "")
    if body:
        lines.append("")
        lines.append("\n\n".join(part for part in body.split("\n") if part.strip()))
    tags = [str(tag) for tag in article.get("tags") or ()]
    if tags:
        lines.extend(["", f"Tags: {', '.join(tags)}"])
    return clean("\n".join(lines)) + "\n"


def _images(images: Any) -> Iterator[str]:
    if not isinstance(images, Sequence) or not images:
        return
    yield ""
    yield "Images:"
    for image in images:
        if not isinstance(image, Mapping):
            continue
        role = f"[{image['role']}] " if image.get("role") else ""
        yield f"  {role}{image.get('src') or '(no source)'}"
        words = [_one_line(image.get("caption")), _one_line(image.get("credit"))]
        if words[0] or words[1]:
            caption = words[0] or ""
            credit = f" ({words[1]})" if words[1] else ""
            yield f"    {caption}{credit}".rstrip()
        if image.get("alt") and image.get("alt") != image.get("caption"):
            yield f"    alt: {_one_line(image.get('alt'))}"


def render_history(identity: str, events: Sequence[HistoryEvent]) -> str:
    """Return the history as lines; runs of unchanged sightings are summarised in one line."""
    versions = [event for event in events if event.kind == "version"]
    states = [event for event in events if event.kind == "state"]
    head = f"{identity}: {len(versions)} version{'s' if len(versions) != 1 else ''}"
    if states:
        head += f", {len(states)} state change{'s' if len(states) != 1 else ''}"
    lines = [head]
    seen: list[HistoryEvent] = []
    for event in events:
        if event.kind in _SEEN and event.reason in UNCHANGED_REASONS:
            seen.append(event)
            continue
        if seen:
            lines.append(_seen_line(seen))
            seen = []
        lines.append(_event_line(event))
    if seen:
        lines.append(_seen_line(seen))
    return clean("\n".join(lines)) + "\n"


def _event_line(event: HistoryEvent) -> str:
    when = short_time(event.at)
    if event.kind == "version":
        digest = (event.content_sha256 or "")[:12]
        return f"{when}  version {event.version}  {_one_line(event.headline)}  [{digest}]"
    if event.kind == "state":
        detected = f", first seen {short_time(event.detected_at)}" if event.detected_at else ""
        return (
            f"{when}  state {event.state} (was {event.previous_state}{detected}; "
            f"latest version {event.version})"
        )
    status = f"HTTP {event.status}" if event.status is not None else "no response"
    return f"{when}  sighting {event.reason} ({status}) at {event.url}"


def _seen_line(events: Sequence[HistoryEvent]) -> str:
    reasons: dict[str, int] = {}
    for event in events:
        reasons[str(event.reason)] = reasons.get(str(event.reason), 0) + 1
    counted = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
    first, last = events[0], events[-1]
    numbers = sorted({event.version for event in events if event.version is not None})
    of = f"version {', '.join(str(number) for number in numbers)}" if numbers else "a version"
    if len(events) == 1:
        return f"{short_time(first.at)}  seen unchanged ({of}; {counted})"
    return (
        f"{short_time(first.at)}  seen unchanged {len(events)} times ({of}) until "
        f"{short_time(last.at)}: {counted}"
    )


def _one_line(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""
