"""The catalog: one Parquet row per version, partitioned hive-style for DuckDB, Arrow and pandas.

The catalog is derived data: every row comes from a version record, and
:func:`rebuild_catalog` regenerates it from the versions alone. Crawl runs only ever add part
files, each created with a conditional write, so no run overwrites another's rows::

    catalog/capture_date=2026-11-28/source=news-example/part-{run_id}-00000.parquet

DuckDB reads it straight from the archive::

    SELECT source, count(*) FROM read_parquet('archive/catalog/**/*.parquet',
                                              hive_partitioning = true) GROUP BY source;
"""

from __future__ import annotations

import io
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from . import keys
from .errors import ArchiverError, ConflictError, StorageError
from .records import VERSION_SCHEMA, compact_utc, decode_record
from .storage import DeletableStorage

if TYPE_CHECKING:
    from .storage import Storage

logger = logging.getLogger(__name__)

CATALOG = "catalog"
CATALOG_SCHEMA_NAME = "newsarchive/catalog/1"
PARQUET_TYPE = "application/vnd.apache.parquet"
BATCH_ROWS = 10_000
"""Rows held in memory before the largest partition is written out as a part file."""
RUN_BATCH_ROWS = 2_000
"""Rows a crawl buffers before it writes a catalog part (a few MB)."""

_UTC_MICROS = pa.timestamp("us", tz="UTC")

# The one definition of a catalog row. ``capture_date`` is not stored in the files: it is the
# hive partition of the path, as readers (DuckDB, pyarrow.dataset) expect. ``source`` is both
# in the path and in the file, so a part file read alone still names its source.
CATALOG_FIELDS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("article_id", pa.string(), "first 32 hex digits of SHA-256 of identity_url"),
    ("identity_url", pa.string(), "the normalised URL identifying the article"),
    ("url", pa.string(), "final URL after redirects"),
    ("canonical_url", pa.string(), "canonical URL the page declares, or null"),
    ("source", pa.string(), "name of the configured source (also the partition)"),
    ("version", pa.int32(), "1-based version number"),
    ("previous_version", pa.int32(), "version - 1, or null for version 1"),
    ("captured_at", _UTC_MICROS, "when the response arrived (UTC)"),
    ("headline", pa.string(), "the article's headline"),
    ("authors", pa.list_(pa.string()), "the byline, one name per entry"),
    ("date_published", pa.string(), "publication date as extracted (ISO 8601 text)"),
    ("date_modified", pa.string(), "modification date as extracted (ISO 8601 text)"),
    ("published_at", _UTC_MICROS, "date_published as a UTC time; null without a UTC offset"),
    ("modified_at", _UTC_MICROS, "date_modified as a UTC time; null without a UTC offset"),
    ("language", pa.string(), "BCP 47 language tag"),
    ("section", pa.string(), "section of the outlet"),
    ("word_count", pa.int64(), "words in the body"),
    ("http_status", pa.int32(), "HTTP status of the archived response"),
    ("content_sha256", pa.string(), "hash of the extracted content (see docs/archive.md)"),
    ("html_sha256", pa.string(), "SHA-256 of the raw HTML as fetched"),
    ("json_key", pa.string(), "key of the version record"),
    ("html_key", pa.string(), "key of the gzip raw HTML"),
    ("run_id", pa.string(), "crawl run that appended the row; null in rebuilt rows"),
)
CATALOG_SCHEMA = pa.schema(
    [pa.field(name, kind, metadata={"description": text}) for name, kind, text in CATALOG_FIELDS],
    metadata={"schema": CATALOG_SCHEMA_NAME},
)
PARTITION_COLUMNS = ("capture_date", "source")
"""Hive partition columns, from the path: ``capture_date`` (a date) and ``source``."""

Progress = Callable[[int], None]
Group = tuple[date, str]


class CatalogError(ArchiverError):
    """A version record could not be turned into a catalog row, or a part not written."""


def catalog_row(record: Mapping[str, Any], run_id: str | None = None) -> dict[str, Any]:
    """Return the catalog row of one version record (``newsarchive/version/1``)."""
    aid = record.get("article_id")
    version = record.get("version")
    if not isinstance(aid, str) or not isinstance(version, int) or isinstance(version, bool):
        raise CatalogError(f"not a version record (article_id {aid!r}, version {version!r})")
    if version < 1:
        raise CatalogError(f"not a version record (article_id {aid!r}, version {version!r})")
    json_key = keys.version_key(aid, version)
    captured_at = _time(record.get("captured_at"))
    if captured_at is None:
        raise CatalogError(f"version record {json_key} has no valid captured_at")
    article = record.get("article")
    article = article if isinstance(article, Mapping) else {}
    http = record.get("http")
    authors = article.get("authors")
    date_published = _text(article.get("date_published"))
    date_modified = _text(article.get("date_modified"))
    previous = record.get("previous_version")
    return {
        "article_id": aid,
        "identity_url": _text(record.get("identity_url")),
        "url": _text(record.get("url")),
        "canonical_url": _text(record.get("canonical_url")),
        "source": _text(record.get("source")) or "",
        "version": version,
        "previous_version": previous if _is_int(previous) else None,
        "captured_at": captured_at,
        "headline": _text(article.get("headline")),
        "authors": [a for a in authors if isinstance(a, str)] if isinstance(authors, list) else [],
        "date_published": date_published,
        "date_modified": date_modified,
        "published_at": _time(date_published, need_offset=True),
        "modified_at": _time(date_modified, need_offset=True),
        "language": _text(article.get("language")),
        "section": _text(article.get("section")),
        "word_count": article.get("word_count") if _is_int(article.get("word_count")) else None,
        "http_status": http.get("status") if isinstance(http, Mapping) else None,
        "content_sha256": _text(record.get("content_sha256")),
        "html_sha256": _text(record.get("html_sha256")),
        "json_key": json_key,
        "html_key": _text(record.get("html_key")),
        "run_id": run_id or None,
    }


def partition_prefix(capture_date: date, source: str) -> str:
    """Return the hive-style folder of one capture date and source, ending in ``/``."""
    # Source names are [a-z0-9._-]; quoting keeps any other name a single safe path segment.
    return f"{CATALOG}/capture_date={capture_date.isoformat()}/source={quote(source, safe='')}/"


def append_versions(
    storage: Storage,
    records: Iterable[Mapping[str, Any]],
    run_id: str | None,
    *,
    batch_rows: int = BATCH_ROWS,
) -> list[str]:
    """Append one row per version record to the catalog and return the part keys written.

    Rows are grouped by capture date (UTC) and source; each group becomes one part file, or
    several if it outgrows ``batch_rows``, so memory stays bounded however many records come.
    Parts are created with a conditional write and are never overwritten: appending the same
    run twice raises :class:`~archiver.errors.ConflictError` instead of duplicating its rows.
    """
    writer = _PartWriter(storage, run_id, batch_rows)
    for record in records:
        writer.add(catalog_row(record, run_id))
    return writer.finish()


def append_version_keys(storage: Storage, version_keys: Iterable[str], run_id: str | None) -> int:
    """Read the version records under ``version_keys``, append them, and return the rows."""
    rows = (catalog_row(record, run_id) for record in _read_records(storage, version_keys))
    return append_rows(storage, rows, run_id)


def append_rows(storage: Storage, rows: Iterable[dict[str, Any]], run_id: str | None) -> int:
    """Append rows made by :func:`catalog_row` and return how many were written.

    All at once; a crawl appends its rows as it goes, through :class:`CatalogAppender`.
    """
    writer = _PartWriter(storage, run_id, BATCH_ROWS)
    for row in rows:
        writer.add(row)
    writer.finish()
    return writer.rows


class CatalogAppender:
    """Append one run's rows as its versions are written, a part whenever enough are buffered.

    A crawl's memory then stays flat however many versions it writes. Safe between threads:
    :meth:`add` only buffers (cheap enough for the reactor thread) and says when a part is due;
    :meth:`write_due` writes it (blocking: call it from a worker thread); :meth:`finish` writes
    the rest when the run ends.
    """

    def __init__(self, storage: Storage, run_id: str | None, batch_rows: int = RUN_BATCH_ROWS):
        self.run_id = run_id
        self._writer = _PartWriter(storage, run_id, batch_rows)
        self._lock = threading.Lock()

    def add(self, row: dict[str, Any]) -> bool:
        """Buffer a row made by :func:`catalog_row`; return whether a part is due."""
        with self._lock:
            self._writer.buffer(row)
            return self._writer.due

    def add_record(self, record: Mapping[str, Any]) -> bool:
        """Buffer the row of a version record; return whether a part is due."""
        return self.add(catalog_row(record, self.run_id))

    def add_version_keys(self, version_keys: Iterable[str]) -> None:
        """Read the version records under ``version_keys`` and append their rows (blocking)."""
        for record in _read_records(self._writer.storage, version_keys):
            self.add(catalog_row(record, self.run_id))
            self.write_due()

    def write_due(self) -> None:
        """Write parts while the buffer holds a part's worth of rows (blocking)."""
        with self._lock:
            while self._writer.due:
                self._writer.flush_largest()

    def finish(self) -> int:
        """Write every buffered row; return how many rows this run appended in all."""
        with self._lock:
            self._writer.finish()
            return self._writer.rows


def rebuild_catalog(
    storage: Storage, *, progress: Progress | None = None, batch_rows: int = BATCH_ROWS
) -> int:
    """Regenerate the whole catalog from the version records and return the rows written.

    The new parts are written first, under names no earlier part has; only then are the parts
    that existed when the rebuild started deleted. A failed rebuild therefore loses nothing
    (the catalog may hold some rows twice until a rebuild succeeds). Run it while no crawl
    appends: a version archived during the rebuild may otherwise be listed twice.
    """
    if not isinstance(storage, DeletableStorage):
        raise CatalogError(f"the storage of {storage.uri} cannot delete old catalog parts")
    old_parts = [key for key in storage.list(f"{CATALOG}/") if key.endswith(".parquet")]
    rebuild_id = f"rebuild-{compact_utc(datetime.now(UTC)).split('.')[0]}Z-{secrets.token_hex(3)}"
    writer = _PartWriter(storage, rebuild_id, batch_rows)
    for record in iter_version_records(storage):
        writer.add(catalog_row(record))
        if progress is not None:
            progress(writer.rows)
    written = writer.finish()
    rows = writer.rows
    for key in old_parts:
        storage.delete(key)
    logger.info(
        "Rebuilt the catalog of %s: %d rows in %d parts, %d old parts removed",
        storage.uri,
        rows,
        len(written),
        len(old_parts),
    )
    return rows


def iter_version_records(storage: Storage) -> Iterator[dict[str, Any]]:
    """Yield every version record in the archive, one article folder at a time."""

    def version_keys() -> Iterator[str]:
        for key in storage.list(f"{keys.ARTICLES}/"):
            # articles/{id[:2]}/{id}/v000001.json: versions sit directly in the article folder.
            if key.count("/") == 3 and keys.parse_version(key) is not None:
                yield key

    return _read_records(storage, version_keys())


def catalog_glob(location: str) -> str:
    """Return the glob that names every part under an archive root (a folder or ``s3://``)."""
    return f"{location.rstrip('/')}/{CATALOG}/**/*.parquet"


class _PartWriter:
    """Buffer rows by partition and write a part whenever the buffer grows too large."""

    def __init__(
        self,
        storage: Storage,
        name: str | None,
        batch_rows: int,
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be positive, got {batch_rows}")
        self.storage = storage
        # Without a run id, a random name still keeps this append apart from every other.
        self.name = name or f"append-{secrets.token_hex(8)}"
        self.batch_rows = batch_rows
        self.groups: dict[Group, list[dict[str, Any]]] = {}
        self.buffered = 0
        self.sequence: dict[Group, int] = {}
        self.written: list[str] = []
        self.rows = 0

    def add(self, row: dict[str, Any]) -> None:
        self.buffer(row)
        if self.due:
            self.flush_largest()

    def buffer(self, row: dict[str, Any]) -> None:
        group = (row["captured_at"].date(), row["source"])
        self.groups.setdefault(group, []).append(row)
        self.buffered += 1
        self.rows += 1

    @property
    def due(self) -> bool:
        return self.buffered >= self.batch_rows

    def flush_largest(self) -> None:
        # The largest group makes the fullest part; small groups wait for more rows.
        self._flush(max(self.groups, key=lambda g: len(self.groups[g])))

    def finish(self) -> list[str]:
        for group in sorted(self.groups):
            self._flush(group)
        return self.written

    def _flush(self, group: Group) -> None:
        rows = self.groups.pop(group)
        self.buffered -= len(rows)
        number = self.sequence.get(group, 0)
        self.sequence[group] = number + 1
        key = f"{partition_prefix(*group)}part-{self.name}-{number:05d}.parquet"
        try:
            table = pa.Table.from_pylist(rows, schema=CATALOG_SCHEMA)
            sink = io.BytesIO()
            pq.write_table(table, sink, compression="zstd")
        except (pa.ArrowException, ValueError, TypeError) as err:
            raise CatalogError(f"cannot encode catalog part {key}: {err}") from err
        try:
            self.storage.put(key, sink.getvalue(), content_type=PARQUET_TYPE, if_none_match=True)
        except ConflictError as err:
            raise ConflictError(f"catalog part {key} already exists; not overwritten") from err
        self.written.append(key)
        logger.info("Wrote catalog part %s (%d rows)", key, len(rows))


def _read_records(storage: Storage, version_keys: Iterable[str]) -> Iterator[dict[str, Any]]:
    for key in version_keys:
        data = storage.get(key)
        if data is None:
            raise StorageError(f"version record {key} was listed but cannot be read")
        try:
            yield decode_record(data, VERSION_SCHEMA)
        except ValueError as err:
            raise CatalogError(f"record {key} is not a valid {VERSION_SCHEMA} record") from err


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _time(value: Any, *, need_offset: bool = False) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        # A date or a time without an offset names no instant; a capture time is UTC.
        if need_offset:
            return None
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
