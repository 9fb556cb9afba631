"""Read the metadata a page states about itself: JSON-LD, OpenGraph, ``article:*`` and ``<meta>``.

Values come out raw (dates unparsed, authors uncleaned); :mod:`crawler.extract_fields` normalises
them. For every field the JSON-LD article node wins, then OpenGraph / ``article:*``, then plain
``<meta>`` tags and microdata.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

from crawler.extract_html import normalize_space, resolve_url

__all__ = ["ARTICLE_TYPES", "PageMetadata", "read_metadata"]

logger = logging.getLogger(__name__)

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "SatiricalArticle",
        "Report",
        "BlogPosting",
        "LiveBlogPosting",
        "ScholarlyArticle",
    }
)
_JSON_WRAPPER_RE = re.compile(
    r"^\s*(?:<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)|(?:-->|//\s*\]\]>|\]\]>|;)\s*$"
)
_TAG_RE = re.compile(r"<[^>]+>")
_MAX_JSON_LD_NODES = 2000


@dataclass(slots=True)
class PageMetadata:
    """Raw metadata found in a page's JSON-LD and ``<meta>`` tags."""

    headline: str | None = None
    description: str | None = None
    section: str | None = None
    authors: list[str] = field(default_factory=list)
    date_published: str | None = None
    date_modified: str | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    site_name: str | None = None
    og_type: str | None = None
    json_ld_types: set[str] = field(default_factory=set)
    """Every schema.org ``@type`` seen in the page's JSON-LD."""
    typed_article: bool = False
    """The page says it is an article (JSON-LD article type, ``og:type=article`` or microdata)."""
    accessible_for_free: bool | None = None
    breadcrumbs: list[str] = field(default_factory=list)


def read_metadata(tree: HtmlElement, base: str) -> PageMetadata:
    """Collect the page's own metadata; ``base`` resolves relative canonical URLs."""
    nodes = list(_json_ld_nodes(tree))
    by_id = {node["@id"]: node for node in nodes if isinstance(node.get("@id"), str)}
    meta = _meta_values(tree)
    found = PageMetadata()
    for node in nodes:
        found.json_ld_types |= _types(node)
    article = _article_node(nodes)
    if article is not None:
        _read_article_node(found, article, by_id)
    found.breadcrumbs = _breadcrumbs(nodes, by_id)

    def first(*keys: str) -> str | None:
        for key in keys:
            for value in meta.get(key, []):
                if value:
                    return value
        return None

    found.headline = found.headline or first("og:title", "twitter:title", "itemprop:headline")
    found.description = found.description or first(
        "og:description", "description", "twitter:description", "itemprop:description"
    )
    found.section = found.section or first("article:section", "itemprop:articlesection")
    if not found.authors:
        found.authors = [
            value
            for key in ("author", "article:author", "dc.creator", "byl")
            for value in meta.get(key, [])
            if value and not value.startswith(("http://", "https://", "/"))
        ][:20]
    found.date_published = found.date_published or first(
        "article:published_time",
        "itemprop:datepublished",
        "og:published_time",
        "pubdate",
        "publishdate",
        "date",
        "dc.date.issued",
        "dc.date",
        "dcterms.created",
    )
    found.date_modified = found.date_modified or first(
        "article:modified_time", "og:updated_time", "itemprop:datemodified", "dcterms.modified"
    )
    html_lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    found.language = (
        found.language
        or html_lang
        or first("og:locale", "content-language", "language", "dc.language")
    )
    if not found.tags:
        found.tags = meta.get("article:tag", []) or _split_keywords(
            first("news_keywords", "keywords", "itemprop:keywords")
        )
    found.site_name = first("og:site_name") or found.site_name or first("application-name")
    found.canonical_url = _canonical(tree, base) or resolve_url(base, first("og:url"))
    found.og_type = (first("og:type") or "").lower() or None
    found.typed_article = (
        found.typed_article
        or found.og_type == "article"
        or any(
            (element.get("itemtype") or "").rstrip("/").rsplit("/", 1)[-1] in ARTICLE_TYPES
            for element in tree.iterfind(".//*[@itemtype]")
        )
    )
    return found


def _read_article_node(found: PageMetadata, node: dict[str, Any], by_id: dict[str, Any]) -> None:
    found.typed_article = True
    found.headline = _text(node.get("headline")) or _text(node.get("name"))
    found.description = _text(node.get("description"))
    found.section = _text(node.get("articleSection"))
    found.authors = [name for item in _items(node.get("author")) if (name := _name(item, by_id))]
    found.date_published = _text(node.get("datePublished")) or _text(node.get("dateCreated"))
    found.date_modified = _text(node.get("dateModified"))
    language = node.get("inLanguage")
    if isinstance(language, dict):
        language = language.get("alternateName") or language.get("name")
    found.language = _text(language)
    found.tags = [
        tag
        for item in _items(node.get("keywords"))
        if isinstance(item, str)
        for tag in _split_keywords(item)
    ]
    publisher = next(iter(_items(node.get("publisher"))), None)
    found.site_name = _name(publisher, by_id) if publisher is not None else None
    free = node.get("isAccessibleForFree")
    if isinstance(free, str):
        free = {"true": True, "false": False}.get(free.strip().lower())
    found.accessible_for_free = free if isinstance(free, bool) else None


def _json_ld_nodes(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Yield every JSON-LD object on the page, flattening lists, ``@graph`` and nesting."""
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        data = _load_json(script.text)
        stack: list[Any] = [data]
        seen = 0
        while stack and seen < _MAX_JSON_LD_NODES:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                seen += 1
                yield item
                stack.extend(
                    value
                    for key, value in reversed(item.items())
                    # Not itemListElement: a section front lists other pages' articles there.
                    if key in ("@graph", "mainEntity", "mainEntityOfPage")
                )


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, strict=False)
    except ValueError:
        pass
    try:
        return json.loads(_JSON_WRAPPER_RE.sub("", text.strip()), strict=False)
    except ValueError:
        logger.debug("unreadable JSON-LD block skipped")
        return None


def _types(node: dict[str, Any]) -> set[str]:
    return {
        value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        for value in _items(node.get("@type"))
        if isinstance(value, str)
    }


def _article_node(nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return the page's main article node: the one with a headline and an article type."""
    articles = [node for node in nodes if _types(node) & ARTICLE_TYPES]
    if not articles:
        return None
    # Pages list related articles as JSON-LD too; the main one carries a headline and a body date.
    articles.sort(key=lambda node: not (node.get("headline") and node.get("datePublished")))
    return articles[0]


def _breadcrumbs(nodes: list[dict[str, Any]], by_id: dict[str, Any]) -> list[str]:
    for node in nodes:
        if "BreadcrumbList" not in _types(node):
            continue
        elements = [item for item in _items(node.get("itemListElement")) if isinstance(item, dict)]
        elements.sort(key=lambda item: _position(item.get("position")))
        names = []
        for item in elements:
            name = _text(item.get("name")) or _name(item.get("item"), by_id)
            if name:
                names.append(name)
        return names
    return []


def _position(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _name(value: Any, by_id: dict[str, Any]) -> str | None:
    """Return the name of a Person/Organization given inline, by ``@id`` or as a string."""
    if isinstance(value, str):
        return _text(value)
    if not isinstance(value, dict):
        return None
    if "name" not in value and isinstance(value.get("@id"), str):
        value = by_id.get(value["@id"], value)
    return _text(value.get("name"))


def _text(value: Any) -> str | None:
    """Return a JSON-LD value as clean text (a list gives its first string; entities undone)."""
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str) and item.strip()), None)
    if not isinstance(value, str):
        return None
    return normalize_space(_TAG_RE.sub(" ", html.unescape(value))) or None


def _split_keywords(value: str | None) -> list[str]:
    if not value:
        return []
    return [part for part in (normalize_space(piece) for piece in value.split(",")) if part]


def _meta_values(tree: HtmlElement) -> dict[str, list[str]]:
    """Map each ``<meta>`` name/property (and ``itemprop:`` microdata) to its values, in order."""
    values: dict[str, list[str]] = {}
    for element in tree.iterfind(".//meta"):
        content = element.get("content")
        if content is None:
            continue
        content = normalize_space(html.unescape(content))
        for attr in ("property", "name", "http-equiv"):
            key = (element.get(attr) or "").strip().lower()
            if key:
                values.setdefault(key, []).append(content)
    for element in tree.iterfind(".//*[@itemprop]"):
        value = element.get("content") or element.get("datetime")
        if value:
            key = "itemprop:" + (element.get("itemprop") or "").strip().lower()
            values.setdefault(key, []).append(normalize_space(value))
    return values


def _canonical(tree: HtmlElement, base: str) -> str | None:
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            return resolve_url(base, link.get("href"))
    return None
