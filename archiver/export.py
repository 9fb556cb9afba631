"""Export slices of the archive as JSONL, Parquet or WARC, streaming, in constant memory.

Versions are read one article folder at a time (see :mod:`archiver.export_select`) and written
as they come: JSONL line by line, Parquet in bounded row groups, WARC record by record. The
output appears under its name only when complete::

    with open_storage("s3://news-archive/prod") as storage:
        stats = export_archive(storage, "parquet", Path("world.parquet"),
                               ExportFilter(sources=frozenset({"bbc-world"})))
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from .export_select import FORMATS, ExportError, ExportFilter, iter_export_versions

if TYPE_CHECKING:
    from .storage import Storage

PARQUET_SCHEMA_NAME = "newsarchive/export/1"
ROW_GROUP_ROWS = 1000
"""Rows per Parquet row group, unless ``ROW_GROUP_BYTES`` of text fill it first."""
ROW_GROUP_BYTES = 8 * 1024 * 1024

_UTC_MICROS = pa.timestamp("us", tz="UTC")

# The one definition of an exported Parquet row; the descriptions travel in the file.
PARQUET_FIELDS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("article_id", pa.string(), "first 32 hex digits of SHA-256 of identity_url"),
    ("identity_url", pa.string(), "the normalised URL identifying the article"),
    ("url", pa.string(), "final URL after redirects"),
    ("source", pa.string(), "name of the configured source"),
    ("version", pa.int32(), "1-based version number"),
    ("captured_at", _UTC_MICROS, "when the response arrived (UTC)"),
    ("headline", pa.string(), "the article's headline"),
    ("authors", pa.list_(pa.string()), "the byline, one name per entry"),
    ("date_published", pa.string(), "publication date as extracted (ISO 8601 text)"),
    ("date_modified", pa.string(), "modification date as extracted (ISO 8601 text)"),
    ("language", pa.string(), "BCP 47 language tag"),
    ("section", pa.string(), "section of the outlet"),
    ("body", pa.string(), "the extracted body text, paragraphs separated by newlines"),
    ("word_count", pa.int64(), "words in the body"),
    ("content_sha256", pa.string(), "hash of the extracted content (see docs/archive.md)"),
    ("html_sha256", pa.string(), "SHA-256 of the raw HTML as fetched"),
    ("json_key", pa.string(), "key of the version record in the archive"),
    ("html_key", pa.string(), "key of the gzip raw HTML in the archive"),
)
PARQUET_SCHEMA = pa.schema(
    [pa.field(name, kind, metadata={"description": text}) for name, kind, text in PARQUET_FIELDS],
    metadata={"schema": PARQUET_SCHEMA_NAME},
)


@dataclass
class ExportStats:
    """What an export wrote so far: versions, distinct articles, and bytes of output."""

    versions: int = 0
    articles: int = 0
    bytes: int = 0


Progress = Callable[[ExportStats], None]


def export_archive(
    storage: Storage,
    fmt: str,
    output: Path,
    selection: ExportFilter | None = None,
    *,
    progress: Progress | None = None,
) -> ExportStats:
    """Export the versions ``selection`` picks to ``output`` in ``fmt`` (jsonl, parquet, warc).

    A WARC export also writes its CDXJ index beside it (see :func:`archiver.export_warc.cdxj_path`).
    """
    if fmt == "jsonl":
        return export_jsonl(storage, output, selection, progress=progress)
    if fmt == "parquet":
        return export_parquet(storage, output, selection, progress=progress)
    if fmt == "warc":
        # Imported here: only WARC exports need warcio and the CDXJ indexer.
        from .export_warc import export_warc

        return export_warc(storage, output, selection, progress=progress)
    raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def export_jsonl(
    storage: Storage,
    output: Path,
    selection: ExportFilter | None = None,
    *,
    progress: Progress | None = None,
) -> ExportStats:
    """Write one version record per line, exactly the JSON the archive holds, compacted."""
    stats = ExportStats()
    with atomic_output(output) as sink:
        counter = ArticleCounter()
        for version in iter_export_versions(storage, selection):
            line = json.dumps(version.record, ensure_ascii=False, separators=(",", ":"))
            sink.write(line.encode("utf-8") + b"\n")
            stats.versions += 1
            stats.articles += counter.seen(version.record)
            stats.bytes = sink.tell()
            if progress is not None:
                progress(stats)
    return stats


def export_parquet(
    storage: Storage,
    output: Path,
    selection: ExportFilter | None = None,
    *,
    progress: Progress | None = None,
) -> ExportStats:
    """Write one row per version (:data:`PARQUET_SCHEMA`) in bounded row groups, zstd."""
    stats = ExportStats()
    with atomic_output(output) as sink:
        counter = ArticleCounter()
        writer = pq.ParquetWriter(sink, PARQUET_SCHEMA, compression="zstd")
        try:
            rows: list[dict[str, Any]] = []
            buffered = 0
            for version in iter_export_versions(storage, selection):
                row = parquet_row(version.record, version.key)
                rows.append(row)
                buffered += len(row["body"] or "")
                stats.versions += 1
                stats.articles += counter.seen(version.record)
                if len(rows) >= ROW_GROUP_ROWS or buffered >= ROW_GROUP_BYTES:
                    _write_rows(writer, rows, version.key)
                    rows, buffered = [], 0
                stats.bytes = sink.tell()
                if progress is not None:
                    progress(stats)
            if rows:
                _write_rows(writer, rows, rows[-1]["json_key"])
        finally:
            writer.close()
        stats.bytes = sink.tell()
    return stats


def parquet_row(record: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Return the Parquet row of the version record stored under ``key``."""
    article = record.get("article")
    article = article if isinstance(article, Mapping) else {}
    authors = article.get("authors")
    try:
        captured_at = datetime.fromisoformat(str(record.get("captured_at")))
    except ValueError as err:
        raise ExportError(f"version record {key} has no valid captured_at") from err
    if captured_at.tzinfo is None:
        captured_at = captured_at.replace(tzinfo=UTC)
    return {
        "article_id": _text(record.get("article_id")),
        "identity_url": _text(record.get("identity_url")),
        "url": _text(record.get("url")),
        "source": _text(record.get("source")),
        "version": _int(record.get("version")),
        "captured_at": captured_at.astimezone(UTC),
        "headline": _text(article.get("headline")),
        "authors": [a for a in authors if isinstance(a, str)] if isinstance(authors, list) else [],
        "date_published": _text(article.get("date_published")),
        "date_modified": _text(article.get("date_modified")),
        "language": _text(article.get("language")),
        "section": _text(article.get("section")),
        "body": _text(article.get("body")),
        "word_count": _int(article.get("word_count")),
        "content_sha256": _text(record.get("content_sha256")),
        "html_sha256": _text(record.get("html_sha256")),
        "json_key": key,
        "html_key": _text(record.get("html_key")),
    }


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``path``; give it that name only if the block succeeds."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"output {path} is a folder")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        sink = temporary.open("xb")
    except OSError as err:
        raise ExportError(f"cannot write the export {path}: {err}") from err
    try:
        with sink:
            yield sink
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class ArticleCounter:
    """Count distinct articles; versions of one article arrive together, so one id suffices."""

    def __init__(self) -> None:
        self.last: object = None

    def seen(self, record: Mapping[str, Any]) -> int:
        aid = record.get("article_id")
        if aid == self.last:
            return 0
        self.last = aid
        return 1


def _write_rows(writer: pq.ParquetWriter, rows: list[dict[str, Any]], key: str) -> None:
    try:
        writer.write_table(pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA))
    except (pa.ArrowException, ValueError, TypeError) as err:
        raise ExportError(f"cannot encode the rows up to {key} as Parquet: {err}") from err


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
