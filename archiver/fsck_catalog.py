"""Check the catalog against the version records, through an on-disk index of the versions.

Versions come in article-id order, catalog rows in capture-date and source order: matching the
two needs an index. It is a SQLite file in a temporary folder, so memory stays flat however
many versions the archive holds; it also answers whether a run's check log names real versions.
"""

from __future__ import annotations

import io
import re
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

from . import keys
from .catalog import CATALOG
from .errors import StorageError
from .export_select import ordered_map
from .fsck_articles import VersionFacts
from .fsck_problems import Problem

if TYPE_CHECKING:
    from .storage import Storage

CATALOG_READ_AHEAD = 4
"""Catalog parts fetched ahead of the one being checked."""
ROW_COLUMNS = (
    "json_key",
    "article_id",
    "version",
    "source",
    "captured_at",
    "content_sha256",
    "html_sha256",
    "html_key",
)
"""The catalog columns compared with the version records."""
_PART = re.compile(rf"{CATALOG}/capture_date=(\d{{4}}-\d{{2}}-\d{{2}})/source=([^/]+)/[^/]+")
_BATCH_ROWS = 4096


class VersionIndex:
    """The facts of every version seen, and how many catalog rows name each; one thread only."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="newsarchive-fsck-")
        path = Path(self._folder.name) / "versions.sqlite"
        self._db = sqlite3.connect(path, check_same_thread=False)
        # A scratch file, rebuilt on every run: durability buys nothing here.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE versions (key TEXT PRIMARY KEY, article_id TEXT, version INTEGER,"
            " content_sha256 TEXT, html_sha256 TEXT, html_key TEXT, source TEXT,"
            " captured_at TEXT, rows INTEGER NOT NULL DEFAULT 0, first_part TEXT) WITHOUT ROWID"
        )
        self.size = 0

    def close(self) -> None:
        """Remove the index file."""
        self._db.close()
        self._folder.cleanup()

    def __enter__(self) -> VersionIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def add(self, versions: Iterable[VersionFacts]) -> None:
        """Record versions found in the archive."""
        rows = [
            (
                facts.key,
                facts.article_id,
                facts.version,
                facts.content_sha256,
                facts.html_sha256,
                facts.html_key,
                facts.source,
                facts.captured_at.isoformat() if facts.captured_at else None,
            )
            for facts in versions
        ]
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO versions (key, article_id, version, content_sha256,"
                " html_sha256, html_key, source, captured_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        self.size += len(rows)

    def get(self, key: str) -> VersionFacts | None:
        """Return the facts of the version under ``key``, or None if there is none."""
        row = self._db.execute(
            "SELECT key, article_id, version, content_sha256, html_sha256, html_key, source,"
            " captured_at FROM versions WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return VersionFacts(
            key=row[0],
            article_id=row[1],
            version=row[2],
            content_sha256=row[3],
            html_sha256=row[4],
            html_key=row[5],
            source=row[6],
            captured_at=datetime.fromisoformat(row[7]) if row[7] else None,
        )

    def count_row(self, key: str, part: str) -> None:
        """Note one more catalog row naming ``key``, found in ``part``."""
        self._db.execute(
            "UPDATE versions SET rows = rows + 1, first_part = coalesce(first_part, ?)"
            " WHERE key = ?",
            (part, key),
        )

    def commit(self) -> None:
        """Let SQLite write out what it holds; nothing depends on it but memory."""
        self._db.commit()

    def row_counts(self) -> Iterator[tuple[str, int, str | None]]:
        """Yield ``(key, rows, first part)`` of each version with other than one catalog row."""
        yield from self._db.execute(
            "SELECT key, rows, first_part FROM versions WHERE rows != 1 ORDER BY key"
        )


def check_catalog(
    storage: Storage, index: VersionIndex, checked: Counter[str]
) -> Iterator[Problem]:
    """Check every catalog part against the index; then every version has exactly one row."""
    parts = 0
    unknown: list[Problem] = []

    def part_keys() -> Iterator[str]:
        nonlocal parts
        for key in storage.list(f"{CATALOG}/"):
            if key.endswith(".parquet"):
                parts += 1
                yield key
            else:
                unknown.append(Problem("unknown-key", key, "not a Parquet part of the catalog"))

    def fetch(key: str) -> tuple[str, bytes | None, str]:
        try:
            return key, storage.get(key), ""
        except StorageError as err:
            return key, None, str(err)

    for key, data, error in ordered_map(fetch, part_keys(), CATALOG_READ_AHEAD):
        checked["catalog_parts"] += 1
        if error or data is None:
            yield Problem("object-unreadable", key, error or "listed, then not found")
            continue
        yield from _check_part(key, data, index, checked)
        index.commit()
    yield from unknown
    if not parts:
        if index.size:
            yield Problem(
                "catalog-absent",
                f"{CATALOG}/",
                f"no catalog parts for {index.size} versions; `newsarchive catalog rebuild` "
                "writes them",
            )
        return
    for key, rows, first_part in index.row_counts():
        if rows == 0:
            yield Problem(
                "catalog-missing-row",
                key,
                "no catalog row names this version; `newsarchive catalog rebuild` restores it",
            )
        else:
            yield Problem(
                "catalog-duplicate-row",
                key,
                f"{rows} catalog rows name this version (the first in {first_part})",
            )


def _check_part(
    key: str, data: bytes, index: VersionIndex, checked: Counter[str]
) -> Iterator[Problem]:
    partition = _PART.fullmatch(key)
    if partition is None:
        yield Problem(
            "catalog-part-misplaced",
            key,
            "not under catalog/capture_date=YYYY-MM-DD/source=NAME/: hive readers misread it",
        )
    day = _day(partition.group(1)) if partition else None
    source = unquote(partition.group(2)) if partition else None
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        missing = [name for name in ROW_COLUMNS if name not in parquet.schema_arrow.names]
        if missing:
            yield Problem("catalog-unreadable", key, f"no column {', '.join(missing)}")
            return
        number = 0
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=list(ROW_COLUMNS)):
            for row in batch.to_pylist():
                checked["catalog_rows"] += 1
                yield from _check_row(key, number, row, day, source, index)
                number += 1
    except (pa.ArrowException, OSError, ValueError) as err:
        yield Problem("catalog-unreadable", key, f"not a readable Parquet file: {err}")


def _check_row(
    part: str,
    number: int,
    row: dict[str, Any],
    day: date | None,
    source: str | None,
    index: VersionIndex,
) -> Iterator[Problem]:
    json_key = row["json_key"]
    facts = index.get(json_key) if isinstance(json_key, str) else None
    if facts is None:
        yield Problem(
            "catalog-dangling-row",
            part,
            f"row {number} names {json_key}, which is not a version record of the archive",
        )
        return
    index.count_row(json_key, part)
    differ = []
    if row["version"] != keys.parse_version(json_key):
        differ.append(f"version {row['version']}")
    if row["article_id"] != facts.article_id:
        differ.append(f"article_id {row['article_id']}")
    for name in ("content_sha256", "html_sha256", "html_key", "source"):
        recorded = getattr(facts, name)
        if recorded is not None and row[name] != recorded:
            differ.append(f"{name} {row[name]} (the record has {recorded})")
    captured = row["captured_at"]
    if facts.captured_at is not None and captured != facts.captured_at:
        differ.append(f"captured_at {captured} (the record has {facts.captured_at})")
    if (
        day is not None
        and isinstance(captured, datetime)
        and captured.astimezone(UTC).date() != day
    ):
        differ.append(f"captured_at {captured} outside its partition capture_date={day}")
    if source is not None and row["source"] != source:
        differ.append(f"source {row['source']} outside its partition source={source}")
    if differ:
        yield Problem(
            "catalog-row-mismatch", part, f"row {number} ({json_key}): {'; '.join(differ)}"
        )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
