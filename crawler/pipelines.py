"""Thin adapters between Scrapy and the rest: extract the article, then hand it to the archiver.

Both stages run their blocking work (CPU-bound extraction; boto3 or file I/O) in thread pools so
Scrapy's reactor keeps fetching while they work.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from scrapy.exceptions import DropItem

from archiver import ArchiverError, ArchiveResult, Capture, FetchHints, SnapshotStore
from archiver.arrow import prefer_system_allocator
from archiver.hints_cache import HintsCache, hints_after
from archiver.keys import article_id
from archiver.runs import write_run_checks
from archiver.spool import Spool
from crawler import __version__
from crawler.crawl_store import crawl_hints_cache, crawl_store
from crawler.errors import PageTooLargeError
from crawler.extract_pool import Extracted, ExtractionTimeout, ExtractorPool
from crawler.items import FetchedPage, UnchangedReason
from crawler.sources import load_sources
from crawler.spooling import SpoolingArchiver
from crawler.summary import CHECKS_KEY_STAT, EXTRACTION_KEY, RUN_ID_KEY, count
from crawler.timings import ExtractionTimes
from crawler.urls import identity_url

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from archiver.catalog import CatalogAppender

logger = logging.getLogger(__name__)

_ARCHIVERS: WeakKeyDictionary[Crawler, ArchivePipeline] = WeakKeyDictionary()


def crawl_archiver(crawler: Crawler) -> ArchivePipeline | None:
    """Return the crawl's :class:`ArchivePipeline`, or None if its pipelines have none."""
    return _ARCHIVERS.get(crawler)


def software_versions() -> dict[str, str]:
    """Name the software that makes a version, for its record."""
    return dict(_software_versions())


@functools.cache
def _software_versions() -> dict[str, str]:
    # Read once per process: each lookup searches the installed distributions, and the run
    # manifest asks again at the end of every crawl, after the pipeline did at its start.
    versions = {"newsarchive": __version__, "python": platform.python_version()}
    for package in ("trafilatura", "scrapy", "lxml"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "unknown"
    return versions


class NotArticle(DropItem):
    """The page is not an article (the extractor returned None): a front, a video, a paywall."""


class ExtractPipeline:
    """Extract the article of each fetched page; drop pages that are not articles.

    Pages are extracted in an :class:`~crawler.extract_pool.ExtractorPool` of worker processes,
    each page under ``ARCHIVE_EXTRACT_TIMEOUT``; with ``ARCHIVE_EXTRACT_IN_PROCESS`` in threads of
    this process instead. A page byte for byte the same as its last archived fetch is not
    extracted at all.
    """

    def __init__(
        self,
        stats: StatsCollector,
        workers: int = 2,
        pool: ExtractorPool | None = None,
    ) -> None:
        self.stats = stats
        self.pool = pool
        # Threads only wait for the workers (or, without a pool, run the extraction).
        self.executor = ThreadPoolExecutor(max(workers, 1), thread_name_prefix="extract")
        self.times = ExtractionTimes()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        """Build the pipeline and its worker pool from the crawler's settings."""
        assert crawler.stats is not None
        settings = crawler.settings
        workers = max(settings.getint("ARCHIVE_EXTRACT_WORKERS"), 1)
        pool = None
        if not settings.getbool("ARCHIVE_EXTRACT_IN_PROCESS"):
            pool = ExtractorPool(
                workers,
                settings.getfloat("ARCHIVE_EXTRACT_TIMEOUT"),
                max_pages=settings.getint("ARCHIVE_EXTRACT_MAX_PAGES"),
                memory_limit=settings.getint("ARCHIVE_EXTRACT_MEMORY_LIMIT"),
            )
        return cls(crawler.stats, workers, pool)

    async def process_item(self, item: Any) -> Any:
        """Fill in ``item.article``, or drop the item when the page is not an article."""
        if not isinstance(item, FetchedPage) or item.unchanged_before_extraction:
            return item
        hints = item.hints
        if hints is not None and hints.html_sha256 == hashlib.sha256(item.body).hexdigest():
            # Byte for byte the page of the last fetch: its extraction would be the same too.
            item.unchanged_before_extraction = "same_html"
            return item
        count(self.stats, item.source, "extracted")
        loop = asyncio.get_running_loop()
        try:
            extracted = await loop.run_in_executor(self.executor, self._extract, item)
        except ExtractionTimeout as err:
            self.times.add_timeout()
            count(self.stats, item.source, "failed", "extract_timeout")
            logger.error("%s", err)
            raise DropItem(str(err)) from err
        except PageTooLargeError as err:
            count(self.stats, item.source, "failed", "extract_too_large")
            logger.error("not extracted: %s", err)
            raise DropItem(f"not extracted: {err}") from err
        # One page that trips the extractor must not stop the crawl.
        except Exception as err:
            count(self.stats, item.source, "failed", "extract_error")
            logger.error("extraction failed for %s: %r", item.url, err)
            raise DropItem(f"extraction failed for {item.url}: {err!r}") from err
        self.times.add(extracted.seconds, extracted.cpu_seconds)
        if extracted.article is None:
            count(self.stats, item.source, "skipped", "not_article")
            raise NotArticle(f"not an article: {item.url}", log_level="INFO")
        item.article = extracted.article
        return item

    def _extract(self, item: FetchedPage) -> Extracted:
        # The extractor decodes the bytes itself: it weighs the HTTP charset against the page's
        # own declaration, and it checks dates against the time of the fetch.
        fetched_at = datetime.fromisoformat(item.fetched_at)
        if self.pool is not None:
            return self.pool.extract(
                item.body, item.url, fetched_at=fetched_at, encoding=item.encoding
            )
        # Only here: with worker processes (the default) the crawler never loads trafilatura.
        from crawler.extract import extract_article

        started, cpu_started = time.perf_counter(), time.thread_time()
        article = extract_article(
            item.body, item.url, fetched_at=fetched_at, encoding=item.encoding
        )
        return Extracted(article, time.perf_counter() - started, time.thread_time() - cpu_started)

    def close_spider(self) -> None:
        """Let running extractions finish, stop the workers, and report the times."""
        self.executor.shutdown(wait=True)
        if self.pool is not None:
            self.pool.close()
        self.stats.set_value(EXTRACTION_KEY, self.times.summary())


class ArchivePipeline:
    """Store each extracted article as a version (or an observation) in the archive."""

    def __init__(
        self,
        store: SnapshotStore,
        stats: StatsCollector,
        threads: int = 8,
        allows: Callable[[str, str], bool] | None = None,
        spool: Spool | None = None,
        *,
        retries: int = 2,
        backoff: float = 1.0,
        hints_cache: HintsCache | None = None,
    ) -> None:
        self.hints_cache = hints_cache
        self.store = store
        self.stats = stats
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="archive")
        self.allows = allows
        self.archiver = (
            SpoolingArchiver(store, spool, self.executor, retries=retries, backoff=backoff)
            if spool is not None
            else None
        )
        self.software = software_versions()
        self.checks: list[dict[str, Any]] = []
        self.versions: list[str] = []
        """Keys of versions this run wrote whose records it did not keep (read back at the end)."""
        self.catalog: CatalogAppender | None = None
        """The catalog rows of the versions this run wrote, made as they were written and
        appended a part at a time (see :class:`~archiver.catalog.CatalogAppender`)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        """Open the archive named by ``ARCHIVE_URI``."""
        settings = crawler.settings
        assert crawler.stats is not None
        store = crawl_store(crawler)
        spider_sources = getattr(crawler.spider, "sources", None)
        if spider_sources is None:
            spider_sources = list(load_sources(settings.get("ARCHIVE_SOURCES") or None).values())
        by_name = {src.name: src for src in spider_sources}

        def allows(source: str, url: str) -> bool:
            src = by_name.get(source)
            return src.allows(url) if src is not None else True

        spool_dir = settings.get("ARCHIVE_SPOOL_DIR") or os.path.join(
            settings.get("ARCHIVE_STATE_DIR") or "state", "spool"
        )
        pipeline = cls(
            store,
            crawler.stats,
            settings.getint("ARCHIVE_STORE_THREADS"),
            allows,
            Spool(spool_dir, store.storage.uri),
            retries=settings.getint("ARCHIVE_STORE_RETRIES"),
            backoff=settings.getfloat("ARCHIVE_STORE_RETRY_BACKOFF"),
            hints_cache=crawl_hints_cache(crawler),
        )
        _ARCHIVERS[crawler] = pipeline
        return pipeline

    async def open_spider(self) -> None:
        """Archive what earlier runs spooled, before anything newer."""
        if self.archiver is not None:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.flush_spool)

    def flush_spool(self) -> None:
        """Archive the spooled captures (blocking); count and log what happened."""
        assert self.archiver is not None
        flushed = self.archiver.flush()
        for done in flushed.archived:
            source, result = done.source, done.result
            count(self.stats, source, "flushed")
            if result.outcome == "unchanged":
                count(self.stats, source, "unchanged", "content")
            else:
                count(self.stats, source, "archived", result.outcome)
                self.add_to_catalog(result)
        if flushed.archived:
            logger.info("archived %d spooled captures", len(flushed.archived))
        if flushed.remaining:
            logger.warning(
                "%d captures stay spooled in %s", flushed.remaining, self.archiver.spool.path
            )

    def capture(self, item: FetchedPage, identity: str | None = None) -> Capture:
        """Describe a fetched page (extracted, or known unchanged) for the archiver."""
        article = item.article
        canonical = article.canonical_url if article is not None else None
        if identity is None:
            allowed = partial(self.allows, item.source) if self.allows else None
            identity = identity_url(item.url, canonical, allowed)
        return Capture(
            source=item.source,
            identity_url=identity,
            url=item.url,
            requested_url=item.requested_url,
            canonical_url=canonical,
            captured_at=item.fetched_at,
            status=item.status,
            # The archiver drops cookies and credentials from the headers it stores.
            headers=item.headers,
            html=item.body,
            article=article.to_dict() if article is not None else {},
            provenance=item.provenance.to_dict(),
            software=self.software,
        )

    async def process_item(self, item: Any) -> Any:
        """Archive the item off the reactor thread and count the outcome."""
        if not isinstance(item, FetchedPage):
            return item
        reason = item.unchanged_before_extraction
        if reason is not None:
            # Nothing to write per page: the run's check log keeps the evidence.
            self.note_unchanged(item, reason)
            return item
        loop = asyncio.get_running_loop()
        try:
            if item.article is not None:
                capture = self.capture(item)
                if self.archiver is None:
                    result = await loop.run_in_executor(self.executor, self.store.archive, capture)
                else:
                    spooled = await self.archiver.archive(capture)
                    if spooled is None:
                        count(self.stats, item.source, "spooled")
                        item.body = b""
                        return item
                    result = spooled
                self.remember(item, capture, result)
            else:
                return item
        except ArchiverError as err:
            count(self.stats, item.source, "failed", "storage_error")
            logger.error("could not archive %s: %s", item.url, err)
            raise DropItem(f"could not archive {item.url}: {err}") from err
        if result.outcome == "unchanged":
            count(self.stats, item.source, "unchanged", "content")
        else:
            count(self.stats, item.source, "archived", result.outcome)
            self.add_to_catalog(result)
        logger.info("%s %s -> %s", result.outcome, item.url, result.key)
        item.archived = result
        # Keep the raw body out of what Scrapy logs or exports downstream.
        item.body = b""
        return item

    def note_unchanged(self, item: FetchedPage, reason: UnchangedReason) -> None:
        """Record a page found unchanged before extraction (see :meth:`note_observation`)."""
        item.archived = self.note_observation(
            item.source, item.url, item.status, item.hints, item.fetched_at, reason
        )
        item.body = b""

    def note_observation(
        self,
        source: str,
        url: str,
        status: int,
        hints: FetchHints,
        observed_at: str,
        reason: UnchangedReason,
    ) -> ArchiveResult:
        """Record a page found unchanged before extraction: a line of the run's check log.

        Called through :meth:`note_unchanged` by :meth:`process_item`, and by the news spider
        for a ``304`` straight from its callback (see :func:`crawl_archiver`): a recrawl's pages
        then cost no item at all.
        """
        self.checks.append(
            {
                "identity_url": hints.identity_url,
                "version": hints.version,
                "version_key": hints.version_key,
                "observed_at": observed_at,
                "reason": reason,
                "url": url,
                "status": status,
                "source": source,
            }
        )
        count(self.stats, source, "unchanged", reason)
        result = ArchiveResult(
            "unchanged", article_id(hints.identity_url), hints.version, hints.version_key
        )
        # A recrawl finds most pages unchanged: the check log names each, the summary counts
        # them, and the crawl log keeps its lines for pages that changed.
        logger.debug("%s %s -> %s", result.outcome, url, result.key)
        return result

    def remember(self, item: FetchedPage, capture: Capture, result: ArchiveResult) -> None:
        """Keep the hints of an archived fetch locally, for the next fetch of its URL."""
        if self.hints_cache is None:
            return
        hints = hints_after(capture, result)
        # Keyed as the conditional-GET middleware asks: by the identity of the URL requested.
        # The article's own identity and the final URL too: a revisit asks for the identity,
        # and a complete cache takes a URL it has no entry for as a new article.
        urls = {identity_url(item.requested_url, None), capture.identity_url}
        with contextlib.suppress(ValueError):
            urls.add(identity_url(item.url, None))
        try:
            self.hints_cache.put(sorted(urls), hints)
        except ArchiverError as err:
            # Only a saving is lost: the next fetch asks the archive instead.
            logger.warning("could not cache the fetch hints of %s: %s", item.url, err)

    def close_spider(self) -> None:
        """Wait for pending writes, then write the run's check log and catalog rows."""
        self.executor.shutdown(wait=True)
        if self.archiver is not None and self.archiver.spooling:
            # Storage may be back by now: every capture archived here is one fewer at risk.
            self.flush_spool()
        run_id = self.stats.get_value(RUN_ID_KEY)
        if self.checks and run_id:
            try:
                key = write_run_checks(self.store.storage, run_id, self.checks)
                self.stats.set_value(CHECKS_KEY_STAT, key)
            except ArchiverError as err:
                # Only the evidence of unchanged fetches is lost; no version is at stake.
                logger.error("could not write the check log of run %s: %s", run_id, err)
        if self.versions or self.catalog is not None:
            self.append_catalog(run_id)
        # The store is the crawl's, shared: crawl_store closes it when the engine stops.

    def add_to_catalog(self, result: ArchiveResult) -> None:
        """Keep the catalog row of a version just written (a few hundred bytes, no body)."""
        if result.record is None:
            self.versions.append(result.key)
            return
        run_id = self.stats.get_value(RUN_ID_KEY)
        if self.run_catalog(run_id).add_record(result.record):
            try:
                # A part's worth of rows: written off the reactor, beside the archive writes.
                self.executor.submit(self.write_catalog_part)
            except RuntimeError:
                # The run is closing (the pool is shut down): nothing waits on this thread.
                self.write_catalog_part()

    def run_catalog(self, run_id: str | None) -> CatalogAppender:
        """Return the appender of this run's catalog rows, made on first use."""
        if self.catalog is None:
            # pyarrow and its libraries are some 60 MB of the crawler's memory: they load with
            # the run's first version, so a recrawl that finds nothing new never loads them.
            # The crawl appends catalog parts from its archive threads as it goes: Arrow must
            # choose the system's allocator as it loads (see archiver.arrow).
            prefer_system_allocator()
            from archiver import catalog

            self.catalog = catalog.CatalogAppender(self.store.storage, run_id)
        return self.catalog

    def write_catalog_part(self) -> None:
        """Write the catalog part that is due (blocking); a failure costs no version."""
        assert self.catalog is not None
        try:
            self.catalog.write_due()
        except ArchiverError as err:
            logger.error(
                "could not add a part to the catalog (`newsarchive catalog rebuild` fixes it): %s",
                err,
            )

    def append_catalog(self, run_id: str | None) -> None:
        """Add the rest of this run's versions to the catalog; a failure costs no version."""
        catalog = self.run_catalog(run_id)
        try:
            if self.versions:
                catalog.add_version_keys(self.versions)
            rows = catalog.finish()
        except ArchiverError as err:
            # The catalog is derived from the versions, which are stored: a rebuild repairs it.
            logger.error(
                "could not add run %s to the catalog (`newsarchive catalog rebuild` fixes it): %s",
                run_id,
                err,
            )
            return
        logger.info("run %s added %d versions to the catalog", run_id, rows)
