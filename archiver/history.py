"""One article's history as events in time: versions, observations, state changes, checks."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from .errors import StorageError
from .read_filter import record_time

if TYPE_CHECKING:
    from .storage import Storage

EventKind = Literal["version", "state", "observation", "check"]
_KIND_ORDER = {"version": 0, "state": 1, "observation": 2, "check": 3}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

UNCHANGED_REASONS = frozenset({"content_unchanged", "not_modified", "same_html"})
"""Observation reasons meaning "seen again, unchanged"; the others report a failed sighting."""


@dataclass(frozen=True)
class HistoryEvent:
    """Something that happened to an article at a time.

    - ``version``: a new version was captured (``headline``, ``content_sha256``, ``key``);
    - ``observation``: the article was fetched again (``reason``: ``content_unchanged``, or a
      failed sighting such as ``removed_unconfirmed``; ``version`` is the version it saw);
    - ``check``: a fetch a run logged as unchanged before extraction (``not_modified``,
      ``same_html``; ``key`` is the run's check log);
    - ``state``: a confirmed change of state (``state``, ``previous_state``; ``at`` is when it
      was confirmed, ``detected_at`` the first sighting).
    """

    at: datetime
    kind: EventKind
    version: int | None
    key: str | None
    headline: str | None = None
    content_sha256: str | None = None
    reason: str | None = None
    state: str | None = None
    previous_state: str | None = None
    detected_at: datetime | None = None
    url: str | None = None
    status: int | None = None

    def sort_key(self) -> tuple[datetime, int, int]:
        """Order by time; at the same time a version comes before what refers to it."""
        return self.at, _KIND_ORDER[self.kind], self.version or 0

    def to_json(self) -> dict[str, Any]:
        """Return the event as JSON data, leaving out empty fields."""
        data: dict[str, Any] = {"at": _iso(self.at), "kind": self.kind}
        for name in (
            "version",
            "headline",
            "content_sha256",
            "reason",
            "state",
            "previous_state",
            "url",
            "status",
            "key",
        ):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.detected_at is not None:
            data["detected_at"] = _iso(self.detected_at)
        return data


def version_event(key: str, record: Mapping[str, Any]) -> HistoryEvent:
    """Return the event of a version record."""
    article = record.get("article")
    headline = article.get("headline") if isinstance(article, Mapping) else None
    return HistoryEvent(
        at=_time(record.get("captured_at")),
        kind="version",
        version=_int(record.get("version")),
        key=key,
        headline=headline if isinstance(headline, str) else None,
        content_sha256=_str(record.get("content_sha256")),
        url=_str(record.get("url")),
        status=_int((record.get("http") or {}).get("status")),
    )


def observation_event(key: str, record: Mapping[str, Any]) -> HistoryEvent:
    """Return the event of an observation record."""
    return HistoryEvent(
        at=_time(record.get("observed_at")),
        kind="observation",
        version=_int(record.get("version")),
        key=key,
        content_sha256=_str(record.get("content_sha256")),
        reason=_str(record.get("reason")),
        url=_str(record.get("url")),
        status=_int((record.get("http") or {}).get("status")),
    )


def state_event(record: Mapping[str, Any]) -> HistoryEvent:
    """Return the event of a state record (``newsarchive/state/1``)."""
    detected = record_time(record.get("detected_at"))
    return HistoryEvent(
        at=_time(record.get("confirmed_at")),
        kind="state",
        version=_int(record.get("version")),
        key=_str(record.get("version_key")),
        state=_str(record.get("state")),
        previous_state=_str(record.get("previous_state")),
        detected_at=detected,
    )


def check_events(storage: Storage, key: str, identity_url: str) -> list[HistoryEvent]:
    """Return the events of one run's check log that concern ``identity_url``."""
    data = storage.get(key)
    if data is None:
        return []
    try:
        lines = gzip.decompress(data).splitlines()
    except (OSError, EOFError, zlib.error) as err:
        raise StorageError(f"check log {key} is not valid gzip: {err}") from err
    # A cheap test first: most lines of a run's log are about other articles. The logs are
    # written with ensure_ascii=False, so the URL appears as json.dumps spells it that way.
    needle = json.dumps(identity_url, ensure_ascii=False)[1:-1].encode("utf-8")
    events = []
    for line in lines:
        if needle not in line:
            continue
        try:
            check = json.loads(line)
        except ValueError as err:
            raise StorageError(f"check log {key} has a line that is not JSON: {err}") from err
        if not isinstance(check, dict) or check.get("identity_url") != identity_url:
            continue
        events.append(
            HistoryEvent(
                at=_time(check.get("observed_at")),
                kind="check",
                version=_int(check.get("version")),
                key=key,
                reason=_str(check.get("reason")),
                url=_str(check.get("url")),
                status=_int(check.get("status")),
            )
        )
    return events


def _time(value: Any) -> datetime:
    # A record without a readable time still belongs in the history: put it first.
    return record_time(value) or _EPOCH


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
