"""What the hostile test site serves: articles, broken pages, bombs, feeds and sitemaps.

Everything is generated in memory on first use; nothing large is kept in the checkout. The
decompression bombs are small on the wire (about 1 MB and 2 KB) and a gibibyte unpacked.
"""

from __future__ import annotations

import functools
import gzip
import json
import random
import zlib

import brotli  # type: ignore[import-untyped] # no stubs; Scrapy depends on it

GIB = 1024**3
MIB = 1024**2

PARAGRAPHS = (
    "The city council voted on Tuesday evening to extend the night bus network to the eastern "
    "districts, after a year of petitions from shift workers who said the last service left "
    "them stranded.",
    "Officials said the new routes would start in the spring and cost less than expected, "
    "because the buses would come from a depot that already serves the northern lines and "
    "has room for more.",
    "Residents who spoke at the meeting welcomed the plan but asked for shelters and lighting "
    "at the new stops, many of which sit on roads without pavements or street lamps today.",
    "The transport committee will publish the timetable next month and hold two more public "
    "sessions before the first buses run, the council said in a statement after the vote.",
)

CP1252_HEADLINE = "Caf\u00e9 owners\u2019 \u201cna\u00efve\u201d plan costs \u20ac5,000"
CP1252_PARAGRAPH = (
    "The caf\u00e9 on the corner, run by the Mu\u00f1oz family since 1987, says the \u201cnew "
    "rules\u201d will cost it \u20ac5,000 a year \u2013 more than its \u0153uvre of pastries "
    "earns in a good month."
)
JAPANESE_HEADLINE = "\u6771\u4eac\u3067\u65b0\u3057\u3044\u30d0\u30b9\u8def\u7dda"
_JAPANESE_WORDS = (
    "\u6771\u4eac\u90fd",
    "\u5e02\u8b70\u4f1a",
    "\u591c\u884c\u30d0\u30b9",
    "\u6771\u90e8\u5730\u533a",
    "\u4f4f\u6c11",
    "\u8acb\u9858",
    "\u904b\u884c",
    "\u6625",
    "\u4e88\u7b97",
    "\u505c\u7559\u6240",
    "\u7167\u660e",
    "\u6642\u523b\u8868",
)
# Clauses joined by the ideographic comma, so word counts see prose and not one long token.
JAPANESE_PARAGRAPHS = tuple(
    "\u3001".join(random.Random(seed).choices(_JAPANESE_WORDS, k=30)) + "\u3002"
    for seed in range(4)
)
MIXED_HEADLINE = "\u00dcber-sized \u2018fare\u2019 rise: \u20ac2 more, says M\u00fcller"
"""Its UTF-8 bytes decode as windows-1252 too (to mojibake): only the charset rule reads it."""

IMPOSSIBLE_DATES: dict[str, object] = {
    "dates-feb30": "2026-02-30T10:00:00Z",
    "dates-year99999": "99999-01-01T00:00:00Z",
    "dates-future": "2150-06-01T00:00:00Z",
    "dates-negative-epoch": -62135596800,
}
"""Dates no real article has, each put in JSON-LD, in <meta> and in <time> of one page."""

ODD_HREFS = (
    "/a/odd/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/a/odd/..%2F..%2F..%2Fescape",
    "/a/odd/%252e%252e%252fdouble-encoded",
    "/a/odd/%c0%ae%c0%ae%c0%afoverlong-dots",
    "/a/odd/x/../../../a/odd/dot-segments",
    "/a/odd/nul%00byte",
    "/a/odd/back\\slash\\..\\..\\escape",
    "/a/odd/%2fabsolute%2f%2froot",
    "/a/odd/caf%C3%A9-\u00fcn\u00efc\u00f6d\u00e9-\u65e5\u672c\u8a9e",
    "/a/odd/emoji-\U0001f600-\u202eevil",
    "/a/odd/" + "long-" * 1600,
    "/a/odd/query?file=../../../../etc/passwd&next=..%2F..%2Fescape",
    "/a/odd/CON/aux.txt?.",
    "/a/odd/crlf%0d%0aX-Injected:%20yes",
    "/a/odd/ spaces and\ttabs ",
)
"""Article addresses built to escape a folder, confuse a decoder or break a header."""


def article(headline: str, paragraphs: tuple[str, ...] = PARAGRAPHS, head: str = "") -> str:
    """Return an ordinary news article page."""
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": headline,
        "datePublished": "2026-03-01T09:00:00Z",
    }
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return (
        f"<!DOCTYPE html><html><head>{head}<title>{headline}</title>"
        f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'
        f"</head><body><article><h1>{headline}</h1>{body}</article></body></html>"
    )


def dated_article(name: str) -> str:
    """Return an article whose every date is the impossible one named ``name``."""
    value = IMPOSSIBLE_DATES[name]
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": f"Impossible date {name}",
        "datePublished": value,
        "dateModified": value,
    }
    text = str(value)
    head = (
        f'<meta property="article:published_time" content="{text}">'
        f'<meta property="article:modified_time" content="{text}">'
        f'<meta name="date" content="{text}">'
        f'<script type="application/ld+json">{json.dumps(data)}</script>'
    )
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        f"<html><head>{head}<title>Impossible date {name}</title></head><body><article>"
        f'<h1>Impossible date {name}</h1><time datetime="{text}">{text}</time>{body}'
        "</article></body></html>"
    )


def truncated_document() -> bytes:
    """Return the first part of an article, cut inside a paragraph and inside a tag."""
    page = article("A page that stops half way").encode("utf-8")
    cut = page.index(PARAGRAPHS[2][:40].encode())
    return page[:cut] + b'<a href="/good/nowhere'


def tag_soup() -> bytes:
    """Return an article wrapped in misnested, unclosed and unquoted markup."""
    paragraphs = "".join(f"<p class=x id={i}>{text}<b><i>" for i, text in enumerate(PARAGRAPHS))
    return (
        "<html><head><title>Tag soup survives</title><meta charset=utf-8 <<>>"
        "<script>var x = '</p>'; if (a < b && c > d) { document.write('<div>') }</script>"
        "</head><body><table><tr><td><div><span></td></table></tr>"
        "<h1>Tag soup survives</div></span></h1><article></li><p>"
        f"{paragraphs}</i></b></p></div></article></html></html><p>after the end </body>"
        "<!-- an unclosed comment <p>hidden"
    ).encode()


def binary_noise(size: int = 200_000) -> bytes:
    """Return random bytes (the same every time) to serve as ``text/html``."""
    return random.Random(1234).randbytes(size)


def link_farm(count: int = 100_000) -> bytes:
    """Return a page of ``count`` links (one element each, beyond the extractor's bound)."""
    links = "".join(f'<a href="/good/farm-{n}">story {n}</a>\n' for n in range(count))
    return f"<html><body><h1>Links</h1>{links}</body></html>".encode()


def deep_dom(depth: int = 5000) -> bytes:
    """Return an article nested ``depth`` elements deep."""
    body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    return (
        "<html><head><title>Deep nesting</title></head><body>"
        + "<div>" * depth
        + f"<h1>Deep nesting</h1>{body}"
        + "</div>" * depth
        + "</body></html>"
    ).encode()


@functools.cache
def gzip_bomb() -> bytes:
    """Return gzip data of 1 GiB of zeros: 1,024 members of 1 MiB each, about 1 MB in all."""
    return gzip.compress(bytes(MIB), compresslevel=9, mtime=0) * 1024


@functools.cache
def single_member_gzip_bomb(size: int = 64 * MIB) -> bytes:
    """Return one gzip member of ``size`` zeros (for readers that stop after one member)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunks = [compressor.compress(bytes(MIB)) for _ in range(size // MIB)]
    return b"".join(chunks) + compressor.flush()


@functools.cache
def brotli_bomb() -> bytes:
    """Return brotli data of 1 GiB of zeros (a couple of kilobytes)."""
    compressor = brotli.Compressor(quality=5)
    chunks: list[bytes] = [compressor.process(bytes(MIB)) for _ in range(GIB // MIB)]
    end: bytes = compressor.finish()
    return b"".join(chunks) + end


_LAUGHS = "".join(
    f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' if n else '<!ENTITY lol0 "lol">' for n in range(10)
)


def _doctype(root: str, base: str, kind: str) -> str:
    if kind == "laughs":
        return f"<!DOCTYPE {root} [{_LAUGHS}]>"
    # An external DTD and external entities: a parser that reads them asks this server.
    return (
        f'<!DOCTYPE {root} SYSTEM "{base}/dtd/{root}.dtd" ['
        '<!ENTITY passwd SYSTEM "file:///etc/passwd">'
        f'<!ENTITY remote SYSTEM "{base}/dtd/remote-entity">]>'
    )


def _payload(kind: str) -> str:
    return "&lol9;" if kind == "laughs" else "&passwd;&remote;"


def feed(base: str, kind: str, good: str) -> bytes:
    """Return an RSS feed with an entity attack (``laughs`` or ``external``) and one good link."""
    payload = _payload(kind)
    return (
        f'<?xml version="1.0"?>{_doctype("rss", base, kind)}<rss version="2.0"><channel>'
        f"<title>{payload}</title>"
        f"<item><title>{payload}</title><link>{base}/entity/{payload}</link></item>"
        f"<item><title>Good</title><link>{base}{good}</link>"
        f"<description>{payload}</description></item>"
        "</channel></rss>"
    ).encode()


def urlset(base: str, paths: list[str], kind: str | None = None) -> bytes:
    """Return a sitemap URL set; with ``kind``, carrying an entity attack as well."""
    doctype = _doctype("urlset", base, kind) if kind else ""
    payload = f"<url><loc>{base}/entity/{_payload(kind)}</loc></url>" if kind else ""
    locs = "".join(f"<url><loc>{base}{path}</loc></url>" for path in paths)
    return (
        f'<?xml version="1.0"?>{doctype}'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{payload}{locs}</urlset>'
    ).encode()


def sitemap_index(base: str, paths: list[str]) -> bytes:
    """Return a sitemap index listing ``paths``."""
    locs = "".join(f"<sitemap><loc>{base}{path}</loc></sitemap>" for path in paths)
    return (
        '<?xml version="1.0"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</sitemapindex>'
    ).encode()


def section(hrefs: list[str]) -> bytes:
    """Return a section page linking to ``hrefs`` (written as they are, not escaped)."""
    links = "".join(f'<li><a href="{href}">story</a></li>' for href in hrefs)
    return f"<html><body><h1>Section</h1><ul>{links}</ul></body></html>".encode()
