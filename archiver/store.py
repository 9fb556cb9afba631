"""Versioned article snapshots: decide new, changed or unchanged, and write in a safe order."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import keys
from .errors import CaptureError, ConflictError, StorageError
from .records import (
    OBSERVATION_SCHEMA,
    VERSION_SCHEMA,
    ArchiveResult,
    Capture,
    ObservationReason,
    Outcome,
    compact_utc,
    content_sha256,
    decode_record,
    encode_record,
    gzip_bytes,
    observation_record,
    parse_time,
    sha256_hex,
    validators,
    version_record,
)
from .states import read_states
from .uri import open_storage

if TYPE_CHECKING:
    from botocore.config import Config

    from .storage import Storage

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json"
HTML_GZIP_TYPE = "application/gzip"
_LOCK_STRIPES = 64


@dataclass(frozen=True)
class _Latest:
    version: int
    content_sha256: str
    key: str


@dataclass(frozen=True)
class FetchHints:
    """What the archive knows of an article's last fetch, to make the next one cheap.

    ``etag`` and ``last_modified`` are for a conditional GET; ``html_sha256`` tells whether a
    body is byte-identical to the last one seen, so extraction can be skipped.
    """

    identity_url: str
    version: int
    version_key: str
    content_sha256: str
    html_sha256: str | None
    etag: str | None
    last_modified: str | None


class _LatestCache:
    """A bounded LRU of article id -> latest version, safe between threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, _Latest] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, aid: str) -> _Latest | None:
        with self._lock:
            latest = self._items.get(aid)
            if latest is not None:
                self._items.move_to_end(aid)
            return latest

    def put(self, aid: str, latest: _Latest) -> None:
        if self._size <= 0:
            return
        with self._lock:
            current = self._items.get(aid)
            # Another thread may have cached a later version meanwhile; never go back.
            if current is None or current.version <= latest.version:
                self._items[aid] = latest
            self._items.move_to_end(aid)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class _AbsentSet:
    """Article ids just found to have no version, each to be used once; bounded, thread-safe."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, aid: str) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._items[aid] = None
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def take(self, aid: str) -> bool:
        with self._lock:
            return self._items.pop(aid, False) is None


class SnapshotStore:
    """Keep every version of every article in one :class:`~archiver.storage.Storage`.

    The archive itself is the truth: the latest version is read back from storage, so a
    process restarted with an empty cache adds no duplicate versions. Safe between threads.
    """

    def __init__(
        self, storage: Storage, *, cache_size: int = 100_000, max_attempts: int = 16
    ) -> None:
        self.storage = storage
        self._cache = _LatestCache(cache_size)
        self._absent = _AbsentSet(cache_size)
        self._max_attempts = max_attempts
        # Captures of one article in one process queue up instead of racing; other
        # processes are kept apart by the conditional create of the version record.
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    @property
    def uri(self) -> str:
        """Return the URI of the archive root."""
        return self.storage.uri

    def close(self) -> None:
        """Release the storage's connections."""
        self.storage.close()

    def __enter__(self) -> SnapshotStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def archive(self, capture: Capture) -> ArchiveResult:
        """Store ``capture`` as a new version, or as an observation if its content is unchanged.

        Blocking; call it from a worker thread in asynchronous code.
        """
        # The record is encoded before the HTML is written, so a capture that is not plain JSON
        # data fails before anything is stored.
        _check(capture, encode=False)
        aid = keys.article_id(capture.identity_url)
        captured_at = parse_time(capture.captured_at)
        content_hash = content_sha256(capture.article)
        html_hash = sha256_hex(capture.html)
        with self._locks[int(aid[:8], 16) % _LOCK_STRIPES]:
            latest = self._current(aid, trust_absent=True)
            html_stored = False
            for _attempt in range(self._max_attempts):
                if latest is not None and latest.content_sha256 == content_hash:
                    return self._observe(capture, aid, captured_at, latest, content_hash, html_hash)
                version = 1 if latest is None else latest.version + 1
                html_key = keys.html_key(aid, html_hash)
                key = keys.version_key(aid, version)
                record = version_record(
                    capture,
                    article_id=aid,
                    captured_at=captured_at,
                    version=version,
                    previous_key=None if latest is None else latest.key,
                    content_hash=content_hash,
                    html_hash=html_hash,
                    html_key=html_key,
                )
                data = encode_record(record)
                if not html_stored:
                    # HTML first: a version record must never point at a missing object.
                    self._put_html(html_key, capture.html)
                    html_stored = True
                try:
                    self.storage.put(key, data, content_type=JSON_TYPE, if_none_match=True)
                except ConflictError:
                    logger.info(
                        "Version %d of %s was written concurrently (%s); re-reading the latest",
                        version,
                        capture.identity_url,
                        key,
                    )
                    previous = latest
                    latest = self._read_latest(aid)
                    if latest == previous:
                        # A 409 means the rival write is still in flight: give it a moment.
                        time.sleep((10 + secrets.randbelow(40)) / 1000)
                    continue
                latest = _Latest(version, content_hash, key)
                self._cache.put(aid, latest)
                outcome: Outcome = "new" if version == 1 else "changed"
                # DEBUG: the crawler logs each outcome once already.
                logger.debug("Archived %s as %s version %d: %s", capture.url, outcome, version, key)
                return ArchiveResult(
                    outcome, aid, version, key, content_hash, html_hash, record=record
                )
        raise ConflictError(
            f"gave up archiving {capture.identity_url} ({keys.article_prefix(aid)}) after "
            f"{self._max_attempts} conflicting writes"
        )

    def latest(self, identity_url: str) -> dict[str, Any] | None:
        """Return the latest version record of an article, or None if it has none."""
        aid = keys.article_id(identity_url)
        numbers = self._version_numbers(aid)
        return self._read_version(keys.version_key(aid, numbers[-1])) if numbers else None

    def fetch_hints(self, identity_url: str) -> FetchHints | None:
        """Return the validators and body hash of the article's last fetch, if it has one.

        The newer of the latest version and its latest observation wins: an unchanged fetch
        may have brought a new ETag or a new body.
        """
        aid = keys.article_id(identity_url)
        latest = self._current(aid)
        if latest is None:
            # The capture that usually follows need not list the folder again (see _current).
            self._absent.add(aid)
            return None
        record = self._read_version(latest.key)
        http = record.get("http") or {}
        seen = validators(http.get("headers") or {})
        html_hash: str | None = record.get("html_sha256")
        observed = sorted(self.storage.list(keys.observations_prefix(aid)))
        if observed:
            last = self._read(observed[-1], OBSERVATION_SCHEMA)
            if last.get("version") == latest.version:
                last_http = last.get("http") or {}
                fresh = {k: last_http[k] for k in ("etag", "last_modified") if last_http.get(k)}
                # A 304 need not repeat the validators it answered; a 200 replaces them.
                seen = {**seen, **fresh} if last.get("reason") == "not_modified" else fresh
                html_hash = last.get("html_sha256") or html_hash
        return FetchHints(
            identity_url=str(record.get("identity_url") or identity_url),
            version=latest.version,
            version_key=latest.key,
            content_sha256=latest.content_sha256,
            html_sha256=html_hash,
            etag=seen.get("etag"),
            last_modified=seen.get("last_modified"),
        )

    def assume_absent(self, identity_url: str) -> None:
        """Let the next capture of the article skip reading its latest version, once.

        For a caller that knows the archive holds no version of it (a complete hints cache).
        Should one exist after all, the create-only write of version 1 conflicts and
        :meth:`archive` reads the latest version then: nothing is duplicated.
        """
        self._absent.add(keys.article_id(identity_url))

    def observe(
        self, capture: Capture, hints: FetchHints, reason: ObservationReason
    ) -> ArchiveResult:
        """Record a fetch found unchanged before extraction (``not_modified``, ``same_html``).

        ``capture.article`` may be empty: the observation confirms ``hints.version``.
        """
        _check(capture)
        aid = keys.article_id(hints.identity_url)
        latest = _Latest(hints.version, hints.content_sha256, hints.version_key)
        html_hash = sha256_hex(capture.html) if capture.html else hints.html_sha256
        observed_at = parse_time(capture.captured_at)
        return self._observe(
            capture, aid, observed_at, latest, hints.content_sha256, html_hash, reason
        )

    def history(self, identity_url: str) -> list[dict[str, Any]]:
        """Return every version record of an article, oldest first (one prefix listing)."""
        aid = keys.article_id(identity_url)
        found = (
            (keys.parse_version(key), key)
            for key in self.storage.list(keys.article_prefix(aid))
            if "/" not in key.removeprefix(keys.article_prefix(aid))
        )
        ordered = sorted((number, key) for number, key in found if number is not None)
        return [self._read_version(key) for _number, key in ordered]

    def observations(self, identity_url: str) -> list[dict[str, Any]]:
        """Return every observation record of an article, oldest first."""
        aid = keys.article_id(identity_url)
        records = []
        for key in self.storage.list(keys.observations_prefix(aid)):
            records.append(self._read(key, OBSERVATION_SCHEMA))
        return records

    def states(self, identity_url: str) -> list[dict[str, Any]]:
        """Return every state-change record of an article (removed, restored...), oldest first."""
        return read_states(self.storage, identity_url)

    def _current(self, aid: str, *, trust_absent: bool = False) -> _Latest | None:
        if trust_absent and self._absent.take(aid):
            # Found without versions a moment ago (fetch hints before the fetch). If another
            # writer created version 1 since, the create-only write of ours fails, and the
            # conflict path re-reads the folder: trusting this once saves a listing per new
            # article and can add no duplicate.
            return None
        cached = self._cache.get(aid)
        # One HEAD proves the cached version is still the latest: versions are contiguous,
        # because each is created only as the successor of the one its writer read.
        if cached is not None and not self.storage.exists(
            keys.version_key(aid, cached.version + 1)
        ):
            return cached
        return self._read_latest(aid)

    def _read_latest(self, aid: str) -> _Latest | None:
        numbers = self._version_numbers(aid)
        if not numbers:
            return None
        key = keys.version_key(aid, numbers[-1])
        content_hash = self._read_version(key).get("content_sha256")
        if not isinstance(content_hash, str):
            raise StorageError(f"record {key} has no content_sha256")
        latest = _Latest(numbers[-1], content_hash, key)
        self._cache.put(aid, latest)
        return latest

    def _version_numbers(self, aid: str) -> list[int]:
        found = (keys.parse_version(key) for key in self.storage.list(keys.versions_prefix(aid)))
        return sorted(number for number in found if number is not None)

    def _read_version(self, key: str) -> dict[str, Any]:
        return self._read(key, VERSION_SCHEMA)

    def _read(self, key: str, schema: str) -> dict[str, Any]:
        data = self.storage.get(key)
        if data is None:
            raise StorageError(f"record {key} was listed but cannot be read")
        try:
            return decode_record(data, schema)
        except ValueError as err:
            raise StorageError(f"record {key} is not a valid {schema} record: {err}") from err

    def _put_html(self, key: str, html: bytes) -> None:
        try:
            self.storage.put(key, gzip_bytes(html), content_type=HTML_GZIP_TYPE, if_none_match=True)
        except ConflictError:
            # Content-addressed: the object already there holds these very bytes.
            logger.debug("HTML %s is already stored", key)

    def _observe(
        self,
        capture: Capture,
        aid: str,
        observed_at: datetime,
        latest: _Latest,
        content_hash: str,
        html_hash: str | None,
        reason: ObservationReason = "content_unchanged",
    ) -> ArchiveResult:
        record = encode_record(
            observation_record(
                capture,
                article_id=aid,
                observed_at=observed_at,
                version=latest.version,
                version_key=latest.key,
                content_hash=content_hash,
                html_hash=html_hash,
                reason=reason,
            )
        )
        for _attempt in range(self._max_attempts):
            key = keys.observation_key(aid, compact_utc(observed_at), secrets.token_hex(4))
            try:
                self.storage.put(key, record, content_type=JSON_TYPE, if_none_match=True)
            except ConflictError:
                continue
            logger.debug(
                "Observed %s unchanged at version %d: %s", capture.url, latest.version, key
            )
            return ArchiveResult("unchanged", aid, latest.version, key, content_hash, html_hash)
        raise ConflictError(f"could not find a free observation key for {capture.identity_url}")


def _check(capture: Capture, *, encode: bool = True) -> None:
    if not isinstance(capture.identity_url, str) or not capture.identity_url:
        raise CaptureError("capture has no identity_url")
    if not isinstance(capture.html, bytes):
        raise CaptureError(
            f"html of {capture.url} must be bytes, not {type(capture.html).__name__}"
        )
    if isinstance(capture.status, bool) or not isinstance(capture.status, int):
        raise CaptureError(f"status of {capture.url} must be an int")
    if not isinstance(capture.article, Mapping) or not isinstance(capture.provenance, Mapping):
        raise CaptureError(f"article and provenance of {capture.url} must be mappings")
    if encode:
        encode_record({"article": dict(capture.article), "provenance": dict(capture.provenance)})


def open_store(
    uri: str,
    *,
    conditional_writes: bool = True,
    s3_config: Config | None = None,
    cache_size: int = 100_000,
) -> SnapshotStore:
    """Open the archive ``uri`` names: a folder path, ``file:///path`` or ``s3://bucket/prefix``.

    ``conditional_writes=False`` (``ARCHIVE_S3_CONDITIONAL_WRITES``) is for S3 servers that do
    not support ``If-None-Match`` on PUT; ``s3_config`` is merged over the boto3 defaults.
    """
    storage = open_storage(uri, conditional_writes=conditional_writes, s3_config=s3_config)
    return SnapshotStore(storage, cache_size=cache_size)
