"""Downloader middlewares: back off before each retry; ask conditionally for known articles.

Scrapy's ``RetryMiddleware`` decides *whether* to retry and re-schedules at once; a server that
answered 503 or 429 is then asked again straight away. This middleware waits first: an exponential
back-off with jitter, or the server's ``Retry-After`` when it gave one, capped either way.
"""

from __future__ import annotations

import asyncio
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured

from archiver import ArchiverError, FetchHints, SnapshotStore
from archiver.hints_cache import HintsCache
from archiver.listings import read_listing_state
from crawler.crawl_store import crawl_hints_cache, crawl_store
from crawler.urls import identity_url

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

RETRY_AFTER_META = "newsarchive_retry_after"
HINTS_META = "newsarchive_hints"
LISTING_CONDITIONAL_META = "newsarchive_listing_conditional"
LISTING_STATE_META = "newsarchive_listing_state"
SKIP_ARCHIVED_META = "newsarchive_skip_archived"


class AlreadyArchived(IgnoreRequest):
    """A backfill request for an article the archive already holds."""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(
    retry_times: int, base: float, cap: float, retry_after: float | None = None
) -> float:
    """Return how long to wait before retry number ``retry_times`` (1 for the first retry)."""
    if retry_after is not None:
        return min(retry_after, cap)
    exponential = base * 2.0 ** max(0, retry_times - 1)
    # Full jitter between half and all of the exponential step spreads retries of many requests.
    jittered: float = exponential * random.uniform(0.5, 1.0)  # noqa: S311 - not cryptographic
    return min(cap, jittered)


class RetryBackoffMiddleware:
    """Delay retried requests; remember ``Retry-After`` from the response that caused a retry."""

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryBackoffMiddleware:
        """Build the middleware; ``ARCHIVE_RETRY_BACKOFF_BASE = 0`` switches it off."""
        settings = crawler.settings
        base = settings.getfloat("ARCHIVE_RETRY_BACKOFF_BASE")
        if base <= 0 or not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured("retry back-off is off")
        return cls(base, settings.getfloat("ARCHIVE_RETRY_BACKOFF_MAX"))

    async def process_request(self, request: Request) -> None:
        """Wait before sending a retry."""
        retry_times: int = request.meta.get("retry_times", 0)
        if not retry_times:
            return
        delay = backoff_delay(retry_times, self.base, self.cap, request.meta.get(RETRY_AFTER_META))
        logger.debug("retry %d of %s in %.1fs", retry_times, request.url, delay)
        await asyncio.sleep(delay)

    def process_response(self, request: Request, response: Response) -> Any:
        """Keep the server's ``Retry-After`` with the request, for the retry that copies it."""
        header = response.headers.get(b"Retry-After")
        if header is not None:
            request.meta[RETRY_AFTER_META] = parse_retry_after(header.decode("latin-1"))
        return response


HINTS_STAT = "newsarchive_hints"
"""Stats ``newsarchive_hints/cached``, ``/absent`` and ``/archive``: where each article's hints
came from (``absent``: a complete cache knows the article is new, and nothing was asked)."""


class ConditionalGetMiddleware:
    """Ask for articles conditionally, with the validators of their last archived fetch.

    For each article request the local hints cache, else the archive (in a worker thread:
    boto3 blocks), is asked what is known of the article's last fetch. Its ETag and
    Last-Modified become ``If-None-Match`` and ``If-Modified-Since``, and the hints ride along
    in ``request.meta`` so a 304, or a body identical to the last one, can be recorded without
    extraction.
    """

    def __init__(
        self,
        store: SnapshotStore,
        threads: int = 4,
        send_validators: bool = True,
        cache: HintsCache | None = None,
        stats: StatsCollector | None = None,
    ) -> None:
        self.stats = stats
        self.store = store
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="hints")
        self.send_validators = send_validators
        self.cache = cache

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalGetMiddleware:
        """Open the archive. ``ARCHIVE_CONDITIONAL_GET = False`` sends no validators; the
        byte-identical check still applies."""
        settings = crawler.settings
        store = crawl_store(crawler)
        middleware = cls(
            store,
            settings.getint("ARCHIVE_STORE_THREADS"),
            settings.getbool("ARCHIVE_CONDITIONAL_GET"),
            crawl_hints_cache(crawler),
            crawler.stats,
        )
        crawler.signals.connect(middleware.close, signal=signals.spider_closed)
        return middleware

    async def process_request(self, request: Request) -> None:
        """Add the validators of the article's last fetch to its request."""
        if request.meta.get(LISTING_CONDITIONAL_META):
            await self._listing_validators(request)
            return
        # A redirect carries the meta of its request: look again only if that found nothing.
        if "provenance" not in request.meta or request.meta.get(HINTS_META) is not None:
            return
        identity = identity_url(request.url, None)
        hints = await self._hints(identity, request.url)
        request.meta[HINTS_META] = hints
        if hints is not None and request.meta.get(SKIP_ARCHIVED_META):
            raise AlreadyArchived(f"already archived: {request.url} ({hints.version_key})")
        if hints is None or not self.send_validators:
            return
        _add_validators(request, hints.etag, hints.last_modified)

    async def _hints(self, identity: str, url: str) -> FetchHints | None:
        try:
            # A local lookup of a few microseconds: no thread hop.
            cached = self.cache.get(identity) if self.cache is not None else None
            if cached is not None:
                self._count("cached")
                return cached
            if self.cache is not None and self.cache.knows_absent(identity):
                # A complete cache has never seen it: a new article, with nothing to ask for.
                self._count("absent")
                self.store.assume_absent(identity)
                return None
            self._count("archive")
            loop = asyncio.get_running_loop()
            hints = await loop.run_in_executor(self.executor, self.store.fetch_hints, identity)
            if hints is not None and self.cache is not None:
                self.cache.put(identity, hints)
        except ArchiverError as err:
            # Without hints the page is fetched and extracted in full: slower, never wrong.
            logger.warning("no fetch hints for %s: %s", url, err)
            return None
        return hints

    def _count(self, where: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"{HINTS_STAT}/{where}")

    async def _listing_validators(self, request: Request) -> None:
        if LISTING_STATE_META in request.meta:
            return
        loop = asyncio.get_running_loop()
        job = partial(read_listing_state, self.store.storage, request.url)
        try:
            state = await loop.run_in_executor(self.executor, job)
        except ArchiverError as err:
            logger.warning("no listing state for %s: %s", request.url, err)
            state = None
        request.meta[LISTING_STATE_META] = state
        if state is not None and self.send_validators:
            _add_validators(request, state.etag, state.last_modified)

    def close(self) -> None:
        """Release the thread pool."""
        self.executor.shutdown(wait=True)
        # The store is the crawl's, shared: crawl_store closes it when the engine stops.


def read_hints_ahead(cache: HintsCache, urls: Iterable[str]) -> int:
    """Read the cached hints of the articles at ``urls`` in a few queries, so that
    :class:`ConditionalGetMiddleware` finds each in memory (see
    :meth:`~archiver.hints_cache.HintsCache.read_ahead`); return how many were found."""
    return cache.read_ahead(identity_url(url, None) for url in urls)


def _add_validators(request: Request, etag: str | None, last_modified: str | None) -> None:
    """Make ``request`` conditional, and let a 304 answer reach the spider."""
    if not etag and not last_modified:
        return
    if etag:
        request.headers.setdefault(b"If-None-Match", etag.encode("latin-1"))
    if last_modified:
        request.headers.setdefault(b"If-Modified-Since", last_modified.encode("latin-1"))
    statuses = list(request.meta.get("handle_httpstatus_list", []))
    if 304 not in statuses:
        request.meta["handle_httpstatus_list"] = [*statuses, 304]
