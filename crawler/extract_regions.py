"""Locate the body and the article around it in the page, and pick the article's images.

The body region is found from the text trafilatura returned: the elements whose text equals
body lines, and their lowest common ancestor. The article region widens it to the enclosing
``<article>`` or to the element that also holds the headline, so the lead photo is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urldefrag

from lxml.html import HtmlElement

from crawler.extract_html import class_id, element_text, resolve_url
from crawler.images import Figure, image_for, is_chrome
from crawler.items import Image, ImageRole

__all__ = ["Regions", "find_regions", "is_listing", "is_paywalled"]

_BLOCK_TAGS = ("p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "dd", "div", "td")
_PAGE_TAGS = frozenset({"body", "html"})
_PAYWALL_RE = re.compile(
    r"(?:^|[\s_-])(?:paywall|regwall|registration-wall|login-wall|subscription-wall|meter-wall"
    r"|subscriber-only|premium-wall|piano-offer)(?:$|[\s_-])"
)
_IMAGE_FILE_RE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:$|\?)", re.I)
LINK_DENSITY_LIMIT = 0.5
"""Share of a region's text inside links above which the region is a listing."""
MAX_TEASER_HEADINGS = 4
"""More linked headings than this make a region a listing of other pages."""


@dataclass(slots=True)
class Regions:
    """Where the article sits in the page."""

    body: HtmlElement
    """Lowest common ancestor of the body paragraphs."""
    article: HtmlElement
    """The body plus the header around it (headline, lead photo, byline)."""
    first_body: HtmlElement
    """The first body paragraph; figures before it are in the header."""

    def images(self, figures: list[Figure], base: str, url: str) -> list[Image]:
        """Return the article's images: the lead figure, then the figures in the body."""
        order = {element: index for index, element in enumerate(self.article.iter())}
        start = order.get(self.first_body, 0)
        images: list[Image] = []
        seen: set[str] = set()
        for figure in figures:
            if figure.img is None or figure.node not in order:
                continue
            in_body = figure.node is self.body or self.body in figure.node.iterancestors()
            before = order[figure.node] < start
            if not (in_body or before) or self._in_furniture(figure.node, in_body):
                continue
            if _is_teaser(figure.img, url, base):
                continue
            role: ImageRole = "lead" if before and not images else "inline"
            image = image_for(figure, base, role)
            if image is not None and image.src not in seen:
                seen.add(image.src)
                images.append(image)
        return images

    def _in_furniture(self, node: HtmlElement, in_body: bool) -> bool:
        """Tell whether ``node`` sits in a related-links box, ad, teaser or other furniture."""
        stop = self.body if in_body else self.article
        for element in (node, *node.iterancestors()):
            if element is stop:
                return False
            if is_chrome(element):
                return True
        return False


def find_regions(tree: HtmlElement, lines: list[str], headline: HtmlElement | None) -> Regions:
    """Locate the body region from the body ``lines`` and widen it to the article."""
    wanted = {line.casefold() for line in lines}
    matched: list[HtmlElement] = []
    for element in tree.iter(*_BLOCK_TAGS):
        if element.tag == "div" and not (element.text or "").strip():
            continue
        if element_text(element).casefold() in wanted:
            matched.append(element)
    body_root = tree.find("body")
    fallback = body_root if body_root is not None else tree
    if matched:
        body = _common_ancestor(matched)
        if len(matched) == 1 and body.getparent() is not None:
            body = body.getparent()
        first = matched[0]
    else:
        candidates = (tree.find(".//*[@itemprop='articleBody']"), tree.find(".//article"))
        body = next((element for element in candidates if element is not None), fallback)
        first = body
    return Regions(body=body, article=_article_region(body, headline), first_body=first)


def _common_ancestor(elements: list[HtmlElement]) -> HtmlElement:
    chain = [elements[0], *elements[0].iterancestors()]
    depth = 0
    for element in elements[1:]:
        ancestors = {element, *element.iterancestors()}
        while chain[depth] not in ancestors:
            depth += 1
    return chain[depth]


def _article_region(body: HtmlElement, headline: HtmlElement | None) -> HtmlElement:
    """Return the enclosing ``<article>``, or the smallest element holding body and headline."""
    for element in (body, *body.iterancestors()):
        if element.tag == "article":
            region = element
            break
    else:
        region = body
    if headline is not None and region not in (headline, *headline.iterancestors()):
        common = _common_ancestor([region, headline])
        if common.tag not in _PAGE_TAGS:
            region = common
    return region


def is_listing(region: HtmlElement) -> bool:
    """Tell whether ``region`` is a list of links to other pages (a section front, a homepage)."""
    total = len(element_text(region))
    if total == 0:
        return True
    linked = sum(len(element_text(link)) for link in region.iter("a"))
    if linked / total >= LINK_DENSITY_LIMIT:
        return True
    teasers = 0
    for heading in region.iter("h2", "h3", "h4"):
        text = len(element_text(heading))
        links = sum(len(element_text(link)) for link in heading.iter("a"))
        teasers += text > 0 and links >= 0.8 * text
    return teasers > MAX_TEASER_HEADINGS


def is_paywalled(tree: HtmlElement) -> bool:
    """Tell whether the page shows a paywall or login wall element."""
    return any(
        isinstance(element.tag, str) and _PAYWALL_RE.search(class_id(element))
        for element in tree.iter()
    )


def _is_teaser(img: HtmlElement, url: str, base: str) -> bool:
    """Tell whether ``img`` links to another page (a teaser), not to itself or a bigger photo."""
    for link in img.iterancestors("a"):
        target = resolve_url(base, link.get("href"))
        if target is None or _IMAGE_FILE_RE.search(target):
            return False
        return urldefrag(target)[0] != urldefrag(url)[0]
    return False
