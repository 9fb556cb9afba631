"""Thin adapters between Scrapy and the rest: extract the article, then hand it to the archiver.

Both stages run their blocking work (CPU-bound extraction; boto3 or file I/O) in thread pools so
Scrapy's reactor keeps fetching while they work.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import platform
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem

from archiver import ArchiverError, ArchiveResult, Capture, FetchHints, SnapshotStore, open_store
from archiver.catalog import append_version_keys
from archiver.keys import article_id
from archiver.runs import write_run_checks
from crawler import __version__
from crawler.extract import extract_article
from crawler.items import FetchedPage, UnchangedReason
from crawler.sources import load_sources
from crawler.summary import CHECKS_KEY_STAT, RUN_ID_KEY, count
from crawler.urls import identity_url

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def software_versions() -> dict[str, str]:
    """Name the software that makes a version, for its record."""
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
    """Extract the article of each fetched page; drop pages that are not articles."""

    def __init__(self, stats: StatsCollector, threads: int = 2) -> None:
        self.stats = stats
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="extract")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        """Build the pipeline from the crawler's settings."""
        assert crawler.stats is not None
        return cls(crawler.stats, crawler.settings.getint("ARCHIVE_EXTRACT_THREADS"))

    async def process_item(self, item: Any) -> Any:
        """Fill in ``item.article``, or drop the item when the page is not an article."""
        if not isinstance(item, FetchedPage) or item.unchanged_before_extraction:
            return item
        hints = item.hints
        if hints is not None and hints.html_sha256 == hashlib.sha256(item.body).hexdigest():
            # Byte for byte the page of the last fetch: its extraction would be the same too.
            item.unchanged_before_extraction = "same_html"
            return item
        # The extractor decodes the bytes itself: it weighs the HTTP charset against the page's
        # own declaration, and it checks dates against the time of the fetch.
        job = partial(
            extract_article,
            item.body,
            item.url,
            fetched_at=datetime.fromisoformat(item.fetched_at),
            encoding=item.encoding,
        )
        count(self.stats, item.source, "extracted")
        try:
            article = await asyncio.get_running_loop().run_in_executor(self.executor, job)
        # One page that trips the extractor must not stop the crawl.
        except Exception as err:
            count(self.stats, item.source, "failed", "extract_error")
            logger.error("extraction failed for %s: %r", item.url, err)
            raise DropItem(f"extraction failed for {item.url}: {err!r}") from err
        if article is None:
            count(self.stats, item.source, "skipped", "not_article")
            raise NotArticle(f"not an article: {item.url}", log_level="INFO")
        item.article = article
        return item

    def close_spider(self) -> None:
        """Let running extractions finish."""
        self.executor.shutdown(wait=True)


class ArchivePipeline:
    """Store each extracted article as a version (or an observation) in the archive."""

    def __init__(
        self,
        store: SnapshotStore,
        stats: StatsCollector,
        threads: int = 8,
        allows: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.store = store
        self.stats = stats
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="archive")
        self.allows = allows
        self.software = software_versions()
        self.checks: list[dict[str, Any]] = []
        self.versions: list[str] = []
        """Keys of the version records this run wrote, for the catalog."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        """Open the archive named by ``ARCHIVE_URI``."""
        settings = crawler.settings
        assert crawler.stats is not None
        store = open_store(
            settings.get("ARCHIVE_URI"),
            conditional_writes=settings.getbool("ARCHIVE_S3_CONDITIONAL_WRITES"),
        )
        spider_sources = getattr(crawler.spider, "sources", None)
        if spider_sources is None:
            spider_sources = list(load_sources(settings.get("ARCHIVE_SOURCES") or None).values())
        by_name = {src.name: src for src in spider_sources}

        def allows(source: str, url: str) -> bool:
            src = by_name.get(source)
            return src.allows(url) if src is not None else True

        return cls(store, crawler.stats, settings.getint("ARCHIVE_STORE_THREADS"), allows)

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
        loop = asyncio.get_running_loop()
        reason = item.unchanged_before_extraction
        try:
            if reason is not None:
                # Nothing to write per page: the run's check log keeps the evidence.
                result = self.check(item, reason)
            elif item.article is not None:
                capture = self.capture(item)
                result = await loop.run_in_executor(self.executor, self.store.archive, capture)
            else:
                return item
        except ArchiverError as err:
            count(self.stats, item.source, "failed", "storage_error")
            logger.error("could not archive %s: %s", item.url, err)
            raise DropItem(f"could not archive {item.url}: {err}") from err
        if result.outcome == "unchanged":
            count(self.stats, item.source, "unchanged", reason or "content")
        else:
            count(self.stats, item.source, "archived", result.outcome)
            self.versions.append(result.key)
        logger.info("%s %s -> %s", result.outcome, item.url, result.key)
        item.archived = result
        # Keep the raw body out of what Scrapy logs or exports downstream.
        item.body = b""
        return item

    def check(self, item: FetchedPage, reason: UnchangedReason) -> ArchiveResult:
        """Note a page found unchanged before extraction in the run's check log."""
        hints: FetchHints = item.hints
        self.checks.append(
            {
                "identity_url": hints.identity_url,
                "version": hints.version,
                "version_key": hints.version_key,
                "observed_at": item.fetched_at,
                "reason": reason,
                "url": item.url,
                "status": item.status,
                "source": item.source,
            }
        )
        return ArchiveResult(
            "unchanged", article_id(hints.identity_url), hints.version, hints.version_key
        )

    def close_spider(self) -> None:
        """Wait for pending writes, write the run's check log, then release the archive."""
        self.executor.shutdown(wait=True)
        run_id = self.stats.get_value(RUN_ID_KEY)
        if self.checks and run_id:
            try:
                key = write_run_checks(self.store.storage, run_id, self.checks)
                self.stats.set_value(CHECKS_KEY_STAT, key)
            except ArchiverError as err:
                # Only the evidence of unchanged fetches is lost; no version is at stake.
                logger.error("could not write the check log of run %s: %s", run_id, err)
        if self.versions:
            self.append_catalog(run_id)
        self.store.close()

    def append_catalog(self, run_id: str | None) -> None:
        """Add this run's versions to the catalog; a failure costs no version."""
        try:
            rows = append_version_keys(self.store.storage, self.versions, run_id)
        except ArchiverError as err:
            # The catalog is derived from the versions, which are stored: a rebuild repairs it.
            logger.error(
                "could not add run %s to the catalog (`newsarchive catalog rebuild` fixes it): %s",
                run_id,
                err,
            )
            return
        logger.info("run %s added %d versions to the catalog", run_id, rows)
