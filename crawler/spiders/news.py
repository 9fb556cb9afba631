"""The one generic news spider: feeds, news sitemaps and section pages of every source.

``scrapy crawl news`` with ``-a source=NAME[,NAME...]``, ``-a sources_file=FILE`` or
``-a urls=URL[,URL...]|FILE``. Listing pages (feeds, sitemaps, sections) lead to article
requests; article responses become :class:`~crawler.items.FetchedPage` items that the pipelines
extract and archive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from scrapy import Request, Spider, signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from w3lib.encoding import http_content_type_encoding

from archiver import ArchiverError
from crawler.backfill import DateWindow, Progress
from crawler.crawl_store import crawl_store, opened_hints_cache
from crawler.discovery import (
    Listed,
    ListingError,
    SitemapKind,
    maybe_gunzip,
    page_links,
    parse_feed,
    parse_sitemap,
)
from crawler.errors import CrawlerError
from crawler.incremental import ListingLedger
from crawler.items import FetchedPage, Provenance, UnchangedReason
from crawler.middlewares import (
    HINTS_META,
    HINTS_STAT,
    LISTING_CONDITIONAL_META,
    SKIP_ARCHIVED_META,
    AlreadyArchived,
    read_hints_ahead,
)
from crawler.netguard import NetworkRefused
from crawler.pipelines import crawl_archiver
from crawler.sources import Source, default_sources_path, load_sources, select_sources
from crawler.summary import count, warn_source
from crawler.urls import host_key, normalize_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

ListingKind = Literal["feed", "sitemap", "section"]
_Parsed = TypeVar("_Parsed")
# Reasons a page was not fetched by choice rather than by failure.
SKIP_REASONS = frozenset({"robots_disallowed", "already_archived"})
ADHOC_SOURCE = "urls"
VERDICTS_KEPT = 50_000
"""Links of listings whose verdict (article URL or not) a crawl keeps; a few MB at most."""


class SitemapLimitReached(ListingError):
    """The source has read ``ARCHIVE_MAX_SITEMAPS`` sitemaps in this crawl (said once)."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def failure_reason(failure: Failure) -> str:
    """Name why a request failed, for the summary (``http_404``, ``dns``, ``timeout``...)."""
    error = failure.value
    if isinstance(error, HttpError):
        return f"http_{error.response.status}"
    if isinstance(error, AlreadyArchived):
        return "already_archived"
    if isinstance(error, NetworkRefused):
        return "blocked_network"
    # Scrapy raises a plain IgnoreRequest for these two; its message tells them apart.
    if isinstance(error, IgnoreRequest) and "during decompression" in str(error):
        return "too_large"  # the body unpacks past DOWNLOAD_MAXSIZE: a decompression bomb
    if isinstance(error, IgnoreRequest) and str(error) == "max redirections reached":
        return "too_many_redirects"
    if isinstance(error, IgnoreRequest):
        return "robots_disallowed" if "robots" in str(error).lower() else "ignored"
    # Scrapy 2.13+ raises its own download errors; older ones let Twisted's through.
    if isinstance(error, CannotResolveHostError | DNSLookupError):
        return "dns"
    if isinstance(error, DownloadTimeoutError | TimeoutError | TCPTimedOutError):
        return "timeout"
    if isinstance(error, DownloadConnectionRefusedError | ConnectionRefusedError):
        return "connection_refused"
    if isinstance(error, DownloadCancelledError):
        return "too_large"
    if isinstance(error, ResponseDataLossError):
        return "truncated"
    return type(error).__name__


def _read_urls(value: str) -> list[str]:
    path = Path(value)
    if "://" not in value and path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [part.strip() for part in value.split(",") if part.strip()]


class NewsSpider(Spider):
    """Discover and fetch world-news articles of the configured sources."""

    name = "news"

    def __init__(
        self,
        source: str | None = None,
        sources_file: str | None = None,
        urls: str | None = None,
        since: str | None = None,
        until: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_names = [n.strip() for n in (source or "").split(",") if n.strip()]
        self.sources_file = sources_file
        self.given_urls = _read_urls(urls) if urls else []
        if until and not since:
            raise CrawlerError("until= needs since=: a backfill window starts somewhere")
        self.window = DateWindow.parse(since, until) if since else None
        # A backfill (a date window, or a file of URLs) skips what the archive already holds,
        # so running it again after an interruption finishes it without duplicates.
        self.backfill = self.window is not None or bool(urls and Path(urls).is_file())
        self.progress = Progress(label="backfill" if self.backfill else "crawl")
        self.ledger = ListingLedger()
        self._verdicts: dict[tuple[str, str], str | None] = {}
        # Article URLs requested so far: a feed and a section page list most articles twice,
        # and each repeat built a request only for the duplicate filter to drop it. Bounded
        # like the verdicts; the duplicate filter remains the rule.
        self._requested: set[str] = set()
        self.skip_unchanged_listings = True
        self.sources: list[Source] = []
        self.sources_path: str | None = None
        self.max_listing_size = 20 * 1024 * 1024
        self.sitemap_depth = 3
        self.max_sitemaps = 10_000
        self.section_pages = 2
        # Sitemaps requested so far, by source: an index that lists itself, or two that list
        # each other, must not be read again (each round would multiply the requests).
        self.sitemaps_requested: dict[str, set[str]] = {}
        self.sitemaps_limited: set[str] = set()
        self.max_url_length = 2083
        self._parser: ThreadPoolExecutor | None = None
        """Where listings are parsed, off the reactor thread; made with the first listing."""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        """Load and check the sources before anything is fetched; apply per-source politeness."""
        spider: NewsSpider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        path = spider.sources_file or settings.get("ARCHIVE_SOURCES") or None
        known = load_sources(path)
        spider.sources_path = str(path or default_sources_path())
        if spider.source_names:
            spider.sources = select_sources(known, spider.source_names)
        elif spider.given_urls:
            spider.sources = list(known.values())
        else:
            spider.sources = [s for s in known.values() if s.enabled]
        spider.max_listing_size = settings.getint("ARCHIVE_MAX_LISTING_SIZE")
        spider.sitemap_depth = settings.getint("ARCHIVE_SITEMAP_DEPTH")
        spider.max_sitemaps = settings.getint("ARCHIVE_MAX_SITEMAPS")
        # Scrapy's UrlLengthMiddleware drops longer requests without a word; counted here.
        spider.max_url_length = settings.getint("URLLENGTH_LIMIT")
        spider.section_pages = settings.getint("ARCHIVE_SECTION_PAGES")
        spider.skip_unchanged_listings = settings.getbool("ARCHIVE_SKIP_UNCHANGED_LISTINGS")
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        for src in spider.sources:
            overrides: dict[str, Any] = {}
            if src.download_delay is not None:
                overrides["delay"] = src.download_delay
            if src.concurrency is not None:
                overrides["concurrency"] = src.concurrency
            if overrides:
                for url in (*src.feeds, *src.sitemaps, *src.sections):
                    slots.setdefault(host_key(url), overrides)
                for domain in src.allowed_domains:
                    slots.setdefault(domain, overrides)
        # Scrapy lets a spider adjust settings in from_crawler, before they are frozen.
        settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        crawler.signals.connect(spider.request_dropped, signal=signals.request_dropped)
        return spider

    # --- start ----------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        """Yield the listing requests of every selected source, or the given article URLs."""
        if self.given_urls:
            for url in self.given_urls:
                request = self._given_url_request(url)
                if request is not None:
                    yield request
            return
        assert self.crawler.stats is not None
        for src in self.sources:
            if self.window is not None:
                # Feeds and section pages show only today's news; sitemaps go back in time.
                if not src.sitemaps:
                    warn_source(self.crawler.stats, src.name, "no sitemaps to backfill from")
                for url in src.sitemaps:
                    yield self._listing_request(src, url, "sitemap")
                continue
            for url in src.feeds:
                yield self._listing_request(src, url, "feed")
            for url in src.sitemaps:
                yield self._listing_request(src, url, "sitemap")
            for url in src.sections:
                yield self._listing_request(src, url, "section")

    def _given_url_request(self, url: str) -> Request | None:
        try:
            normalized = normalize_url(url)
        except ValueError as err:
            logger.error("skipping given URL %r: %s", url, err)
            return None
        src = next((s for s in self.sources if s.allows(normalized)), None)
        name = src.name if src else ADHOC_SOURCE
        provenance = Provenance("url", None, _now(), None)
        return self._article_request(name, normalized, provenance)

    def _listing_request(
        self, src: Source, url: str, kind: ListingKind, depth: int = 0, page: int = 1
    ) -> Request:
        if kind == "sitemap":
            self.sitemaps_requested.setdefault(src.name, set()).add(url)
        return Request(
            url,
            callback=self.parse_listing,
            errback=self.listing_failed,
            meta={
                "source": src.name,
                "listing_kind": kind,
                "depth": depth,
                "page": page,
                "download_slot": host_key(url),
                "download_maxsize": self.max_listing_size,
                # A backfill must read sitemaps whatever the last crawl saw of them.
                LISTING_CONDITIONAL_META: self.skip_unchanged_listings and not self.backfill,
            },
            # Several sources may share a listing; each must see it.
            dont_filter=True,
        )

    def _article_request(self, source: str, url: str, provenance: Provenance) -> Request:
        self.progress.found()
        meta = {"source": source, "provenance": provenance, "download_slot": host_key(url)}
        if self.backfill:
            meta[SKIP_ARCHIVED_META] = True
        return Request(url, callback=self.parse_article, errback=self.article_failed, meta=meta)

    # --- listings ---------------------------------------------------------------------------
    async def parse_listing(self, response: Response) -> AsyncIterator[Request]:
        """Turn a feed, sitemap or section page into article requests (and child listings).

        The page is parsed in a thread of its own (lxml lets go of the GIL while it parses), so
        a large sitemap or section page never holds up the reactor and the fetches it drives.
        Article requests are scheduled directly, not yielded: spider middlewares see only the
        child listings (see docs/crawling.md).
        """
        meta = response.meta
        src = self._source(meta["source"])
        kind: ListingKind = meta["listing_kind"]
        assert self.crawler.stats is not None
        unchanged = self.ledger.unchanged(response)
        if unchanged is not None:
            count(self.crawler.stats, src.name, "listings_unchanged", unchanged)
            return
        if response.status == 304:
            return
        count(self.crawler.stats, src.name, "listings", kind)
        articles: list[Request] = []
        listings: list[Request] = []
        parsed_in_full = False
        try:
            requests: Iterable[Request]
            if kind == "feed":
                entries = await self._off_reactor(parse_feed, response.body)
                requests = self._from_entries(src, response, "feed", entries)
            elif kind == "sitemap":
                sitemap = await self._off_reactor(self._read_sitemap, response.body)
                requests = self._from_sitemap(src, response, *sitemap)
            else:
                if not isinstance(response, TextResponse):
                    raise ListingError("section page is not text")
                links = await self._off_reactor(
                    page_links, response.body, response.encoding, response.url
                )
                requests = self._from_section(src, response, *links)
            # A generator that stops part way still hands on what it found before.
            for request in requests:
                (articles if request.callback == self.parse_article else listings).append(request)
            parsed_in_full = True
        except SitemapLimitReached:
            pass  # warned once, when reached; not parsed in full, so not remembered as parsed
        except ListingError as err:
            warn_source(self.crawler.stats, src.name, f"{kind} {response.url}: {err}")
        await self._read_hints_ahead(articles)
        # Article requests, hundreds or thousands a listing, go straight to the scheduler, as
        # Scrapy's scraper would send them: yielded, each passed through every spider
        # middleware's async generator first, which cost a crawl of unchanged pages a tenth of
        # its time. Child sitemaps and next section pages, a few, are yielded as usual.
        engine = self.crawler.engine
        assert engine is not None
        for request in articles:
            engine.crawl(request)
        for request in listings:
            yield request
        if parsed_in_full:
            self.ledger.parsed(src.name, response)

    async def _read_hints_ahead(self, articles: list[Request]) -> None:
        """Read the cached hints of a listing's articles in the listing thread, in a few
        queries, rather than one query per article on the reactor's thread."""
        cache = opened_hints_cache(self.crawler)
        if cache is None or not articles:
            return
        urls = [request.url for request in articles]
        try:
            read = await self._off_reactor(read_hints_ahead, cache, urls)
        except ArchiverError as err:
            # Only time is lost: each article's hints are then looked up on their own.
            logger.warning("could not read ahead the hints of %d articles: %s", len(urls), err)
            return
        if read:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"{HINTS_STAT}/read_ahead", read)

    async def _off_reactor(self, parse: Callable[..., _Parsed], *args: Any) -> _Parsed:
        """Run ``parse(*args)`` in the listing parser's thread."""
        if self._parser is None:
            self._parser = ThreadPoolExecutor(1, thread_name_prefix="listings")
        return await asyncio.get_running_loop().run_in_executor(self._parser, parse, *args)

    def _read_sitemap(self, body: bytes) -> tuple[SitemapKind, list[Listed]]:
        return parse_sitemap(maybe_gunzip(body, self.max_listing_size))

    def _from_sitemap(
        self, src: Source, response: Response, kind: SitemapKind, entries: list[Listed]
    ) -> Iterable[Request]:
        if kind == "urlset":
            yield from self._from_entries(src, response, "sitemap", entries)
            return
        depth = response.meta["depth"] + 1
        if depth > self.sitemap_depth:
            raise ListingError(f"sitemap index nested deeper than {self.sitemap_depth}")
        requested = self.sitemaps_requested.setdefault(src.name, set())
        for entry in entries:
            child = response.urljoin(entry.url)
            if self.window is not None and not self.window.may_hold(entry.date):
                continue
            if child in requested or not src.allows(child):
                continue
            if len(requested) >= self.max_sitemaps:
                if src.name not in self.sitemaps_limited:
                    self.sitemaps_limited.add(src.name)
                    message = f"more than {self.max_sitemaps} sitemaps; the rest are skipped"
                    warn_source(self.crawler.stats, src.name, message)
                raise SitemapLimitReached(f"{response.url} not read in full")
            yield self._listing_request(src, child, "sitemap", depth=depth)

    def _from_section(
        self, src: Source, response: Response, links: list[str], next_links: list[str]
    ) -> Iterable[Request]:
        entries = [Listed(link) for link in links]
        yield from self._from_entries(src, response, "section", entries)
        page = response.meta["page"]
        if page < self.section_pages:
            for link in next_links[:1]:
                if src.allows(link):
                    yield self._listing_request(src, link, "section", page=page + 1)

    def _from_entries(
        self,
        src: Source,
        response: Response,
        via: ListingKind,
        entries: Iterable[Listed],
    ) -> Iterable[Request]:
        seen: set[str] = set()
        # Everything a listing names was discovered when it was parsed: one timestamp for all.
        discovered_at = _now()
        for entry in entries:
            url = self._article_url(src, entry.url, response.url)
            if url is None or url in seen or url in self._requested:
                continue
            if 0 < self.max_url_length < len(url):
                seen.add(url)
                count(self.crawler.stats, src.name, "skipped", "url_too_long")
                continue
            if self.window is not None and not self.window.admits(entry.date):
                continue
            seen.add(url)
            if len(self._requested) >= VERDICTS_KEPT:
                self._requested.clear()
            self._requested.add(url)
            provenance = Provenance(via, response.url, discovered_at, entry.date)
            yield self._article_request(src.name, url, provenance)

    def _article_url(self, src: Source, link: str, base: str) -> str | None:
        """Return the normal form of ``link`` if it is an article URL of ``src``, else None.

        Listings repeat most of their links (navigation, rails, the same teasers on a feed and
        a section page), so the verdict on an absolute link is kept for the rest of the crawl.
        """
        absolute = link.startswith(("https://", "http://"))
        if absolute and (src.name, link) in self._verdicts:
            return self._verdicts[(src.name, link)]
        try:
            url: str | None = normalize_url(link, base=base)
        except ValueError:
            url = None
        if url is not None and not src.is_article_url(url):
            url = None
        if absolute:
            if len(self._verdicts) >= VERDICTS_KEPT:
                self._verdicts.clear()
            self._verdicts[(src.name, link)] = url
        return url

    def listing_failed(self, failure: Failure) -> None:
        """Turn an unreachable or broken listing into a per-source warning."""
        request = failure.request  # type: ignore[attr-defined]
        assert self.crawler.stats is not None
        reason = failure_reason(failure)
        kind = request.meta["listing_kind"]
        warn_source(
            self.crawler.stats, request.meta["source"], f"{kind} {request.url} failed: {reason}"
        )

    # --- articles ---------------------------------------------------------------------------
    def parse_article(self, response: Response) -> Iterable[FetchedPage]:
        """Hand an article candidate to the pipelines."""
        source = response.meta["source"]
        assert self.crawler.stats is not None
        self.progress.finished()
        hints = response.meta.get(HINTS_META)
        if response.status == 304:
            if hints is None:
                # A 304 to a request we did not make conditional: nothing to compare with.
                count(self.crawler.stats, source, "failed", "unexpected_304")
                return
            count(self.crawler.stats, source, "fetched")
            archiving = crawl_archiver(self.crawler)
            if archiving is None or response.meta["provenance"].discovered_via == "revisit":
                # The revisit queue records what each revisit found: it takes items.
                yield self._page(response, source, hints, unchanged="not_modified")
            else:
                # Nothing to extract, store or queue: the run's check log takes the line
                # without the cost of an item, or of a page object to carry it.
                archiving.note_observation(
                    source, response.url, response.status, hints, _now(), "not_modified"
                )
            return
        if not isinstance(response, HtmlResponse):
            count(self.crawler.stats, source, "skipped", "not_html")
            return
        if source != ADHOC_SOURCE and not self._source(source).allows(response.url):
            count(self.crawler.stats, source, "skipped", "offsite_redirect")
            return
        count(self.crawler.stats, source, "fetched")
        yield self._page(response, source, hints)

    def _page(
        self,
        response: Response,
        source: str,
        hints: Any,
        unchanged: UnchangedReason | None = None,
    ) -> FetchedPage:
        headers = {
            key.decode("latin-1"): b", ".join(values).decode("latin-1")
            for key, values in response.headers.items()
        }
        redirects = response.meta.get("redirect_urls") or [response.url]
        return FetchedPage(
            source=source,
            requested_url=redirects[0],
            url=response.url,
            status=response.status,
            headers=headers,
            body=b"" if unchanged == "not_modified" else response.body,
            # The server's word only: Scrapy's own guess would outrank the page's <meta>.
            encoding=http_content_type_encoding(
                (response.headers.get(b"Content-Type") or b"").decode("latin-1")
            ),
            fetched_at=_now(),
            provenance=response.meta["provenance"],
            hints=hints,
            unchanged_before_extraction=unchanged,
        )

    def article_failed(self, failure: Failure) -> None:
        """Count a failed article fetch by reason."""
        request = failure.request  # type: ignore[attr-defined]
        self.progress.finished()
        reason = failure_reason(failure)
        outcome = "skipped" if reason in SKIP_REASONS else "failed"
        assert self.crawler.stats is not None
        count(self.crawler.stats, request.meta["source"], outcome, reason)
        logger.info("article %s %s: %s", request.url, outcome, reason)

    def request_dropped(self, request: Request) -> None:
        """Count an article whose redirect the duplicate filter dropped, which no errback sees.

        An article request dropped as a duplicate before any fetch is taken out of the progress
        count. A redirect back into its own chain is a loop (``redirect_loop``); one to a page
        already fetched in this crawl leaves nothing new to archive (``redirect_duplicate``).
        """
        if request.callback != self.parse_article:
            return
        chain = request.meta.get("redirect_urls")
        if not chain:
            # An article another listing had already led to: found twice, fetched once.
            self.progress.found(-1)
            return
        self.progress.finished()
        assert self.crawler.stats is not None
        source = request.meta["source"]
        if request.url in chain:
            count(self.crawler.stats, source, "failed", "redirect_loop")
            logger.info("article %s failed: redirect_loop (%s)", chain[0], " -> ".join(chain))
        else:
            count(self.crawler.stats, source, "skipped", "redirect_duplicate")

    def _source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)

    def closed(self, reason: str) -> None:
        """Log the final progress; remember the listings parsed, for the next run to skip."""
        if self._parser is not None:
            self._parser.shutdown(wait=True)
        self.progress.log()
        if not self.ledger.pending:
            return
        assert self.crawler.stats is not None
        store = crawl_store(self.crawler)
        # The reactor is stopping: a short blocking write here delays nothing else.
        self.ledger.save(store.storage, self.crawler.stats.get_stats(), reason)
