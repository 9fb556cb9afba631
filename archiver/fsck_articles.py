"""Check one article folder: its version records and their chain, HTML, observations, states.

A folder is checked by itself, from one listing of it, so folders are checked in threads a few
at a time (see :mod:`archiver.fsck`). What the catalog check needs of each version travels on
as a :class:`VersionFacts`.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args

from . import keys
from .errors import ArchiverError, StorageError
from .fsck_problems import (
    OBSERVATION_FIELDS,
    STATE_FIELDS,
    VERSION_FIELDS,
    Problem,
    check_fields,
    check_identity,
    load_record,
    number_ranges,
    parsed_time,
)
from .records import (
    CONTENT_DEFINITION,
    OBSERVATION_SCHEMA,
    VERSION_SCHEMA,
    ObservationReason,
    content_sha256,
    sha256_hex,
)
from .states import PREVIOUS_STATES, STATE_SCHEMA, STATES

if TYPE_CHECKING:
    from .storage import Storage

OBSERVATION_REASONS = frozenset(get_args(ObservationReason))
_ARTICLE_FOLDER = re.compile(rf"{keys.ARTICLES}/([0-9a-f]{{2}})/([0-9a-f]{{32}})/")
_HTML_NAME = re.compile(r"html/[0-9a-f]{64}\.html\.gz")
_RECORD_NAME = re.compile(r"(obs|state)/[^/]+\.json")
_KEPT = ("article_id", "captured_at", "content_sha256", "html_key", "html_sha256", "html_size")
"""What the chain, HTML and observation checks need of a version; its article is let go."""


@dataclass(frozen=True)
class VersionFacts:
    """What the catalog check compares a row with; None where the record could not tell."""

    key: str
    article_id: str
    version: int
    content_sha256: str | None = None
    html_sha256: str | None = None
    html_key: str | None = None
    source: str | None = None
    captured_at: datetime | None = None


@dataclass
class FolderResult:
    """The findings of one folder, its versions' facts, and how many objects of each kind."""

    findings: list[Problem] = field(default_factory=list)
    versions: list[VersionFacts] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)


def check_folder(storage: Storage, folder: str, names: list[str]) -> FolderResult:
    """Check the article folder ``folder`` (``articles/ab/ab…/``) holding the keys ``names``."""
    result = FolderResult()
    match = _ARTICLE_FOLDER.fullmatch(folder)
    if match is None or match.group(2)[:2] != match.group(1):
        for key in names:
            result.findings.append(
                Problem("unknown-key", key, f"{folder} is not an article folder: readers skip it")
            )
        return result
    aid = match.group(2)
    result.checked["articles"] += 1
    versions: dict[int, str] = {}
    html: list[str] = []
    observations: list[str] = []
    states: list[str] = []
    for key in names:
        rest = key.removeprefix(folder)
        number = keys.parse_version(key) if "/" not in rest else None
        if number is not None and number >= 1:
            versions[number] = key
        elif _HTML_NAME.fullmatch(rest):
            html.append(key)
        elif _RECORD_NAME.fullmatch(rest):
            (observations if rest.startswith("obs/") else states).append(key)
        else:
            result.findings.append(Problem("unknown-key", key, "not a key of the archive layout"))
    records = {
        number: _check_version(storage, aid, number, versions[number], result)
        for number in sorted(versions)
    }
    _check_gaps(aid, versions, result)
    _check_chain(records, versions, result)
    referenced = _check_html(storage, records, versions, result)
    for key in html:
        if key not in referenced:
            result.findings.append(
                Problem(
                    "html-orphan",
                    key,
                    "no version record names this HTML: a write interrupted before its record "
                    "(written last), or a record that is lost",
                )
            )
    for key in observations:
        _check_observation(storage, aid, key, records, versions, result)
    for key in states:
        _check_state(storage, aid, key, versions, result)
    return result


def _check_version(
    storage: Storage, aid: str, number: int, key: str, result: FolderResult
) -> dict[str, Any] | None:
    """Check one version record by itself; return its ``_KEPT`` fields if later checks may."""
    result.checked["versions"] += 1
    loaded = load_record(storage, key, VERSION_SCHEMA)
    result.findings.extend(loaded.findings)
    record = loaded.record
    unusable = VersionFacts(key, aid, number)
    if record is None:
        result.versions.append(unusable)
        return None
    findings = check_fields(key, record, VERSION_FIELDS)
    wrong = check_identity(key, record, aid)
    if wrong is not None:
        # A record of another article: its chain, hashes and HTML describe that one.
        findings.append(wrong)
    if findings:
        result.findings.extend(findings)
        result.versions.append(unusable)
        return None
    if record["version"] != number:
        result.findings.append(
            Problem(
                "version-number-mismatch", key, f"version is {record['version']}, key says {number}"
            )
        )
    _check_links(aid, number, key, record, result)
    _check_content(key, record, result)
    result.versions.append(
        VersionFacts(
            key,
            aid,
            number,
            content_sha256=record["content_sha256"],
            html_sha256=record["html_sha256"],
            html_key=record["html_key"],
            source=record["source"],
            captured_at=parsed_time(record["captured_at"]),
        )
    )
    return {name: record[name] for name in _KEPT}


def _check_links(
    aid: str, number: int, key: str, record: Mapping[str, Any], result: FolderResult
) -> None:
    previous = (None, None) if number == 1 else (number - 1, keys.version_key(aid, number - 1))
    found = (record["previous_version"], record["previous_key"])
    if found != previous:
        result.findings.append(
            Problem(
                "chain-broken",
                key,
                f"previous_version/previous_key are {found[0]!r}/{found[1]!r}, "
                f"expected {previous[0]!r}/{previous[1]!r}",
            )
        )


def _check_content(key: str, record: Mapping[str, Any], result: FolderResult) -> None:
    definition = record["software"].get("content_definition")
    if definition != CONTENT_DEFINITION:
        result.findings.append(
            Problem(
                "content-unverifiable",
                key,
                f"content_definition {definition!r}: only {CONTENT_DEFINITION} can be recomputed",
            )
        )
        return
    try:
        computed = content_sha256(record["article"])
    except ArchiverError as err:
        result.findings.append(Problem("record-field-invalid", key, f"article: {err}"))
        return
    if computed != record["content_sha256"]:
        result.findings.append(
            Problem(
                "content-hash-mismatch",
                key,
                f"the article hashes to {computed}, content_sha256 is {record['content_sha256']}",
            )
        )


def _check_gaps(aid: str, versions: Mapping[int, str], result: FolderResult) -> None:
    if not versions:
        return
    missing = sorted(set(range(1, max(versions) + 1)) - set(versions))
    held = number_ranges(versions)
    # One finding per run of missing numbers, however long.
    for span in number_ranges(missing).split(", ") if missing else ():
        first = int(span.split("-")[0])
        what = f"versions {span} have" if "-" in span else f"version {span} has"
        result.findings.append(
            Problem(
                "version-gap",
                keys.version_key(aid, first),
                f"{what} no record; the folder holds versions {held}",
            )
        )


def _check_chain(
    records: Mapping[int, dict[str, Any] | None],
    versions: Mapping[int, str],
    result: FolderResult,
) -> None:
    for number, record in records.items():
        before = records.get(number - 1)
        if record is None or before is None:
            continue
        key = versions[number]
        captured, earlier = parsed_time(record["captured_at"]), parsed_time(before["captured_at"])
        if captured is not None and earlier is not None and captured < earlier:
            result.findings.append(
                Problem(
                    "chain-time-reversed",
                    key,
                    f"captured_at {record['captured_at']} is before {before['captured_at']} "
                    f"of version {number - 1}",
                )
            )
        if record["content_sha256"] == before["content_sha256"]:
            result.findings.append(
                Problem(
                    "chain-same-content",
                    key,
                    f"content_sha256 equals version {number - 1}'s: it should be an observation",
                )
            )


def _check_html(
    storage: Storage,
    records: Mapping[int, dict[str, Any] | None],
    versions: Mapping[int, str],
    result: FolderResult,
) -> set[str]:
    """Check the HTML every usable version names (each object read once); return their keys."""
    named: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for number, record in records.items():
        if record is None:
            continue
        key = versions[number]
        html_key = record["html_key"]
        try:
            expected = keys.html_key(record["article_id"], record["html_sha256"])
            keys.check_key(html_key)
        except ArchiverError as err:
            result.findings.append(Problem("record-field-invalid", key, f"html_key: {err}"))
            continue
        if html_key != expected:
            result.findings.append(
                Problem("html-key-mismatch", key, f"html_key is {html_key}, expected {expected}")
            )
        named.setdefault(html_key, []).append((key, record))
    for html_key, users in named.items():
        result.findings.extend(_check_html_object(storage, html_key, users))
        result.checked["html"] += 1
    return set(named)


def _check_html_object(
    storage: Storage, html_key: str, users: list[tuple[str, dict[str, Any]]]
) -> list[Problem]:
    names = ", ".join(key.rpartition("/")[2] for key, _record in users)
    try:
        stored = storage.get(html_key)
    except StorageError as err:
        return [Problem("object-unreadable", html_key, str(err))]
    if stored is None:
        return [Problem("html-missing", html_key, f"named by the html_key of {names}")]
    try:
        html = gzip.decompress(stored)
    except (OSError, EOFError, zlib.error) as err:
        return [Problem("html-not-gzip", html_key, f"named by {names}: {err}")]
    digest = sha256_hex(html)
    found = []
    for key, record in users:
        name = key.rpartition("/")[2]
        if digest != record["html_sha256"]:
            found.append(
                Problem(
                    "html-hash-mismatch",
                    html_key,
                    f"SHA-256 of the HTML is {digest}, {name} records {record['html_sha256']}",
                )
            )
        elif len(html) != record["html_size"]:
            found.append(
                Problem(
                    "html-size-mismatch",
                    html_key,
                    f"the HTML is {len(html)} bytes, {name} records {record['html_size']}",
                )
            )
    return found


def _check_observation(
    storage: Storage,
    aid: str,
    key: str,
    records: Mapping[int, dict[str, Any] | None],
    versions: Mapping[int, str],
    result: FolderResult,
) -> None:
    result.checked["observations"] += 1
    loaded = load_record(storage, key, OBSERVATION_SCHEMA)
    result.findings.extend(loaded.findings)
    record = loaded.record
    if record is None:
        return
    findings = check_fields(key, record, OBSERVATION_FIELDS)
    wrong = check_identity(key, record, aid)
    if wrong is not None:
        findings.append(wrong)
    if not findings and record["reason"] not in OBSERVATION_REASONS:
        findings.append(Problem("record-field-invalid", key, f"reason {record['reason']!r}"))
    if findings:
        result.findings.extend(findings)
        return
    if record["version"] is None and record["version_key"] is None:
        return  # a sighting of an article that had no version yet
    dangling = _version_ref(aid, key, record["version"], record["version_key"], versions)
    if dangling is not None:
        result.findings.append(dangling)
        return
    version = records.get(record["version"])
    observed = record["content_sha256"]
    if version is not None and observed is not None and observed != version["content_sha256"]:
        result.findings.append(
            Problem(
                "observation-hash-mismatch",
                key,
                f"content_sha256 {observed} is not {version['content_sha256']} of "
                f"{record['version_key']}",
            )
        )


def _check_state(
    storage: Storage, aid: str, key: str, versions: Mapping[int, str], result: FolderResult
) -> None:
    result.checked["states"] += 1
    loaded = load_record(storage, key, STATE_SCHEMA)
    result.findings.extend(loaded.findings)
    record = loaded.record
    if record is None:
        return
    findings = check_fields(key, record, STATE_FIELDS)
    wrong = check_identity(key, record, aid)
    if wrong is not None:
        findings.append(wrong)
    if not findings:
        if record["state"] not in STATES:
            findings.append(Problem("record-field-invalid", key, f"state {record['state']!r}"))
        if record["previous_state"] not in PREVIOUS_STATES:
            message = f"previous_state {record['previous_state']!r}"
            findings.append(Problem("record-field-invalid", key, message))
    if findings:
        result.findings.extend(findings)
        return
    if record["version"] is None and record["version_key"] is None:
        return  # recorded before the article had a version
    dangling = _version_ref(aid, key, record["version"], record["version_key"], versions)
    if dangling is not None:
        result.findings.append(dangling)


def _version_ref(
    aid: str, key: str, version: Any, version_key: Any, versions: Mapping[int, str]
) -> Problem | None:
    """Return a finding unless ``version``/``version_key`` name an existing version of ``aid``."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return Problem("dangling-version-ref", key, f"version is {version!r}")
    expected = keys.version_key(aid, version)
    if version_key != expected:
        message = f"version_key is {version_key!r}, but version {version} is {expected}"
        return Problem("dangling-version-ref", key, message)
    if version not in versions:
        return Problem("dangling-version-ref", key, f"names {expected}, which does not exist")
    return None
