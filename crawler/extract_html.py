"""Decode and parse an HTML page once, and the small DOM helpers the extractor shares."""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Callable, Iterator
from urllib.parse import urljoin

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

__all__ = [
    "base_url",
    "class_id",
    "decode_html",
    "element_text",
    "normalize_space",
    "parse_html",
    "resolve_url",
]

# WHATWG encoding rules: a page that declares Latin-1 or ASCII is decoded as windows-1252 (its
# superset, which every browser uses), and a UTF-16 label in a <meta> tag means UTF-8.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WINDOWS_1252_ALIASES = frozenset({"latin_1", "iso8859-1", "ascii"})
_META_CHARSET_RE = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-zA-Z0-9._:-]+)""", re.I)
_PRESCAN_BYTES = 8192
_XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_SPACE_RE = re.compile(r"\s+")
_ELEMENT_LOOKUP = etree.ElementDefaultClassLookup(element=HtmlElement)
# Elements whose text is never visible prose.
_INVISIBLE = frozenset({"script", "style", "noscript", "template", "svg", "button", "select"})
_BREAKS = frozenset({"br", "hr"})
# Inline elements run on into their neighbours' text; every other element ends a word.
_INLINE = frozenset({"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i"})
_INLINE |= {"kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time"}
_INLINE |= {"u", "var", "wbr"}


def decode_html(data: bytes, encoding: str | None = None) -> str:
    """Decode page bytes: BOM, then ``encoding`` (HTTP header), ``<meta>``, UTF-8, windows-1252.

    Bytes labelled Latin-1 or windows-1252 that are valid UTF-8 are read as UTF-8.

    Never raises: undecodable bytes become U+FFFD in the final windows-1252 fallback.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    match = _META_CHARSET_RE.search(data[:_PRESCAN_BYTES])
    declared = [
        _codec_name(encoding, from_meta=False),
        _codec_name(match.group(1).decode("ascii"), from_meta=True) if match else None,
    ]
    for codec in (*(name for name in declared if name), "utf-8"):
        if codec == "cp1252" and not data.isascii():
            # A Latin-1 label on bytes that are valid UTF-8 is a mislabelled UTF-8 page (the
            # commonest wrong label): windows-1252 prose almost never forms valid UTF-8.
            with contextlib.suppress(UnicodeDecodeError):
                return data.decode("utf-8")
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("cp1252", errors="replace")


def _codec_name(label: str | None, *, from_meta: bool) -> str | None:
    """Map a charset label to a Python codec name following the WHATWG rules; None if unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    if name in _WINDOWS_1252_ALIASES:
        return "cp1252"
    if from_meta and name.startswith("utf-16"):
        return "utf-8"
    return name


def parse_html(text: str) -> HtmlElement | None:
    """Parse a page into an lxml tree (comments and processing instructions dropped).

    Return ``None`` when there is nothing to parse.
    """
    # lxml refuses str input with an encoding declaration, and NUL bytes end its input early.
    text = _XML_DECLARATION_RE.sub("", text.replace("\x00", ""), count=1)
    if not text.strip():
        return None
    # One parser per call: lxml parsers must not be shared between threads.
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
    # Every element an HtmlElement, chosen in C: lxml.html's own lookup is a Python function
    # called for each element the extractor touches, a fifth of the extraction time of a
    # large page. Its special classes (forms, inputs, labels) are never used here.
    parser.set_element_class_lookup(_ELEMENT_LOOKUP)
    try:
        tree = lxml.html.document_fromstring(text, parser=parser)
    except (etree.LxmlError, ValueError):
        return None
    return tree if isinstance(tree, HtmlElement) else None


def normalize_space(text: str) -> str:
    """Collapse runs of whitespace into single spaces and trim the ends."""
    return _SPACE_RE.sub(" ", text).strip()


def element_text(element: HtmlElement, skip: Callable[[HtmlElement], bool] | None = None) -> str:
    """Return the visible text of ``element`` with normalised spaces, leaving out skipped parts."""
    return normalize_space("".join(_text_pieces(element, skip, top=True)))


def _text_pieces(
    element: HtmlElement, skip: Callable[[HtmlElement], bool] | None, *, top: bool
) -> Iterator[str]:
    tag = element.tag if isinstance(element.tag, str) else ""
    hidden = tag in _INVISIBLE or (skip is not None and not top and skip(element))
    if not hidden:
        if tag in _BREAKS:
            yield " "
        yield element.text or ""
        for child in element:
            yield from _text_pieces(child, skip, top=False)
        if tag not in _INLINE:
            yield " "
    if not top:
        yield element.tail or ""


def class_id(element: HtmlElement) -> str:
    """Return the element's class and id attributes, lower-cased, for pattern matching."""
    return f"{element.get('class', '')} {element.get('id', '')}".lower()


def base_url(tree: HtmlElement, url: str) -> str:
    """Return the URL relative links resolve against: ``<base href>`` if present, else ``url``."""
    for base in tree.iter("base"):
        resolved = resolve_url(url, base.get("href"))
        if resolved is not None:
            return resolved
    return url


def resolve_url(base: str, href: str | None) -> str | None:
    """Resolve ``href`` against ``base``; ``None`` for empty, ``data:`` or script links."""
    if not href:
        return None
    href = href.strip()
    if not href or href.lower().startswith(("data:", "javascript:", "about:", "blob:")):
        return None
    try:
        return urljoin(base, href)
    except ValueError:
        return None
