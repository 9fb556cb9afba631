"""The revisit queue: which articles to fetch again, and when.

A small SQLite database in the state folder (``ARCHIVE_STATE_DIR``, default ``state``), file
``revisits.sqlite``, one row per article identity. It runs in WAL mode and every change is one
``BEGIN IMMEDIATE`` transaction, so a crawl that enqueues new articles and a revisit crawl can
use it at the same time from two processes. The rules (schedule, confirmation of failed
sightings) are in :mod:`crawler.revisit_policy`; this module only keeps the rows.

Calls block (disk I/O, and waiting for the other process's transaction): asynchronous code
runs them in a worker thread. One queue object is safe to share between threads.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from archiver.sqlite_wal import use_wal
from crawler.errors import CrawlerError
from crawler.revisit_policy import (
    Evidence,
    RevisitEntry,
    Sighting,
    Transition,
    decide,
    iso,
    next_due,
    parse_iso,
)

logger = logging.getLogger(__name__)

FILE_NAME = "revisits.sqlite"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS revisits (
    identity_url TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    steps TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    next_due TEXT,
    finished INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'present',
    pending_state TEXT,
    pending_count INTEGER NOT NULL DEFAULT 0,
    pending_evidence TEXT NOT NULL DEFAULT '[]',
    last_revisit TEXT,
    last_outcome TEXT
);
CREATE INDEX IF NOT EXISTS revisits_due ON revisits (next_due) WHERE next_due IS NOT NULL;
"""
# SQLite allows 999 parameters in older builds; stay well below.
_BATCH = 500


class RevisitQueueError(CrawlerError):
    """The revisit queue's database cannot be opened, read or written; names the file."""


class RevisitQueue:
    """The revisit queue in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | Path, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are opened explicitly, as BEGIN IMMEDIATE, so two
            # processes queue up for the write lock instead of failing on an upgrade.
            self._conn = sqlite3.connect(
                str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except (sqlite3.Error, OSError) as err:
            raise RevisitQueueError(f"cannot open the revisit queue {self.path}: {err}") from err
        try:
            self._conn.row_factory = sqlite3.Row
            use_wal(self._conn)
            # WAL with synchronous=NORMAL survives a crashed process; only a power cut may lose
            # the last transactions, which a revisit then repeats.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            with self._write("create the schema") as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise RevisitQueueError(
                        f"revisit queue {self.path} has schema {version}, newer than this "
                        f"newsarchive knows ({SCHEMA_VERSION})"
                    )
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except (sqlite3.Error, RevisitQueueError) as err:
            self._conn.close()
            if isinstance(err, RevisitQueueError):
                raise
            raise RevisitQueueError(f"cannot open the revisit queue {self.path}: {err}") from err

    @classmethod
    def in_state_dir(cls, state_dir: str | Path) -> RevisitQueue:
        """Open (creating it if needed) ``STATE_DIR/revisits.sqlite``."""
        return cls(Path(state_dir) / FILE_NAME)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RevisitQueue:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- writing ----------------------------------------------------------------------------
    def enqueue(
        self,
        identity_url: str,
        source: str,
        url: str,
        first_seen: datetime,
        steps: tuple[timedelta, ...],
    ) -> bool:
        """Add an article first seen at ``first_seen``; its first revisit is due one step later.

        Return False (and change nothing) when the article is already queued or ``steps`` is
        empty.
        """
        if not steps:
            return False
        due = next_due(first_seen, steps, 0)
        assert due is not None
        with self._write(f"enqueue {identity_url}") as conn:
            cursor = conn.execute(
                "INSERT INTO revisits (identity_url, source, url, first_seen, steps, next_due) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (identity_url) DO NOTHING",
                (identity_url, source, url, iso(first_seen), _steps_json(steps), iso(due)),
            )
            added = cursor.rowcount == 1
        if added:
            logger.debug("queued %s for revisits from %s", identity_url, iso(due))
        return added

    def claim_due(
        self,
        now: datetime,
        sources: Collection[str] | None = None,
        lease: timedelta = timedelta(0),
    ) -> list[RevisitEntry]:
        """Return the entries due at ``now`` (of ``sources`` only, if given), earliest first.

        With a ``lease``, the claimed entries are not due again until ``now + lease`` unless a
        revisit is recorded first, so a second revisit crawl does not fetch them too, and a
        crawl that dies leaves them to a later one.
        """
        if sources is not None and not sources:
            return []
        query = "SELECT * FROM revisits WHERE next_due IS NOT NULL AND next_due <= ?"
        params: list[Any] = [iso(now)]
        if sources is not None:
            names = sorted(set(sources))
            query += f" AND source IN ({', '.join('?' * len(names))})"
            params += names
        query += " ORDER BY next_due, identity_url"
        with self._write("claim due revisits") as conn:
            entries = [_entry(row) for row in conn.execute(query, params).fetchall()]
            if lease > timedelta(0):
                until = iso(now + lease)
                for start in range(0, len(entries), _BATCH):
                    conn.executemany(
                        "UPDATE revisits SET next_due = ? WHERE identity_url = ?",
                        [(until, e.identity_url) for e in entries[start : start + _BATCH]],
                    )
        return entries

    def record(
        self,
        sighting: Sighting,
        confirm_after: timedelta,
        apply: Callable[[Transition], None] | None = None,
    ) -> Transition | None:
        """Apply one revisit to its entry and return what it did (None: not in the queue).

        ``apply`` runs inside the transaction, before the entry is updated: it writes what the
        archive must keep. If it raises, nothing changes, and the article stays due for a later
        revisit, so a state change is never lost between the queue and the archive.
        """
        with self._write(f"record a revisit of {sighting.identity_url}") as conn:
            row = conn.execute(
                "SELECT * FROM revisits WHERE identity_url = ?", (sighting.identity_url,)
            ).fetchone()
            if row is None:
                return None
            transition = decide(_entry(row), sighting, confirm_after)
            if apply is not None:
                apply(transition)
            after = transition.entry
            conn.execute(
                "UPDATE revisits SET step = ?, next_due = ?, finished = ?, state = ?, "
                "pending_state = ?, pending_count = ?, pending_evidence = ?, last_revisit = ?, "
                "last_outcome = ? WHERE identity_url = ?",
                (
                    after.step,
                    iso(after.next_due) if after.next_due is not None else None,
                    int(after.finished),
                    after.state,
                    after.pending,
                    after.pending_count,
                    json.dumps([e.to_dict() for e in after.evidence]),
                    iso(after.last_revisit) if after.last_revisit is not None else None,
                    after.last_outcome,
                    after.identity_url,
                ),
            )
        return transition

    # --- reading ----------------------------------------------------------------------------
    def get(self, identity_url: str) -> RevisitEntry | None:
        """Return the entry of an article, or None if it is not queued."""
        rows = self._read("SELECT * FROM revisits WHERE identity_url = ?", (identity_url,))
        return _entry(rows[0]) if rows else None

    def entries(self, source: str | None = None) -> list[RevisitEntry]:
        """Return every entry (of ``source`` only, if given), in order of first sighting."""
        if source is None:
            rows = self._read("SELECT * FROM revisits ORDER BY first_seen, identity_url", ())
        else:
            rows = self._read(
                "SELECT * FROM revisits WHERE source = ? ORDER BY first_seen, identity_url",
                (source,),
            )
        return [_entry(row) for row in rows]

    def _read(self, query: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(query, params).fetchall()
            except sqlite3.Error as err:
                raise RevisitQueueError(f"revisit queue {self.path}: read failed: {err}") from err

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                raise RevisitQueueError(f"revisit queue {self.path}: {what} failed: {err}") from err


def _steps_json(steps: tuple[timedelta, ...]) -> str:
    return json.dumps([step.total_seconds() for step in steps])


def _entry(row: sqlite3.Row) -> RevisitEntry:
    return RevisitEntry(
        identity_url=row["identity_url"],
        source=row["source"],
        url=row["url"],
        first_seen=parse_iso(row["first_seen"]),
        steps=tuple(timedelta(seconds=s) for s in json.loads(row["steps"])),
        step=row["step"],
        next_due=parse_iso(row["next_due"]) if row["next_due"] else None,
        state=row["state"],
        pending=row["pending_state"],
        evidence=tuple(Evidence.from_dict(e) for e in json.loads(row["pending_evidence"])),
        last_revisit=parse_iso(row["last_revisit"]) if row["last_revisit"] else None,
        last_outcome=row["last_outcome"],
    )
