"""What goes into the archive: captures in, version and observation records out.

The *content* of a capture is the part of the extracted article a reader would notice changing;
its hash decides whether a capture is a new version or only an observation.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .errors import CaptureError

VERSION_SCHEMA = "newsarchive/version/1"
OBSERVATION_SCHEMA = "newsarchive/observation/1"
CONTENT_DEFINITION = "newsarchive/content/1"
"""Names the content definition below; a change to it must get a new name."""

CONTENT_FIELDS = (
    "headline",
    "section",
    "authors",
    "date_published",
    "date_modified",
    "language",
    "description",
    "body",
    "images",
    "tags",
    "canonical_url",
    "site_name",
)
IMAGE_FIELDS = ("src", "caption", "credit", "alt", "role")
_LIST_FIELDS = frozenset({"authors", "images", "tags"})

# Response headers that carry or set credentials never reach the archive.
_SECRET_HEADER = re.compile(
    r"cookie|authori[sz]ation|token|secret|passw|api[-_]?key|credential|session", re.IGNORECASE
)
_WHITESPACE = re.compile(r"\s+")

Outcome = Literal["new", "changed", "unchanged"]


@dataclass(frozen=True)
class Capture:
    """One fetched and extracted article page, as the crawler hands it to the archiver."""

    source: str
    """Name of the configured source the page belongs to."""
    identity_url: str
    """Normalised URL that identifies the article across fetches; its hash is the article id."""
    url: str
    """Final URL after redirects."""
    requested_url: str
    canonical_url: str | None
    captured_at: str
    """ISO 8601 time the response arrived; naive times are taken as UTC."""
    status: int
    headers: Mapping[str, str]
    html: bytes
    """Raw response body as fetched."""
    article: Mapping[str, Any]
    """The extracted article, as plain JSON data (``Article.to_dict()``)."""
    provenance: Mapping[str, Any]
    software: Mapping[str, str] = field(default_factory=dict)
    """Versions of the software that made the capture, e.g. ``{"trafilatura": "2.3.0"}``."""


@dataclass(frozen=True)
class ArchiveResult:
    """What :meth:`SnapshotStore.archive` did with a capture."""

    outcome: Outcome
    """``new`` (version 1), ``changed`` (a later version) or ``unchanged`` (an observation)."""
    article_id: str
    version: int
    """The version written, or the latest version when the capture was unchanged."""
    key: str
    """Key of the version record written, or of the observation when unchanged."""
    content_sha256: str | None = field(default=None, compare=False)
    """Hash of the capture's extracted content, when the archiver computed it."""
    html_sha256: str | None = field(default=None, compare=False)
    """Hash of the capture's HTML, when the archiver computed it."""
    record: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """The version record written (``new`` and ``changed``), so callers need not read it back."""


def normalise_text(text: str) -> str:
    """Return ``text`` in NFC with whitespace runs collapsed and blank lines dropped.

    Line breaks between paragraphs are kept: they are structure, not noise.
    """
    lines = (
        _WHITESPACE.sub(" ", line).strip()
        for line in unicodedata.normalize("NFC", text).splitlines()
    )
    return "\n".join(line for line in lines if line)


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return normalise_text(value) or None
    if isinstance(value, list | tuple):
        items = (_normalise(item) for item in value)
        return [item for item in items if item is not None]
    if isinstance(value, Mapping):
        return {str(key): _normalise(item) for key, item in value.items()}
    return value


def content_fields(article: Mapping[str, Any]) -> dict[str, Any]:
    """Return the fields of ``article`` that define its content, normalised."""
    content: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        value = article.get(name)
        if name == "images":
            value = [
                {key: _normalise(image.get(key)) for key in IMAGE_FIELDS}
                for image in value or ()
                if isinstance(image, Mapping)
            ]
        else:
            value = _normalise(value)
        content[name] = [] if value is None and name in _LIST_FIELDS else value
    return content


def canonical_json(data: Any) -> bytes:
    """Return the canonical UTF-8 JSON of ``data`` that content hashes are taken over."""
    try:
        text = json.dumps(
            data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as err:
        raise CaptureError(f"article is not plain JSON data: {err}") from err
    return text.encode("utf-8")


def content_sha256(article: Mapping[str, Any]) -> str:
    """Return the hex sha256 of the normalised content of ``article``."""
    return hashlib.sha256(canonical_json(content_fields(article))).hexdigest()


def sha256_hex(data: bytes) -> str:
    """Return the hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def gzip_bytes(data: bytes) -> bytes:
    """Compress ``data`` reproducibly: no timestamp, so equal input gives equal bytes."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time into an aware UTC datetime; naive times are taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError) as err:
        raise CaptureError(f"not an ISO 8601 time: {text!r}") from err
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """Format as ``2026-11-28T03:40:12.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compact_utc(moment: datetime) -> str:
    """Format as ``20261128T034012.123456Z``, which sorts chronologically in keys."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return headers with lower-case names, sorted, without cookies or credentials."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lowered = str(name).strip().lower()
        if not lowered or _SECRET_HEADER.search(lowered):
            continue
        # HTTP names are case-insensitive; repeated fields join with a comma (RFC 9110 5.3).
        kept[lowered] = f"{kept[lowered]}, {value}" if lowered in kept else str(value)
    return dict(sorted(kept.items()))


def software_info(given: Mapping[str, str]) -> dict[str, str]:
    """Return the caller's software versions plus the archiver's own schema names."""
    info = {str(name): str(version) for name, version in given.items()}
    info["archiver"] = VERSION_SCHEMA
    info["content_definition"] = CONTENT_DEFINITION
    return info


def version_record(
    capture: Capture,
    *,
    article_id: str,
    captured_at: datetime,
    version: int,
    previous_key: str | None,
    content_hash: str,
    html_hash: str,
    html_key: str,
) -> dict[str, Any]:
    """Build the self-describing JSON record of one version."""
    return {
        "schema": VERSION_SCHEMA,
        "article_id": article_id,
        "identity_url": capture.identity_url,
        "url": capture.url,
        "requested_url": capture.requested_url,
        "canonical_url": capture.canonical_url,
        "source": capture.source,
        "captured_at": iso_utc(captured_at),
        "version": version,
        "previous_version": version - 1 if version > 1 else None,
        "previous_key": previous_key,
        "content_sha256": content_hash,
        "html_sha256": html_hash,
        "html_key": html_key,
        "html_size": len(capture.html),
        "http": {"status": capture.status, "headers": safe_headers(capture.headers)},
        "provenance": dict(capture.provenance),
        "software": software_info(capture.software),
        "article": dict(capture.article),
    }


ObservationReason = Literal[
    "content_unchanged",
    "not_modified",
    "same_html",
    "removed_unconfirmed",
    "redirected_unconfirmed",
    "paywalled_unconfirmed",
    "removed",
    "redirected",
    "paywalled",
]
"""Why a fetch added no version: its extracted content equalled the latest version's, the
server answered 304 Not Modified, or the body was byte-identical to the last one seen (the
last two are decided before extraction). A revisit that found the article gone adds the
state it saw: ``removed_unconfirmed`` for a first sighting, ``removed`` for one that confirms
or repeats a recorded state (see :mod:`archiver.states`)."""


def validators(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the HTTP validators (``etag``, ``last_modified``) among ``headers``."""
    lowered = {str(name).lower(): str(value) for name, value in headers.items()}
    found = {}
    if lowered.get("etag"):
        found["etag"] = lowered["etag"]
    if lowered.get("last-modified"):
        found["last_modified"] = lowered["last-modified"]
    return found


def observation_record(
    capture: Capture,
    *,
    article_id: str,
    observed_at: datetime,
    version: int,
    version_key: str,
    content_hash: str,
    html_hash: str | None,
    reason: ObservationReason = "content_unchanged",
) -> dict[str, Any]:
    """Build the record saying a capture matched ``version`` unchanged."""
    return {
        "schema": OBSERVATION_SCHEMA,
        "article_id": article_id,
        "identity_url": capture.identity_url,
        "observed_at": iso_utc(observed_at),
        "version": version,
        "version_key": version_key,
        "content_sha256": content_hash,
        "html_sha256": html_hash,
        "source": capture.source,
        "url": capture.url,
        "http": {"status": capture.status, **validators(capture.headers)},
        "reason": reason,
        "provenance": dict(capture.provenance),
    }


def encode_record(record: Mapping[str, Any]) -> bytes:
    """Serialise a record as readable UTF-8 JSON."""
    try:
        text = json.dumps(record, ensure_ascii=False, indent=2, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise CaptureError(f"record is not plain JSON data: {err}") from err
    return (text + "\n").encode("utf-8")


def decode_record(data: bytes, schema: str) -> dict[str, Any]:
    """Parse a stored record and check its schema; raise ValueError if it is not one."""
    record = json.loads(data.decode("utf-8"))
    if not isinstance(record, dict) or record.get("schema") != schema:
        raise ValueError(f"not a {schema} record")
    return record
