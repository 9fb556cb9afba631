"""Queue new articles for revisits, and record what each revisit found.

Runs after :class:`~crawler.pipelines.ArchivePipeline`. A page archived as ``new`` is
enqueued; a revisited page (provenance ``revisit``) that was archived, a
:class:`~crawler.revisit_policy.Sighting` from the revisit spider (404, 410, a redirect...),
and a revisited page the extractor dropped as not an article all advance the article's entry
in the queue, writing observations and state records to the archive as
:func:`~crawler.revisit_policy.decide` says. SQLite and the archive block: both run in a
worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from scrapy import signals

from archiver import ArchiverError, ArchiveResult, SnapshotStore, StorageError
from archiver.hints_cache import HintsCache
from archiver.keys import article_id
from archiver.records import VERSION_SCHEMA, decode_record
from archiver.states import record_sighting, record_state
from crawler.crawl_store import crawl_hints_cache, crawl_store
from crawler.errors import CrawlerError
from crawler.extract_html import decode_html, parse_html
from crawler.extract_regions import is_paywalled
from crawler.items import FetchedPage
from crawler.pipelines import NotArticle
from crawler.revisit_policy import (
    Sighting,
    SightingKind,
    Transition,
    parse_duration,
    parse_iso,
    parse_steps,
)
from crawler.revisits import RevisitQueue, RevisitQueueError
from crawler.sources import Source, load_sources
from crawler.structured import read_metadata
from crawler.summary import count
from crawler.urls import identity_url

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


def steps_setting(value: Any, name: str = "ARCHIVE_REVISIT_STEPS") -> tuple[timedelta, ...]:
    """Parse the global revisit schedule; a bad value stops the crawl before any fetch."""
    try:
        return parse_steps(value if isinstance(value, str) else ",".join(value or ()))
    except ValueError as err:
        raise CrawlerError(f"{name}: {err}") from err


def duration_setting(value: Any, name: str) -> timedelta:
    """Parse a duration setting such as ``ARCHIVE_REVISIT_CONFIRM_AFTER``."""
    try:
        return parse_duration(str(value))
    except ValueError as err:
        raise CrawlerError(f"{name}: {err}") from err


def revisit_steps(
    sources: dict[str, Source], default: tuple[timedelta, ...]
) -> Callable[[str], tuple[timedelta, ...]]:
    """Return a function giving a source's schedule: its own ``revisit`` list, else ``default``."""
    own = {
        name: parse_steps(src.revisit) for name, src in sources.items() if src.revisit is not None
    }
    return lambda source: own.get(source, default)


def not_article_reason(body: bytes, encoding: str | None, url: str) -> str:
    """Tell a paywall or login wall (``paywall``) from any other page that is no article."""
    tree = parse_html(decode_html(body, encoding))
    if tree is None:
        return "not_article"
    if is_paywalled(tree) or read_metadata(tree, url).accessible_for_free is False:
        return "paywall"
    return "not_article"


class RevisitPipeline:
    """Enqueue new articles; advance revisited ones and record their state changes."""

    def __init__(
        self,
        queue: RevisitQueue,
        store: SnapshotStore,
        stats: StatsCollector,
        steps_for: Callable[[str], tuple[timedelta, ...]],
        confirm_after: timedelta,
        allows: Callable[[str, str], bool] | None = None,
        threads: int = 2,
        hints_cache: HintsCache | None = None,
    ) -> None:
        self.hints_cache = hints_cache
        self.queue = queue
        self.store = store
        self.stats = stats
        self.steps_for = steps_for
        self.confirm_after = confirm_after
        self.allows = allows
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="revisit")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RevisitPipeline:
        """Open the queue in ``ARCHIVE_STATE_DIR`` and the archive named by ``ARCHIVE_URI``."""
        settings = crawler.settings
        assert crawler.stats is not None
        default = steps_setting(settings.get("ARCHIVE_REVISIT_STEPS"))
        confirm_after = duration_setting(
            settings.get("ARCHIVE_REVISIT_CONFIRM_AFTER"), "ARCHIVE_REVISIT_CONFIRM_AFTER"
        )
        spider_sources = getattr(crawler.spider, "sources", None)
        if spider_sources is None:
            spider_sources = list(load_sources(settings.get("ARCHIVE_SOURCES") or None).values())
        by_name: dict[str, Source] = {src.name: src for src in spider_sources}
        steps_for = revisit_steps(by_name, default)

        def allows(source: str, url: str) -> bool:
            src = by_name.get(source)
            return src.allows(url) if src is not None else True

        queue = RevisitQueue.in_state_dir(settings.get("ARCHIVE_STATE_DIR") or "state")
        store = crawl_store(crawler)
        pipeline = cls(
            queue,
            store,
            crawler.stats,
            steps_for,
            confirm_after,
            allows,
            hints_cache=crawl_hints_cache(crawler),
        )
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    async def process_item(self, item: Any) -> Any:
        """Enqueue a new article; record a revisit's outcome."""
        if isinstance(item, Sighting):
            await self._run(self.record, item)
            return item
        if not isinstance(item, FetchedPage):
            return item
        result = item.archived
        if item.provenance.discovered_via == "revisit":
            await self._run(self.record, self._sighting(item, result))
        if isinstance(result, ArchiveResult) and result.outcome == "new":
            await self._run(self.enqueue, item)
        return item

    async def item_dropped(self, item: Any, exception: BaseException) -> None:
        """Record a revisited page that was dropped: not an article any more, or a failure."""
        if not isinstance(item, FetchedPage) or item.provenance.discovered_via != "revisit":
            return
        kind: SightingKind = "error"
        reason = "dropped"
        if isinstance(exception, NotArticle):
            # Was an article, now is not: a paywall or login wall, or a page that replaced it.
            kind = "paywalled"
            job = partial(not_article_reason, item.body, item.encoding, item.url)
            reason = await asyncio.get_running_loop().run_in_executor(self.executor, job)
        sighting = self._sighting(item, None, kind=kind, reason=reason)
        await self._run(self.record, sighting)

    def close_spider(self) -> None:
        """Let pending writes finish; close the queue."""
        self.executor.shutdown(wait=True)
        self.queue.close()
        # The store is the crawl's, shared: crawl_store closes it when the engine stops.

    # --- blocking work, in the pool -------------------------------------------------------------
    def enqueue(self, item: FetchedPage) -> None:
        """Queue a newly archived article for revisits, first seen when it was fetched."""
        result: ArchiveResult = item.archived
        steps = self.steps_for(item.source)
        if not steps:
            return
        identity = self._identity(item, result)
        if self.queue.enqueue(identity, item.source, item.url, parse_iso(item.fetched_at), steps):
            count(self.stats, item.source, "revisits_queued")

    def record(self, sighting: Sighting) -> None:
        """Advance the article's entry; write observations and state records as decided."""
        transition = self.queue.record(sighting, self.confirm_after, partial(self._write, sighting))
        if transition is None:
            logger.warning("revisited %s, which is not in the revisit queue", sighting.identity_url)
            return
        if transition.observation is not None:
            count(self.stats, sighting.source, "sightings", transition.observation)
        if transition.event is not None:
            count(self.stats, sighting.source, "states", transition.event)
            logger.info(
                "revisit of %s: %s (%s)", sighting.identity_url, transition.event, sighting.reason
            )

    def _write(self, sighting: Sighting, transition: Transition) -> None:
        if self.hints_cache is not None:
            # A sighting (a 410, a redirect...) changes what the next fetch should send, as the
            # archive's own hints would show; the cache cannot tell, so it forgets.
            self.hints_cache.forget(sighting.identity_url)
        if transition.observation is not None:
            record_sighting(
                self.store,
                identity_url=sighting.identity_url,
                source=sighting.source,
                observed_at=sighting.observed_at,
                status=sighting.status,
                url=sighting.url,
                reason=transition.observation,
                provenance={"discovered_via": "revisit", "discovered_from": sighting.identity_url},
            )
        change = transition.change
        if change is not None:
            record_state(
                self.store,
                identity_url=sighting.identity_url,
                source=sighting.source,
                state=change.state,
                previous_state=change.previous_state,
                detected_at=change.detected_at,
                confirmed_at=change.confirmed_at,
                evidence=[evidence.to_dict() for evidence in change.evidence],
            )

    # --- helpers --------------------------------------------------------------------------------
    def _identity(self, item: FetchedPage, result: ArchiveResult) -> str:
        """Return the identity URL the archive stored the page under."""
        canonical = item.article.canonical_url if item.article is not None else None
        allowed = partial(self.allows, item.source) if self.allows else None
        # The same rule as the archive pipeline's; the article id proves it gave the same URL.
        identity = identity_url(item.url, canonical, allowed)
        if article_id(identity) == result.article_id:
            return identity
        data = self.store.storage.get(result.key)
        if data is None:
            raise StorageError(f"version record {result.key} was just written but is missing")
        try:
            return str(decode_record(data, VERSION_SCHEMA)["identity_url"])
        except (ValueError, KeyError) as err:
            raise StorageError(f"version record {result.key} has no identity_url") from err

    async def _run(self, job: Callable[..., None], *args: Any) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor, job, *args)
        # A revisit not recorded stays claimed, then due again; the crawl goes on meanwhile.
        except (RevisitQueueError, ArchiverError) as err:
            source = getattr(args[0], "source", "unknown")
            count(self.stats, source, "failed", "revisit_record")
            logger.error("could not record a revisit: %s", err)

    def _sighting(
        self,
        item: FetchedPage,
        result: Any,
        kind: SightingKind = "present",
        reason: str | None = None,
    ) -> Sighting:
        identity = item.provenance.discovered_from or item.url
        if isinstance(result, ArchiveResult):
            reason = reason or result.outcome
            if result.article_id != article_id(identity):
                # The page now names another article as itself: its canonical link moved.
                kind, reason = "redirected", "canonical"
        elif kind == "present":
            kind, reason = "error", "not_archived"
        return Sighting(
            identity_url=identity,
            source=item.source,
            kind=kind,
            observed_at=parse_iso(item.fetched_at) if item.fetched_at else datetime.now(UTC),
            status=item.status,
            url=item.url,
            reason=reason or kind,
        )
