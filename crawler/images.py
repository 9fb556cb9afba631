"""Find an article's figures: image URL, caption and credit kept apart, lead or inline role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml.html import HtmlElement

from crawler.captions import clean_credit, split_credit
from crawler.extract_html import class_id, element_text, normalize_space, resolve_url
from crawler.items import Image, ImageRole

__all__ = ["Figure", "find_figures", "image_for", "is_chrome", "strip_furniture_names"]

# Class or id segments of page furniture: navigation, teasers, ads, consent banners, comments,
# bylines, labels and standfirsts, in the languages of the sources. Matched as whole words between
# separators, so "ad" never matches "header".
CHROME_RE = re.compile(
    r"(?:^|[\s_-])(?:"
    r"nav|navigation|menu|masthead|site-header|site-footer|footer|sidebar|rail|breadcrumbs?"
    r"|related|read-?more|read-?next|more-?stories|recommend\w*|most-?(?:read|viewed|popular)"
    r"|trending|popular|teasers?|promo\w*|outbrain|taboola|rich-link|onward"
    r"|ad|ads|advert\w*|sponsor\w*|dfp|gpt-ad|cookies?|consent|gdpr|onetrust|cmp"
    r"|newsletters?|signup|subscribe|subscription|share|sharing|social|comments?|disqus"
    r"|byline|authors?|avatar|logo|tags?|kicker|section-label|standfirst|dek|subtitle|signature"
    r"|paywall|regwall|login"
    # es / pt
    r"|publicidade?|anuncios?|relacionad[oa]s|comentarios?|boletin|etiquetas|firma|compartir"
    r"|mas-leido|entradilla|sumario|suscripcion\w*|antetitulo"
    # fr
    r"|pub|publicite|articles-lies|lire-aussi|commentaires?|partage|abonnement|chapo|chapeau"
    r"|surtitre|reactions"
    # de / it
    r"|werbung|anzeige|kommentare?|teilen|verwandte|dachzeile|pubblicita|correlati|commenti"
    r"|condividi|occhiello"
    r")(?:$|[\s_-])"
)
_CHROME_TAGS = frozenset({"nav", "aside", "footer", "form"})
_CREDIT_HINTS = ("credit", "copyright", "photographer", "attribution", "image-source")
_CREDIT_ITEMPROPS = frozenset({"copyrightholder", "creator", "copyrightnotice", "author"})
_CONTROL_RE = re.compile(r"licens|purchase|buy|enlarge|expand|zoom|button|toggle|share|download")
# Class segments naming a caption: en, fr (légende), es (leyenda, pie de foto), it, de.
_CAPTION_HINTS = (
    "caption",
    "legend",
    "leyenda",
    "pie-de-foto",
    "piefoto",
    "didascalia",
    "bildunterschrift",
    "bildtext",
)
_CAPTION_ITEMPROPS = frozenset({"caption", "description"})
# A hint inside any class name or the id: the hints hold no spaces, so searching the joined
# "class id" string finds exactly the names that contain one, at a fraction of the cost.
_CAPTION_HINT_RE = re.compile("|".join(map(re.escape, _CAPTION_HINTS)))
_CREDIT_HINT_RE = re.compile("|".join(map(re.escape, _CREDIT_HINTS)))
_LAZY_SRC_ATTRS = (
    "data-src",
    "data-lazy-src",
    "data-original",
    "data-full-src",
    "data-hi-res-src",
    "data-url",
)
_SRCSET_ATTRS = ("srcset", "data-srcset", "data-lazy-srcset")
_PLACEHOLDER_RE = re.compile(
    r"(?:placeholder|blank|spacer|transparent|lazy|loading|pixel|grey|1x1)[^/]*\.(?:gif|png|svg)",
    re.I,
)
_NOT_PHOTO_RE = re.compile(
    r"(?:^|[\s/_.-])(?:logo|avatar|icon|sprite|emoji|badge|pixel|tracking|beacon|spacer|headshot"
    r"|mugshot|author)s?(?:$|[\s/_.-])",
    re.I,
)
_TINY = 2
# Text a figure container may hold besides its caption ("Enlarge", "1 of 5").
_MAX_FIGURE_EXTRA_TEXT = 40
_MAX_CAPTION_CHARS = 600


@dataclass(slots=True)
class Figure:
    """A figure of the page: where it sits, its picture, and its caption elements."""

    node: HtmlElement
    """The element that holds the picture and caption (a ``<figure>`` or equivalent)."""
    img: HtmlElement | None
    caption: str | None
    credit: str | None
    caption_texts: tuple[str, ...]
    """Every text form of the caption (with and without credit), to keep it out of the body."""
    prune: tuple[HtmlElement, ...]
    """Elements to remove from the copy handed to the text extractor."""


def find_figures(tree: HtmlElement) -> list[Figure]:
    """Return every figure of the page in document order, and every picture outside one."""
    figures: list[Figure] = []
    claimed: set[HtmlElement] = set()
    for element in tree.iter("figure"):
        if any(ancestor in claimed for ancestor in element.iterancestors("figure")):
            continue
        claimed.add(element)
        caption = element.find(".//figcaption")
        if caption is None:
            caption = next(_caption_candidates(element, in_figure=True), None)
        figures.append(_figure(element, _first_img(element), caption, (element,)))
    # Captions outside <figure>: <div class="image"><img><p class="caption">...</p></div>.
    for caption in _caption_candidates(tree, in_figure=False):
        if caption in claimed or any(a in claimed for a in caption.iterancestors()):
            continue
        holder = _caption_holder(caption)
        if holder is not None:
            claimed.add(holder)
            figures.append(_figure(holder, _first_img(holder), caption, (holder,)))
            continue
        # <div class="photo"><img></div><p class="caption">: the picture is the previous sibling.
        previous = caption.getprevious()
        img = _first_img(previous) if previous is not None and previous not in claimed else None
        if previous is not None and img is not None and len(_live_images(previous)) == 1:
            claimed.add(previous)
            figures.append(_figure(previous, img, caption, (previous, caption)))
        else:
            figures.append(_figure(caption, None, caption, (caption,)))
        claimed.add(caption)
    # Pictures without a caption (a WordPress post thumbnail, a bare <img> in the body).
    inside = {img for figure in figures for img in figure.node.iter("img")}
    for img in tree.iter("img"):
        if img not in inside and not _in_noscript(img):
            figures.append(_figure(img, img, None, ()))
    order = {element: index for index, element in enumerate(tree.iter())}
    figures.sort(key=lambda figure: order.get(figure.node, 0))
    return figures


def image_for(figure: Figure, base: str, role: ImageRole) -> Image | None:
    """Return the :class:`Image` of ``figure``, or ``None`` if it shows no photo worth keeping."""
    if figure.img is None or _is_not_photo(figure.img):
        return None
    src = _best_src(figure.img, base)
    if src is None:
        return None
    alt = normalize_space(figure.img.get("alt") or "") or None
    return Image(src=src, caption=figure.caption, credit=figure.credit, alt=alt, role=role)


def is_chrome(element: HtmlElement) -> bool:
    """Tell whether ``element`` is page furniture by its tag or its class/id."""
    return element.tag in _CHROME_TAGS or bool(CHROME_RE.search(class_id(element)))


def strip_furniture_names(element: HtmlElement) -> None:
    """Remove the furniture-like class names and id of ``element``, keeping the others."""
    if CHROME_RE.search((element.get("id") or "").lower()):
        del element.attrib["id"]
    classes = (element.get("class") or "").split()
    kept = [name for name in classes if not CHROME_RE.search(name.lower())]
    if kept != classes:
        element.set("class", " ".join(kept))


def _figure(
    node: HtmlElement,
    img: HtmlElement | None,
    caption_el: HtmlElement | None,
    prune: tuple[HtmlElement, ...],
) -> Figure:
    # The credit element sits in the caption or elsewhere in the figure (under the picture).
    scopes = (caption_el, node) if caption_el is not None else (node,)
    credit_el = next(
        (el for scope in scopes for el in scope.iter() if el is not scope and _is_credit(el)), None
    )
    full = element_text(caption_el) if caption_el is not None else ""
    caption_text = element_text(caption_el, skip=_not_caption) if caption_el is not None else ""
    caption, text_credit = split_credit(caption_text)
    credit = text_credit
    if credit_el is not None:
        credit = clean_credit(element_text(credit_el)) or text_credit
    texts = {text for text in (full, caption_text, caption, credit) if text}
    if caption and credit:
        texts.add(f"{caption} ({credit})")
    return Figure(node, img, caption, credit, tuple(texts), prune)


def _caption_candidates(root: HtmlElement, *, in_figure: bool) -> Iterator[HtmlElement]:
    """Yield caption elements under ``root`` (``itemprop=description`` counts only in a figure)."""
    itemprops = _CAPTION_ITEMPROPS if in_figure else {"caption"}
    for element in root.iter():
        if not isinstance(element.tag, str) or element is root or element.tag in ("meta", "img"):
            continue
        names = class_id(element)
        is_caption = (element.get("itemprop") or "").lower() in itemprops or bool(
            _CAPTION_HINT_RE.search(names)
        )
        if (
            is_caption
            and element.find(".//img") is None
            and not _CREDIT_HINT_RE.search(names)
            # A "captioned-story" wrapper with paragraphs of its own is not a caption.
            and len(element.findall(".//p")) <= 1
            and len(element_text(element)) <= _MAX_CAPTION_CHARS
        ):
            yield element


def _caption_holder(caption: HtmlElement) -> HtmlElement | None:
    """Return the small container holding ``caption`` and exactly one image, if any."""
    own = len(element_text(caption))
    inside_caption = set(caption.iter())
    for ancestor in list(caption.iterancestors())[:3]:
        images = _live_images(ancestor)
        if images:
            # A container with paragraphs or text of its own is the article, not a figure.
            small = len(element_text(ancestor)) <= own + _MAX_FIGURE_EXTRA_TEXT and not any(
                paragraph not in inside_caption for paragraph in ancestor.iter("p")
            )
            return ancestor if small and len(images) == 1 else None
    return None


def _first_img(node: HtmlElement) -> HtmlElement | None:
    """Return the figure's picture, preferring a live ``<img>`` over a ``<noscript>`` copy."""
    return next(iter(_live_images(node) or node.iter("img")), None)


def _live_images(node: HtmlElement) -> list[HtmlElement]:
    """Return the ``<img>`` elements of ``node`` that are not ``<noscript>`` fallbacks."""
    return [img for img in node.iter("img") if not _in_noscript(img)]


def _in_noscript(element: HtmlElement) -> bool:
    return any(ancestor.tag == "noscript" for ancestor in element.iterancestors())


def _not_caption(element: HtmlElement) -> bool:
    """Tell whether a part of a caption element is a credit or a control (licensing, enlarge)."""
    return _is_credit(element) or bool(_CONTROL_RE.search(class_id(element)))


def _is_credit(element: HtmlElement) -> bool:
    if not isinstance(element.tag, str):
        return False
    if element.tag == "small":
        return True
    if (element.get("itemprop") or "").lower() in _CREDIT_ITEMPROPS:
        return True
    return bool(_CREDIT_HINT_RE.search(class_id(element)))


def _is_not_photo(img: HtmlElement) -> bool:
    """Tell whether ``img`` is a tracking pixel, logo, icon or avatar."""
    for attr in ("width", "height"):
        value = (img.get(attr) or "").strip().removesuffix("px")
        if value.isdigit() and int(value) <= _TINY:
            return True
    src = img.get("src") or ""
    return bool(_NOT_PHOTO_RE.search(class_id(img)) or _NOT_PHOTO_RE.search(src.split("?")[0]))


def _best_src(img: HtmlElement, base: str) -> str | None:
    """Return the largest ``srcset`` candidate, else a lazy-load ``data-*`` URL, else ``src``."""
    sources = [img]
    # libxml2 does not know <source> is void, so the <img> may sit inside a <source>.
    picture = next(img.iterancestors("picture"), None)
    if picture is not None:
        sources += picture.iter("source")
    best: tuple[tuple[int, float], str] | None = None
    for element in sources:
        for attr in _SRCSET_ATTRS:
            for url, score in _srcset(element.get(attr) or ""):
                if best is None or score > best[0]:
                    best = (score, url)
    candidates = [best[1]] if best else []
    candidates += [img.get(attr) or "" for attr in _LAZY_SRC_ATTRS]
    src = img.get("src") or ""
    if not _PLACEHOLDER_RE.search(src):
        candidates.append(src)
    for candidate in candidates:
        resolved = resolve_url(base, candidate)
        if resolved is not None:
            return resolved
    return None


def _srcset(value: str) -> Iterator[tuple[str, tuple[int, float]]]:
    """Parse a ``srcset`` (WHATWG rules: URLs may hold commas) into (url, (kind, size))."""
    position, length = 0, len(value)
    while position < length:
        while position < length and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < length and not value[position].isspace():
            position += 1
        url = value[start:position]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            start = position
            while position < length and value[position] != ",":
                position += 1
            descriptor = value[start:position].strip()
        if url:
            yield url, _descriptor_score(descriptor)


def _descriptor_score(descriptor: str) -> tuple[int, float]:
    """Rank width descriptors above density ones above none."""
    for token in descriptor.split():
        try:
            if token.endswith("w"):
                return (2, float(token[:-1]))
            if token.endswith("x"):
                return (1, float(token[:-1]))
        except ValueError:
            continue
    return (0, 1.0)
