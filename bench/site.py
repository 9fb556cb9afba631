"""The benchmark's fixture news site: four outlets, any number of article pages, all seeded.

Nothing is stored: every page is rendered on demand from ``(seed, outlet, index)``, so a 10,000
page site costs no more memory than a 60 page one and a page is byte-identical each time it is
asked for. Articles sit in sections of at most 100, listed 50 to a section page over two pages
(what the crawler follows by default, ``ARCHIVE_SECTION_PAGES = 2``) and in one RSS feed per
section with the newest 50, so every article is reachable through a section page and the
newest through a feed as well.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial

from bench import templates
from bench.text import headline, paragraph, person, slugify

GENERATOR_VERSION = "1"
BASE_TIME = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
"""Newest article's date; older ones go back 17 minutes each."""
PER_SECTION_PAGE = 50
PAGES_PER_SECTION = 2
PER_SECTION = PER_SECTION_PAGE * PAGES_PER_SECTION


@dataclass(frozen=True, slots=True)
class Outlet:
    """One outlet of the site: its language, markup template and URL shapes."""

    name: str
    site_name: str
    language: str
    template: str
    sections: tuple[str, ...]
    article_path: str
    """``str.format`` pattern: section, slug, y, m, d, id."""
    article_regex: str
    """The article path as a regex, for the sources file's ``article_patterns``."""
    section_path: str
    feed_path: str


OUTLETS: tuple[Outlet, ...] = (
    Outlet(
        "courier",
        "The Daily Courier",
        "en",
        "courier",
        ("world", "politics", "business", "science", "environment", "culture", "health"),
        "/{section}/{y}/{m}/{d}/{slug}",
        r"/[a-z0-9-]+/\d{4}/\d{2}/\d{2}/[a-z0-9-]+$",
        "/{section}",
        "/{section}/rss",
    ),
    Outlet(
        "quotidien",
        "Le Quotidien",
        "fr",
        "quotidien",
        ("international", "politique", "economie", "planete", "sciences", "culture"),
        "/{section}/article/{y}/{m}/{d}/{slug}_{id}_3210.html",
        r"/[a-z0-9-]+/article/\d{4}/\d{2}/\d{2}/[a-z0-9-]+_\d+_\d+\.html$",
        "/{section}/",
        "/{section}/rss_full.xml",
    ),
    Outlet(
        "bote",
        "Der Bote",
        "de",
        "bote",
        ("ausland", "politik", "wirtschaft", "wissenschaft", "kultur", "panorama"),
        "/{section}/{slug}-a-{id}.html",
        r"/[a-z0-9-]+/[a-z0-9-]+-a-\d+\.html$",
        "/{section}/",
        "/{section}/index.rss",
    ),
    Outlet(
        "diario",
        "El Diario Global",
        "es",
        "diario",
        ("internacional", "politica", "economia", "ciencia", "clima", "cultura"),
        "/{section}/{y}-{m}-{d}/{slug}.html",
        r"/[a-z0-9-]+/\d{4}-\d{2}-\d{2}/[a-z0-9-]+\.html$",
        "/{section}/",
        "/rss/{section}.xml",
    ),
)


@dataclass(frozen=True, slots=True)
class ArticleMeta:
    """What listings and the page itself say about one article."""

    outlet: Outlet
    index: int
    """Position within the outlet, newest first."""
    section: str
    path: str
    headline: str
    summary: str
    authors: tuple[str, ...]
    published: datetime
    modified: datetime
    article_id: int


@dataclass(frozen=True, slots=True)
class Resource:
    """A page of the site before rendering: its validators and how to render it."""

    kind: str
    """``article``, ``section``, ``feed`` or ``robots``."""
    identity: str
    """Everything but the base URL that the bytes are a function of."""
    last_modified: str
    content_type: str
    render: Callable[[str], str]
    """Render the page for a base URL such as ``http://127.0.0.1:40123``."""

    def etag(self, base: str) -> str:
        """Return the page's strong ETag, without rendering it: a 304 costs almost nothing."""
        return '"' + hashlib.sha256(f"{self.identity}|{base}".encode()).hexdigest()[:32] + '"'


def http_date(moment: datetime) -> str:
    """Format ``moment`` as an HTTP date."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


class BenchSite:
    """Every page of the fixture site, rendered on demand; ``pages`` articles in all."""

    def __init__(self, pages: int = 2000, seed: int = 1) -> None:
        if pages < len(OUTLETS):
            raise ValueError(f"the site needs at least {len(OUTLETS)} pages, got {pages}")
        self.pages = pages
        self.seed = seed
        self.listing_epoch = 0
        """Bumped by :meth:`refresh_listings`: section pages and feeds change, articles do not."""
        self.counts = {
            outlet.name: len(range(k, pages, len(OUTLETS))) for k, outlet in enumerate(OUTLETS)
        }
        self._sections = {outlet.name: self.section_names(outlet) for outlet in OUTLETS}
        self._articles: dict[tuple[str, str], int] = {}
        for outlet in OUTLETS:
            for index in range(self.counts[outlet.name]):
                key = (outlet.name, self.meta(outlet, index).path)
                if key in self._articles:
                    raise ValueError(f"two articles of {outlet.name} share the path {key[1]}")
                self._articles[key] = index
        self._chrome = {outlet.name: templates.Chrome(outlet, self) for outlet in OUTLETS}

    # --- the site's shape -----------------------------------------------------------------
    def section_names(self, outlet: Outlet) -> list[str]:
        """Return the outlet's sections, as many as its articles need (100 to a section)."""
        count = -(-self.counts[outlet.name] // PER_SECTION)
        pool = outlet.sections
        return [
            pool[k % len(pool)] + (f"-{k // len(pool) + 1}" if k >= len(pool) else "")
            for k in range(count)
        ]

    def meta(self, outlet: Outlet, index: int) -> ArticleMeta:
        """Return the listing data of article ``index`` of ``outlet``."""
        rng = random.Random(f"{self.seed}:{outlet.name}:{index}")
        number = index * len(OUTLETS) + OUTLETS.index(outlet)
        published = BASE_TIME - timedelta(minutes=17 * number + rng.randint(0, 16))
        title = headline(rng, outlet.language)
        section = self._sections[outlet.name][index // PER_SECTION]
        article_id = 100_000 + index
        path = outlet.article_path.format(
            section=section,
            slug=slugify(title),
            y=f"{published.year:04d}",
            m=f"{published.month:02d}",
            d=f"{published.day:02d}",
            id=article_id,
        )
        return ArticleMeta(
            outlet=outlet,
            index=index,
            section=section,
            path=path,
            headline=title,
            summary=paragraph(rng, outlet.language).split(". ")[0].rstrip(".") + ".",
            authors=tuple(person(rng, outlet.language) for _ in range(rng.choice((1, 1, 2)))),
            published=published,
            modified=published + timedelta(minutes=rng.randint(0, 180)),
            article_id=article_id,
        )

    def section_articles(self, outlet: Outlet, section: int, page: int) -> list[ArticleMeta]:
        """Return the articles that page ``page`` (1 or 2) of a section lists, newest first."""
        start = section * PER_SECTION + (page - 1) * PER_SECTION_PAGE
        stop = min(start + PER_SECTION_PAGE, (section + 1) * PER_SECTION, self.counts[outlet.name])
        return [self.meta(outlet, index) for index in range(start, stop)]

    def article_paths(self) -> Iterator[tuple[Outlet, str]]:
        """Yield every article as ``(outlet, path)``, outlet by outlet."""
        for outlet in OUTLETS:
            for index in range(self.counts[outlet.name]):
                yield outlet, self.meta(outlet, index).path

    def listing_paths(self, outlet: Outlet) -> tuple[list[str], list[str]]:
        """Return the first section page and the feed of every section: ``(sections, feeds)``."""
        names = self._sections[outlet.name]
        return (
            [outlet.section_path.format(section=name) for name in names],
            [outlet.feed_path.format(section=name) for name in names],
        )

    def refresh_listings(self) -> None:
        """Re-issue every section page and feed with a new build time, as a live site does."""
        self.listing_epoch += 1

    # --- answering --------------------------------------------------------------------------
    def resource(self, outlet: Outlet, path: str, query: str) -> Resource | None:
        """Return the page at ``path?query`` of ``outlet``, or ``None`` if there is none."""
        if path == "/robots.txt":
            return self._resource("robots", outlet, path, BASE_TIME, "text/plain", _robots)
        index = self._articles.get((outlet.name, path))
        if index is not None:
            meta = self.meta(outlet, index)
            return self._resource(
                "article",
                outlet,
                path,
                meta.modified,
                "text/html; charset=utf-8",
                partial(self._article, meta),
            )
        return self._listing(outlet, path, query)

    def _listing(self, outlet: Outlet, path: str, query: str) -> Resource | None:
        built = BASE_TIME + timedelta(hours=self.listing_epoch)
        chrome = self._chrome[outlet.name]
        for number, name in enumerate(self._sections[outlet.name]):
            if path == outlet.feed_path.format(section=name) and not query:
                items = self.section_articles(outlet, number, 1)
                return self._resource(
                    "feed",
                    outlet,
                    path,
                    built,
                    "application/rss+xml",
                    partial(templates.feed, outlet, name, items, built),
                )
            if path == outlet.section_path.format(section=name):
                page = _page_number(query)
                items = self.section_articles(outlet, number, page) if page else []
                if not items:
                    return None
                more = page < PAGES_PER_SECTION and bool(self.section_articles(outlet, number, 2))
                return self._resource(
                    "section",
                    outlet,
                    f"{path}?{query}",
                    built,
                    "text/html; charset=utf-8",
                    partial(chrome.section, name, page, items, more, built),
                )
        return None

    def _resource(
        self,
        kind: str,
        outlet: Outlet,
        key: str,
        modified: datetime,
        content_type: str,
        render: Callable[[str], str],
    ) -> Resource:
        epoch = self.listing_epoch if kind in ("section", "feed") else 0
        identity = f"{GENERATOR_VERSION}|{self.seed}|{self.pages}|{outlet.name}|{key}|{epoch}"
        return Resource(kind, identity, http_date(modified), content_type, render)

    def _article(self, meta: ArticleMeta, base: str) -> str:
        # A fresh generator per rendering: the page is the same whoever asks, however often.
        rng = random.Random(f"{self.seed}:{meta.outlet.name}:{meta.index}:page")
        return self._chrome[meta.outlet.name].article(meta, base, rng)


def _robots(base: str) -> str:
    return "User-agent: *\nAllow: /\n"


_PAGE_RE = re.compile(r"^(?:page=(\d+))?$")


def _page_number(query: str) -> int:
    match = _PAGE_RE.match(query)
    return int(match.group(1) or 1) if match else 0
