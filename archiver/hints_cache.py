"""A local cache of fetch hints, so an unchanged article costs the archive no request.

Asking the archive what it knows of an article's last fetch (:meth:`SnapshotStore.fetch_hints`)
takes a listing and a few reads: far more than the conditional GET it prepares. The crawler
keeps the answers, and the hints of every capture it archives, in a SQLite file on local disk,
keyed by archive URI and by the identity of the URL requested.

The cache only ever saves requests; it decides nothing. A missing entry (an empty disk, a new
container) means asking the archive, as before. A stale entry (another crawler archived a newer
version meanwhile) is harmless: its validators make the server answer 200 for a changed page,
and archiving compares the page with the archive's own latest version, never with the cache.

Entries are kept under the archive's identity (:mod:`archiver.identity`): when the archive
behind the URI is another one (emptied and started again), the cache drops what it knew.

A cache that has known an archive since it was created empty is **complete**: every article
archived through it has an entry. For an article it has no entry for, the crawler then skips
asking the archive (a listing per new article) and assumes there is none yet. Should another
crawler, with a cache of its own, have archived that article meanwhile, the assumption costs a
full fetch and an extraction, and archiving still finds the article's versions: its create-only
write of version 1 conflicts and the archive's latest version is read (see
:meth:`~archiver.store.SnapshotStore.archive`). No version is duplicated or lost either way.
"""

from __future__ import annotations

import sqlite3
import threading
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from . import keys
from .errors import ArchiverError
from .records import content_sha256, sha256_hex, validators
from .sqlite_wal import use_wal
from .store import FetchHints

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .identity import ArchiveIdentity
    from .records import ArchiveResult, Capture

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hints (
    archive TEXT NOT NULL,
    url TEXT NOT NULL,
    identity_url TEXT NOT NULL,
    version INTEGER NOT NULL,
    version_key TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    html_sha256 TEXT,
    etag TEXT,
    last_modified TEXT,
    PRIMARY KEY (archive, url)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS archives (
    archive TEXT PRIMARY KEY,
    archive_id TEXT NOT NULL,
    complete INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forgotten (
    archive TEXT NOT NULL,
    url TEXT NOT NULL,
    PRIMARY KEY (archive, url)
) WITHOUT ROWID;
"""
_FIELDS = "identity_url, version, version_key, content_sha256, html_sha256, etag, last_modified"

_SELECT = f"SELECT {_FIELDS} FROM hints WHERE archive = ? AND url = ?"  # noqa: S608 - constants
# A newer version wins; an older answer (a slower crawler's) never replaces it.
_UPSERT = (
    f"INSERT INTO hints (archive, url, {_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
    " ON CONFLICT (archive, url) DO UPDATE SET identity_url = excluded.identity_url,"
    " version = excluded.version, version_key = excluded.version_key,"
    " content_sha256 = excluded.content_sha256, html_sha256 = excluded.html_sha256,"
    " etag = excluded.etag, last_modified = excluded.last_modified"
    " WHERE excluded.version >= hints.version"
)


AHEAD_KEPT = 10_000
"""Entries read ahead (:meth:`HintsCache.read_ahead`) and not yet asked for, at most: 10,000
hints take about 10 MB."""
_AHEAD_BATCH = 500  # URLs per query: well under SQLite's oldest limit of 999 parameters
_ABSENT = object()  # read ahead: a complete cache has no entry for the URL, nor forgot one


class HintsCacheError(ArchiverError):
    """The local hints cache cannot be opened or written."""


def hints_after(capture: Capture, result: ArchiveResult) -> FetchHints:
    """Return what the next fetch of ``capture``'s article should know, once it is archived.

    A new version, and an unchanged fetch answered with a 200, both leave this fetch's
    validators and body as the last ones seen.
    """
    seen = validators(capture.headers)
    return FetchHints(
        identity_url=capture.identity_url,
        version=result.version,
        version_key=keys.version_key(result.article_id, result.version),
        content_sha256=result.content_sha256 or content_sha256(capture.article),
        html_sha256=result.html_sha256 or sha256_hex(capture.html),
        etag=seen.get("etag"),
        last_modified=seen.get("last_modified"),
    )


class HintsCache:
    """Fetch hints of one archive, by URL identity, in a SQLite file; safe between threads."""

    def __init__(
        self,
        path: str | Path,
        archive_uri: str,
        identity: ArchiveIdentity | None = None,
        ahead_kept: int = AHEAD_KEPT,
    ) -> None:
        self.path = Path(path)
        self.ahead_kept = ahead_kept
        """Entries read ahead and not yet asked for, at most (see :meth:`read_ahead`)."""
        self.archive_uri = archive_uri
        self.complete = False
        """Every article archived at ``archive_uri`` has an entry (see the module's text)."""
        self._lock = threading.Lock()
        # Read ahead, by URL: hints, or _ABSENT. Oldest first, so the oldest go when it is full.
        self._ahead: dict[str, object] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            # WAL: several crawler processes (the scheduler runs one per source) share the file.
            use_wal(self._db)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            if identity is not None:
                # Read and write in one transaction that holds the write lock from the start:
                # crawlers starting together (the scheduler runs one per source) wait in turn,
                # where a read upgraded to a write would fail at once.
                self._db.execute("BEGIN IMMEDIATE")
                self.complete = self._adopt(identity)
            self._db.commit()
        except (OSError, sqlite3.Error) as err:
            raise HintsCacheError(f"cannot open the hints cache {self.path}: {err}") from err

    def _adopt(self, identity: ArchiveIdentity) -> bool:
        """Tie the entries to the archive's id; drop them if they belong to another archive."""
        row = self._db.execute(
            "SELECT archive_id, complete FROM archives WHERE archive = ?", (self.archive_uri,)
        ).fetchone()
        if row is not None and row[0] == identity.archive_id:
            return bool(row[1])
        # Another archive (or one this cache never knew by id): nothing kept can be trusted.
        for table in ("hints", "forgotten"):
            self._db.execute(
                f"DELETE FROM {table} WHERE archive = ?",  # noqa: S608 - constant names
                (self.archive_uri,),
            )
        complete = identity.created_now and identity.empty_at_creation
        self._db.execute(
            "INSERT OR REPLACE INTO archives (archive, archive_id, complete) VALUES (?, ?, ?)",
            (self.archive_uri, identity.archive_id, int(complete)),
        )
        return complete

    def read_ahead(self, urls: Iterable[str]) -> int:
        """Read the entries of ``urls`` (identity URLs) now, a few hundred to a query, so that
        :meth:`get` and :meth:`knows_absent` answer for them from memory; return how many.

        A listing names tens to thousands of articles. Reading their entries together, in the
        thread that parsed the listing, spares the crawl's reactor a query per article, and with
        it a release of the GIL that another thread may hold on to. At most ``ahead_kept``
        entries wait to be asked for; the oldest go first. What is read ahead is as current as a
        query at that moment, and :meth:`put` and :meth:`forget` replace it.
        """
        wanted = list(dict.fromkeys(urls))
        read = 0
        for start in range(0, len(wanted), _AHEAD_BATCH):
            chunk = wanted[start : start + _AHEAD_BATCH]
            marks = ", ".join("?" * len(chunk))
            try:
                # One hold of the lock for the query and the keeping: a put() between the two
                # would otherwise be overwritten by what it replaced.
                with self._lock:
                    rows = self._db.execute(
                        f"SELECT url, {_FIELDS} FROM hints"  # noqa: S608 - constants, ? marks
                        f" WHERE archive = ? AND url IN ({marks})",
                        (self.archive_uri, *chunk),
                    ).fetchall()
                    found: dict[str, object] = {row[0]: FetchHints(*row[1:]) for row in rows}
                    if self.complete:
                        forgotten = {
                            row[0]
                            for row in self._db.execute(
                                "SELECT url FROM forgotten"  # noqa: S608 - constants, ? marks
                                f" WHERE archive = ? AND url IN ({marks})",
                                (self.archive_uri, *chunk),
                            )
                        }
                        for url in chunk:
                            if url not in found and url not in forgotten:
                                found[url] = _ABSENT
                    self._ahead.update(found)
                    excess = len(self._ahead) - self.ahead_kept
                    if excess > 0:
                        for url in list(islice(self._ahead, excess)):
                            del self._ahead[url]
            except sqlite3.Error as err:
                raise HintsCacheError(f"cannot read the hints cache {self.path}: {err}") from err
            read += len(found)
        return read

    def get(self, url: str) -> FetchHints | None:
        """Return the hints cached for ``url`` (an identity URL), or None."""
        try:
            with self._lock:
                ahead = self._ahead.get(url)
                if ahead is _ABSENT:
                    return None  # kept for knows_absent(), which asks next
                if ahead is not None:
                    del self._ahead[url]
                    return ahead  # type: ignore[return-value]
                row = self._db.execute(_SELECT, (self.archive_uri, url)).fetchone()
        except sqlite3.Error as err:
            raise HintsCacheError(f"cannot read the hints cache {self.path}: {err}") from err
        if row is None:
            return None
        return FetchHints(*row)

    def knows_absent(self, url: str) -> bool:
        """Return whether the archive holds no article for ``url``, as far as a complete cache
        can tell: it has no entry for it, and did not forget one."""
        if not self.complete:
            return False
        try:
            with self._lock:
                if self._ahead.pop(url, None) is _ABSENT:
                    return True
                row = self._db.execute(
                    "SELECT 1 FROM hints WHERE archive = ? AND url = ?"
                    " UNION ALL SELECT 1 FROM forgotten WHERE archive = ? AND url = ?",
                    (self.archive_uri, url, self.archive_uri, url),
                ).fetchone()
        except sqlite3.Error as err:
            raise HintsCacheError(f"cannot read the hints cache {self.path}: {err}") from err
        return row is None

    def put(self, url: str | Iterable[str], hints: FetchHints) -> None:
        """Remember ``hints`` for ``url`` (or for each of several URLs, in one transaction),
        unless a newer version is already cached for it."""
        urls = [url] if isinstance(url, str) else list(url)
        fields = (
            hints.identity_url,
            hints.version,
            hints.version_key,
            hints.content_sha256,
            hints.html_sha256,
            hints.etag,
            hints.last_modified,
        )
        try:
            with self._lock:
                for u in urls:
                    self._ahead.pop(u, None)
                self._db.executemany(_UPSERT, [(self.archive_uri, u, *fields) for u in urls])
                if self.complete:
                    self._db.executemany(
                        "DELETE FROM forgotten WHERE archive = ? AND url = ?",
                        [(self.archive_uri, u) for u in urls],
                    )
                self._db.commit()
        except sqlite3.Error as err:
            raise HintsCacheError(f"cannot write the hints cache {self.path}: {err}") from err

    def forget(self, url: str) -> None:
        """Drop what is cached for ``url``: the archive learnt something the cache cannot say.

        The next fetch of ``url`` asks the archive, even when the cache is complete.
        """
        try:
            with self._lock:
                self._ahead.pop(url, None)
                self._db.execute(
                    "DELETE FROM hints WHERE archive = ? AND url = ?", (self.archive_uri, url)
                )
                self._db.execute(
                    "INSERT OR IGNORE INTO forgotten (archive, url) VALUES (?, ?)",
                    (self.archive_uri, url),
                )
                self._db.commit()
        except sqlite3.Error as err:
            raise HintsCacheError(f"cannot write the hints cache {self.path}: {err}") from err

    def __len__(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM hints WHERE archive = ?", (self.archive_uri,)
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._ahead.clear()
            self._db.close()
