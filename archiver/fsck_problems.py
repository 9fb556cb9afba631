"""What ``fsck`` can find: the codes, the :class:`Problem` each finding is, and record fields.

Every code has a fixed severity. A *problem* is a broken promise of the archive (a record that
does not parse, an HTML object that is missing or altered, a version missing from the catalog);
a *notice* is something a healthy archive may hold (an HTML object left by an interrupted write,
an object the layout does not name). ``--strict`` counts notices as failures too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from . import keys
from .errors import StorageError
from .records import parse_time

if TYPE_CHECKING:
    from .storage import Storage

Severity = Literal["problem", "notice"]

CODES: dict[str, tuple[Severity, str]] = {
    "archive-empty": ("problem", "nothing under articles/, runs/, listings/ or catalog/"),
    "object-unreadable": ("problem", "an object was listed but could not be read"),
    "record-unparseable": ("problem", "a record (or check log) is not UTF-8 JSON (or gzip)"),
    "record-wrong-schema": ("problem", "not a JSON object, or its schema is not the one expected"),
    "record-field-missing": ("problem", "a required field is absent"),
    "record-field-invalid": ("problem", "a field has the wrong type or a malformed value"),
    "record-wrong-article": ("problem", "identity_url or article_id belong to another folder"),
    "record-key-mismatch": ("problem", "a run manifest is stored under another run's key"),
    "version-number-mismatch": ("problem", "the version field differs from the key's number"),
    "version-gap": ("problem", "a version between 1 and the latest has no record"),
    "chain-broken": ("problem", "previous_version or previous_key do not name the version before"),
    "chain-same-content": ("problem", "same content_sha256 as the previous version"),
    "content-hash-mismatch": ("problem", "content_sha256 differs from the hash of the article"),
    "html-key-mismatch": ("problem", "html_key is not the content address of html_sha256"),
    "html-missing": ("problem", "the HTML object a version names does not exist"),
    "html-not-gzip": ("problem", "the HTML object is not valid gzip"),
    "html-hash-mismatch": ("problem", "the HTML's SHA-256 differs from html_sha256"),
    "html-size-mismatch": ("problem", "the HTML's size differs from html_size"),
    "dangling-version-ref": ("problem", "an observation, state or check names no existing version"),
    "observation-hash-mismatch": ("problem", "an observation's content hash is not its version's"),
    "catalog-unreadable": ("problem", "a catalog part is not Parquet or lacks columns"),
    "catalog-part-misplaced": ("problem", "a part is outside catalog/capture_date=/source=/"),
    "catalog-missing-row": ("problem", "a version has no catalog row"),
    "catalog-duplicate-row": ("problem", "a version has more than one catalog row"),
    "catalog-dangling-row": ("problem", "a catalog row names a version that does not exist"),
    "catalog-row-mismatch": ("problem", "a catalog row disagrees with its version or partition"),
    "chain-time-reversed": (
        "notice",
        "captured before the previous version: a race of two captures",
    ),
    "html-orphan": ("notice", "an HTML object no version names: an interrupted write"),
    "unknown-key": ("notice", "an object the archive layout does not name"),
    "content-unverifiable": ("notice", "a content definition this version cannot recompute"),
    "listing-invalid": ("notice", "an unreadable listing state (a hint: ignored by crawls)"),
    "catalog-absent": ("notice", "the archive has versions but no catalog"),
}

_SHA256 = re.compile(r"[0-9a-f]{64}")

# Field kinds of the record tables: a trailing "?" also allows null.
_KIND_CHECKS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "text": ("a non-empty string", lambda value: isinstance(value, str) and bool(value)),
    "str": ("a string", lambda value: isinstance(value, str)),
    "int": (
        "an integer",
        lambda value: isinstance(value, int) and not isinstance(value, bool),
    ),
    "time": ("an ISO 8601 time", lambda value: parsed_time(value) is not None),
    "sha256": (
        "a SHA-256 hex digest",
        lambda value: isinstance(value, str) and _SHA256.fullmatch(value) is not None,
    ),
    "object": ("a JSON object", lambda value: isinstance(value, dict)),
    "array": ("a JSON array", lambda value: isinstance(value, list)),
}


# What each record must hold: field name -> kind (see _KIND_CHECKS).
VERSION_FIELDS = {
    "article_id": "text",
    "identity_url": "text",
    "url": "str",
    "requested_url": "str",
    "canonical_url": "str?",
    "source": "str",
    "captured_at": "time",
    "version": "int",
    "previous_version": "int?",
    "previous_key": "str?",
    "content_sha256": "sha256",
    "html_sha256": "sha256",
    "html_key": "text",
    "html_size": "int",
    "http": "object",
    "provenance": "object",
    "software": "object",
    "article": "object",
}
OBSERVATION_FIELDS = {
    "article_id": "text",
    "identity_url": "text",
    "observed_at": "time",
    "version": "int?",
    "version_key": "str?",
    "content_sha256": "sha256?",
    "html_sha256": "sha256?",
    "source": "str",
    "url": "str?",
    "http": "object",
    "reason": "text",
    "provenance": "object",
}
STATE_FIELDS = {
    "article_id": "text",
    "identity_url": "text",
    "state": "text",
    "previous_state": "text",
    "detected_at": "time",
    "confirmed_at": "time",
    "evidence": "array",
    "version": "int?",
    "version_key": "str?",
    "source": "str",
}
RUN_FIELDS = {
    "run_id": "text",
    "spider": "str",
    "started_at": "time",
    "finished_at": "time",
    "finish_reason": "str",
    "sources": "array",
    "config_sha256": "str",
    "software": "object",
    "counts": "object",
    "by_source": "object",
}
CHECK_FIELDS = {"identity_url": "text", "version": "int", "version_key": "text"}
LISTING_FIELDS = {"url": "text", "body_sha256": "str", "fetched_at": "time"}


@dataclass(frozen=True)
class Problem:
    """One finding: a code from :data:`CODES`, the key at fault (or missing), and what is wrong."""

    code: str
    key: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown fsck code {self.code!r}")

    @property
    def severity(self) -> Severity:
        """Return ``problem`` or ``notice``, fixed by the code."""
        return CODES[self.code][0]

    def to_json(self) -> dict[str, str]:
        """Return the finding as JSON data."""
        return {
            "severity": self.severity,
            "code": self.code,
            "key": self.key,
            "message": self.message,
        }

    def line(self) -> str:
        """Return the finding as one line of text: severity, code, key and message."""
        return f"{self.severity:<7} {self.code} {self.key}: {self.message}"


@dataclass
class Loaded:
    """A record read for checking: the parsed record, or None with the findings saying why."""

    key: str
    record: dict[str, Any] | None
    findings: list[Problem]


def load_record(storage: Storage, key: str, schema: str) -> Loaded:
    """Read and parse the record under ``key``; report what stops it being a ``schema`` record."""
    try:
        data = storage.get(key)
    except StorageError as err:
        return Loaded(key, None, [Problem("object-unreadable", key, str(err))])
    if data is None:
        return Loaded(key, None, [Problem("object-unreadable", key, "listed, then not found")])
    return parse_record(key, data, schema)


def parse_record(key: str, data: bytes, schema: str) -> Loaded:
    """Parse ``data`` as a ``schema`` record; report what stops it being one."""
    try:
        record = json.loads(data.decode("utf-8"))
    except ValueError as err:
        return Loaded(key, None, [Problem("record-unparseable", key, f"not UTF-8 JSON: {err}")])
    if not isinstance(record, dict):
        found = type(record).__name__
        return Loaded(
            key, None, [Problem("record-wrong-schema", key, f"a JSON {found}, no object")]
        )
    if record.get("schema") != schema:
        message = f"schema is {record.get('schema')!r}, expected {schema!r}"
        return Loaded(key, None, [Problem("record-wrong-schema", key, message)])
    return Loaded(key, record, [])


def check_fields(key: str, record: Mapping[str, Any], fields: Mapping[str, str]) -> list[Problem]:
    """Return a finding for each field of ``fields`` (name -> kind) absent or of another kind."""
    found = []
    for name, kind in fields.items():
        if name not in record:
            found.append(Problem("record-field-missing", key, f"no {name!r} field"))
            continue
        reason = field_error(record[name], kind)
        if reason:
            found.append(Problem("record-field-invalid", key, f"{name} {reason}"))
    return found


def field_error(value: Any, kind: str) -> str:
    """Return why ``value`` is not of ``kind`` (see ``_KIND_CHECKS``), or ``""`` when it is."""
    if kind.endswith("?"):
        if value is None:
            return ""
        kind = kind[:-1]
    expected, check = _KIND_CHECKS[kind]
    if check(value):
        return ""
    shown = json.dumps(value, ensure_ascii=False, default=str)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"is {shown}, expected {expected}"


def parsed_time(value: Any) -> datetime | None:
    """Return ``value`` as an aware UTC time, or None when it is not ISO 8601 text."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def check_identity(key: str, record: Mapping[str, Any], aid: str) -> Problem | None:
    """Return a finding when the record's identity does not hash to the folder it lives in."""
    identity = record.get("identity_url")
    if not isinstance(identity, str) or not identity:
        return None  # reported as a field finding
    own = keys.article_id(identity)
    if own != aid:
        return Problem(
            "record-wrong-article",
            key,
            f"identity_url {identity} has article id {own}, not {aid} of its folder",
        )
    if record.get("article_id") != aid:
        return Problem(
            "record-wrong-article",
            key,
            f"article_id is {record.get('article_id')!r}, not {aid} of its folder",
        )
    return None


def number_ranges(numbers: Iterable[int]) -> str:
    """Return ``1-3, 5`` for ``[1, 2, 3, 5]``: short however many versions an article has."""
    spans: list[list[int]] = []
    for number in sorted(numbers):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in spans)
