"""Export versions as a WARC file (ISO 28500, WARC/1.1) with a sorted CDXJ index beside it.

Layout of ``out.warc.gz`` (every record its own gzip member, so tools can seek to any record)::

    warcinfo                     what made the file, from which archive, with which filters
    response  (per version)      HTTP/1.1 status line and archived headers, then the raw HTML
    metadata  (per version)      the version record's JSON, WARC-Concurrent-To its response

A metadata record's WARC-Target-URI is ``urn:newsarchive:version:`` + the page's URL, not the
URL itself: replay tools look records up by URI, and must find the page, not its JSON.
``out.cdxj`` indexes both kinds (SURT key, 14-digit timestamp, JSON with url, mime, status,
digest, length, offset and filename), sorted, as pywb and other replay tools read it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from io import BytesIO
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cdxj_indexer.main import CDXJIndexer
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import GzippingWrapper, WARCWriter

from .export import ArticleCounter, ExportStats, Progress, atomic_output
from .export_select import ExportError, ExportFilter, iter_export_versions

if TYPE_CHECKING:
    from .storage import Storage

WARC_VERSION = "WARC/1.1"
METADATA_URI_PREFIX = "urn:newsarchive:version:"
"""Prefix of the WARC-Target-URI of a version's metadata record, before the page's URL."""
GZIP_LEVEL = 6
"""Compression level of each record: level 9 (warcio's) is several times slower for ~2% less."""
SORT_BUFFER_BYTES = 8 * 1024 * 1024
"""Index lines sorted in memory at once; larger indexes are merge-sorted through temp files."""

# The archived body is the decoded HTML: headers describing the encoding on the wire would make
# the record lie about its payload, so they are dropped and Content-Length is set anew.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


def cdxj_path(output: Path) -> Path:
    """Return the path of the CDXJ index written beside the WARC ``output``."""
    name = output.name
    for suffix in (".warc.gz", ".warc"):
        if name.endswith(suffix):
            return output.with_name(name[: -len(suffix)] + ".cdxj")
    return output.with_name(name + ".cdxj")


def export_warc(
    storage: Storage,
    output: Path,
    selection: ExportFilter | None = None,
    *,
    progress: Progress | None = None,
) -> ExportStats:
    """Write the versions ``selection`` picks to the WARC ``output``, then its CDXJ index."""
    output = Path(output)
    chosen = selection or ExportFilter()
    stats = ExportStats()
    index = cdxj_path(output)
    if index == output:
        raise ExportError(f"output {output} would be overwritten by its own index")
    with atomic_output(output) as sink:
        writer = RecordGzipWARCWriter(sink, warc_version=WARC_VERSION)
        writer.write_record(
            writer.create_warcinfo_record(output.name, _warcinfo(storage.uri, chosen))
        )
        counter = ArticleCounter()
        for exported in iter_export_versions(storage, chosen, with_html=True):
            assert exported.html is not None
            response = response_record(writer, exported.record, exported.html, exported.key)
            writer.write_record(response)
            writer.write_record(metadata_record(writer, exported.record, exported.data, response))
            stats.versions += 1
            stats.articles += counter.seen(exported.record)
            stats.bytes = sink.tell()
            if progress is not None:
                progress(stats)
        # The index names the WARC by its final name, and is built before that name appears,
        # so a reader never finds a WARC whose index is still missing.
        sink.flush()
        with atomic_output(index) as index_sink:
            write_cdxj(Path(sink.name), output.name, index_sink)
    return stats


class RecordGzipWARCWriter(WARCWriter):  # type: ignore[misc]
    """Write every record as its own gzip member, at :data:`GZIP_LEVEL`."""

    def __init__(self, out: IO[bytes], *, warc_version: str = WARC_VERSION) -> None:
        # warcio's own gzip is fixed at level 9; records are wrapped here instead.
        super().__init__(out, gzip=False, warc_version=warc_version)

    def _write_warc_record(self, out: Any, record: Any) -> None:
        super()._write_warc_record(_GzipMember(out), record)


class _GzipMember(GzippingWrapper):  # type: ignore[misc]
    def __init__(self, out: Any) -> None:
        self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        self.out = out


def response_record(writer: WARCWriter, record: Mapping[str, Any], html: bytes, key: str) -> Any:
    """Build the ``response`` record of one version: its HTTP head and raw HTML."""
    url = record.get("url")
    if not isinstance(url, str) or not url:
        raise ExportError(f"version record {key} has no url")
    http = record.get("http")
    http = http if isinstance(http, Mapping) else {}
    status = http.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        raise ExportError(f"version record {key} has no HTTP status")
    headers = http.get("headers")
    kept = [
        (str(name), _one_line(value))
        for name, value in (headers.items() if isinstance(headers, Mapping) else ())
        if str(name).lower() not in _WIRE_HEADERS
    ]
    kept.append(("content-length", str(len(html))))
    head = StatusAndHeaders(_status_line(status), kept, protocol="HTTP/1.1")
    return writer.create_warc_record(
        url,
        "response",
        payload=BytesIO(html),
        length=len(html),
        http_headers=head,
        warc_headers_dict={"WARC-Date": warc_date(record.get("captured_at"), key)},
    )


def metadata_record(
    writer: WARCWriter, record: Mapping[str, Any], data: bytes, response: Any
) -> Any:
    """Build the ``metadata`` record holding the version record's JSON, tied to its response."""
    response_id = response.rec_headers.get_header("WARC-Record-ID")
    return writer.create_warc_record(
        METADATA_URI_PREFIX + response.rec_headers.get_header("WARC-Target-URI"),
        "metadata",
        payload=BytesIO(data),
        length=len(data),
        warc_content_type="application/json",
        warc_headers_dict={
            "WARC-Date": response.rec_headers.get_header("WARC-Date"),
            "WARC-Concurrent-To": response_id,
            "WARC-Refers-To": response_id,
        },
    )


def write_cdxj(warc: Path, filename: str, sink: IO[bytes]) -> None:
    """Index the response and metadata records of ``warc`` into ``sink``, sorted."""
    text = _TextSink(sink)
    try:
        indexer = CDXJIndexer(
            text,
            [str(warc)],
            sort=True,
            max_sort_buff_size=SORT_BUFFER_BYTES,
            filename=filename,
            records="response,metadata",
        )
        indexer.process_all()
    except Exception as err:  # the indexer raises whatever its parsers raise
        raise ExportError(f"cannot index {warc}: {err}") from err


def warc_date(value: Any, key: str) -> str:
    """Return ``captured_at`` as a WARC/1.1 date: UTC with microseconds."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as err:
        raise ExportError(f"version record {key} has no valid captured_at") from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _one_line(value: Any) -> str:
    # A line break inside a header value would end the HTTP head early.
    return " ".join(str(value).splitlines())


def _warcinfo(uri: str, chosen: ExportFilter) -> dict[str, str]:
    try:
        software = f"newsarchive/{version('newsarchive')}"
    except PackageNotFoundError:
        software = "newsarchive"
    selection = {
        "sources": sorted(chosen.sources),
        "captured_from": _iso(chosen.captured_from),
        "captured_to": _iso(chosen.captured_to),
        "published_from": _iso(chosen.published_from),
        "published_to": _iso(chosen.published_to),
        "latest": chosen.latest,
    }
    return {
        "software": f"{software} warcio/{version('warcio')}",
        "format": "WARC File Format 1.1",
        "conformsTo": "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "description": "newsarchive export: per version a response record (the raw HTML as "
        "archived) and a metadata record (the version record, application/json)",
        "isPartOf": uri,
        "newsarchive-selection": json.dumps(selection, separators=(",", ":")),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class _TextSink:
    """Let the indexer write text lines into a binary file."""

    def __init__(self, sink: IO[bytes]) -> None:
        self.sink = sink

    def write(self, text: str) -> int:
        return self.sink.write(text.encode("utf-8"))

    def flush(self) -> None:
        self.sink.flush()
