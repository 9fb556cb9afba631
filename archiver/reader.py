"""Read the archive: sources, articles with filters, an article's history, a version as of a time.

Everything streams: articles are read one article folder at a time from the ``articles/``
listing (a few folders ahead, in threads, so an S3 archive keeps several requests in flight),
and nothing holds the archive in memory::

    with open_reader("s3://news-archive/prod") as reader:
        for summary in reader.articles(source="le-quotidien", language="fr"):
            print(summary.captured_at, summary.headline)
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import keys
from .cli_diff import url_candidates
from .errors import StorageError
from .export_select import iter_article_folders, ordered_map
from .history import HistoryEvent, check_events, observation_event, state_event, version_event
from .read_filter import (
    ArticleFilter,
    ReadError,
    TimeBound,
    UnknownArticleError,
    parse_instant,
    record_time,
)
from .read_sources import SourceStats, stats_from_runs, stats_from_scan
from .records import OBSERVATION_SCHEMA, VERSION_SCHEMA, decode_record
from .states import read_states
from .uri import open_storage

if TYPE_CHECKING:
    from .storage import Storage

READ_AHEAD = 16
"""Article folders (or run manifests) read ahead of the one being yielded."""


@dataclass(frozen=True)
class ArticleSummary:
    """One version of an article, as :meth:`ArchiveReader.articles` yields it."""

    identity_url: str
    article_id: str
    source: str
    url: str
    version: int
    versions: int
    """How many versions the article has in all."""
    captured_at: str
    headline: str | None
    language: str | None
    date_published: str | None
    key: str
    """Key of the version record."""
    record: dict[str, Any]
    """The whole version record (``newsarchive/version/1``)."""

    @property
    def article(self) -> dict[str, Any]:
        """Return the extracted article of this version."""
        article = self.record.get("article")
        return article if isinstance(article, dict) else {}

    def to_json(self) -> dict[str, Any]:
        """Return the summary as JSON data, without the record."""
        article = self.article
        return {
            "identity_url": self.identity_url,
            "article_id": self.article_id,
            "source": self.source,
            "url": self.url,
            "version": self.version,
            "versions": self.versions,
            "captured_at": self.captured_at,
            "headline": self.headline,
            "authors": article.get("authors") or [],
            "section": article.get("section"),
            "language": self.language,
            "date_published": self.date_published,
            "date_modified": article.get("date_modified"),
            "key": self.key,
        }


class ArchiveReader:
    """Read an archive through any :class:`~archiver.storage.Storage`; safe between threads."""

    def __init__(self, storage: Storage, *, read_ahead: int = READ_AHEAD) -> None:
        self.storage = storage
        self._read_ahead = read_ahead

    @property
    def uri(self) -> str:
        """Return the URI of the archive root."""
        return self.storage.uri

    def close(self) -> None:
        """Release the storage's connections."""
        self.storage.close()

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- sources ----------------------------------------------------------------------------

    def sources(self) -> list[str]:
        """Return the names of the sources in the archive, sorted (see :meth:`source_stats`)."""
        return sorted(self.source_stats())

    def source_stats(self, *, scan: bool = False) -> dict[str, SourceStats]:
        """Return each source's article and version counts, by name.

        The run manifests are read (one small object per crawl run): a source's articles are
        the ``new`` and its versions the ``new`` plus ``changed`` of every run. An archive
        without manifests, or ``scan=True``, is counted instead by reading the first version
        record of every article, which costs one request per article.
        """
        if not scan:
            counted = stats_from_runs(self.storage, self._read_ahead)
            if counted:
                return counted
        return stats_from_scan(self.storage, self._read_ahead)

    # --- articles ---------------------------------------------------------------------------

    def articles(
        self,
        *,
        source: str | Iterable[str] | None = None,
        published_from: TimeBound | None = None,
        published_to: TimeBound | None = None,
        captured_from: TimeBound | None = None,
        captured_to: TimeBound | None = None,
        language: str | None = None,
        text_contains: str | None = None,
        latest_only: bool = True,
    ) -> Iterator[ArticleSummary]:
        """Yield the articles that pass the filters, article folder by article folder.

        With ``latest_only`` (the default) each article yields at most one version: its last
        version that passes the filters (with ``captured_to``, the article as it read then).
        Otherwise every passing version is yielded, oldest first within each article.
        Articles come in the order of their ids, not by time. Bounds are inclusive; see
        :class:`~archiver.read_filter.ArticleFilter`.
        """
        chosen = ArticleFilter.build(
            source=source,
            published_from=published_from,
            published_to=published_to,
            captured_from=captured_from,
            captured_to=captured_to,
            language=language,
            text_contains=text_contains,
        )

        def read_folder(version_keys: list[str]) -> list[ArticleSummary]:
            return self._pick(version_keys, chosen, latest_only)

        folders = iter_article_folders(self.storage)
        for picked in ordered_map(read_folder, folders, self._read_ahead):
            yield from picked

    def _pick(
        self, version_keys: list[str], chosen: ArticleFilter, latest_only: bool
    ) -> list[ArticleSummary]:
        picked = []
        # For the latest only, read from the newest version down and stop at the first match.
        for key in reversed(version_keys) if latest_only else version_keys:
            record = self._record(key)
            if chosen.matches(record):
                picked.append(_summary(key, record, len(version_keys)))
                if latest_only:
                    break
        return picked

    # --- one article ------------------------------------------------------------------------

    def resolve(self, url: str) -> str:
        """Return the identity URL the archive keeps ``url``'s article under.

        ``url`` is tried as given, without its fragment, with tracking parameters
        (``utm_*``, ``fbclid``...) removed and scheme and host in lower case, and each of
        those with and without a trailing slash. Raise :class:`UnknownArticleError` if none
        is archived. A URL that differs from the identity in other ways (an old slug, a
        redirect) is not found: use the identity or canonical URL.
        """
        for candidate in _candidates(url):
            if self._version_numbers(candidate):
                return candidate
        raise UnknownArticleError(f"no article archived under {url} in {self.uri}")

    def version_numbers(self, identity_or_url: str) -> list[int]:
        """Return the article's version numbers, ascending (one listing)."""
        return self._version_numbers(self.resolve(identity_or_url))

    def versions(self, identity_or_url: str) -> list[dict[str, Any]]:
        """Return every version record of the article, oldest first."""
        identity = self.resolve(identity_or_url)
        aid = keys.article_id(identity)
        return [
            self._record(keys.version_key(aid, number))
            for number in self._version_numbers(identity)
        ]

    def version(self, identity_or_url: str, number: int) -> dict[str, Any]:
        """Return version ``number`` of the article; raise :class:`ReadError` if it has none."""
        identity = self.resolve(identity_or_url)
        if number < 1:
            raise ReadError(f"version numbers start at 1, got {number}")
        record = self._get_record(keys.version_key(keys.article_id(identity), number))
        if record is None:
            numbers = self._version_numbers(identity)
            raise ReadError(f"{identity} has versions 1-{numbers[-1]}, no version {number}")
        return record

    def latest(self, identity_or_url: str) -> dict[str, Any]:
        """Return the article's latest version record."""
        identity = self.resolve(identity_or_url)
        numbers = self._version_numbers(identity)
        return self._record(keys.version_key(keys.article_id(identity), numbers[-1]))

    def as_of(self, identity_or_url: str, when: datetime | str) -> dict[str, Any] | None:
        """Return the version current at ``when``: the last one captured at or before it.

        ``when`` is an aware datetime, a naive one (UTC) or an ISO 8601 string. Return None
        when ``when`` is before the first version was captured.
        """
        moment = parse_instant(when) if isinstance(when, str) else _aware(when)
        identity = self.resolve(identity_or_url)
        aid = keys.article_id(identity)
        # Newest first: the usual question is about a recent time, and versions are few.
        for number in reversed(self._version_numbers(identity)):
            record = self._record(keys.version_key(aid, number))
            captured = record_time(record.get("captured_at"))
            if captured is not None and captured <= moment:
                return record
        return None

    def raw_html(self, identity_or_url: str, number: int) -> bytes:
        """Return the HTML of version ``number`` exactly as fetched (decompressed, verified)."""
        record = self.version(identity_or_url, number)
        html_key = record.get("html_key")
        if not isinstance(html_key, str) or not html_key:
            raise ReadError(f"version {number} of {record.get('identity_url')} has no html_key")
        stored = self.storage.get(html_key)
        if stored is None:
            raise StorageError(f"HTML {html_key} of version {number} is missing")
        try:
            html = gzip.decompress(stored)
        except (OSError, EOFError, zlib.error) as err:
            raise StorageError(f"HTML {html_key} is not valid gzip: {err}") from err
        if hashlib.sha256(html).hexdigest() != record.get("html_sha256"):
            raise StorageError(f"HTML {html_key} does not match its version's html_sha256")
        return html

    def history(self, identity_or_url: str, *, include_checks: bool = False) -> list[HistoryEvent]:
        """Return the article's versions, observations and state changes, oldest first.

        One listing of the article's folder finds all three. With ``include_checks`` the
        check logs of every run are read too (one object per run), adding the fetches found
        unchanged before extraction (``not_modified``, ``same_html``), which write nothing
        into the article's folder.
        """
        identity = self.resolve(identity_or_url)
        prefix = keys.article_prefix(keys.article_id(identity))
        events: list[HistoryEvent] = []
        for key in self.storage.list(prefix):
            rest = key.removeprefix(prefix)
            if "/" not in rest and keys.parse_version(key) is not None:
                events.append(version_event(key, self._record(key)))
            elif rest.startswith("obs/") and key.endswith(".json"):
                observation = self._get_record(key, OBSERVATION_SCHEMA)
                if observation is not None:
                    events.append(observation_event(key, observation))
        events.extend(state_event(record) for record in read_states(self.storage, identity))
        if include_checks:
            check_logs = (key for key in self.storage.list("runs/") if key.endswith(".jsonl.gz"))
            for found in ordered_map(
                lambda key: check_events(self.storage, key, identity), check_logs, self._read_ahead
            ):
                events.extend(found)
        return sorted(events, key=HistoryEvent.sort_key)

    # --- records ----------------------------------------------------------------------------

    def _version_numbers(self, identity: str) -> list[int]:
        aid = keys.article_id(identity)
        found = (keys.parse_version(key) for key in self.storage.list(keys.versions_prefix(aid)))
        return sorted(number for number in found if number is not None)

    def _record(self, key: str) -> dict[str, Any]:
        record = self._get_record(key)
        if record is None:
            raise StorageError(f"record {key} was listed but cannot be read")
        return record

    def _get_record(self, key: str, schema: str = VERSION_SCHEMA) -> dict[str, Any] | None:
        data = self.storage.get(key)
        if data is None:
            return None
        try:
            return decode_record(data, schema)
        except ValueError as err:
            raise StorageError(f"record {key} is not a valid {schema} record: {err}") from err


def open_reader(uri: str, *, read_ahead: int = READ_AHEAD) -> ArchiveReader:
    """Open the archive ``uri`` names for reading: a folder, ``file:///...`` or ``s3://...``."""
    return ArchiveReader(open_storage(uri), read_ahead=read_ahead)


def _candidates(url: str) -> Iterator[str]:
    seen: set[str] = set()
    for candidate in url_candidates(url):
        for spelling in (candidate, _toggle_slash(candidate)):
            if spelling and spelling not in seen:
                seen.add(spelling)
                yield spelling


def _toggle_slash(url: str) -> str:
    base, mark, query = url.partition("?")
    path_start = base.find("/", base.find("://") + 3) if "://" in base else -1
    if path_start < 0 or base.endswith("://"):
        return ""
    if base.endswith("/"):
        trimmed = base.rstrip("/")
        # The root path keeps its slash: "https://host/" is not "https://host".
        return "" if len(trimmed) < path_start + 1 else f"{trimmed}{mark}{query}"
    return f"{base}/{mark}{query}"


def _aware(moment: datetime) -> datetime:
    return parse_instant(moment.isoformat())


def _summary(key: str, record: Mapping[str, Any], versions: int) -> ArticleSummary:
    raw = record.get("article")
    article: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return ArticleSummary(
        identity_url=str(record.get("identity_url") or ""),
        article_id=str(record.get("article_id") or ""),
        source=str(record.get("source") or ""),
        url=str(record.get("url") or ""),
        version=int(record.get("version") or keys.parse_version(key) or 0),
        versions=versions,
        captured_at=str(record.get("captured_at") or ""),
        headline=_text(article.get("headline")),
        language=_text(article.get("language")),
        date_published=_text(article.get("date_published")),
        key=key,
        record=dict(record),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
