"""Turn a fetched page into an :class:`~crawler.items.Article`, or ``None`` if it is not one.

The page is parsed once with lxml. Metadata the page states about itself (JSON-LD, OpenGraph,
``<meta>``) wins; trafilatura supplies the body text and fills metadata gaps. Figures are cut out
of the copy handed to trafilatura so captions never reach the body; they come back as
:class:`~crawler.items.Image` records with caption and credit apart. See ``docs/extraction.md``.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.deduplication import LRUCache

from crawler.errors import PageTooLargeError
from crawler.extract_fields import (
    clean_authors,
    dedupe,
    dom_byline,
    dom_section,
    is_readable_date,
    normalize_date,
    normalize_language,
)
from crawler.extract_html import base_url, decode_html, element_text, normalize_space, parse_html
from crawler.extract_regions import Regions, find_regions, is_listing, is_paywalled
from crawler.images import Figure, find_figures, is_chrome, strip_furniture_names
from crawler.items import Article
from crawler.structured import PageMetadata, read_metadata

__all__ = [
    "MAX_ELEMENTS",
    "MIN_BODY_WORDS",
    "article_to_json",
    "extract_article",
]

logger = logging.getLogger(__name__)

MAX_ELEMENTS = 100_000
"""Pages with more elements are not extracted (real articles have a few thousand): extraction
time grows with the tree, and a page of 100,000 links would hold a worker for many seconds."""
MIN_BODY_WORDS = 50
"""A body shorter than this is not an article, unless the page is typed as one (see below)."""
MIN_TYPED_PARAGRAPHS = 2
"""A page typed as an article passes with a short body if it has this many real paragraphs."""
MIN_PARAGRAPH_WORDS = 10
PAYWALL_MAX_WORDS = 150
"""A paywalled page whose visible body is shorter than this shows only a teaser."""

_WORD_RE = re.compile(r"\w+(?:['\u2019.-]\w+)*")
_LIST_MARK_RE = re.compile(r"^[-*•]\s+")
# Whole lines that are page furniture whichever element they came from.
_FURNITURE_LINES = frozenset(
    {
        "advertisement",
        "advertisment",
        "sponsored",
        "sponsored content",
        "story continues below",
        "story continues below advertisement",
        "article continues below",
        "continue reading",
        "continue reading below",
        "read more",
        "related",
        "related articles",
        "related stories",
        "share",
        "share this article",
        "skip advert",
        "scroll to continue with content",
    }
)


def extract_article(
    html: str | bytes,
    url: str,
    *,
    fetched_at: datetime | None = None,
    encoding: str | None = None,
) -> Article | None:
    """Extract the article of a page, or return ``None`` if the page is not an article.

    ``url`` is the page's final URL (relative links resolve against it and ``<base href>``).
    ``fetched_at`` (default: now) bounds the dates: a later one is dropped. ``encoding`` is the
    charset of the HTTP ``Content-Type`` header, if any, for ``bytes`` input. Malformed pages
    give ``None`` or a partial article; the only error raised is :class:`PageTooLargeError`,
    for a page of more than :data:`MAX_ELEMENTS` elements. (lxml itself stops nesting at 255
    levels, so a deep tree costs no more than a wide one.)
    """
    fetched = _as_utc(fetched_at)
    text = html if isinstance(html, str) else decode_html(html, encoding)
    tree = parse_html(text)
    if tree is None:
        logger.debug("not an article (empty page): %s", url)
        return None
    elements = sum(1 for _ in tree.iter())
    if elements > MAX_ELEMENTS:
        raise PageTooLargeError(f"{url} has {elements} elements, more than {MAX_ELEMENTS}")
    base = base_url(tree, url)
    meta = read_metadata(tree, base)
    figures = find_figures(tree)
    headline_el = _headline_element(tree, meta.headline)
    document = _run_trafilatura(_pruned_copy(tree, figures, headline_el), url, fetched)
    if document is None or not (document.text or "").strip():
        logger.debug("not an article (no main text): %s", url)
        return None

    headline = _headline(meta, headline_el, document)
    lines = [_LIST_MARK_RE.sub("", normalize_space(line)) for line in document.text.splitlines()]
    regions = find_regions(tree, [line for line in lines if line], headline_el)
    section = meta.section or dom_section(regions.article) or dom_section(tree)
    section = section or _breadcrumb_section(meta.breadcrumbs, headline)
    section = section or next(iter(document.categories or []), None)
    byline = meta.authors or dom_byline(regions.article)
    authors = clean_authors(byline or ([document.author] if document.author else []))
    body_lines = _body_lines(lines, figures, [section, headline, *byline, *authors])
    body = "\n".join(body_lines)
    if not _is_article(body_lines, meta, tree, regions, url):
        return None

    published = normalize_date(
        meta.date_published, fetched_at=fetched, url=url, field="date_published"
    )
    if published is None and (not meta.date_published or is_readable_date(meta.date_published)):
        # Not for a stated date that cannot be read: trafilatura reads "2026-02-30" as the first
        # of its month, and a wrong date is worse than none.
        published = normalize_date(
            document.date, fetched_at=fetched, url=url, field="date_published"
        )
    return Article(
        url=url,
        headline=headline,
        body=body,
        canonical_url=meta.canonical_url,
        section=normalize_space(section) if section else None,
        authors=authors,
        date_published=published,
        date_modified=normalize_date(
            meta.date_modified, fetched_at=fetched, url=url, field="date_modified"
        ),
        language=normalize_language(meta.language) or normalize_language(document.language),
        description=meta.description or document.description or None,
        images=regions.images(figures, base, url),
        tags=dedupe(meta.tags or document.tags or []),
        site_name=meta.site_name or document.sitename or None,
        word_count=len(_WORD_RE.findall(body)),
    )


def article_to_json(article: Article) -> str:
    """Return the article as indented JSON, non-ASCII characters kept as they are."""
    return json.dumps(article.to_dict(), indent=2, ensure_ascii=False)


def _as_utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _headline_element(tree: HtmlElement, headline: str | None) -> HtmlElement | None:
    """Return the page's visible headline: the ``<h1>`` matching the stated headline if any."""
    candidates = [h1 for h1 in tree.iter("h1") if element_text(h1)]
    if headline:
        wanted = normalize_space(headline).casefold()
        for h1 in candidates:
            text = element_text(h1).casefold()
            if text == wanted or (len(text) > 20 and (text in wanted or wanted in text)):
                return h1
    return next((h1 for h1 in candidates if len(element_text(h1).split()) >= 3), None)


def _headline(meta: PageMetadata, headline_el: HtmlElement | None, document: Any) -> str:
    headline = meta.headline or (element_text(headline_el) if headline_el is not None else "")
    headline = headline or document.title or ""
    site = meta.site_name or document.sitename
    if site:
        # "<title>"-style headlines carry the site name: "Headline | Site", "Headline - Site".
        headline = re.sub(rf"\s+[|\u2013\u2014-]\s+{re.escape(site)}\s*$", "", headline)
    return normalize_space(headline)


def _pruned_copy(
    tree: HtmlElement, figures: list[Figure], headline_el: HtmlElement | None
) -> HtmlElement:
    """Return a copy of the page without figures, captions and page furniture.

    Furniture (bylines, kickers, share bars, related links, ads, consent banners, comments) is
    recognised by class/id. The elements holding the headline and the densest run of paragraphs
    are never removed, and lose their furniture-like class names in the copy
    (``article-body js-comments-enabled``), which trafilatura would otherwise discard.
    """
    protected = set(_ancestors_of(headline_el)) | set(_ancestors_of(_densest_block(tree)))
    marked = [element for figure in figures for element in figure.prune]
    marked += tree.iterfind(".//figcaption")
    marked += (
        element for element in tree.iter() if isinstance(element.tag, str) and is_chrome(element)
    )
    pruned = copy.deepcopy(tree)
    # The copy has the same shape, so walking both side by side pairs each element with its twin.
    twin = dict(zip(tree.iter(), pruned.iter(), strict=True))
    for element in protected:
        strip_furniture_names(twin[element])
    for element in marked:
        if element not in protected:
            twin[element].drop_tree()
    return pruned


def _ancestors_of(element: HtmlElement | None) -> list[HtmlElement]:
    return [] if element is None else [element, *element.iterancestors()]


def _densest_block(tree: HtmlElement) -> HtmlElement | None:
    """Return the element with the most direct child paragraphs of real prose."""
    best, best_count = None, 0
    counts: dict[HtmlElement, int] = {}
    for paragraph in tree.iter("p"):
        parent = paragraph.getparent()
        if parent is not None and len(_WORD_RE.findall(paragraph.text_content())) >= 8:
            counts[parent] = counts.get(parent, 0) + 1
            if counts[parent] > best_count:
                best, best_count = parent, counts[parent]
    return best


def _run_trafilatura(tree: HtmlElement, url: str, fetched: datetime) -> Any:
    """Run trafilatura once on the pruned copy; see docs/extraction.md for the settings."""
    try:
        return trafilatura.bare_extraction(
            tree,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            include_formatting=False,
            # A cache scoped to this page: the default process-wide cache would discard the
            # text of a page seen before, and re-fetching a page is how versions are found.
            deduplicate=LRUCache(maxsize=1024),
            date_extraction_params={
                "original_date": True,
                "extensive_search": False,
                "max_date": fetched.date().isoformat(),
            },
        )
    except (ValueError, TypeError, RecursionError, etree.LxmlError) as err:
        logger.warning("text extraction failed for %s: %s", url, err)
        return None


def _body_lines(lines: list[str], figures: list[Figure], labels: list[str | None]) -> list[str]:
    """Return the body lines without captions, labels, furniture lines and repeats."""
    drop = {text.casefold() for figure in figures for text in figure.caption_texts}
    drop |= {label.casefold() for label in labels if label}
    drop |= {f"by {label.casefold()}" for label in labels if label}
    drop |= _FURNITURE_LINES
    kept: list[str] = []
    seen: set[str] = set()
    for line in lines:
        key = line.casefold()
        if not line or key in seen or key.rstrip(" :.") in drop:
            continue
        seen.add(key)
        kept.append(line)
    return kept


def _breadcrumb_section(crumbs: list[str], headline: str) -> str | None:
    crumbs = [c for c in crumbs if c.casefold() not in ("home", headline.casefold())]
    return crumbs[-1] if crumbs else None


def _is_article(
    lines: list[str], meta: PageMetadata, tree: HtmlElement, regions: Regions, url: str
) -> bool:
    """Apply the not-an-article rule of docs/extraction.md."""
    words = sum(len(_WORD_RE.findall(line)) for line in lines)
    if words < PAYWALL_MAX_WORDS and (meta.accessible_for_free is False or is_paywalled(tree)):
        logger.debug("not an article (paywall teaser, %d words): %s", words, url)
        return False
    if words < MIN_BODY_WORDS:
        paragraphs = sum(len(_WORD_RE.findall(line)) >= MIN_PARAGRAPH_WORDS for line in lines)
        if not (meta.typed_article and paragraphs >= MIN_TYPED_PARAGRAPHS):
            logger.debug("not an article (%d words): %s", words, url)
            return False
    if not meta.typed_article and is_listing(regions.body):
        logger.debug("not an article (link-dense listing): %s", url)
        return False
    return True
