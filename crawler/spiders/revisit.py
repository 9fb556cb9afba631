"""The revisit spider: fetch again every archived article that is due, to catch edits and removals.

``scrapy crawl revisit [-a source=NAME[,NAME...]] [-a sources_file=FILE]``. The due articles come
from the revisit queue (``ARCHIVE_STATE_DIR/revisits.sqlite``). Each is requested like an article
of a normal crawl (conditionally, with the validators the archive holds), and a page that is
still the article goes through the same extraction and archive pipelines, so an edit becomes a
new version. A 404 or 410, a redirect to another story, or an error becomes a
:class:`~crawler.revisit_policy.Sighting` item that the revisit pipeline records.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.backfill import Progress
from crawler.errors import CrawlerError, InvalidURLError
from crawler.items import FetchedPage, Provenance
from crawler.revisit_pipeline import duration_setting, steps_setting
from crawler.revisit_policy import (
    RevisitEntry,
    Sighting,
    SightingKind,
    failure_kind,
    iso,
    parse_steps,
)
from crawler.revisits import RevisitQueue
from crawler.sources import Source
from crawler.spiders.news import ADHOC_SOURCE, NewsSpider, failure_reason
from crawler.summary import count
from crawler.urls import host_key, identity_url, normalize_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

REVISIT_META = "newsarchive_revisit"
"""Request meta key holding the identity URL of the article revisited."""
_CANONICAL = "//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href"


class RevisitSpider(NewsSpider):
    """Fetch the articles whose revisit is due."""

    name = "revisit"

    def __init__(
        self, source: str | None = None, sources_file: str | None = None, **kwargs: Any
    ) -> None:
        unknown = {"urls", "since", "until"} & set(kwargs)
        if unknown:
            raise CrawlerError(f"revisit takes source= and sources_file=, not {sorted(unknown)}")
        super().__init__(source=source, sources_file=sources_file, **kwargs)
        self.progress = Progress(label="revisit")
        self.state_dir = "state"
        self.lease = timedelta(hours=2)
        self.default_steps: tuple[timedelta, ...] = ()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> RevisitSpider:
        """Load the sources (as the news spider does) and the revisit settings."""
        spider = cast("RevisitSpider", super().from_crawler(crawler, *args, **kwargs))
        settings = crawler.settings
        spider.state_dir = settings.get("ARCHIVE_STATE_DIR") or "state"
        spider.lease = duration_setting(
            settings.get("ARCHIVE_REVISIT_LEASE"), "ARCHIVE_REVISIT_LEASE"
        )
        spider.default_steps = steps_setting(settings.get("ARCHIVE_REVISIT_STEPS"))
        return spider

    def revisited_sources(self) -> list[str]:
        """Name the sources whose due articles this crawl fetches: those selected (all enabled
        ones, plus articles of given URLs, when none is named) with revisits switched on."""
        names = [
            src.name
            for src in self.sources
            if (parse_steps(src.revisit) if src.revisit is not None else self.default_steps)
        ]
        if not self.source_names and self.default_steps:
            names.append(ADHOC_SOURCE)
        return names

    async def start(self) -> AsyncIterator[Any]:
        """Claim the due articles from the queue (in a thread) and request each."""
        now = datetime.now(UTC)
        loop = asyncio.get_running_loop()
        entries = await loop.run_in_executor(None, self._claim, now)
        logger.info("%d articles due for a revisit", len(entries))
        for entry in entries:
            yield self._revisit_request(entry)

    def _claim(self, now: datetime) -> list[RevisitEntry]:
        with RevisitQueue.in_state_dir(self.state_dir) as queue:
            return queue.claim_due(now, self.revisited_sources(), self.lease)

    def _revisit_request(self, entry: RevisitEntry) -> Request:
        assert self.crawler.stats is not None
        self.progress.found()
        count(self.crawler.stats, entry.source, "revisited")
        provenance = Provenance("revisit", entry.identity_url, iso(entry.first_seen), None)
        return Request(
            entry.url,
            callback=self.parse_revisit,
            errback=self.revisit_failed,
            meta={
                "source": entry.source,
                "provenance": provenance,
                "download_slot": host_key(entry.url),
                REVISIT_META: entry.identity_url,
            },
            # A revisit is a fetch the crawl means to repeat.
            dont_filter=True,
        )

    def parse_revisit(self, response: Response) -> Iterable[FetchedPage | Sighting]:
        """Hand the page to the pipelines if it is still the article; else say what it is."""
        identity: str = response.meta[REVISIT_META]
        source: str = response.meta["source"]
        moved = self._moved(identity, source, response)
        if moved is not None:
            assert self.crawler.stats is not None
            self.progress.finished()
            count(self.crawler.stats, source, "skipped", moved)
            yield self._sighting(response.meta, "redirected", response.status, response.url, moved)
            return
        pages = list(self.parse_article(response))
        if pages:
            yield from pages
            return
        # Not handed on (a 304 to an unconditional request, a body that is not HTML): counted
        # by the news spider's rules, and a revisit that says nothing of the article's state.
        reason = "unexpected_304" if response.status == 304 else "not_html"
        yield self._sighting(response.meta, "error", response.status, response.url, reason)

    def revisit_failed(self, failure: Failure) -> Iterator[Sighting]:
        """Count the failure as a crawl would; 404 and 410 are removals, 401 and 402 walls."""
        self.article_failed(failure)
        request = failure.request  # type: ignore[attr-defined]
        error = failure.value
        status = error.response.status if isinstance(error, HttpError) else None
        url = error.response.url if isinstance(error, HttpError) else request.url
        kind = failure_kind(status)
        yield self._sighting(request.meta, kind, status, url, failure_reason(failure))

    def _moved(self, identity: str, source: str, response: Response) -> str | None:
        """Name how a redirect left the article (``redirect``, ``offsite_redirect``), if it did.

        Being sent to the article's own identity, a normalised form of the URL asked for, or a
        page whose canonical link names the article, is not leaving it.
        """
        redirects: list[str] = response.meta.get("redirect_urls") or []
        if not redirects:
            return None
        try:
            final = normalize_url(response.url)
            if final in (identity, normalize_url(redirects[0])):
                return None
        except InvalidURLError:
            return "redirect"
        src = self._known_source(source)
        if src is not None and not src.allows(response.url):
            return "offsite_redirect"
        canonical = None
        if isinstance(response, HtmlResponse):
            href = response.xpath(_CANONICAL).get()
            canonical = response.urljoin(href.strip()) if href else None
        allowed = src.allows if src is not None else None
        if identity_url(response.url, canonical, allowed) == identity:
            return None
        return "redirect"

    def _known_source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)

    def _sighting(
        self,
        meta: dict[str, Any],
        kind: SightingKind,
        status: int | None,
        url: str | None,
        reason: str,
    ) -> Sighting:
        return Sighting(
            identity_url=meta[REVISIT_META],
            source=meta["source"],
            kind=kind,
            observed_at=datetime.now(UTC),
            status=status,
            url=url,
            reason=reason,
        )
