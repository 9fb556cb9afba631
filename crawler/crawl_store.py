"""One archive store per crawl, shared by every component that reads or writes the archive.

The spider, the conditional-GET middleware, the pipelines and the crawl summary all talk to the
same archive. Each opening its own store meant one boto3 client, one credential lookup and one
connection pool apiece; sharing one keeps the connections warm and their number bounded (the S3
client's pool is sized for every thread that uses it, see ``archiver/s3.py``). The store is
closed once, when the engine has stopped and every component is done with it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from scrapy import signals

from archiver import SnapshotStore, open_store

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_STORES: WeakKeyDictionary[Crawler, SnapshotStore] = WeakKeyDictionary()
_LOCK = threading.Lock()


class _Closer:
    """Close a crawl's store when its engine stops (a bound method keeps the signal alive)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    def engine_stopped(self) -> None:
        with _LOCK:
            store = _STORES.pop(self.crawler, None)
        if store is not None:
            store.close()


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
