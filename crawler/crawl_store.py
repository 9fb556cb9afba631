"""One archive store per crawl, shared by every component that reads or writes the archive.

The spider, the conditional-GET middleware, the pipelines and the crawl summary all talk to the
same archive. Each opening its own store meant one boto3 client, one credential lookup and one
connection pool apiece; sharing one keeps the connections warm and their number bounded (the S3
client's pool is sized for every thread that uses it, see ``archiver/s3.py``). The store is
closed once, when the engine has stopped and every component is done with it.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from scrapy import signals

from archiver import ArchiverError, SnapshotStore, open_store
from archiver.hints_cache import HintsCache
from archiver.identity import archive_identity

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_STORES: WeakKeyDictionary[Crawler, SnapshotStore] = WeakKeyDictionary()
_CACHES: WeakKeyDictionary[Crawler, HintsCache | None] = WeakKeyDictionary()
_LOCK = threading.Lock()


class _Closer:
    """Close a crawl's store when its engine stops (a bound method keeps the signal alive)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    def engine_stopped(self) -> None:
        with _LOCK:
            store = _STORES.pop(self.crawler, None)
            cache = _CACHES.pop(self.crawler, None)
        if store is not None:
            store.close()
        if cache is not None:
            cache.close()


def crawl_store(crawler: Crawler) -> SnapshotStore:
    """Return the crawl's store of ``ARCHIVE_URI``, opening it on first use."""
    with _LOCK:
        store = _STORES.get(crawler)
        if store is not None:
            return store
        settings = crawler.settings
        store = open_store(
            settings.get("ARCHIVE_URI"),
            conditional_writes=settings.getbool("ARCHIVE_S3_CONDITIONAL_WRITES"),
        )
        _STORES[crawler] = store
    closer = _Closer(crawler)
    crawler.signals.connect(closer.engine_stopped, signal=signals.engine_stopped, weak=False)
    return store


def crawl_hints_cache(crawler: Crawler) -> HintsCache | None:
    """Return the crawl's local cache of fetch hints, or None when ``ARCHIVE_HINTS_CACHE`` is off.

    It lives in ``ARCHIVE_STATE_DIR/hints.sqlite`` (see :mod:`archiver.hints_cache`).
    """
    store = crawl_store(crawler)
    with _LOCK:
        if crawler in _CACHES:
            return _CACHES[crawler]
        settings = crawler.settings
        cache = None
        if settings.getbool("ARCHIVE_HINTS_CACHE"):
            state = settings.get("ARCHIVE_STATE_DIR") or "state"
            try:
                identity = archive_identity(store.storage)
            except ArchiverError as err:
                # Storage is down or the record is damaged: no cache, rather than one that
                # may hold another archive's hints. Fetching then asks the archive, as before.
                logger.warning("fetch hints are not cached this run: %s", err)
                cache = None
            else:
                cache = HintsCache(os.path.join(state, "hints.sqlite"), store.storage.uri, identity)
        _CACHES[crawler] = cache
        return cache


def opened_hints_cache(crawler: Crawler) -> HintsCache | None:
    """Return the crawl's hints cache if a component has opened it, else None (opening none)."""
    with _LOCK:
        return _CACHES.get(crawler)
