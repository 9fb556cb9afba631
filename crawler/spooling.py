"""Archive captures through storage outages: retry with back-off, then spool to local disk.

A write that fails (after boto3's own retries) is tried again ``retries`` times, waiting
``backoff``, twice that, and so on, without holding a thread while it waits. If it still fails the
capture goes to the durable :class:`~archiver.spool.Spool`, and so does every later capture of
the run: the archive keeps each article's versions in the order they were captured, which a
capture archived directly past an older spooled one would break. The spool is flushed at the
start of the next run, at the end of this one, and by ``newsarchive spool flush``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from archiver import ArchiverError, ArchiveResult, Capture, SnapshotStore
from archiver.spool import FlushResult, Spool, SpoolError

if TYPE_CHECKING:
    from concurrent.futures import Executor

logger = logging.getLogger(__name__)


class SpoolingArchiver:
    """Archive captures into ``store``, spooling what storage cannot take."""

    def __init__(
        self,
        store: SnapshotStore,
        spool: Spool,
        executor: Executor,
        *,
        retries: int = 2,
        backoff: float = 1.0,
    ) -> None:
        self.store = store
        self.spool = spool
        self.executor = executor
        self.retries = retries
        self.backoff = backoff
        self.spooling = False
        """Set once a capture was spooled: the rest of the run is spooled too."""

    async def archive(self, capture: Capture) -> ArchiveResult | None:
        """Archive ``capture``; return None if it was spooled instead.

        Raise :class:`~archiver.spool.SpoolError` only when neither storage nor the spool can
        take it.
        """
        loop = asyncio.get_running_loop()
        if not self.spooling:
            for attempt in range(self.retries + 1):
                try:
                    return await loop.run_in_executor(self.executor, self.store.archive, capture)
                except ArchiverError as err:
                    if attempt == self.retries:
                        logger.error(
                            "archive %s unavailable, spooling from now on (%s): %s",
                            self.spool.archive_uri,
                            capture.url,
                            err,
                        )
                        break
                    delay = self.backoff * 2**attempt
                    logger.warning(
                        "could not archive %s (%s); retrying in %.1f s", capture.url, err, delay
                    )
                    await asyncio.sleep(delay)
            self.spooling = True
        path = await loop.run_in_executor(self.executor, self.spool.put, capture)
        logger.warning("spooled %s -> %s", capture.url, path)
        return None

    def flush(self) -> FlushResult:
        """Archive what the spool holds (blocking); leave spooling mode if it is emptied."""
        if not self.spool.files():
            self.spooling = False
            return FlushResult([], 0, [])
        result = self.spool.flush(self.store)
        self.spooling = result.remaining > 0
        return result


__all__ = ["SpoolError", "SpoolingArchiver"]
