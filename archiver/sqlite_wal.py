"""Put a SQLite file that several processes share in WAL mode, safely when they start together.

Switching a database to WAL needs it to itself, and SQLite answers "database is locked" at once
rather than waiting as it does for a write lock. Crawlers that the scheduler starts together,
one per source, all open the same state files; on a fresh state folder they race to switch.
"""

from __future__ import annotations

import random
import sqlite3
import time


def use_wal(conn: sqlite3.Connection, timeout: float = 30.0) -> None:
    """Put ``conn``'s database in WAL mode, retrying while another process holds it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02 + random.random() * 0.05)  # noqa: S311 - not cryptographic
