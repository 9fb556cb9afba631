"""Choose the versions an export writes, reading the archive one article folder at a time.

The archive is never held in memory: the ``articles/`` listing is consumed page by page, and
only a small window of article folders is read ahead (in threads, so an S3 archive is read
with several requests in flight) while the exporter writes the folder before them.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from . import keys
from .errors import ArchiverError
from .records import VERSION_SCHEMA, decode_record

if TYPE_CHECKING:
    from .storage import Storage

FORMATS = ("jsonl", "parquet", "warc")
"""The export formats (see :mod:`archiver.export`); named here, where the command line can
read them without loading the writers."""
READ_AHEAD = 16
"""Article folders read ahead of the one being written; bounds memory and requests in flight."""

_In = TypeVar("_In")
_Out = TypeVar("_Out")


class ExportError(ArchiverError):
    """An export that cannot be made: bad options, an unreadable record, a missing HTML."""


@dataclass(frozen=True)
class ExportFilter:
    """Which versions to export; every bound is inclusive and every field optional.

    ``captured_*`` compare the UTC date of ``captured_at``; ``published_*`` compare the date of
    ``article.date_published`` (in UTC when it carries an offset, else as written), and a
    version without a publication date fails them. ``latest`` keeps, per article, only the last
    version that passes the other filters: with ``captured_to`` it is the article as it read at
    the end of that day.
    """

    sources: frozenset[str] = field(default_factory=frozenset)
    captured_from: date | None = None
    captured_to: date | None = None
    published_from: date | None = None
    published_to: date | None = None
    latest: bool = False

    def __post_init__(self) -> None:
        for low, high, name in (
            (self.captured_from, self.captured_to, "capture"),
            (self.published_from, self.published_to, "publication"),
        ):
            if low is not None and high is not None and low > high:
                raise ExportError(f"the {name} date range is empty: {low} is after {high}")

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Return whether the version ``record`` passes every filter but ``latest``."""
        if self.sources and record.get("source") not in self.sources:
            return False
        captured = _day(record.get("captured_at"))
        if (self.captured_from or self.captured_to) and not _within(
            captured, self.captured_from, self.captured_to
        ):
            return False
        if self.published_from is not None or self.published_to is not None:
            article = record.get("article")
            published = article.get("date_published") if isinstance(article, Mapping) else None
            if not _within(_day(published), self.published_from, self.published_to):
                return False
        return True


@dataclass(frozen=True)
class ExportedVersion:
    """One version to export: its record as stored, and its raw HTML when asked for."""

    key: str
    """Key of the version record."""
    data: bytes
    """The version record's bytes exactly as archived."""
    record: dict[str, Any]
    html: bytes | None = None
    """The raw HTML as fetched (decompressed), or None when not requested."""


def iter_article_folders(storage: Storage) -> Iterator[list[str]]:
    """Yield the version keys of each article folder, oldest version first.

    The listing is consumed as it comes: one folder's keys are held at a time.
    """
    folder = ""
    found: list[tuple[int, str]] = []
    for key in storage.list(f"{keys.ARTICLES}/"):
        # articles/{id[:2]}/{id}/v000001.json: versions sit directly in the article folder;
        # html/, obs/ and state/ below it are skipped without being read.
        if key.count("/") != 3:
            continue
        number = keys.parse_version(key)
        if number is None:
            continue
        prefix = key.rpartition("/")[0]
        if prefix != folder:
            if found:
                yield [name for _number, name in sorted(found)]
            folder, found = prefix, []
        found.append((number, key))
    if found:
        yield [name for _number, name in sorted(found)]


def iter_export_versions(
    storage: Storage,
    selection: ExportFilter | None = None,
    *,
    with_html: bool = False,
    read_ahead: int = READ_AHEAD,
) -> Iterator[ExportedVersion]:
    """Yield the versions ``selection`` picks, article folder by folder, oldest first in each.

    With ``with_html`` each version carries its raw HTML, checked against ``html_sha256``.
    """
    chosen = selection or ExportFilter()

    def read_folder(version_keys: list[str]) -> list[ExportedVersion]:
        return _read_folder(storage, version_keys, chosen, with_html)

    for versions in ordered_map(read_folder, iter_article_folders(storage), read_ahead):
        yield from versions


def ordered_map(
    func: Callable[[_In], _Out], items: Iterable[_In], window: int = READ_AHEAD
) -> Iterator[_Out]:
    """Yield ``func(item)`` for each item, in order, with at most ``window`` items in flight."""
    if window <= 1:
        yield from map(func, items)
        return
    pending: deque[Future[_Out]] = deque()
    with ThreadPoolExecutor(max_workers=window, thread_name_prefix="export-read") as pool:
        try:
            for item in items:
                pending.append(pool.submit(func, item))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            # A consumer that stops early (an error while writing) must not wait for reads
            # nobody will use.
            for future in pending:
                future.cancel()


def _read_folder(
    storage: Storage, version_keys: Sequence[str], chosen: ExportFilter, with_html: bool
) -> list[ExportedVersion]:
    picked: list[tuple[str, bytes, dict[str, Any]]] = []
    # For --latest, read from the newest version down and stop at the first that passes.
    ordered = reversed(version_keys) if chosen.latest else iter(version_keys)
    for key in ordered:
        data, record = _read_record(storage, key)
        if chosen.matches(record):
            picked.append((key, data, record))
            if chosen.latest:
                break
    return [
        ExportedVersion(key, data, record, _read_html(storage, key, record) if with_html else None)
        for key, data, record in picked
    ]


def _read_record(storage: Storage, key: str) -> tuple[bytes, dict[str, Any]]:
    data = storage.get(key)
    if data is None:
        raise ExportError(f"version record {key} was listed but cannot be read")
    try:
        return data, decode_record(data, VERSION_SCHEMA)
    except ValueError as err:
        raise ExportError(f"record {key} is not a valid {VERSION_SCHEMA} record: {err}") from err


def _read_html(storage: Storage, key: str, record: Mapping[str, Any]) -> bytes:
    html_key = record.get("html_key")
    if not isinstance(html_key, str) or not html_key:
        raise ExportError(f"version record {key} names no html_key")
    stored = storage.get(html_key)
    if stored is None:
        raise ExportError(f"HTML {html_key} of version {key} is missing")
    try:
        html = gzip.decompress(stored)
    except (OSError, EOFError, zlib.error) as err:
        raise ExportError(f"HTML {html_key} of version {key} is not valid gzip: {err}") from err
    if hashlib.sha256(html).hexdigest() != record.get("html_sha256"):
        raise ExportError(f"HTML {html_key} does not match the html_sha256 of version {key}")
    return html


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def _within(day: date | None, low: date | None, high: date | None) -> bool:
    if day is None:
        return False
    return (low is None or day >= low) and (high is None or day <= high)
