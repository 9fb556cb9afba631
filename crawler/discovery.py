"""Find article URLs in feeds, sitemaps and section pages.

Plain functions over bytes, with no Scrapy import, so they are easy to test and reuse. XML is
parsed without its document type declaration and with entity expansion and network access off:
feeds and sitemaps come from the open web.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

from lxml import etree, html

from crawler.errors import CrawlerError

GZIP_MAGIC = b"\x1f\x8b"
# What may come before a document type declaration: a byte order mark, the XML declaration,
# processing instructions, comments and white space.
_PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_DOCTYPE = re.compile(rb"<!DOCTYPE\s[^\[>]*(?:\[.*?\]\s*)?>", re.IGNORECASE | re.DOTALL)


class ListingError(CrawlerError):
    """A feed, sitemap or section page could not be read."""


@dataclass(frozen=True, slots=True)
class Listed:
    """A URL a listing page points to, with the date the listing gave for it."""

    url: str
    date: str | None = None


SitemapKind = Literal["index", "urlset"]


def _xml_parser() -> etree.XMLParser:
    # resolve_entities=False and no_network=True: no entity expansion bombs, no external fetches.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, recover=True, huge_tree=False, remove_comments=True
    )


def _without_doctype(body: bytes) -> bytes:
    """Drop the document type declaration, where entities and external DTDs are declared.

    Feeds and sitemaps need none. Even unexpanded, a billion-laughs declaration trips libxml2's
    amplification limit, and the parser then stops there, losing every link after it; without
    the declaration an entity reference is only an unknown name.
    """
    prolog = _PROLOG.match(body)
    prolog_end = prolog.end() if prolog else 0
    doctype = _DOCTYPE.match(body, prolog_end)
    if doctype is None:
        return body
    return body[:prolog_end] + body[doctype.end() :]


def _parse_xml(body: bytes, what: str) -> etree._Element:
    try:
        root = etree.fromstring(_without_doctype(body.lstrip()), parser=_xml_parser())
    except etree.XMLSyntaxError as err:
        raise ListingError(f"{what} is not well-formed XML: {err}") from err
    if root is None:
        raise ListingError(f"{what} is empty or not XML")
    return root


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _children(elem: etree._Element, name: str) -> Iterator[etree._Element]:
    for child in elem:
        if _local(child.tag) == name:
            yield child


def _first_text(elem: etree._Element, *names: str) -> str | None:
    for name in names:
        for child in elem.iter():
            if child is not elem and _local(child.tag) == name and (child.text or "").strip():
                return (child.text or "").strip()
    return None


def gunzip_limited(body: bytes, max_size: int) -> bytes:
    """Decompress gzip data, refusing output larger than ``max_size`` (a decompression bomb)."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(body, max_size + 1)
    except zlib.error as err:
        raise ListingError(f"invalid gzip data: {err}") from err
    if len(out) > max_size:
        raise ListingError(f"gzip data expands past {max_size} bytes")
    if not decompressor.eof and not out:
        raise ListingError("invalid gzip data: truncated before any content")
    # A truncated stream that still produced content is read as far as it goes.
    return out


def maybe_gunzip(body: bytes, max_size: int) -> bytes:
    """Return ``body``, decompressed first if it is gzip data."""
    return gunzip_limited(body, max_size) if body[:2] == GZIP_MAGIC else body


def parse_feed(body: bytes) -> list[Listed]:
    """Return the item links of an RSS 2.0, RSS 1.0 (RDF) or Atom feed, in feed order."""
    root = _parse_xml(body, "feed")
    kind = _local(root.tag)
    if kind not in {"rss", "rdf", "feed"}:
        raise ListingError(f"not an RSS or Atom feed (root element <{kind}>)")
    listed: list[Listed] = []
    for elem in root.iter():
        name = _local(elem.tag)
        if name == "item":
            link = _first_text(elem, "link")
            if link is None:
                for guid in _children(elem, "guid"):
                    if guid.get("isPermaLink", "true") != "false" and (guid.text or "").strip():
                        link = (guid.text or "").strip()
            if link:
                date = _first_text(elem, "pubdate", "date", "published", "updated")
                listed.append(Listed(link, date))
        elif name == "entry":
            href = None
            for link_elem in _children(elem, "link"):
                if link_elem.get("rel", "alternate") == "alternate" and link_elem.get("href"):
                    href = link_elem.get("href")
                    break
            if href:
                listed.append(Listed(href, _first_text(elem, "published", "updated")))
    return listed


def parse_sitemap(body: bytes) -> tuple[SitemapKind, list[Listed]]:
    """Return whether a sitemap is an index or a URL set, and the locations it lists.

    For a news sitemap the date is ``news:publication_date``; otherwise ``lastmod``.
    """
    root = _parse_xml(body, "sitemap")
    kind = _local(root.tag)
    if kind not in {"sitemapindex", "urlset"}:
        raise ListingError(f"not a sitemap (root element <{kind}>)")
    child_name = "sitemap" if kind == "sitemapindex" else "url"
    listed: list[Listed] = []
    for entry in _children(root, child_name):
        loc = _first_text(entry, "loc")
        if loc:
            listed.append(Listed(loc, _first_text(entry, "publication_date", "lastmod")))
    return ("index" if kind == "sitemapindex" else "urlset"), listed


def page_links(body: bytes, encoding: str, base_url: str) -> tuple[list[str], list[str]]:
    """Return the links of an HTML page and the pagination (``rel=next``) links among them."""
    try:
        doc = html.document_fromstring(body.decode(encoding, errors="replace"), base_url=base_url)
    except (etree.ParserError, ValueError) as err:
        raise ListingError(f"section page is not parseable HTML: {err}") from err
    # Links are resolved here rather than rewritten in the tree: lxml refuses to write back an
    # attribute holding a control character, which a hostile page can put in any href.
    base = base_url
    for element in doc.iter("base"):
        base = _resolve(base_url, element.get("href")) or base_url
        break
    origin = _origin(base)
    links: list[str] = []
    next_links: list[str] = []
    for anchor in doc.iter("a", "link"):
        href = (anchor.get("href") or "").strip()
        if not href:
            continue
        # A link with a scheme or from the root resolves the same against any page of the
        # host, and listings repeat their navigation: such joins are cached by the origin.
        if href[0] == "/" or _HAS_SCHEME.match(href):
            href = _join(origin or base, href)
        else:
            href = _join(base, href)
        if href is None:
            continue
        rel = (anchor.get("rel") or "").lower().split()
        if "next" in rel:
            next_links.append(href)
        elif anchor.tag == "a":
            links.append(href)
    return links, next_links


_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _origin(url: str) -> str | None:
    """Return ``scheme://host[:port]/`` of ``url``, or None when it has no host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/"


@functools.lru_cache(maxsize=16384)
def _join(base: str, href: str) -> str | None:
    return _resolve(base, href)


def _resolve(base: str, href: str | None) -> str | None:
    href = (href or "").strip()
    if not href:
        return None
    try:
        return urljoin(base, href)
    except ValueError:  # an unclosed "[" in the host
        return None
